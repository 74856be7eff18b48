"""The safety check dialog (C-SSRS screener), driven by keys on the real app.

Issue 16: only a safety check clears a safety flag. ``S`` on the patient screen
records one (low risk: the safety task is completed and the flag is gone); a
high risk with an escalation-less disposition is refused with the field named
and nothing written; ``d`` on a safety row of Today opens the dialog instead
of completing anything. The snapshot uses a bare host app, as the assessment
entry's does, so nothing behind the dialog can change it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from textual.app import App
from textual.widgets import Static

from nursecase.app import make_app
from nursecase.db.models import SafetyCheck
from nursecase.domain.worklist import PATIENT_SAFETY_KINDS
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.safety_check_dialog import QuestionRow, SafetyCheckDialog
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.test_patient_detail import (
    fresh_patient,
    has_safety_badge,
    header_of,
    patient_screen,
    press,
    rows_of,
)

PHQ9_ITEM9 = {f"item{number}": 0 for number in range(1, 10)} | {"item9": 2}


def flagged(services):
    """A fresh patient with a PHQ-9 item 9 answered 2 (an open safety task)."""
    patient = fresh_patient(services)
    result = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9)
    return patient, result.safety_task_id


def check_rows(services) -> int:
    with Session(services.context.engine) as session:
        return session.execute(select(func.count()).select_from(SafetyCheck)).scalar_one()


def shown(screen, widget_id: str) -> str:
    return " ".join(text_of(screen.query_one(f"#{widget_id}", Static)).split())


def shown_questions(screen) -> list[str]:
    """The question numbers the dialog shows now."""
    return [row.id.removeprefix("question-") for row in screen.query(QuestionRow) if row.display]


async def test_s_records_a_low_risk_check_that_completes_the_task_and_clears_the_flag(
    app_services,
):
    patient, task_id = flagged(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        assert has_safety_badge(screen)
        await press(pilot, "S")
        dialog = pilot.app.screen
        assert isinstance(dialog, SafetyCheckDialog)
        assert shown_questions(dialog) == ["wish_dead", "suicidal_thoughts", "behaviour"]
        # 1 yes, 2 no (3-5 are skipped), 6 no: low risk.
        await press(pilot, "y", "n", "n")
        assert shown_questions(dialog) == ["wish_dead", "suicidal_thoughts", "behaviour"]
        assert shown(dialog, "check-risk") == "Risk: Low risk"
        await press(pilot, "2", "ctrl+s")
        assert pilot.app.screen is screen
        [check] = app_services.safety_checks.list_for_patient(patient.id)
        assert (check.risk, check.disposition) == ("low", "safety-plan-reviewed")
        assert (check.answers.wish_dead, check.answers.method) == (True, None)
        task = app_services.tasks.get(task_id)
        assert task.status == "completed"
        assert app_services.safety_checks.open_signals(patient.id) == ()
        assert not has_safety_badge(screen)
        assert "PHQ-9 item 9" not in header_of(screen)
        await press(pilot, "7")
        assert ["Safety check", "Safety check (C-SSRS): low risk; safety plan reviewed"] in [
            row[1:] for row in rows_of(screen, "timeline-table")
        ]


async def test_high_risk_without_an_escalation_is_refused_with_the_field_named(app_services):
    patient, task_id = flagged(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "S")
        dialog = pilot.app.screen
        # 2 yes shows 3-5; 4 yes is high risk; 6 yes shows the 3-month question.
        await press(pilot, "y", "y")
        assert shown_questions(dialog) == [
            "wish_dead",
            "suicidal_thoughts",
            "method",
            "intent",
            "plan",
            "behaviour",
        ]
        await press(pilot, "n", "y", "n", "y")
        assert "behaviour_past_3_months" in shown_questions(dialog)
        await press(pilot, "n")
        assert shown(dialog, "check-risk") == "Risk: High risk"
        await press(pilot, "2", "ctrl+s")
        assert pilot.app.screen is dialog
        assert shown(dialog, "check-error") == (
            "Disposition: a high risk screen needs an escalation: one of crisis line given, "
            "prescriber or PCP notified, emergency services or ED; nothing was saved"
        )
        assert check_rows(app_services) == 0
        assert app_services.tasks.get(task_id).status == "requested"
        # Escalating saves it; the C-SSRS risk keeps SAFETY up in place of the task.
        await press(pilot, "5", "ctrl+s")
        assert pilot.app.screen is screen
        [check] = app_services.safety_checks.list_for_patient(patient.id)
        assert (check.risk, check.disposition) == ("high", "emergency-services")
        assert app_services.tasks.get(task_id).status == "completed"
        assert "⚠ C-SSRS high risk on 27 Nov: check safety again" in header_of(screen)


async def test_d_on_a_safety_row_of_today_opens_the_safety_check(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        row = screen.table.cursor_row
        assert row.due_item.kind in PATIENT_SAFETY_KINDS  # safety rows lead Today
        await press(pilot, "d")
        assert isinstance(app.screen, SafetyCheckDialog)
        assert app.screen.patient_id == row.patient_id
        assert app_services.tasks.get(row.due_item.item_id).status == "requested"
        # Nothing given: esc closes at once, nothing written.
        await press(pilot, "escape")
        assert app.screen is screen
        assert check_rows(app_services) == 0


async def test_after_a_call_on_a_flagged_patient_yes_opens_the_safety_check(app_services):
    patient, _task_id = flagged(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, _screen):
        await press(pilot, "c", "ctrl+s")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert isinstance(pilot.app.screen, SafetyCheckDialog)
        assert pilot.app.screen.patient_id == patient.id


# ---------------------------------------------------------------- the snapshot


class CheckHost(App[None]):
    """A bare app that opens the safety check dialog at once."""

    def __init__(self, services, patient_id: int) -> None:
        super().__init__()
        self.services = services
        self.patient_id = patient_id

    def on_mount(self) -> None:
        self.push_screen(SafetyCheckDialog(self.services, self.patient_id, "Detail, Robin"))


class TestSafetyCheckDialog:
    def test_moderate_risk_with_a_disposition(self, app_services, snap_compare):
        patient = fresh_patient(app_services)

        async def run_before(pilot):
            await settle(pilot)
            # 1 yes, 2 no, 6 yes, not within 3 months: moderate; 3 crisis line given.
            await pilot.press("y", "n", "y", "n", "3")
            await settle(pilot)

        assert snap_compare(
            CheckHost(app_services, patient.id), terminal_size=SIZE, run_before=run_before
        )
