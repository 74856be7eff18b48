"""``copy_database``: SQLite <-> PostgreSQL copies that keep every row, and merges by MRN.

Each test runs on both backends (the ``databases`` fixture); the copy goes to
a database of the OTHER backend (``other_backend``), so the SQLite run copies
SQLite -> PostgreSQL and the PostgreSQL run PostgreSQL -> SQLite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from nursecase.db.engine import copy_private_file, make_engine
from nursecase.db.maintenance.copy import (
    AUDIT_TABLE,
    MERGE_BY_MRN,
    CopyError,
    copied_tables,
    copy_database,
)
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.db.models import metadata
from nursecase.db.schema import HEAD_REVISION
from nursecase.services import make_services
from nursecase.services.audit import AuditService
from nursecase.services.audit_anchor import anchor_path
from nursecase.services.context import ServiceContext
from tests.databases import POSTGRESQL_VARIABLE, demo_seeder, postgresql_url, query

#: Databases these tests create on the test server beside the ``databases`` fixture's.
OTHER_PREFIX = "nctest_other_"
_numbers = itertools.count(1)


def no_server() -> None:
    """Without a server the cross-backend tests cannot run: fail in CI, skip elsewhere."""
    message = f"no PostgreSQL server for the cross-backend copy: set {POSTGRESQL_VARIABLE}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def other_backend(backend: str, folder: Path) -> Iterator[str]:
    """A migrated, empty database on the backend that ``backend`` is not; its location."""
    if backend == "postgresql":
        location = str(folder / f"other-{next(_numbers)}.db")
        engine = make_engine(location)
        ensure_schema(engine)
        engine.dispose()
        yield location
        return
    server = postgresql_url()
    if server is None:
        no_server()
    name = f"{OTHER_PREFIX}{os.getpid()}_{next(_numbers)}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        location = make_url(server).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(location)
        ensure_schema(engine)
        engine.dispose()
        yield location
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def other_database(databases, tmp_path) -> Iterator[str]:
    """An empty migrated database of the other backend (skipped without a server, not in CI)."""
    with other_backend(databases.backend, tmp_path) as location:
        yield location


@pytest.fixture(scope="session")
def seeded_template(databases, migrated_template):
    """30 synthetic patients (seed 5) with their records and audit trail."""
    return databases.build("copy_seeded", demo_seeder(30, 5), base=migrated_template)


@pytest.fixture
def seeded(databases, seeded_template, tmp_path) -> Iterator[str]:
    """A private copy of the seeded template; its location."""
    location = databases.copy(seeded_template, tmp_path / "seeded" / "source.db")
    yield location
    databases.drop(location)


@contextmanager
def engines(*locations: str):
    """Engines on the locations, disposed afterwards."""
    opened = [make_engine(location) for location in locations]
    try:
        yield opened
    finally:
        for engine in opened:
            engine.dispose()


def every_row(location: str) -> dict[str, list[tuple]]:
    """Every copied table's rows by id, read through the Core tables (types converted)."""
    with engines(location) as (engine,), engine.connect() as connection:
        return {
            table.name: [
                tuple(row) for row in connection.execute(select(table).order_by(table.c.id))
            ]
            for table in copied_tables()
        }


def test_plain_copy_there_and_back_keeps_every_row(databases, seeded, other_database, database):
    original = every_row(seeded)
    with engines(seeded, other_database, database) as (source, other, back):
        there = copy_database(source, other)
        back_again = copy_database(other, back)
    assert every_row(other_database) == original
    assert every_row(database) == original
    assert original["patient"] and original[AUDIT_TABLE] and original["assessment_answer"]
    for report in (there, back_again):
        assert report.mode == "plain"
        for table in copied_tables():
            entry = report.table(table.name)
            assert (entry.source_rows, entry.copied, entry.skipped) == (
                len(original[table.name]),
                len(original[table.name]),
                0,
            )
    # Booleans come back as bool (True == 1 would hide a 1), times and dates as such.
    with engines(database) as (engine,), engine.connect() as connection:
        nurse = connection.execute(select(metadata.tables["nurse"])).mappings().first()
        patient = connection.execute(select(metadata.tables["patient"])).mappings().first()
    assert type(nurse["active"]) is bool
    assert type(patient["created_at"]) is datetime and type(patient["birth_date"]) is date


def test_plain_copy_refuses_a_target_that_holds_rows(databases, seeded, other_database, clock):
    with engines(other_database) as (target,):
        services = make_services(target, clock)
        services.nurses.create("alice", "Alice Moreno", "RN")
        services.nurses.sign_in("alice")
        services.patients.create("MRN-T1", "Target", "Tess")
    before = every_row(other_database)
    with engines(seeded, other_database) as (source, target), pytest.raises(CopyError) as refused:
        copy_database(source, target)
    message = str(refused.value)
    assert message.startswith("the target already holds 1 patients (")
    assert "--merge-by-mrn" in message
    assert "\n" not in message
    assert every_row(other_database) == before


def test_copy_refuses_a_database_not_at_the_current_schema(seeded, tmp_path):
    with engines(seeded, seeded, str(tmp_path / "bare.db")) as (source, same, bare):
        with pytest.raises(CopyError, match=f"target .* is at schema none, not {HEAD_REVISION}"):
            copy_database(source, bare)
        with pytest.raises(CopyError, match="same database"):
            copy_database(source, same)


