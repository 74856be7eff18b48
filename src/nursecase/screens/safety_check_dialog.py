"""The safety check dialog: a C-SSRS screener by keys, its risk in words, a disposition, save.

One key per answer, as in the assessment entry: ``y`` yes, ``n`` no for the
current question, then on to the next one the form asks. The form's skip rules
show on screen: questions 3-5 disappear when question 2 is no, and "Was this
within the past 3 months?" appears when question 6 is yes. The risk is shown in
words as soon as every asked question is answered (``domain.safety_check``,
the published screen triage). The disposition is chosen by number (1-5); a
high risk names the three that escalate. An optional note is one tab away.

ctrl+s saves through ``services.safety_checks.record`` in a worker and
dismisses with the ``SafetyCheckResult``; a refusal (high risk without an
escalation, "no current risk" against a moderate or high risk) stays in the
dialog, naming the field, and nothing is written. esc cancels (asking first
when answers would be lost).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from nursecase.domain.codes import SafetyDisposition, SafetyRisk
from nursecase.domain.safety_check import (
    CITATION,
    IDEATION_DETAIL,
    PAST_MONTH,
    QUESTIONS,
    QUESTIONS_BY_FIELD,
    RECENT_BEHAVIOUR,
    Question,
    allowed_dispositions,
    asked,
    partial_risk,
)
from nursecase.domain.validation import ValidationError
from nursecase.screens.assessment_entry import ConfirmDiscardScreen
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.intents import Intent, bindings
from nursecase.services import Services
from nursecase.widgets.text_fields import TextInput

DISPOSITIONS = tuple(SafetyDisposition)
DISPOSITION_KEYS = tuple(str(number) for number in range(1, len(DISPOSITIONS) + 1))

# Risk -> CSS class of the risk line.
_RISK_CLASSES = {
    SafetyRisk.none: "-calm",
    SafetyRisk.low: "-calm",
    SafetyRisk.moderate: "-watch",
    SafetyRisk.high: "-alarm",
}

INTENTS = (
    Intent("safety_check.yes", "y", "answer(True)", "Yes", "Answer yes to the current question"),
    Intent("safety_check.no", "n", "answer(False)", "No", "Answer no to the current question"),
    Intent("safety_check.previous", "up,k", "previous_question", "Previous", "The question above"),
    Intent("safety_check.next", "down,j", "next_question", "Next", "The question below"),
    *(
        Intent(
            f"safety_check.disposition_{key}",
            key,
            f"choose_disposition({index})",
            disposition.label,
            f"Disposition: {disposition.label}",
            show=False,
        )
        for index, (key, disposition) in enumerate(zip(DISPOSITION_KEYS, DISPOSITIONS, strict=True))
    ),
    Intent(
        "safety_check.save",
        "ctrl+s",
        "save",
        "Save",
        "Save the safety check (it completes the open safety follow-up)",
    ),
    Intent(
        "safety_check.cancel",
        "escape",
        "cancel",
        "Cancel",
        "Close without saving (asks first when answers were given)",
    ),
    Intent(
        "safety_check.help",
        "question_mark",
        "app.help",
        "Help",
        "List every key of this dialog",
        key_display="?",
    ),
)


class QuestionRow(Static):
    """One question of the form with the answer given."""


class QuestionSheet(Vertical, can_focus=True):
    """The questions; holds focus while answers are keyed in."""


def field_label(field: str) -> str:
    """How the nurse knows a field: "Disposition", "Note", "Question 3 (Have you ...)"."""
    if field == "disposition":
        return "Disposition"
    if field == "note":
        return "Note"
    question = QUESTIONS_BY_FIELD.get(field)
    if question is None:
        return field
    return f"Question {question.number} ({question.prompt})"


class SafetyCheckDialog(ModalScreen[object]):
    """Record one safety check; dismisses with the SafetyCheckResult, or None."""

    CSS_PATH = "safety_check_dialog.tcss"
    AUTO_FOCUS = "QuestionSheet"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self, services: Services, patient_id: int, patient_name: str) -> None:
        super().__init__()
        self.services = services
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.answers: dict[str, bool] = {}
        self.current = QUESTIONS[0].field
        self.disposition: SafetyDisposition | None = None
        self.saving = False

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Title, citation, the questions, risk, dispositions, note, messages."""
        with Vertical(id="check"):
            yield Static(Text(f"Safety check for {self.patient_name}"), id="check-title")
            yield Static(Text(CITATION), id="check-citation")
            yield Static(Text(PAST_MONTH), id="check-stem")
            with QuestionSheet(id="check-questions"):
                for question in QUESTIONS:
                    yield QuestionRow(id=f"question-{question.field}")
            yield Static(id="check-risk")
            yield Static(id="check-dispositions")
            with Horizontal(id="check-note-row"):
                yield Label("Note (optional)", id="check-note-label")
                yield TextInput(placeholder="What was said and done", id="check-note", compact=True)
            yield Static(id="check-error")
            yield Static(
                Text(
                    "y yes · n no · ↑↓ question · 1-5 disposition · tab note · "
                    "ctrl+s save · esc cancel · ? keys"
                ),
                id="check-keys",
            )

    def on_mount(self) -> None:
        """Paint the empty form."""
        self.show_state()

    # ------------------------------------------------------------ answers

    def asked_fields(self) -> list[str]:
        """The fields of the questions the form asks now (the skip rules applied)."""
        return [question.field for question in asked(self.answers)]

    def action_answer(self, value: bool) -> None:
        """Answer the current question and go to the next one the form asks."""
        if self.saving:
            return
        self.answers[self.current] = value
        # A skipped question keeps no answer: the form does not ask it.
        if self.answers.get("suicidal_thoughts") is not True:
            for field in IDEATION_DETAIL:
                self.answers.pop(field, None)
        if self.answers.get("behaviour") is not True:
            self.answers.pop(RECENT_BEHAVIOUR, None)
        fields = self.asked_fields()
        position = fields.index(self.current)
        if position + 1 < len(fields):
            self.current = fields[position + 1]
        else:
            missing = self.first_missing()
            if missing is not None:
                self.current = missing
        self.show_error("")
        self.show_state()

    def first_missing(self) -> str | None:
        """The first asked question without an answer, or None."""
        return next((field for field in self.asked_fields() if field not in self.answers), None)

    def action_previous_question(self) -> None:
        """Up one question."""
        fields = self.asked_fields()
        position = fields.index(self.current)
        if position > 0:
            self.current = fields[position - 1]
            self.show_state()

    def action_next_question(self) -> None:
        """Down one question."""
        fields = self.asked_fields()
        position = fields.index(self.current)
        if position + 1 < len(fields):
            self.current = fields[position + 1]
            self.show_state()

    def action_choose_disposition(self, index: int) -> None:
        """Choose the disposition at ``index`` (keys 1-5)."""
        if self.saving:
            return
        self.disposition = DISPOSITIONS[index]
        self.show_error("")
        self.show_state()

    # ------------------------------------------------------------- painting

    def show_state(self) -> None:
        """Repaint the questions, the risk line and the dispositions."""
        fields = set(self.asked_fields())
        for question in QUESTIONS:
            self._paint_question(question, question.field in fields)
        risk = partial_risk(self.answers)
        self._paint_risk(risk)
        self._paint_dispositions(risk)

    def _paint_question(self, question: Question, shown: bool) -> None:
        row = self.query_one(f"#question-{question.field}", QuestionRow)
        row.display = shown
        if not shown:
            return
        answer = self.answers.get(question.field)
        # A grid, so a long question wraps under itself and the answers line up.
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(width=1, no_wrap=True)
        grid.add_column(width=3, no_wrap=True, justify="right")
        grid.add_column(ratio=1)
        grid.add_column(width=3, no_wrap=True)
        grid.add_row(
            Text("▶" if question.field == self.current else ""),
            Text(f"{question.number}.", style="bold"),
            Text(question.prompt),
            Text("-" if answer is None else ("Yes" if answer else "No"), style="bold"),
        )
        row.update(grid)
        row.set_class(question.field == self.current, "-current")
        row.set_class(answer is None, "-unanswered")

    def _paint_risk(self, risk: SafetyRisk | None) -> None:
        line = self.query_one("#check-risk", Static)
        for css_class in set(_RISK_CLASSES.values()):
            line.remove_class(css_class)
        if risk is None:
            fields = self.asked_fields()
            answered = sum(1 for field in fields if field in self.answers)
            line.update(
                Text(f"Risk: shown when every question is answered ({answered} of {len(fields)})")
            )
            return
        line.update(Text(f"Risk: {risk.label}"))
        line.add_class(_RISK_CLASSES[risk])

    def _paint_dispositions(self, risk: SafetyRisk | None) -> None:
        allowed = allowed_dispositions(risk) if risk is not None else DISPOSITIONS
        text = Text("Disposition (what was done):", style="bold")
        if risk is SafetyRisk.high:
            text.append("  a high risk needs 3, 4 or 5 (an escalation)")
        elif risk is SafetyRisk.moderate:
            text.append("  not 1: it contradicts a moderate risk")
        for key, disposition in zip(DISPOSITION_KEYS, DISPOSITIONS, strict=True):
            chosen = disposition is self.disposition
            text.append("\n")
            text.append("▶ " if chosen else "  ")
            text.append(f"{key} ", style="bold")
            style = "bold" if chosen else ("" if disposition in allowed else "dim")
            text.append(disposition.label, style=style)
        self.query_one("#check-dispositions", Static).update(text)

    def show_error(self, message: str, *, error: bool = True) -> None:
        """Show (or clear, with "") the message line."""
        line = self.query_one("#check-error", Static)
        line.update(Text(message))
        line.set_class(error, "-error")
        line.display = bool(message)

    # ---------------------------------------------------------------- saving

    def action_save(self) -> None:
        """Save through the service in a worker; a missing answer is shown first."""
        if self.saving:
            return
        missing = self.first_missing()
        if missing is not None:
            self.current = missing
            self.show_state()
            self.show_error(f"{field_label(missing)} is not answered; nothing was saved")
            self.query_one(QuestionSheet).focus()
            return
        self.saving = True
        self.show_error("Saving…", error=False)
        services, patient_id = self.services, self.patient_id
        answers = {field: self.answers[field] for field in self.asked_fields()}
        disposition = str(self.disposition) if self.disposition is not None else ""
        note = self.query_one("#check-note", Input).value
        run_in_background(
            self,
            lambda: services.safety_checks.record(patient_id, answers, disposition, note=note),
            self._saved,
            self._failed,
            group="safety-check",
        )

    def _saved(self, result) -> None:
        self.saving = False
        self.dismiss(result)

    def _failed(self, error: BaseException) -> None:
        """Show the refusal in the dialog, naming the field; keep every answer."""
        self.saving = False
        if isinstance(error, ValidationError):
            self.show_error(f"{field_label(error.field)}: {error.message}; nothing was saved")
            if error.field in QUESTIONS_BY_FIELD:
                self.current = error.field
                self.show_state()
            if error.field == "note":
                self.query_one("#check-note", Input).focus()
            else:
                self.query_one(QuestionSheet).focus()
        else:
            self.show_error(user_message(error))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the note goes back to the questions."""
        event.stop()
        self.query_one(QuestionSheet).focus()

    # ------------------------------------------------------------ cancelling

    def action_cancel(self) -> None:
        """Close without saving; ask first when answers would be lost."""
        if self.saving:
            return
        if not self.answers and self.disposition is None:
            self.dismiss(None)
            return
        self.app.push_screen(
            ConfirmDiscardScreen("Discard this safety check? Nothing has been saved."),
            self._discard_answered,
        )

    def _discard_answered(self, discard: bool | None) -> None:
        if discard:
            self.dismiss(None)


def open_safety_check(
    node, services: Services, patient_id: int, patient_name: str, on_saved: Callable[[object], None]
) -> None:
    """Push the safety check dialog; ``on_saved(result)`` runs after a save (not a cancel)."""

    def closed(result) -> None:
        if result is not None:
            on_saved(result)

    node.app.push_screen(SafetyCheckDialog(services, patient_id, patient_name), closed)


def saved_message(result) -> str:
    """What to tell the nurse after a save: the check in words, and the follow-up it completed."""
    message = f"Saved: {result.check.summary}"
    if result.completed_task_ids:
        message += "; the safety follow-up is complete"
    return message
