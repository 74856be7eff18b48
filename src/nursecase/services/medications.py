"""The medication list, and medication reconciliation.

Reconciling confirms, with the patient, every medication still being taken
(active or on hold): each gets today's date as ``last_reconciled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Medication, MedicationReconciliation
from nursecase.domain.codes import AuditAction, MedicationStatus, parse_code
from nursecase.domain.validation import ValidationError, optional_text, require_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import load_patient

EDITABLE_FIELDS = frozenset({"name", "dose", "route", "frequency", "status"})
#: Statuses of medications the patient is still meant to have: these get reconciled.
CURRENT_STATUSES = (str(MedicationStatus.active), str(MedicationStatus.on_hold))


@dataclass(frozen=True)
class MedicationRead:
    """One medication-list entry."""

    id: int
    patient_id: int
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    status: str
    last_reconciled: date | None
    created_at: datetime


def _medication_read(medication: Medication) -> MedicationRead:
    return MedicationRead(
        id=medication.id,
        patient_id=medication.patient_id,
        name=medication.name,
        dose=medication.dose,
        route=medication.route,
        frequency=medication.frequency,
        status=medication.status,
        last_reconciled=medication.last_reconciled,
        created_at=medication.created_at,
    )


def _validate(raw: dict[str, object]) -> dict[str, object]:
    values: dict[str, object] = {}
    if "name" in raw:
        values["name"] = require_text(raw["name"], "name", max_length=200)
    if "dose" in raw:
        values["dose"] = optional_text(raw["dose"], "dose", max_length=80)
    if "route" in raw:
        values["route"] = optional_text(raw["route"], "route", max_length=40)
    if "frequency" in raw:
        values["frequency"] = optional_text(raw["frequency"], "frequency", max_length=80)
    if "status" in raw:
        values["status"] = str(parse_code(MedicationStatus, raw["status"], "status"))
    return values


class MedicationService:
    """Adding, correcting, listing and reconciling medications."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def add(
        self,
        patient_id: int,
        name: str,
        dose: str | None = None,
        route: str | None = None,
        frequency: str | None = None,
        status: str = "active",
    ) -> MedicationRead:
        """Add a medication to the patient's list."""
        values = _validate(
            {"name": name, "dose": dose, "route": route, "frequency": frequency, "status": status}
        )
        with self.context.write() as session:
            load_patient(session, patient_id)
            medication = Medication(
                patient_id=patient_id, created_at=self.context.clock.now(), **values
            )
            session.add(medication)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "medication",
                medication.id,
                [name for name, value in values.items() if value is not None] + ["patient_id"],
            )
            return _medication_read(medication)

    def update(self, medication_id: int, **changes: object) -> MedicationRead:
        """Change the given fields of a medication."""
        for field in changes:
            if field not in EDITABLE_FIELDS:
                raise ValidationError(field, "is not a medication field that can be edited")
        values = _validate(changes)
        with self.context.write() as session:
            medication = self._load(session, medication_id)
            changed = [name for name, value in values.items() if getattr(medication, name) != value]
            for name in changed:
                setattr(medication, name, values[name])
            if changed:
                session.flush()
                audit.record(
                    session, self.context, AuditAction.update, "medication", medication.id, changed
                )
            return _medication_read(medication)

    def delete(self, medication_id: int) -> None:
        """Remove a medication entered in error (stop it instead when it was taken)."""
        with self.context.write() as session:
            medication = self._load(session, medication_id)
            session.delete(medication)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, "medication", medication_id)

    def list_for_patient(self, patient_id: int) -> list[MedicationRead]:
        """The patient's medications: current ones first, then by name."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(Medication)
                .where(Medication.patient_id == patient_id)
                .order_by(Medication.name, Medication.id)
            ).scalars()
            reads = [_medication_read(row) for row in rows]
        return sorted(reads, key=lambda read: read.status not in CURRENT_STATUSES)

    def reconcile(self, patient_id: int) -> int:
        """Mark every active or on-hold medication reconciled today; return how many."""
        today = self.context.clock.today()
        with self.context.write() as session:
            load_patient(session, patient_id)
            medications = list(
                session.execute(
                    select(Medication).where(
                        Medication.patient_id == patient_id,
                        Medication.status.in_(CURRENT_STATUSES),
                    )
                ).scalars()
            )
            for medication in medications:
                medication.last_reconciled = today
            session.flush()
            for medication in medications:
                audit.record(
                    session,
                    self.context,
                    AuditAction.update,
                    "medication",
                    medication.id,
                    ("last_reconciled",),
                )
            # Kept as its own row: the transitions-of-care outcome counts the
            # reconciliations of any month, not only each medication's latest.
            reconciliation = MedicationReconciliation(
                patient_id=patient_id,
                reconciled_on=today,
                medication_count=len(medications),
                nurse_id=self.context.nurse_id,
                created_at=self.context.clock.now(),
            )
            session.add(reconciliation)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "medication_reconciliation",
                reconciliation.id,
                ("patient_id", "reconciled_on", "medication_count"),
            )
            return len(medications)

    @staticmethod
    def _load(session: Session, medication_id: int) -> Medication:
        medication = session.get(Medication, medication_id)
        if medication is None:
            raise NotFoundError("medication", medication_id)
        return medication
