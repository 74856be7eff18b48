"""The care plan editor's forms: which fields each item has, and the one call that saves them.

An ``EditTarget`` says what the form edits: an existing plan, problem, goal or
intervention, or a new one under a parent. ``form_fields`` lists its fields
filled with the stored values; ``save_call`` turns the typed values into ONE
service call (one transaction) that sends only the fields that changed, with
the plan version the editor read. Nothing here touches the database itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nursecase.domain.care_plan_rules import (
    COMPLETION_ACHIEVEMENTS,
    ONGOING_ACHIEVEMENTS,
    initial_goal_statuses,
    initial_intervention_statuses,
)
from nursecase.domain.codes import (
    CareTeamRole,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    InterventionCategory,
    InterventionStatus,
    label_of,
)
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.domain.wording import cut_at_word
from nursecase.screens.form_dialog import FormField, code_choices

if TYPE_CHECKING:
    from nursecase.services.care_plans import CarePlanRead

#: Owners every intervention may have, before the patient's care team.
STANDARD_OWNERS = ("nurse", "patient", "caregiver")
NO_GOAL = "none"
#: The longest goal in the "for goal" picker (cut at a word; the tree shows it whole).
GOAL_CHOICE_WIDTH = 60


@dataclass(frozen=True)
class EditTarget:
    """What the form edits: ``item_id`` None means a new item under ``problem_id``/``goal_id``."""

    kind: str
    item_id: int | None = None
    problem_id: int | None = None
    goal_id: int | None = None
    omaha_code: str | None = None
    free_text: str = ""
    initial: dict[str, str] = field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        """Whether saving adds an item rather than changing one."""
        return self.item_id is None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _priority_field(value: str) -> FormField:
    return FormField(
        "priority", "Priority", kind="choice", value=value, choices=code_choices(GoalPriority)
    )


def owner_choices(team: list, current: str | None) -> tuple[tuple[str, str], ...]:
    """Nurse, patient, caregiver, then each care team member "Name (role)"."""
    owners = [(owner.capitalize(), owner) for owner in STANDARD_OWNERS]
    for member in team:
        # Stored as "Name (role code)" (as before); shown with the role in words.
        owners.append(
            (
                f"{member.name} ({label_of(CareTeamRole, member.role)})",
                f"{member.name} ({member.role})",
            )
        )
    if current and current not in {value for _label, value in owners}:
        owners.append((current, current))
    return tuple(owners)


def form_fields(target: EditTarget, plan: CarePlanRead, item: Any, team: list) -> list[FormField]:
    """The fields of the item's form, filled from ``item`` (None for a new item)."""

    def value(name: str, default: str = "") -> str:
        return default if item is None else _text(getattr(item, name))

    if target.kind == "plan":
        return [
            FormField("title", "Title", value=value("title", "Care plan")),
            FormField(
                "period_start", "Period from", value=value("period_start"), placeholder="YYYY-MM-DD"
            ),
            FormField(
                "period_end", "Period to", value=value("period_end"), placeholder="YYYY-MM-DD"
            ),
        ]
    if target.kind == "problem":
        omaha = target.omaha_code if item is None else item.omaha_code
        default_description = target.free_text or (PROBLEMS_BY_CODE[omaha].name if omaha else "")
        return [
            FormField(
                "omaha_code",
                "Omaha problem",
                kind="choice",
                value=omaha or "",
                choices=(
                    ("(free text)", ""),
                    *((problem.name, code) for code, problem in PROBLEMS_BY_CODE.items()),
                ),
            ),
            FormField("description", "Problem", value=value("description", default_description)),
            FormField(
                "nursing_diagnosis_code",
                "Diagnosis code",
                value=value("nursing_diagnosis_code"),
                placeholder="optional (code only)",
            ),
            _priority_field(value("priority", str(GoalPriority.medium_priority))),
        ]
    if target.kind == "goal":
        fields = [
            FormField(
                "description",
                "Goal",
                kind="note",
                value=value("description", "The patient will "),
                placeholder="The patient will ...",
            ),
            FormField(
                "target_measure",
                "Measure",
                value=value("target_measure"),
                placeholder="what is measured",
            ),
            FormField(
                "target_value",
                "Target",
                value=value("target_value"),
                placeholder="what counts as met",
            ),
            FormField("due_date", "Due", value=value("due_date"), placeholder="YYYY-MM-DD"),
            _priority_field(value("priority", str(GoalPriority.medium_priority))),
        ]
        if item is None:
            fields.append(
                FormField(
                    "lifecycle_status",
                    "Status",
                    kind="choice",
                    value="proposed",
                    choices=tuple(
                        (GoalLifecycleStatus(code).label, code) for code in initial_goal_statuses()
                    ),
                )
            )
        else:
            achievements = (
                COMPLETION_ACHIEVEMENTS
                if item.lifecycle_status == "completed"
                else ONGOING_ACHIEVEMENTS
            )
            choices = code_choices(GoalAchievementStatus(code) for code in achievements)
            if item.lifecycle_status != "completed":
                choices = (("(not assessed)", ""), *choices)
            fields.append(
                FormField(
                    "achievement_status",
                    "Achievement",
                    kind="choice",
                    value=value("achievement_status"),
                    choices=choices,
                )
            )
        return fields
    # intervention: always under a problem (the editor sets problem_id for one)
    assert target.problem_id is not None
    problem = plan.problem(target.problem_id)
    goal_choices = (("(whole problem)", NO_GOAL),) + tuple(
        (cut_at_word(goal.description, GOAL_CHOICE_WIDTH), str(goal.id))
        for goal in problem.goals
        if goal.lifecycle_status != "entered-in-error"
    )
    goal_value = NO_GOAL
    if item is not None and item.goal_id is not None:
        goal_value = str(item.goal_id)
    elif item is None and target.goal_id is not None:
        goal_value = str(target.goal_id)
    fields = [
        FormField(
            "category",
            "Category",
            kind="choice",
            value=value("category", str(InterventionCategory.teaching_guidance_counseling)),
            choices=code_choices(InterventionCategory),
        ),
        FormField("description", "Intervention", kind="note", value=value("description")),
        FormField(
            "owner",
            "Owner",
            kind="choice",
            value=value("owner", "nurse"),
            choices=owner_choices(team, None if item is None else item.owner),
        ),
        FormField("frequency", "Frequency", value=value("frequency"), placeholder="e.g. weekly"),
        FormField("due_date", "Due", value=value("due_date"), placeholder="YYYY-MM-DD"),
        FormField("goal_id", "For goal", kind="choice", value=goal_value, choices=goal_choices),
    ]
    if item is None:
        fields.append(
            FormField(
                "status",
                "Status",
                kind="choice",
                value="not-started",
                choices=tuple(
                    (InterventionStatus(code).label, code)
                    for code in initial_intervention_statuses()
                ),
            )
        )
    return fields


