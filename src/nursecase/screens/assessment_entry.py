"""Keyboard entry of a scored assessment: pick an instrument, answer item by item, save.

``InstrumentPickerScreen`` lists the seven instruments, one key each, and
dismisses with the chosen instrument code. ``AssessmentEntryScreen`` then shows
one item at a time: one key per answer (the option keys the instrument defines,
digits for every instrument), with the whole form beside it, a live running
total, and the final total and band once every item is answered. ctrl+s saves
through ``services.assessments.record`` in a worker and dismisses with the
``AssessmentResult``; a refusal (a future time, a missing item) is shown in the
dialog, naming the field, and every answer is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments import INSTRUMENTS, InstrumentDefinition, Item, get_instrument
from nursecase.domain.instruments.phq import SAFETY_ITEM
from nursecase.domain.validation import ValidationError, parse_moment
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.formatting import variant_words
from nursecase.screens.intents import Intent, bindings
from nursecase.services import Services
from nursecase.services.assessments import AssessmentResult, suggestions_for
from nursecase.widgets.cut_text import CutAtWord
from nursecase.widgets.text_fields import TextInput

PERFORMED_AT_FIELD = "performed_at"
PERFORMED_AT_LABEL = "Performed at"
PHQ9_SAFETY_WARNING = "Item 9 above 0: an urgent safety follow-up task will be created"

#: Every key that picks an answer in some instrument (digits today). The dialog's
#: other keys must stay out of this set; a test checks its bindings against it.
OPTION_KEYS: tuple[str, ...] = tuple(
    sorted(
        {
            option.key
            for definition in INSTRUMENTS.values()
            for item in definition.items
            for option in item.options
        }
    )
)

# Severity words of the bands (domain.instruments.base.SEVERITIES) -> CSS classes.
_SEVERITY_CLASSES = {
    "none": "-calm",
    "low": "-calm",
    "moderate": "-watch",
    "high": "-alarm",
    "severe": "-alarm",
}


# ---------------------------------------------------------------- the picker

PICKER_KEYS = tuple(str(number) for number in range(1, len(INSTRUMENTS) + 1))


class InstrumentPickerScreen(ModalScreen[str | None]):
    """The seven instruments, one key each (1-7) or arrows and enter; escape cancels.

    Dismisses with the chosen instrument's code (e.g. "phq-9"), or None.
    """

    CSS_PATH = "assessment_entry.tcss"
    AUTO_FOCUS = "#instruments"
    BINDINGS = [
        *[
            Binding(
                key,
                f"pick({index})",
                f"Pick {definition.short_name or definition.name}",
                show=False,
                tooltip=f"Start a {definition.short_name or definition.name} assessment",
                id=f"instrument_picker.pick_{key}",
            )
            for index, (key, definition) in enumerate(
                zip(PICKER_KEYS, INSTRUMENTS.values(), strict=True)
            )
        ],
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="Close without choosing",
            id="instrument_picker.cancel",
        ),
    ]

    def __init__(self, patient_name: str = "") -> None:
        super().__init__()
        self.patient_name = patient_name
        self.codes = [str(code) for code in INSTRUMENTS]

    def compose(self) -> ComposeResult:
        """A title and the instruments, each with its key."""
        with Vertical(id="picker"):
            title = Text("New assessment")
            if self.patient_name:
                title.append(f" for {self.patient_name}")
            yield Label(title, id="picker-title")
            options = []
            for key, definition in zip(PICKER_KEYS, INSTRUMENTS.values(), strict=True):
                prompt = Text()
                prompt.append(f"{key}  ", style="bold")
                prompt.append(f"{definition.short_name or definition.name:<9}", style="bold")
                prompt.append(f" {definition.name}")
                options.append(Option(prompt, id=str(definition.code)))
            yield OptionList(*options, id="instruments")
            yield Static(Text("1-7 or ↑↓ and enter to choose · esc cancel"), id="picker-keys")

    def on_mount(self) -> None:
        """Start on the first instrument so enter works at once."""
        self.query_one("#instruments", OptionList).highlighted = 0

    def action_pick(self, index: int) -> None:
        """Choose the instrument at ``index`` of the list."""
        self.dismiss(self.codes[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a highlighted instrument chooses it."""
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)


# ------------------------------------------------------------ confirm discard


