"""A seed beside other writers (issue 17, item 5): it neither breaks them nor breaks on them.

The other writer has an engine (a connection pool) of its own and writes
between the seed's chunks, exactly where another process would slip in: after
a chunk committed and before the next one began.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nursecase.db.engine import integrity_problems, make_engine
from nursecase.db.models import Contact, Patient
from nursecase.demo import SeedStopped, seed_database
from nursecase.domain.codes import AuditAction
from nursecase.services import audit, make_services
from nursecase.services.audit import AuditService
from nursecase.services.context import ServiceContext


def test_a_seed_and_another_writer_interleave_without_an_error(engine, clock, database):
    other_engine = make_engine(database)
    other = make_services(other_engine, clock)
    other.nurses.create("zoe", "Zoe Writer", "RN")
    other.nurses.sign_in("zoe")
    written: list[int] = []

    def write_between_chunks(done: int) -> None:
        # Takes ids of patient, episode, contact and audit_event the seed planned to use.
        patient = other.patients.create(f"W-{done}", "Between", "Chunks")
        other.contacts.log(patient.id, datetime(2026, 11, 26, 8), "phone", "patient", "reached", 5)
        # Rows whose ids the seed's tasks and plan revisions name by a code, not a key.
        other.referrals.create(patient.id, "home-health", "Visiting Nurses", "wound care")
        other.transitions.record_discharge(patient.id, "2026-11-25", "General")
        other.care_plans.create(patient.id, "Between chunks")
        with other.context.write() as session:  # what an export records
            audit.record(session, other.context, AuditAction.export, "caseload", None, ["csv"])
        written.append(patient.id)

    try:
        summary = seed_database(
            engine,
            clock,
            patients=60,
            seed=5,
            progress=write_between_chunks,
            parallel=False,
            chunk_patients=20,
        )
    finally:
        other_engine.dispose()
    assert summary.patients == 60 and len(written) == 3
    with engine.connect() as connection:
        patients = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
        mrns = connection.execute(select(Patient.mrn)).scalars().all()
        theirs = connection.execute(
            select(func.count()).select_from(Contact).where(Contact.patient_id.in_(written))
        ).scalar_one()
        assert integrity_problems(connection) == []
    assert patients == 63 and len(set(mrns)) == 63
    assert theirs == 3  # the other writer's contacts still belong to its patients
    assert _misdirected_references(engine) == []
    assert AuditService(ServiceContext(engine, clock)).verify_chain() is None


def _misdirected_references(engine) -> list[str]:
    """Tasks and plan revisions whose coded reference names another patient's row."""
    checks = {
        "referral": "SELECT t.id FROM task t JOIN referral r ON r.id = t.source_id"
        " WHERE t.source = 'referral' AND r.patient_id != t.patient_id",
        "assessment": "SELECT t.id FROM task t JOIN assessment a ON a.id = t.source_id"
        " WHERE t.source = 'assessment-trigger' AND a.patient_id != t.patient_id",
        "transition": "SELECT t.id FROM task t JOIN transition x ON x.id = t.source_id"
        " WHERE t.source = 'transition-clock' AND x.patient_id != t.patient_id",
        "missing": "SELECT t.id FROM task t WHERE t.source = 'referral'"
        " AND t.source_id NOT IN (SELECT id FROM referral)",
        "revision": "SELECT v.id FROM care_plan_revision v WHERE v.item_kind = 'care_plan'"
        " AND v.item_id != v.care_plan_id",
    }
    found = []
    with engine.connect() as connection:
        for name, statement in checks.items():
            rows = connection.exec_driver_sql(statement).fetchall()
            found.extend(f"{name}: {row[0]}" for row in rows)
    return found


def test_a_seed_stopped_half_way_keeps_whole_chunks_and_says_how_many(engine, clock):
    def stop_after_the_second_chunk(done: int) -> None:
        if done == 40:
            raise OSError("disk full")

    with pytest.raises(SeedStopped) as stopped:
        seed_database(
            engine,
            clock,
            patients=100,
            progress=stop_after_the_second_chunk,
            parallel=False,
            chunk_patients=20,
        )
    assert stopped.value.committed == 40 and stopped.value.requested == 100
    assert str(stopped.value).startswith(
        "seeding stopped after 40 of 100 patients (disk full); the 40 written are kept"
    )
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    assert count == 40
    # The rest can be added with the same seed: new patients, new MRNs.
    seed_database(engine, clock, patients=60, parallel=False, chunk_patients=20)
    with engine.connect() as connection:
        mrns = connection.execute(select(Patient.mrn)).scalars().all()
    assert len(mrns) == 100 and len(set(mrns)) == 100
    assert AuditService(ServiceContext(engine, clock)).verify_chain() is None


# ----------------------------------------------------- a killed seed's child


def _children(parent: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``parent`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, parent_id = fields[0], int(fields[1])
        if parent_id == parent and state != "Z":
            found.append(int(entry.name))
    return found


def _generators(parent: int) -> list[int]:
    """The spawned worker processes among a parent's children (not its resource tracker)."""
    found = []
    for child in _children(parent):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _threads(pid: int) -> int:
    """How many threads the process ``pid`` runs (0 once it is gone)."""
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except OSError:
        return 0


@pytest.mark.sqlite_only
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_killed_seed_leaves_no_generator_process_behind(tmp_path, database_path):
    # The test's migrated database: the seed starts at once instead of migrating a new file.
    database = database_path
    source = str(Path(__file__).resolve().parents[1] / "src")
    environment = {
        **os.environ,
        "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NURSECASE_HOME": str(tmp_path / "home"),
    }
    # From 20,000 patients the rows are built in a child process (PARALLEL_FROM_PATIENTS);
    # the seed is killed long before it has built more than a chunk.
    seeder = subprocess.Popen(
        [sys.executable, "-m", "nursecase", "seed", "--db", str(database), "--patients", "20000"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not children and time.monotonic() < deadline and seeder.poll() is None:
            time.sleep(0.05)
            children = _generators(seeder.pid)
        assert children, "the seed never started its generator process"
        # The generator is building rows once it runs a second thread: the watch on
        # its parent (demo._exit_with_parent, started before the first row) or, were
        # that watch gone, the queue's feeder (after the first chunk). Waiting for
        # that, not for a fixed time, kills it at work however slow the machine is.
        deadline = time.monotonic() + 60
        while any(_threads(child) < 2 for child in children) and time.monotonic() < deadline:
            time.sleep(0.02)
        seeder.send_signal(signal.SIGKILL)
        seeder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [child for child in children if _alive(child)]
        assert survivors == [], "a generator process outlived the killed seed"
    finally:
        for child in children:  # processes this test started, by their ids
            if _alive(child):
                os.kill(child, signal.SIGKILL)
        if seeder.poll() is None:
            seeder.kill()
