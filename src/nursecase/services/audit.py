"""The audit trail: every create/update/delete, export, view and login.

``record`` is called by the other services inside their own transaction, so
the change and its audit event commit (or roll back) together. Events are
hash-chained: each hash covers the previous event's hash and this event's
fields, so a row edited or removed behind the database's back (the triggers
refuse UPDATE and DELETE) breaks the chain, and ``verify_chain`` finds where.

Only field NAMES are recorded, never values: the audit trail must not become a
second copy of the PHI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import AuditEvent, Nurse
from nursecase.domain.codes import AuditAction
from nursecase.services.context import ServiceContext

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


def record(
    session: Session,
    context: ServiceContext,
    action: AuditAction | str,
    entity: str,
    entity_id: int | None = None,
    changed_fields: Iterable[str] = (),
) -> None:
    """Append one audit event in the caller's transaction."""
    previous = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar()
    fields_text = ",".join(sorted(set(changed_fields))) or None
    occurred_at = context.clock.now()
    action_code = str(AuditAction(action))
    previous_hash = previous or GENESIS_HASH
    session.add(
        AuditEvent(
            occurred_at=occurred_at,
            nurse_id=context.nurse_id,
            action=action_code,
            entity=entity,
            entity_id=entity_id,
            changed_fields=fields_text,
            previous_hash=previous_hash,
            hash=event_hash(
                previous_hash,
                occurred_at,
                context.nurse_id,
                action_code,
                entity,
                entity_id,
                fields_text,
            ),
        )
    )


class AuditService:
    """Reading and verifying the audit trail."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def list_events(
        self, entity: str | None = None, entity_id: int | None = None, limit: int = 200
    ) -> list[AuditEventRead]:
        """The newest events first, optionally for one entity."""
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

    def count(self) -> int:
        """How many events the trail holds."""
        from sqlalchemy import func

        with self.context.read() as session:
            return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    def verify_chain(self) -> int | None:
        """The id of the first event whose hash does not match, or None if intact."""
        previous_hash = GENESIS_HASH
        with self.context.read() as session:
            for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
                expected = event_hash(
                    previous_hash,
                    event.occurred_at,
                    event.nurse_id,
                    event.action,
                    event.entity,
                    event.entity_id,
                    event.changed_fields,
                )
                if event.previous_hash != previous_hash or event.hash != expected:
                    return event.id
                previous_hash = event.hash
        return None
