"""Which status changes a care plan and its items allow.

The editor offers only these moves on ``x``, and the service refuses any
other, so the rule lives in one place. The statuses are FHIR's (CarePlan,
Goal.lifecycleStatus, CarePlan.activity.detail.status); the allowed moves
follow their definitions:

- a plan is drafted, made active, paused (on-hold) and resumed, and ends
  completed or revoked;
- a goal moves from proposed through planned/accepted to active, may be put
  on hold, and ends completed (with an achievement status), cancelled or
  rejected; a completed goal can be reopened when the problem comes back;
- an intervention is not started, scheduled, in progress or on hold, and ends
  completed, cancelled or stopped;
- a problem is active, inactive or resolved, and a resolved one may recur.

entered-in-error is never a status move: it is what deleting an item (or
plan) that others may have seen does, so it is reached only through delete.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from nursecase.domain.codes import (
    CarePlanStatus,
    ConditionClinicalStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    InterventionStatus,
    words_of,
)
from nursecase.domain.validation import ValidationError

ENTERED_IN_ERROR = "entered-in-error"

PROBLEM_STATUSES = ("active", "inactive", "resolved", ENTERED_IN_ERROR)
"""Problem statuses: Condition-like, plus entered-in-error for retracted entries."""

_PLAN = CarePlanStatus
_GOAL = GoalLifecycleStatus
_ACTIVITY = InterventionStatus
#: The code lists whose words name each kind's statuses in a refusal.
_STATUS_LISTS = {
    "plan": (CarePlanStatus,),
    "problem": (ConditionClinicalStatus, CarePlanStatus),
    "goal": (GoalLifecycleStatus,),
    "intervention": (InterventionStatus,),
}


def _moves(table: dict) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType(
        {str(source): tuple(str(target) for target in targets) for source, targets in table.items()}
    )


PLAN_MOVES = _moves(
    {
        _PLAN.draft: (_PLAN.active, _PLAN.revoked),
        _PLAN.active: (_PLAN.on_hold, _PLAN.completed, _PLAN.revoked),
        _PLAN.on_hold: (_PLAN.active, _PLAN.completed, _PLAN.revoked),
        _PLAN.completed: (),
        _PLAN.revoked: (),
        _PLAN.entered_in_error: (),
    }
)
"""Plan status -> the statuses it may move to."""

GOAL_MOVES = _moves(
    {
        _GOAL.proposed: (_GOAL.planned, _GOAL.accepted, _GOAL.active, _GOAL.rejected),
        _GOAL.planned: (_GOAL.accepted, _GOAL.active, _GOAL.on_hold, _GOAL.cancelled),
        _GOAL.accepted: (_GOAL.active, _GOAL.on_hold, _GOAL.cancelled),
        _GOAL.active: (_GOAL.on_hold, _GOAL.completed, _GOAL.cancelled),
        _GOAL.on_hold: (_GOAL.active, _GOAL.completed, _GOAL.cancelled),
        _GOAL.completed: (_GOAL.active,),
        _GOAL.cancelled: (),
        _GOAL.rejected: (),
        _GOAL.entered_in_error: (),
    }
)
"""Goal lifecycle status -> the statuses it may move to."""

INTERVENTION_MOVES = _moves(
    {
        _ACTIVITY.not_started: (
            _ACTIVITY.scheduled,
            _ACTIVITY.in_progress,
            _ACTIVITY.on_hold,
            _ACTIVITY.cancelled,
        ),
        _ACTIVITY.scheduled: (
            _ACTIVITY.in_progress,
            _ACTIVITY.on_hold,
            _ACTIVITY.completed,
            _ACTIVITY.cancelled,
        ),
        _ACTIVITY.in_progress: (_ACTIVITY.on_hold, _ACTIVITY.completed, _ACTIVITY.stopped),
        _ACTIVITY.on_hold: (_ACTIVITY.in_progress, _ACTIVITY.stopped, _ACTIVITY.cancelled),
        _ACTIVITY.completed: (),
        _ACTIVITY.cancelled: (),
        _ACTIVITY.stopped: (),
        _ACTIVITY.entered_in_error: (),
    }
)
"""Intervention status -> the statuses it may move to."""

PROBLEM_MOVES = MappingProxyType(
    {
        "active": ("inactive", "resolved"),
        "inactive": ("active", "resolved"),
        "resolved": ("active",),
        ENTERED_IN_ERROR: (),
    }
)
"""Problem status -> the statuses it may move to."""

COMPLETION_ACHIEVEMENTS = tuple(
    str(status)
    for status in (
        GoalAchievementStatus.achieved,
        GoalAchievementStatus.sustaining,
        GoalAchievementStatus.not_achieved,
        GoalAchievementStatus.no_progress,
        GoalAchievementStatus.not_attainable,
    )
)
"""Achievement statuses that describe how a completed goal ended."""

ONGOING_ACHIEVEMENTS = tuple(
    str(status)
    for status in (
        GoalAchievementStatus.in_progress,
        GoalAchievementStatus.improving,
        GoalAchievementStatus.worsening,
        GoalAchievementStatus.no_change,
        GoalAchievementStatus.achieved,
        GoalAchievementStatus.sustaining,
    )
)
"""Achievement statuses for a goal still being worked on."""

CLOSED_PLAN_STATUSES = frozenset(
    str(status) for status in (_PLAN.completed, _PLAN.revoked, _PLAN.entered_in_error)
)
"""Plans whose content is settled: their items can no longer be edited."""

MOVES_BY_KIND: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "plan": PLAN_MOVES,
        "problem": PROBLEM_MOVES,
        "goal": GOAL_MOVES,
        "intervention": INTERVENTION_MOVES,
    }
)


def next_statuses(kind: str, current: str) -> tuple[str, ...]:
    """The statuses a ``kind`` ("plan", "problem", "goal", "intervention") may move to."""
    return MOVES_BY_KIND[kind].get(current, ())


def status_words(kind: str, code: str) -> str:
    """A ``kind``'s status in words ("on-hold" -> "On hold"); an unknown code as it is."""
    return words_of(*_STATUS_LISTS[kind])(code)


