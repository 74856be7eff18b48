"""The files beside a database, named in one place (the bottom of db/'s core tier).

An SQLite database ``<db>`` is never one file alone. Beside it live:

- SQLite's own companions: ``<db>-wal`` (the write-ahead log), ``<db>-shm``
  (its shared-memory index) and, outside WAL mode, ``<db>-journal``;
- ``<db>.salt``: the Argon2id salt and costs of an encrypted database
  (``nursecase.db.encryption``);
- ``<db>.audit-key``: the audit trail's key and anchor
  (``nursecase.services.audit_anchor``);
- ``backups/``: the folder of the backups taken before an upgrade, when no
  other folder is given;
- what killed writers leave: the temporary files of a conversion
  (``.<db>.<pid>-<random>.encrypting`` / ``.decrypting``) and of a backup
  (``.<backup>.<pid>-<random>.backup-part``, beside the backup), and the
  names earlier versions' conversions used.

Every module that builds one of these names asks here, so that a backup, a
copy, a conversion and ``db check`` agree on what belongs to a database. The
error for a database location that cannot be used lives here too, below the
engine and the encryption keys that both raise it. Nothing here touches a
file, and nothing of nursecase is imported.
"""

from __future__ import annotations

from pathlib import Path


class DatabaseLocationError(ValueError):
    """The database location cannot be used (bad URL, unwritable folder)."""


def beside(database: Path, suffix: str) -> Path:
    """``database``'s name with ``suffix`` appended, in the same folder."""
    return database.with_name(database.name + suffix)


# --- SQLite's companions -----------------------------------------------------------

# ``nursecase.files.SQLITE_COMPANIONS`` lists the same three for any SQLite file
# (it sits below db/ and cannot import it); a test keeps the two equal.
#: The write-ahead log's suffix.
WRITE_AHEAD_LOG_SUFFIX = "-wal"
#: The suffix of the write-ahead log's shared-memory index.
SHARED_MEMORY_SUFFIX = "-shm"
#: The rollback journal's suffix (outside WAL mode).
JOURNAL_SUFFIX = "-journal"


def write_ahead_log(database: Path) -> Path:
    """The write-ahead log beside ``database`` (``<db>-wal``)."""
    return beside(database, WRITE_AHEAD_LOG_SUFFIX)


def shared_memory(database: Path) -> Path:
    """The write-ahead log's shared-memory index beside ``database`` (``<db>-shm``)."""
    return beside(database, SHARED_MEMORY_SUFFIX)


def rollback_journal(database: Path) -> Path:
    """The rollback journal beside ``database`` outside WAL mode (``<db>-journal``)."""
    return beside(database, JOURNAL_SUFFIX)


# --- nursecase's own files ---------------------------------------------------------

#: The Argon2id salt and costs of an encrypted database (JSON, 0600).
SALT_SUFFIX = ".salt"
#: The audit trail's key and anchor (JSON, 0600).
AUDIT_KEY_SUFFIX = ".audit-key"
#: The folder, beside the database, of the backups taken before an upgrade.
BACKUPS_FOLDER = "backups"


def salt_file(database: Path) -> Path:
    """Where the salt of ``database`` is kept (``<db>.salt``)."""
    return beside(database, SALT_SUFFIX)


def audit_key_file(database: Path) -> Path:
    """Where the audit key of an SQLite ``database`` is kept (``<db>.audit-key``)."""
    return beside(database, AUDIT_KEY_SUFFIX)


def backups_folder(database: Path) -> Path:
    """The backups folder beside ``database`` (``backups/`` in its folder)."""
    return database.parent / BACKUPS_FOLDER


# --- what killed writers leave -----------------------------------------------------

#: The kind (name ending, see ``nursecase.files``) of an encryption's temporary
#: file: SQLCipher pages, never clear text.
ENCRYPTING = "encrypting"
#: The kind of a decryption's temporary file: a clear-text copy of the database.
DECRYPTING = "decrypting"
#: The kind of a backup's temporary file, beside the backup being written.
BACKUP_PART = "backup-part"

#: The files earlier versions' conversions left beside the database, by suffix:
#: (suffix, holds clear text, the command that left it).
OLDER_CONVERSION_LEFTOVERS: tuple[tuple[str, bool, str], ...] = (
    (".plain-backup", True, "db encrypt"),
    ("." + DECRYPTING, True, "db decrypt"),
    (".encrypted-backup", False, "db decrypt"),
    ("." + ENCRYPTING, False, "db encrypt"),
    (SALT_SUFFIX + ".new", False, "db encrypt"),
)
