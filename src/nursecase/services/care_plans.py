"""Care plans: problems (Omaha System or free text), goals, interventions and KBS ratings.

The care plan is one editable aggregate. Every edit of its problems, goals,
interventions or ratings first checks the ``expected_version`` the editor read
(``editing.check_version``), then bumps the plan's version with updated_at /
updated_by inside the same transaction. Two terminals editing one plan
therefore cannot silently overwrite each other: the second save is refused
with who changed the plan and when.

Removing an item from a draft plan deletes it; once a plan has been active the
item is kept and marked entered-in-error, because others may have acted on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from nursecase.db.models import (
    TEXT,
    CarePlan,
    Goal,
    Intervention,
    Nurse,
    Patient,
    Problem,
    ProblemRating,
)
from nursecase.domain.care_plan_rules import (
    CLOSED_PLAN_STATUSES,
    ENTERED_IN_ERROR,
    PROBLEM_STATUSES,
    check_achievement,
    check_move,
    initial_goal_statuses,
    initial_intervention_statuses,
    smart_warnings,
)
from nursecase.domain.care_plan_templates import CarePlanTemplate
from nursecase.domain.codes import (
    AuditAction,
    CarePlanStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    InterventionCategory,
    InterventionStatus,
    parse_code,
)
from nursecase.domain.omaha import PROBLEMS_BY_CODE, KbsRating
from nursecase.domain.validation import (
    ValidationError,
    not_in_future,
    optional_date,
    optional_text,
    parse_date,
    require_text,
)
from nursecase.services import audit
from nursecase.services.care_plan_history import (
    RevisionRead,
    StalePlanError,
    record_revision,
    revisions,
)
from nursecase.services.care_plan_templates import TemplateCatalog, load_templates
from nursecase.services.context import ServiceContext
from nursecase.services.editing import guard_concurrent_save, stale_error
from nursecase.services.errors import NotFoundError

STALE_ENTITY = "care plan"

ITEM_KINDS = ("problem", "goal", "intervention")

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 400
CODE_MAX_LENGTH = 40
MEASURE_MAX_LENGTH = 200
VALUE_MAX_LENGTH = 80
OWNER_MAX_LENGTH = 120


class _Unchanged:
    """Marker for "leave this field as it is" in the update methods."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
"""Default of every update argument: the field keeps its stored value."""


# ------------------------------------------------------------------ read models


@dataclass(frozen=True)
class RatingRead:
    """One Problem Rating Scale for Outcomes rating (Knowledge, Behavior, Status 1-5)."""

    id: int
    rated_on: date
    knowledge: int
    behavior: int
    status: int

    @property
    def summary(self) -> str:
        """Compact form: "K3 B2 S4"."""
        return f"K{self.knowledge} B{self.behavior} S{self.status}"


@dataclass(frozen=True)
class GoalRead:
    """A measurable outcome for a problem."""

    id: int
    problem_id: int
    description: str
    lifecycle_status: str
    achievement_status: str | None
    target_measure: str | None
    target_value: str | None
    due_date: date | None
    priority: str

    @property
    def warnings(self) -> list[str]:
        """What keeps this goal from being SMART (see :func:`smart_warnings`)."""
        return smart_warnings(self)


@dataclass(frozen=True)
class InterventionRead:
    """An action for a problem (and optionally one of its goals)."""

    id: int
    problem_id: int
    goal_id: int | None
    category: str
    description: str
    owner: str
    frequency: str | None
    due_date: date | None
    status: str


@dataclass(frozen=True)
class ProblemRead:
    """A care-plan problem with its ratings (oldest first), goals and interventions."""

    id: int
    omaha_code: str | None
    description: str
    nursing_diagnosis_code: str | None
    priority: str
    status: str
    ratings: tuple[RatingRead, ...]
    goals: tuple[GoalRead, ...]
    interventions: tuple[InterventionRead, ...]


@dataclass(frozen=True)
class CarePlanRead:
    """The whole plan as the editor shows it; ``version`` goes back with the next edit."""

    id: int
    patient_id: int
    title: str
    status: str
    intent: str
    period_start: date | None
    period_end: date | None
    version: int
    updated_at: datetime
    updated_by_name: str | None
    problems: tuple[ProblemRead, ...]

    def problem(self, problem_id: int) -> ProblemRead:
        """The problem with ``problem_id``; KeyError if the plan has none."""
        for problem in self.problems:
            if problem.id == problem_id:
                return problem
        raise KeyError(problem_id)


@dataclass(frozen=True)
class CarePlanChange:
    """The result of adding something to a plan: the new item's id and the plan after it."""

    item_id: int
    plan: CarePlanRead


# --------------------------------------------------------------------- service


@dataclass
class _Revision:
    """A change waiting for the plan's new version number (see ``_finish``)."""

    action: str
    kind: str
    item_id: int | None
    label: str
    changes: dict[str, tuple[Any, Any]] | None = None


