"""The people involved in a patient's care: PCP, specialists, caregivers, ..."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import CareTeamMember
from nursecase.domain.codes import AuditAction, CareTeamRole, parse_code
from nursecase.domain.validation import (
    ValidationError,
    normalize_phone,
    optional_text,
    require_text,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import load_patient

EDITABLE_FIELDS = frozenset({"name", "role", "organisation", "phone"})


@dataclass(frozen=True)
class CareTeamMemberRead:
    """One member of a patient's care team."""

    id: int
    patient_id: int
    name: str
    role: str
    organisation: str | None
    phone: str | None


def _member_read(member: CareTeamMember) -> CareTeamMemberRead:
    return CareTeamMemberRead(
        id=member.id,
        patient_id=member.patient_id,
        name=member.name,
        role=member.role,
        organisation=member.organisation,
        phone=member.phone,
    )


def _validate(raw: dict[str, object]) -> dict[str, object]:
    values: dict[str, object] = {}
    if "name" in raw:
        values["name"] = require_text(raw["name"], "name", max_length=120)
    if "role" in raw:
        values["role"] = str(parse_code(CareTeamRole, raw["role"], "role"))
    if "organisation" in raw:
        values["organisation"] = optional_text(raw["organisation"], "organisation", 200)
    if "phone" in raw:
        # Checked like a patient's phone, but kept as typed (people read it aloud).
        values["phone"] = (
            optional_text(raw["phone"], "phone", 40) if normalize_phone(raw["phone"]) else None
        )
    return values


class CareTeamService:
    """Adding, correcting and listing care team members."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def add(
        self,
        patient_id: int,
        name: str,
        role: str,
        organisation: str | None = None,
        phone: str | None = None,
    ) -> CareTeamMemberRead:
        """Add someone to the patient's care team."""
        values = _validate(
            {"name": name, "role": role, "organisation": organisation, "phone": phone}
        )
        with self.context.write() as session:
            load_patient(session, patient_id)
            member = CareTeamMember(patient_id=patient_id, **values)
            session.add(member)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "care_team_member",
                member.id,
                [name for name, value in values.items() if value is not None] + ["patient_id"],
            )
            return _member_read(member)

    def update(self, member_id: int, **changes: object) -> CareTeamMemberRead:
        """Change the given fields of a care team member."""
        for field in changes:
            if field not in EDITABLE_FIELDS:
                raise ValidationError(field, "is not a care team field that can be edited")
        values = _validate(changes)
        with self.context.write() as session:
            member = self._load(session, member_id)
            changed = [name for name, value in values.items() if getattr(member, name) != value]
            for name in changed:
                setattr(member, name, values[name])
            if changed:
                session.flush()
                audit.record(
                    session,
                    self.context,
                    AuditAction.update,
                    "care_team_member",
                    member.id,
                    changed,
                )
            return _member_read(member)

    def delete(self, member_id: int) -> None:
        """Remove someone from the care team."""
        with self.context.write() as session:
            member = self._load(session, member_id)
            session.delete(member)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, "care_team_member", member_id)

    def list_for_patient(self, patient_id: int) -> list[CareTeamMemberRead]:
        """The patient's care team, by role then name."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(CareTeamMember)
                .where(CareTeamMember.patient_id == patient_id)
                .order_by(CareTeamMember.role, CareTeamMember.name, CareTeamMember.id)
            ).scalars()
            return [_member_read(row) for row in rows]

    @staticmethod
    def _load(session: Session, member_id: int) -> CareTeamMember:
        member = session.get(CareTeamMember, member_id)
        if member is None:
            raise NotFoundError("care_team_member", member_id)
        return member