def source_patient(location: str, offset: int) -> tuple[str, int, int]:
    """The MRN, nurse id and id of the source's patient at ``offset`` (by id)."""
    rows = query(location, "SELECT mrn, nurse_id, id FROM patient ORDER BY id")
    return rows[offset]


def test_merge_by_mrn_adds_only_new_patients_with_new_ids(databases, seeded, other_database, clock):
    shared_mrn, shared_nurse_id, _ = source_patient(seeded, 0)
    (shared_username,) = query(
        seeded, "SELECT username FROM nurse WHERE id = :id", id=shared_nurse_id
    )[0]
    with engines(other_database) as (target,):
        services = make_services(target, clock)
        # Another nurse first: the shared username gets a different id in the target.
        services.nurses.create("zoe", "Zoe Target", "RN")
        services.nurses.create(shared_username, "Same Nurse", "RN")
        services.nurses.sign_in("zoe")
        services.patients.create("MRN-ONLY-HERE", "Target", "Tess")
        services.patients.create(shared_mrn, "Already", "Here")
    before = {name: len(rows) for name, rows in every_row(other_database).items()}
    source_rows = every_row(seeded)

    with engines(seeded, other_database) as (source, target):
        report = copy_database(source, target, merge_by_mrn=True)

    assert report.mode == MERGE_BY_MRN
    assert (report.patients_merged, report.patients_skipped) == (29, 1)
    after = {name: len(rows) for name, rows in every_row(other_database).items()}
    for table in copied_tables():
        entry = report.table(table.name)
        assert after[table.name] == before[table.name] + entry.copied
        assert entry.copied + entry.skipped == entry.source_rows == len(source_rows[table.name])
    assert report.table(AUDIT_TABLE).copied == 0
    assert any("audit trail: not merged" in line for line in report.lines())
    # Nurses matched by username: one account each, never a duplicate.
    usernames = [row[0] for row in query(other_database, "SELECT username FROM nurse")]
    assert sorted(usernames) == sorted(set(usernames))
    assert shared_username in usernames and "zoe" in usernames
    # The patient already there kept its own (empty) record: nothing of the source's joined it.
    assert query(
        other_database,
        "SELECT count(*) FROM contact JOIN patient ON patient.id = contact.patient_id"
        " WHERE patient.mrn = :mrn",
        mrn=shared_mrn,
    ) == [(0,)]
    # Every merged patient's records came along and point at its new id.
    per_patient = (
        "SELECT patient.mrn, count(*) FROM assessment_answer"
        " JOIN assessment ON assessment.id = assessment_answer.assessment_id"
        " JOIN patient ON patient.id = assessment.patient_id GROUP BY patient.mrn"
    )
    expected = {mrn: count for mrn, count in query(seeded, per_patient) if mrn != shared_mrn}
    assert dict(query(other_database, per_patient)) == expected
    # Ids were remapped: the new patients' ids follow the target's own.
    ids = [row[0] for row in query(other_database, "SELECT id FROM patient ORDER BY id")]
    assert len(ids) == 31 and len(set(ids)) == 31
    # Nurse references follow the username, not the old id.
    assigned = (
        "SELECT patient.mrn, nurse.username FROM patient JOIN nurse ON nurse.id = patient.nurse_id"
    )
    merged = dict(query(other_database, assigned))
    for mrn, username in query(seeded, assigned):
        if mrn != shared_mrn:
            assert merged[mrn] == username
    # A task raised by an assessment still points at that patient's assessment.
    assert query(
        other_database,
        "SELECT count(*) FROM task JOIN assessment ON assessment.id = task.source_id"
        " WHERE task.source = 'assessment-trigger' AND assessment.patient_id <> task.patient_id",
    ) == [(0,)]


def test_plain_copy_keeps_an_audit_chain_that_verifies_in_the_target(
    services, engine, other_database, clock
):
    patient = services.patients.create("MRN-A1", "Audit", "Ada")
    services.patients.create("MRN-A2", "Audit", "Ben")
    services.contacts.log(
        patient.id, datetime(2026, 11, 26, 10, 30, 15, 250), "phone", "patient", "reached", 10
    )
    events = AuditService(services.context).verify()
    assert events.ok and events.events >= 4
    with engines(other_database) as (target,):
        copy_database(engine, target)
        # The key file travels with the trail (the CLI copies it, as here).
        copy_private_file(anchor_path(engine), anchor_path(target))
        copied = AuditService(ServiceContext(target, clock)).verify()
    assert copied.ok, copied.message
    assert copied.events == events.events


def test_a_new_row_after_a_copy_into_postgresql_gets_a_fresh_id(
    databases, seeded, other_database, database, clock
):
    server_target = database if databases.backend == "postgresql" else other_database
    with engines(seeded, server_target) as (source, target):
        assert target.dialect.name == "postgresql"
        copy_database(source, target)
        services = make_services(target, clock)
        services.nurses.create("newcomer", "New Comer", "RN")
        services.nurses.sign_in("newcomer")
        created = services.patients.create("MRN-NEW-1", "After", "Copy")
    assert created.id == 31
    assert query(server_target, "SELECT count(*) FROM patient") == [(31,)]
