"""Backing up an SQLite database file: whole or not at all, with the files beside it.

A backup is taken with SQLite's online backup API (SQLCipher's for an
encrypted database, with the same key), under a temporary name until it is
complete and verified (issue 17 item 3). The salt file and the audit key file
beside the database (``nursecase.db.locations``) are copied beside the backup.
A server database is backed up by ``nursecase.db.maintenance.server_backup``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from nursecase.db.encryption import connect_encrypted, is_encrypted, key_for
from nursecase.db.locations import BACKUP_PART, audit_key_file, salt_file
from nursecase.db.schema import MigrationError
from nursecase.files import (
    atomic_private_write,
    crash_point,
    leftovers,
    private_folder,
    refuse_special,
    remove_leftover,
    write_private,
)


def backup_leftovers(folder: Path) -> list[Path]:
    """Temporary files of killed backups in ``folder`` (a backup at work is not listed)."""
    return leftovers(folder, BACKUP_PART)


def remove_backup_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files of killed backups in ``folder``; the ones removed."""
    return [path for path in backup_leftovers(folder) if remove_leftover(path)]


def prepare_backup_destination(destination: Path) -> None:
    """Make ready for a backup at ``destination``: its folder, its name, no leftovers.

    The folder is created (0700) if missing; a link, folder or device at the
    name raises ``UnsafePathError`` and an existing file ``FileExistsError`` (a
    backup never replaces anything); the temporary files killed backups left
    in the folder are removed.
    """
    private_folder(destination.parent, what="the backup folder")
    refuse_special(destination, "the backup")
    if os.path.lexists(destination):
        raise FileExistsError(f"{destination} already exists; choose a new file name")
    remove_backup_leftovers(destination.parent)


def backup_sqlite(source: Path, destination: Path) -> Path:
    """Copy a live SQLite database with the online backup API (mode 0600), whole or not at all.

    The copy is written to ``.<name>.<pid>-<random>.backup-part`` in the destination's
    folder, verified (integrity check, the same schema objects as the source),
    fsynced, and only then renamed to ``destination`` (issue 17 item 3): a
    file under the final name is a complete backup. Temporary files of killed
    backups in that folder are removed first.

    An encrypted (SQLCipher) database is copied encrypted with the same key,
    and its salt file is copied beside the backup; the audit key file too.
    Both are in place before the backup gets its name.
    """
    destination = destination.expanduser()
    prepare_backup_destination(destination)
    # The key before any file: a missing or wrong passphrase leaves no file at all.
    encryption_key = key_for(source) if is_encrypted(source) else None
    with atomic_private_write(destination, BACKUP_PART, replace=False) as temporary:
        if encryption_key is not None:
            # Same key, same salt file beside it: the backup stays encrypted.
            backup_encrypted(source, temporary, encryption_key, salt_for=destination)
            copy = connect_encrypted(temporary, encryption_key)
        else:
            with sqlite3.connect(source) as source_db, sqlite3.connect(temporary) as target_db:
                source_db.backup(target_db)
            source_db.close()
            target_db.close()
            copy = sqlite3.connect(temporary)
        crash_point("backup-copied")
        try:
            _verify_backup(copy, source, encryption_key)
        finally:
            copy.close()
        # The audit trail's key lives beside the database (services.audit_anchor):
        # a backup without it could not prove its trail intact.
        key = audit_key_file(source)
        if key.is_file():
            write_private(audit_key_file(destination), key.read_bytes())
    return destination


def backup_encrypted(
    source: Path, destination: Path, key: bytes, *, salt_for: Path | None = None
) -> None:
    """Copy a live encrypted database to ``destination`` (same key), with its salt file.

    The salt is written beside ``salt_for`` when given (the final name of a
    backup written under a temporary one), else beside ``destination``.
    """
    with connect_encrypted(source, key) as source_db:
        target_db = connect_encrypted(destination, key)
        try:
            source_db.backup(target_db)
        finally:
            target_db.close()
    source_db.close()
    write_private(salt_file(salt_for or destination), salt_file(source).read_bytes())


def _schema_size(connection) -> int:
    return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]


def _verify_backup(copy, source: Path, key: bytes | None) -> None:
    """Refuse a copy that fails its integrity check or lacks the source's tables."""
    problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise MigrationError(f"the backup failed its integrity check: {problems[0]}")
    original = connect_encrypted(source, key) if key is not None else sqlite3.connect(source)
    try:
        expected = _schema_size(original)
    finally:
        original.close()
    if _schema_size(copy) != expected:
        raise MigrationError("the backup does not hold the database's tables; nothing was kept")
