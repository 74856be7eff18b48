"""The patient-detail action dialogs, filled by keys on the real app.

Each dialog is pushed on the running app, filled with key presses only (tab to
move, typing, enter to open a choice list), saved with ctrl+s, and then the
database is read back through the services. Bad input must show a message
naming the field, keep the dialog open, and write nothing.
"""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, Select, Static

from nursecase.app import make_app
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.patient_actions import (
    add_task_dialog,
    change_episode_status_dialog,
    change_risk_tier_dialog,
    reassign_task_dialog,
    reconcile_medications_dialog,
    record_discharge_dialog,
    snooze_task_dialog,
)
from nursecase.screens.patient_actions import start_episode_dialog as new_episode_dialog
from nursecase.screens.referral_dialogs import new_referral_dialog
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.dialog_keys import choices_of, choose, focus_field, type_into

TODAY = date(2026, 11, 27)  # the frozen clock's Friday
TOMORROW = date(2026, 11, 28)


# ---------------------------------------------------------------- key helpers


async def open_dialog(pilot, dialog: FormDialog) -> list:
    """Push ``dialog`` on the running app; the list receives its dismiss value."""
    results: list = []
    await settle(pilot)
    pilot.app.push_screen(dialog, results.append)
    await settle(pilot)
    assert pilot.app.screen is dialog
    return results


def error_of(dialog: FormDialog) -> str:
    return text_of(dialog.query_one("#form-error", Static)).strip()


async def save(pilot) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


# ------------------------------------------------------------------- fixtures


def my_patients(services) -> list:
    return services.patients.list_page(nurse_id=services.context.nurse_id, limit=100)


def an_open_task(services):
    """An open task of the signed-in nurse (amoreno)."""
    tasks = services.tasks.list_open_for_nurse(services.context.nurse_id)
    assert tasks
    return tasks[0]


def a_patient_with_episode(services, status: str):
    for row in services.patients.list_page(limit=100):
        if row.episode_status == status:
            return services.patients.get(row.id)
    raise AssertionError(f"no seeded patient with a {status} episode")


# ---------------------------------------------------------------------- tasks


async def test_add_task_with_priority_and_another_nurse(app_services):
    patient = my_patients(app_services)[0]
    before = {task.id for task in app_services.tasks.list_for_patient(patient.id)}
    nurses = app_services.nurses.list_nurses()
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = add_task_dialog(app_services, patient.id, "Test, Patient", nurses)
        results = await open_dialog(pilot, dialog)
        assert dialog.query_one("#field-due_date", Input).value == "2026-11-28"
        await type_into(pilot, "description", "Call the pharmacy about refills")
        await choose(pilot, "priority", "Urgent")
        await choose(pilot, "nurse_username", "Ben Okafor (bokafor)")
        await save(pilot)
        assert app.screen is not dialog
    added = [t for t in app_services.tasks.list_for_patient(patient.id) if t.id not in before]
    assert len(added) == 1
    task = added[0]
    assert (task.description, task.due_date, task.priority, task.nurse_username) == (
        "Call the pharmacy about refills",
        TOMORROW,
        "urgent",
        "bokafor",
    )
    assert task.source == "manual" and task.status == "requested"
    assert results == [task]


async def test_add_task_goes_to_the_patients_nurse_on_the_typed_date(app_services):
    patient = my_patients(app_services)[0]
    before = {task.id for task in app_services.tasks.list_for_patient(patient.id)}
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = add_task_dialog(app_services, patient.id, "Test, Patient")
        await open_dialog(pilot, dialog)
        assert not dialog.query("#field-nurse_username")  # no nurses given: no choice
        await type_into(pilot, "description", "Teach inhaler technique")
        await type_into(pilot, "due_date", "2026-12-03")
        await save(pilot)
    added = [t for t in app_services.tasks.list_for_patient(patient.id) if t.id not in before]
    assert [(t.due_date, t.priority, t.nurse_username) for t in added] == [
        (date(2026, 12, 3), "routine", patient.nurse_username)
    ]


async def test_add_task_refuses_a_date_that_is_not_a_date(app_services):
    patient = my_patients(app_services)[0]
    count = len(app_services.tasks.list_for_patient(patient.id, include_done=True))
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = add_task_dialog(app_services, patient.id, "Test, Patient")
        results = await open_dialog(pilot, dialog)
        await type_into(pilot, "description", "Kept text")
        await type_into(pilot, "due_date", "31/02/2026")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Due date must be a date as YYYY-MM-DD"
        assert dialog.focused is dialog.query_one("#field-due_date")
        await type_into(pilot, "due_date", "2026-02-31")
        await save(pilot)
        assert error_of(dialog) == "Due date is not a real calendar date"
        assert dialog.query_one("#field-description", Input).value == "Kept text"
        await pilot.press("escape")
        await settle(pilot)
        assert results == [None]
    assert len(app_services.tasks.list_for_patient(patient.id, include_done=True)) == count


