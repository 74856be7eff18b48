"""The care plan editor, driven by keys; every test checks what the database holds after."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date

import pytest
from textual.widgets import Select, Static, TextArea

from nursecase.app import make_app
from nursecase.db.engine import make_engine
from nursecase.screens.care_plan_editor import CarePlanEditorScreen
from nursecase.screens.care_plan_history import CarePlanHistoryScreen
from nursecase.screens.choice_picker import ChoicePicker
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import FormDialog, field_value
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of

TODAY = date(2026, 11, 27)


def new_patient(services, mrn: str = "CP-1"):
    return services.patients.create(mrn, "Planner", "Morgan", birth_date=date(1948, 3, 4))


@asynccontextmanager
async def editor(services, patient_id: int, **setting_changes):
    """The real app with the care plan editor open on the patient: yields (pilot, screen)."""
    app = make_app(services, settings(**setting_changes))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CarePlanEditorScreen(patient_id, "Morgan Planner"))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CarePlanEditorScreen)
        yield pilot, screen


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def type_text(pilot, text: str) -> None:
    """Type into the focused field, replacing what it held."""
    if isinstance(pilot.app.screen.focused, TextArea):
        await pilot.press("ctrl+shift+k")  # the whole (wrapped) line
    else:
        await pilot.press("end", "ctrl+u")
    await pilot.press(*text)
    await pilot.pause()


async def tab_to(pilot, screen, name: str) -> None:
    """Tab until the form's field has the focus."""
    for _ in range(20):
        if screen.focused is not None and screen.focused.id == f"field-{name}":
            return
        await pilot.press("tab")
        await pilot.pause()
    raise AssertionError(f"tab never reached {name}")


async def fill(pilot, screen, **values: str) -> None:
    """Type each value into its field of the editor's form."""
    for name, value in values.items():
        await tab_to(pilot, screen, name)
        await type_text(pilot, value)


async def select_value(pilot, screen, name: str, value: str) -> None:
    """Open a choice with enter and walk down to ``value``."""
    await tab_to(pilot, screen, name)
    select = screen.query_one(f"#field-{name}", Select)
    await pilot.press("enter")
    await pilot.pause()
    label = {code: text for text, code in screen.form_fields[name].choices}[value]
    overlay = select.query_one("SelectOverlay")
    for _ in range(overlay.option_count + 1):
        highlighted = overlay.highlighted
        if highlighted is not None and str(overlay.get_option_at_index(highlighted).prompt) == (
            label
        ):
            break
        await pilot.press("down")
        await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


def field_text(screen, name: str) -> str:
    """What a field of the editor's open form holds."""
    return field_value(screen.form_widgets[name])


def cursor_of(screen) -> tuple:
    return screen.plan_tree.cursor_node.data


async def move_to(pilot, screen, key: tuple) -> None:
    """Move the tree cursor with j/k until it is on ``key``."""
    lines = [node.data for node in _walk(screen.plan_tree.root)]
    target = lines.index(key)
    current = lines.index(cursor_of(screen))
    step = "j" if target > current else "k"
    for _ in range(abs(target - current)):
        await pilot.press(step)
    await settle(pilot)
    assert cursor_of(screen) == key


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def picker_choices(pilot) -> list[str]:
    picker = pilot.app.screen
    assert isinstance(picker, ChoicePicker)
    return [choice.value for choice in picker.choices]


def plan_with_problem(services):
    """A new patient with a draft plan holding one Omaha problem (pain): (patient, plan, change)."""
    patient = new_patient(services)
    plan = services.care_plans.create(patient.id)
    return patient, plan, services.care_plans.add_problem(plan.id, plan.version, omaha_code="pain")


def plan_with_goal(services):
    """A new patient with a draft plan: one Omaha problem (pain) and one proposed goal."""
    patient, plan, problem = plan_with_problem(services)
    goal = services.care_plans.add_goal(
        problem.item_id, problem.plan.version, "The patient will rate pain under 4"
    )
    return patient, plan, goal


