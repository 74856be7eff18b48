"""The care plans report: problems, goals and interventions with statuses and due dates.

One row per item, grouped the way the plan reads: each problem, then its
goals, then its interventions, in the editor's order; plans by patient name.
A problem row carries the problem's status and priority; a goal row its
lifecycle and achievement status, priority and due date; an intervention row
its status, owner, frequency and due date. Items and plans marked
entered-in-error are left out: they were never part of a plan.

Plans are read in batches of :data:`PLAN_BATCH` with one query per kind of
item for each batch, so a team's thousands of plans stream in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import CarePlan, Goal, Intervention, Nurse, Patient, Problem
from nursecase.domain.care_plan_rules import ENTERED_IN_ERROR
from nursecase.domain.codes import (
    CarePlanStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    InterventionStatus,
    words_of,
)
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import ExportScope, Report, chunks, person_name

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("mrn", "MRN", 19),
    Column("patient", "Patient", 28),
    Column("nurse", "Nurse", 22),
    Column("plan", "Plan", 26),
    Column("plan_status", "Plan status", 15, words=words_of(CarePlanStatus)),
    Column("problem", "Problem", 30),
    Column("item", "Item", 20),
    Column("description", "Description", 55),
    Column("status", "Status", 21, words=words_of(GoalLifecycleStatus, InterventionStatus)),
    Column("achievement", "Achievement", 20, "Progress", words=words_of(GoalAchievementStatus)),
    Column("priority", "Priority", 19, words=words_of(GoalPriority)),
    Column("owner", "Owner", 18),
    Column("frequency", "Frequency", 20),
    Column("due", "Due", 21),
)

#: What fits a printed page: the plan's own columns and the rarer ones stay in the sheet.
PRINT_KEYS = (
    "mrn",
    "patient",
    "problem",
    "item",
    "description",
    "status",
    "achievement",
    "owner",
    "due",
)

#: Plans whose items are read together.
PLAN_BATCH = 400

PROBLEM = "problem"
GOAL = "goal"
INTERVENTION = "intervention"


def problem_name(omaha_code: str | None, description: str) -> str:
    """The problem's own words, with the Omaha System name when it differs."""
    omaha = PROBLEMS_BY_CODE.get(omaha_code) if omaha_code else None
    if omaha is None or description.strip().lower() == omaha.name.lower():
        return description
    return f"{description} ({omaha.name})"


def plan_query(scope: ExportScope):
    """The scope's plans (not entered in error) with their patient, by patient name."""
    return (
        select(
            CarePlan.id,
            CarePlan.patient_id,
            CarePlan.title,
            CarePlan.status,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            Nurse.display_name,
        )
        .join(Patient, Patient.id == CarePlan.patient_id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(
            CarePlan.status != ENTERED_IN_ERROR,
            *scope.patient_filter(Patient.id, Patient.nurse_id),
        )
        .order_by(Patient.family_key, Patient.given_key, Patient.id, CarePlan.id)
    )


def _by_parent(session: Session, query_for, parent_ids: Sequence[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for chunk in chunks(parent_ids):
        for row in session.execute(query_for(chunk)):
            grouped.setdefault(row[0], []).append(row)
    return grouped


def _problems(chunk: Sequence[int]):
    return (
        select(
            Problem.care_plan_id,
            Problem.id,
            Problem.omaha_code,
            Problem.description,
            Problem.status,
            Problem.priority,
        )
        .where(Problem.care_plan_id.in_(chunk), Problem.status != ENTERED_IN_ERROR)
        .order_by(Problem.position, Problem.id)
    )


def _goals(chunk: Sequence[int]):
    return (
        select(
            Goal.problem_id,
            Goal.description,
            Goal.lifecycle_status,
            Goal.achievement_status,
            Goal.priority,
            Goal.due_date,
        )
        .where(Goal.problem_id.in_(chunk), Goal.lifecycle_status != ENTERED_IN_ERROR)
        .order_by(Goal.position, Goal.id)
    )


def _interventions(chunk: Sequence[int]):
    return (
        select(
            Intervention.problem_id,
            Intervention.description,
            Intervention.status,
            Intervention.owner,
            Intervention.frequency,
            Intervention.due_date,
        )
        .where(Intervention.problem_id.in_(chunk), Intervention.status != ENTERED_IN_ERROR)
        .order_by(Intervention.position, Intervention.id)
    )


def _rows(session: Session, scope: ExportScope, patients: set[int]) -> Iterator[tuple]:
    plans = session.execute(plan_query(scope)).all()
    for start in range(0, len(plans), PLAN_BATCH):
        batch = plans[start : start + PLAN_BATCH]
        problems = _by_parent(session, _problems, [plan.id for plan in batch])
        problem_ids = [problem.id for rows in problems.values() for problem in rows]
        goals = _by_parent(session, _goals, problem_ids)
        interventions = _by_parent(session, _interventions, problem_ids)
        for plan_id, patient_id, title, plan_status, mrn, family, given, nurse in batch:
            head = (mrn, person_name(family, given), nurse, title, plan_status)
            for _, problem_id, omaha_code, description, status, priority in problems.get(
                plan_id, ()
            ):
                problem = problem_name(omaha_code, description)
                patients.add(patient_id)
                yield (*head, problem, PROBLEM, problem, status, None, priority, None, None, None)
                for _, text, lifecycle, achievement, goal_priority, due in goals.get(
                    problem_id, ()
                ):
                    yield (
                        *head,
                        problem,
                        GOAL,
                        text,
                        lifecycle,
                        achievement,
                        goal_priority,
                        None,
                        None,
                        due,
                    )
                for _, text, item_status, owner, frequency, due in interventions.get(
                    problem_id, ()
                ):
                    yield (
                        *head,
                        problem,
                        INTERVENTION,
                        text,
                        item_status,
                        None,
                        None,
                        owner,
                        frequency,
                        due,
                    )


def build_care_plans(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """Every care plan item of the scope's patients."""
    report = Report(
        name="careplans",
        title=f"Care plans: {scope.nurse_label}",
        columns=COLUMNS,
        rows=(),
        meta=scope.scope_meta(),
        print_keys=PRINT_KEYS,
    )
    report.rows = _rows(session, scope, report.patients)
    return report


__all__ = ["COLUMNS", "build_care_plans", "problem_name"]
