"""Load: N simulated nurses doing rounds at once (issue 9), with a lost-update check.

Usage: python bench/load_rounds.py --db LOCATION [--processes 20] [--seconds 60]
       [--patients 2000] [--shared-share 0.2] [--fresh]

LOCATION is an SQLite file or an SQLAlchemy URL (PostgreSQL). The database is
upgraded to the current schema and, when it holds no patient, seeded with
``nursecase.demo.seed_database`` (2,000 patients: 17 nurses). ``--fresh``
first drops the database (PostgreSQL: DROP/CREATE through an AUTOCOMMIT
engine on the server's ``postgres`` database; SQLite: the file, its -wal/-shm
and its audit key) and is refused unless the database or file name starts
with ``bench_load``. When ``NURSECASE_HOME`` is not set, it is set to a
folder in the temporary directory, so a server database's audit key file is
kept there rather than in the user's data folder.

Then PROCESSES worker processes (multiprocessing, spawn) sign in, each as a
seeded nurse in turn (with more processes than nurses some share a
username), wait at one barrier and start together. Each loops until SECONDS
have passed, doing a round:

1. open patient: ``chart.open`` (what the patient detail screen calls: the
   view's audit event, then the whole chart);
2. log contact: ``contacts.log``, a phone call, 5-30 minutes;
3. move referral: one open referral of the chart one legal step forward (the
   first move of the state machine; an outcome is given for "completed"),
   with the version read when the chart opened. No open referral in the
   chart: the nurse's queue (``referrals.list_for_nurse``, "read queue");
   none there either: ``referrals.create`` on the patient ("add referral");
4. complete task: one open task of the chart; else one of the nurse's open
   tasks ("read tasks"); else ``tasks.add`` on the patient ("add task").

A SHARE of the rounds (default 0.2) open one of 5 shared patients instead of
one of the nurse's own, so concurrent writers really collide on the same
referrals and tasks. A refusal the services are meant to give in a
collision (StaleEditError; "status" refused by the state machine or by a
task that is no longer open) counts as "conflict refused". Any other
exception is an error, printed by action with its type and message.

Every action is timed with perf_counter. At the end the database is checked
for lost updates (each mismatch counts one):

- contacts: the contact rows written during the run are exactly the ones
  the workers reported logged (id, patient, author);
- referrals: the status-history rows written during the run are exactly
  the reported moves (plus two rows per referral created); no two reported
  moves started from the same (referral, version); every touched referral's
  status is its last history row's; the audit trail has one status update
  per reported move; every touched patient's open-referral count equals
  its open referrals;
- tasks: no task was reported completed twice; each one is completed in
  the database, with exactly one status update in the audit trail since
  the start;
- patients: each touched patient's last_contact_at is its newest contact;
- the audit chain verifies (``AuditService.verify``).

Printed: the figures, per action and overall latencies (p50/p95/max), and a
markdown block to paste into bench/results.md.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ACTIONS = (
    "open patient",
    "log contact",
    "move referral",
    "complete task",
    "read queue",
    "read tasks",
    "add referral",
    "add task",
)
SHARED_PATIENTS = 5
QUEUE_LIMIT = 50
BENCH_PREFIX = "bench_load"


@dataclass
class WorkerResult:
    """What one worker did: latencies, counts and what it saved, for the checks."""

    index: int
    username: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    successes: Counter = field(default_factory=Counter)
    conflicts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    rounds: int = 0
    #: (contact id, patient id, author nurse id)
    contacts: list[tuple[int, int, int]] = field(default_factory=list)
    #: (referral id, version moved from, from status, to status)
    moves: list[tuple[int, int, str, str]] = field(default_factory=list)
    referrals_created: list[int] = field(default_factory=list)
    tasks_completed: list[int] = field(default_factory=list)
    patients_touched: set[int] = field(default_factory=set)
    failure: str | None = None


# ------------------------------------------------------------------ the worker


def _is_conflict(action: str, error: Exception) -> bool:
    """A refusal the services give when a colleague got there first."""
    from nursecase.domain.validation import ValidationError
    from nursecase.services.errors import StaleEditError

    if isinstance(error, StaleEditError):
        return True
    return (
        action in ("move referral", "complete task")
        and isinstance(error, ValidationError)
        and error.field == "status"
    )


def _next_step(status: str) -> tuple[str, dict[str, str]]:
    """The first legal forward move from ``status``, with what it needs."""
    from nursecase.domain.codes import ReferralStatus
    from nursecase.domain.referral_states import OUTCOME_REQUIRED, REASON_REQUIRED, TRANSITIONS

    target = TRANSITIONS[ReferralStatus(status)][0]
    needs: dict[str, str] = {}
    if target in OUTCOME_REQUIRED:
        needs["outcome"] = "Service delivered (load benchmark)"
    if target in REASON_REQUIRED:
        needs["reason"] = "Closed by the load benchmark"
    return str(target), needs


def worker(
    index: int,
    location: str,
    username: str,
    shared_ids: list[int],
    seconds: float,
    shared_share: float,
    barrier,
    results,
) -> None:
    """One nurse's rounds until time is up; the result goes to ``results``."""
    result = WorkerResult(index=index, username=username)
    try:
        _run_worker(result, location, shared_ids, seconds, shared_share, barrier)
    except Exception:  # noqa: BLE001 - reported to the parent, which prints it
        result.failure = traceback.format_exc(limit=6)
        with contextlib.suppress(Exception):
            barrier.abort()  # the parent and the others stop waiting
    result.latencies = dict(result.latencies)
    results.put(result)


