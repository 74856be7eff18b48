"""Two workstations saving the same thing at the same moment, on each backend.

Each "workstation" is a thread with its own engine (its own connections), as
two nurses' machines on one database file or one server. To make the race
real, both actions are held at a barrier right after they have read the row
they are about to change; if the database let both read before either wrote,
both would go on with the same stale copy. With the writer queue
(``nursecase.db.locking`` on a server, BEGIN IMMEDIATE on SQLite) the second
cannot even read until the first has committed, the barrier times out, and
the second sees the first's change and is refused.

Without the writer queue and the row locks these tests fail on PostgreSQL:
both nurses complete the task, both move the referral, and a discharge gets
two pairs of TCM tasks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from nursecase.db.engine import make_engine
from nursecase.db.models import AuditEvent, ReferralStatusHistory, Task, Transition
from nursecase.domain.validation import ValidationError
from nursecase.services import make_services
from nursecase.services.errors import StaleEditError

#: How long an action waits at the barrier for its twin (who, when the
#: database queues writers, is still waiting to start).
BARRIER_SECONDS = 1.0


def held_at_barrier(monkeypatch, module, name: str, barrier: threading.Barrier) -> None:
    """Make ``module.name`` wait for the other workstation after it returns."""
    original = getattr(module, name)

    def waiting(*arguments, **keywords):
        result = original(*arguments, **keywords)
        # A broken barrier means the twin is queued behind us: the database at work.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=BARRIER_SECONDS)
        return result

    monkeypatch.setattr(module, name, waiting)


def race(database: str, clock, nurses: tuple[str, str], action: Callable) -> list:
    """Run ``action(services)`` for two nurses at once; each outcome or exception."""
    outcomes: list = [None, None]

    def workstation(position: int) -> None:
        engine = make_engine(database)
        try:
            services = make_services(engine, clock, nurse=nurses[position])
            outcomes[position] = action(services)
        except Exception as error:  # the refusal is the outcome under test
            outcomes[position] = error
        finally:
            engine.dispose()

    threads = [threading.Thread(target=workstation, args=(position,)) for position in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def team(services):
    """Alice (signed in) and Bob, and one of Alice's patients."""
    services.nurses.create("bob", "Bob Reyes", "RN")
    patient = services.patients.create("MRN-R1", "Shared", "Patient")
    return services, patient


def count(engine, statement) -> int:
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def test_two_nurses_completing_one_task_complete_it_once(
    team, database, clock, engine, monkeypatch
):
    services, patient = team
    task = services.tasks.add(patient.id, "Call the pharmacy", date(2026, 11, 27))
    import nursecase.services.tasks as tasks_module

    barrier = threading.Barrier(2)
    held_at_barrier(monkeypatch, tasks_module.TaskService, "_open_task", barrier)
    outcomes = race(database, clock, ("alice", "bob"), lambda s: s.tasks.complete(task.id))

    done = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(done) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], ValidationError) and "completed" in str(refused[0])
    assert services.tasks.get(task.id).status == "completed"
    completions = select(func.count()).where(
        AuditEvent.entity == "task",
        AuditEvent.entity_id == task.id,
        AuditEvent.action == "update",
    )
    assert count(engine, completions) == 1
    assert services.audit.verify_chain() is None


def test_two_nurses_moving_one_referral_move_it_once_and_name_the_colleague(
    team, database, clock, engine, monkeypatch
):
    services, patient = team
    referral = services.referrals.create(patient.id, "home-health", "Sunrise Home Care", "Wound")
    import nursecase.services.referrals as referrals_module

    barrier = threading.Barrier(2)
    held_at_barrier(monkeypatch, referrals_module, "check_version", barrier)
    outcomes = race(
        database,
        clock,
        ("alice", "bob"),
        lambda s: s.referrals.transition(referral.id, "accepted", referral.version),
    )

    moved = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(moved) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], StaleEditError)
    # The refusal names whoever saved first, whichever workstation that was.
    assert refused[0].changed_by in ("Alice Moreno", "Bob Reyes")
    history = select(func.count()).where(
        ReferralStatusHistory.referral_id == referral.id,
        ReferralStatusHistory.to_status == "accepted",
    )
    assert count(engine, history) == 1
    assert services.referrals.get(referral.id).version == referral.version + 1
    assert services.audit.verify_chain() is None


def test_one_discharge_recorded_twice_at_once_makes_one_pair_of_tcm_tasks(
    team, database, clock, engine, monkeypatch
):
    services, patient = team
    import nursecase.services.transitions as transitions_module

    barrier = threading.Barrier(2)
    held_at_barrier(monkeypatch, transitions_module, "load_patient", barrier)
    outcomes = race(
        database,
        clock,
        ("alice", "bob"),
        lambda s: s.transitions.record_discharge(patient.id, date(2026, 11, 25), "General"),
    )

    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], ValidationError) and "already recorded" in str(refused[0])
    assert count(engine, select(func.count()).select_from(Transition)) == 1
    tcm_tasks = select(func.count()).where(
        Task.patient_id == patient.id, Task.source == "transition-clock"
    )
    assert count(engine, tcm_tasks) == 2
    assert services.audit.verify_chain() is None
