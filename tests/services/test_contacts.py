"""ContactService: the contact log and the clocks it moves."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact
from nursecase.services import make_services
from nursecase.services.errors import NoNurseError, NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo", risk_tier="high")


def contact_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Contact)).scalar_one()


def test_reached_contact_moves_last_contact_and_cadence(services, patient):
    contact = services.contacts.log(
        patient.id, "2026-11-26 15:30", "phone", "patient", "reached", 12, note="[PRN] ok"
    )

    assert contact.author_username == "alice"
    assert contact.interactive
    assert contact.note == "[PRN] ok"
    after = services.patients.get(patient.id)
    assert after.last_contact_at == datetime(2026, 11, 26, 15, 30)
    assert after.next_contact_due == date(2026, 12, 3)  # high risk: 7 days after the contact
    assert after.version == patient.version + 1
    assert services.audit.list_events("contact", contact.id)[0].action == "create"
    assert services.audit.list_events("patient", patient.id)[0].changed_fields == (
        "last_contact_at",
        "next_contact_due",
    )


def test_unanswered_attempt_keeps_the_due_date(services, patient):
    services.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "no-answer", 2)
    after = services.patients.get(patient.id)
    assert after.last_contact_at == datetime(2026, 11, 27, 8, 0)
    assert after.next_contact_due == patient.next_contact_due


def test_given_due_date_wins_and_older_contact_does_not_move_last_contact(services, patient):
    services.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "reached", 5)
    services.contacts.log(
        patient.id,
        datetime(2026, 11, 20, 10, 0),
        "home-visit",
        "caregiver",
        "reached",
        45,
        next_contact_due="2026-12-10",
    )
    after = services.patients.get(patient.id)
    assert after.last_contact_at == datetime(2026, 11, 27, 8, 0)
    assert after.next_contact_due == date(2026, 12, 10)
    assert [c.occurred_at.day for c in services.contacts.list_for_patient(patient.id)] == [27, 20]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_at": "2026-11-27 09:01"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"mode": "pigeon"}, "mode"),
        ({"with_whom": "neighbour"}, "with_whom"),
        ({"outcome": ""}, "outcome"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": 481}, "minutes"),
        ({"minutes": "ten"}, "minutes"),
        ({"note": "x" * 4001}, "note"),
        ({"next_contact_due": "2026-11-26"}, "next_contact_due"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, patient, changes, field):
    arguments = {
        "patient_id": patient.id,
        "occurred_at": "2026-11-27 08:00",
        "mode": "phone",
        "with_whom": "patient",
        "outcome": "reached",
        "minutes": 10,
    } | changes
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.contacts.log(**arguments)

    assert caught.value.field == field
    assert contact_count(engine) == 0
    assert services.audit.count() == audit_before
    assert services.patients.get(patient.id).version == patient.version


def test_minutes_message_is_clear(services, patient):
    with pytest.raises(ValidationError) as caught:
        services.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "reached", 0)
    assert str(caught.value) == "Minutes must be a whole number from 1 to 480"


def test_logging_needs_a_signed_in_nurse(engine, clock, services, patient):
    anonymous = make_services(engine, clock)
    with pytest.raises(NoNurseError):
        anonymous.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "reached", 5)


def test_update_and_delete_recompute_last_contact(services, patient):
    first = services.contacts.log(patient.id, "2026-11-20 10:00", "phone", "patient", "reached", 5)
    second = services.contacts.log(patient.id, "2026-11-25 10:00", "phone", "patient", "reached", 5)

    updated = services.contacts.update(second.id, occurred_at="2026-11-18 09:00", minutes=7)
    assert (updated.minutes, updated.occurred_at) == (7, datetime(2026, 11, 18, 9, 0))
    assert services.patients.get(patient.id).last_contact_at == datetime(2026, 11, 20, 10, 0)
    assert services.audit.list_events("contact", second.id)[0].changed_fields == (
        "minutes",
        "occurred_at",
    )

    services.contacts.delete(first.id)
    assert services.patients.get(patient.id).last_contact_at == datetime(2026, 11, 18, 9, 0)
    assert services.audit.list_events("contact", first.id)[0].action == "delete"
    with pytest.raises(NotFoundError):
        services.contacts.get(first.id)
    with pytest.raises(ValidationError) as caught:
        services.contacts.update(second.id, author_id=3)
    assert caught.value.field == "author_id"


def test_minutes_in_month(services, patient):
    for moment, minutes in [
        ("2026-10-31 23:59", 30),
        ("2026-11-01 00:00", 15),
        ("2026-11-15 12:00", 10),
        ("2026-11-27 08:00", 20),
    ]:
        services.contacts.log(patient.id, moment, "phone", "patient", "left-message", minutes)
    assert services.contacts.minutes_in_month(patient.id, 2026, 11) == 45
    assert services.contacts.minutes_in_month(patient.id, 2026, 10) == 30
    assert services.contacts.minutes_in_month(patient.id, 2026, 12) == 0
    with pytest.raises(ValidationError) as caught:
        services.contacts.minutes_in_month(patient.id, 2026, 13)
    assert caught.value.field == "month"


def test_interactive_contact_meets_the_tcm_contact_and_completes_its_task(services, patient):
    transition = services.transitions.record_discharge(patient.id, "2026-11-25")
    services.contacts.log(patient.id, "2026-11-26 10:00", "phone", "patient", "left-message", 2)
    assert services.transitions.open_for_patient(patient.id)[0].interactive_contact_on is None

    services.contacts.log(patient.id, "2026-11-26 14:00", "phone", "caregiver", "reached", 10)

    after = services.transitions.list_for_patient(patient.id)[0]
    assert after.interactive_contact_on == date(2026, 11, 26)
    assert after.face_to_face_on is None
    tasks = services.tasks.list_for_patient(patient.id, include_done=True)
    done = {task.description: task.status for task in tasks}
    assert done == {"TCM interactive contact": "completed", "TCM face-to-face visit": "requested"}
    assert services.audit.list_events("transition", transition.id)[0].changed_fields == (
        "interactive_contact_on",
    )


def test_home_visit_meets_both_tcm_steps(services, patient):
    transition = services.transitions.record_discharge(patient.id, "2026-11-25")
    services.contacts.log(patient.id, "2026-11-27 08:00", "home-visit", "patient", "reached", 60)
    after = services.transitions.list_for_patient(patient.id)[0]
    assert (after.interactive_contact_on, after.face_to_face_on) == (
        date(2026, 11, 27),
        date(2026, 11, 27),
    )
    assert services.transitions.open_for_patient(patient.id) == []
    assert services.tasks.list_for_patient(patient.id) == []
    assert transition.id == after.id


def test_contact_before_the_discharge_does_not_count(services, patient):
    services.transitions.record_discharge(patient.id, "2026-11-26")
    services.contacts.log(patient.id, "2026-11-25 10:00", "clinic-visit", "patient", "reached", 20)
    after = services.transitions.list_for_patient(patient.id)[0]
    assert (after.interactive_contact_on, after.face_to_face_on) == (None, None)


def test_contact_with_a_provider_is_not_a_tcm_contact(services, patient):
    services.transitions.record_discharge(patient.id, "2026-11-25")
    services.contacts.log(patient.id, "2026-11-26 10:00", "phone", "provider", "reached", 20)
    assert services.transitions.list_for_patient(patient.id)[0].interactive_contact_on is None


def test_a_reached_routine_call_leaves_the_safety_task_open(services, patient):
    """Issue 16: "called about refills" reached the patient, but it is no safety check."""
    phq9 = {f"item{number}": 0 for number in range(1, 10)} | {"item9": 2}
    result = services.assessments.record(patient.id, "phq-9", phq9)
    services.contacts.log(
        patient.id,
        "2026-11-27 09:00",
        "phone",
        "patient",
        "reached",
        10,
        note="Called about refills",
    )
    task = services.tasks.get(result.safety_task_id)
    assert (task.status, task.done_at) == ("requested", None)
    [signal] = services.safety_checks.open_signals(patient.id)
    assert signal.task_id == task.id
    assert signal.what == "PHQ-9 item 9 answered 2 on 27 Nov"


def test_two_unsuccessful_attempts_meet_the_tcm_contact(services, patient):
    # Discharged Wed 25 Nov: the interactive contact is due Fri 27.
    transition = services.transitions.record_discharge(patient.id, "2026-11-25")
    services.contacts.log(patient.id, "2026-11-25 16:00", "phone", "patient", "no-answer", 1)

    [after_one] = services.transitions.list_for_patient(patient.id)
    assert (after_one.interactive_attempts, after_one.attempts_met_on) == (1, None)
    assert after_one.clock.interactive.state == "due"
    assert after_one.clock.short_label() == "TCM day 2 of 2, 1 attempt"

    services.contacts.log(patient.id, "2026-11-26 09:30", "phone", "caregiver", "left-message", 2)

    [after_two] = services.transitions.list_for_patient(patient.id)
    assert (after_two.interactive_attempts, after_two.attempts_met_on) == (2, date(2026, 11, 26))
    assert after_two.interactive_contact_on is None
    assert after_two.clock.interactive.state == "met-by-attempts"
    assert after_two.clock.interactive.describe() == (
        "contact met by two attempts (Wed 25 Nov, Thu 26 Nov)"
    )
    tasks = services.tasks.list_for_patient(patient.id, include_done=True)
    done = {task.description: task for task in tasks}
    assert done["TCM interactive contact"].status == "completed"
    assert done["TCM face-to-face visit"].status == "requested"
    event = services.audit.list_events("task", done["TCM interactive contact"].id)[0]
    assert (event.action, event.changed_fields) == ("update", ("done_at", "status"))
    assert services.audit.list_events("transition", transition.id)[0].changed_fields == (
        "attempts_met_on",
        "interactive_attempts",
    )


def test_attempts_outside_the_window_or_with_a_provider_do_not_count(services, patient):
    # Discharged Tue 24 Nov: due Thu 26. An attempt on the 25th counts; one with a
    # provider, a wrong number and one on Fri 27 (too late) do not.
    services.transitions.record_discharge(patient.id, "2026-11-24")
    services.contacts.log(patient.id, "2026-11-25 10:00", "phone", "patient", "no-answer", 1)
    services.contacts.log(patient.id, "2026-11-25 11:00", "phone", "provider", "no-answer", 1)
    services.contacts.log(patient.id, "2026-11-26 11:00", "phone", "patient", "wrong-number", 1)
    services.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "no-answer", 1)

    [transition] = services.transitions.list_for_patient(patient.id)
    assert (transition.interactive_attempts, transition.attempts_met_on) == (1, None)
    assert transition.clock.interactive.state == "missed"
    open_tasks = [task.description for task in services.tasks.list_for_patient(patient.id)]
    assert "TCM interactive contact" in open_tasks  # shown missed on its day, then swept


def test_a_late_contact_is_recorded_but_the_step_is_missed(services, patient):
    # Discharged Mon 23 Nov: due Wed 25; reached on Thu 26.
    services.transitions.record_discharge(patient.id, "2026-11-23")
    services.contacts.log(patient.id, "2026-11-26 10:00", "phone", "patient", "reached", 15)

    [transition] = services.transitions.list_for_patient(patient.id)
    assert transition.interactive_contact_on == date(2026, 11, 26)
    assert transition.clock.interactive.state == "missed"
    assert transition.clock.interactive.describe() == (
        "contact missed: made late Thu 26 Nov (due Wed 25 Nov)"
    )
    statuses = {
        task.description: task.status
        for task in services.tasks.list_for_patient(patient.id, include_done=True)
    }
    assert statuses == {"TCM interactive contact": "failed", "TCM face-to-face visit": "requested"}


def test_a_contact_after_a_readmission_counts_for_the_new_period_only(services, patient):
    first = services.transitions.record_discharge(patient.id, "2026-11-16")
    second = services.transitions.record_discharge(patient.id, "2026-11-24")
    services.contacts.log(patient.id, "2026-11-25 10:00", "home-visit", "patient", "reached", 40)

    reads = {t.id: t for t in services.transitions.list_for_patient(patient.id)}
    assert (reads[first.id].interactive_contact_on, reads[first.id].face_to_face_on) == (None, None)
    assert reads[second.id].face_to_face_on == date(2026, 11, 25)
