"""The audit key and anchor: a small file kept OUTSIDE the database.

The audit trail's rows are sealed with HMAC-SHA256 under a random key that the
database never holds, so someone who can edit the database file cannot forge a
row. The same file records the newest sealed event (its id and hash) and how
many events the trail then held: the "anchor". A trail whose newest rows were
deleted (truncated) no longer reaches its anchor, which ``verify`` reports.

The file sits beside an SQLite database (``nursecase.db.audit-key``, so the
default database's key lives in the data folder) or, for a server database, in
the data folder; ``NURSECASE_AUDIT_KEY_FILE`` names it explicitly (a team
server's workstations must share one key file, copied or on a shared mount).
It is JSON, mode 0600, and always replaced atomically (temp
file + rename). It holds no PHI: ids, hashes, counts and the key.

``base_id``/``base_hash`` name the newest event that existed when the key was
made: events up to it predate the key and carry the older plain SHA-256 chain.
``base_verifiable`` is False when that event did not match its SHA-256 hash,
that is when it was sealed under an earlier key that has since been lost.

``database_id`` names the database the key belongs to: the same random number
is written into the trail itself, as the ``entity_id`` of a ``create`` event on
the entity ``audit-key`` (``KEY_MARKER_ENTITY``), sealed under the key. The
marker tells ``verify`` that the trail was sealed with a key (so a missing key
file is a failure, not "no key yet"), and a key file whose number is not the
trail's is named as another database's key. Key files written before the
number existed load with ``database_id`` None and get it at the next change.

The key file must be private (mode 0600): the same rule as the passphrase key
file (``db.encryption.shared_secret_problem``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from sqlalchemy import Engine

from nursecase.db.locations import audit_key_file
from nursecase.services.errors import ServiceError

#: Names the key file explicitly: a team server's workstations share one key
#: (each would otherwise make its own, and see the others' events as forged).
KEY_FILE_VARIABLE = "NURSECASE_AUDIT_KEY_FILE"
FORMAT_VERSION = 1
#: The entity of the audit event that marks a trail as sealed with a key; its
#: ``entity_id`` is the key file's ``database_id``.
KEY_MARKER_ENTITY = "audit-key"
#: Database ids fit a 32-bit signed integer column (``audit_event.entity_id``).
_DATABASE_ID_LIMIT = 2**31 - 1


class AuditKeyError(ServiceError):
    """The audit key file exists but cannot be read or is not a key file."""


@dataclass(frozen=True)
class AuditAnchor:
    """The contents of the key file."""

    key: str
    base_id: int
    base_hash: str
    base_verifiable: bool
    last_id: int
    last_hash: str
    count: int
    #: The database this key belongs to (see the module docstring); None in key
    #: files written before it existed.
    database_id: int | None = None

    @property
    def key_bytes(self) -> bytes:
        """The HMAC key."""
        return bytes.fromhex(self.key)

    def advanced(self, last_id: int, last_hash: str, count: int) -> AuditAnchor:
        """The same key, anchored at a newer event."""
        return replace(self, last_id=last_id, last_hash=last_hash, count=count)


def anchor_path(engine: Engine) -> Path | None:
    """Where the key file of this engine's database lives; None for an in-memory one."""
    from nursecase.db.engine import sqlite_file
    from nursecase.paths import data_home

    named = os.environ.get(KEY_FILE_VARIABLE, "").strip()
    if named:
        return Path(named).expanduser()
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = sqlite_file(url.render_as_string(hide_password=True))
        return None if database is None else audit_key_file(database)
    # A server database: one key file per server and database, in the data folder.
    label = "-".join(str(part) for part in (url.get_backend_name(), url.host, url.database) if part)
    return data_home() / f"audit-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}.key"


def new_database_id() -> int:
    """A random database id (1 .. 2**31-1) for a trail that has none yet."""
    return secrets.randbelow(_DATABASE_ID_LIMIT - 1) + 1


def new_anchor(
    base_id: int,
    base_hash: str,
    base_verifiable: bool,
    count: int,
    database_id: int | None = None,
) -> AuditAnchor:
    """A fresh random key, anchored at the newest event that predates it."""
    return AuditAnchor(
        key=secrets.token_hex(32),
        base_id=base_id,
        base_hash=base_hash,
        base_verifiable=base_verifiable,
        last_id=base_id,
        last_hash=base_hash,
        count=count,
        database_id=database_id,
    )


def load_anchor(path: Path) -> AuditAnchor | None:
    """The key file's contents, None if there is no file, AuditKeyError if unreadable.

    A key file that others may read is refused like the passphrase key file:
    whoever read it can reseal a rewritten trail.
    """
    from nursecase.db.encryption import shared_secret_problem

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AuditKeyError(f"cannot read the audit key file {path}: {error.strerror}") from error
    problem = shared_secret_problem(path, mode, "audit key file")
    if problem is not None:
        raise AuditKeyError(problem)
    try:
        data = json.loads(text)
        if data.pop("version", None) != FORMAT_VERSION:
            raise ValueError("unknown version")
        anchor = AuditAnchor(**data)
        if len(anchor.key_bytes) != 32:
            raise ValueError("bad key length")
        if anchor.database_id is not None and not isinstance(anchor.database_id, int):
            raise ValueError("bad database id")
    except (ValueError, TypeError) as error:
        raise AuditKeyError(f"the audit key file {path} is damaged or not a key file") from error
    return anchor


def _write_temp(path: Path, anchor: AuditAnchor) -> Path:
    """The anchor written and synced to a 0600 temp file in ``path``'s folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"version": FORMAT_VERSION, **asdict(anchor)}, stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def save_anchor(path: Path, anchor: AuditAnchor) -> None:
    """Replace the key file atomically (temp file + rename, mode 0600)."""
    temp = _write_temp(path, anchor)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def create_anchor(path: Path, anchor: AuditAnchor) -> AuditAnchor:
    """Install a new key file unless one appeared meanwhile; the key file in force.

    A hard link refuses to replace an existing file, so two processes making a
    key at once agree on one key (the first), never on two.
    """
    temp = _write_temp(path, anchor)
    try:
        os.link(temp, path)
    except FileExistsError:
        existing = load_anchor(path)
        if existing is not None:
            return existing
        raise
    finally:
        temp.unlink(missing_ok=True)
    return anchor