class ConfirmDiscardScreen(ModalScreen[bool]):
    """Asks before answers are thrown away: y discards (True), n or escape keeps (False)."""

    CSS_PATH = "assessment_entry.tcss"
    BINDINGS = [
        Binding("y", "choose(True)", "Discard", tooltip="Throw the answers away", id="discard.yes"),
        Binding(
            "n,escape",
            "choose(False)",
            "Keep",
            tooltip="Go back to the assessment",
            id="discard.no",
        ),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """The question and its two keys."""
        with Vertical(id="discard"):
            yield Static(Text(self.question), id="discard-question")
            yield Static(Text("y discard · n or esc keep answering"), id="discard-keys")

    def action_choose(self, discard: bool) -> None:
        """Answer the question."""
        self.dismiss(discard)


# ------------------------------------------------------------------ the form


class ItemRow(Static):
    """One line of the form: item number, prompt, and the answer given (if any)."""


class ItemSheet(Vertical, can_focus=True):
    """The whole form, one row per item; holds focus while answers are keyed in."""


def option_text(item: Item, key: str) -> str:
    """An option as the nurse reads it: label, plus its points when they differ from the key."""
    option = item.option_for_key(key)
    if option is None:
        return ""
    return option.label if str(option.value) == option.key else f"{option.label} = {option.value}"


def key_range(item: Item) -> str:
    """The keys of an item's options, compactly: "0-3", or "0 1" when not a run of digits."""
    keys = [option.key for option in item.options]
    if all(key.isdigit() and len(key) == 1 for key in keys) and len(keys) > 2:
        numbers = [int(key) for key in keys]
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            return f"{keys[0]}-{keys[-1]}"
    return " ".join(keys)


def urgent_warning(definition: InstrumentDefinition, answers: Mapping[str, int]) -> str | None:
    """The warning to show as soon as an answer sets off an urgent trigger, before saving.

    Only PHQ-9 has one (item 9 above 0 creates an urgent safety task whatever the
    total); it depends on one item, so it is shown before the form is complete.
    """
    if definition.code is Instrument.phq_9 and answers.get(SAFETY_ITEM, 0) > 0:
        return PHQ9_SAFETY_WARNING
    return None


ENTRY_INTENTS = (
    Intent("assessment.previous", "up,k", "previous_item", "Previous item", "Go to the item above"),
    Intent("assessment.next", "down,j", "next_item", "Next item", "Go to the item below"),
    Intent(
        "assessment.clear",
        "backspace",
        "clear_item",
        "Clear answer",
        "Clear this item's answer and go back one item",
    ),
    Intent(
        "assessment.save",
        "ctrl+s",
        "save",
        "Save",
        "Save the assessment (every item must be answered)",
    ),
    Intent(
        "assessment.cancel",
        "escape",
        "cancel",
        "Cancel",
        "Close without saving (asks first when answers were given)",
    ),
    Intent(
        "assessment.help",
        "question_mark",
        "app.help",
        "Help",
        "List every key of this dialog",
        key_display="?",
    ),
)


class AssessmentEntryScreen(ModalScreen[AssessmentResult | None]):
    """Enter one assessment item by item; dismisses with the AssessmentResult, or None."""

    CSS_PATH = "assessment_entry.tcss"
    AUTO_FOCUS = "ItemSheet"
    INTENTS = ENTRY_INTENTS
    BINDINGS = [
        *bindings(ENTRY_INTENTS),
        # The option keys come from the instruments; each picks that option of the
        # current item. They are bindings (not a key handler) so the help lists them
        # and a keymap can move them; the Input consumes them while it has focus.
        *[
            Binding(
                key,
                f"answer({key!r})",
                f"Answer {key}",
                show=False,
                tooltip=f"Choose option {key} for the current item and go to the next",
                id=f"assessment.answer_{key}",
            )
            for key in OPTION_KEYS
        ],
    ]

    def __init__(
        self,
        services: Services,
        patient_id: int,
        patient_name: str,
        instrument_code: Instrument | str,
    ) -> None:
        super().__init__()
        self.services = services
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.definition = get_instrument(instrument_code)
        self.answers: dict[str, int] = {}
        self.current = 0
        self.saving = False
        # The clock, not the database: safe on the UI thread.
        self.opened_at: datetime = services.clock.now()

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Heading, citation, the form beside the current item, totals and the time."""
        definition = self.definition
        name = definition.short_name or definition.name
        with Vertical(id="entry"):
            yield Static(Text(f"{name} for {self.patient_name}"), id="entry-title")
            yield Static(
                Text(
                    f"{definition.name}{variant_words(definition.variant)} · "
                    f"total {definition.min_total}-{definition.max_total}"
                ),
                id="entry-instrument",
            )
            yield Static(Text(definition.citation), id="entry-citation")
            if definition.instructions:
                yield Static(Text(definition.instructions), id="entry-instructions")
            with Horizontal(id="entry-body"):
                with ItemSheet(id="entry-items"):
                    for index in range(len(definition.items)):
                        yield ItemRow(id=f"row-{index}")
                with Vertical(id="entry-current"):
                    yield Static(id="current-prompt")
                    yield Static(id="current-options")
            yield Static(id="entry-total")
            yield Static(id="entry-warning")
            yield Static(id="entry-suggestions")
            with Horizontal(id="entry-when"):
                yield Label(f"{PERFORMED_AT_LABEL} (YYYY-MM-DD HH:MM)", id="performed-at-label")
                yield TextInput(
                    value=f"{self.opened_at:%Y-%m-%d %H:%M}", id="performed-at", compact=True
                )
            yield Static(id="entry-error")
            yield Static(id="entry-keys")

    def on_mount(self) -> None:
        """Paint the empty form."""
        self.show_state()

    # ------------------------------------------------------------ answers

    @property
    def items(self) -> tuple[Item, ...]:
        """The instrument's items in order."""
        return self.definition.items

    @property
    def running_total(self) -> int:
        """Sum of the values answered so far."""
        return sum(self.answers.values())

    def first_missing(self) -> int | None:
        """Index of the first unanswered item, or None when all are answered."""
        for index, item in enumerate(self.items):
            if item.code not in self.answers:
                return index
        return None

    def action_answer(self, key: str) -> None:
        """Record the current item's option for ``key`` and move on."""
        if self.saving:
            return
        item = self.items[self.current]
        option = item.option_for_key(key)
        if option is None:
            self.show_error(
                f"{key} is not an answer to item {self.current + 1}; use {key_range(item)}"
            )
            return
        self.answers[item.code] = option.value
        self.show_error("")
        if self.current + 1 < len(self.items):
            self.current += 1
        else:
            # The last item: go back to anything skipped, else stay for review.
            missing = self.first_missing()
            if missing is not None:
                self.current = missing
        self.show_state()

    def action_previous_item(self) -> None:
        """Up one item (to change an earlier answer)."""
        if self.current > 0:
            self.current -= 1
            self.show_state()

    def action_next_item(self) -> None:
        """Down one item."""
        if self.current + 1 < len(self.items):
            self.current += 1
            self.show_state()

    def action_clear_item(self) -> None:
        """Clear the current item's answer and go back one item."""
        if self.saving:
            return
        self.answers.pop(self.items[self.current].code, None)
        if self.current > 0:
            self.current -= 1
        self.show_error("")
        self.show_state()

    # ------------------------------------------------------------- painting

    def show_state(self) -> None:
        """Repaint the rows, the current item, the totals and the warnings."""
        for index, item in enumerate(self.items):
            self._paint_row(index, item)
        self._paint_current()
        self._paint_totals()
        self.query_one("#entry-keys", Static).update(
            Text(
                f"{key_range(self.items[self.current])} answer · ↑↓ or k j item · "
                "backspace clear · tab time · ctrl+s save · esc cancel · ? keys"
            )
        )

    def _paint_row(self, index: int, item: Item) -> None:
        row = self.query_one(f"#row-{index}", ItemRow)
        value = self.answers.get(item.code)
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(width=2, no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True)
        grid.add_column(width=28, no_wrap=True)
        if value is None:
            answer = Text("-  not answered")
        else:
            option = item.option_for_value(value)
            # The key pressed, then what it means (and its points when they differ).
            answer = Text(f"{option.key}  {option_text(item, option.key)}" if option else "")
        marker = "▶" if index == self.current else ""
        # Each cell is cut at a word to the width it gets (never mid-word).
        grid.add_row(Text(marker), CutAtWord(f"{index + 1}. {item.prompt}"), CutAtWord(answer))
        row.update(grid)
        row.set_class(index == self.current, "-current")
        row.set_class(value is None, "-unanswered")

    def _paint_current(self) -> None:
        item = self.items[self.current]
        prompt = Text()
        prompt.append(f"Item {self.current + 1} of {len(self.items)}\n", style="bold")
        prompt.append(item.prompt)
        self.query_one("#current-prompt", Static).update(prompt)
        chosen = self.answers.get(item.code)
        # A grid, so a long label wraps under itself rather than under its key.
        options = Table.grid(expand=True, padding=(0, 1))
        options.add_column(width=1, no_wrap=True)
        options.add_column(no_wrap=True, style="bold")
        options.add_column(ratio=1)
        for option in item.options:
            selected = chosen == option.value
            options.add_row(
                Text("▶" if selected else ""),
                Text(option.key),
                Text(option_text(item, option.key), style="bold" if selected else ""),
            )
        self.query_one("#current-options", Static).update(options)

    def _paint_totals(self) -> None:
        total_line = self.query_one("#entry-total", Static)
        for css_class in set(_SEVERITY_CLASSES.values()):
            total_line.remove_class(css_class)
        suggestions: tuple[str, ...] = ()
        warning = urgent_warning(self.definition, self.answers)
        count = len(self.items)
        if len(self.answers) < count:
            total_line.update(
                Text(f"{self.running_total} so far, {len(self.answers)} of {count} answered")
            )
        else:
            score = self.definition.score(self.answers)
            total_line.update(Text(f"All {count} answered. Total {score.total}: {score.band.name}"))
            total_line.add_class(_SEVERITY_CLASSES.get(score.band.severity, "-calm"))
            suggestions = suggestions_for(score)
            if warning is None:
                urgent = [trigger.message for trigger in score.triggers if trigger.urgent]
                warning = urgent[0] if urgent else None
        warning_line = self.query_one("#entry-warning", Static)
        warning_line.update(Text(warning or ""))
        warning_line.display = warning is not None
        suggestion_line = self.query_one("#entry-suggestions", Static)
        suggestion_line.update(Text(" · ".join(suggestions)))
        suggestion_line.display = bool(suggestions)

    def show_error(self, message: str, *, error: bool = True) -> None:
        """Show (or clear, with "") the message line; ``error`` False shows it plainly."""
        line = self.query_one("#entry-error", Static)
        line.update(Text(message))
        line.set_class(error, "-error")
        line.display = bool(message)

    # ---------------------------------------------------------------- saving

    def field_label(self, field: str) -> str:
        """How the nurse knows a field: "Performed at", or "Item 3 (Trouble ...)"."""
        if field == PERFORMED_AT_FIELD:
            return PERFORMED_AT_LABEL
        for index, item in enumerate(self.items):
            if item.code == field:
                return f"Item {index + 1} ({item.prompt})"
        return field

    def action_save(self) -> None:
        """Save when every item is answered; otherwise say which is missing and go there."""
        if self.saving:
            return
        missing = self.first_missing()
        if missing is not None:
            self.current = missing
            self.show_state()
            self.show_error(
                f"{self.field_label(self.items[missing].code)} is not answered; nothing was saved"
            )
            self.query_one(ItemSheet).focus()
            return
        performed_input = self.query_one("#performed-at", Input)
        try:
            performed_at = parse_moment(performed_input.value, PERFORMED_AT_FIELD)
        except ValidationError as error:
            self._failed(error)
            return
        self.saving = True
        self.show_error("Saving…", error=False)
        services, patient_id = self.services, self.patient_id
        code, variant = str(self.definition.code), self.definition.variant
        answers = dict(self.answers)
        run_in_background(
            self,
            lambda: services.assessments.record(
                patient_id, code, answers, performed_at=performed_at, variant=variant
            ),
            self._saved,
            self._failed,
            group="assessment-entry",
        )

    def _saved(self, result: AssessmentResult) -> None:
        self.saving = False
        self.dismiss(result)

    def _failed(self, error: BaseException) -> None:
        """Show the refusal in the dialog, naming the field; keep every answer."""
        self.saving = False
        if isinstance(error, ValidationError):
            self.show_error(f"{self.field_label(error.field)}: {error.message}")
            if error.field == PERFORMED_AT_FIELD:
                self.query_one("#performed-at", Input).focus()
            else:
                for index, item in enumerate(self.items):
                    if item.code == error.field:
                        self.current = index
                        self.show_state()
                        self.query_one(ItemSheet).focus()
        else:
            self.show_error(user_message(error))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the time field goes back to the answers."""
        event.stop()
        self.query_one(ItemSheet).focus()

    # ------------------------------------------------------------ cancelling

    def action_cancel(self) -> None:
        """Close without saving; ask first when any answer would be lost."""
        if self.saving:
            return
        if not self.answers:
            self.dismiss(None)
            return
        count = len(self.answers)
        name = self.definition.short_name or self.definition.name
        noun = "answer" if count == 1 else "answers"
        self.app.push_screen(
            ConfirmDiscardScreen(f"Discard the {count} {noun} given for {name}?"),
            self._discard_answered,
        )

    def _discard_answered(self, discard: bool | None) -> None:
        if discard:
            self.dismiss(None)
