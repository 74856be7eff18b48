"""Encryption at rest with SQLCipher (optional: ``pip install nursecase[encryption]``).

Design (DESIGN.md section 4, issue 8 item 4):

- The key is never typed: a passphrase (prompted hidden on a terminal, or read
  from ``--key-file PATH`` / ``NURSECASE_KEY_FILE``) is stretched with Argon2id
  into a 32-byte raw key, handed to SQLCipher as ``PRAGMA key = "x'<hex>'"`` so
  SQLCipher adds no second key derivation.
- The Argon2id salt (16 random bytes, one per database) and the cost
  parameters live beside the database in ``<db>.salt`` (mode 0600, JSON). The
  salt is not secret, but without it the passphrase cannot open the database:
  backups carry a copy.
- A database is encrypted when its file is not empty and does not start with
  SQLite's magic ``SQLite format 3\\0`` (an SQLCipher file starts with its own
  random salt). The header is the authority; a stale ``.salt`` beside a plain
  file is ignored.
- ``encrypt_database`` / ``decrypt_database`` convert with ``sqlcipher_export``
  into a temporary file beside the database (0600, locked while at work),
  verify it (integrity check, same row count in every table), then put it in
  place with ONE atomic rename: the original is never renamed aside, so a kill
  at any point leaves the database whole and no plain copy but the
  interrupted decrypt's temporary file, which ``conversion_leftovers`` finds
  (issue 17 item 2).

Only this module imports ``sqlcipher3``, and only when an encrypted database is
opened or converted: plain databases never need it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import sqlite3
import stat
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from nursecase.db.engine import DatabaseLocationError
from nursecase.files import (
    UnsafePathError,
    atomic_private_write,
    crash_point,
    leftovers,
    refuse_special,
    remove_with_companions,
    write_private,
)

#: The first 16 bytes of every plain SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The suffix of the salt file beside an encrypted database.
SALT_SUFFIX = ".salt"
#: The environment variable naming a file that holds the passphrase.
KEY_FILE_ENV = "NURSECASE_KEY_FILE"
#: The suffix of the original file kept during a conversion.
PLAIN_BACKUP_SUFFIX = ".plain-backup"
ENCRYPTED_BACKUP_SUFFIX = ".encrypted-backup"
#: The smallest passphrase ``nursecase db encrypt`` accepts.
MINIMUM_PASSPHRASE = 8
IN_USE_MESSAGE = "the database is in use; close the app and other nursecase commands first"


class EncryptionError(DatabaseLocationError):
    """An encrypted database cannot be opened or converted; the message is for the user."""


@dataclass(frozen=True)
class KeyParameters:
    """The Argon2id salt and costs stored in ``<db>.salt``.

    The defaults are RFC 9106's second recommended option (64 MiB, 3 passes,
    4 lanes): about a quarter of a second on a workstation, paid once per command.
    """

    salt: str  # hex
    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
    hash_len: int = 32
    kdf: str = "argon2id"

    @classmethod
    def fresh(cls, **costs: int) -> KeyParameters:
        """New parameters with a new random salt."""
        return cls(salt=secrets.token_hex(16), **costs)


# --- files beside the database ------------------------------------------------


def salt_file(database: Path) -> Path:
    """Where the salt of ``database`` is kept."""
    return database.with_name(database.name + SALT_SUFFIX)


def is_encrypted(database: Path) -> bool:
    """True when ``database`` exists, is not empty and is not a plain SQLite file."""
    try:
        with open(database, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except (FileNotFoundError, IsADirectoryError):
        return False
    return bool(header) and header != SQLITE_MAGIC


def write_parameters(path: Path, parameters: KeyParameters) -> None:
    """Store the salt and costs as JSON in ``path`` (mode 0600)."""
    write_private(path, (json.dumps(asdict(parameters), indent=2) + "\n").encode())


def read_parameters(database: Path) -> KeyParameters:
    """The salt and costs of an encrypted database."""
    path = salt_file(database)
    try:
        values = json.loads(path.read_text())
        parameters = KeyParameters(**values)
        bytes.fromhex(parameters.salt)
    except FileNotFoundError:
        raise EncryptionError(
            f"{database} is not a nursecase database, or it is an encrypted one and its salt"
            f" file {path} is missing (then restore the salt file from where the database"
            " came from)"
        ) from None
    except (ValueError, TypeError) as error:
        raise EncryptionError(f"the salt file {path} is damaged") from error
    if parameters.hash_len != 32:
        raise EncryptionError(f"the salt file {path} asks for a key that is not 32 bytes")
    if parameters.kdf != "argon2id":
        raise EncryptionError(f"the salt file {path} names an unknown KDF {parameters.kdf!r}")
    return parameters


# --- keys ---------------------------------------------------------------------


@lru_cache(maxsize=8)
def derive_key(passphrase: str, parameters: KeyParameters) -> bytes:
    """Stretch ``passphrase`` with Argon2id into SQLCipher's 32-byte raw key.

    Cached: one command opens several engines on one database (the upgrade
    check, the migration, the work) and must not pay the Argon2 cost each time.
    """
    from argon2.low_level import Type, hash_secret_raw

    if not passphrase:
        raise EncryptionError("the passphrase is empty")
    return hash_secret_raw(
        secret=passphrase.encode("utf-8"),
        salt=bytes.fromhex(parameters.salt),
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_cost,
        parallelism=parameters.parallelism,
        hash_len=parameters.hash_len,
        type=Type.ID,
    )


def shared_secret_problem(path: Path, mode: int, what: str) -> str | None:
    """Why a secret file at permission bits ``mode`` is refused; None when it is private.

    One rule for every secret nursecase reads from a file (the passphrase key
    file, the audit key file): group or other bits set means someone else may
    have read it, so it is refused with the command that fixes it.
    """
    if mode & 0o077:
        return f"the {what} {path} is readable by others; run: chmod 600 {path}"
    return None


def read_key_file(path: str | os.PathLike[str]) -> str:
    """The passphrase in a key file (its first line); the file must be private."""
    path = Path(path).expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EncryptionError(f"no key file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EncryptionError(f"cannot read the key file {path}") from error
    problem = shared_secret_problem(path, mode, "key file")
    if problem is not None:
        raise EncryptionError(problem)
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    if not passphrase:
        raise EncryptionError(f"the key file {path} is empty")
    return passphrase


#: A key file chosen on the command line (``nursecase --key-file PATH ...``); it
#: wins over NURSECASE_KEY_FILE. Set by the CLI's callback for each invocation.
_chosen_key_file: Path | None = None
#: Passphrases typed at the prompt in this process, per database, so that one
#: command asks once even though it opens several engines.
_typed: dict[Path, str] = {}
#: Keys that opened a database in this process, by (database, salt).
_proven: dict[tuple[Path, str], bytes] = {}


def choose_key_file(path: str | os.PathLike[str] | None) -> None:
    """Use this key file for every encrypted database this process opens (None: unset)."""
    global _chosen_key_file
    _chosen_key_file = Path(path).expanduser() if path else None


def key_file_source() -> Path | None:
    """The key file chosen on the command line, else NURSECASE_KEY_FILE's, else None."""
    if _chosen_key_file is not None:
        return _chosen_key_file
    from_environment = os.environ.get(KEY_FILE_ENV, "").strip()
    return Path(from_environment).expanduser() if from_environment else None


