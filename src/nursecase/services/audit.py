"""The audit trail: every create/update/delete, export, view and login.

``record`` is called by the other services inside their own transaction, so
the change and its audit event commit (or roll back) together. Events are
chained and sealed: each event's hash is an HMAC-SHA256, under a key kept in a
file outside the database (``audit_anchor``), of the event's canonical form and
the previous event's hash. Someone who edits the database file (the triggers
refuse UPDATE and DELETE, but a file can be edited) cannot reseal a row. After
each commit the key file's anchor moves to the newest event, so deleting the
newest events (truncation) is caught too. ``AuditService.verify`` names the
first bad event and whether it was edited, deleted, inserted or truncated away.

Events written before the key existed carry the older plain SHA-256 chain
(``event_hash``) and are verified with it; old rows are never rewritten.

The first keyed transaction also writes a marker event (``create`` on
``audit-key``, its ``entity_id`` the key file's database id): from then on the
trail itself says it was sealed, so a missing key file is a failure rather than
"no key yet", and another database's key file is named as such.

Only field NAMES are recorded, never values: the audit trail must not become a
second copy of the PHI.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from nursecase.db.models import AuditEvent, Nurse
from nursecase.domain.codes import AuditAction
from nursecase.services.audit_anchor import (
    KEY_MARKER_ENTITY,
    AuditAnchor,
    AuditKeyError,
    anchor_path,
    create_anchor,
    load_anchor,
    new_anchor,
    new_database_id,
    save_anchor,
)
from nursecase.services.audit_subjects import EventSubject, describe_subjects, patient_events
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEventRead:
    """One audit event as the screens and reports see it."""

    id: int
    occurred_at: datetime
    nurse_username: str | None
    action: str
    entity: str
    entity_id: int | None
    changed_fields: tuple[str, ...]


def event_hash(
    previous_hash: str,
    occurred_at: datetime,
    nurse_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changed_fields: str | None,
) -> str:
    """The chained SHA-256 of one event."""
    material = "|".join(
        [
            previous_hash,
            occurred_at.isoformat(sep=" "),
            "" if nurse_id is None else str(nurse_id),
            action,
            entity,
            "" if entity_id is None else str(entity_id),
            changed_fields or "",
        ]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def event_hmac(
    key: bytes,
    previous_hash: str,
    occurred_at: datetime,
    nurse_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changed_fields: str | None,
) -> str:
    """The HMAC-SHA256 seal of one event: its canonical form and the previous hash.

    The canonical form is a JSON array, so no field's text can be mistaken for
    a separator; the key lives outside the database (``audit_anchor``).
    """
    canonical = json.dumps(
        [
            "nursecase-audit-1",
            previous_hash,
            occurred_at.isoformat(sep=" "),
            nurse_id,
            action,
            entity,
            entity_id,
            changed_fields or "",
        ],
        separators=(",", ":"),
    )
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class _Pending:
    """What one transaction appended, to move the anchor once it commits."""

    path: Path | None
    anchor: AuditAnchor | None
    count: int
    #: False when the anchor is ahead of (or disagrees with) the database: it is
    #: evidence of truncation and is left as it is for ``verify`` to report.
    advance: bool
    #: The events appended, with their ids and hashes read at flush time.
    appended: list[tuple[AuditEvent, int, str]] = field(default_factory=list)
    #: Whether the trail still lacks the marker of this key's database id.
    marker_needed: bool = False


_STATE = "nursecase.audit.pending"
_COLUMNS = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.nurse_id,
    AuditEvent.action,
    AuditEvent.entity,
    AuditEvent.entity_id,
    AuditEvent.changed_fields,
    AuditEvent.previous_hash,
    AuditEvent.hash,
)


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def trail_database_id(executor) -> int | None:
    """The database id the trail's first key marker names; None if it has none."""
    return executor.execute(
        select(AuditEvent.entity_id)
        .where(
            AuditEvent.entity == KEY_MARKER_ENTITY,
            AuditEvent.action == str(AuditAction.create),
        )
        .order_by(AuditEvent.id)
        .limit(1)
    ).scalar()


