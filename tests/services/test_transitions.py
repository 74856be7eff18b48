"""TransitionService: discharges start the TCM clocks and their follow-up tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nursecase.db.models import Task, Transition
from nursecase.services import make_services
from nursecase.services.errors import NotFoundError, ValidationError
from nursecase.services.transitions import FACT_COLUMNS, _closings, _lapse_candidates


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


# ------------------------------------------------- what the sweep's SQL reads

#: Facts recorded for a discharge on day ``d``, as days after it (None: not recorded).
_FACT_VARIANTS = [
    {},
    {"interactive_contact_on": 1},
    {"interactive_contact_on": 6},  # late
    {"interactive_contact_on": -1},  # before the discharge: does not count
    {"attempts_met_on": 2},
    {"face_to_face_on": 5},
    {"face_to_face_on": 20},  # late
    {"superseded_on": 1},
    {"superseded_on": 5},
    {"superseded_on": 10},
    {"superseded_on": 20},
]
#: A Monday, a Friday (the weekend inside the windows), the day before Thanksgiving.
_DISCHARGE_DAYS = [date(2026, 11, 2), date(2026, 11, 6), date(2026, 11, 25)]
_CLOCK_DESCRIPTIONS = ("TCM interactive contact", "TCM face-to-face visit", "something else")


def _open_tcm_tasks(services, engine, facts_of_discharges):
    """One patient per discharge, with its three open transition-clock tasks."""
    patients = [
        services.patients.create(f"S{number}", "Sweep", "Case")
        for number in range(len(facts_of_discharges))
    ]
    with Session(engine) as session, session.begin():
        for patient, (discharged_on, high_complexity, facts) in zip(
            patients, facts_of_discharges, strict=True
        ):
            transition = Transition(
                patient_id=patient.id,
                discharged_on=discharged_on,
                high_complexity=high_complexity,
                created_at=datetime(2026, 11, 1),
                **{name: discharged_on + timedelta(days=days) for name, days in facts.items()},
            )
            session.add(transition)
            session.flush()
            for description in _CLOCK_DESCRIPTIONS:
                session.add(
                    Task(
                        patient_id=patient.id,
                        description=description,
                        due_date=discharged_on,
                        source="transition-clock",
                        source_id=transition.id,
                        created_at=datetime(2026, 11, 1),
                    )
                )


def _closings_of_every_open_task(session, today, holidays):
    """What the sweep closed before its SQL chose: the rule on every open TCM task
    of a discharge at least 3 days old or ended by a readmission."""
    rows = session.execute(
        select(Task.id, Task.description, *FACT_COLUMNS)
        .join(Transition, Transition.id == Task.source_id)
        .where(Task.source == "transition-clock", Task.status == "requested")
    ).all()
    old_enough = [
        row
        for row in rows
        if row.discharged_on <= today - timedelta(days=3) or row.superseded_on is not None
    ]
    return _closed(_closings(old_enough, today, holidays))


def _closed(closings):
    """Task ids by closing status, in id order."""
    return {status: sorted(ids) for status, ids in closings.items()}


@pytest.mark.parametrize("holidays", [frozenset(), frozenset({date(2026, 11, 26)})])
def test_the_sweep_reads_every_task_the_rule_closes(services, engine, holidays):
    _open_tcm_tasks(
        services,
        engine,
        [
            (day, high, facts)
            for day in _DISCHARGE_DAYS
            for high in (False, True)
            for facts in _FACT_VARIANTS
        ],
    )
    with Session(engine) as session:
        for offset in range(60):
            today = date(2026, 11, 1) + timedelta(days=offset)
            expected = _closings_of_every_open_task(session, today, holidays)
            candidates = _lapse_candidates(session, today)
            assert _closed(_closings(candidates, today, holidays)) == expected, today


def test_the_sweep_reads_a_step_with_nothing_recorded_from_the_day_it_closes(services, engine):
    # Discharged Mon 2 Nov, nothing recorded: the contact is due Wed 4 and shown
    # missed Thu 5; the visit is due Mon 9 (high complexity) or Mon 16, shown
    # missed the next day. Each task is read from the day the rule closes it.
    _open_tcm_tasks(services, engine, [(date(2026, 11, 2), high, {}) for high in (False, True)])
    with Session(engine) as session:
        for offset in range(40):
            today = date(2026, 11, 2) + timedelta(days=offset)
            candidates = _lapse_candidates(session, today)
            closing = {
                task_id
                for task_ids in _closings(candidates, today, ()).values()
                for task_id in task_ids
            }
            assert {row.id for row in candidates} == closing, today
            read = sorted((row.description, row.high_complexity) for row in candidates)
            if offset == 4:
                assert read == [
                    ("TCM interactive contact", False),
                    ("TCM interactive contact", True),
                ]
            if offset == 9:
                assert ("TCM face-to-face visit", True) in read
                assert ("TCM face-to-face visit", False) not in read
            if offset == 16:
                assert ("TCM face-to-face visit", False) in read