def passphrase_for(database: Path, *, prompt: Callable[[str], str] | None = None) -> str:
    """The passphrase for ``database``: key file, NURSECASE_KEY_FILE, or a hidden prompt."""
    source = key_file_source()
    if source is not None:
        return read_key_file(source)
    if database in _typed:
        return _typed[database]
    if prompt is None:
        if not sys.stdin.isatty():
            raise EncryptionError(
                f"{database} is encrypted: give its passphrase with --key-file PATH"
                f" or {KEY_FILE_ENV} (no terminal to ask on)"
            )
        prompt = getpass.getpass
    passphrase = prompt(f"Passphrase for {database}: ")
    if not passphrase:
        raise EncryptionError("the passphrase is empty")
    _typed[database] = passphrase
    return passphrase


def key_for(database: Path) -> bytes:
    """The raw SQLCipher key of an encrypted ``database`` from whatever source is given.

    A key file (chosen or from the environment) always wins; otherwise a key
    that already opened this database (same salt) in this process is reused,
    so that the migration engine and backups opened after ``make_engine(key=...)``
    need no second source; otherwise the passphrase is asked for.
    """
    parameters = read_parameters(database)
    if key_file_source() is None:
        proven = _proven.get((database, parameters.salt))
        if proven is not None:
            return proven
    return derive_key(passphrase_for(database), parameters)