class CarePlanService:
    """Creating and editing care plans under optimistic locking."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------------- plans

    def create(
        self, patient_id: int, title: str = "Care plan", period_start: date | str | None = None
    ) -> CarePlanRead:
        """Start a draft plan for a patient."""
        clean_title = require_text(title, "title", max_length=TITLE_MAX_LENGTH)
        start = optional_date(period_start, "period_start")
        with self.context.write() as session:
            plan = self._insert_plan(session, patient_id, clean_title, start)
            self._record(
                session, plan, [_Revision("create", "care_plan", plan.id, plan.title)], bump=False
            )
            return load_plan(session, plan.id)

    def create_from_template(
        self,
        patient_id: int,
        template: CarePlanTemplate,
        period_start: date | str | None = None,
    ) -> CarePlanRead:
        """Start a draft plan holding a template's problems, goals and interventions.

        Everything is written in one transaction. Goals start "proposed" (they
        become the patient's goals once agreed with them) and interventions
        "not-started"; a template's ``due_in_days`` counts from today.
        """
        start = optional_date(period_start, "period_start")
        today = self.context.clock.today()

        def due(days: int | None) -> date | None:
            return None if days is None else today + timedelta(days=days)

        with self.context.write() as session:
            plan = self._insert_plan(session, patient_id, template.title, start)
            pending = [_Revision("create", "care_plan", plan.id, f"{plan.title} (from template)")]
            for problem_template in template.problems:
                code, description = _problem_identity(
                    problem_template.omaha_code, problem_template.description
                )
                problem = self._insert_problem(
                    session,
                    plan,
                    {
                        "omaha_code": code,
                        "description": description,
                        "nursing_diagnosis_code": problem_template.nursing_diagnosis_code,
                        "priority": problem_template.priority,
                    },
                    pending,
                )
                goal_ids = []
                for goal_template in problem_template.goals:
                    goal = self._insert_goal(
                        session,
                        problem,
                        {
                            "description": goal_template.description,
                            "target_measure": goal_template.target_measure,
                            "target_value": goal_template.target_value,
                            "due_date": due(goal_template.due_in_days),
                            "priority": goal_template.priority,
                            "lifecycle_status": str(GoalLifecycleStatus.proposed),
                        },
                        pending,
                    )
                    goal_ids.append(goal.id)
                for intervention_template in problem_template.interventions:
                    goal_index = intervention_template.goal
                    self._insert_intervention(
                        session,
                        problem,
                        None if goal_index is None else goal_ids[goal_index],
                        {
                            "category": intervention_template.category,
                            "description": intervention_template.description,
                            "owner": intervention_template.owner,
                            "frequency": intervention_template.frequency,
                            "due_date": due(intervention_template.due_in_days),
                            "status": str(InterventionStatus.not_started),
                        },
                        pending,
                    )
            self._record(session, plan, pending, bump=False)
            return load_plan(session, plan.id)

    def get(self, care_plan_id: int) -> CarePlanRead:
        """One plan with all its problems, goals, interventions and ratings."""
        with self.context.read() as session:
            return load_plan(session, care_plan_id)

    def for_patient(self, patient_id: int) -> list[CarePlanRead]:
        """A patient's plans, newest first."""
        with self.context.read() as session:
            ids = session.execute(
                select(CarePlan.id)
                .where(CarePlan.patient_id == patient_id)
                .order_by(CarePlan.created_at.desc(), CarePlan.id.desc())
            ).scalars()
            return [load_plan(session, plan_id) for plan_id in list(ids)]

    def templates(self) -> TemplateCatalog:
        """The shipped plan templates and the clinic's own (config: care_plans.templates_folder).

        A broken template file does not hide the others: its message is in
        ``errors``, for the template picker to show.
        """
        return load_templates(self.context.settings.templates_folder)

    def history(self, care_plan_id: int) -> tuple[RevisionRead, ...]:
        """Every change to the plan and its items, newest first (who, when, old -> new)."""
        with self.context.read() as session:
            _get(session, CarePlan, care_plan_id, "care plan")
            return revisions(session, care_plan_id)

    def update_plan(
        self,
        care_plan_id: int,
        expected_version: int,
        title: str = UNCHANGED,
        period_start: date | str | None = UNCHANGED,
        period_end: date | str | None = UNCHANGED,
    ) -> CarePlanRead:
        """Change the plan's title or period; arguments left out keep their value."""
        changes: dict[str, Any] = {}
        if title is not UNCHANGED:
            changes["title"] = require_text(title, "title", max_length=TITLE_MAX_LENGTH)
        if period_start is not UNCHANGED:
            changes["period_start"] = optional_date(period_start, "period_start")
        if period_end is not UNCHANGED:
            changes["period_end"] = optional_date(period_end, "period_end")
        with self.context.write() as session:
            plan = self._open_plan(session, care_plan_id, expected_version)
            start = changes.get("period_start", plan.period_start)
            end = changes.get("period_end", plan.period_end)
            if start is not None and end is not None and end < start:
                raise ValidationError("period_end", "cannot be before the period start")
            return self._apply_changes(session, plan, plan, "care_plan", changes)

    def set_status(
        self, care_plan_id: int, expected_version: int, status: CarePlanStatus | str
    ) -> CarePlanRead:
        """Move the plan to another status the rules allow (see ``domain.care_plan_rules``).

        Activating needs at least one problem with a goal (neither entered in
        error); it starts the period today if no start was set. Completing or
        revoking ends the period today if no end was set.
        """
        target = parse_code(CarePlanStatus, status, "status")
        with self.context.write() as session:
            plan = _get(session, CarePlan, care_plan_id, "care plan")
            self._check_version(session, plan, expected_version)
            check_move("plan", plan.status, str(target))
            changes: dict[str, tuple[Any, Any]] = {"status": (plan.status, str(target))}
            today = self.context.clock.today()
            if target is CarePlanStatus.active:
                if not _has_problem_with_goal(session, care_plan_id):
                    raise ValidationError(
                        "status",
                        "a plan needs at least one problem with a goal before it can be active",
                    )
                if plan.period_start is None:
                    changes["period_start"] = (None, today)
                    plan.period_start = today
            closing = target in (CarePlanStatus.completed, CarePlanStatus.revoked)
            if closing and plan.period_end is None:
                end = max(today, plan.period_start or today)
                changes["period_end"] = (None, end)
                plan.period_end = end
            plan.status = str(target)
            self._record(
                session, plan, [_Revision("status", "care_plan", plan.id, plan.title, changes)]
            )
            audit.record(
                session, self.context, AuditAction.update, "care_plan", plan.id, list(changes)
            )
            return load_plan(session, plan.id)

    def remove_plan(self, care_plan_id: int, expected_version: int) -> CarePlanRead | None:
        """Delete a draft plan (None comes back); mark any other plan entered-in-error."""
        with self.context.write() as session:
            plan = _get(session, CarePlan, care_plan_id, "care plan")
            self._check_version(session, plan, expected_version)
            if plan.status == CarePlanStatus.draft:
                # The database cascades to problems, goals, interventions,
                # ratings and revisions (foreign keys are on for every connection).
                session.delete(plan)
                session.flush()
                audit.record(session, self.context, AuditAction.delete, "care_plan", care_plan_id)
                return None
            if plan.status == CarePlanStatus.entered_in_error:
                raise ValidationError("status", "the plan is already marked entered in error")
            changes = {"status": (plan.status, ENTERED_IN_ERROR)}
            plan.status = ENTERED_IN_ERROR
            self._record(
                session, plan, [_Revision("delete", "care_plan", plan.id, plan.title, changes)]
            )
            audit.record(
                session, self.context, AuditAction.update, "care_plan", plan.id, ["status"]
            )
            return load_plan(session, plan.id)

    # ---------------------------------------------------------------- problems

    def add_problem(
        self,
        care_plan_id: int,
        expected_version: int,
        description: str | None = None,
        omaha_code: str | None = None,
        nursing_diagnosis_code: str | None = None,
        priority: GoalPriority | str = "medium-priority",
    ) -> CarePlanChange:
        """Add an Omaha System problem (named after it unless described) or a free-text one."""
        code, clean_description = _problem_identity(omaha_code, description)
        values = {
            "omaha_code": code,
            "description": clean_description,
            "nursing_diagnosis_code": optional_text(
                nursing_diagnosis_code, "nursing_diagnosis_code", max_length=CODE_MAX_LENGTH
            ),
            "priority": str(parse_code(GoalPriority, priority, "priority")),
        }
        with self.context.write() as session:
            plan = self._open_plan(session, care_plan_id, expected_version)
            pending: list[_Revision] = []
            problem = self._insert_problem(session, plan, values, pending)
            self._record(session, plan, pending)
            return CarePlanChange(problem.id, load_plan(session, plan.id))

    def update_problem(
        self,
        problem_id: int,
        expected_version: int,
        description: str | None = UNCHANGED,
        omaha_code: str | None = UNCHANGED,
        nursing_diagnosis_code: str | None = UNCHANGED,
        priority: GoalPriority | str = UNCHANGED,
        status: str = UNCHANGED,
    ) -> CarePlanRead:
        """Change a problem's fields; arguments left out keep their value."""
        changes: dict[str, Any] = {}
        if omaha_code is not UNCHANGED:
            changes["omaha_code"] = _omaha_code(omaha_code)
        if description is not UNCHANGED:
            if description is None and changes.get("omaha_code"):
                description = PROBLEMS_BY_CODE[changes["omaha_code"]].name
            changes["description"] = require_text(
                description, "description", max_length=DESCRIPTION_MAX_LENGTH
            )
        if nursing_diagnosis_code is not UNCHANGED:
            changes["nursing_diagnosis_code"] = optional_text(
                nursing_diagnosis_code, "nursing_diagnosis_code", max_length=CODE_MAX_LENGTH
            )
        if priority is not UNCHANGED:
            changes["priority"] = str(parse_code(GoalPriority, priority, "priority"))
        if status is not UNCHANGED:
            changes["status"] = _problem_status(status)
        with self.context.write() as session:
            problem = _get(session, Problem, problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            if "status" in changes:
                check_move("problem", problem.status, changes["status"])
            return self._apply_changes(session, plan, problem, "problem", changes)

    def rate_problem(
        self,
        problem_id: int,
        rated_on: date | str,
        knowledge: int,
        behavior: int,
        status: int,
        expected_version: int | None = None,
    ) -> CarePlanChange:
        """Record a Knowledge/Behavior/Status rating (1-5 each) of a problem on a date.

        Ratings are appended, never overwritten, so ``expected_version`` is
        optional here; the plan's version still moves on so other editors see
        the plan changed.
        """
        day = not_in_future(
            parse_date(rated_on, "rated_on"), "rated_on", self.context.clock.today()
        )
        rating = KbsRating(knowledge=knowledge, behavior=behavior, status=status)
        nurse_id = self.context.require_nurse()
        with self.context.write() as session:
            problem = _get(session, Problem, problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            if problem.status == ENTERED_IN_ERROR:
                raise ValidationError("problem", "was entered in error and cannot be rated")
            row = ProblemRating(
                problem_id=problem.id,
                rated_on=day,
                knowledge=rating.knowledge,
                behavior=rating.behavior,
                status=rating.status,
                author_id=nurse_id,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "problem_rating",
                row.id,
                ("rated_on", "knowledge", "behavior", "status"),
            )
            summary = f"K{rating.knowledge} B{rating.behavior} S{rating.status}"
            changes = {"rated_on": (None, day), "rating": (None, summary)}
            self._record(
                session,
                plan,
                [_Revision("rate", "problem", problem.id, problem.description, changes)],
            )
            return CarePlanChange(row.id, load_plan(session, plan.id))

    # ------------------------------------------------------------------- goals

    def add_goal(
        self,
        problem_id: int,
        expected_version: int,
        description: str,
        target_measure: str | None = None,
        target_value: str | None = None,
        due_date: date | str | None = None,
        priority: GoalPriority | str = "medium-priority",
        lifecycle_status: GoalLifecycleStatus | str = "proposed",
    ) -> CarePlanChange:
        """Add a goal ("The patient will ...") to a problem."""
        values = {
            "description": require_text(description, "description", max_length=TEXT),
            "target_measure": optional_text(
                target_measure, "target_measure", max_length=MEASURE_MAX_LENGTH
            ),
            "target_value": optional_text(
                target_value, "target_value", max_length=VALUE_MAX_LENGTH
            ),
            "due_date": optional_date(due_date, "due_date"),
            "priority": str(parse_code(GoalPriority, priority, "priority")),
            "lifecycle_status": str(
                parse_code(GoalLifecycleStatus, lifecycle_status, "lifecycle_status")
            ),
        }
        if values["lifecycle_status"] not in initial_goal_statuses():
            raise ValidationError(
                "lifecycle_status",
                f"a new goal starts as one of: {', '.join(initial_goal_statuses())}",
            )
        with self.context.write() as session:
            problem = _get(session, Problem, problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            _require_live(problem.status, "problem")
            pending: list[_Revision] = []
            goal = self._insert_goal(session, problem, values, pending)
            self._record(session, plan, pending)
            return CarePlanChange(goal.id, load_plan(session, plan.id))

    def update_goal(
        self,
        goal_id: int,
        expected_version: int,
        description: str = UNCHANGED,
        lifecycle_status: GoalLifecycleStatus | str = UNCHANGED,
        achievement_status: GoalAchievementStatus | str | None = UNCHANGED,
        target_measure: str | None = UNCHANGED,
        target_value: str | None = UNCHANGED,
        due_date: date | str | None = UNCHANGED,
        priority: GoalPriority | str = UNCHANGED,
    ) -> CarePlanRead:
        """Change a goal; completing it requires an achievement status saying how it ended."""
        changes: dict[str, Any] = {}
        if description is not UNCHANGED:
            changes["description"] = require_text(description, "description", max_length=TEXT)
        if lifecycle_status is not UNCHANGED:
            changes["lifecycle_status"] = str(
                parse_code(GoalLifecycleStatus, lifecycle_status, "lifecycle_status")
            )
        if achievement_status is not UNCHANGED:
            changes["achievement_status"] = (
                None
                if achievement_status is None
                else str(
                    parse_code(GoalAchievementStatus, achievement_status, "achievement_status")
                )
            )
        if target_measure is not UNCHANGED:
            changes["target_measure"] = optional_text(
                target_measure, "target_measure", max_length=MEASURE_MAX_LENGTH
            )
        if target_value is not UNCHANGED:
            changes["target_value"] = optional_text(
                target_value, "target_value", max_length=VALUE_MAX_LENGTH
            )
        if due_date is not UNCHANGED:
            changes["due_date"] = optional_date(due_date, "due_date")
        if priority is not UNCHANGED:
            changes["priority"] = str(parse_code(GoalPriority, priority, "priority"))
        with self.context.write() as session:
            goal = _get(session, Goal, goal_id, "goal")
            problem = _get(session, Problem, goal.problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            lifecycle = changes.get("lifecycle_status", goal.lifecycle_status)
            check_move("goal", goal.lifecycle_status, lifecycle, "lifecycle_status")
            achievement = changes.get("achievement_status", goal.achievement_status)
            check_achievement(lifecycle, achievement)
            return self._apply_changes(session, plan, goal, "goal", changes)

    # ----------------------------------------------------------- interventions

    def add_intervention(
        self,
        problem_id: int,
        expected_version: int,
        category: InterventionCategory | str,
        description: str,
        owner: str = "nurse",
        frequency: str | None = None,
        due_date: date | str | None = None,
        goal_id: int | None = None,
        status: InterventionStatus | str = "not-started",
    ) -> CarePlanChange:
        """Add an intervention (Omaha category) to a problem, optionally for one of its goals."""
        values = {
            "category": str(parse_code(InterventionCategory, category, "category")),
            "description": require_text(description, "description", max_length=TEXT),
            "owner": require_text(owner, "owner", max_length=OWNER_MAX_LENGTH),
            "frequency": optional_text(frequency, "frequency", max_length=VALUE_MAX_LENGTH),
            "due_date": optional_date(due_date, "due_date"),
            "status": str(parse_code(InterventionStatus, status, "status")),
        }
        starts = initial_intervention_statuses()
        if values["status"] not in starts:
            raise ValidationError(
                "status", f"a new intervention starts as one of: {', '.join(starts)}"
            )
        with self.context.write() as session:
            problem = _get(session, Problem, problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            _require_live(problem.status, "problem")
            if goal_id is not None:
                _check_goal_of_problem(session, goal_id, problem.id)
            pending: list[_Revision] = []
            intervention = self._insert_intervention(session, problem, goal_id, values, pending)
            self._record(session, plan, pending)
            return CarePlanChange(intervention.id, load_plan(session, plan.id))

    def update_intervention(
        self,
        intervention_id: int,
        expected_version: int,
        category: InterventionCategory | str = UNCHANGED,
        description: str = UNCHANGED,
        owner: str = UNCHANGED,
        frequency: str | None = UNCHANGED,
        due_date: date | str | None = UNCHANGED,
        goal_id: int | None = UNCHANGED,
        status: InterventionStatus | str = UNCHANGED,
    ) -> CarePlanRead:
        """Change an intervention; arguments left out keep their value."""
        changes: dict[str, Any] = {}
        if category is not UNCHANGED:
            changes["category"] = str(parse_code(InterventionCategory, category, "category"))
        if description is not UNCHANGED:
            changes["description"] = require_text(description, "description", max_length=TEXT)
        if owner is not UNCHANGED:
            changes["owner"] = require_text(owner, "owner", max_length=OWNER_MAX_LENGTH)
        if frequency is not UNCHANGED:
            changes["frequency"] = optional_text(
                frequency, "frequency", max_length=VALUE_MAX_LENGTH
            )
        if due_date is not UNCHANGED:
            changes["due_date"] = optional_date(due_date, "due_date")
        if status is not UNCHANGED:
            changes["status"] = str(parse_code(InterventionStatus, status, "status"))
        with self.context.write() as session:
            intervention = _get(session, Intervention, intervention_id, "intervention")
            problem = _get(session, Problem, intervention.problem_id, "problem")
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            if "status" in changes:
                check_move("intervention", intervention.status, changes["status"])
            if goal_id is not UNCHANGED:
                if goal_id is not None:
                    _check_goal_of_problem(session, goal_id, problem.id)
                changes["goal_id"] = goal_id
            return self._apply_changes(session, plan, intervention, "intervention", changes)

    # ----------------------------------------------------------------- removal

    def remove_item(self, kind: str, item_id: int, expected_version: int) -> CarePlanRead:
        """Remove a problem, goal or intervention.

        On a draft plan the item is deleted (with a problem's goals, interventions
        and ratings). On any other plan it is kept and marked entered-in-error (a
        problem's goals and interventions with it), since others may have acted on it.
        """
        if kind not in ITEM_KINDS:
            raise ValidationError("kind", f"must be one of: {', '.join(ITEM_KINDS)}")
        model = {"problem": Problem, "goal": Goal, "intervention": Intervention}[kind]
        with self.context.write() as session:
            row = _get(session, model, item_id, kind)
            problem = (
                row if kind == "problem" else _get(session, Problem, row.problem_id, "problem")
            )
            plan = self._open_plan(session, problem.care_plan_id, expected_version)
            pending: list[_Revision] = []
            if plan.status == CarePlanStatus.draft:
                self._delete_item(session, kind, row, pending)
            elif _item_status(kind, row) == ENTERED_IN_ERROR:
                raise ValidationError("status", f"the {kind} is already marked entered in error")
            else:
                self._mark_entered_in_error(session, kind, row, pending)
            self._record(session, plan, pending)
            return load_plan(session, plan.id)

    # ----------------------------------------------------------------- helpers

    def _insert_plan(
        self, session: Session, patient_id: int, title: str, start: date | None
    ) -> CarePlan:
        if session.get(Patient, patient_id) is None:
            raise NotFoundError("patient", patient_id)
        now = self.context.clock.now()
        plan = CarePlan(
            patient_id=patient_id,
            title=title,
            status=str(CarePlanStatus.draft),
            period_start=start,
            created_at=now,
            updated_at=now,
            updated_by=self.context.require_nurse(),
        )
        session.add(plan)
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.create,
            "care_plan",
            plan.id,
            ("title", "status", "intent", "period_start"),
        )
        return plan

    def _insert_problem(
        self, session: Session, plan: CarePlan, values: dict[str, Any], pending: list[_Revision]
    ) -> Problem:
        problem = Problem(
            care_plan_id=plan.id,
            status="active",
            position=_next_position(session, Problem.position, Problem.care_plan_id, plan.id),
            created_at=self.context.clock.now(),
            **values,
        )
        session.add(problem)
        session.flush()
        self._created(session, "problem", problem, {**values, "status": "active"}, pending)
        return problem

    def _insert_goal(
        self, session: Session, problem: Problem, values: dict[str, Any], pending: list[_Revision]
    ) -> Goal:
        goal = Goal(
            problem_id=problem.id,
            position=_next_position(session, Goal.position, Goal.problem_id, problem.id),
            created_at=self.context.clock.now(),
            **values,
        )
        session.add(goal)
        session.flush()
        self._created(session, "goal", goal, values, pending)
        return goal

    def _insert_intervention(
        self,
        session: Session,
        problem: Problem,
        goal_id: int | None,
        values: dict[str, Any],
        pending: list[_Revision],
    ) -> Intervention:
        intervention = Intervention(
            problem_id=problem.id,
            goal_id=goal_id,
            position=_next_position(
                session, Intervention.position, Intervention.problem_id, problem.id
            ),
            created_at=self.context.clock.now(),
            **values,
        )
        session.add(intervention)
        session.flush()
        self._created(
            session, "intervention", intervention, {**values, "goal_id": goal_id}, pending
        )
        return intervention

    def _created(
        self,
        session: Session,
        kind: str,
        row: Any,
        values: dict[str, Any],
        pending: list[_Revision],
    ) -> None:
        """Audit a new item (field names) and queue its revision (values)."""
        filled = {name: value for name, value in values.items() if value is not None}
        audit.record(session, self.context, AuditAction.create, kind, row.id, list(filled))
        changes = {name: (None, value) for name, value in filled.items() if name != "description"}
        pending.append(_Revision("create", kind, row.id, row.description, changes))

    def _check_version(
        self, session: Session, plan: CarePlan, expected_version: int | None
    ) -> None:
        """Refuse a save over an older copy, naming the changes made since it."""
        if expected_version is None or plan.version == expected_version:
            return
        stale = stale_error(session, STALE_ENTITY, plan)
        raise StalePlanError(
            stale.changed_by, stale.changed_at, revisions(session, plan.id, expected_version)
        )

    def _open_plan(
        self, session: Session, care_plan_id: int, expected_version: int | None
    ) -> CarePlan:
        """Load the plan for an edit: version first, then whether it may still change."""
        plan = _get(session, CarePlan, care_plan_id, "care plan")
        self._check_version(session, plan, expected_version)
        if plan.status in CLOSED_PLAN_STATUSES:
            raise ValidationError(
                "status", f"the care plan is {plan.status}; its items can no longer be edited"
            )
        return plan

    def _touch(self, session: Session, plan: CarePlan) -> None:
        """Stamp the plan and bump its version in this transaction.

        ``flag_modified`` forces the UPDATE even when the stamp values are the
        same as before (a frozen clock, the same nurse): the version must move
        on with every edit, or a second editor's stale copy would slip through.
        """
        plan.updated_at = self.context.clock.now()
        plan.updated_by = self.context.require_nurse()
        flag_modified(plan, "updated_at")
        with guard_concurrent_save(STALE_ENTITY):
            session.flush()

    def _record(
        self, session: Session, plan: CarePlan, pending: list[_Revision], *, bump: bool = True
    ) -> None:
        """Finish an edit: bump the plan's version once, then write its revisions.

        Every edit moves the version on by one, however many items it touched
        (a template adds dozens at once). A plan created in this transaction
        is already at version 1 (``bump=False``).
        """
        if bump:
            self._touch(session, plan)
        for entry in pending:
            record_revision(
                session,
                care_plan_id=plan.id,
                version=plan.version,
                changed_at=self.context.clock.now(),
                nurse_id=self.context.nurse_id,
                action=entry.action,
                item_kind=entry.kind,
                item_id=entry.item_id,
                item_label=entry.label,
                changes=entry.changes,
            )

    def _apply_changes(
        self, session: Session, plan: CarePlan, row: Any, entity: str, changes: dict[str, Any]
    ) -> CarePlanRead:
        """Set the changed fields, bump the plan, audit the field names, keep the values."""
        changed = {
            name: (getattr(row, name), value)
            for name, value in changes.items()
            if getattr(row, name) != value
        }
        for name, (_old, new) in changed.items():
            setattr(row, name, new)
        if changed:
            # The version bump first: an audit flush of a dirty plan row would
            # otherwise move the version on a second time.
            label = row.title if entity == "care_plan" else row.description
            self._record(session, plan, [_Revision("update", entity, row.id, label, changed)])
            audit.record(session, self.context, AuditAction.update, entity, row.id, list(changed))
        return load_plan(session, plan.id)

    def _delete_item(self, session: Session, kind: str, row: Any, pending: list[_Revision]) -> None:
        if kind == "problem":
            # Explicit child deletes: correct whether or not the database cascades.
            session.execute(delete(Intervention).where(Intervention.problem_id == row.id))
            session.execute(delete(Goal).where(Goal.problem_id == row.id))
            session.execute(delete(ProblemRating).where(ProblemRating.problem_id == row.id))
        elif kind == "goal":
            session.execute(
                update(Intervention).where(Intervention.goal_id == row.id).values(goal_id=None)
            )
        label = row.description
        session.delete(row)
        session.flush()
        audit.record(session, self.context, AuditAction.delete, kind, row.id)
        pending.append(_Revision("delete", kind, row.id, label))

    def _mark_entered_in_error(
        self, session: Session, kind: str, row: Any, pending: list[_Revision]
    ) -> None:
        field = "lifecycle_status" if kind == "goal" else "status"
        changes = {field: (getattr(row, field), ENTERED_IN_ERROR)}
        setattr(row, field, ENTERED_IN_ERROR)
        audit.record(session, self.context, AuditAction.update, kind, row.id, [field])
        pending.append(_Revision("delete", kind, row.id, row.description, changes))
        if kind == "problem":
            for goal in session.execute(select(Goal).where(Goal.problem_id == row.id)).scalars():
                if goal.lifecycle_status != ENTERED_IN_ERROR:
                    self._mark_entered_in_error(session, "goal", goal, pending)
            interventions = select(Intervention).where(Intervention.problem_id == row.id)
            for intervention in session.execute(interventions).scalars():
                if intervention.status != ENTERED_IN_ERROR:
                    self._mark_entered_in_error(session, "intervention", intervention, pending)


# ------------------------------------------------------------- module helpers


def _get(session: Session, model: Any, row_id: int, entity: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFoundError(entity, row_id)
    return row


def _omaha_code(value: object) -> str | None:
    """Return an Omaha problem code, None when blank; ValidationError naming omaha_code."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or value.strip().lower() not in PROBLEMS_BY_CODE:
        raise ValidationError("omaha_code", "is not one of the 42 Omaha System problems")
    return value.strip().lower()


def _problem_identity(omaha_code: object, description: object) -> tuple[str | None, str]:
    """The problem's Omaha code and description; an Omaha problem names itself."""
    code = _omaha_code(omaha_code)
    if code is not None and (description is None or not str(description).strip()):
        return code, PROBLEMS_BY_CODE[code].name
    if code is None and (description is None or not str(description).strip()):
        raise ValidationError("description", "is required for a problem without an Omaha code")
    return code, require_text(description, "description", max_length=DESCRIPTION_MAX_LENGTH)


def _problem_status(value: object) -> str:
    if isinstance(value, str) and value.strip().lower() in PROBLEM_STATUSES:
        return value.strip().lower()
    raise ValidationError("status", f"must be one of: {', '.join(PROBLEM_STATUSES)}")


def _item_status(kind: str, row: Any) -> str:
    return row.lifecycle_status if kind == "goal" else row.status


def _require_live(status: str, field: str) -> None:
    if status == ENTERED_IN_ERROR:
        raise ValidationError(field, "was entered in error; nothing can be added to it")


def _check_goal_of_problem(session: Session, goal_id: int, problem_id: int) -> None:
    goal = session.get(Goal, goal_id)
    if goal is None or goal.problem_id != problem_id:
        raise ValidationError("goal_id", "must be a goal of the same problem")


def _next_position(session: Session, position_column, parent_column, parent_id: int) -> int:
    highest = session.execute(
        select(func.max(position_column)).where(parent_column == parent_id)
    ).scalar()
    return 0 if highest is None else highest + 1


def _has_problem_with_goal(session: Session, care_plan_id: int) -> bool:
    query = (
        select(Goal.id)
        .join(Problem, Problem.id == Goal.problem_id)
        .where(
            Problem.care_plan_id == care_plan_id,
            Problem.status != ENTERED_IN_ERROR,
            Goal.lifecycle_status != ENTERED_IN_ERROR,
        )
        .limit(1)
    )
    return session.execute(query).first() is not None


def _grouped(rows: Iterable[Any], key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def load_plan(session: Session, care_plan_id: int) -> CarePlanRead:
    """Build the whole plan read model in a handful of queries (no lazy loads).

    Runs in the caller's session; other services (the printer) read plans with it.
    """
    session.flush()
    found = session.execute(
        select(CarePlan, Nurse.display_name)
        .outerjoin(Nurse, Nurse.id == CarePlan.updated_by)
        .where(CarePlan.id == care_plan_id)
    ).first()
    if found is None:
        raise NotFoundError("care plan", care_plan_id)
    plan, updated_by_name = found
    problems = (
        session.execute(
            select(Problem)
            .where(Problem.care_plan_id == care_plan_id)
            .order_by(Problem.position, Problem.id)
        )
        .scalars()
        .all()
    )
    problem_ids = [problem.id for problem in problems]
    goals = _grouped(
        session.execute(
            select(Goal).where(Goal.problem_id.in_(problem_ids)).order_by(Goal.position, Goal.id)
        ).scalars(),
        "problem_id",
    )
    interventions = _grouped(
        session.execute(
            select(Intervention)
            .where(Intervention.problem_id.in_(problem_ids))
            .order_by(Intervention.position, Intervention.id)
        ).scalars(),
        "problem_id",
    )
    ratings = _grouped(
        session.execute(
            select(ProblemRating)
            .where(ProblemRating.problem_id.in_(problem_ids))
            .order_by(ProblemRating.rated_on, ProblemRating.id)
        ).scalars(),
        "problem_id",
    )
    return CarePlanRead(
        id=plan.id,
        patient_id=plan.patient_id,
        title=plan.title,
        status=plan.status,
        intent=plan.intent,
        period_start=plan.period_start,
        period_end=plan.period_end,
        version=plan.version,
        updated_at=plan.updated_at,
        updated_by_name=updated_by_name,
        problems=tuple(
            ProblemRead(
                id=problem.id,
                omaha_code=problem.omaha_code,
                description=problem.description,
                nursing_diagnosis_code=problem.nursing_diagnosis_code,
                priority=problem.priority,
                status=problem.status,
                ratings=tuple(
                    RatingRead(
                        id=rating.id,
                        rated_on=rating.rated_on,
                        knowledge=rating.knowledge,
                        behavior=rating.behavior,
                        status=rating.status,
                    )
                    for rating in ratings.get(problem.id, [])
                ),
                goals=tuple(
                    GoalRead(
                        id=goal.id,
                        problem_id=goal.problem_id,
                        description=goal.description,
                        lifecycle_status=goal.lifecycle_status,
                        achievement_status=goal.achievement_status,
                        target_measure=goal.target_measure,
                        target_value=goal.target_value,
                        due_date=goal.due_date,
                        priority=goal.priority,
                    )
                    for goal in goals.get(problem.id, [])
                ),
                interventions=tuple(
                    InterventionRead(
                        id=intervention.id,
                        problem_id=intervention.problem_id,
                        goal_id=intervention.goal_id,
                        category=intervention.category,
                        description=intervention.description,
                        owner=intervention.owner,
                        frequency=intervention.frequency,
                        due_date=intervention.due_date,
                        status=intervention.status,
                    )
                    for intervention in interventions.get(problem.id, [])
                ),
            )
            for problem in problems
        ),
    )


__all__ = [
    "ENTERED_IN_ERROR",
    "load_plan",
    "PROBLEM_STATUSES",
    "UNCHANGED",
    "CarePlanChange",
    "CarePlanRead",
    "CarePlanService",
    "GoalRead",
    "InterventionRead",
    "ProblemRead",
    "RatingRead",
    "smart_warnings",
]