def only_plan(services, patient_id):
    [plan] = services.care_plans.for_patient(patient_id)
    return plan


# ----------------------------------------------------------------- from empty


async def test_a_whole_plan_built_by_keys_from_empty(app_services):
    patient = new_patient(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        assert "No care plan yet" in text_of(screen.query_one("#plan-line", Static))
        await press(pilot, "n")
        plan = only_plan(app_services, patient.id)
        assert plan.status == "draft" and cursor_of(screen) == ("plan", plan.id)

        # a on the plan: the Omaha picker, filtered by typing.
        await press(pilot, "a")
        await pilot.press(*"circul")
        await settle(pilot)
        assert picker_choices(pilot)[0] == "income"  # the full list is kept
        await press(pilot, "enter")
        assert screen.editing is not None and screen.editing.kind == "problem"
        assert field_text(screen, "description") == "Circulation"
        await press(pilot, "ctrl+s")
        problem = only_plan(app_services, patient.id).problems[0]
        assert (problem.omaha_code, problem.description) == ("circulation", "Circulation")
        assert cursor_of(screen) == ("problem", problem.id) and screen.editing is None

        # a on the problem: goal (1) or intervention (2).
        await press(pilot, "a")
        assert picker_choices(pilot) == ["goal", "intervention"]
        await press(pilot, "1")
        await fill(
            pilot,
            screen,
            description="The patient will weigh every morning",
            target_measure="days weighed per week",
            target_value="7 of 7",
            due_date="2026-12-11",
        )
        await select_value(pilot, screen, "priority", "high-priority")
        await press(pilot, "ctrl+s")
        goal = only_plan(app_services, patient.id).problems[0].goals[0]
        assert (goal.description, goal.target_value, goal.due_date, goal.priority) == (
            "The patient will weigh every morning",
            "7 of 7",
            date(2026, 12, 11),
            "high-priority",
        )
        assert goal.lifecycle_status == "proposed"

        # a on the goal: an intervention for that goal.
        await press(pilot, "a")
        assert screen.editing.kind == "intervention"
        await fill(pilot, screen, description="Teach daily weights", frequency="weekly")
        await select_value(pilot, screen, "owner", "patient")
        await press(pilot, "ctrl+s")
        [intervention] = only_plan(app_services, patient.id).problems[0].interventions
        assert (intervention.goal_id, intervention.owner, intervention.frequency) == (
            goal.id,
            "patient",
            "weekly",
        )
        assert intervention.category == "teaching-guidance-counseling"

        # A on the intervention: a sibling for the same goal.
        await press(pilot, "A")
        await fill(pilot, screen, description="Review the weight log")
        await select_value(pilot, screen, "category", "surveillance")
        await press(pilot, "ctrl+s")
        interventions = only_plan(app_services, patient.id).problems[0].interventions
        assert [(item.category, item.goal_id) for item in interventions] == [
            ("teaching-guidance-counseling", goal.id),
            ("surveillance", goal.id),
        ]

        # r on the problem: a KBS rating.
        await move_to(pilot, screen, ("problem", problem.id))
        await press(pilot, "r")
        dialog = pilot.app.screen
        assert isinstance(dialog, FormDialog)
        for name, value in (("knowledge", "2"), ("behavior", "3"), ("status", "2")):
            dialog.query_one(f"#field-{name}", Select).value = value
        await press(pilot, "ctrl+s")
        ratings = only_plan(app_services, patient.id).problems[0].ratings
        assert [(r.rated_on, r.summary) for r in ratings] == [(TODAY, "K2 B3 S2")]

        # x on the plan: draft -> active.
        await move_to(pilot, screen, ("plan", plan.id))
        await press(pilot, "x")
        assert picker_choices(pilot) == ["active", "revoked"]
        await press(pilot, "1")
        stored = only_plan(app_services, patient.id)
        assert (stored.status, stored.period_start) == ("active", TODAY)
        assert "Care plan · Active" in text_of(screen.query_one("#plan-line", Static))
    # Every action above was one saved version, each with its history.
    assert [entry.version for entry in app_services.care_plans.history(plan.id)] == list(
        range(stored.version, 0, -1)
    )


async def test_a_free_text_problem_and_a_problem_level_intervention(app_services):
    patient = new_patient(app_services)
    plan = app_services.care_plans.create(patient.id)
    async with editor(app_services, patient.id) as (pilot, screen):
        await press(pilot, "a")
        await pilot.press(*"lonely after move")
        await settle(pilot)
        picker = pilot.app.screen
        assert str(picker.query_one("OptionList").get_option_at_index(0).prompt).startswith(
            "Free-text problem"
        )
        await press(pilot, "enter")
        assert field_text(screen, "description") == "lonely after move"
        await press(pilot, "ctrl+s")
        await press(pilot, "a", "2")
        await fill(pilot, screen, description="Link to the senior centre", due_date="2026-12-01")
        await select_value(pilot, screen, "category", "case-management")
        await press(pilot, "ctrl+s")
    problem = app_services.care_plans.get(plan.id).problems[0]
    assert (problem.omaha_code, problem.description) == (None, "lonely after move")
    [intervention] = problem.interventions
    assert (intervention.goal_id, intervention.category, intervention.due_date) == (
        None,
        "case-management",
        date(2026, 12, 1),
    )


# -------------------------------------------------------------- from a template


@pytest.mark.both_backends
async def test_a_plan_from_a_template(app_services):
    patient = new_patient(app_services)
    catalog = app_services.care_plans.templates()
    async with editor(app_services, patient.id) as (pilot, screen):
        await press(pilot, "T")
        keys = picker_choices(pilot)
        assert keys == [template.key for template in catalog.templates]
        await press(pilot, str(keys.index("heart-failure") + 1))
        plan = only_plan(app_services, patient.id)
        template = catalog.get("heart-failure")
        assert plan.title == template.title and plan.status == "draft"
        assert [problem.omaha_code for problem in plan.problems] == [
            problem.omaha_code for problem in template.problems
        ]
        shown = [node.data for node in _walk(screen.plan_tree.root)]
        expected_items = sum(
            1 + len(problem.goals) + len(problem.interventions) for problem in plan.problems
        )
        assert len(shown) == 1 + expected_items

        # Activate it: the goals stay proposed until agreed with the patient.
        await press(pilot, "x", "1")
        assert only_plan(app_services, patient.id).status == "active"


# ----------------------------------------------------------------- status rules


async def test_x_offers_only_legal_moves_and_completing_asks_how(app_services):
    patient, plan, goal = plan_with_goal(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("goal", goal.item_id))
        await press(pilot, "x")
        assert picker_choices(pilot) == ["planned", "accepted", "active", "rejected"]
        await press(pilot, "3")
        await press(pilot, "x")
        assert picker_choices(pilot) == ["on-hold", "completed", "cancelled"]
        await press(pilot, "2")
        assert picker_choices(pilot) == [
            "achieved",
            "sustaining",
            "not-achieved",
            "no-progress",
            "not-attainable",
        ]
        await press(pilot, "escape")
        stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
        assert stored.lifecycle_status == "active"  # escape on "how did it end" saves nothing
        await press(pilot, "x", "2", "1")
    stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
    assert (stored.lifecycle_status, stored.achievement_status) == ("completed", "achieved")


async def test_delete_removes_a_draft_item_and_retracts_an_active_one(app_services):
    patient = new_patient(app_services)
    plan = app_services.care_plans.create(patient.id)
    first = app_services.care_plans.add_problem(plan.id, plan.version, omaha_code="pain")
    second = app_services.care_plans.add_problem(plan.id, first.plan.version, omaha_code="skin")
    goal = app_services.care_plans.add_goal(second.item_id, second.plan.version, "The patient will")
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("problem", first.item_id))
        await press(pilot, "delete")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert len(app_services.care_plans.get(plan.id).problems) == 2
        await press(pilot, "delete", "y")
        assert [p.id for p in app_services.care_plans.get(plan.id).problems] == [second.item_id]

        await move_to(pilot, screen, ("plan", plan.id))
        await press(pilot, "x", "1")  # active
        await move_to(pilot, screen, ("goal", goal.item_id))
        await press(pilot, "delete")
        assert "entered-in-error" in pilot.app.screen.question
        await press(pilot, "y")
    stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
    assert stored.lifecycle_status == "entered-in-error"