def _run_worker(result, location, shared_ids, seconds, shared_share, barrier) -> None:
    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.domain.referral_states import OPEN_STATUSES
    from nursecase.services import make_services

    clock = SystemClock()
    engine = make_engine(location)
    services = make_services(engine, clock, nurse=result.username)
    nurse_id = services.context.nurse_id
    own_ids = [row.id for row in services.patients.list_page(nurse_id=nurse_id, limit=1000)]
    open_codes = {str(status) for status in OPEN_STATUSES}
    rng = random.Random(result.index)
    # Warm up the compiled-statement cache off the clock (one chart read).
    services.chart.load(own_ids[0])

    def timed(action, call, *args, **kwargs):
        started = time.perf_counter()
        try:
            value = call(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - classified below
            result.latencies[action].append(time.perf_counter() - started)
            if _is_conflict(action, error):
                result.conflicts[action] += 1
            else:
                message = " ".join(str(error).split())[:160]
                result.errors[(action, type(error).__name__, message)] += 1
            return None
        result.latencies[action].append(time.perf_counter() - started)
        result.successes[action] += 1
        return value

    barrier.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result.rounds += 1
        shared = rng.random() < shared_share
        patient_id = rng.choice(shared_ids if shared else own_ids)
        result.patients_touched.add(patient_id)
        chart = timed("open patient", services.chart.open, patient_id)
        if chart is None:
            continue

        contact = timed(
            "log contact",
            services.contacts.log,
            patient_id,
            clock.now(),
            "phone",
            "patient",
            "reached",
            rng.randint(5, 30),
        )
        if contact is not None:
            result.contacts.append((contact.id, patient_id, nurse_id))

        referrals = [item for item in chart.referrals if item.status in open_codes]
        if not referrals and not shared:
            queue = timed(
                "read queue", services.referrals.list_for_nurse, nurse_id, limit=QUEUE_LIMIT
            )
            referrals = list(queue or [])
        if not referrals:
            created = timed(
                "add referral",
                services.referrals.create,
                patient_id,
                "home-health",
                "Load Benchmark Home Health",
                "Skilled nursing visits (load benchmark)",
            )
            if created is not None:
                result.referrals_created.append(created.id)
                referrals = [created]
        if referrals:
            referral = rng.choice(referrals)
            result.patients_touched.add(referral.patient_id)
            target, needs = _next_step(referral.status)
            moved = timed(
                "move referral",
                services.referrals.transition,
                referral.id,
                target,
                referral.version,
                **needs,
            )
            if moved is not None:
                result.moves.append((referral.id, referral.version, referral.status, target))

        tasks = [task for task in chart.tasks if task.is_open]
        if not tasks and not shared:
            tasks = timed("read tasks", services.tasks.list_open_for_nurse, nurse_id) or []
        if not tasks:
            added = timed(
                "add task",
                services.tasks.add,
                patient_id,
                "Call back about the plan (load benchmark)",
                clock.today(),
            )
            tasks = [added] if added is not None else []
        if tasks:
            task = rng.choice(tasks)
            result.patients_touched.add(task.patient_id)
            if timed("complete task", services.tasks.complete, task.id) is not None:
                result.tasks_completed.append(task.id)
    engine.dispose()


# ------------------------------------------------------------ the database


def _is_server(location: str) -> bool:
    return "://" in location and not location.startswith("sqlite")


def _fresh(location: str) -> None:
    """Drop the benchmark database (refused for any name not starting with bench_load)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if _is_server(location):
        url = make_url(location)
        name = url.database or ""
        if not name.startswith(BENCH_PREFIX):
            sys.exit(f"--fresh drops the database: its name must start with {BENCH_PREFIX}")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        if "://" in location:
            sys.exit("--fresh on SQLite takes a file path, not a URL")
        path = Path(location)
        if not path.name.startswith(BENCH_PREFIX):
            sys.exit(f"--fresh deletes the file: its name must start with {BENCH_PREFIX}")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    # The old database's audit key would make the new trail look forged.
    from nursecase.db.engine import make_engine
    from nursecase.services.audit_anchor import anchor_path

    engine = make_engine(location)
    key = anchor_path(engine)
    engine.dispose()
    if key is not None:
        key.unlink(missing_ok=True)


def _prepare(location: str, patients: int) -> tuple[list, list[int], float]:
    """Upgrade, seed when empty; the nurses, the shared patients and the seed time."""
    from sqlalchemy import func, select

    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.db.models import Patient
    from nursecase.demo import seed_database
    from nursecase.paths import default_paths
    from nursecase.services import make_services

    engine = make_engine(location)
    ensure_schema(engine, backup_folder=default_paths().backups)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    seed_seconds = 0.0
    if not count:
        started = time.perf_counter()
        seed_database(engine, SystemClock(), patients=patients, seed=7)
        seed_seconds = time.perf_counter() - started
    services = make_services(engine, SystemClock())
    nurses = services.nurses.list_nurses()
    # One sign-in here makes the audit key before the workers race to make it.
    services.nurses.sign_in(nurses[0].username)
    with engine.connect() as connection:
        shared = connection.execute(
            select(Patient.id).order_by(Patient.id).limit(SHARED_PATIENTS)
        ).scalars()
        shared_ids = list(shared)
    engine.dispose()
    return nurses, shared_ids, seed_seconds


def _high_water(location: str) -> dict[str, int]:
    """The largest id of each table the checks look at, before the run."""
    from sqlalchemy import func, select

    from nursecase.db.engine import make_engine
    from nursecase.db.models import AuditEvent, Contact, ReferralStatusHistory

    engine = make_engine(location)
    with engine.connect() as connection:
        marks = {
            name: connection.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()
            for name, model in (
                ("contact", Contact),
                ("history", ReferralStatusHistory),
                ("audit", AuditEvent),
            )
        }
    engine.dispose()
    return marks


def _check(location: str, marks: dict[str, int], results: list[WorkerResult]) -> dict[str, int]:
    """Lost updates found in the database, by check (0 everywhere when none)."""
    from sqlalchemy import func, select

    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.models import (
        AuditEvent,
        Contact,
        Patient,
        Referral,
        ReferralStatusHistory,
        Task,
    )
    from nursecase.domain.referral_states import OPEN_STATUSES
    from nursecase.services import make_services

    engine = make_engine(location)
    found: dict[str, int] = {}
    reported_contacts = Counter(row for item in results for row in item.contacts)
    moves = [move for item in results for move in item.moves]
    created = [referral for item in results for referral in item.referrals_created]
    completed = Counter(task for item in results for task in item.tasks_completed)
    touched = set().union(*(item.patients_touched for item in results))
    open_codes = sorted(str(status) for status in OPEN_STATUSES)

    with engine.connect() as connection:
        stored_contacts = Counter(
            tuple(row)
            for row in connection.execute(
                select(Contact.id, Contact.patient_id, Contact.author_id).where(
                    Contact.id > marks["contact"]
                )
            )
        )
        found["contacts: stored vs reported"] = sum(
            ((stored_contacts - reported_contacts) + (reported_contacts - stored_contacts)).values()
        )

        history = connection.execute(
            select(
                ReferralStatusHistory.referral_id,
                ReferralStatusHistory.from_status,
                ReferralStatusHistory.to_status,
            )
            .where(ReferralStatusHistory.id > marks["history"])
            .order_by(ReferralStatusHistory.id)
        ).all()
        stored_moves = Counter(tuple(row) for row in history)
        expected_moves = Counter((referral, old, new) for referral, _, old, new in moves)
        for referral in created:
            expected_moves[(referral, None, "draft")] += 1
            expected_moves[(referral, "draft", "requested")] += 1
        found["referral history: stored vs reported"] = sum(
            ((stored_moves - expected_moves) + (expected_moves - stored_moves)).values()
        )
        from_versions = Counter((referral, version) for referral, version, _, _ in moves)
        found["referral moves from one version"] = sum(n - 1 for n in from_versions.values())
        moved_ids = {referral for referral, *_ in moves} | set(created)
        last_to: dict[int, str] = {}
        for referral, _, new in history:
            last_to[referral] = new
        statuses = dict(
            connection.execute(
                select(Referral.id, Referral.status).where(Referral.id.in_(moved_ids or {0}))
            ).all()
        )
        found["referral status vs history"] = sum(
            statuses.get(referral) != last_to.get(referral) for referral in moved_ids
        )
        status_events = connection.execute(
            select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.changed_fields).where(
                AuditEvent.id > marks["audit"], AuditEvent.action == "update"
            )
        ).all()
        referral_events = sum(
            1
            for entity, _, fields in status_events
            if entity == "referral" and "status" in (fields or "").split(",")
        )
        found["referral audit events vs moves"] = abs(referral_events - len(moves))
        open_counts = dict(
            connection.execute(
                select(Referral.patient_id, func.count())
                .where(Referral.patient_id.in_(touched or {0}), Referral.status.in_(open_codes))
                .group_by(Referral.patient_id)
            ).all()
        )
        stored_counts = dict(
            connection.execute(
                select(Patient.id, Patient.open_referral_count).where(
                    Patient.id.in_(touched or {0})
                )
            ).all()
        )
        found["patients: open referral count"] = sum(
            stored_counts[patient] != open_counts.get(patient, 0) for patient in stored_counts
        )

        found["tasks reported completed twice"] = sum(n - 1 for n in completed.values())
        task_status = dict(
            connection.execute(
                select(Task.id, Task.status).where(Task.id.in_(set(completed) or {0}))
            ).all()
        )
        found["tasks not completed in the database"] = sum(
            task_status.get(task) != "completed" for task in completed
        )
        task_events = Counter(
            entity_id
            for entity, entity_id, fields in status_events
            if entity == "task" and "status" in (fields or "").split(",")
        )
        found["tasks: status events vs completions"] = sum(
            task_events.get(task, 0) != 1 for task in completed
        )

        newest = dict(
            connection.execute(
                select(Contact.patient_id, func.max(Contact.occurred_at))
                .where(Contact.patient_id.in_(touched or {0}), Contact.referral_id.is_(None))
                .group_by(Contact.patient_id)
            ).all()
        )
        last_contact = dict(
            connection.execute(
                select(Patient.id, Patient.last_contact_at).where(Patient.id.in_(touched or {0}))
            ).all()
        )
        contacted = {patient for _, patient, _ in reported_contacts}
        found["patients: last contact vs newest contact"] = sum(
            _as_text(last_contact.get(patient)) != _as_text(newest.get(patient))
            for patient in contacted
        )

    verification = make_services(engine, SystemClock()).audit.verify()
    found["audit chain verifies"] = 0 if verification.ok else 1
    if not verification.ok:
        print(f"audit verify: {verification.problem}: {verification.message}")
    engine.dispose()
    return found


def _as_text(value) -> str | None:
    """A timestamp compared as text (SQLite may return an aggregate as a string)."""
    if value is None:
        return None
    return str(value).replace("T", " ")[:19]


# ------------------------------------------------------------------ report


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _milliseconds(values: list[float]) -> str:
    if not values:
        return "| | |"
    p50, p95 = statistics.median(values), _percentile(values, 0.95)
    return f"| {p50 * 1000:.1f} | {p95 * 1000:.1f} | {max(values) * 1000:.1f} |"


def _describe(location: str) -> str:
    if not _is_server(location):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}, file {location}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(location)
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
        fsync = connection.execute(text("SHOW fsync")).scalar_one()
        synchronous = connection.execute(text("SHOW synchronous_commit")).scalar_one()
    engine.dispose()
    url = make_url(location)
    return (
        f"PostgreSQL {version} on {url.host}:{url.port}, database {url.database}"
        f" (fsync {fsync}, synchronous_commit {synchronous})"
    )


def _report(arguments, results, elapsed, lost, describe, seed_seconds, load) -> None:
    latencies: dict[str, list[float]] = defaultdict(list)
    successes, conflicts, errors = Counter(), Counter(), Counter()
    for item in results:
        for action, values in item.latencies.items():
            latencies[action].extend(values)
        successes.update(item.successes)
        conflicts.update(item.conflicts)
        errors.update(item.errors)
    every = [value for values in latencies.values() for value in values]
    saved, refused = sum(successes.values()), sum(conflicts.values())
    error_count, lost_count = sum(errors.values()), sum(lost.values())
    rounds = sum(item.rounds for item in results)
    nurses = len({item.username for item in results})
    finished = saved + refused + error_count

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python", end=" ")
    print(platform.python_version())
    print(f"load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f}")
    print(f"database: {describe}")
    if seed_seconds:
        print(f"seeded {arguments.patients} patients in {seed_seconds:.1f} s")
    print(f"processes: {arguments.processes} ({nurses} distinct nurses)")
    print(f"seconds: {arguments.seconds} (elapsed {elapsed:.1f} s from the barrier)")
    print(f"shared pool: {SHARED_PATIENTS} patients, {arguments.shared_share:.0%} of rounds")
    print(f"rounds: {rounds}")
    print(f"actions done: {saved} saved or read, {refused} conflicts refused, {error_count} errors")
    print(f"throughput: {finished / elapsed:.1f} actions/s ({saved / elapsed:.1f} saved/s)")
    print(f"lost updates: {lost_count}")
    for name, count in lost.items():
        print(f"  {name:45} {count}")
    for (action, kind, message), count in sorted(errors.items()):
        print(f"  error x{count}: {action}: {kind}: {message}")
    print()
    header = "| action | done | conflicts refused | errors | p50 ms | p95 ms | max ms |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for action in ACTIONS:
        if action not in latencies:
            continue
        action_errors = sum(count for (name, _, _), count in errors.items() if name == action)
        lines.append(
            f"| {action} | {successes[action]} | {conflicts[action]} | {action_errors} "
            + _milliseconds(latencies[action])
        )
    lines.append(f"| **all actions** | {saved} | {refused} | {error_count} " + _milliseconds(every))
    summary = [
        "| processes | seconds | actions | conflicts refused | errors | lost updates"
        " | actions/s | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {arguments.processes} | {arguments.seconds} | {finished} | {refused}"
        f" | {error_count} | {lost_count} | {finished / elapsed:.1f} " + _milliseconds(every),
    ]
    print("markdown, to paste into bench/results.md:")
    print()
    print("\n".join(summary))
    print()
    print("\n".join(lines))


# -------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLite file or SQLAlchemy URL")
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--patients", type=int, default=2000, help="seed size if empty")
    parser.add_argument("--shared-share", type=float, default=0.2)
    parser.add_argument("--fresh", action="store_true", help="drop the bench_load* database")
    arguments = parser.parse_args()
    location = arguments.db if "://" in arguments.db else str(Path(arguments.db).resolve())
    if not os.environ.get("NURSECASE_HOME", "").strip():
        home = Path(tempfile.gettempdir()) / "nursecase-bench-load-home"
        home.mkdir(mode=0o700, exist_ok=True)
        os.environ["NURSECASE_HOME"] = str(home)  # inherited by the workers

    if arguments.fresh:
        _fresh(location)
    nurses, shared_ids, seed_seconds = _prepare(location, arguments.patients)
    marks = _high_water(location)
    # Other people's work on the machine shows here (the workers' own load too, after).
    load_before = os.getloadavg()[0]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(arguments.processes + 1)
    queue = context.Queue()
    processes = [
        context.Process(
            target=worker,
            args=(
                index,
                location,
                nurses[index % len(nurses)].username,
                shared_ids,
                arguments.seconds,
                arguments.shared_share,
                barrier,
                queue,
            ),
        )
        for index in range(arguments.processes)
    ]
    for process in processes:
        process.start()
    # A broken barrier: a worker failed before the start, and its result says why.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.monotonic()
    results = [queue.get() for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    failures = [item for item in results if item.failure]
    for item in failures:
        print(f"worker {item.index} ({item.username}) failed:\n{item.failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    results.sort(key=lambda item: item.index)
    lost = _check(location, marks, results)
    load = (load_before, os.getloadavg()[0])
    _report(arguments, results, elapsed, lost, _describe(location), seed_seconds, load)


if __name__ == "__main__":
    main()
