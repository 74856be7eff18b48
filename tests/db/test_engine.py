"""The engine: URLs, SQLite pragmas, file modes, write locking."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text

from nursecase.db import engine as engine_module
from nursecase.db.engine import (
    database_url,
    make_engine,
    read_engine,
    sqlite_file,
)
from nursecase.db.locations import DatabaseLocationError
from tests.conftest import PRODUCTION_SQLITE_PRAGMAS


def test_a_path_becomes_an_sqlite_url(tmp_path):
    url = database_url(tmp_path / "x.db")
    assert url == f"sqlite:///{tmp_path / 'x.db'}"
    assert sqlite_file(url) == tmp_path / "x.db"


def test_a_value_with_scheme_is_kept_as_url():
    assert (
        database_url("postgresql+psycopg://nurse@db/clinic")
        == "postgresql+psycopg://nurse@db/clinic"
    )
    assert sqlite_file("postgresql+psycopg://nurse@db/clinic") is None


@pytest.mark.parametrize("value", ["", "   ", "notadialect://x"])
def test_bad_locations_are_refused_with_a_message(value):
    with pytest.raises(DatabaseLocationError):
        make_engine(value)


def test_folder_and_file_are_private(tmp_path):
    path = tmp_path / "new" / "folder" / "nursecase.db"
    engine = make_engine(path)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        # While a connection is open the WAL and shared-memory files exist.
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    engine.dispose()


def test_an_existing_loose_file_is_tightened(tmp_path):
    path = tmp_path / "loose.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(path).dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pragmas_are_set_on_every_connection(tmp_path, monkeypatch):
    # The production pragmas: the suite's own connections are not synced (tests/conftest.py).
    monkeypatch.setattr(engine_module, "SQLITE_PRAGMAS", PRODUCTION_SQLITE_PRAGMAS)
    engine = make_engine(tmp_path / "p.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()


def test_write_transactions_take_the_lock_at_begin(tmp_path):
    """BEGIN IMMEDIATE: a second writer waits at BEGIN, never half-way through."""
    engine = make_engine(tmp_path / "w.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with engine.begin() as connection:
        # In an immediate transaction the file is already RESERVED: another
        # connection cannot start writing even before we wrote anything.
        connection.execute(text("SELECT 1"))
        second = sqlite3.connect(tmp_path / "w.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            second.execute("BEGIN IMMEDIATE")
        second.close()
    engine.dispose()


def test_read_sessions_do_not_block_writers(tmp_path):
    engine = make_engine(tmp_path / "r.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    reader = read_engine(engine)
    with reader.begin() as connection:
        connection.execute(text("SELECT count(*) FROM t")).scalar()
        with engine.begin() as writer:  # would time out if the reader held the write lock
            writer.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()


def test_two_processes_writing_at_once_both_succeed(tmp_path):
    """Two terminals on one file queue for the lock instead of failing."""
    path = tmp_path / "shared.db"
    engine = make_engine(path)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (writer TEXT, n INTEGER)"))
    engine.dispose()
    script = textwrap.dedent(
        f"""
        import sys, time
        from sqlalchemy import text
        from nursecase.db.engine import make_engine
        engine = make_engine({str(path)!r})
        start = float(sys.argv[2])
        while time.time() < start:
            time.sleep(0.001)
        for n in range(50):
            with engine.begin() as connection:
                row = {{"w": sys.argv[1], "n": n}}
                connection.execute(text("INSERT INTO t VALUES (:w, :n)"), row)
                time.sleep(0.002)  # hold the lock a little so the writers really overlap
        """
    )
    import time

    start = str(time.time() + 1.0)
    processes = [
        subprocess.Popen([sys.executable, "-c", script, name, start], stderr=subprocess.PIPE)
        for name in ("first", "second")
    ]
    for process in processes:
        _, error = process.communicate(timeout=60)
        assert process.returncode == 0, error.decode()
    engine = make_engine(path)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(text("SELECT writer, count(*) FROM t GROUP BY writer")).all()
        )
    engine.dispose()
    assert counts == {"first": 50, "second": 50}
