"""TransitionService: discharges start the TCM clocks and their follow-up tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select
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


def test_open_for_patient_follows_the_period_and_the_steps(services, patient, clock):
    services.transitions.record_discharge(patient.id, "2026-11-20")
    assert len(services.transitions.open_for_patient(patient.id)) == 1
    clock.advance(days=22)  # 2026-12-19: the period ended on 2026-12-19
    assert len(services.transitions.open_for_patient(patient.id)) == 1
    clock.advance(days=1)
    assert services.transitions.open_for_patient(patient.id) == []
    assert len(services.transitions.list_for_patient(patient.id)) == 1


def test_unknown_patient(services):
    with pytest.raises(NotFoundError):
        services.transitions.record_discharge(77, "2026-11-25")
