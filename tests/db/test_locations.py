"""The files beside a database: their names are a promise to every database on disk."""

from __future__ import annotations

from pathlib import Path

from nursecase.db.locations import (
    audit_key_file,
    backups_folder,
    rollback_journal,
    salt_file,
    shared_memory,
    write_ahead_log,
)
from nursecase.files import SQLITE_COMPANIONS

DATABASE = Path("/data/nursecase.db")


def test_each_file_beside_a_database_keeps_the_name_existing_databases_use():
    assert write_ahead_log(DATABASE) == Path("/data/nursecase.db-wal")
    assert shared_memory(DATABASE) == Path("/data/nursecase.db-shm")
    assert rollback_journal(DATABASE) == Path("/data/nursecase.db-journal")
    assert salt_file(DATABASE) == Path("/data/nursecase.db.salt")
    assert audit_key_file(DATABASE) == Path("/data/nursecase.db.audit-key")
    assert backups_folder(DATABASE) == Path("/data/backups")


def test_the_companions_named_here_are_the_ones_files_removes_with_a_copy():
    """``nursecase.files`` sits below db/ and keeps its own list: the two must agree."""
    named_here = {
        path.name
        for path in (write_ahead_log(DATABASE), shared_memory(DATABASE), rollback_journal(DATABASE))
    }
    assert named_here == {DATABASE.name + suffix for suffix in SQLITE_COMPANIONS}
