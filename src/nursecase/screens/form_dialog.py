"""A small form dialog: labelled fields, save with ctrl+s, cancel with escape.

The dialog does not know what it saves: it hands the raw values to a
``submit`` callable, which runs in a worker (it usually calls a service). If
that raises a ValidationError, the message is shown in the dialog and the
named field is focused; nothing was written and nothing the nurse typed is
lost. On success the dialog closes with the callable's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from nursecase.domain.validation import ValidationError
from nursecase.screens.background import run_in_background, user_message
from nursecase.widgets.text_fields import NoteArea, TextInput

#: The value of a ticked "check" field.
CHECKED = "yes"

#: What a form's submit call returns, and so what the dialog dismisses with.
Submitted = TypeVar("Submitted")


@dataclass(frozen=True)
class FormField:
    """One field of a form.

    ``kind`` is "text" (one line), "note" (several lines), "choice" (one of
    ``choices``, given as (label, value) pairs) or "check" (a checkbox whose
    words are ``placeholder``; its value is "yes" when ticked, "" when not).
    """

    name: str
    label: str
    kind: str = "text"
    value: str = ""
    placeholder: str = ""
    choices: tuple[tuple[str, str], ...] = ()


def code_choices(members) -> tuple[tuple[str, str], ...]:
    """(label, code) pairs of domain codes, for a choice field."""
    return tuple((member.label, member.value) for member in members)


def typed_path(field: str, typed: str) -> Path:
    """The file path a nurse typed, with ``~`` expanded; a ``~name`` of no user is refused.

    ``Path.expanduser`` raises RuntimeError for an unknown user: that becomes
    a message on the field rather than a general error.
    """
    try:
        return Path(typed).expanduser()
    except RuntimeError:
        user = typed.split("/", 1)[0]
        raise ValidationError(field, f"{user}: there is no such user on this computer") from None


def field_widget(field: FormField) -> Widget:
    """The input widget for a field, with the id ``field-<name>``."""
    widget_id = f"field-{field.name}"
    if field.kind == "choice":
        return Select(
            [(label, value) for label, value in field.choices],
            value=field.value if field.value else Select.NULL,
            allow_blank=not field.value,
            id=widget_id,
            compact=True,
        )
    if field.kind == "check":
        return Checkbox(field.placeholder, value=field.value == CHECKED, id=widget_id, compact=True)
    if field.kind == "note":
        area = NoteArea(
            field.value, id=widget_id, soft_wrap=True, show_line_numbers=False, compact=True
        )
        area.placeholder = field.placeholder
        return area
    return TextInput(value=field.value, placeholder=field.placeholder, id=widget_id, compact=True)


def field_value(widget: Widget) -> str:
    """What a field widget holds, as text ("" for an empty choice)."""
    if isinstance(widget, Select):
        return "" if widget.value is Select.NULL else str(widget.value)
    if isinstance(widget, Checkbox):
        return CHECKED if widget.value else ""
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Input):
        return widget.value
    raise TypeError(f"{type(widget).__name__} is not a form field")


class FormDialog(ModalScreen[Submitted]):
    """A modal form; dismisses with the submit callable's result, or None."""

    CSS_PATH = "form_dialog.tcss"
    # Start in the first field, not on the scrolling container.
    AUTO_FOCUS = "Input, Select, TextArea, Checkbox"
    BINDINGS = [
        # Not a priority binding: it must run after the keys typed before it
        # have reached their field, or a fast typist would lose the last words.
        Binding("ctrl+s", "save", "Save", tooltip="Save and close", id="form.save"),
        Binding("escape", "cancel", "Cancel", tooltip="Close without saving", id="form.cancel"),
    ]

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        submit: Callable[[dict[str, str]], Submitted],
        *,
        submit_label: str = "Save",
        intro: str = "",
    ) -> None:
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.submit = submit
        self.submit_label = submit_label
        self.intro = intro
        self.saving = False

    def compose(self) -> ComposeResult:
        """Title, fields, error line and buttons."""
        with VerticalScroll(id="form"):
            yield Label(Text(self.form_title), id="form-title")
            if self.intro:
                yield Static(Text(self.intro), id="form-intro")
            for field in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(field.label, classes="form-label")
                    yield field_widget(field)
            yield Static("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button(f"{self.submit_label} (ctrl+s)", variant="primary", id="form-save")
                yield Button("Cancel (esc)", id="form-cancel")

    def values(self) -> dict[str, str]:
        """The raw values, by field name ("" for an empty choice)."""
        return {
            field.name: field_value(self.query_one(f"#field-{field.name}")) for field in self.fields
        }

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last field it saves."""
        event.stop()
        if event.input.id == f"field-{self.fields[-1].name}":
            self.action_save()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The two buttons."""
        if event.button.id == "form-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        """Run the submit callable in a worker; close on success."""
        if self.saving:
            return
        self.saving = True
        values = self.values()
        self.query_one("#form-error", Static).update("")
        run_in_background(
            self, lambda: self.submit(values), self._saved, self._failed, group="form"
        )

    def _saved(self, result: Submitted) -> None:
        self.saving = False
        self.dismiss(result)

    def _failed(self, error: BaseException) -> None:
        self.saving = False
        self.query_one("#form-error", Static).update(Text(user_message(error)))
        if isinstance(error, ValidationError):
            for widget in self.query(f"#field-{error.field}"):
                widget.focus()

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
