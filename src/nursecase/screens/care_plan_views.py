"""How the care plan editor draws things: tree labels and the details of one item.

Pure functions from the plan read model to Rich Text, so the screen stays
about keys and saving, and the wording is tested once.
"""

from __future__ import annotations

from datetime import date

from rich.text import Text

from nursecase.domain.care_plan_rules import (
    ENTERED_IN_ERROR,
    OPEN_GOAL_STATUSES,
    OPEN_INTERVENTION_STATUSES,
    status_words,
)
from nursecase.domain.codes import (
    CarePlanStatus,
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
from nursecase.screens.formatting import sparkline

#: Short forms of the four Omaha intervention categories, for the tree.
CATEGORY_SHORT = {
    "teaching-guidance-counseling": "Teach",
    "treatments-procedures": "Treat",
    "case-management": "Case mgmt",
    "surveillance": "Surveil",
}

#: Longest item text on a tree line; the whole text is in the details beside it.
TREE_TEXT_WIDTH = 40


def clip(text: str, width: int = TREE_TEXT_WIDTH) -> str:
    """``text`` on one line, cut at a word to ``width`` with an ellipsis."""
    return cut_at_word(text, width)


def _day(day: date | None) -> str:
    return "" if day is None else f"{day:%d %b %Y}"


def _due(day: date | None, today: date, done: bool) -> Text:
    if day is None:
        return Text("")
    style = "bold red" if day < today and not done else ("yellow" if day == today else "")
    return Text(f" · due {day:%d %b}", style=style)


def plan_label(plan) -> Text:
    """The tree's root: title, status and period."""
    label = Text(plan.title, style="bold")
    label.append(f" · {label_of(CarePlanStatus, plan.status)}")
    if plan.period_start is not None:
        label.append(f" · {_day(plan.period_start)} – {_day(plan.period_end) or '…'}", style="dim")
    return label


def kbs_text(ratings) -> str:
    """ "K2 B3 S2 → K3 B4 S3": the first and latest KBS ratings of a problem."""
    if not ratings:
        return ""
    first, latest = ratings[0], ratings[-1]
    if first is latest:
        return first.summary
    return f"{first.summary} → {latest.summary}"


def problem_label(problem) -> Text:
    """A problem's tree line: its name, priority, status when not active, and KBS."""
    retracted = problem.status == ENTERED_IN_ERROR
    label = Text(clip(problem.description), style="strike dim" if retracted else "bold")
    label.append(f"  {label_of(GoalPriority, problem.priority).lower()}", style="dim")
    if problem.status != "active":
        label.append(f" · {status_words('problem', problem.status)}", style="dim")
    if problem.ratings:
        label.append(f"  {kbs_text(problem.ratings)}", style="cyan")
    return label


GOAL_OPENING = "the patient will "


def goal_words(description: str) -> str:
    """A goal without its "The patient will" opening: every goal has it, the tree needs room."""
    if description.lower().startswith(GOAL_OPENING) and len(description) > len(GOAL_OPENING):
        words = description[len(GOAL_OPENING) :].strip()
        return words[:1].upper() + words[1:]
    return description


def goal_label(goal, today: date) -> Text:
    """A goal's tree line: its words, status (and achievement), due date, SMART flag."""
    retracted = goal.lifecycle_status == ENTERED_IN_ERROR
    done = goal.lifecycle_status not in OPEN_GOAL_STATUSES
    label = Text("◎ ", style="green")
    label.append(clip(goal_words(goal.description)), style="strike dim" if retracted else "")
    label.append(f" · {label_of(GoalLifecycleStatus, goal.lifecycle_status)}", style="dim")
    label.append_text(_due(goal.due_date, today, done))
    if not retracted and goal.warnings:
        label.append(" ⚠", style="yellow")
    return label


def intervention_label(intervention, today: date) -> Text:
    """An intervention's tree line: category, words, owner, frequency, status, due."""
    retracted = intervention.status == ENTERED_IN_ERROR
    done = intervention.status not in OPEN_INTERVENTION_STATUSES
    label = Text("› ", style="blue")
    label.append(
        f"{CATEGORY_SHORT.get(intervention.category, intervention.category)}: ", style="bold"
    )
    label.append(clip(intervention.description), style="strike dim" if retracted else "")
    status = label_of(InterventionStatus, intervention.status)
    label.append(f" · {owner_words(intervention.owner)} · {status}", style="dim")
    label.append_text(_due(intervention.due_date, today, done))
    return label


#: The width of the names in the details; a longer name still gets a space after it.
NAME_WIDTH = 16


def owner_words(owner: str) -> str:
    """ "Nurse", "Patient", "Caregiver", or a care team member with the role in words.

    A member is stored as "Name (role code)" (care_plan_forms.owner_choices):
    "Dr Lee (pcp)" is shown "Dr Lee (Primary care physician)".
    """
    if owner in ("nurse", "patient", "caregiver"):
        return owner.capitalize()
    name, _, role = owner.rpartition(" (")
    if name and role.endswith(")"):
        words = label_of(CareTeamRole, role[:-1])
        return f"{name} ({words})"
    return owner


def _row(text: Text, name: str, value: str) -> None:
    # Never "Diagnosis codeI10": at least one space between a name and its value.
    text.append(f"{name:<{NAME_WIDTH - 1}} ", style="bold")
    text.append(f"{value or '—'}\n")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def plan_details(plan) -> Text:
    """The plan itself: title, status, period, last save."""
    text = Text()
    _row(text, "Plan", plan.title)
    _row(text, "Status", label_of(CarePlanStatus, plan.status))
    _row(text, "Intent", plan.intent.capitalize())
    _row(text, "Period", f"{_day(plan.period_start) or '—'} to {_day(plan.period_end) or '—'}")
    live = [problem for problem in plan.problems if problem.status != ENTERED_IN_ERROR]
    goals = sum(
        1 for problem in live for goal in problem.goals if goal.lifecycle_status != ENTERED_IN_ERROR
    )
    _row(text, "Contents", f"{_count(len(live), 'problem')}, {_count(goals, 'goal')}")
    _row(
        text,
        "Last saved",
        f"{plan.updated_at:%d %b %Y %H:%M} by {plan.updated_by_name or 'unknown'}"
        f" (version {plan.version})",
    )
    if plan.status == "draft":
        text.append("\nA draft: x makes it active once a problem has a goal.", style="italic dim")
    return text


def problem_details(problem) -> Text:
    """A problem with its KBS ratings over time as a small trend per dimension."""
    text = Text()
    _row(text, "Problem", problem.description)
    omaha = PROBLEMS_BY_CODE.get(problem.omaha_code) if problem.omaha_code else None
    _row(text, "Omaha", omaha.name if omaha is not None else "(free text)")
    _row(text, "Diagnosis code", problem.nursing_diagnosis_code or "")
    _row(text, "Priority", label_of(GoalPriority, problem.priority))
    _row(text, "Status", status_words("problem", problem.status))
    text.append("\nKBS ratings (Knowledge, Behavior, Status; 1-5)\n", style="bold")
    if not problem.ratings:
        text.append("none yet: r rates the problem\n", style="dim")
        return text
    for dimension, name in (
        ("knowledge", "Knowledge"),
        ("behavior", "Behavior"),
        ("status", "Status"),
    ):
        values = [getattr(rating, dimension) for rating in problem.ratings]
        text.append(f"  {name:<10} ")
        text.append(sparkline(values, 1, 5), style="cyan")
        text.append(f"  {' '.join(str(value) for value in values)}\n")
    for rating in problem.ratings[-5:]:
        text.append(f"  {rating.rated_on:%d %b %Y}  {rating.summary}\n", style="dim")
    return text


def goal_details(goal) -> Text:
    """A goal with its target and what keeps it from being SMART."""
    text = Text()
    _row(text, "Goal", goal.description)
    _row(text, "Measure", goal.target_measure or "")
    _row(text, "Target", goal.target_value or "")
    _row(text, "Due", _day(goal.due_date))
    _row(text, "Priority", label_of(GoalPriority, goal.priority))
    _row(text, "Status", label_of(GoalLifecycleStatus, goal.lifecycle_status))
    _row(text, "Achievement", label_of(GoalAchievementStatus, goal.achievement_status))
    warnings = goal.warnings if goal.lifecycle_status != ENTERED_IN_ERROR else []
    for warning in warnings:
        text.append(f"⚠ {warning}\n", style="yellow")
    return text


def intervention_details(intervention, plan) -> Text:
    """An intervention: category, owner, frequency, due, status, the goal it serves."""
    text = Text()
    _row(text, "Intervention", intervention.description)
    _row(text, "Category", InterventionCategory(intervention.category).label)
    _row(text, "Owner", owner_words(intervention.owner))
    _row(text, "Frequency", intervention.frequency or "")
    _row(text, "Due", _day(intervention.due_date))
    _row(text, "Status", label_of(InterventionStatus, intervention.status))
    goal_text = "(whole problem)"
    if intervention.goal_id is not None:
        for goal in plan.problem(intervention.problem_id).goals:
            if goal.id == intervention.goal_id:
                goal_text = goal.description
    _row(text, "For goal", goal_text)
    return text