async def test_snooze_task_needs_a_reason_then_moves_the_due_date(app_services):
    task = an_open_task(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = snooze_task_dialog(app_services, task)
        results = await open_dialog(pilot, dialog)
        assert dialog.query_one("#field-until", Input).value == "2026-11-28"
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Reason is required"
        assert app_services.tasks.get(task.id).due_date == task.due_date
        await type_into(pilot, "reason", "patient in hospital until Monday")
        await pilot.press("enter")  # enter on the last field saves
        await settle(pilot)
        assert app.screen is not dialog
    snoozed = app_services.tasks.get(task.id)
    assert (snoozed.due_date, snoozed.snooze_reason, snoozed.status) == (
        TOMORROW,
        "patient in hospital until Monday",
        task.status,
    )
    assert results == [snoozed]


async def test_snooze_task_refuses_a_day_that_is_not_later(app_services):
    task = an_open_task(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = snooze_task_dialog(app_services, task)
        await open_dialog(pilot, dialog)
        await type_into(pilot, "until", "2026-11-27")
        await type_into(pilot, "reason", "family visiting")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "End date must be after today"
        assert dialog.focused is dialog.query_one("#field-until")
    unchanged = app_services.tasks.get(task.id)
    assert (unchanged.due_date, unchanged.snooze_reason) == (task.due_date, task.snooze_reason)


async def test_reassign_task_to_another_nurse(app_services):
    task = an_open_task(app_services)
    assert task.nurse_username == "amoreno"
    nurses = app_services.nurses.list_nurses()
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = reassign_task_dialog(app_services, task, nurses)
        results = await open_dialog(pilot, dialog)
        intro = text_of(dialog.query_one("#form-intro", Static))
        assert "Now assigned to Alice Moreno." in intro
        assert list(choices_of(dialog, "nurse_username")) == [
            "Ben Okafor (bokafor)",
            "Chi Nguyen (cnguyen)",
            "Dana Larsen (dlarsen)",
        ]
        await choose(pilot, "nurse_username", "Chi Nguyen (cnguyen)")
        await save(pilot)
        assert app.screen is not dialog
    assert app_services.tasks.get(task.id).nurse_username == "cnguyen"
    assert results[0].nurse_username == "cnguyen"


async def test_reassign_task_without_a_choice_is_refused(app_services):
    task = an_open_task(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = reassign_task_dialog(app_services, task, app_services.nurses.list_nurses())
        await open_dialog(pilot, dialog)
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Nurse is required"
    assert app_services.tasks.get(task.id).nurse_username == "amoreno"


# ------------------------------------------------------------------ referrals


async def test_new_referral_is_sent_with_the_default_reply_date(app_services):
    patient = my_patients(app_services)[0]
    before = {referral.id for referral in app_services.referrals.list_for_patient(patient.id)}
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = new_referral_dialog(app_services, patient.id, "Test, Patient")
        results = await open_dialog(pilot, dialog)
        # Routine: ten calendar days; choosing urgent below moves it to three.
        assert dialog.query_one("#field-expected_reply_date", Input).value == "2026-12-07"
        await choose(pilot, "service_type", "Physical therapy")
        await type_into(pilot, "receiving_organisation", "Valley PT")
        await choose(pilot, "priority", "Urgent: act promptly, before routine")
        await focus_field(pilot, "reason")
        await pilot.press(*"Gait training after fall")
        await save(pilot)
        assert app.screen is not dialog
    added = [
        referral
        for referral in app_services.referrals.list_for_patient(patient.id)
        if referral.id not in before
    ]
    assert len(added) == 1
    referral = added[0]
    assert (
        referral.service_type,
        referral.receiving_organisation,
        referral.receiving_contact,
        referral.priority,
        referral.status,
        referral.reason,
        referral.expected_reply_date,
    ) == (
        "physical-therapy",
        "Valley PT",
        None,
        "urgent",
        "requested",
        "Gait training after fall",
        date(2026, 11, 30),  # urgent: 3 calendar days
    )
    assert results == [referral]


async def test_new_referral_refuses_an_impossible_reply_date(app_services):
    patient = my_patients(app_services)[0]
    count = len(app_services.referrals.list_for_patient(patient.id))
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = new_referral_dialog(app_services, patient.id, "Test, Patient")
        await open_dialog(pilot, dialog)
        await choose(pilot, "service_type", "Social work")
        await type_into(pilot, "receiving_organisation", "County SW")
        await type_into(pilot, "expected_reply_date", "2026-02-31")
        await focus_field(pilot, "reason")
        await pilot.press(*"Housing")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Expected reply date is not a real calendar date"
        assert dialog.focused is dialog.query_one("#field-expected_reply_date")
        assert dialog.query_one("#field-reason").text == "Housing"
    assert len(app_services.referrals.list_for_patient(patient.id)) == count


# ----------------------------------------------------------------- discharges


async def test_record_discharge_creates_its_two_tcm_tasks(app_services):
    patient = my_patients(app_services)[0]
    before = {task.id for task in app_services.tasks.list_for_patient(patient.id)}
    assert app_services.transitions.list_for_patient(patient.id) == []
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = record_discharge_dialog(app_services, patient.id, "Test, Patient")
        results = await open_dialog(pilot, dialog)
        assert dialog.query_one("#field-discharged_on", Input).value == "2026-11-27"
        await type_into(pilot, "facility", "St Mary's [ICU]")
        await choose(pilot, "high_complexity", "Yes")
        await type_into(pilot, "length_of_stay_days", "5")
        await save(pilot)
        assert app.screen is not dialog
    [transition] = app_services.transitions.list_for_patient(patient.id)
    assert (
        transition.discharged_on,
        transition.facility,
        transition.high_complexity,
        transition.length_of_stay_days,
    ) == (TODAY, "St Mary's [ICU]", True, 5)
    added = sorted(
        (t for t in app_services.tasks.list_for_patient(patient.id) if t.id not in before),
        key=lambda task: task.due_date,
    )
    assert [(t.description, t.due_date, t.source, t.source_id) for t in added] == [
        # Friday's discharge: 2 business days is Tuesday; high complexity: 7 days.
        ("TCM interactive contact", date(2026, 12, 1), "transition-clock", transition.id),
        ("TCM face-to-face visit", date(2026, 12, 4), "transition-clock", transition.id),
    ]
    assert results[0].id == transition.id


async def test_record_discharge_refuses_a_length_of_stay_in_words(app_services):
    patient = my_patients(app_services)[0]
    tasks = len(app_services.tasks.list_for_patient(patient.id, include_done=True))
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = record_discharge_dialog(app_services, patient.id, "Test, Patient")
        await open_dialog(pilot, dialog)
        await type_into(pilot, "length_of_stay_days", "three")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Length of stay must be a whole number from 0 to 3650"
        assert dialog.focused is dialog.query_one("#field-length_of_stay_days")
        assert dialog.query_one("#field-length_of_stay_days", Input).value == "three"
    assert app_services.transitions.list_for_patient(patient.id) == []
    assert len(app_services.tasks.list_for_patient(patient.id, include_done=True)) == tasks


# ------------------------------------------------------------------ risk tier


def a_moderate_patient(services):
    for row in my_patients(services):
        if row.risk_tier == "moderate":
            return services.patients.get(row.id)
    raise AssertionError("no moderate-risk patient")


async def test_lace_suggestion_prefills_the_risk_tier_and_saves_its_basis(app_services):
    patient = a_moderate_patient(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = change_risk_tier_dialog(
            app_services, patient, suggested_tier="high", suggested_reason="LACE 12 = L5 A3 C2 E2"
        )
        results = await open_dialog(pilot, dialog)
        assert dialog.query_one("#field-risk_tier", Select).value == "high"
        assert dialog.query_one("#field-reason", Input).value == "LACE 12 = L5 A3 C2 E2"
        await save(pilot)
        assert app.screen is not dialog
    changed = app_services.patients.get(patient.id)
    assert (changed.risk_tier, changed.risk_basis) == ("high", "LACE 12 = L5 A3 C2 E2")
    assert changed.version == patient.version + 1
    assert results == [changed]


async def test_risk_tier_reason_is_required(app_services):
    patient = a_moderate_patient(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = change_risk_tier_dialog(app_services, patient)
        await open_dialog(pilot, dialog)
        assert dialog.query_one("#field-risk_tier", Select).value == "moderate"
        await choose(pilot, "risk_tier", "Low")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Reason is required"
        assert dialog.focused is dialog.query_one("#field-reason")
        await pilot.press(*"stable for 6 months")
        await save(pilot)
        assert app.screen is not dialog
    changed = app_services.patients.get(patient.id)
    assert (changed.risk_tier, changed.risk_basis) == ("low", "stable for 6 months")


async def test_risk_tier_from_a_stale_chart_is_refused_naming_who_changed_it(
    app_services, seeded_engine, clock
):
    patient = a_moderate_patient(app_services)
    colleague = make_services(seeded_engine, clock, nurse="bokafor")
    colleague.patients.change_risk_tier(patient.id, "high", "ED visit last night")
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = change_risk_tier_dialog(app_services, patient)  # read before Ben's change
        await open_dialog(pilot, dialog)
        await choose(pilot, "risk_tier", "Low")
        await type_into(pilot, "reason", "doing well")
        await save(pilot)
        assert app.screen is dialog
        message = error_of(dialog)
        assert "changed by Ben Okafor at 2026-11-27 09:00" in message and "reload" in message
    kept = app_services.patients.get(patient.id)
    assert (kept.risk_tier, kept.risk_basis) == ("high", "ED visit last night")


# ------------------------------------------------------------------- episodes


async def test_episode_goes_on_hold_without_a_reason(app_services):
    patient = a_patient_with_episode(app_services, "active")
    episode = app_services.episodes.current(patient.id)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = change_episode_status_dialog(app_services, episode, patient.display_name)
        results = await open_dialog(pilot, dialog)
        assert list(choices_of(dialog, "status")) == [
            "Planned",
            "Waiting list",
            "On hold",
            "Finished",
            "Cancelled",
        ]
        await choose(pilot, "status", "On hold")
        await save(pilot)
        assert app.screen is not dialog
    changed = app_services.episodes.current(patient.id)
    assert (changed.id, changed.status, changed.end) == (episode.id, "onhold", None)
    assert changed.history[-1].from_status == "active"
    assert app_services.patients.get(patient.id).episode_status == "onhold"
    assert results == [changed]


async def test_closing_an_episode_needs_a_reason(app_services):
    patient = a_patient_with_episode(app_services, "active")
    episode = app_services.episodes.current(patient.id)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = change_episode_status_dialog(app_services, episode, patient.display_name)
        await open_dialog(pilot, dialog)
        await choose(pilot, "status", "Finished")
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog) == "Reason is required to mark an episode finished"
        assert dialog.focused is dialog.query_one("#field-reason")
        assert app_services.episodes.current(patient.id).status == "active"
        await pilot.press(*"goals met")
        await save(pilot)
        assert app.screen is not dialog
    closed = app_services.episodes.current(patient.id)
    assert (closed.status, closed.end, closed.closure_reason) == ("finished", TODAY, "goals met")
    assert closed.history[-1].reason == "goals met"
    assert app_services.patients.get(patient.id).episode_status == "finished"


async def test_new_episode_for_a_patient_whose_episode_is_closed(app_services):
    patient = a_patient_with_episode(app_services, "finished")
    old = app_services.episodes.current(patient.id)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = new_episode_dialog(app_services, patient.id, patient.display_name)
        results = await open_dialog(pilot, dialog)
        assert list(choices_of(dialog, "status")) == [
            "Planned",
            "Waiting list",
            "Active",
            "On hold",
        ]
        await choose(pilot, "status", "Waiting list")
        await save(pilot)
        assert app.screen is not dialog
    new = app_services.episodes.current(patient.id)
    assert new.id != old.id and (new.status, new.start, new.end) == ("waitlist", TODAY, None)
    assert app_services.patients.get(patient.id).episode_status == "waitlist"
    assert results == [new]


async def test_new_episode_is_refused_while_one_is_open(app_services):
    patient = a_patient_with_episode(app_services, "active")
    episodes = app_services.episodes.list_for_patient(patient.id)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = new_episode_dialog(app_services, patient.id, patient.display_name)
        await open_dialog(pilot, dialog)
        await save(pilot)
        assert app.screen is dialog
        assert error_of(dialog).startswith("The patient already has an open episode")
    assert app_services.episodes.list_for_patient(patient.id) == episodes


# ---------------------------------------------------------------- medications


def a_patient_with_current_medications(services):
    for row in my_patients(services):
        medications = services.medications.list_for_patient(row.id)
        current = [m for m in medications if m.status in ("active", "on-hold")]
        if current and len(current) < len(medications):
            return row, medications
    raise AssertionError("no patient with both current and past medications")


async def test_reconcile_marks_current_medications_reconciled_today(app_services):
    row, medications = a_patient_with_current_medications(app_services)
    current = [m for m in medications if m.status in ("active", "on-hold")]
    assert any(m.last_reconciled != TODAY for m in current)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = reconcile_medications_dialog(app_services, row.id, "Test, Patient", len(current))
        results = await open_dialog(pilot, dialog)
        assert f"Mark the {len(current)} active or on-hold" in text_of(
            dialog.query_one("#form-intro", Static)
        )
        await save(pilot)
        assert app.screen is not dialog
    assert results == [len(current)]
    after = {m.id: m for m in app_services.medications.list_for_patient(row.id)}
    for medication in medications:
        expected = TODAY if medication in current else medication.last_reconciled
        assert after[medication.id].last_reconciled == expected


async def test_reconcile_cancelled_with_escape_writes_nothing(app_services):
    row, medications = a_patient_with_current_medications(app_services)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        dialog = reconcile_medications_dialog(app_services, row.id, "Test, Patient", 3)
        results = await open_dialog(pilot, dialog)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is not dialog
    assert results == [None]
    assert app_services.medications.list_for_patient(row.id) == medications
