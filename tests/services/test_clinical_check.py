"""The clinical consistency check finds each kind of contradiction, in words, by MRN.

Rows are written directly (not through the services, which refuse most of these
states) so that each contradiction is exactly the one the test names; a clean
twin of each patient shows the check does not over-report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from nursecase.db.models import (
    Assessment,
    AssessmentAnswer,
    CarePlan,
    Contact,
    Goal,
    Patient,
    Problem,
    Referral,
    SafetyCheck,
    Task,
    Transition,
)
from nursecase.services.clinical_check import ClinicalCheckService, FindingKind

NOW = datetime(2026, 11, 27, 9, 0)
#: Timestamps every row needs; the services fill them, these tests write rows directly.
STAMPS = ("created_at", "updated_at", "status_changed_at")


def add(session: Session, row) -> None:
    """Add a row with the timestamps the services would have filled in."""
    for name in STAMPS:
        if hasattr(row, name) and getattr(row, name) is None:
            setattr(row, name, NOW)
    session.add(row)


def patient(session: Session, mrn: str, **fields) -> Patient:
    row = Patient(
        mrn=mrn,
        mrn_key=mrn.replace("-", "").upper(),
        family_name="Doe",
        given_name=mrn,
        family_key="doe",
        given_key=mrn.lower(),
        **fields,
    )
    add(session, row)
    session.flush()
    return row


def lace(session: Session, patient_id: int, total: int, band: str, when: datetime) -> None:
    add(
        session,
        Assessment(
            patient_id=patient_id,
            instrument="lace",
            total=total,
            band=band,
            summary=f"LACE {total}",
            performed_at=when,
        ),
    )


def phq9_item9(session: Session, patient_id: int, value: int, when: datetime) -> Assessment:
    row = Assessment(
        patient_id=patient_id,
        instrument="phq-9",
        total=10,
        band="moderate",
        summary="PHQ-9 10 moderate",
        performed_at=when,
    )
    add(session, row)
    session.flush()
    add(session, AssessmentAnswer(assessment_id=row.id, item_code="item9", value=value))
    return row


def safety_task(session: Session, patient_id: int, assessment_id: int, **fields) -> Task:
    row = Task(
        patient_id=patient_id,
        description="Safety follow-up",
        due_date=NOW.date(),
        priority="urgent",
        source="assessment-trigger",
        source_id=assessment_id,
        created_at=NOW - timedelta(days=3),
        **fields,
    )
    add(session, row)
    return row


def safety_check(session: Session, patient_id: int, when: datetime) -> None:
    add(
        session,
        SafetyCheck(
            patient_id=patient_id,
            performed_at=when,
            wish_dead=False,
            suicidal_thoughts=False,
            behaviour=False,
            risk="none",
            disposition="no-current-risk",
        ),
    )


@pytest.fixture
def findings(engine, services):
    """One patient per contradiction (MRN C-...), and a consistent twin (MRN OK-...)."""
    day = NOW.date()
    with Session(engine) as session, session.begin():
        # Risk tier against the latest LACE.
        wrong = patient(session, "C-RISK", risk_tier="low", risk_source="score")
        lace(session, wrong.id, 4, "low", NOW - timedelta(days=40))
        lace(session, wrong.id, 14, "high", NOW - timedelta(days=2))
        overridden = patient(
            session, "OK-RISK-OVERRIDE", risk_tier="low", risk_source="override", risk_basis="why"
        )
        lace(session, overridden.id, 14, "high", NOW - timedelta(days=2))
        agrees = patient(session, "OK-RISK", risk_tier="high", risk_source="score")
        lace(session, agrees.id, 4, "low", NOW - timedelta(days=40))
        lace(session, agrees.id, 12, "high", NOW - timedelta(days=2))

        # Safety: an item 9 answer with no task and no check; a task closed by a call.
        lost = patient(session, "C-SAFETY-LOST")
        phq9_item9(session, lost.id, 2, NOW - timedelta(days=1))
        closed = patient(session, "C-SAFETY-CLOSED")
        answer = phq9_item9(session, closed.id, 1, NOW - timedelta(days=3))
        safety_task(session, closed.id, answer.id, status="completed", done_at=NOW)
        followed = patient(session, "OK-SAFETY")
        answer = phq9_item9(session, followed.id, 1, NOW - timedelta(days=3))
        safety_task(session, followed.id, answer.id, status="completed", done_at=NOW)
        safety_check(session, followed.id, NOW - timedelta(hours=1))
        # Imported without its task, but a safety check followed it.
        checked = patient(session, "OK-SAFETY-CHECKED")
        phq9_item9(session, checked.id, 1, NOW - timedelta(days=3))
        safety_check(session, checked.id, NOW - timedelta(days=2))
        # A check before the answer does not follow it up.
        stale = patient(session, "C-SAFETY-STALE-CHECK")
        safety_check(session, stale.id, NOW - timedelta(days=5))
        phq9_item9(session, stale.id, 3, NOW - timedelta(days=3))
        still_open = patient(session, "OK-SAFETY-OPEN")
        answer = phq9_item9(session, still_open.id, 1, NOW - timedelta(days=3))
        safety_task(session, still_open.id, answer.id)

        # TCM tasks after their period, or after a readmission.
        for mrn, discharged, superseded in (
            ("C-TCM-OVER", day - timedelta(days=30), None),
            ("C-TCM-READMITTED", day - timedelta(days=10), day - timedelta(days=2)),
            ("OK-TCM", day - timedelta(days=29), None),
        ):
            row = patient(session, mrn)
            transition = Transition(
                patient_id=row.id, discharged_on=discharged, superseded_on=superseded
            )
            add(session, transition)
            session.flush()
            add(
                session,
                Task(
                    patient_id=row.id,
                    description="TCM face-to-face visit",
                    due_date=discharged + timedelta(days=14),
                    source="transition-clock",
                    source_id=transition.id,
                ),
            )

        # A finished episode with open work; a finished one with none.
        finished = patient(session, "C-EPISODE", episode_status="finished")
        add(session, Task(patient_id=finished.id, description="Call", due_date=day))
        add(
            session,
            Referral(
                patient_id=finished.id,
                service_type="home-health",
                receiving_organisation="Home Care",
                reason="visits",
                status="requested",
            ),
        )
        done = patient(session, "OK-EPISODE", episode_status="finished")
        add(session, Task(patient_id=done.id, description="Call", due_date=day, status="completed"))

        # A care plan ending before an open goal is due.
        for mrn, goal_due in (("C-PLAN", date(2027, 3, 1)), ("OK-PLAN", date(2026, 12, 31))):
            row = patient(session, mrn)
            plan = CarePlan(
                patient_id=row.id,
                status="active",
                period_start=date(2026, 7, 1),
                period_end=date(2026, 12, 31),
            )
            add(session, plan)
            session.flush()
            problem = Problem(care_plan_id=plan.id, description="Nutrition")
            add(session, problem)
            session.flush()
            add(
                session,
                Goal(
                    problem_id=problem.id,
                    description="The patient will eat three meals a day",
                    lifecycle_status="active",
                    due_date=goal_due,
                ),
            )

        # Minutes on contacts that reached nobody.
        for mrn, outcome, minutes in (
            ("C-MINUTES", "no-answer", 6),
            ("OK-MINUTES", "left-message", 5),
            ("OK-MINUTES-REACHED", "reached", 40),
        ):
            row = patient(session, mrn)
            add(
                session,
                Contact(
                    patient_id=row.id,
                    occurred_at=NOW - timedelta(days=1),
                    mode="phone",
                    outcome=outcome,
                    minutes=minutes,
                ),
            )
    return ClinicalCheckService(services.context).run()


def test_each_contradiction_is_found_once_by_mrn_and_no_consistent_record_is(findings):
    found = [(finding.kind, finding.mrn) for finding in findings]

    assert found == [
        (FindingKind.risk_tier, "C-RISK"),
        (FindingKind.safety, "C-SAFETY-CLOSED"),
        (FindingKind.safety, "C-SAFETY-LOST"),
        (FindingKind.safety, "C-SAFETY-STALE-CHECK"),
        (FindingKind.tcm, "C-TCM-OVER"),
        (FindingKind.tcm, "C-TCM-READMITTED"),
        (FindingKind.finished_episode, "C-EPISODE"),
        (FindingKind.care_plan_period, "C-PLAN"),
        (FindingKind.unreached_minutes, "C-MINUTES"),
    ]


def test_findings_are_plain_words(findings):
    lines = {finding.mrn: finding.line() for finding in findings}

    assert lines["C-RISK"] == (
        "MRN C-RISK: risk tier low, but the latest LACE (14 on 25 Nov 2026) is in the high "
        "band and no nurse has set the tier with a reason"
    )
    assert "PHQ-9 item 9 answered 2 on 26 Nov 2026" in lines["C-SAFETY-LOST"]
    assert "completed on 27 Nov 2026 without a safety check" in lines["C-SAFETY-CLOSED"]
    assert "its 30-day period ended 26 Nov 2026" in lines["C-TCM-OVER"]
    assert "a readmission discharged 25 Nov 2026 ended its period" in lines["C-TCM-READMITTED"]
    assert lines["C-EPISODE"].endswith(
        "the episode is finished, but 1 open task and 1 open referral remain"
    )
    assert "ends 31 Dec 2026, before its goal" in lines["C-PLAN"]
    assert "(no answer) reached nobody but is logged with 6 minutes" in lines["C-MINUTES"]


def test_a_run_is_audited_without_patient_details(services, findings):
    events = services.audit.list_events("clinical_check")

    assert [(event.action, event.changed_fields) for event in events] == [("view", ())]
