"""CarePlanService against a real migrated file database and a frozen clock."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from nursecase.db.models import (
    AuditEvent,
    CarePlan,
    Goal,
    Intervention,
    Problem,
    ProblemRating,
)
from nursecase.services import make_services
from nursecase.services.audit import AuditService
from nursecase.services.care_plan_history import StalePlanError
from nursecase.services.care_plans import CarePlanService, smart_warnings
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError, StaleEditError, ValidationError


def second_terminal(engine, clock, username: str, display_name: str):
    """Another workstation on the same database file, with its own signed-in nurse."""
    other = make_services(engine, clock)
    other.nurses.create(username, display_name)
    other.nurses.sign_in(username)
    return other


@pytest.fixture
def context(services) -> ServiceContext:
    return services.context


@pytest.fixture
def patient_id(services) -> int:
    return services.patients.create("MRN-1", "Nguyen", "Linh").id


@pytest.fixture
def care_plans(services) -> CarePlanService:
    return services.care_plans


@pytest.fixture
def plan(care_plans, patient_id):
    return care_plans.create(patient_id, "Heart failure plan")


def count(context: ServiceContext, model) -> int:
    with context.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def actions(context: ServiceContext, entity: str, entity_id: int) -> list[str]:
    return [event.action for event in AuditService(context).list_events(entity, entity_id)]


def plan_with_goal(care_plans, plan):
    """Add an Omaha problem and a goal; return (problem_id, goal_id, plan read)."""
    problem = care_plans.add_problem(plan.id, plan.version, omaha_code="circulation")
    goal = care_plans.add_goal(
        problem.item_id,
        problem.plan.version,
        "The patient will weigh daily and report a gain over 2 kg",
        target_measure="daily weights logged",
        target_value="7 of 7 days",
        due_date=date(2026, 12, 31),
    )
    return problem.item_id, goal.item_id, goal.plan


def test_create_is_a_draft_and_audited(context, care_plans, plan, patient_id):
    assert (plan.status, plan.intent, plan.title, plan.version) == (
        "draft",
        "plan",
        "Heart failure plan",
        1,
    )
    assert plan.patient_id == patient_id and plan.problems == ()
    assert plan.updated_by_name == "Alice Moreno"
    assert actions(context, "care_plan", plan.id) == ["create"]
    assert [read.id for read in care_plans.for_patient(patient_id)] == [plan.id]
    assert care_plans.get(plan.id) == plan


def test_create_refuses_blank_title_and_unknown_patient(context, care_plans, patient_id):
    events_before = count(context, AuditEvent)
    with pytest.raises(ValidationError) as raised:
        care_plans.create(patient_id, "  ")
    assert raised.value.field == "title"
    with pytest.raises(NotFoundError):
        care_plans.create(patient_id + 5)
    assert count(context, CarePlan) == 0
    assert count(context, AuditEvent) == events_before


def test_add_problem_from_omaha_bumps_version(context, care_plans, plan):
    change = care_plans.add_problem(
        plan.id, plan.version, omaha_code="medication-regimen", nursing_diagnosis_code="00078"
    )
    after = change.plan
    assert after.version == plan.version + 1
    problem = after.problem(change.item_id)
    assert problem.description == "Medication regimen"
    assert (problem.omaha_code, problem.nursing_diagnosis_code) == ("medication-regimen", "00078")
    assert (problem.priority, problem.status) == ("medium-priority", "active")
    with context.read() as session:
        assert session.get(CarePlan, plan.id).version == after.version
        assert session.get(Problem, change.item_id).care_plan_id == plan.id
    assert actions(context, "problem", change.item_id) == ["create"]


def test_add_problem_validation_writes_nothing(context, care_plans, plan):
    cases = [
        ({"omaha_code": "not-a-problem"}, "omaha_code"),
        ({}, "description"),
        ({"description": "Falls", "priority": "top"}, "priority"),
    ]
    for arguments, field in cases:
        with pytest.raises(ValidationError) as raised:
            care_plans.add_problem(plan.id, plan.version, **arguments)
        assert raised.value.field == field
    assert count(context, Problem) == 0
    assert care_plans.get(plan.id).version == plan.version
    assert actions(context, "problem", None) == []


def test_goals_interventions_and_updates(context, care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    goal = current.problem(problem_id).goals[0]
    assert goal.lifecycle_status == "proposed" and goal.warnings == []

    added = care_plans.add_intervention(
        problem_id,
        current.version,
        "teaching-guidance-counseling",
        "Teach daily weights and when to call",
        frequency="weekly",
        goal_id=goal_id,
    )
    intervention = added.plan.problem(problem_id).interventions[0]
    assert (intervention.category, intervention.owner, intervention.status) == (
        "teaching-guidance-counseling",
        "nurse",
        "not-started",
    )
    assert intervention.goal_id == goal_id

    current = care_plans.update_intervention(
        added.item_id, added.plan.version, status="in-progress", owner="caregiver"
    )
    assert current.problem(problem_id).interventions[0].status == "in-progress"
    assert current.version == added.plan.version + 1

    current = care_plans.update_goal(
        goal_id, current.version, lifecycle_status="active", achievement_status="improving"
    )
    goal = current.problem(problem_id).goals[0]
    assert (goal.lifecycle_status, goal.achievement_status) == ("active", "improving")

    current = care_plans.update_problem(problem_id, current.version, priority="high-priority")
    assert current.problem(problem_id).priority == "high-priority"

    with context.read() as session:
        assert session.get(Intervention, added.item_id).owner == "caregiver"
        assert session.get(Goal, goal_id).lifecycle_status == "active"
    update_events = AuditService(context).list_events("intervention", added.item_id)
    assert [event.action for event in update_events] == ["update", "create"]
    assert set(update_events[0].changed_fields) == {"owner", "status"}
    assert actions(context, "goal", goal_id) == ["update", "create"]
    assert actions(context, "problem", problem_id) == ["update", "create"]


def test_completing_a_goal_needs_an_achievement_status(context, care_plans, plan):
    problem_id, goal_id, proposed = plan_with_goal(care_plans, plan)
    with pytest.raises(ValidationError) as raised:
        care_plans.update_goal(
            goal_id, proposed.version, lifecycle_status="completed", achievement_status="achieved"
        )
    assert raised.value.field == "lifecycle_status"
    assert (
        str(raised.value)
        == "A goal that is proposed can move to planned, accepted, active, rejected; not completed"
    )
    current = care_plans.update_goal(goal_id, proposed.version, lifecycle_status="active")
    with pytest.raises(ValidationError) as raised:
        care_plans.update_goal(goal_id, current.version, lifecycle_status="completed")
    assert raised.value.field == "achievement_status"
    with pytest.raises(ValidationError) as raised:
        care_plans.update_goal(goal_id, current.version, lifecycle_status="done")
    assert raised.value.field == "lifecycle_status"
    with pytest.raises(ValidationError) as raised:
        care_plans.update_goal(
            goal_id, current.version, lifecycle_status="completed", achievement_status="improving"
        )
    assert raised.value.field == "achievement_status"
    assert care_plans.get(plan.id).version == current.version
    assert actions(context, "goal", goal_id) == ["update", "create"]

    done = care_plans.update_goal(
        goal_id, current.version, lifecycle_status="completed", achievement_status="achieved"
    )
    assert done.problem(problem_id).goals[0].achievement_status == "achieved"


def test_intervention_goal_must_belong_to_the_problem(context, care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    other = care_plans.add_problem(plan.id, current.version, omaha_code="nutrition")
    with pytest.raises(ValidationError) as raised:
        care_plans.add_intervention(
            other.item_id, other.plan.version, "surveillance", "Weigh weekly", goal_id=goal_id
        )
    assert raised.value.field == "goal_id"
    with pytest.raises(ValidationError) as raised:
        care_plans.add_intervention(other.item_id, other.plan.version, "hugging", "Be kind")
    assert raised.value.field == "category"
    assert count(context, Intervention) == 0


def test_rate_problem_appends_kbs_ratings(context, care_plans, plan):
    problem_id, _, current = plan_with_goal(care_plans, plan)
    first = care_plans.rate_problem(problem_id, date(2026, 11, 1), 2, 2, 3)
    second = care_plans.rate_problem(
        problem_id, "2026-11-27", 3, 4, 4, expected_version=first.plan.version
    )
    ratings = second.plan.problem(problem_id).ratings
    assert [(rating.rated_on, rating.summary) for rating in ratings] == [
        (date(2026, 11, 1), "K2 B2 S3"),
        (date(2026, 11, 27), "K3 B4 S4"),
    ]
    assert second.plan.version == current.version + 2
    assert actions(context, "problem_rating", second.item_id) == ["create"]

    for arguments, field in [
        ((problem_id, date(2026, 11, 1), 0, 2, 3), "knowledge"),
        ((problem_id, date(2026, 11, 1), 2, 6, 3), "behavior"),
        ((problem_id, date(2026, 11, 1), 2, 2, True), "status"),
        ((problem_id, date(2026, 11, 28), 2, 2, 3), "rated_on"),
    ]:
        with pytest.raises(ValidationError) as raised:
            care_plans.rate_problem(*arguments)
        assert raised.value.field == field
    assert count(context, ProblemRating) == 2


def test_activation_needs_a_problem_with_a_goal(context, care_plans, plan):
    with pytest.raises(ValidationError) as raised:
        care_plans.set_status(plan.id, plan.version, "active")
    assert raised.value.field == "status"
    assert "at least one problem with a goal" in raised.value.message
    problem = care_plans.add_problem(plan.id, plan.version, description="Lives alone, no support")
    with pytest.raises(ValidationError):
        care_plans.set_status(plan.id, problem.plan.version, "active")
    assert care_plans.get(plan.id).status == "draft"

    goal = care_plans.add_goal(
        problem.item_id, problem.plan.version, "The patient will name a contact"
    )
    active = care_plans.set_status(plan.id, goal.plan.version, "active")
    assert active.status == "active"
    assert active.period_start == date(2026, 11, 27)
    with context.read() as session:
        assert session.get(CarePlan, plan.id).status == "active"
    assert actions(context, "care_plan", plan.id) == ["update", "create"]


def test_remove_from_draft_deletes(context, care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    added = care_plans.add_intervention(
        problem_id, current.version, "case-management", "Arrange scales", goal_id=goal_id
    )
    after_goal = care_plans.remove_item("goal", goal_id, added.plan.version)
    assert after_goal.problem(problem_id).goals == ()
    assert after_goal.problem(problem_id).interventions[0].goal_id is None
    care_plans.rate_problem(problem_id, date(2026, 11, 20), 1, 1, 1)
    after_problem = care_plans.remove_item("problem", problem_id, care_plans.get(plan.id).version)
    assert after_problem.problems == ()
    for model in (Problem, Goal, Intervention, ProblemRating):
        assert count(context, model) == 0
    assert actions(context, "goal", goal_id) == ["delete", "create"]
    assert actions(context, "problem", problem_id) == ["delete", "create"]


def test_remove_from_active_plan_marks_entered_in_error(context, care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    added = care_plans.add_intervention(problem_id, current.version, "surveillance", "Weigh")
    active = care_plans.set_status(plan.id, added.plan.version, "active")

    after = care_plans.remove_item("problem", problem_id, active.version)

    problem = after.problem(problem_id)
    assert problem.status == "entered-in-error"
    assert problem.goals[0].lifecycle_status == "entered-in-error"
    assert problem.interventions[0].status == "entered-in-error"
    assert count(context, Problem) == 1 and count(context, Goal) == 1
    assert actions(context, "problem", problem_id) == ["update", "create"]
    assert actions(context, "goal", goal_id) == ["update", "create"]
    with pytest.raises(ValidationError) as raised:
        care_plans.remove_item("rating", 1, after.version)
    assert raised.value.field == "kind"


def test_stale_edit_is_refused_with_the_other_nurse_named(engine, clock, context, plan):
    """Two terminals (two contexts, two nurses) edit one plan on one database file."""
    alice = CarePlanService(context)
    bob = second_terminal(engine, clock, "bob", "Bob Tanaka").care_plans

    seen_by_alice = alice.get(plan.id)
    seen_by_bob = bob.get(plan.id)
    clock.advance(minutes=7)
    bob.add_problem(seen_by_bob.id, seen_by_bob.version, omaha_code="pain")

    with pytest.raises(StaleEditError) as raised:
        alice.add_problem(seen_by_alice.id, seen_by_alice.version, omaha_code="skin")
    assert raised.value.changed_by == "Bob Tanaka"
    assert raised.value.changed_at == datetime(2026, 11, 27, 9, 7)
    assert "Bob Tanaka" in str(raised.value) and "2026-11-27 09:07" in str(raised.value)

    stored = alice.get(plan.id)
    assert [problem.omaha_code for problem in stored.problems] == ["pain"]
    assert stored.updated_by_name == "Bob Tanaka"
    with pytest.raises(StaleEditError):
        alice.set_status(plan.id, seen_by_alice.version, "revoked")
    assert alice.get(plan.id).status == "draft"


def test_same_nurse_same_minute_still_bumps_version(care_plans, plan):
    """A frozen clock and the same nurse must not let a stale copy through."""
    first = care_plans.add_problem(plan.id, plan.version, description="Falls at home")
    second = care_plans.add_problem(plan.id, first.plan.version, description="Lonely")
    assert second.plan.version == plan.version + 2
    with pytest.raises(StaleEditError):
        care_plans.add_problem(plan.id, first.plan.version, description="Pain")


def test_closed_plan_items_cannot_be_edited(care_plans, plan):
    problem_id, _, current = plan_with_goal(care_plans, plan)
    revoked = care_plans.set_status(plan.id, current.version, "revoked")
    assert revoked.period_end == date(2026, 11, 27)
    with pytest.raises(ValidationError) as raised:
        care_plans.update_problem(problem_id, revoked.version, description="Changed")
    assert raised.value.field == "status"


def test_smart_warnings():
    class Draft:
        target_measure = None
        target_value = None
        due_date = None

    warnings = smart_warnings(Draft())
    assert len(warnings) == 2
    assert warnings[0].startswith("no measure") and warnings[1].startswith("no due date")
    Draft.target_measure = "steps a day"
    assert [warning.split(":")[0] for warning in smart_warnings(Draft())] == [
        "no target value",
        "no due date",
    ]


# ------------------------------------------------------------ history, rules, templates


def test_stale_refusal_lists_what_changed_since_the_copy(engine, clock, context, plan):
    alice = CarePlanService(context)
    bob = second_terminal(engine, clock, "bob", "Bob Tanaka").care_plans
    problem_id, goal_id, seen_by_alice = plan_with_goal(alice, plan)
    clock.advance(minutes=5)
    bob.update_goal(goal_id, seen_by_alice.version, due_date="2026-12-19", target_value="6 of 7")

    with pytest.raises(StalePlanError) as raised:
        alice.update_goal(goal_id, seen_by_alice.version, description="The patient will walk")
    (change,) = raised.value.changes
    assert change.nurse_name == "Bob Tanaka" and change.item_kind == "goal"
    assert {(field.field, field.new) for field in change.changes} == {
        ("due_date", "2026-12-19"),
        ("target_value", "6 of 7"),
    }
    message = str(raised.value)
    assert "Bob Tanaka" in message and "due date" in message and "2026-12-19" in message
    stored = alice.get(plan.id).problem(problem_id).goals[0]
    assert stored.description.startswith("The patient will weigh daily")
    assert stored.due_date == date(2026, 12, 19)


def test_history_records_every_change_with_old_and_new_values(care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    current = care_plans.update_goal(goal_id, current.version, lifecycle_status="active")
    current = care_plans.rate_problem(problem_id, "2026-11-20", 2, 3, 2, current.version).plan
    current = care_plans.set_status(plan.id, current.version, "active")

    history = care_plans.history(plan.id)
    assert [(entry.action, entry.item_kind) for entry in history] == [
        ("status", "care_plan"),
        ("rate", "problem"),
        ("update", "goal"),
        ("create", "goal"),
        ("create", "problem"),
        ("create", "care_plan"),
    ]
    assert [entry.version for entry in history] == [6, 5, 4, 3, 2, 1]
    assert history[0].details == "status Draft → Active; period start (none) → 2026-11-27"
    assert history[2].details == "lifecycle status Proposed → Active"
    assert history[1].details.endswith("rating (none) → K2 B3 S2")
    assert all(entry.nurse_name == "Alice Moreno" for entry in history)
    assert history[2].headline.startswith("changed goal 'The patient will weigh daily")


def test_status_moves_follow_the_rules(care_plans, plan):
    problem_id, goal_id, current = plan_with_goal(care_plans, plan)
    added = care_plans.add_intervention(
        problem_id, current.version, "surveillance", "Review weight log"
    )
    intervention_id = added.item_id
    with pytest.raises(ValidationError, match="An intervention that is not started can move to"):
        care_plans.update_intervention(intervention_id, added.plan.version, status="stopped")
    with pytest.raises(ValidationError, match="by deleting it"):
        care_plans.update_intervention(
            intervention_id, added.plan.version, status="entered-in-error"
        )
    with pytest.raises(ValidationError) as raised:
        care_plans.add_goal(problem_id, added.plan.version, "X", lifecycle_status="cancelled")
    assert raised.value.field == "lifecycle_status"
    with pytest.raises(ValidationError):
        care_plans.set_status(plan.id, added.plan.version, "completed")
    resolved = care_plans.update_problem(problem_id, added.plan.version, status="resolved")
    assert resolved.problem(problem_id).status == "resolved"
    with pytest.raises(ValidationError, match="problem that is resolved can move to active; not"):
        care_plans.update_problem(problem_id, resolved.version, status="inactive")


def test_update_plan_title_and_period(care_plans, plan):
    changed = care_plans.update_plan(
        plan.id, plan.version, title="HF plan", period_start="2026-11-27", period_end=""
    )
    assert (changed.title, changed.period_start, changed.version) == (
        "HF plan",
        date(2026, 11, 27),
        plan.version + 1,
    )
    with pytest.raises(ValidationError) as raised:
        care_plans.update_plan(plan.id, changed.version, period_end="2026-11-01")
    assert raised.value.field == "period_end"
    assert care_plans.history(plan.id)[0].details == (
        "title Heart failure plan → HF plan; period start (none) → 2026-11-27"
    )


def test_remove_plan_deletes_a_draft_and_retracts_an_active_one(context, care_plans, plan):
    _problem_id, _goal_id, current = plan_with_goal(care_plans, plan)
    assert care_plans.remove_plan(plan.id, current.version) is None
    assert count(context, CarePlan) == 0 and count(context, Problem) == 0
    assert actions(context, "care_plan", plan.id)[0] == "delete"

    again = care_plans.create(plan.patient_id, "Second plan")
    _problem_id, _goal_id, current = plan_with_goal(care_plans, again)
    active = care_plans.set_status(again.id, current.version, "active")
    retracted = care_plans.remove_plan(again.id, active.version)
    assert retracted.status == "entered-in-error"
    with pytest.raises(ValidationError):
        care_plans.add_problem(again.id, retracted.version, omaha_code="pain")


def test_create_from_template_writes_the_whole_plan_in_one_version(context, care_plans, patient_id):
    from nursecase.services.care_plan_templates import load_templates

    template = load_templates().get("heart-failure")
    plan = care_plans.create_from_template(patient_id, template)
    assert (plan.status, plan.title, plan.version) == ("draft", template.title, 1)
    assert len(plan.problems) == len(template.problems)
    for problem, problem_template in zip(plan.problems, template.problems, strict=True):
        assert len(problem.goals) == len(problem_template.goals)
        assert len(problem.interventions) == len(problem_template.interventions)
        assert all(goal.lifecycle_status == "proposed" for goal in problem.goals)
        for intervention, intervention_template in zip(
            problem.interventions, problem_template.interventions, strict=True
        ):
            if intervention_template.goal is None:
                assert intervention.goal_id is None
            else:
                assert intervention.goal_id == problem.goals[intervention_template.goal].id
            if intervention_template.due_in_days is not None:
                assert (intervention.due_date - date(2026, 11, 27)).days == (
                    intervention_template.due_in_days
                )
    history = care_plans.history(plan.id)
    assert {entry.version for entry in history} == {1}
    assert history[-1].item_kind == "care_plan"