def changed_values(target: EditTarget, values: dict[str, str]) -> dict[str, str]:
    """The fields whose text differs from what the form started with."""
    return {name: text for name, text in values.items() if target.initial.get(name) != text}


def _one_line(values: dict[str, str]) -> dict[str, str]:
    """Descriptions are typed in a wrapping box; a stray enter must not split them."""
    if "description" in values:
        values = {**values, "description": " ".join(values["description"].split())}
    return values


def _optional(text: str) -> str | None:
    return text if text.strip() else None


def save_call(
    care_plans, plan: CarePlanRead, target: EditTarget, values: dict[str, str]
) -> Callable[[], Any]:
    """The one service call that saves the form (run it in a worker).

    A new item sends every field; an existing one only those that changed.
    The call returns the plan as saved (a CarePlanRead) or a CarePlanChange.
    """
    version = plan.version
    changes = _one_line(values if target.is_new else changed_values(target, values))
    if target.kind == "plan":
        return lambda: care_plans.update_plan(plan.id, version, **changes)
    # The service's own types: blank text becomes None, a goal id an int.
    arguments: dict[str, object] = dict(changes)
    if target.kind == "problem":
        if "omaha_code" in changes:
            arguments["omaha_code"] = _optional(changes["omaha_code"])
        if "description" in changes and not changes["description"].strip():
            arguments["description"] = None
        if target.is_new:
            return lambda: care_plans.add_problem(plan.id, version, **arguments)
        return lambda: care_plans.update_problem(target.item_id, version, **arguments)
    if target.kind == "goal":
        if "achievement_status" in changes:
            arguments["achievement_status"] = _optional(changes["achievement_status"])
        if target.is_new:
            return lambda: care_plans.add_goal(target.problem_id, version, **arguments)
        return lambda: care_plans.update_goal(target.item_id, version, **arguments)
    if "goal_id" in changes:
        arguments["goal_id"] = None if changes["goal_id"] == NO_GOAL else int(changes["goal_id"])
    if target.is_new:
        return lambda: care_plans.add_intervention(target.problem_id, version, **arguments)
    return lambda: care_plans.update_intervention(target.item_id, version, **arguments)