def check_move(kind: str, current: str, target: str, field: str = "status") -> None:
    """Refuse a status change the rules do not allow; staying put is always allowed."""
    if target == current:
        return
    if target == ENTERED_IN_ERROR:
        raise ValidationError(field, f"a {kind} is marked entered in error by deleting it")
    allowed = next_statuses(kind, current)
    if target not in allowed:
        words = functools.partial(status_words, kind)
        article = "an" if kind[0] in "aeiou" else "a"
        now = words(current).lower()
        if not allowed:
            raise ValidationError(field, f"{article} {kind} that is {now} cannot change status")
        choices = ", ".join(words(status).lower() for status in allowed)
        raise ValidationError(
            field,
            f"{article} {kind} that is {now} can move to {choices}; not {words(target).lower()}",
        )


def initial_goal_statuses() -> tuple[str, ...]:
    """Statuses a new goal may start in (not an end state)."""
    return tuple(
        str(status) for status in (_GOAL.proposed, _GOAL.planned, _GOAL.accepted, _GOAL.active)
    )


OPEN_GOAL_STATUSES = tuple(
    str(status)
    for status in _GOAL
    if status not in (_GOAL.completed, _GOAL.cancelled, _GOAL.rejected, _GOAL.entered_in_error)
)
"""Goals still being worked toward: what the worklist shows when due."""

OPEN_INTERVENTION_STATUSES = tuple(
    str(status)
    for status in (
        _ACTIVITY.not_started,
        _ACTIVITY.scheduled,
        _ACTIVITY.in_progress,
        _ACTIVITY.on_hold,
    )
)
"""Interventions still to be done: what the worklist shows when due."""


def initial_intervention_statuses() -> tuple[str, ...]:
    """Statuses a new intervention may start in (the open ones, not an end state)."""
    return OPEN_INTERVENTION_STATUSES


def check_achievement(lifecycle_status: str, achievement_status: str | None) -> None:
    """A completed goal needs an achievement status that says how it ended."""
    if lifecycle_status != _GOAL.completed:
        return
    if achievement_status is None:
        raise ValidationError(
            "achievement_status",
            "is required to complete a goal (e.g. achieved or not achieved)",
        )
    if achievement_status not in COMPLETION_ACHIEVEMENTS:
        raise ValidationError(
            "achievement_status",
            "of a completed goal must be one of: "
            + ", ".join(
                words_of(GoalAchievementStatus)(code).lower() for code in COMPLETION_ACHIEVEMENTS
            ),
        )


def smart_warnings(goal: Any) -> list[str]:
    """Why a goal is not yet SMART: no measure, no target value, no due date.

    Takes anything with ``target_measure``, ``target_value`` and ``due_date``
    (a GoalRead, or a form's values), so the editor can warn while typing.
    """
    warnings: list[str] = []
    measure = getattr(goal, "target_measure", None)
    if not (isinstance(measure, str) and measure.strip()):
        warnings.append("no measure: say how progress will be measured")
    else:
        value = getattr(goal, "target_value", None)
        if not (isinstance(value, str) and value.strip()):
            warnings.append("no target value: say what result counts as met")
    if getattr(goal, "due_date", None) is None:
        warnings.append("no due date: say when the goal should be met")
    return warnings
