"""The problem list: a patient's conditions (FHIR Condition).

A code is optional; when one is given its system (ICD-10 or SNOMED CT) must be
named too, so an export can say which vocabulary the code belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Condition
from nursecase.domain.codes import (
    ACTIVE_CLINICAL_STATUSES,
    AuditAction,
    ConditionClinicalStatus,
    parse_code,
)
from nursecase.domain.validation import (
    ValidationError,
    not_in_future,
    optional_date,
    optional_text,
    require_text,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import load_patient

CODE_SYSTEMS = ("icd-10", "snomed")
EDITABLE_FIELDS = frozenset({"description", "code", "code_system", "clinical_status", "onset_date"})


@dataclass(frozen=True)
class ConditionRead:
    """One problem-list entry."""

    id: int
    patient_id: int
    description: str
    code: str | None
    code_system: str | None
    clinical_status: str
    onset_date: date | None
    recorded_at: datetime


def _condition_read(condition: Condition) -> ConditionRead:
    return ConditionRead(
        id=condition.id,
        patient_id=condition.patient_id,
        description=condition.description,
        code=condition.code,
        code_system=condition.code_system,
        clinical_status=condition.clinical_status,
        onset_date=condition.onset_date,
        recorded_at=condition.recorded_at,
    )


class ConditionService:
    """Adding, correcting and listing a patient's conditions."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def add(
        self,
        patient_id: int,
        description: str,
        code: str | None = None,
        code_system: str | None = None,
        clinical_status: str = "active",
        onset_date: date | str | None = None,
    ) -> ConditionRead:
        """Add a condition to the patient's problem list."""
        values = self._validate(
            {
                "description": description,
                "code": code,
                "code_system": code_system,
                "clinical_status": clinical_status,
                "onset_date": onset_date,
            }
        )
        self._check_code_pair(values["code"], values["code_system"])
        with self.context.write() as session:
            load_patient(session, patient_id)
            condition = Condition(
                patient_id=patient_id, recorded_at=self.context.clock.now(), **values
            )
            session.add(condition)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "condition",
                condition.id,
                [name for name, value in values.items() if value is not None] + ["patient_id"],
            )
            return _condition_read(condition)

    def update(self, condition_id: int, **changes: object) -> ConditionRead:
        """Change the given fields of a condition."""
        for field in changes:
            if field not in EDITABLE_FIELDS:
                raise ValidationError(field, "is not a condition field that can be edited")
        values = self._validate(changes)
        with self.context.write() as session:
            condition = self._load(session, condition_id)
            self._check_code_pair(
                values.get("code", condition.code), values.get("code_system", condition.code_system)
            )
            changed = [name for name, value in values.items() if getattr(condition, name) != value]
            for name in changed:
                setattr(condition, name, values[name])
            if changed:
                session.flush()
                audit.record(
                    session, self.context, AuditAction.update, "condition", condition.id, changed
                )
            return _condition_read(condition)

    def delete(self, condition_id: int) -> None:
        """Remove a condition entered in error."""
        with self.context.write() as session:
            condition = self._load(session, condition_id)
            session.delete(condition)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, "condition", condition_id)

    def list_for_patient(self, patient_id: int) -> list[ConditionRead]:
        """The patient's conditions, active ones first, then by description."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(Condition)
                .where(Condition.patient_id == patient_id)
                .order_by(Condition.description, Condition.id)
            ).scalars()
            reads = [_condition_read(row) for row in rows]
        # Stable sort: the live problems first.
        return sorted(reads, key=lambda read: read.clinical_status not in ACTIVE_CLINICAL_STATUSES)

    def _validate(self, raw: dict[str, object]) -> dict[str, object]:
        values: dict[str, object] = {}
        if "description" in raw:
            values["description"] = require_text(raw["description"], "description", 400)
        if "code" in raw:
            code = optional_text(raw["code"], "code", max_length=40)
            values["code"] = code.upper() if code else None
        if "code_system" in raw:
            system = optional_text(raw["code_system"], "code_system", max_length=40)
            if system is not None:
                system = system.lower().replace("icd10", "icd-10").replace("snomed-ct", "snomed")
                if system not in CODE_SYSTEMS:
                    raise ValidationError("code_system", "must be one of: icd-10, snomed")
            values["code_system"] = system
        if "clinical_status" in raw:
            values["clinical_status"] = str(
                parse_code(ConditionClinicalStatus, raw["clinical_status"], "clinical_status")
            )
        if "onset_date" in raw:
            onset = optional_date(raw["onset_date"], "onset_date")
            if onset is not None:
                not_in_future(onset, "onset_date", self.context.clock.today())
            values["onset_date"] = onset
        return values

    @staticmethod
    def _check_code_pair(code: object, code_system: object) -> None:
        if code is not None and code_system is None:
            raise ValidationError("code_system", "is required when a code is given")
        if code is None and code_system is not None:
            raise ValidationError("code", "is required when a code system is given")

    @staticmethod
    def _load(session: Session, condition_id: int) -> Condition:
        condition = session.get(Condition, condition_id)
        if condition is None:
            raise NotFoundError("condition", condition_id)
        return condition
