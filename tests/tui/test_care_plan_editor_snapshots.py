"""SVG snapshots of the care plan editor with the frozen clock.

Each picture is taken after keys, with a check that the screen reached the
state first (the snapshot plugin would otherwise record a crashed app's
empty screen). Update after an intended change with
``pytest tests/tui/test_care_plan_editor_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from nursecase.app import make_app
from nursecase.screens.care_plan_editor import CarePlanEditorScreen
from nursecase.screens.care_plan_history import CarePlanHistoryScreen
from nursecase.screens.choice_picker import ChoicePicker
from nursecase.screens.confirm_dialog import ConfirmDialog
from tests.tui.conftest import SIZE, settings, settle
from tests.tui.test_care_plan_editor import move_to, new_patient, type_text


def template_plan(services):
    """A patient with the heart failure template's plan, one goal active and rated."""
    patient = new_patient(services, "SNAP-1")
    care_plans = services.care_plans
    plan = care_plans.create_from_template(patient.id, care_plans.templates().get("heart-failure"))
    problem = plan.problems[0]
    goal = problem.goals[0]
    plan = care_plans.update_goal(goal.id, plan.version, lifecycle_status="active")
    plan = care_plans.rate_problem(problem.id, "2026-11-13", 2, 2, 3, plan.version).plan
    plan = care_plans.rate_problem(problem.id, "2026-11-27", 3, 4, 3, plan.version).plan
    return patient, plan


def opened(patient_id: int, then):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.push_screen(CarePlanEditorScreen(patient_id, "Morgan Planner"))
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, CarePlanEditorScreen) and screen.plan is not None
        await then(pilot, screen)
        await settle(pilot)

    return run_before


async def on_problem(pilot, screen):
    await move_to(pilot, screen, ("problem", screen.plan.problems[0].id))


async def editing_goal(pilot, screen):
    await move_to(pilot, screen, ("goal", screen.plan.problems[0].goals[0].id))
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("tab")
    await type_text(pilot, "")
    await settle(pilot)
    assert screen.editing is not None and screen.editing.kind == "goal"


async def status_picker(pilot, screen):
    await move_to(pilot, screen, ("goal", screen.plan.problems[0].goals[0].id))
    await pilot.press("x")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoicePicker)


async def unsaved_question(pilot, screen):
    await editing_goal(pilot, screen)
    await pilot.press("escape")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ConfirmDialog)


async def history(pilot, screen):
    await pilot.press("h")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CarePlanHistoryScreen)


STATES = {
    "problem_with_kbs_trend": on_problem,
    "editing_goal_smart_warning": editing_goal,
    "goal_status_moves": status_picker,
    "unsaved_changes_question": unsaved_question,
    "history": history,
}


class TestCarePlanEditor:
    @pytest.mark.parametrize("state", list(STATES))
    def test_state(self, app_services, snap_compare, state):
        patient, _plan = template_plan(app_services)
        app = make_app(app_services, settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=opened(patient.id, STATES[state]))

    def test_empty(self, app_services, snap_compare):
        patient = new_patient(app_services, "SNAP-2")

        async def run_before(pilot):
            await settle(pilot)
            pilot.app.push_screen(CarePlanEditorScreen(patient.id, "Morgan Planner"))
            await settle(pilot)
            assert pilot.app.screen.plan is None

        app = make_app(app_services, settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