def forget_keys() -> None:
    """Forget every passphrase and key this process holds (tests; a locked session)."""
    _typed.clear()
    _proven.clear()
    derive_key.cache_clear()


def forget_typed_passphrase(database: Path) -> None:
    """Drop a prompted passphrase that turned out wrong, so the next try asks again."""
    _typed.pop(database, None)


def wrong_key_message(database: Path) -> str:
    """The one line shown for a wrong passphrase."""
    return f"wrong passphrase for the encrypted database {database} (or the file is damaged)"


# --- connections --------------------------------------------------------------


def sqlcipher_module():
    """The SQLCipher DB-API module, or a clear error when the extra is not installed."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError as error:
        raise EncryptionError(
            "this database is encrypted and SQLCipher is not installed;"
            " install it with: pip install 'nursecase[encryption]'"
        ) from error
    return dbapi2


def key_pragma(key: bytes) -> str:
    """``PRAGMA key`` with a raw key (hex), so SQLCipher derives nothing more."""
    return f"PRAGMA key = \"x'{key.hex()}'\""


def apply_key(connection, key: bytes, database: Path) -> None:
    """Key a fresh SQLCipher connection and prove the key right, or raise one clear error."""
    module = sqlcipher_module()
    cursor = connection.cursor()
    try:
        # SQLCipher logs a failed key to stderr; the user gets our one line instead.
        cursor.execute("PRAGMA cipher_log_level = NONE")
        cursor.execute(key_pragma(key))
        cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except module.DatabaseError as error:
        forget_typed_passphrase(database)
        raise EncryptionError(wrong_key_message(database)) from error
    finally:
        cursor.close()
    salt = salt_file(database)
    # A damaged salt file leaves nothing to remember the key by.
    with contextlib.suppress(EncryptionError):
        if salt.is_file():
            _proven[(database, read_parameters(database).salt)] = key


def connect_encrypted(database: Path, key: bytes, **arguments):
    """A keyed, checked SQLCipher DB-API connection to ``database``."""
    connection = sqlcipher_module().connect(str(database), **arguments)
    try:
        apply_key(connection, key, database)
    except Exception:
        connection.close()
        raise
    return connection


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


# --- conversion ---------------------------------------------------------------


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


#: The kind (name ending) of the temporary file of each conversion (``nursecase.files``).
ENCRYPTING = "encrypting"
DECRYPTING = "decrypting"


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
    older = (
        (PLAIN_BACKUP_SUFFIX, True, "db encrypt"),
        (".decrypting", True, "db decrypt"),
        (ENCRYPTED_BACKUP_SUFFIX, False, "db decrypt"),
        (".encrypting", False, "db encrypt"),
        (SALT_SUFFIX + ".new", False, "db encrypt"),
    )
    for suffix, clear_text, left_by in older:
        path = database.with_name(database.name + suffix)
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
