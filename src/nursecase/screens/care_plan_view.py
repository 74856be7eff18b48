"""A read-only view of a patient's care plans: problem > goal > intervention.

Opened from the patient detail screen with ``p``. Editing plans is the care
plan editor's job; this view shows what is recorded, with statuses and dates.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from rich.tree import Tree
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from nursecase.screens.background import run_in_background
from nursecase.screens.intents import Intent, bindings
from nursecase.widgets.key_footer import KeyFooter

INTENTS = (Intent("care_plan.back", "escape", "back", "Back", "Return to the patient"),)


def plan_tree(plan) -> Tree:
    """One plan as a tree of problems, their goals and interventions."""
    period = ""
    if plan.period_start is not None:
        period = f" · from {plan.period_start:%d %b %Y}"
        if plan.period_end is not None:
            period += f" to {plan.period_end:%d %b %Y}"
    tree = Tree(Text(f"{plan.title} · {plan.status}{period}", style="bold"))
    for problem in plan.problems:
        label = Text(f"{problem.description} · {problem.priority} · {problem.status}")
        if problem.ratings:
            latest = problem.ratings[-1]
            label.append(
                f"  KBS {latest.knowledge}/{latest.behavior}/{latest.status}", style="cyan"
            )
        branch = tree.add(label)
        for goal in problem.goals:
            due = f" · due {goal.due_date:%d %b %Y}" if goal.due_date else ""
            achievement = f", {goal.achievement_status}" if goal.achievement_status else ""
            branch.add(
                Text(f"Goal: {goal.description} · {goal.lifecycle_status}{achievement}{due}")
            )
        for intervention in problem.interventions:
            due = f" · due {intervention.due_date:%d %b %Y}" if intervention.due_date else ""
            branch.add(
                Text(
                    f"{intervention.category}: {intervention.description} "
                    f"({intervention.owner}) · {intervention.status}{due}",
                    style="dim",
                )
            )
    if not plan.problems:
        tree.add(Text("No problems yet", style="dim"))
    return tree


class CarePlanViewScreen(Screen):
    """The patient's care plans, newest first."""

    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)
    DEFAULT_CSS = """
    CarePlanViewScreen #plans { padding: 0 1; }
    """

    def __init__(self, patient_id: int, patient_name: str) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.patient_name = patient_name

    def compose(self) -> ComposeResult:
        """The plans, scrolling."""
        yield Header()
        with VerticalScroll(id="plans"):
            yield Static("Loading…", id="plans-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the plans."""
        self.sub_title = f"Care plans · {self.patient_name}"
        care_plans, patient_id = self.app.services.care_plans, self.patient_id
        run_in_background(self, lambda: care_plans.for_patient(patient_id), self._show)

    def _show(self, plans) -> None:
        body = self.query_one("#plans-body", Static)
        if not plans:
            body.update(Text(f"{self.patient_name} has no care plan yet.", style="dim"))
            return
        body.update(Group(*[plan_tree(plan) for plan in plans]))

    def action_back(self) -> None:
        """Back to the patient."""
        self.app.pop_screen()