# ----------------------------------------------------------- the unsaved guard


async def test_escape_asks_before_dropping_unsaved_changes(app_services):
    patient, plan, goal = plan_with_goal(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("goal", goal.item_id))
        await press(pilot, "enter")
        await type_text(pilot, "The patient will walk")
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert pilot.app.screen is screen and screen.editing is not None
        assert field_text(screen, "description") == "The patient will walk"
        await press(pilot, "escape", "y")
        assert screen.editing is None and pilot.app.screen is screen
        # With nothing changed, escape closes the form at once, then leaves.
        await press(pilot, "enter", "escape")
        assert screen.editing is None and pilot.app.screen is screen
        await press(pilot, "escape")
        assert pilot.app.screen is not screen
    stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
    assert stored.description == "The patient will rate pain under 4"
    assert app_services.care_plans.get(plan.id).version == goal.plan.version


async def test_the_keys_are_asked_for_safely_while_the_tree_is_not_there(app_services):
    """The footer asks which keys apply while the screen is being taken down
    (the app closing): with the tree gone nothing is highlighted, no error."""
    patient, _plan, problem = plan_with_problem(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("problem", problem.item_id))
        assert screen.check_action("delete_item", ()) is True
        await screen.plan_tree.remove()
        assert screen.check_action("delete_item", ()) is False
        assert screen.check_action("rate_problem", ()) is False


