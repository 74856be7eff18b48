"""TaskService: follow-up tasks on the worklist."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Task
from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def task_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Task)).scalar_one()


def test_add_defaults_to_the_patients_nurse(services, patient):
    task = services.tasks.add(patient.id, "Call pharmacy", "2026-11-25", priority="urgent")

    assert task.patient_name == "Smith, Jo"
    assert (task.status, task.priority, task.source) == ("requested", "urgent", "manual")
    assert task.nurse_username == "alice"
    assert task.overdue_days == 2
    assert services.audit.list_events("task", task.id)[0].action == "create"
    assert services.patients.get(patient.id).open_task_count == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"description": ""}, "description"),
        ({"due_date": None}, "due_date"),
        ({"priority": "whenever"}, "priority"),
        ({"source": "rumour"}, "source"),
        ({"nurse_username": "ghost"}, "nurse_username"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, patient, changes, field):
    arguments = {"patient_id": patient.id, "description": "Call", "due_date": "2026-12-01"}
    audit_before = services.audit.count()
    with pytest.raises(ValidationError) as caught:
        services.tasks.add(**(arguments | changes))
    assert caught.value.field == field
    assert task_count(engine) == 0
    assert services.audit.count() == audit_before


def test_complete_and_reopen(services, patient):
    task = services.tasks.add(patient.id, "Call", "2026-11-20")

    done = services.tasks.complete(task.id)
    assert (done.status, done.done_at, done.overdue_days) == (
        "completed",
        datetime(2026, 11, 27, 9),
        0,
    )
    assert services.tasks.list_for_patient(patient.id) == []
    assert [t.id for t in services.tasks.list_for_patient(patient.id, include_done=True)] == [
        task.id
    ]
    with pytest.raises(ValidationError) as caught:
        services.tasks.complete(task.id)
    assert caught.value.field == "status"

    reopened = services.tasks.reopen(task.id)
    assert (reopened.status, reopened.done_at, reopened.overdue_days) == ("requested", None, 7)
    assert services.audit.list_events("task", task.id)[0].changed_fields == ("done_at", "status")
    with pytest.raises(ValidationError):
        services.tasks.reopen(task.id)


def test_snooze_needs_a_later_day_and_a_reason(services, patient):
    task = services.tasks.add(patient.id, "Call", "2026-11-27")
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.tasks.snooze(task.id, "2026-11-27", "busy")
    assert caught.value.field == "until"
    with pytest.raises(ValidationError) as caught:
        services.tasks.snooze(task.id, "2026-11-30", "  ")
    assert caught.value.field == "reason"
    assert services.audit.count() == audit_before
    assert services.tasks.get(task.id).due_date == date(2026, 11, 27)

    snoozed = services.tasks.snooze(task.id, "2026-11-30", "patient away for the weekend")
    assert (snoozed.due_date, snoozed.snooze_reason) == (
        date(2026, 11, 30),
        "patient away for the weekend",
    )
    assert services.audit.list_events("task", task.id)[0].changed_fields == (
        "due_date",
        "snooze_reason",
    )


def test_reassign_and_lists_per_nurse(services, patient):
    bob = services.nurses.create("bob", "Bob Lee")
    early = services.tasks.add(patient.id, "Early", "2026-11-26")
    late = services.tasks.add(patient.id, "Late", "2026-12-05")
    services.tasks.add(patient.id, "Bob's", "2026-11-28", nurse_username="bob")
    alice = services.context.nurse_id

    assert [t.id for t in services.tasks.list_open_for_nurse(alice)] == [early.id, late.id]
    assert [t.id for t in services.tasks.list_open_for_nurse(alice, "2026-11-27")] == [early.id]

    moved = services.tasks.reassign(late.id, "bob")
    assert moved.nurse_username == "bob"
    assert [t.description for t in services.tasks.list_open_for_nurse(bob.id)] == [
        "Bob's",
        "Late",
    ]
    with pytest.raises(ValidationError) as caught:
        services.tasks.reassign(early.id, "ghost")
    assert caught.value.field == "nurse_username"


def test_cancel_needs_a_reason(services, patient):
    task = services.tasks.add(patient.id, "Call", "2026-11-27")
    with pytest.raises(ValidationError) as caught:
        services.tasks.cancel(task.id, "")
    assert caught.value.field == "reason"

    cancelled = services.tasks.cancel(task.id, "patient admitted")

    assert (cancelled.status, cancelled.snooze_reason) == ("cancelled", "patient admitted")
    assert services.tasks.list_open_for_nurse(services.context.nurse_id) == []
    assert services.tasks.reopen(task.id).status == "requested"


def test_missing_task(services):
    with pytest.raises(NotFoundError):
        services.tasks.complete(404)
