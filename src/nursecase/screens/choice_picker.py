"""Pick one of a list: number keys or arrows and enter, optionally typing to filter.

Used for status changes (only the legal next statuses are listed), the Omaha
problem picker (type to filter the 42 problems, or keep the typed words as a
free-text problem), the template picker and the plan picker.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from nursecase.widgets.text_fields import TextInput


@dataclass(frozen=True)
class Choice:
    """One entry: what it says, the value it returns, and words that also find it.

    A ``disabled`` entry is shown (dimmed, after the others, unnumbered) so the
    nurse sees it exists, but cannot be chosen; its ``hint`` says why.
    """

    label: str
    value: str
    hint: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class Picked:
    """The answer: a listed ``value``, or (free-text pickers) the typed ``text``."""

    value: str | None
    text: str = ""


FREE_TEXT_ID = "__free_text__"


class ChoicePicker(ModalScreen[Picked | None]):
    """A short list to choose from; dismisses with a Picked, or None on escape."""

    DEFAULT_CSS = """
    ChoicePicker { align: center middle; }
    ChoicePicker > Vertical {
        width: 76; height: auto; max-height: 90%;
        padding: 1 2; border: round $primary; background: $surface;
    }
    ChoicePicker #picker-title { text-style: bold; margin-bottom: 1; }
    ChoicePicker #picker-intro { color: $text-muted; margin-bottom: 1; }
    ChoicePicker #picker-filter { margin-bottom: 1; }
    ChoicePicker OptionList { height: auto; max-height: 20; }
    ChoicePicker #picker-keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without choosing", id="picker.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="picker.up"),
        *(
            Binding(
                str(number),
                f"pick({number})",
                f"Choose {number}",
                show=False,
                id=f"picker.pick_{number}",
            )
            for number in range(1, 10)
        ),
    ]

    def __init__(
        self,
        title: str,
        choices: list[Choice],
        *,
        intro: str = "",
        filterable: bool = False,
        free_text_label: str = "",
        highlighted: str | None = None,
    ) -> None:
        super().__init__()
        self.picker_title = title
        # Choosable entries first: they are the ones numbered 1-9.
        self.choices = [choice for choice in choices if not choice.disabled] + [
            choice for choice in choices if choice.disabled
        ]
        self.enabled_count = sum(not choice.disabled for choice in choices)
        self.intro = intro
        self.filterable = filterable
        self.free_text_label = free_text_label
        self.initially_highlighted = highlighted

    def compose(self) -> ComposeResult:
        """Title, the filter field (if any), the list and the keys."""
        with Vertical():
            yield Label(Text(self.picker_title), id="picker-title")
            if self.intro:
                yield Static(Text(self.intro), id="picker-intro")
            if self.filterable:
                yield TextInput(placeholder="type to filter", id="picker-filter", compact=True)
            yield OptionList(*self._options(""), id="picker-options")
            keys = "type to filter · ↑↓ and enter" if self.filterable else "1-9 or ↑↓ and enter"
            yield Static(f"{keys} to choose · esc cancel", id="picker-keys")

    def on_mount(self) -> None:
        """Focus the filter (or the list) and highlight the current choice."""
        options = self.query_one(OptionList)
        index = 0
        if self.initially_highlighted is not None:
            values = [choice.value for choice in self.choices]
            if self.initially_highlighted in values:
                index = values.index(self.initially_highlighted)
        if options.option_count:
            options.highlighted = index
        (self.query_one("#picker-filter") if self.filterable else options).focus()

    def _options(self, typed: str) -> list[Option]:
        words = typed.lower().split()
        shown = []
        for number, choice in enumerate(self.choices, start=1):
            haystack = f"{choice.label} {choice.hint}".lower()
            if all(word in haystack for word in words):
                prompt = Text()
                if not self.filterable:
                    label = f"{number}  " if number <= 9 and not choice.disabled else "   "
                    prompt.append(label, style="bold")
                prompt.append(choice.label)
                if choice.hint:
                    prompt.append(f"  {choice.hint}", style="dim")
                shown.append(Option(prompt, id=choice.value, disabled=choice.disabled))
        if self.free_text_label and typed.strip():
            shown.append(
                Option(Text(f'{self.free_text_label}: "{typed.strip()}"'), id=FREE_TEXT_ID)
            )
        return shown

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter the list as the nurse types."""
        event.stop()
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter chooses the highlighted entry."""
        event.stop()
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._choose(options.get_option_at_index(options.highlighted).id)

    def action_pick(self, number: int) -> None:
        """A number key chooses at once in a short, unfiltered list."""
        if not self.filterable and 1 <= number <= self.enabled_count:
            self._choose(self.choices[number - 1].value)

    def action_move(self, step: int) -> None:
        """Arrows move the highlight even while the filter has the focus."""
        options = self.query_one(OptionList)
        if options.has_focus:
            (options.action_cursor_down if step > 0 else options.action_cursor_up)()
        elif options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on the list chooses."""
        event.stop()
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        if option_id == FREE_TEXT_ID:
            self.dismiss(Picked(None, self.query_one("#picker-filter", Input).value.strip()))
        elif option_id is not None and option_id not in self._disabled_values():
            self.dismiss(Picked(option_id))

    def _disabled_values(self) -> set[str]:
        return {choice.value for choice in self.choices if choice.disabled}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Number keys choose only in an unfiltered list (in a filtered one they are typed)."""
        if action == "pick":
            number = parameters[0]  # pick(n) is only bound with a whole number
            return not self.filterable and isinstance(number, int) and number <= self.enabled_count
        return True

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