def foreign_key_message(path: Path | None) -> str:
    """What is said when the key file's database id is not the trail's."""
    return (
        f"the audit key file {path} belongs to another database"
        " (its database id is not the one this trail was sealed with)"
    )


def _legacy_valid(event) -> bool:
    """Whether an event matches the plain SHA-256 chain of events before the key."""
    return event.hash == event_hash(
        event.previous_hash,
        event.occurred_at,
        event.nurse_id,
        event.action,
        event.entity,
        event.entity_id,
        event.changed_fields,
    )


def sealing_anchor(executor, engine) -> AuditAnchor | None:
    """The key file of ``engine``'s database, made now if there is none yet.

    ``executor`` is the Session or Connection of the writing transaction (its
    write lock keeps the key's base event from moving). None for an in-memory
    database. Bulk writers (the demo seeder) seal with ``seal(anchor, ...)``;
    they may leave the anchor behind: the next ``record`` moves it.
    """
    path = anchor_path(engine)
    if path is None:
        return None
    anchor = load_anchor(path)
    if anchor is None:
        previous = executor.execute(
            select(*_COLUMNS).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        anchor = create_anchor(
            path,
            new_anchor(
                0 if previous is None else previous.id,
                GENESIS_HASH if previous is None else previous.hash,
                previous is None or _legacy_valid(previous),
                executor.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
                # A trail that was keyed before keeps its id: the id is the database's.
                trail_database_id(executor) or new_database_id(),
            ),
        )
    return anchor


def current_anchor(engine) -> AuditAnchor | None:
    """The key file of ``engine``'s database if it has one; None otherwise (none is made).

    For bulk writers that keep the plain SHA-256 chain on a database that has no
    key yet (demo seeding is then reproducible); the first ``record`` makes the
    key, based after their events.
    """
    path = anchor_path(engine)
    return None if path is None else load_anchor(path)


#: The prefix of the ``changed_fields`` of a refused sign-in under an unknown username.
ATTEMPT_PREFIX = "attempt:"


def attempt_marker(engine, username: str) -> str:
    """A refused unknown username's mark: a digest of the name keyed with the audit key.

    The name itself is never stored (it may be a password typed in the wrong
    box); the keyed digest cannot be reversed from the database alone, yet it is
    the same for the same name, so each unknown name is throttled on its own,
    exactly like an account (``services.accounts``).
    """
    anchor = current_anchor(engine)
    material = f"nursecase-sign-in-name|{username}".encode()
    if anchor is None:  # an in-memory database, or one that has no key yet
        digest = hashlib.sha256(material).hexdigest()
    else:
        digest = hmac.new(anchor.key_bytes, material, hashlib.sha256).hexdigest()
    return ATTEMPT_PREFIX + digest[:32]


def seal(
    anchor: AuditAnchor | None,
    previous_hash: str,
    occurred_at: datetime,
    nurse_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    changed_fields: str | None,
) -> str:
    """An event's hash: HMAC under the anchor's key, plain SHA-256 without one."""
    material = (previous_hash, occurred_at, nurse_id, action, entity, entity_id, changed_fields)
    if anchor is None:
        return event_hash(*material)
    return event_hmac(anchor.key_bytes, *material)


def _pending(session: Session, context: ServiceContext, previous) -> _Pending:
    """This transaction's anchor state, loaded (or the key made) at its first event."""
    state = session.info.get(_STATE)
    if state is not None:
        return state
    path = anchor_path(context.engine)
    previous_id = 0 if previous is None else previous.id
    previous_hash = GENESIS_HASH if previous is None else previous.hash
    anchor = sealing_anchor(session, context.engine)
    marker_needed = False
    if anchor is not None:
        trail_id = trail_database_id(session)
        if anchor.database_id is None:
            # A key file from before database ids: it takes the trail's (or a new one).
            anchor = replace(anchor, database_id=trail_id or new_database_id())
        elif trail_id is not None and trail_id != anchor.database_id:
            # Sealing with another database's key would mix two trails' seals.
            raise AuditKeyError(foreign_key_message(path))
        marker_needed = trail_id is None
    if anchor is None:
        state = _Pending(path, None, 0, advance=False)
    elif anchor.last_id == previous_id and anchor.last_hash == previous_hash:
        state = _Pending(path, anchor, anchor.count, advance=True)
    else:
        # The anchor is behind (a crash after a commit, a bulk load, or another
        # process's anchor write lost a race) or ahead (rows were deleted). Only
        # move a behind one: an anchor ahead is the evidence verify must find.
        at_anchor = session.execute(
            select(AuditEvent.hash).where(AuditEvent.id == anchor.last_id)
        ).scalar()
        behind = anchor.last_id < previous_id and (
            at_anchor == anchor.last_hash
            or (anchor.last_id == 0 and anchor.last_hash == GENESIS_HASH)
        )
        state = _Pending(path, anchor, _count(session), advance=behind)
    state.marker_needed = marker_needed
    session.info[_STATE] = state
    if not session.info.get(_STATE + ".listening"):
        session.info[_STATE + ".listening"] = True
        sa_event.listen(session, "after_commit", _after_commit)
        sa_event.listen(session, "after_transaction_end", _after_transaction_end)
    return state


def _after_commit(session: Session) -> None:
    """Move the anchor to the newest event this transaction committed."""
    if session.in_nested_transaction():
        # SQLAlchemy calls this when a savepoint is released too: the transaction
        # goes on, and may still roll back; the anchor waits for its own commit.
        return
    state: _Pending | None = session.info.pop(_STATE, None)
    if state is None or not state.advance:
        return
    # An event whose savepoint rolled back is no longer persistent: not committed.
    committed = [item for item in state.appended if sa_inspect(item[0]).persistent]
    if not committed:
        return
    assert state.path is not None and state.anchor is not None
    _event, last_id, last_hash = committed[-1]
    count = state.count + len(committed)
    try:
        current = load_anchor(state.path)
        # Another process may have committed and anchored a newer event meanwhile.
        if current is not None and current.key == state.anchor.key and current.last_id >= last_id:
            return
        save_anchor(state.path, state.anchor.advanced(last_id, last_hash, count))
    except (OSError, ServiceError):
        # The rows are committed; an anchor left behind is not tampering, and
        # the next write (or verify) catches up. Failing here would report a
        # saved change as lost.
        return


def _after_transaction_end(session: Session, transaction) -> None:
    """Forget a rolled-back transaction's events (a savepoint's end is not the end)."""
    if transaction.parent is None:
        session.info.pop(_STATE, None)


def record(
    session: Session,
    context: ServiceContext,
    action: AuditAction | str,
    entity: str,
    entity_id: int | None = None,
    changed_fields: Iterable[str] = (),
) -> int:
    """Append one audit event in the caller's transaction; its id.

    The event is sealed with HMAC-SHA256 under the key beside the database; the
    anchor in the key file moves to it after the transaction commits.
    """
    previous = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    state = _pending(session, context, previous)
    fields_text = ",".join(sorted(set(changed_fields))) or None
    occurred_at = context.clock.now()
    action_code = str(AuditAction(action))
    previous_hash = GENESIS_HASH if previous is None else previous.hash
    if state.marker_needed and state.anchor is not None:
        # The trail's first keyed event says so (see the module docstring).
        state.marker_needed = False
        previous_hash = _append(
            session,
            state,
            previous_hash,
            (occurred_at, None, str(AuditAction.create)),
            (KEY_MARKER_ENTITY, state.anchor.database_id, None),
        )
    _append(
        session,
        state,
        previous_hash,
        (occurred_at, context.nurse_id, action_code),
        (entity, entity_id, fields_text),
    )
    return state.appended[-1][1]


def record_export_finished(
    context: ServiceContext,
    entity: str,
    entity_id: int | None,
    start_id: int,
    outcome: str,
    more_fields: Iterable[str] = (),
) -> None:
    """Commit how an export that ``start_id`` began ended, in a transaction of its own.

    Exports, screenshots and backups all end so: an ``export-finished`` event
    naming the outcome ("completed", "partial", "failed") and its start event.
    """
    with context.write() as session:
        record(
            session,
            context,
            AuditAction.export_finished,
            entity,
            entity_id,
            [f"outcome:{outcome}", *more_fields, f"start:{start_id}"],
        )


def _append(
    session: Session,
    state: _Pending,
    previous_hash: str,
    when_who_what: tuple[datetime, int | None, str],
    about: tuple[str, int | None, str | None],
) -> str:
    """Seal and add one event after ``previous_hash``; its hash."""
    occurred_at, nurse_id, action_code = when_who_what
    entity, entity_id, fields_text = about
    digest = seal(
        state.anchor,
        previous_hash,
        occurred_at,
        nurse_id,
        action_code,
        entity,
        entity_id,
        fields_text,
    )
    event = AuditEvent(
        occurred_at=occurred_at,
        nurse_id=nurse_id,
        action=action_code,
        entity=entity,
        entity_id=entity_id,
        changed_fields=fields_text,
        previous_hash=previous_hash,
        hash=digest,
    )
    session.add(event)
    session.flush()  # the id, for the anchor (the select above flushed the rest already)
    state.appended.append((event, event.id, digest))
    return digest


class AuditService:
    """Reading and verifying the audit trail."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def list_events(
        self,
        entity: str | None = None,
        entity_id: int | None = None,
        limit: int = 200,
        *,
        nurse_username: str | None = None,
        since: datetime | None = None,
        patient_id: int | None = None,
    ) -> list[AuditEventRead]:
        """The newest events first, optionally for one entity, one nurse, from a moment on.

        ``patient_id`` keeps the events about that patient and about the records
        of theirs still on file (contacts, plans, referrals ...; see
        ``audit_subjects``).
        """
        query = (
            select(AuditEvent, Nurse.username)
            .outerjoin(Nurse, Nurse.id == AuditEvent.nurse_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        if entity is not None:
            query = query.where(AuditEvent.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEvent.entity_id == entity_id)
        if nurse_username is not None:
            query = query.where(Nurse.username == nurse_username)
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= since)
        if patient_id is not None:
            query = query.where(patient_events(patient_id))
        with self.context.read() as session:
            return [
                AuditEventRead(
                    id=event.id,
                    occurred_at=event.occurred_at,
                    nurse_username=username,
                    action=event.action,
                    entity=event.entity,
                    entity_id=event.entity_id,
                    changed_fields=tuple(filter(None, (event.changed_fields or "").split(","))),
                )
                for event, username in session.execute(query)
            ]

    def subjects(self, events: Sequence[AuditEventRead]) -> dict[int, EventSubject]:
        """What each event is about, by event id: the patient's MRN, the account, or
        that the record is no longer on file (``audit_subjects``)."""
        with self.context.read() as session:
            return describe_subjects(
                session, [(event.id, event.entity, event.entity_id) for event in events]
            )

    def count(self) -> int:
        """How many events the trail holds."""
        with self.context.read() as session:
            return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    def verify_chain(self) -> int | None:
        """The id of the first bad event (or of the first missing one), None if intact.

        See ``verify`` for the whole report; a trail that cannot be checked for
        want of its key, with no row found bad, gives None here.
        """
        return self.verify().first_bad_id

    def key_path(self) -> Path | None:
        """Where this database's audit key file lives (None for an in-memory database)."""
        return anchor_path(self.context.engine)

    def verify(self, anchor_file: Path | None = None) -> AuditVerification:
        """Check every event's seal and link, and the anchor, from the oldest event.

        With ``anchor_file`` (written earlier by ``write_anchor``, kept elsewhere)
        the trail must also still hold the events it records, hash for hash: the
        one check a rewrite resealed with the key file cannot pass.
        """
        path = self.key_path()
        try:
            anchor = None if path is None else load_anchor(path)
        except AuditKeyError as error:
            return AuditVerification(False, "key-unreadable", None, str(error), 0)
        with self.context.read() as session:
            rows = session.execute(select(*_COLUMNS).order_by(AuditEvent.id)).all()
        report = check_trail(rows, anchor, path)
        if anchor_file is None or not report.ok:
            return report
        from nursecase.services.audit_external import (
            AnchorFileError,
            check_anchor,
            read_anchor_file,
        )

        try:
            external = read_anchor_file(anchor_file)
        except AnchorFileError as error:
            return _bad("anchor-unreadable", None, str(error), report.events)
        found = check_anchor(rows, external, _marker_id(rows))
        if not found.ok:
            return _bad("anchor-mismatch", found.first_bad_id, found.message, report.events)
        return replace(report, notes=(*report.notes, found.message))

    def write_anchor(self, destination: Path):
        """Write an anchor of the trail as it is now to ``destination`` (0600 JSON).

        Refused unless the trail verifies: an anchor vouches for what it records.
        Returns the ``ExternalAnchor`` written.
        """
        from nursecase.services.audit_external import anchor_of, write_anchor_file

        path = self.key_path()
        anchor = None if path is None else load_anchor(path)
        with self.context.read() as session:
            rows = session.execute(select(*_COLUMNS).order_by(AuditEvent.id)).all()
        report = check_trail(rows, anchor, path)
        if not report.ok:
            raise ServiceError(
                f"the audit trail does not verify ({report.message}); no anchor was written"
            )
        if not rows:
            raise ServiceError("the audit trail is empty; there is nothing to anchor yet")
        external = anchor_of(
            rows, _marker_id(rows), self._database_label(), self.context.clock.now()
        )
        write_anchor_file(destination, external)
        return external

    def _database_label(self) -> str:
        """The database's name for a person reading an anchor file (no password)."""
        url = self.context.engine.url
        if url.get_backend_name() == "sqlite":
            return Path(url.database or ":memory:").name
        return f"{url.get_backend_name()}://{url.host or ''}/{url.database or ''}"


@dataclass(frozen=True)
class AuditVerification:
    """What ``verify`` found. ``problem`` is one of: ok, edited, deleted, inserted,
    truncated, key-missing, key-wrong, key-foreign, key-unreadable, unverifiable,
    anchor-mismatch, anchor-unreadable."""

    ok: bool
    problem: str
    first_bad_id: int | None
    message: str
    events: int
    notes: tuple[str, ...] = ()


def _sealed(row, anchor: AuditAnchor | None) -> bool:
    """Whether a row matches its own seal (HMAC after the key's base, SHA-256 before)."""
    material = (
        row.previous_hash,
        row.occurred_at,
        row.nurse_id,
        row.action,
        row.entity,
        row.entity_id,
        row.changed_fields,
    )
    if anchor is not None and row.id > anchor.base_id:
        return hmac.compare_digest(row.hash, event_hmac(anchor.key_bytes, *material))
    return row.hash == event_hash(*material)


def _bad(problem: str, row_id: int | None, message: str, events: int) -> AuditVerification:
    return AuditVerification(False, problem, row_id, message, events)


def check_trail(rows: list, anchor: AuditAnchor | None, path: Path | None) -> AuditVerification:
    """Walk the rows (oldest first) against their seals, links and the anchor.

    Messages name event ids and counts only, never what an event was about.
    """
    events = len(rows)
    markers = [
        row
        for row in rows
        if row.entity == KEY_MARKER_ENTITY and row.action == str(AuditAction.create)
    ]
    if (
        anchor is not None
        and anchor.database_id is not None
        and markers
        and _marker_id(rows) != anchor.database_id
    ):
        return _bad("key-foreign", None, foreign_key_message(path), events)
    previous_hash = GENESIS_HASH
    unverifiable_from: int | None = None
    keyed_verified = False  # whether any event sealed under the key has matched it
    for index, row in enumerate(rows):
        if not _sealed(row, anchor):
            keyed = anchor is not None and row.id > anchor.base_id
            if not keyed and (anchor is None or not anchor.base_verifiable):
                # Sealed under a key that is not here: only the links can be checked.
                unverifiable_from = unverifiable_from or row.id
            elif (
                keyed
                and not keyed_verified
                and not any(_sealed(later, anchor) for later in rows[index:])
            ):
                return _bad(
                    "key-wrong",
                    row.id,
                    f"no event from {row.id} on matches the audit key in {path}:"
                    " the key file is not this database's (or every event was rewritten)",
                    events,
                )
            else:
                following = rows[index + 1] if index + 1 < len(rows) else None
                inserted = (following is not None and following.previous_hash == previous_hash) or (
                    following is None and anchor is not None and row.id > anchor.last_id
                )
                if inserted:
                    return _bad(
                        "inserted",
                        row.id,
                        f"event {row.id} was inserted: it is not part of the sealed chain",
                        events,
                    )
                return _bad(
                    "edited",
                    row.id,
                    f"event {row.id} was edited: its contents do not match its seal",
                    events,
                )
        if row.previous_hash != previous_hash:
            return _bad(
                "deleted",
                row.id,
                f"events were deleted before event {row.id}: it does not follow the event"
                " before it",
                events,
            )
        previous_hash = row.hash
        keyed_verified = keyed_verified or (anchor is not None and row.id > anchor.base_id)
    last_id = rows[-1].id if rows else 0
    notes: list[str] = []
    if anchor is not None:
        through = [row for row in rows if row.id <= anchor.last_id]
        if last_id < anchor.last_id or (through and through[-1].id != anchor.last_id):
            return _bad(
                "truncated",
                anchor.last_id,
                f"the newest events were deleted: the anchor records event {anchor.last_id}"
                f" ({anchor.count} events) but the trail ends at event {last_id}"
                f" ({events} events)",
                events,
            )
        if anchor.last_id and through[-1].hash != anchor.last_hash:
            # Every row matched its seal above, so this is a genuine event written
            # after the anchored one was deleted (the id was used again).
            return _bad(
                "truncated",
                anchor.last_id,
                f"the newest events were deleted: event {anchor.last_id} is not the one the"
                " anchor records (newer events were written after the deletion)",
                events,
            )
        if len(through) != anchor.count:
            return _bad(
                "deleted",
                None,
                f"the anchor counts {anchor.count} events through event {anchor.last_id},"
                f" the trail holds {len(through)}",
                events,
            )
        if last_id > anchor.last_id:
            notes.append(
                f"the anchor is {events - len(through)} events behind (it catches up"
                " at the next change)"
            )
    if unverifiable_from is not None:
        if anchor is None:
            return _bad(
                "key-missing",
                None,
                f"the audit key file {path} is missing: events from {unverifiable_from}"
                " on cannot be verified (restore the key file from a backup)",
                events,
            )
        return _bad(
            "unverifiable",
            None,
            f"events {unverifiable_from} to {anchor.base_id} were sealed with an audit key"
            f" that is no longer present; the {events - _position(rows, anchor)}"
            " events after them verify",
            events,
        )
    if anchor is None and markers:
        # The trail says it was sealed with a key: its events' SHA-256 links prove
        # nothing (anyone can recompute them), so this is not "no key yet".
        return _bad(
            "key-missing",
            None,
            f"the audit key file {path} is missing, but the trail was sealed with a key"
            f" from event {markers[0].id} on: it cannot be verified (restore the key file"
            " from a backup)",
            events,
        )
    if anchor is None and events:
        notes.append("no audit key yet: SHA-256 chain only, truncation is not detectable")
    return AuditVerification(
        True, "ok", None, f"ok: {events} events verified", events, tuple(notes)
    )


def _marker_id(rows: list) -> int | None:
    """The database id the trail's first key marker names; None if it has none."""
    for row in rows:
        if row.entity == KEY_MARKER_ENTITY and row.action == str(AuditAction.create):
            return row.entity_id
    return None


def _position(rows: list, anchor: AuditAnchor) -> int:
    """How many rows predate the key."""
    return sum(1 for row in rows if row.id <= anchor.base_id)
