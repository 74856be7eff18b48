"""Shared fixtures: a private migrated database per test, a frozen clock, services.

Every test that uses a database runs twice, on SQLite and on PostgreSQL (the
session fixture ``databases`` is parametrized; see ``tests/databases.py``).
SQLite in-memory databases are per connection, so an SQLite test gets a real
file in its own temporary folder; a PostgreSQL test gets its own database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from tests.databases import (
    BACKENDS,
    POSTGRESQL_VARIABLE,
    PostgresqlDatabases,
    SqliteDatabases,
    Template,
    postgresql_url,
    private_copy,
)

#: Friday 27 November 2026, 09:00: every test's "now" unless it moves the clock.
FROZEN_NOW = datetime(2026, 11, 27, 9, 0, 0)


@pytest.fixture(scope="session")
def dead_pid() -> int:
    """The id of a process that has ended (a killed writer's, in leftover-file tests)."""
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(finished.stdout)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at FROZEN_NOW."""
    return FrozenClock(FROZEN_NOW)


def pytest_collection_modifyitems(config, items):
    """Run SQLite-only tests (files, pragmas, encryption) on SQLite alone.

    They are deselected, not skipped, on PostgreSQL: what they check does not
    exist there (a server database has no file to copy, chmod or encrypt).
    """
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("databases") if callspec else None
        if backend == "postgresql" and item.get_closest_marker("sqlite_only"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request, tmp_path_factory):
    """The backend of this run of the test: SQLite files or PostgreSQL databases."""
    if request.param == "sqlite":
        backend = SqliteDatabases(tmp_path_factory.mktemp("templates"))
    else:
        url = postgresql_url()
        if url is None:
            message = (
                f"no PostgreSQL server for the tests: start one with"
                f" `scripts/postgres-cluster start FOLDER` and set {POSTGRESQL_VARIABLE}"
            )
            if os.environ.get("CI"):
                pytest.fail(message)  # CI must run both backends
            pytest.skip(message)
        backend = PostgresqlDatabases(url)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def migrated_template(databases) -> Template:
    """One migrated, empty database per session and backend, copied by each test."""

    def migrate(location: str) -> None:
        engine = make_engine(location)
        ensure_schema(engine)
        engine.dispose()

    return databases.build("migrated", migrate)


@pytest.fixture
def migrated_database(databases, migrated_template, tmp_path):
    """The location (file path or URL) of a private migrated, empty database."""
    with private_copy(databases, migrated_template, tmp_path / "data" / "nursecase.db") as location:
        yield location


@pytest.fixture
def database(migrated_database):
    """The location of the test's migrated, empty database (a module may rename another)."""
    return migrated_database


@pytest.fixture
def database_path(migrated_database):
    """The database as a Path on SQLite (tests of files), its URL on PostgreSQL."""
    return migrated_database if "://" in migrated_database else Path(migrated_database)


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Keep every test's data folder (audit keys of server databases, exports) private."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))


@pytest.fixture
def engine(migrated_database):
    """An engine on the migrated temporary database."""
    engine = make_engine(migrated_database)
    yield engine
    engine.dispose()


@pytest.fixture
def services(engine, clock):
    """Services with one nurse, 'alice', created and signed in."""
    from nursecase.services import make_services

    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN, CCM")
    services.nurses.sign_in("alice")
    return services
