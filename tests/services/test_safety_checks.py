"""SafetyCheckService: a C-SSRS screen with its disposition, the only thing that clears SAFETY."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import SafetyCheck, Task
from nursecase.domain.safety_check import SafetyAnswers, SafetySignalKind
from nursecase.services.errors import NotFoundError, ValidationError

PHQ9_ITEM9 = {f"item{number}": 0 for number in range(1, 10)} | {"item9": 1}
NO_RISK = {"wish_dead": False, "suicidal_thoughts": False, "behaviour": False}
LOW = {"wish_dead": True, "suicidal_thoughts": False, "behaviour": False}
MODERATE = {
    "wish_dead": True,
    "suicidal_thoughts": True,
    "method": True,
    "intent": False,
    "plan": False,
    "behaviour": False,
}
#: Behaviour within the past 3 months: high risk without any ideation.
HIGH = {
    "wish_dead": False,
    "suicidal_thoughts": False,
    "behaviour": True,
    "behaviour_past_3_months": True,
}


@pytest.fixture
def patient(services):
    return services.patients.create("SC-1", "Safe", "Kim", birth_date=date(1960, 1, 2))


def check_count(engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(SafetyCheck)).scalar_one()


def test_record_stores_audits_and_completes_the_open_safety_tasks(services, patient, clock):
    first = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9, clock.now())
    second = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9 | {"item9": 3})
    routine = services.tasks.add(patient.id, "Call pharmacy", clock.today())

    result = services.safety_checks.record(
        patient.id, LOW, "safety-plan-reviewed", note="Lives with daughter [PRN]"
    )

    check = result.check
    assert (check.risk, check.disposition, check.note) == (
        "low",
        "safety-plan-reviewed",
        "Lives with daughter [PRN]",
    )
    assert check.answers == SafetyAnswers(True, False, None, None, None, False, None)
    assert (check.performed_at, check.author_username) == (clock.now(), "alice")
    assert check.summary == "Safety check (C-SSRS): low risk; safety plan reviewed"
    assert sorted(result.completed_task_ids) == sorted(
        [first.safety_task_id, second.safety_task_id]
    )
    for task_id in result.completed_task_ids:
        task = services.tasks.get(task_id)
        assert (task.status, task.done_at) == ("completed", clock.now())
        assert services.audit.list_events("task", task_id)[0].changed_fields == (
            "done_at",
            "status",
        )
    # A task that is not a safety task is left alone.
    assert services.tasks.get(routine.id).status == "requested"
    [event] = services.audit.list_events("safety_check", check.id)
    assert event.action == "create"
    assert "risk" in event.changed_fields and "disposition" in event.changed_fields
    assert services.safety_checks.open_signals(patient.id) == ()


def test_a_check_completes_only_tasks_created_at_or_before_it(services, patient, clock):
    earlier = clock.now() - timedelta(hours=2)
    services.safety_checks.record(patient.id, NO_RISK, "no-current-risk", performed_at=earlier)
    flagged = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9)
    assert services.tasks.get(flagged.safety_task_id).status == "requested"
    [signal] = services.safety_checks.open_signals(patient.id)
    assert (signal.kind, signal.task_id, signal.item9) == (
        SafetySignalKind.phq9_item9,
        flagged.safety_task_id,
        1,
    )
    assert signal.action == "record a safety check"


@pytest.mark.parametrize(
    ("answers", "disposition", "field"),
    [
        (HIGH, "safety-plan-reviewed", "disposition"),
        (HIGH, "no-current-risk", "disposition"),
        (MODERATE, "no-current-risk", "disposition"),
        (LOW, "", "disposition"),
        (NO_RISK | {"method": False}, "no-current-risk", "method"),
        (
            {"wish_dead": True, "suicidal_thoughts": True, "behaviour": False},
            "crisis-line-given",
            "method",
        ),
        (HIGH | {"behaviour_past_3_months": None}, "emergency-services", "behaviour_past_3_months"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(services, patient, answers, disposition, field):
    flagged = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9)
    events = len(services.audit.list_events(limit=10_000))
    with pytest.raises(ValidationError) as refused:
        services.safety_checks.record(patient.id, answers, disposition)
    assert refused.value.field == field
    assert check_count(services.context.engine) == 0
    assert services.tasks.get(flagged.safety_task_id).status == "requested"
    assert len(services.audit.list_events(limit=10_000)) == events


def test_high_risk_refusal_says_which_dispositions_escalate(services, patient):
    with pytest.raises(ValidationError) as refused:
        services.safety_checks.record(patient.id, HIGH, "safety-plan-reviewed")
    assert str(refused.value) == (
        "A high risk screen needs an escalation: one of crisis line given, "
        "prescriber or PCP notified, emergency services or ED"
    )


@pytest.mark.parametrize(
    ("performed_at", "field"),
    [(datetime(2026, 11, 28, 9, 0), "performed_at"), ("yesterday", "performed_at")],
)
def test_a_future_or_unreadable_time_is_refused(services, patient, performed_at, field):
    with pytest.raises(ValidationError) as refused:
        services.safety_checks.record(
            patient.id, LOW, "crisis-line-given", performed_at=performed_at
        )
    assert refused.value.field == field


def test_a_missing_patient_is_not_found(services):
    with pytest.raises(NotFoundError):
        services.safety_checks.record(999, LOW, "crisis-line-given")
    with pytest.raises(NotFoundError):
        services.safety_checks.get(999)


def test_list_latest_and_the_risk_signal_until_a_newer_check(services, patient, clock):
    assert services.safety_checks.latest(patient.id) is None
    older = services.safety_checks.record(
        patient.id, MODERATE, "prescriber-notified", performed_at=clock.now() - timedelta(days=3)
    ).check
    newest = services.safety_checks.record(patient.id, HIGH, "emergency-services").check
    assert [check.id for check in services.safety_checks.list_for_patient(patient.id)] == [
        newest.id,
        older.id,
    ]
    assert services.safety_checks.latest(patient.id) == newest
    assert services.safety_checks.get(older.id) == older
    [signal] = services.safety_checks.open_signals(patient.id)
    assert (signal.kind, signal.check_id, signal.risk) == (
        SafetySignalKind.cssrs_risk,
        newest.id,
        "high",
    )
    assert signal.what == "C-SSRS high risk on 27 Nov"
    assert signal.action == "check safety again"
    # A newer check of low risk ends it (a nurse re-screens).
    clock.advance(hours=1)
    services.safety_checks.record(patient.id, LOW, "safety-plan-reviewed")
    assert services.safety_checks.open_signals(patient.id) == ()


def test_no_nurse_no_check(engine, clock, patient):
    from nursecase.services import make_services
    from nursecase.services.errors import NoNurseError

    anonymous = make_services(engine, clock)
    with pytest.raises(NoNurseError):
        anonymous.safety_checks.record(patient.id, LOW, "crisis-line-given")


def test_the_tasks_it_completes_are_safety_tasks_only(services, patient, engine):
    services.tasks.add(patient.id, "Urgent but manual", "2026-11-27", priority="urgent")
    services.safety_checks.record(patient.id, NO_RISK, "no-current-risk")
    with Session(engine) as session:
        statuses = session.execute(select(Task.status)).scalars().all()
    assert statuses == ["requested"]


def test_the_handover_lists_both_safety_signals(services, patient, clock):
    from nursecase.services.exports.common import ExportScope
    from nursecase.services.exports.patient import SAFETY, SAFETY_DETAIL, patient_rows

    flagged = services.assessments.record(patient.id, "phq-9", PHQ9_ITEM9)
    services.safety_checks.record(
        patient.id, MODERATE, "prescriber-notified", performed_at=clock.now() - timedelta(hours=1)
    )
    scope = ExportScope(
        today=clock.today(),
        now=clock.now(),
        nurse_id=None,
        nurse_label="all",
        patient_id=patient.id,
    )
    rows = [row for row in patient_rows(services.context, scope) if row[0] == SAFETY]
    assert rows == [
        (
            SAFETY,
            "C-SSRS moderate risk",
            "Open",
            clock.today(),
            "Latest safety check (C-SSRS) found moderate risk: check safety again",
        ),
        (SAFETY, flagged.assessment.summary, "Open", clock.today(), SAFETY_DETAIL),
    ]
