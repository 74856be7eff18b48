"""TransitionService: discharges start the TCM clocks and their follow-up tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nursecase.db.models import Task, Transition
from nursecase.services import make_services
from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def counts(engine):
    with Session(engine) as session:
        return tuple(
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Transition, Task)
        )


def test_discharge_creates_the_two_tcm_tasks(services, patient):
    transition = services.transitions.record_discharge(
        patient.id, "2026-11-25", facility="General", length_of_stay_days=4
    )

    assert transition.interactive_due == date(2026, 11, 27)  # Wed + 2 business days
    assert transition.face_to_face_due == date(2026, 12, 9)
    assert transition.period_end == date(2026, 12, 24)
    assert transition.clock.short_label() == "TCM day 2 of 2"
    tasks = services.tasks.list_for_patient(patient.id)
    assert [(t.description, t.due_date, t.priority) for t in tasks] == [
        ("TCM interactive contact", date(2026, 11, 27), "urgent"),
        ("TCM face-to-face visit", date(2026, 12, 9), "routine"),
    ]
    assert {(t.source, t.source_id) for t in tasks} == {("transition-clock", transition.id)}
    assert all(task.nurse_username == "alice" for task in tasks)
    assert services.audit.list_events("transition", transition.id)[0].action == "create"
    assert [e.action for e in services.audit.list_events("task")] == ["create", "create"]


def test_holidays_and_high_complexity(engine, clock, services, patient):
    settings = replace(services.context.settings, holidays=frozenset({date(2026, 11, 26)}))
    with_holiday = make_services(engine, clock, nurse="alice", settings=settings)

    transition = with_holiday.transitions.record_discharge(
        patient.id, date(2026, 11, 25), high_complexity=True
    )

    assert transition.interactive_due == date(2026, 11, 30)  # Thanksgiving skipped
    assert transition.face_to_face_due == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"discharged_on": "2026-11-28"}, "discharged_on"),
        ({"discharged_on": "2026-10-27"}, "discharged_on"),
        ({"discharged_on": "25/11/2026"}, "discharged_on"),
        ({"discharged_on": "2026-11-25", "length_of_stay_days": -1}, "length_of_stay_days"),
        ({"discharged_on": "2026-11-25", "high_complexity": "yes"}, "high_complexity"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, patient, arguments, field):
    audit_before = services.audit.count()
    with pytest.raises(ValidationError) as caught:
        services.transitions.record_discharge(patient.id, **arguments)
    assert caught.value.field == field
    assert counts(engine) == (0, 0)
    assert services.audit.count() == audit_before


def test_thirty_days_ago_is_still_accepted(services, patient):
    transition = services.transitions.record_discharge(patient.id, "2026-10-28")
    assert transition.discharged_on == date(2026, 10, 28)


def test_open_for_patient_follows_the_steps_and_the_missed_day(services, patient, clock):
    # Discharged Fri 20 Nov: contact due Tue 24 (shown missed Wed 25 only), visit due Fri 4 Dec.
    services.transitions.record_discharge(patient.id, "2026-11-20")
    [open_now] = services.transitions.open_for_patient(patient.id)  # Fri 27: the visit is due
    assert open_now.clock.short_label() == "TCM visit day 7 of 14"
    clock.advance(days=7)  # Fri 4 Dec: the visit's last day
    assert len(services.transitions.open_for_patient(patient.id)) == 1
    clock.advance(days=3)  # Mon 7 Dec: the missed visit's one day on Today
    [missed] = services.transitions.open_for_patient(patient.id)
    assert missed.clock.short_label() == "TCM visit missed (due Fri 4 Dec)"
    clock.advance(days=1)
    assert services.transitions.open_for_patient(patient.id) == []
    assert len(services.transitions.list_for_patient(patient.id)) == 1


def test_unknown_patient(services):
    with pytest.raises(NotFoundError):
        services.transitions.record_discharge(77, "2026-11-25")


# ------------------------------------------------------------ readmission


def tasks_of(services, patient_id):
    return {
        (task.source_id, task.description): (task.status, task.snooze_reason)
        for task in services.tasks.list_for_patient(patient_id, include_done=True)
    }


def test_a_readmission_ends_the_earlier_period_and_closes_its_tasks(services, patient):
    # Discharged Mon 16 Nov; contact made Tue 17; readmitted, discharged again Tue 24 Nov.
    first = services.transitions.record_discharge(patient.id, "2026-11-16")
    services.contacts.log(patient.id, "2026-11-17 10:00", "phone", "patient", "reached", 15)

    second = services.transitions.record_discharge(patient.id, "2026-11-24")

    (earlier,) = [t for t in services.transitions.list_for_patient(patient.id) if t.id == first.id]
    assert earlier.superseded_on == date(2026, 11, 24)
    assert earlier.clock.face_to_face.state == "ended-by-readmission"
    assert not earlier.is_open
    assert tasks_of(services, patient.id) == {
        (first.id, "TCM interactive contact"): ("completed", None),
        (first.id, "TCM face-to-face visit"): ("cancelled", "ended by readmission"),
        (second.id, "TCM interactive contact"): ("requested", None),
        (second.id, "TCM face-to-face visit"): ("requested", None),
    }
    assert services.audit.list_events("transition", first.id)[0].changed_fields == (
        "superseded_on",
    )
    cancelled = next(
        task
        for task in services.tasks.list_for_patient(patient.id, include_done=True)
        if task.status == "cancelled"
    )
    assert services.audit.list_events("task", cancelled.id)[0].changed_fields == (
        "done_at",
        "snooze_reason",
        "status",
    )
    # Only the new period is on Today.
    [row] = services.worklist.today(None)
    assert {item.item_id for item in row.items} <= {
        task.id
        for task in services.tasks.list_for_patient(patient.id)
        if task.source_id == second.id
    }
    assert [t.id for t in services.transitions.open_for_patient(patient.id)] == [second.id]


def test_a_readmission_after_a_missed_contact_fails_that_task(services, patient):
    first = services.transitions.record_discharge(patient.id, "2026-11-16")  # contact due Wed 18

    services.transitions.record_discharge(patient.id, "2026-11-24")

    statuses = {
        description: status
        for (source_id, description), (status, _) in tasks_of(services, patient.id).items()
        if source_id == first.id
    }
    assert statuses == {"TCM interactive contact": "failed", "TCM face-to-face visit": "cancelled"}


def test_a_discharge_entered_before_a_later_one_is_ended_by_it(services, patient):
    later = services.transitions.record_discharge(patient.id, "2026-11-24")
    earlier = services.transitions.record_discharge(patient.id, "2026-11-16")

    assert earlier.superseded_on == date(2026, 11, 24)
    assert {task.source_id for task in services.tasks.list_for_patient(patient.id)} == {later.id}


def test_a_discharge_after_the_period_is_not_a_readmission(services, patient, clock):
    clock.advance(days=-30)  # Wed 28 Oct
    first = services.transitions.record_discharge(patient.id, "2026-10-28")
    clock.advance(days=30)
    services.transitions.record_discharge(patient.id, "2026-11-27")  # day 31: a new period
    [read] = [t for t in services.transitions.list_for_patient(patient.id) if t.id == first.id]
    assert read.superseded_on is None


# -------------------------------------------------------------- the sweep


def test_close_lapsed_closes_missed_steps_after_their_day_and_audits_each(services, patient, clock):
    # Discharged Fri 20 Nov: the contact was due Tue 24 and shown missed on Wed 25.
    services.transitions.record_discharge(patient.id, "2026-11-20")
    audit_before = services.audit.count()

    assert services.transitions.close_lapsed() == 1

    tasks = tasks_of(services, patient.id)
    assert sorted(status for status, _ in tasks.values()) == ["failed", "requested"]
    [failed] = [
        task
        for task in services.tasks.list_for_patient(patient.id, include_done=True)
        if task.status == "failed"
    ]
    assert failed.description == "TCM interactive contact"
    assert failed.done_at == clock.now()
    assert services.audit.count() == audit_before + 1
    event = services.audit.list_events("task", failed.id)[0]
    assert (event.action, event.changed_fields) == ("update", ("done_at", "status"))
    # Nothing more to close: no write, no audit event.
    assert services.transitions.close_lapsed() == 0
    assert services.audit.count() == audit_before + 1
    clock.advance(days=10)  # Mon 7 Dec: the missed visit is on Today, so it stays open
    assert services.transitions.close_lapsed() == 0
    clock.advance(days=1)
    assert services.transitions.close_lapsed() == 1
    assert services.tasks.list_for_patient(patient.id) == []


def test_close_lapsed_closes_whatever_an_old_database_left_open(services, engine, patient, clock):
    # Rows written before the sweep existed: a readmission without its closing,
    # a met step whose task stayed open, and a period long over.
    old = services.transitions.record_discharge(patient.id, "2026-11-02")
    met = services.transitions.record_discharge(patient.id, "2026-11-10")
    with Session(engine) as session, session.begin():
        session.get(Transition, old.id).superseded_on = date(2026, 11, 10)
        session.get(Transition, met.id).interactive_contact_on = date(2026, 11, 11)
        session.execute(update(Task).values(status="requested", done_at=None))
    clock.advance(days=60)

    assert services.transitions.close_lapsed() == 4

    assert {
        (source_id == old.id, description): status
        for (source_id, description), (status, _) in tasks_of(services, patient.id).items()
    } == {
        (True, "TCM interactive contact"): "failed",  # due Wed 4 Nov, before the readmission
        (True, "TCM face-to-face visit"): "cancelled",  # ended by the readmission on the 10th
        (False, "TCM interactive contact"): "completed",
        (False, "TCM face-to-face visit"): "failed",
    }


# ---------------------------------------------------------------- billing


def test_list_for_patient_says_what_can_be_billed(services, patient):
    services.transitions.record_discharge(patient.id, "2026-11-16", high_complexity=True)
    services.contacts.log(patient.id, "2026-11-17 10:00", "phone", "caregiver", "reached", 15)
    services.contacts.log(patient.id, "2026-11-20 10:00", "home-visit", "patient", "reached", 50)

    [transition] = services.transitions.list_for_patient(patient.id)

    assert transition.billing.code == "99496"
    assert transition.billing.reason == (
        "interactive contact met; visit 4 days after discharge (within 7); high complexity"
    )


def test_the_app_sweeps_once_a_day(services, engine, patient, clock):
    services.transitions.record_discharge(patient.id, "2026-11-20")  # contact lapsed on the 26th
    assert services.transitions.close_lapsed_today() == 1
    # Something left open again the same day (an old database, a colleague's
    # older version): the daily sweep does not look twice; the next day it does.
    with Session(engine) as session, session.begin():
        session.execute(update(Task).values(status="requested", done_at=None))
    assert services.transitions.close_lapsed_today() == 0
    clock.advance(days=1)
    assert services.transitions.close_lapsed_today() == 1