async def test_smart_check_warns_but_saves(app_services):
    patient, plan, problem = plan_with_problem(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("problem", problem.item_id))
        await press(pilot, "a", "1")
        await type_text(pilot, "The patient will sleep better")
        warnings = text_of(screen.query_one("#form-warnings", Static))
        assert "no measure" in warnings and "no due date" in warnings
        await fill(
            pilot, screen, target_measure="hours slept", target_value="6", due_date="2027-01-08"
        )
        assert text_of(screen.query_one("#form-warnings", Static)).strip() == ""
        await fill(pilot, screen, due_date="")
        assert "no due date" in text_of(screen.query_one("#form-warnings", Static))
        await press(pilot, "ctrl+s")
    [goal] = app_services.care_plans.get(plan.id).problems[0].goals
    assert (goal.description, goal.due_date) == ("The patient will sleep better", None)


async def test_a_bad_date_names_the_field_and_keeps_the_form(app_services):
    patient, plan, problem = plan_with_problem(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("problem", problem.item_id))
        await press(pilot, "a", "1")
        await type_text(pilot, "The patient will walk daily")
        await fill(pilot, screen, due_date="12/11/2026")
        await press(pilot, "ctrl+s")
        assert "Due date must be a date" in text_of(screen.query_one("#form-error", Static))
        assert screen.editing is not None and screen.focused.id == "field-due_date"
        assert field_text(screen, "description") == "The patient will walk daily"
    assert app_services.care_plans.get(plan.id).problems[0].goals == ()


# ------------------------------------------------------------ two terminals


