"""Shared fixtures: a migrated temporary file database, a frozen clock, services.

SQLite in-memory databases are per connection, so every test gets a real file
in its own temporary folder; nothing is monkeypatched.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.migrate import ensure_schema

#: Friday 27 November 2026, 09:00: every test's "now" unless it moves the clock.
FROZEN_NOW = datetime(2026, 11, 27, 9, 0, 0)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock frozen at FROZEN_NOW."""
    return FrozenClock(FROZEN_NOW)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """One migrated, empty database per test session, copied by each test."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(path)
    ensure_schema(engine)
    engine.dispose()
    return path


def copy_database(template, destination):
    """A private copy of a closed database file (mode 0600, folder 0700)."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(template, destination)
    destination.chmod(0o600)
    return destination


@pytest.fixture
def database_path(tmp_path, migrated_template):
    """The path of a migrated, empty database file (a copy of the session's template:
    running the migrations once instead of per test keeps the suite fast)."""
    return copy_database(migrated_template, tmp_path / "data" / "nursecase.db")


@pytest.fixture
def engine(database_path):
    """An engine on the migrated temporary database."""
    engine = make_engine(database_path)
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
