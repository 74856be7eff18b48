"""Encrypting a database file in place, and decrypting it back (``db encrypt``/``db decrypt``).

``encrypt_database`` / ``decrypt_database`` convert with ``sqlcipher_export``
into a temporary file beside the database (0600, locked while at work),
verify it (integrity check, same row count in every table), then put it in
place with ONE atomic rename: the original is never renamed aside, so a kill
at any point leaves the database whole and no plain copy but the interrupted
decrypt's temporary file, which ``conversion_leftovers`` finds (issue 17
item 2). The keys come from ``nursecase.db.encryption``; the names of the
files a conversion leaves from ``nursecase.db.locations``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from nursecase.db.encryption import (
    EncryptionError,
    KeyParameters,
    connect_encrypted,
    derive_key,
    is_encrypted,
    read_parameters,
    sqlcipher_module,
    write_parameters,
)
from nursecase.db.locations import (
    DECRYPTING,
    ENCRYPTING,
    OLDER_CONVERSION_LEFTOVERS,
    beside,
    salt_file,
)
from nursecase.files import (
    UnsafePathError,
    atomic_private_write,
    crash_point,
    leftovers,
    refuse_special,
    remove_with_companions,
)

IN_USE_MESSAGE = "the database is in use; close the app and other nursecase commands first"


def _row_counts(connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
    }


def _verify_copy(connection, expected: dict[str, int], what: str) -> None:
    """Check a converted file (integrity, the same rows), then close ``connection``."""
    try:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            raise EncryptionError(f"the {what} copy failed its integrity check: {integrity[0]}")
        counts = _row_counts(connection)
        if counts != expected:
            raise EncryptionError(
                f"the {what} copy does not hold the same rows; nothing was changed"
            )
    finally:
        connection.close()


def _settle_journal(connection) -> None:
    # Fold the WAL into the file and stop using it: the swap renames one file,
    # and a -wal left beside it would belong to the other file (and hold PHI).
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except Exception as error:  # the driver's OperationalError: "database is locked"
        raise EncryptionError(IN_USE_MESSAGE) from error
    if str(mode).lower() != "delete":
        # SQLite keeps WAL while another connection has the file open.
        raise EncryptionError(IN_USE_MESSAGE)


@dataclass(frozen=True)
class Leftover:
    """A file an interrupted conversion left beside a database."""

    path: Path
    clear_text: bool
    left_by: str  # the command: "db encrypt" or "db decrypt"

    def line(self) -> str:
        """One line for the user: what the file is."""
        if self.clear_text:
            return (
                f"{self.path} is a clear-text copy of the database left by an interrupted"
                f" {self.left_by}"
            )
        return f"{self.path} is an unfinished copy left by an interrupted {self.left_by}"


def conversion_leftovers(database: Path) -> list[Leftover]:
    """Files of killed ``db encrypt``/``db decrypt`` runs beside ``database``.

    The conversions of this version write ``.<name>.<pid>-<random>.encrypting`` (SQLCipher
    pages, not clear text) and ``.<name>.<pid>-<random>.decrypting`` (clear text), held
    under a lock while at work, so a conversion still running is not listed.
    Older versions kept ``<db>.plain-backup`` (clear text) and
    ``<db>.encrypted-backup``, and wrote ``<db>.encrypting`` / ``<db>.decrypting``.
    """
    database = Path(database)
    folder = database.parent
    found = [Leftover(path, True, "db decrypt") for path in leftovers(folder, DECRYPTING, database)]
    found += [
        Leftover(path, False, "db encrypt") for path in leftovers(folder, ENCRYPTING, database)
    ]
    for suffix, clear_text, left_by in OLDER_CONVERSION_LEFTOVERS:
        path = beside(database, suffix)
        if os.path.lexists(path):
            found.append(Leftover(path, clear_text, left_by))
    return found


def remove_conversion_leftovers(database: Path) -> list[Leftover]:
    """Remove what ``conversion_leftovers`` finds (with SQLite's journal files); the list."""
    found = conversion_leftovers(database)
    for leftover in found:
        remove_with_companions(leftover.path)
    return found


def _checked_database(database: Path) -> Path:
    database = Path(database)
    try:
        refuse_special(database, "the database")
    except UnsafePathError as error:
        raise EncryptionError(str(error)) from None
    if not database.is_file() or database.stat().st_size == 0:
        raise EncryptionError(f"no database at {database}")
    return database


def encrypt_database(
    database: Path, passphrase: str, *, costs: dict[str, int] | None = None
) -> None:
    """Turn the plain SQLite file ``database`` into an SQLCipher one keyed by ``passphrase``.

    Crash-safe (issue 17 item 2): the encrypted copy is written and verified
    under a temporary name; the salt file is put in place next (a salt beside
    a plain file is ignored: the header is the authority); then one atomic
    rename puts the encrypted file in place of the plain one. Killed at any
    point, the database opens, plain without a key or encrypted with it, and no
    clear-text copy is left: the plain original is never renamed aside.
    """
    module = sqlcipher_module()
    database = _checked_database(database)
    if is_encrypted(database):
        if not salt_file(database).exists():  # an encrypted nursecase database has one
            raise EncryptionError(f"{database} is not a nursecase database")
        raise EncryptionError(f"{database} is already encrypted")
    parameters = KeyParameters.fresh(**(costs or {}))
    key = derive_key(passphrase, parameters)
    with atomic_private_write(database, ENCRYPTING) as converted:
        with sqlite3.connect(database, isolation_level=None) as plain:
            _settle_journal(plain)
            expected = _row_counts(plain)
        plain.close()
        source = module.connect(str(database), isolation_level=None)
        try:
            source.execute("PRAGMA cipher_log_level = NONE")
            attach = f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\""
            source.execute(attach, (str(converted),))
            source.execute("SELECT sqlcipher_export('encrypted')")
            version = source.execute("PRAGMA main.user_version").fetchone()[0]
            source.execute(f"PRAGMA encrypted.user_version = {int(version)}")
            source.execute("DETACH DATABASE encrypted")
        finally:
            source.close()
        crash_point("encrypt-exported")
        _verify_copy(connect_encrypted(converted, key, isolation_level=None), expected, "encrypted")
        write_parameters(salt_file(database), parameters)
        crash_point("encrypt-salt-written")
    crash_point("encrypt-replaced")
    _verify_copy(connect_encrypted(database, key, isolation_level=None), expected, "encrypted")


def decrypt_database(database: Path, passphrase: str) -> None:
    """Turn the SQLCipher file ``database`` back into a plain SQLite file.

    The plain copy is written and verified under a temporary name (0600, locked
    while at work), then one atomic rename puts it in place of the encrypted
    file, and the salt file goes last (ignored beside a plain file). A kill
    before the rename leaves that clear-text temporary file: the next command
    on the database names it (``conversion_leftovers``) and ``db check``
    reports it until it is removed.
    """
    sqlcipher_module()
    database = _checked_database(database)
    if not is_encrypted(database):
        raise EncryptionError(f"{database} is not encrypted")
    key = derive_key(passphrase, read_parameters(database))
    with atomic_private_write(database, DECRYPTING) as converted:
        source = connect_encrypted(database, key, isolation_level=None)
        try:
            _settle_journal(source)
            expected = _row_counts(source)
            source.execute("ATTACH DATABASE ? AS plain KEY ''", (str(converted),))
            source.execute("SELECT sqlcipher_export('plain')")
            version = source.execute("PRAGMA main.user_version").fetchone()[0]
            source.execute(f"PRAGMA plain.user_version = {int(version)}")
            source.execute("DETACH DATABASE plain")
        finally:
            source.close()
        crash_point("decrypt-exported")
        _verify_copy(sqlite3.connect(converted, isolation_level=None), expected, "decrypted")
    crash_point("decrypt-replaced")
    _verify_copy(sqlite3.connect(database, isolation_level=None), expected, "decrypted")
    salt_file(database).unlink(missing_ok=True)
