"""Shared fixtures: a private migrated database per test, a frozen clock, services.

Every test that uses a database runs twice, on SQLite and on PostgreSQL (the
session fixture ``databases`` is parametrized; see ``tests/databases.py``).
SQLite in-memory databases are per connection, so an SQLite test gets a real
file in its own temporary folder; a PostgreSQL test gets its own database.

Two exceptions, deselected (never skipped) on PostgreSQL at collection:
``sqlite_only`` tests (what only an SQLite file has), and the Pilot tests in
tests/tui, which run on SQLite only unless marked ``both_backends``: a screen
sees only the services' frozen read models, and
tests/services/test_read_models_across_backends.py compares every read model
the screens use across both backends, row for row.

The suite runs in parallel by default (pytest-xdist, one worker per CPU, see
``pytest_cmdline_main``); ``-n 0`` or ``-p no:xdist`` runs it in one process.

Nothing the suite writes is synced to disk (``pytest_configure``): its
databases and key files are thrown away, as the PostgreSQL test cluster's are
(scripts/postgres-cluster runs with fsync off). A sync costs about 6 ms on
this kind of machine and every write transaction made two or three (the
SQLite WAL, the audit key file): 3 workers waited on one disk, and
tests/services + tests/db took 517 s with them, 364 s without. A process
killed mid-write loses nothing either way (the page cache outlives it), so
the crash tests test the same thing; the commands the CLI tests start as
processes sync as in production, and tests/db/test_engine.py checks the
production pragmas (``PRODUCTION_SQLITE_PRAGMAS``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import nursecase.db.engine
from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from tests.databases import (
    BACKENDS,
    POSTGRESQL_VARIABLE,
    EngineShelf,
    PostgresqlDatabases,
    SqliteDatabases,
    Template,
    postgresql_url,
    private_copy,
)

#: What every SQLite connection is set to in production (the suite's own are not synced).
PRODUCTION_SQLITE_PRAGMAS = nursecase.db.engine.SQLITE_PRAGMAS


def pytest_configure(config):
    """Throwaway databases: nothing this process writes is synced to disk (module docstring)."""
    os.fsync = _no_sync
    nursecase.db.engine.SQLITE_PRAGMAS = tuple(
        "PRAGMA synchronous=OFF" if pragma.startswith("PRAGMA synchronous") else pragma
        for pragma in PRODUCTION_SQLITE_PRAGMAS
    )


def _no_sync(_descriptor: int) -> None:
    """``os.fsync`` in the suite's own process: the file is written, just not synced."""


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


#: The Pilot tests: on SQLite only, unless marked ``both_backends``.
PILOT_TESTS = Path(__file__).resolve().parent / "tui"
#: Where the tests that take seconds each live (see pytest_collection_modifyitems).
LONG_TESTS = (Path(__file__).resolve().parent / "e2e", PILOT_TESTS)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config):
    """Run one worker more than there are CPUs (``--dist worksteal``) when xdist is there.

    Set here rather than in ``addopts`` so that ``-p no:xdist`` still works (an
    ``-n`` in addopts would then be an unknown option); an explicit ``-n``
    (``-n 0``: one process) wins. The CPUs are those this process may use (2
    on CI). One worker more, because a Pilot test waits for the app to go idle
    about a third of its time: measured on 2 CPUs, 2 workers 764-812 s, 3
    workers 721 s, 4 workers 751 s (bench/results.md). ``worksteal`` lets an
    idle worker take tests queued on a busy one: the slow tests are not evenly
    spread.
    """
    option = config.option
    parallel_capable = config.pluginmanager.hasplugin("xdist") and not hasattr(
        config, "workerinput"
    )
    if parallel_capable and option.numprocesses is None and not option.tx:
        option.numprocesses = len(os.sched_getaffinity(0)) + 1
        if option.dist == "no":
            option.dist = "worksteal"
    return (yield)


def runs_on_postgresql(item) -> bool:
    """Whether a test parametrized on PostgreSQL is kept there (see the module docstring)."""
    if item.get_closest_marker("sqlite_only"):
        return False
    if item.path.is_relative_to(PILOT_TESTS):
        return item.get_closest_marker("both_backends") is not None
    return True


def pytest_collection_modifyitems(config, items):
    """Deselect the PostgreSQL run of SQLite-only tests and of most Pilot tests.

    Deselected, not skipped: what a ``sqlite_only`` test checks does not exist
    on PostgreSQL (a server database has no file to copy, chmod or encrypt),
    and a Pilot test's screen shows read models that
    tests/services/test_read_models_across_backends.py compares across the
    backends; the few Pilot tests marked ``both_backends`` drive each screen's
    load and write path on PostgreSQL too.
    """
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("databases") if callspec else None
        if backend == "postgresql" and not runs_on_postgresql(item):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # The long tests first: the end-to-end round and the Pilot tests take
    # seconds each, most others milliseconds, so with the long ones started
    # early the workers finish together instead of one running a long test
    # alone at the end (stable: the order within each group is kept).
    kept.sort(key=lambda item: not any(item.path.is_relative_to(path) for path in LONG_TESTS))
    items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request, tmp_path_factory):
    """The backend of this run of the test: SQLite files or PostgreSQL databases."""
    if request.param == "sqlite":
        backend = SqliteDatabases(tmp_path_factory.mktemp("templates"))
    else:
        backend = PostgresqlDatabases(require_postgresql())
    yield backend
    backend.close()


def require_postgresql() -> str:
    """The test server's URL; without one, skip the test (fail it in CI, which runs both)."""
    url = postgresql_url()
    if url is None:
        message = (
            f"no PostgreSQL server for the tests: start one with"
            f" `scripts/postgres-cluster start FOLDER` and set {POSTGRESQL_VARIABLE}"
        )
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run both backends
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def migrated_template(databases) -> Template:
    """One migrated, empty database per session and backend, copied by each test."""

    def migrate(location: str) -> None:
        engine = make_engine(location)
        ensure_schema(engine)
        engine.dispose()

    return databases.build("migrated", migrate)


@pytest.fixture(scope="session")
def database_folders(tmp_path_factory) -> Path:
    """Where this process's tests find their SQLite copies: one path per kind, emptied each test.

    One path, so that the engine on it can serve the next test (``engines``).
    """
    return tmp_path_factory.mktemp("databases")


def fresh_folder(folder: Path) -> Path:
    """``folder``, emptied of whatever the test before left there."""
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture(scope="session")
def engines() -> Iterator[EngineShelf]:
    """Engines kept between this process's tests on the same location."""
    shelf = EngineShelf()
    yield shelf
    for engine, _listeners in shelf.engines.values():
        engine.dispose()


@pytest.fixture
def migrated_database(databases, migrated_template, database_folders):
    """The location (file path or URL) of a private migrated, empty database."""
    destination = fresh_folder(database_folders / "data") / "nursecase.db"
    with private_copy(databases, migrated_template, destination) as location:
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
def umask_put_back():
    """Each test starts with the umask the run started with.

    A command run in this process sets the process's umask to 077 (as a real
    run does for itself); left set, it would give every later test in the
    worker private files by chance, hiding a file written too openly.
    """
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Keep every test's data folder (audit keys of server databases, exports) private."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))


@pytest.fixture
def engine(engines, migrated_database):
    """An engine on the migrated temporary database."""
    with engines.engine(migrated_database) as engine:
        yield engine


@pytest.fixture
def services(engine, clock):
    """Services with one nurse, 'alice', created and signed in."""
    from nursecase.services import make_services

    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN, CCM")
    services.nurses.sign_in("alice")
    return services
