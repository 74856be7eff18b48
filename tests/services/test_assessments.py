"""AssessmentService against a real migrated file database and a frozen clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from nursecase.db.models import Assessment, AssessmentAnswer, AuditEvent, Patient, Task
from nursecase.services.assessments import AssessmentService
from nursecase.services.audit import AuditService
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NoNurseError, NotFoundError, ValidationError
from nursecase.services.patients import PatientService

PHQ9_ZERO = {f"item{number}": 0 for number in range(1, 10)}


@pytest.fixture
def context(services) -> ServiceContext:
    return services.context


@pytest.fixture
def patient_id(services) -> int:
    return services.patients.create("MRN-1", "Okafor", "Grace").id


@pytest.fixture
def assessments(services) -> AssessmentService:
    return services.assessments


def count(context: ServiceContext, model) -> int:
    with context.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_record_phq9_stores_assessment_answers_and_audit(context, assessments, patient_id):
    answers = dict(PHQ9_ZERO, item1=2, item2=3, item3=1, item4=2, item5=1, item6=1, item7=2)
    result = assessments.record(patient_id, "phq-9", answers)

    read = result.assessment
    assert (read.instrument, read.total, read.band) == ("phq-9", 12, "moderate")
    assert read.summary == "PHQ-9 12 moderate"
    assert read.performed_at == context.clock.now()
    assert read.author_username == "alice"
    assert read.answers[0] == ("item1", 2) and read.answers[-1] == ("item9", 0)
    assert result.triggers == () and result.suggestions == () and result.safety_task_id is None
    with context.read() as session:
        stored = session.get(Assessment, read.id)
        assert (stored.total, stored.variant, stored.author_id) == (12, "standard", 1)
        stored_answers = dict(
            session.execute(
                select(AssessmentAnswer.item_code, AssessmentAnswer.value).where(
                    AssessmentAnswer.assessment_id == read.id
                )
            ).all()
        )
    assert stored_answers == answers
    assert count(context, Task) == 0
    events = AuditService(context).list_events(entity="assessment", entity_id=read.id)
    assert [event.action for event in events] == ["create"]
    assert "answers" in events[0].changed_fields


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_creates_urgent_task_whatever_the_total(context, assessments, patient_id, item9):
    result = assessments.record(patient_id, "phq-9", dict(PHQ9_ZERO, item9=item9))

    assert result.assessment.total == item9  # minimal band: the total does not matter
    assert result.assessment.band == "minimal"
    assert [trigger.code for trigger in result.triggers] == ["phq9-item9"]
    with context.read() as session:
        tasks = session.execute(select(Task)).scalars().all()
    assert len(tasks) == 1
    task = tasks[0]
    assert task.id == result.safety_task_id
    assert task.priority == "urgent"
    assert task.source == "assessment-trigger"
    assert task.source_id == result.assessment.id
    assert task.due_date == context.clock.today()
    assert task.status == "requested"
    assert task.patient_id == patient_id and task.nurse_id == context.nurse_id
    assert task.description.startswith(f"Safety follow-up: PHQ-9 item 9 answered {item9}")
    task_events = AuditService(context).list_events(entity="task", entity_id=task.id)
    assert [event.action for event in task_events] == ["create"]


def test_a_lace_of_another_band_is_offered_not_applied(context, assessments, patient_id):
    with context.read() as session:
        tier_before = session.get(Patient, patient_id).risk_tier

    result = assessments.record_lace(patient_id, 8, True, 2, 2)

    assert result.assessment.total == 12
    assert result.assessment.summary == "LACE 12 = L5 A3 C2 E2"
    # The patient is not assessed yet (the default tier): LACE 12 offers high.
    assert result.suggestions == (
        "LACE 12 = L5 A3 C2 E2: high risk; the risk tier is not assessed yet. Set it to high?",
    )
    assert result.risk_offer is not None and result.risk_offer.tier == "high"
    assert result.assessment.answers == (("L", 5), ("A", 3), ("C", 2), ("E", 2))
    with context.read() as session:
        assert session.get(Patient, patient_id).risk_tier == tier_before
    assert count(context, Task) == 0


def test_a_lace_of_the_tiers_band_offers_nothing_once_the_tier_has_a_basis(
    context, assessments, patient_id
):
    PatientService(context).change_risk_tier(patient_id, "low", "independent at home")
    result = assessments.record_lace(patient_id, 2, False, 1, 0)
    assert result.assessment.total == 3
    assert result.suggestions == () and result.risk_offer is None


def test_positive_phq2_suggests_phq9(assessments, patient_id):
    assert assessments.record(patient_id, "phq-2", {"item1": 2, "item2": 1}).suggestions == (
        "PHQ-2 positive: suggest a PHQ-9",
    )
    assert assessments.record(patient_id, "phq-2", {"item1": 1, "item2": 1}).suggestions == ()


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        (dict(PHQ9_ZERO, item4=4), "item4"),
        ({key: value for key, value in PHQ9_ZERO.items() if key != "item7"}, "item7"),
        (dict(PHQ9_ZERO, item10=1), "item10"),
        (dict(PHQ9_ZERO, item9=True), "item9"),
    ],
)
def test_bad_answers_name_the_item_and_write_nothing(
    context, assessments, patient_id, answers, field
):
    events_before = count(context, AuditEvent)
    with pytest.raises(ValidationError) as raised:
        assessments.record(patient_id, "phq-9", answers)
    assert raised.value.field == field
    assert count(context, Assessment) == 0
    assert count(context, AssessmentAnswer) == 0
    assert count(context, Task) == 0
    assert count(context, AuditEvent) == events_before


def test_unknown_instrument_and_future_time_are_refused(context, assessments, patient_id):
    events_before = count(context, AuditEvent)
    with pytest.raises(ValidationError) as raised:
        assessments.record(patient_id, "beck", {})
    assert raised.value.field == "instrument"
    with pytest.raises(ValidationError) as raised:
        assessments.record(
            patient_id, "phq-9", PHQ9_ZERO, performed_at=context.clock.now() + timedelta(minutes=5)
        )
    assert raised.value.field == "performed_at"
    with pytest.raises(ValidationError) as raised:
        assessments.record_lace(patient_id, -1, True, 0, 0)
    assert raised.value.field == "length_of_stay_days"
    assert count(context, Assessment) == 0
    assert count(context, AuditEvent) == events_before


def test_unknown_patient_is_not_found_and_nothing_written(context, assessments, patient_id):
    with pytest.raises(NotFoundError):
        assessments.record(patient_id + 99, "phq-9", dict(PHQ9_ZERO, item9=2))
    assert count(context, Assessment) == 0
    assert count(context, Task) == 0


def test_recording_needs_a_signed_in_nurse(engine, clock, context, patient_id):
    anonymous = AssessmentService(ServiceContext(engine, clock))
    with pytest.raises(NoNurseError):
        anonymous.record(patient_id, "phq-9", PHQ9_ZERO)


def test_list_latest_and_trend(context, assessments, patient_id):
    clock = context.clock
    totals = []
    for days_ago, item1 in [(30, 3), (20, 2), (10, 1)]:
        when = clock.now() - timedelta(days=days_ago)
        assessments.record(patient_id, "phq-9", dict(PHQ9_ZERO, item1=item1), performed_at=when)
        totals.append((when, item1))
    gad = assessments.record(
        patient_id,
        "gad-7",
        {f"item{number}": 1 for number in range(1, 8)},
        performed_at=date(2026, 11, 1),
    )

    newest_first = assessments.list_for_patient(patient_id)
    assert [read.instrument for read in newest_first] == ["phq-9", "phq-9", "gad-7", "phq-9"]
    assert [read.total for read in assessments.list_for_patient(patient_id, "phq-9")] == [1, 2, 3]
    assert gad.assessment.performed_at == datetime(2026, 11, 1, 0, 0)

    latest = assessments.latest_by_instrument(patient_id)
    assert set(latest) == {"phq-9", "gad-7"}
    assert latest["phq-9"].total == 1 and latest["gad-7"].total == 7

    assert assessments.trend(patient_id, "phq-9") == totals
    assert assessments.trend(patient_id, "phq-9", limit=2) == totals[1:]
    assert assessments.trend(patient_id, "lace") == []


def test_open_safety_flags_follow_the_task(services, assessments, patient_id):
    assessments.record(patient_id, "phq-9", dict(PHQ9_ZERO, item1=3))  # no flag
    flagged = assessments.record(patient_id, "phq-9", dict(PHQ9_ZERO, item9=1))

    assert [read.id for read in assessments.open_safety_flags(patient_id)] == [
        flagged.assessment.id
    ]
    assert [read.id for read in assessments.open_safety_flags(None)] == [flagged.assessment.id]
    assert assessments.open_safety_flags(patient_id + 1) == []

    # Only a safety check completes the task (the task service refuses to).
    services.safety_checks.record(
        patient_id,
        {"wish_dead": True, "suicidal_thoughts": False, "behaviour": False},
        "safety-plan-reviewed",
    )
    assert assessments.open_safety_flags(patient_id) == []


def test_delete_removes_answers_and_is_audited(context, assessments, patient_id):
    kept = assessments.record(patient_id, "phq-2", {"item1": 0, "item2": 1})
    removed = assessments.record(patient_id, "phq-2", {"item1": 1, "item2": 1})

    assessments.delete(removed.assessment.id)

    assert [read.id for read in assessments.list_for_patient(patient_id)] == [kept.assessment.id]
    with context.read() as session:
        leftover = session.execute(
            select(func.count())
            .select_from(AssessmentAnswer)
            .where(AssessmentAnswer.assessment_id == removed.assessment.id)
        ).scalar_one()
    assert leftover == 0
    events = AuditService(context).list_events(entity="assessment", entity_id=removed.assessment.id)
    assert [event.action for event in events] == ["delete", "create"]
    with pytest.raises(NotFoundError):
        assessments.delete(removed.assessment.id)
    with pytest.raises(NotFoundError):
        assessments.get(removed.assessment.id)
