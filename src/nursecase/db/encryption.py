"""Encryption at rest with SQLCipher: the keys (optional: ``pip install nursecase[encryption]``).

Design (DESIGN.md section 4, issue 8 item 4):

- The key is never typed: a passphrase (read from ``--key-file PATH`` /
  ``NURSECASE_KEY_FILE``, or asked by the prompt the CLI supplies, see
  ``nursecase.db.key_source``) is stretched with Argon2id into a 32-byte raw
  key, handed to SQLCipher as ``PRAGMA key = "x'<hex>'"`` so SQLCipher adds no
  second key derivation.
- The Argon2id salt (16 random bytes, one per database) and the cost
  parameters live beside the database in ``<db>.salt`` (mode 0600, JSON). The
  salt is not secret, but without it the passphrase cannot open the database:
  backups carry a copy.
- A database is encrypted when its file is not empty and does not start with
  SQLite's magic ``SQLite format 3\\0`` (an SQLCipher file starts with its own
  random salt). The header is the authority; a stale ``.salt`` beside a plain
  file is ignored.

This module is db/'s core: deriving keys, reading key files and salt files,
applying a key to a connection. Turning a database file into an encrypted one
and back is maintenance (``nursecase.db.maintenance.conversion``), and so is
copying one (``nursecase.db.maintenance.backup``).

Only this module imports ``sqlcipher3``, and only when an encrypted database is
opened or converted: plain databases never need it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from nursecase.db.key_source import KEY_FILE_ENV, ask_passphrase, key_file_source
from nursecase.db.locations import DatabaseLocationError, salt_file
from nursecase.files import write_private

#: The first 16 bytes of every plain SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The smallest passphrase ``nursecase db encrypt`` accepts.
MINIMUM_PASSPHRASE = 8


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


# --- the header and the salt file ---------------------------------------------


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


#: Passphrases typed at the prompt in this process, per database, so that one
#: command asks once even though it opens several engines.
_typed: dict[Path, str] = {}
#: Keys that opened a database in this process, by (database, salt).
_proven: dict[tuple[Path, str], bytes] = {}


def no_passphrase_message(database: Path) -> str:
    """The one line when an encrypted database has no key file and nobody to ask."""
    return (
        f"{database} is encrypted: give its passphrase with --key-file PATH"
        f" or {KEY_FILE_ENV} (no terminal to ask on)"
    )


def passphrase_for(database: Path) -> str:
    """The passphrase for ``database``: key file, NURSECASE_KEY_FILE, or the chosen prompt.

    A passphrase typed at the prompt is remembered for ``database`` in this
    process (one command opens several engines and asks once); a wrong one is
    forgotten by ``apply_key``, so that the next try asks again.
    """
    source = key_file_source()
    if source is not None:
        return read_key_file(source)
    if database in _typed:
        return _typed[database]
    passphrase = ask_passphrase(database)
    if passphrase is None:
        raise EncryptionError(no_passphrase_message(database))
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
