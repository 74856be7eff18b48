"""An audit anchor kept away from the database: proof that a resealed trail was rewritten.

The key file beside the database seals every event, but whoever can read it can
rewrite the trail and reseal every event after the change. An external anchor,
written by ``nursecase audit anchor --out FILE`` and kept by a supervisor (on
another machine, a printout of its hashes, a write-once share), records what
the trail held at that moment: the newest event's id and hash, how many events
there were, and the hashes of checkpoint events. ``audit verify --anchor FILE``
then checks that the trail still holds those events with exactly those hashes.
Because each hash seals the one before it, a change to any event at or before
the anchored one changes every later hash; the checkpoints name the first event
that differs (exactly while the trail is small enough to anchor every event).

The file is JSON, mode 0600, written atomically. It holds no PHI and no key:
ids, hashes, counts, the moment it was written and the database's id and name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FORMAT = "nursecase-audit-anchor"
FORMAT_VERSION = 1
#: Up to this many events, every event's hash is kept (the first change is named
#: exactly); above it, this many evenly spaced checkpoints (about 20 kB).
CHECKPOINTS = 256


@dataclass(frozen=True)
class ExternalAnchor:
    """What an anchor file records about a trail."""

    database_id: int | None
    database: str
    written_at: str
    last_id: int
    last_hash: str
    count: int
    #: (event id, hash) pairs, oldest first; the last one is the newest event.
    checkpoints: tuple[tuple[int, str], ...]


class AnchorFileError(Exception):
    """The anchor file cannot be read or is not an anchor file; the message says which."""


def checkpoint_rows(rows: list) -> list:
    """The rows whose hashes an anchor keeps: all, or evenly spaced ones and the newest."""
    if len(rows) <= CHECKPOINTS:
        return list(rows)
    step = len(rows) / CHECKPOINTS
    chosen = {int(index * step) for index in range(CHECKPOINTS)} | {len(rows) - 1}
    return [rows[index] for index in sorted(chosen)]


def anchor_of(
    rows: list, database_id: int | None, database: str, written_at: datetime
) -> ExternalAnchor:
    """The anchor of a trail (rows oldest first, each with ``id`` and ``hash``)."""
    newest = rows[-1]
    return ExternalAnchor(
        database_id=database_id,
        database=database,
        written_at=written_at.isoformat(sep=" "),
        last_id=newest.id,
        last_hash=newest.hash,
        count=len(rows),
        checkpoints=tuple((row.id, row.hash) for row in checkpoint_rows(rows)),
    )


def write_anchor_file(path: Path, anchor: ExternalAnchor) -> None:
    """Write the anchor as 0600 JSON (temp file + rename)."""
    from nursecase.files import write_private

    data = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "database_id": anchor.database_id,
        "database": anchor.database,
        "written_at": anchor.written_at,
        "last_id": anchor.last_id,
        "last_hash": anchor.last_hash,
        "count": anchor.count,
        "checkpoints": [list(pair) for pair in anchor.checkpoints],
    }
    write_private(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def read_anchor_file(path: Path) -> ExternalAnchor:
    """The anchor in ``path``; AnchorFileError naming the file if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnchorFileError(f"no audit anchor file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnchorFileError(f"cannot read the audit anchor file {path}") from error
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError("not an anchor")
        checkpoints = tuple((int(item[0]), str(item[1])) for item in data["checkpoints"])
        anchor = ExternalAnchor(
            database_id=data["database_id"],
            database=str(data["database"]),
            written_at=str(data["written_at"]),
            last_id=int(data["last_id"]),
            last_hash=str(data["last_hash"]),
            count=int(data["count"]),
            checkpoints=checkpoints,
        )
        if not checkpoints or checkpoints[-1] != (anchor.last_id, anchor.last_hash):
            raise ValueError("the checkpoints do not end at the newest event")
        if anchor.database_id is not None and not isinstance(anchor.database_id, int):
            raise ValueError("bad database id")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise AnchorFileError(
            f"the audit anchor file {path} is damaged or not an audit anchor"
        ) from error
    return anchor


@dataclass(frozen=True)
class AnchorCheck:
    """What comparing a trail with an anchor found: ok, or the first difference."""

    ok: bool
    first_bad_id: int | None
    message: str


def check_anchor(rows: list, anchor: ExternalAnchor, database_id: int | None) -> AnchorCheck:
    """Compare the trail (rows oldest first) with an anchor written earlier.

    ``database_id`` is the trail's own (its key marker's), None if it has none.
    Messages hold ids, counts and the anchor's date, never what an event was about.
    """
    when = f"the anchor of {anchor.written_at}"
    if (
        anchor.database_id is not None
        and database_id is not None
        and anchor.database_id != database_id
    ):
        return AnchorCheck(False, None, f"{when} belongs to another database")
    hashes = {row.id: row.hash for row in rows}
    matched: int | None = None
    for event_id, digest in anchor.checkpoints:
        found = hashes.get(event_id)
        if found == digest:
            matched = event_id
            continue
        if found is None:
            what = f"event {event_id} that {when} records is gone"
        else:
            what = f"event {event_id} is not the one {when} records"
        # With every event's hash kept, the first difference is the first changed event.
        if len(anchor.checkpoints) == anchor.count:
            where = f"the trail was rewritten from event {event_id} on"
        elif matched is None:
            where = f"the first changed event is at or before event {event_id}"
        else:
            where = f"the first changed event is between {matched + 1} and {event_id}"
        return AnchorCheck(False, event_id, f"{what}: {where}")
    through = sum(1 for row in rows if row.id <= anchor.last_id)
    if through != anchor.count:
        return AnchorCheck(
            False,
            None,
            f"{when} counts {anchor.count} events through event {anchor.last_id},"
            f" the trail holds {through}",
        )
    return AnchorCheck(
        True,
        None,
        f"the trail still holds the {anchor.count} events of {when}"
        f" (through event {anchor.last_id})",
    )
