"""The worklist service against a real migrated database: items, ranking, actions, undo."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import (
    AuditEvent,
    CarePlan,
    Goal,
    Intervention,
    Patient,
    Referral,
    Task,
    WorklistSnooze,
)
from nursecase.domain.flags import Flag
from nursecase.domain.worklist import DueItem, DueKind
from nursecase.services.errors import NotFoundError, ServiceError, ValidationError
from nursecase.services.worklist import CHASED_REASON, DONE, SNOOZE, UndoToken

TODAY = date(2026, 11, 27)  # Friday: conftest's frozen clock
PHQ9_ZERO = {f"item{number}": 0 for number in range(1, 10)}


# ------------------------------------------------------------------ helpers

_mrn_counter = iter(range(1000, 100000))


def add_patient(services, family="Smith", risk="moderate", due=None, nurse=None):
    """A patient whose next contact is not due unless ``due`` says so."""
    return services.patients.create(
        mrn=f"M{next(_mrn_counter)}",
        family_name=family,
        given_name="Pat",
        birth_date="1950-06-01",
        risk_tier=risk,
        phone="503-555-0100",
        nurse_username=nurse,
        next_contact_due=due or TODAY + timedelta(days=20),
    ).id


def add_referral_days_ago(services, clock, patient_id, days_ago, priority="routine"):
    """A referral sent ``days_ago`` days ago (its reply date defaults from the priority)."""
    clock.advance(days=-days_ago)
    try:
        return services.referrals.create(
            patient_id, "physical-therapy", "Valley PT", "gait training", priority=priority
        )
    finally:
        clock.advance(days=days_ago)


def add_plan_items(services, patient_id, goal_due, intervention_due):
    """An active plan with one problem, one active goal and one intervention; their ids."""
    plan = services.care_plans.create(patient_id)
    change = services.care_plans.add_problem(plan.id, plan.version, description="Falls at home")
    problem_id = change.item_id
    goal = services.care_plans.add_goal(
        problem_id,
        change.plan.version,
        "The patient will walk daily",
        due_date=goal_due,
        lifecycle_status="active",
    )
    intervention = services.care_plans.add_intervention(
        problem_id,
        goal.plan.version,
        "surveillance",
        "Check blood pressure log",
        due_date=intervention_due,
    )
    return plan.id, goal.item_id, intervention.item_id


def row_for(rows, patient_id):
    matching = [row for row in rows if row.patient_id == patient_id]
    assert len(matching) == 1, f"patient {patient_id} not once on the worklist"
    return matching[0]


def audit_count(services) -> int:
    return services.audit.count()


def snooze_rows(engine) -> list[WorklistSnooze]:
    with Session(engine) as session:
        return list(session.execute(select(WorklistSnooze).order_by(WorklistSnooze.id)).scalars())


def load(engine, model, row_id):
    with Session(engine) as session:
        row = session.get(model, row_id)
        session.expunge(row)
        return row


def latest_events(services, entity, entity_id):
    return services.audit.list_events(entity=entity, entity_id=entity_id)


@pytest.fixture
def world(services, clock):
    """One patient per kind of due item, each with nothing else due."""
    ids = {}
    ids["safety"] = add_patient(services, "Safety")
    result = services.assessments.record(ids["safety"], "phq-9", dict(PHQ9_ZERO, item9=1))
    ids["safety_task"] = result.safety_task_id
    ids["tcm"] = add_patient(services, "Clock")
    services.transitions.record_discharge(ids["tcm"], TODAY - timedelta(days=1))
    ids["task"] = add_patient(services, "Tasker")
    ids["task_task"] = services.tasks.add(
        ids["task"], "Call pharmacy", TODAY - timedelta(days=2)
    ).id
    ids["contact"] = add_patient(services, "Caller", due=TODAY - timedelta(days=4))
    ids["stuck"] = add_patient(services, "Stuck")
    ids["stuck_referral"] = add_referral_days_ago(
        services, clock, ids["stuck"], 6, priority="urgent"
    ).id
    ids["reply"] = add_patient(services, "Replier")
    ids["reply_referral"] = add_referral_days_ago(services, clock, ids["reply"], 19).id
    ids["plan"] = add_patient(services, "Planner")
    ids["care_plan"], ids["goal"], ids["intervention"] = add_plan_items(
        services, ids["plan"], TODAY - timedelta(days=3), TODAY
    )
    return ids


# ------------------------------------------------------------------- items


def test_each_kind_of_item_appears_with_its_reason_and_id(services, world):
    rows = services.worklist.today(services.context.nurse_id)

    safety = row_for(rows, world["safety"])
    assert [item.kind for item in safety.items] == [DueKind.safety]
    assert safety.items[0].item_id == world["safety_task"]
    assert safety.reasons == ("PHQ-9 item 9",)
    assert safety.group == 0
    assert safety.flags == (Flag.safety,)

    tcm = row_for(rows, world["tcm"])
    assert {item.kind for item in tcm.items} == {DueKind.tcm}
    # Discharged Thursday, today Friday: business day 1 of the contact window,
    # and day 1 of the 14-day face-to-face window.
    assert set(tcm.reasons) == {"TCM day 1 of 2", "TCM visit day 1 of 14"}
    with Session(services.context.engine) as session:
        clock_tasks = set(
            session.execute(
                select(Task.id).where(
                    Task.patient_id == world["tcm"], Task.source == "transition-clock"
                )
            ).scalars()
        )
    assert {item.item_id for item in tcm.items} == clock_tasks
    assert tcm.group == 1
    assert tcm.flags == (Flag.tcm,)

    task = row_for(rows, world["task"])
    assert task.items[0] == DueItem(
        DueKind.task, TODAY - timedelta(days=2), "Call pharmacy", world["task_task"]
    )
    assert task.why == "task overdue 2 d: Call pharmacy"
    assert (task.group, task.days_overdue) == (2, 2)

    contact = row_for(rows, world["contact"])
    assert contact.items == (DueItem(DueKind.contact, TODAY - timedelta(days=4), "", None),)
    assert contact.why == "contact overdue 4 d"
    # A routine contact being due is a clock, not a flag.
    assert contact.flags == ()

    stuck = row_for(rows, world["stuck"])
    # Urgent: reply expected 3 days after sending, 6 days ago.
    assert stuck.items[0].kind is DueKind.stuck_referral
    assert stuck.items[0].item_id == world["stuck_referral"]
    assert stuck.why == "urgent referral to PT: no reply 3 d"
    assert stuck.group == 0
    # A late urgent referral ranks with the urgent signals but is its own flag.
    assert stuck.flags == (Flag.referral_late,)

    reply = row_for(rows, world["reply"])
    assert reply.items[0].kind is DueKind.referral_reply
    assert reply.items[0].item_id == world["reply_referral"]
    assert reply.why == "referral to PT: no reply 9 d"

    plan = row_for(rows, world["plan"])
    assert [(item.kind, item.item_id) for item in plan.items] == [
        (DueKind.goal, world["goal"]),
        (DueKind.intervention, world["intervention"]),
    ]
    assert plan.reasons == (
        "goal overdue 3 d: The patient will walk daily",
        "intervention due today: Check blood pressure log",
    )

    # The caseload columns come along.
    assert (contact.family_name, contact.given_name, contact.age) == ("Caller", "Pat", 76)
    assert contact.birth_date == date(1950, 6, 1)
    assert contact.risk_tier == "moderate"
    assert contact.next_contact_due == TODAY - timedelta(days=4)
    assert stuck.open_referral_count in (0, 1)  # kept by the referral service
    assert len(rows) == 7


def test_items_not_yet_due_or_closed_stay_off(services, clock):
    patient_id = add_patient(services, due=TODAY + timedelta(days=1))
    services.tasks.add(patient_id, "Next week", TODAY + timedelta(days=7))
    done = services.tasks.add(patient_id, "Done already", TODAY - timedelta(days=1))
    services.tasks.complete(done.id)
    # A routine referral whose reply is expected today is not late yet.
    add_referral_days_ago(services, clock, patient_id, 10)
    add_plan_items(services, patient_id, TODAY + timedelta(days=1), TODAY + timedelta(days=2))
    # A finished episode stops the contact clock.
    finished = add_patient(services, "Finished", due=TODAY - timedelta(days=3))
    with Session(services.context.engine) as session, session.begin():
        session.get(Patient, finished).episode_status = "finished"

    assert services.worklist.today(None) == []


def test_nurse_filter_keeps_each_nurse_to_their_patients(services):
    services.nurses.create("bob", "Bob Okafor")
    alice_patient = add_patient(services, "Alpha", due=TODAY)
    bob_patient = add_patient(services, "Bravo", due=TODAY, nurse="bob")
    bob_id = services.nurses.get_by_username("bob").id
    # A task a nurse holds for another nurse's patient follows the patient.
    services.tasks.add(bob_patient, "Fax forms", TODAY, nurse_username="alice")

    alice_rows = services.worklist.today(services.context.nurse_id)
    bob_rows = services.worklist.today(bob_id)
    everyone = services.worklist.today(None)

    assert [row.patient_id for row in alice_rows] == [alice_patient]
    assert [row.patient_id for row in bob_rows] == [bob_patient]
    assert [item.kind for item in bob_rows[0].items] == [DueKind.task, DueKind.contact]
    assert {row.patient_id for row in everyone} == {alice_patient, bob_patient}


def test_ranking_end_to_end(services, clock):
    low_old = add_patient(services, "Low", risk="low", due=TODAY - timedelta(days=5))
    high_same = add_patient(services, "High", risk="high", due=TODAY - timedelta(days=5))
    most_overdue = add_patient(services, "Late", risk="low", due=TODAY - timedelta(days=9))
    tcm = add_patient(services, "Clock")
    services.transitions.record_discharge(tcm, TODAY - timedelta(days=1))
    safety = add_patient(services, "Safety")
    services.assessments.record(safety, "phq-9", dict(PHQ9_ZERO, item9=2))
    stuck = add_patient(services, "Stuck")
    add_referral_days_ago(services, clock, stuck, 2, priority="stat")

    rows = services.worklist.today(None)

    # Safety flags (the PHQ-9 item 9 before the stat referral, 1 d late), the
    # TCM clock, then the rest by days overdue, risk tier and last contact.
    assert [row.patient_id for row in rows] == [
        safety,
        stuck,
        tcm,
        most_overdue,
        high_same,
        low_old,
    ]
    assert [row.group for row in rows] == [0, 0, 1, 2, 2, 2]
    assert rows[0].why == "PHQ-9 item 9"
    assert rows[1].why == "STAT referral to PT: no reply 1 d"


# ---------------------------------------------------------------- done/undo


@pytest.mark.parametrize("kind", ["task"])
def test_done_completes_the_task_and_undo_reopens_it(services, world, kind):
    rows = services.worklist.today(None)
    patient_id = world[kind]
    item = row_for(rows, patient_id).items[0]
    engine = services.context.engine
    with Session(engine) as session, session.begin():
        # Undo must restore the status the task had, not simply "requested".
        session.get(Task, item.item_id).status = "in-progress"

    token = services.worklist.done(patient_id, item)

    task = load(engine, Task, item.item_id)
    assert (task.status, task.done_at) == ("completed", datetime(2026, 11, 27, 9, 0))
    assert token == UndoToken(
        DONE,
        patient_id,
        item.kind,
        item.item_id,
        previous_due=task.due_date,
        previous_status="in-progress",
        done_at=task.done_at,
    )
    event = latest_events(services, "task", item.item_id)[0]
    assert (event.action, event.changed_fields) == ("update", ("done_at", "status"))
    remaining = [row for row in services.worklist.today(None) if row.patient_id == patient_id]
    assert item not in [entry for row in remaining for entry in row.items]

    services.worklist.undo(token)

    task = load(engine, Task, item.item_id)
    assert (task.status, task.done_at) == ("in-progress", None)
    event = latest_events(services, "task", item.item_id)[0]
    assert (event.action, event.changed_fields) == ("update", ("done_at", "status"))
    assert item in row_for(services.worklist.today(None), patient_id).items


def test_done_contact_sets_the_cadence_date_and_undo_restores_it(services, world):
    patient_id = world["contact"]
    item = row_for(services.worklist.today(None), patient_id).items[0]

    token = services.worklist.done(patient_id, item)

    # Moderate risk: 14 days from today.
    assert load(services.context.engine, Patient, patient_id).next_contact_due == date(2026, 12, 11)
    assert (token.previous_due, token.new_due) == (TODAY - timedelta(days=4), date(2026, 12, 11))
    event = latest_events(services, "patient", patient_id)[0]
    assert event.changed_fields == ("next_contact_due",)
    assert all(row.patient_id != patient_id for row in services.worklist.today(None))

    services.worklist.undo(token)

    patient = load(services.context.engine, Patient, patient_id)
    assert patient.next_contact_due == TODAY - timedelta(days=4)
    assert latest_events(services, "patient", patient_id)[0].changed_fields == ("next_contact_due",)
    assert snooze_rows(services.context.engine) == []


@pytest.mark.parametrize(
    ("kind", "referral_key", "reply_days"),
    [("stuck", "stuck_referral", 3), ("reply", "reply_referral", 10)],
)
def test_done_referral_chases_it_and_undo_restores_the_reply_date(
    services, world, kind, referral_key, reply_days
):
    patient_id = world[kind]
    referral_id = world[referral_key]
    engine = services.context.engine
    before = load(engine, Referral, referral_id)
    item = row_for(services.worklist.today(None), patient_id).items[0]

    token = services.worklist.done(patient_id, item)

    after = load(engine, Referral, referral_id)
    assert after.expected_reply_date == TODAY + timedelta(days=reply_days)
    assert after.version == before.version + 1
    (snooze,) = snooze_rows(engine)
    assert (snooze.item_kind, snooze.item_id, snooze.reason) == (
        str(item.kind),
        referral_id,
        CHASED_REASON,
    )
    assert (snooze.previous_due, snooze.until) == (
        before.expected_reply_date,
        after.expected_reply_date,
    )
    assert snooze.nurse_id == services.context.nurse_id
    assert token.snooze_id == snooze.id
    assert latest_events(services, "referral", referral_id)[0].changed_fields == (
        "expected_reply_date",
    )
    assert latest_events(services, "worklist_snooze", snooze.id)[0].action == "create"
    assert all(row.patient_id != patient_id for row in services.worklist.today(None))
    assert [entry.reason for entry in services.worklist.snoozes(patient_id)] == [CHASED_REASON]

    services.worklist.undo(token)

    assert load(engine, Referral, referral_id).expected_reply_date == before.expected_reply_date
    (snooze,) = snooze_rows(engine)
    assert snooze.undone_at == datetime(2026, 11, 27, 9, 0)
    assert latest_events(services, "worklist_snooze", snooze.id)[0].changed_fields == ("undone_at",)
    assert row_for(services.worklist.today(None), patient_id).items == (item,)


NO_RISK = {"wish_dead": False, "suicidal_thoughts": False, "behaviour": False}
#: Questions 1-5 yes: high risk.
HIGH_RISK = {
    "wish_dead": True,
    "suicidal_thoughts": True,
    "method": True,
    "intent": True,
    "plan": False,
    "behaviour": False,
}


def test_done_and_snooze_refuse_a_safety_flag_and_write_nothing(services, world):
    """Only a safety check completes a safety task (issue 16): not d, not s."""
    patient_id = world["safety"]
    item = row_for(services.worklist.today(None), patient_id).items[0]
    assert item.kind is DueKind.safety
    events = len(services.audit.list_events())
    for action in (
        lambda: services.worklist.done(patient_id, item),
        lambda: services.worklist.snooze(patient_id, item, TODAY + timedelta(days=1), "busy"),
        lambda: services.tasks.complete(item.item_id),
        lambda: services.tasks.snooze(item.item_id, TODAY + timedelta(days=1), "busy"),
    ):
        with pytest.raises(ValidationError, match="completed only by a safety check"):
            action()
    assert services.tasks.get(item.item_id).status == "requested"
    assert len(services.audit.list_events()) == events


def test_a_safety_check_clears_the_flag_and_a_moderate_or_high_one_raises_its_own(
    services, world, clock
):
    patient_id = world["safety"]
    result = services.safety_checks.record(patient_id, HIGH_RISK, "emergency-services")
    assert result.completed_task_ids == (world["safety_task"],)
    row = row_for(services.worklist.today(None), patient_id)
    assert [item.kind for item in row.items] == [DueKind.safety_risk]
    assert row.items[0].item_id == result.check.id
    assert row.reasons == ("C-SSRS high risk 27 Nov: check safety again",)
    assert row.group == 0 and row.flags == (Flag.safety,)
    with pytest.raises(ValidationError, match="completed only by a safety check"):
        services.worklist.done(patient_id, row.items[0])
    # A nurse re-screens: a newer check with no risk ends the signal.
    services.safety_checks.record(
        patient_id, NO_RISK, "no-current-risk", performed_at=clock.now() + timedelta(minutes=-1)
    )
    assert row_for(services.worklist.today(None), patient_id).items[0].kind is DueKind.safety_risk
    clock.advance(minutes=5)
    services.safety_checks.record(patient_id, NO_RISK, "no-current-risk")
    assert all(row.patient_id != patient_id for row in services.worklist.today(None))


@pytest.mark.parametrize("kind", [DueKind.goal, DueKind.intervention])
def test_done_refuses_goals_and_interventions(services, world, kind):
    item = next(
        entry
        for entry in row_for(services.worklist.today(None), world["plan"]).items
        if entry.kind is kind
    )
    events = audit_count(services)

    with pytest.raises(ValidationError) as error:
        services.worklist.done(world["plan"], item)

    assert error.value.field == "item"
    assert "care plan" in str(error.value)
    assert audit_count(services) == events


def test_done_on_another_patients_task_is_not_found(services, world):
    item = row_for(services.worklist.today(None), world["task"]).items[0]
    with pytest.raises(NotFoundError):
        services.worklist.done(world["contact"], item)
    assert load(services.context.engine, Task, item.item_id).status == "requested"


# ------------------------------------------------------------- snooze/undo


def test_snooze_task_moves_it_and_undo_restores_date_and_reason(services, world):
    patient_id = world["task"]
    item = row_for(services.worklist.today(None), patient_id).items[0]
    until = TODAY + timedelta(days=3)

    token = services.worklist.snooze(patient_id, item, until, "pharmacy closed")

    task = load(services.context.engine, Task, item.item_id)
    assert (task.due_date, task.snooze_reason, task.status) == (
        until,
        "pharmacy closed",
        "requested",
    )
    assert token.kind == SNOOZE
    assert (token.previous_due, token.new_due) == (TODAY - timedelta(days=2), until)
    assert latest_events(services, "task", item.item_id)[0].changed_fields == (
        "due_date",
        "snooze_reason",
    )
    assert snooze_rows(services.context.engine) == []  # tasks keep their own reason
    assert all(row.patient_id != patient_id for row in services.worklist.today(None))

    services.worklist.undo(token)

    task = load(services.context.engine, Task, item.item_id)
    assert (task.due_date, task.snooze_reason) == (TODAY - timedelta(days=2), None)
    assert row_for(services.worklist.today(None), patient_id).items == (item,)


def test_snooze_contact_writes_history_and_undo_restores(services, world):
    patient_id = world["contact"]
    engine = services.context.engine
    item = row_for(services.worklist.today(None), patient_id).items[0]
    until = TODAY + timedelta(days=2)

    token = services.worklist.snooze(patient_id, item, until.isoformat(), "  in hospital  ")

    assert load(engine, Patient, patient_id).next_contact_due == until
    (snooze,) = snooze_rows(engine)
    assert (snooze.item_kind, snooze.item_id, snooze.previous_due, snooze.until) == (
        "contact",
        None,
        TODAY - timedelta(days=4),
        until,
    )
    assert snooze.reason == "in hospital"
    assert token.snooze_id == snooze.id
    assert latest_events(services, "patient", patient_id)[0].changed_fields == ("next_contact_due",)

    services.worklist.undo(token)

    assert load(engine, Patient, patient_id).next_contact_due == TODAY - timedelta(days=4)
    assert snooze_rows(engine)[0].undone_at is not None


def test_snooze_referral_moves_its_reply_date(services, world):
    patient_id = world["reply"]
    engine = services.context.engine
    item = row_for(services.worklist.today(None), patient_id).items[0]
    previous = load(engine, Referral, world["reply_referral"]).expected_reply_date

    token = services.worklist.snooze(patient_id, item, TODAY + timedelta(days=5), "office shut")

    assert load(engine, Referral, world["reply_referral"]).expected_reply_date == TODAY + timedelta(
        days=5
    )
    (snooze,) = snooze_rows(engine)
    assert (snooze.item_kind, snooze.reason, snooze.previous_due) == (
        "referral-reply",
        "office shut",
        previous,
    )

    services.worklist.undo(token)

    assert load(engine, Referral, world["reply_referral"]).expected_reply_date == previous


@pytest.mark.parametrize(
    ("kind", "model"), [(DueKind.goal, Goal), (DueKind.intervention, Intervention)]
)
def test_snooze_plan_item_moves_its_due_date_and_bumps_the_plan(services, world, kind, model):
    patient_id = world["plan"]
    engine = services.context.engine
    item = next(
        entry
        for entry in row_for(services.worklist.today(None), patient_id).items
        if entry.kind is kind
    )
    plan_version = load(engine, CarePlan, world["care_plan"]).version
    until = TODAY + timedelta(days=7)

    token = services.worklist.snooze(patient_id, item, until, "waiting for equipment")

    assert load(engine, model, item.item_id).due_date == until
    assert load(engine, CarePlan, world["care_plan"]).version == plan_version + 1
    (snooze,) = snooze_rows(engine)
    assert (snooze.item_kind, snooze.item_id, snooze.previous_due) == (
        str(kind),
        item.item_id,
        item.due_date,
    )
    assert latest_events(services, str(kind), item.item_id)[0].changed_fields == ("due_date",)
    remaining = row_for(services.worklist.today(None), patient_id).items
    assert item not in remaining

    services.worklist.undo(token)

    assert load(engine, model, item.item_id).due_date == item.due_date
    assert item in row_for(services.worklist.today(None), patient_id).items


@pytest.mark.parametrize(
    ("until", "reason", "field"),
    [
        (TODAY + timedelta(days=1), "", "reason"),
        (TODAY + timedelta(days=1), "   ", "reason"),
        (TODAY + timedelta(days=1), None, "reason"),
        (TODAY, "busy", "until"),
        (TODAY - timedelta(days=1), "busy", "until"),
        ("next week", "busy", "until"),
    ],
)
@pytest.mark.parametrize("kind", ["task", "contact", "reply", "plan"])
def test_bad_snooze_is_refused_and_nothing_is_written(services, world, kind, until, reason, field):
    engine = services.context.engine
    item = row_for(services.worklist.today(None), world[kind]).items[0]
    events = audit_count(services)
    before = services.worklist.today(None)

    with pytest.raises(ValidationError) as error:
        services.worklist.snooze(world[kind], item, until, reason)

    assert error.value.field == field
    assert audit_count(services) == events
    assert snooze_rows(engine) == []
    assert services.worklist.today(None) == before


def test_undo_refuses_when_the_item_changed_since(services, world):
    engine = services.context.engine
    contact_item = row_for(services.worklist.today(None), world["contact"]).items[0]
    contact_token = services.worklist.snooze(
        world["contact"], contact_item, TODAY + timedelta(days=2), "away"
    )
    services.patients.set_next_contact_due(world["contact"], TODAY + timedelta(days=9))
    task_item = row_for(services.worklist.today(None), world["task"]).items[0]
    task_token = services.worklist.done(world["task"], task_item)
    services.tasks.reopen(task_item.item_id)
    events = audit_count(services)

    with pytest.raises(ServiceError, match="changed"):
        services.worklist.undo(contact_token)
    with pytest.raises(ServiceError, match="changed"):
        services.worklist.undo(task_token)

    assert audit_count(services) == events
    assert load(engine, Patient, world["contact"]).next_contact_due == TODAY + timedelta(days=9)
    assert snooze_rows(engine)[0].undone_at is None
    assert load(engine, Task, task_item.item_id).status == "requested"


def test_undo_twice_is_refused(services, world):
    item = row_for(services.worklist.today(None), world["reply"]).items[0]
    token = services.worklist.done(world["reply"], item)
    services.worklist.undo(token)
    events = audit_count(services)

    with pytest.raises(ServiceError):
        services.worklist.undo(token)

    assert audit_count(services) == events


# ------------------------------------------------------------- empty state


def test_next_due_date_for_the_empty_state(services, clock):
    assert services.worklist.next_due_date(None) is None
    patient_id = add_patient(services, due=TODAY + timedelta(days=10))
    assert services.worklist.next_due_date(None) == TODAY + timedelta(days=10)
    services.tasks.add(patient_id, "Order supplies", TODAY + timedelta(days=6))
    assert services.worklist.next_due_date(None) == TODAY + timedelta(days=6)
    add_plan_items(services, patient_id, TODAY + timedelta(days=5), TODAY + timedelta(days=4))
    assert services.worklist.next_due_date(None) == TODAY + timedelta(days=4)
    # A routine reply expected on Monday 30 Nov shows as late on Tuesday 1 Dec.
    services.referrals.create(
        patient_id, "social-work", "County SW", "housing", expected_reply_date="2026-11-30"
    )
    assert services.worklist.next_due_date(None) == date(2026, 12, 1)
    assert services.worklist.today(None) == []
    services.nurses.create("bob", "Bob Okafor")
    assert services.worklist.next_due_date(services.nurses.get_by_username("bob").id) is None
    assert services.worklist.next_due_date(services.context.nurse_id) == date(2026, 12, 1)


# ------------------------------------------------------------------ summary


def test_summary_for_the_rounds_card(services, clock, world):
    patient_id = world["safety"]
    services.conditions.add(patient_id, "Heart failure")
    services.conditions.add(patient_id, "Old fracture", clinical_status="resolved")
    for hours, outcome in (
        (-50, "no-answer"),
        (-30, "left-message"),
        (-20, "reached"),
        (-2, "reached"),
    ):
        services.contacts.log(
            patient_id,
            datetime(2026, 11, 27, 9, 0) + timedelta(hours=hours),
            "phone",
            "patient",
            outcome,
            5,
        )
    services.tasks.add(patient_id, "Recheck mood", TODAY + timedelta(days=3))
    add_referral_days_ago(services, clock, patient_id, 4, priority="urgent")
    services.assessments.record(
        patient_id,
        "phq-9",
        dict(PHQ9_ZERO, item1=3, item9=0),
    )
    services.assessments.record(patient_id, "gad-7", {f"item{n}": 1 for n in range(1, 8)})

    summary = services.worklist.summary(patient_id)

    assert (summary.mrn, summary.family_name, summary.age, summary.risk_tier) == (
        load(services.context.engine, Patient, patient_id).mrn,
        "Safety",
        76,
        "moderate",
    )
    assert summary.phone == "503-555-0100"
    assert summary.conditions == ("Heart failure",)
    assert [(contact.outcome, contact.minutes) for contact in summary.contacts] == [
        ("reached", 5),
        ("reached", 5),
        ("left-message", 5),
    ]
    assert [task.description for task in summary.tasks][-1] == "Recheck mood"
    assert summary.tasks[0].id == world["safety_task"]
    assert [
        (referral.service, referral.status, referral.days_in_status)
        for referral in summary.referrals
    ] == [("PT", "requested", 4)]
    scores = {score.instrument: score for score in summary.scores}
    assert set(scores) == {"PHQ-9", "GAD-7"}
    # The latest PHQ-9 (total 3, recorded after the one with item 9), once per instrument.
    assert scores["PHQ-9"].summary.startswith("PHQ-9 3")
    assert scores["PHQ-9"].performed_on == TODAY


def test_summary_of_a_missing_patient_is_not_found(services):
    with pytest.raises(NotFoundError):
        services.worklist.summary(999)


def test_actions_need_a_signed_in_nurse(services, world):
    from nursecase.services.errors import NoNurseError

    item = row_for(services.worklist.today(None), world["contact"]).items[0]
    services.context.nurse_id = None
    with pytest.raises(NoNurseError):
        services.worklist.done(world["contact"], item)


def test_audit_events_are_counted_per_action(services, world):
    """Chasing a referral writes exactly two events: the referral and the snooze row."""
    item = row_for(services.worklist.today(None), world["reply"]).items[0]
    events = audit_count(services)
    services.worklist.done(world["reply"], item)
    assert audit_count(services) == events + 2
    with Session(services.context.engine) as session:
        entities = session.execute(
            select(AuditEvent.entity).order_by(AuditEvent.id.desc()).limit(2)
        ).scalars()
        assert sorted(entities) == ["referral", "worklist_snooze"]
        assert session.execute(select(func.count()).select_from(WorklistSnooze)).scalar_one() == 1


def test_a_snoozed_tcm_clock_leaves_today_until_its_new_date(services, world, clock):
    patient_id = world["tcm"]
    row = row_for(services.worklist.today(None), patient_id)
    item = next(item for item in row.items if item.kind == DueKind.tcm)
    until = TODAY + timedelta(days=2)
    services.worklist.snooze(patient_id, item, until, "readmitted to hospital")
    remaining = [
        candidate.item_id
        for entry in services.worklist.today(None)
        if entry.patient_id == patient_id
        for candidate in entry.items
    ]
    assert item.item_id not in remaining
    clock.advance(days=2)
    back = row_for(services.worklist.today(None), patient_id)
    assert item.item_id in [candidate.item_id for candidate in back.items]


# ------------------------------------------------------------------ flags


def test_the_header_and_the_card_ask_for_the_flags_today_shows(services, world):
    rows = services.worklist.today(None)
    asked = services.worklist.flags_for(list(world.values()))

    for name in ("safety", "tcm", "stuck", "task", "contact", "reply", "plan"):
        patient_id = world[name]
        assert asked[patient_id] == row_for(rows, patient_id).flags, name
        assert services.chart.load(patient_id).flags == asked[patient_id], name
    assert asked[world["safety"]] == (Flag.safety,)
    assert asked[world["stuck"]] == (Flag.referral_late,)
    assert asked[world["tcm"]] == (Flag.tcm,)


def test_a_discharge_within_30_days_of_the_previous_one_is_a_readmission(services, clock):
    readmitted = add_patient(services, "Again")
    apart = add_patient(services, "Apart")
    clock.advance(days=-30)
    services.transitions.record_discharge(readmitted, TODAY - timedelta(days=31))
    services.transitions.record_discharge(apart, TODAY - timedelta(days=33))
    clock.advance(days=30)
    services.transitions.record_discharge(readmitted, TODAY - timedelta(days=1))
    services.transitions.record_discharge(apart, TODAY - timedelta(days=1))

    flags = services.worklist.flags_for([readmitted, apart])
    rows = services.worklist.today(None)

    # 30 days apart: a readmission, beside the new discharge's open TCM clock.
    assert flags[readmitted] == (Flag.tcm, Flag.readmission)
    assert row_for(rows, readmitted).flags == flags[readmitted]
    # 32 days apart: a new discharge, not a readmission.
    assert flags[apart] == (Flag.tcm,)
    assert row_for(rows, apart).flags == flags[apart]
    # Once the new discharge's steps leave Today (met), so does the flag.
    services.contacts.log(readmitted, "2026-11-27 08:00", "home-visit", "patient", "reached", 40)
    assert services.worklist.flags_for([readmitted])[readmitted] == ()


# ---------------------------------------------------------------- TCM clocks


def tcm_reasons(services, patient_id) -> list[str]:
    rows = [row for row in services.worklist.today(None) if row.patient_id == patient_id]
    return [
        reason
        for row in rows
        for item, reason in zip(row.items, row.reasons, strict=True)
        if item.kind is DueKind.tcm
    ]


def test_a_missed_tcm_step_is_on_today_once_and_nothing_after_the_period(services, clock):
    # Discharged Wed 25 Nov (high complexity): contact due Fri 27, shown missed Mon 30;
    # visit due Wed 2 Dec, shown missed Thu 3 Dec. The sweep never runs here.
    patient_id = add_patient(services, "Clock")
    services.transitions.record_discharge(patient_id, "2026-11-25", high_complexity=True)
    seen = {}
    for day in range(0, 40):
        seen[TODAY + timedelta(days=day)] = tcm_reasons(services, patient_id)
        clock.advance(days=1)
    assert seen[TODAY] == ["TCM day 2 of 2", "TCM visit day 2 of 7"]
    assert seen[date(2026, 11, 28)] == ["TCM visit day 3 of 7"]  # Saturday: not shown yet
    assert seen[date(2026, 11, 30)] == [
        "TCM contact missed (due Fri 27 Nov)",
        "TCM visit day 5 of 7",
    ]
    assert seen[date(2026, 12, 1)] == ["TCM visit day 6 of 7"]
    assert seen[date(2026, 12, 3)] == ["TCM visit missed (due Wed 2 Dec)"]
    after = [day for day, reasons in seen.items() if reasons and day > date(2026, 12, 3)]
    assert after == []
    # The tasks are still open (nothing swept them), yet Today left them.
    assert len(services.tasks.list_for_patient(patient_id)) == 2


def test_a_tcm_step_met_by_attempts_leaves_today(services):
    patient_id = add_patient(services, "Caller")
    services.transitions.record_discharge(patient_id, "2026-11-26")
    services.contacts.log(patient_id, "2026-11-26 15:00", "phone", "patient", "no-answer", 1)
    assert tcm_reasons(services, patient_id) == [
        "TCM day 1 of 2, 1 attempt",
        "TCM visit day 1 of 14",
    ]
    services.contacts.log(patient_id, "2026-11-27 08:30", "phone", "patient", "left-message", 1)
    assert tcm_reasons(services, patient_id) == ["TCM visit day 1 of 14"]


def test_a_readmission_takes_the_earlier_period_off_today(services, engine):
    patient_id = add_patient(services, "Again")
    services.transitions.record_discharge(patient_id, "2026-11-20")
    services.transitions.record_discharge(patient_id, "2026-11-26")
    # Even if the earlier tasks were left open (an old database), Today ignores them.
    with Session(engine) as session, session.begin():
        for task in session.execute(select(Task).where(Task.patient_id == patient_id)).scalars():
            task.status = "requested"
    assert tcm_reasons(services, patient_id) == ["TCM day 1 of 2", "TCM visit day 1 of 14"]


def test_a_tcm_step_is_not_ticked_off_from_today(services, world):
    """CMS counts the contact or visit itself: done on a TCM item is refused, nothing written."""
    row = row_for(services.worklist.today(None), world["tcm"])
    item = next(item for item in row.items if item.kind is DueKind.tcm)
    before = audit_count(services)

    with pytest.raises(ValidationError) as refused:
        services.worklist.done(world["tcm"], item)
    with pytest.raises(ValidationError) as refused_task:
        services.tasks.complete(item.item_id)

    assert "met by logging the contact or the visit" in str(refused.value)
    assert refused_task.value.field == "task"
    assert services.tasks.get(item.item_id).status == "requested"
    assert audit_count(services) == before


def test_done_on_a_missed_tcm_step_notes_it_as_missed_and_undo_reopens_it(services, clock):
    patient_id = add_patient(services, "Missed")
    services.transitions.record_discharge(patient_id, "2026-11-25")  # contact due Fri 27
    clock.advance(days=3)  # Mon 30 Nov: the contact is shown missed, once
    row = row_for(services.worklist.today(None), patient_id)
    item = next(item for item in row.items if item.kind is DueKind.tcm and item.missed)

    token = services.worklist.done(patient_id, item)

    task = services.tasks.get(item.item_id)
    assert (task.status, task.done_at) == ("failed", datetime(2026, 11, 30, 9, 0))
    assert all(
        not entry.missed for entry in row_for(services.worklist.today(None), patient_id).items
    )
    services.worklist.undo(token)
    assert services.tasks.get(item.item_id).status == "requested"
