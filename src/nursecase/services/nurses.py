"""Nurses: the users of the system, and signing one in for a session.

A workstation session acts as one nurse: ``sign_in`` puts that nurse on the
shared ``ServiceContext`` (so every later audit event names them) and records a
"login" audit event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from nursecase.db.models import Nurse
from nursecase.domain.codes import AuditAction
from nursecase.domain.validation import ValidationError, optional_text, require_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext

_USERNAME = re.compile(r"[a-z0-9._-]{2,64}")


@dataclass(frozen=True)
class NurseRead:
    """A nurse as the screens and the CLI see them."""

    id: int
    username: str
    display_name: str
    credentials: str
    active: bool


def normalize_username(value: object) -> str:
    """A username stripped and lower-cased; 2-64 of a-z 0-9 . - _."""
    text = require_text(value, "username", max_length=64).lower()
    if not _USERNAME.fullmatch(text):
        raise ValidationError(
            "username", "must be 2-64 lowercase letters, digits, dots, hyphens or underscores"
        )
    return text


def nurse_read(nurse: Nurse) -> NurseRead:
    """The read model of a nurse row."""
    return NurseRead(
        id=nurse.id,
        username=nurse.username,
        display_name=nurse.display_name,
        credentials=nurse.credentials,
        active=nurse.active,
    )


def nurse_id_for_username(session, username: object, field: str = "nurse_username") -> int:
    """The id of the active nurse with ``username``, or a ValidationError naming ``field``."""
    name = require_text(username, field, max_length=64).lower()
    nurse = session.execute(select(Nurse).where(Nurse.username == name)).scalar_one_or_none()
    if nurse is None or not nurse.active:
        raise ValidationError(field, f"no active nurse with username '{name}'")
    return nurse.id


class NurseService:
    """Creating, listing and signing in nurses."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def create(self, username: str, display_name: str, credentials: str = "RN") -> NurseRead:
        """Add a nurse; the username must be unique."""
        name = normalize_username(username)
        display = require_text(display_name, "display_name", max_length=120)
        credential_text = optional_text(credentials, "credentials", max_length=64) or "RN"
        with self.context.write() as session:
            taken = session.execute(select(Nurse.id).where(Nurse.username == name)).scalar()
            if taken is not None:
                raise ValidationError("username", "is already taken")
            nurse = Nurse(
                username=name,
                display_name=display,
                credentials=credential_text,
                active=True,
                created_at=self.context.clock.now(),
            )
            session.add(nurse)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "nurse",
                nurse.id,
                ("username", "display_name", "credentials"),
            )
            return nurse_read(nurse)

    def list_nurses(self) -> list[NurseRead]:
        """Every nurse, by username."""
        with self.context.read() as session:
            rows = session.execute(select(Nurse).order_by(Nurse.username)).scalars()
            return [nurse_read(nurse) for nurse in rows]

    def get_by_username(self, username: str) -> NurseRead | None:
        """The nurse with this username, or None."""
        name = (username or "").strip().lower()
        with self.context.read() as session:
            nurse = session.execute(
                select(Nurse).where(Nurse.username == name)
            ).scalar_one_or_none()
            return nurse_read(nurse) if nurse is not None else None

    def sign_in(self, username: str) -> NurseRead:
        """Act as this nurse from now on, and record the login."""
        name = (username or "").strip().lower()
        previous = (self.context.nurse_id, self.context.nurse_name)
        try:
            with self.context.write() as session:
                nurse = session.execute(
                    select(Nurse).where(Nurse.username == name, Nurse.active.is_(True))
                ).scalar_one_or_none()
                if nurse is None:
                    known = session.execute(
                        select(Nurse.username)
                        .where(Nurse.active.is_(True))
                        .order_by(Nurse.username)
                    ).scalars()
                    known_text = ", ".join(known) or "none yet"
                    raise ValidationError(
                        "nurse", f"no nurse with username '{name}'; known: {known_text}"
                    )
                # The audit event reads the nurse from the context, so set it first.
                self.context.nurse_id = nurse.id
                self.context.nurse_name = nurse.display_name
                audit.record(session, self.context, AuditAction.login, "nurse", nurse.id)
                return nurse_read(nurse)
        except Exception:
            # The login was not recorded, so it did not happen: keep acting as before.
            self.context.nurse_id, self.context.nurse_name = previous
            raise

    def current(self) -> NurseRead | None:
        """The signed-in nurse, or None."""
        if self.context.nurse_id is None:
            return None
        with self.context.read() as session:
            nurse = session.get(Nurse, self.context.nurse_id)
            return nurse_read(nurse) if nurse is not None else None

    def count(self) -> int:
        """How many nurses exist."""
        with self.context.read() as session:
            return session.execute(select(func.count()).select_from(Nurse)).scalar_one()