@pytest.mark.both_backends
async def test_a_save_over_a_newer_save_is_refused_with_what_changed(
    app_services, seeded_engine, clock
):
    patient, plan, goal = plan_with_goal(app_services)
    # Another workstation: its own engine (its own connections) on the same file.
    other_engine = make_engine(seeded_engine.url.render_as_string(hide_password=False))
    other_terminal = make_services(other_engine, clock)
    other_terminal.nurses.create("bob", "Bob Tanaka")
    other_terminal.nurses.sign_in("bob")
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("goal", goal.item_id))
        await press(pilot, "enter")
        await type_text(pilot, "The patient will rate pain under 3")
        # Meanwhile, on another workstation:
        clock.advance(minutes=4)
        seen = other_terminal.care_plans.get(plan.id)
        other_terminal.care_plans.update_goal(goal.item_id, seen.version, due_date="2026-12-24")

        await press(pilot, "ctrl+s")
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog)
        question = " ".join(dialog.question.split())
        assert "Bob Tanaka" in question and "due date (none) → 2026-12-24" in question
        stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
        assert stored.description == "The patient will rate pain under 4"  # nothing overwritten

        await press(pilot, "n")  # keep editing: the typed text is still there
        assert field_text(screen, "description").endswith("under 3")
        await press(pilot, "ctrl+s", "y")  # refused again; now reload
        assert screen.editing is None
        assert "24 Dec" in screen.plan_tree.cursor_node.label.plain
        # After the reload the nurse edits the newer copy and the save goes through.
        await press(pilot, "enter")
        await type_text(pilot, "The patient will rate pain under 3")
        await press(pilot, "ctrl+s")
    other_engine.dispose()
    stored = app_services.care_plans.get(plan.id).problems[0].goals[0]
    assert (stored.description, stored.due_date) == (
        "The patient will rate pain under 3",
        date(2026, 12, 24),
    )


# ------------------------------------------------------------- history, print


async def test_history_shows_who_changed_what(app_services):
    patient = new_patient(app_services)
    plan = app_services.care_plans.create(patient.id)
    problem = app_services.care_plans.add_problem(plan.id, plan.version, omaha_code="pain")
    app_services.care_plans.update_problem(
        problem.item_id, problem.plan.version, priority="high-priority"
    )
    async with editor(app_services, patient.id) as (pilot, screen):
        await press(pilot, "h")
        history = pilot.app.screen
        assert isinstance(history, CarePlanHistoryScreen)
        shown = text_of(history.query_one("#history-body", Static))
        lines = [line.strip() for line in shown.splitlines() if line.strip()]
        assert "changed problem 'Pain'" in lines[0] and lines[1] == ("priority: Medium → High")
        assert "added problem 'Pain'" in shown and "added plan 'Care plan'" in shown
        await press(pilot, "escape")
        assert pilot.app.screen is screen


async def test_print_writes_the_family_copy(app_services, tmp_path):
    patient = new_patient(app_services)
    plan = app_services.care_plans.create(patient.id, "Morgan's plan")
    app_services.care_plans.add_problem(plan.id, plan.version, omaha_code="pain")
    exports = tmp_path / "exports"
    async with editor(app_services, patient.id, exports_folder=exports) as (pilot, screen):
        await press(pilot, "P")
        dialog = pilot.app.screen
        assert isinstance(dialog, FormDialog)
        dialog.query_one("#field-format", Select).value = "markdown"
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
    written = exports / f"care-plan-{plan.id}-2026-11-27.md"
    assert written.exists() and (written.stat().st_mode & 0o777) == 0o600
    assert (exports.stat().st_mode & 0o777) == 0o700
    text = written.read_text(encoding="utf-8")
    assert "# Care plan for Morgan Planner" in text and "## Pain" in text
    exports_audited = [
        event
        for event in app_services.audit.list_events("care_plan", plan.id)
        if event.action == "export"
    ]
    assert len(exports_audited) == 1


async def test_a_goal_due_today_reaches_the_worklist(app_services):
    patient, plan, problem = plan_with_problem(app_services)
    async with editor(app_services, patient.id) as (pilot, screen):
        await move_to(pilot, screen, ("problem", problem.item_id))
        await press(pilot, "a", "1")
        await type_text(pilot, "The patient will keep a pain diary")
        await fill(pilot, screen, due_date="2026-11-27")
        await select_value(pilot, screen, "lifecycle_status", "active")
        await press(pilot, "ctrl+s")
    [row] = [row for row in app_services.worklist.today(None) if row.patient_id == patient.id]
    [goal] = app_services.care_plans.get(plan.id).problems[0].goals
    assert [(item.kind, item.item_id) for item in row.items if item.kind == "goal"] == [
        ("goal", goal.id)
    ]
