"""Encounters: hospital stays, emergency visits and observation stays (issue 21).

An encounter is learned from the hospital's ADT feed (``services.adt_inbox``),
a FHIR import or the discharge form; this module keeps them and reads them.
What each kind of event does to the record and to Today:

- An admission (an inpatient or observation stay begins): the encounter is in
  progress, the patient is *in hospital* (the IN HOSPITAL flag; the contact
  cadence waits while she is there), and a task says once, on Today, "Admitted
  05 Dec to Mercy General".
- A discharge from a hospital stay: the encounter is finished; the discharge
  is recorded as the discharge form records it (``transitions.add_discharge``),
  starting the TCM clocks, when it went to the patient's community setting
  (``domain.encounters.starts_tcm``) and is inside the TCM window. A discharge
  within 30 days of the previous one is a READMISSION (``domain.flags``).
- An emergency visit: a follow-up task goes on Today, to be done within 7 days
  of the visit (``domain.encounters.ed_follow_up_by``, HEDIS FMC).
- A cancelled admission (A11) cancels the encounter and its admission task; a
  cancelled discharge (A13) puts the stay back in progress and removes the
  discharge it recorded, with the TCM tasks it started.

An encounter is never a contact: it carries no minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Encounter, EncounterDiagnosis, Patient, Task
from nursecase.domain.codes import (
    AuditAction,
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
    TaskPriority,
    TaskSource,
    TaskStatus,
)
from nursecase.domain.encounters import (
    ed_follow_up_by,
    in_emergency_department_words,
    in_hospital_words,
    is_hospital_stay,
    starts_tcm,
)
from nursecase.domain.fhir_encounters import diagnosis_system
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.patients import OPEN_TASK_STATUSES, load_patient
from nursecase.services.tasks import create_task, set_task_status
from nursecase.services.transitions import (
    MAXIMUM_DISCHARGE_AGE_DAYS,
    add_discharge,
    discharge_on_day,
    remove_discharge,
)

_ENCOUNTER_SOURCE = str(TaskSource.encounter)
_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
#: Encounter statuses that are not (or no longer) a real encounter.
VOID_STATUSES = frozenset({str(EncounterStatus.cancelled), str(EncounterStatus.entered_in_error)})
#: The reasons kept on tasks an event closed.
ADMISSION_CANCELLED = "admission cancelled by the hospital"
DISCHARGED_SINCE = "discharged since"


@dataclass(frozen=True)
class DiagnosisRead:
    """One diagnosis of an encounter: its words, and its code for machines."""

    display: str
    code: str | None
    system: str | None


@dataclass(frozen=True)
class EncounterRead:
    """An encounter as the screens and reports read it."""

    id: int
    patient_id: int
    encounter_class: EncounterClass
    status: EncounterStatus
    facility: str | None
    admitted_at: datetime
    discharged_at: datetime | None
    disposition: DischargeDisposition | None
    source: EncounterSource
    source_key: str
    diagnoses: tuple[DiagnosisRead, ...]
    transition_id: int | None

    @property
    def in_progress(self) -> bool:
        """True while the patient is still there (admitted, in the ED, under observation)."""
        return self.status is EncounterStatus.in_progress


@dataclass(frozen=True)
class EncounterChange:
    """What a source says about one encounter: the fields it knows (None: not said)."""

    encounter_class: EncounterClass
    source: EncounterSource
    source_key: str
    admitted_at: datetime
    facility: str | None = None
    discharged_at: datetime | None = None
    disposition: DischargeDisposition | None = None
    #: (display, code, system) of each diagnosis, in order; None leaves them as they are.
    diagnoses: tuple[tuple[str, str | None, str | None], ...] | None = None
    #: When nursecase learned of it (the message's arrival, the import).
    known_at: datetime | None = None


def read_encounter(encounter: Encounter, diagnoses: Sequence[EncounterDiagnosis]) -> EncounterRead:
    """The read model of a stored encounter."""
    return EncounterRead(
        id=encounter.id or 0,
        patient_id=encounter.patient_id,
        encounter_class=EncounterClass(encounter.encounter_class),
        status=EncounterStatus(encounter.status),
        facility=encounter.facility,
        admitted_at=encounter.admitted_at,
        discharged_at=encounter.discharged_at,
        disposition=(
            DischargeDisposition(encounter.disposition) if encounter.disposition else None
        ),
        source=EncounterSource(encounter.source),
        source_key=encounter.source_key,
        diagnoses=tuple(
            DiagnosisRead(row.display, row.code, row.system)
            for row in sorted(diagnoses, key=lambda row: row.rank)
        ),
        transition_id=encounter.transition_id,
    )


def find_encounter(
    session: Session, patient_id: int, source: EncounterSource, source_key: str
) -> Encounter | None:
    """The patient's encounter this source knows by this key, if any."""
    return session.execute(
        select(Encounter).where(
            Encounter.patient_id == patient_id,
            Encounter.source == str(source),
            Encounter.source_key == source_key,
        )
    ).scalar()


def open_stay(session: Session, patient_id: int) -> Encounter | None:
    """The patient's latest encounter still in progress (a stay, an ED visit), if any."""
    return session.execute(
        select(Encounter)
        .where(
            Encounter.patient_id == patient_id,
            Encounter.status == str(EncounterStatus.in_progress),
        )
        .order_by(Encounter.admitted_at.desc(), Encounter.id.desc())
        .limit(1)
    ).scalar()


def save_encounter(
    session: Session,
    context: ServiceContext,
    patient: Patient,
    change: EncounterChange,
    status: EncounterStatus,
) -> tuple[Encounter, bool]:
    """Create or update the encounter ``change`` describes (audited); (it, whether it is new)."""
    encounter, created, _changed = write_encounter(session, context, patient, change, status)
    return encounter, created


def write_encounter(
    session: Session,
    context: ServiceContext,
    patient: Patient,
    change: EncounterChange,
    status: EncounterStatus,
) -> tuple[Encounter, bool, list[str]]:
    """``save_encounter``, also naming the fields it changed ([] when nothing differed).

    The FHIR import counts an encounter a second import left alone as unchanged.
    """
    now = context.clock.now()
    encounter = find_encounter(session, patient.id or 0, change.source, change.source_key)
    created = encounter is None
    if encounter is None:
        encounter = Encounter(
            patient_id=patient.id,
            encounter_class=str(change.encounter_class),
            status=str(status),
            facility=change.facility,
            admitted_at=change.admitted_at,
            discharged_at=change.discharged_at,
            disposition=str(change.disposition) if change.disposition else None,
            source=str(change.source),
            source_key=change.source_key,
            admission_known_at=change.known_at or now,
            discharge_known_at=(change.known_at or now) if change.discharged_at else None,
            created_at=now,
            updated_at=now,
        )
        session.add(encounter)
        session.flush()
        changed = [
            name
            for name, value in (
                ("patient_id", encounter.patient_id),
                ("encounter_class", encounter.encounter_class),
                ("status", encounter.status),
                ("facility", encounter.facility),
                ("admitted_at", encounter.admitted_at),
                ("discharged_at", encounter.discharged_at),
                ("disposition", encounter.disposition),
                ("source", encounter.source),
            )
            if value is not None
        ]
    else:
        values = {
            "encounter_class": str(change.encounter_class),
            "status": str(status),
            "admitted_at": change.admitted_at,
        }
        if change.facility is not None:
            values["facility"] = change.facility
        if change.discharged_at is not None:
            values["discharged_at"] = change.discharged_at
            values["disposition"] = str(change.disposition) if change.disposition else None
            if encounter.discharge_known_at is None:
                values["discharge_known_at"] = change.known_at or now
        changed = [name for name, value in values.items() if getattr(encounter, name) != value]
        for name in changed:
            setattr(encounter, name, values[name])
        if changed:
            encounter.updated_at = now
            session.flush()
    if change.diagnoses is not None and _set_diagnoses(
        session, encounter, change.diagnoses, new=created
    ):
        changed.append("diagnoses")
    if changed:
        audit.record(
            session,
            context,
            AuditAction.create if created else AuditAction.update,
            "encounter",
            encounter.id,
            changed,
        )
    return encounter, created, changed


def _set_diagnoses(
    session: Session,
    encounter: Encounter,
    diagnoses: tuple[tuple[str, str | None, str | None], ...],
    *,
    new: bool = False,
) -> bool:
    """Replace the encounter's diagnoses with these; False when they were the same.

    A ``new`` encounter has none yet: not read (a bulk import creates thousands).
    """
    stored = (
        []
        if new
        else list(
            session.execute(
                select(EncounterDiagnosis)
                .where(EncounterDiagnosis.encounter_id == encounter.id)
                .order_by(EncounterDiagnosis.rank)
            ).scalars()
        )
    )
    if [_diagnosis_key(row.display, row.code, row.system) for row in stored] == [
        _diagnosis_key(*diagnosis) for diagnosis in diagnoses
    ]:
        return False
    for row in stored:
        session.delete(row)
    for rank, (display, code, system) in enumerate(diagnoses, start=1):
        session.add(
            EncounterDiagnosis(
                encounter_id=encounter.id,
                rank=rank,
                display=display[:400],
                code=code[:32] if code else None,
                system=system[:200] if system else None,
            )
        )
    session.flush()
    return True


def _diagnosis_key(display: str, code: str | None, system: str | None) -> tuple:
    """A diagnosis as compared: its system as a URI when known (a feed's "I10" is ICD-10)."""
    return (display, code, diagnosis_system(system) or system)


def _encounter_tasks(session: Session, encounter: Encounter) -> list[Task]:
    return list(
        session.execute(
            select(Task).where(
                Task.patient_id == encounter.patient_id,
                Task.source == _ENCOUNTER_SOURCE,
                Task.source_id == encounter.id,
                Task.status.in_(_OPEN_TASK_CODES),
            )
        ).scalars()
    )


def close_encounter_tasks(
    session: Session,
    context: ServiceContext,
    encounter: Encounter,
    reason: str,
    status: TaskStatus = TaskStatus.cancelled,
) -> None:
    """Close the encounter's open tasks (its admission notice, its ED follow-up), audited."""
    for task in _encounter_tasks(session, encounter):
        set_task_status(session, context, task, status, reason)


def admission_words(encounter: Encounter) -> str:
    """The admission notice on Today: "Admitted 05 Dec to Mercy General" (or "Observation ...")."""
    day = f"{encounter.admitted_at:%d %b}"
    where = f" to {encounter.facility}" if encounter.facility else ""
    if encounter.encounter_class == str(EncounterClass.observation):
        return f"Observation stay from {day}{where}"
    return f"Admitted {day}{where}"


def ed_follow_up_words(encounter: Encounter) -> str:
    """The ED follow-up task: "Follow up ED visit of 20 Dec (by 27 Dec)"."""
    visit = encounter.admitted_at.date()
    return f"Follow up ED visit of {visit:%d %b} (by {ed_follow_up_by(visit):%d %b})"


def record_admission(
    session: Session, context: ServiceContext, patient: Patient, change: EncounterChange
) -> Encounter:
    """A stay begins (A01, A06, an ED visit become a stay): in hospital, noticed once on Today."""
    encounter, _created = save_encounter(
        session, context, patient, change, EncounterStatus.in_progress
    )
    # Once per stay: an update (A08) or a repeat never adds a second notice.
    notices = session.execute(
        select(Task.id).where(
            Task.patient_id == patient.id,
            Task.source == _ENCOUNTER_SOURCE,
            Task.source_id == encounter.id,
            Task.description.like("Admitted %") | Task.description.like("Observation stay %"),
        )
    ).first()
    if notices is None:
        # An ED visit that became a stay: the follow-up of the visit is the stay's now.
        close_encounter_tasks(session, context, encounter, "admitted from the ED")
        create_task(
            session,
            context,
            patient,
            admission_words(encounter),
            context.clock.today(),
            TaskPriority.urgent,
            TaskSource.encounter,
            encounter.id,
        )
    return encounter


def record_emergency_visit(
    session: Session, context: ServiceContext, patient: Patient, change: EncounterChange
) -> Encounter:
    """An ED visit (A04 with the emergency class): its follow-up goes on Today, once."""
    status = EncounterStatus.finished if change.discharged_at else EncounterStatus.in_progress
    encounter, created = save_encounter(session, context, patient, change, status)
    if created:
        create_task(
            session,
            context,
            patient,
            ed_follow_up_words(encounter),
            context.clock.today(),
            TaskPriority.routine,
            TaskSource.encounter,
            encounter.id,
        )
    return encounter


def record_discharge(
    session: Session, context: ServiceContext, patient: Patient, change: EncounterChange
) -> Encounter:
    """A discharge (A03): the stay ends; a hospital stay's discharge home starts the TCM clocks.

    The clocks start as the discharge form starts them, once per discharge day
    (a discharge already recorded that day, typed by a nurse, is linked rather
    than doubled), and only inside the TCM window: an old discharge is kept as
    an encounter without clocks, as the form refuses it.
    """
    encounter, _created = save_encounter(
        session, context, patient, change, EncounterStatus.finished
    )
    close_encounter_tasks(session, context, encounter, DISCHARGED_SINCE, TaskStatus.completed)
    if encounter.transition_id is not None or encounter.discharged_at is None:
        return encounter
    disposition = DischargeDisposition(encounter.disposition) if encounter.disposition else None
    day = encounter.discharged_at.date()
    today = context.clock.today()
    if (
        not is_hospital_stay(EncounterClass(encounter.encounter_class))
        or not starts_tcm(disposition)
        or day > today
        or (today - day).days > MAXIMUM_DISCHARGE_AGE_DAYS
    ):
        return encounter
    transition = discharge_on_day(session, patient.id or 0, day)
    if transition is None:
        stay = (day - encounter.admitted_at.date()).days
        transition = add_discharge(
            session,
            context,
            patient,
            day,
            encounter.facility,
            length_of_stay_days=max(stay, 0),
        )
    encounter.transition_id = transition.id
    session.flush()
    audit.record(session, context, AuditAction.update, "encounter", encounter.id, ["transition_id"])
    return encounter


def cancel_admission(session: Session, context: ServiceContext, encounter: Encounter) -> None:
    """A11: the admission did not happen; the notice goes, the patient is not in hospital."""
    encounter.status = str(EncounterStatus.cancelled)
    encounter.updated_at = context.clock.now()
    session.flush()
    audit.record(session, context, AuditAction.update, "encounter", encounter.id, ["status"])
    close_encounter_tasks(session, context, encounter, ADMISSION_CANCELLED)


def cancel_discharge(session: Session, context: ServiceContext, encounter: Encounter) -> None:
    """A13: the patient was not discharged; the stay is back in progress, its clocks removed."""
    transition_id = encounter.transition_id
    encounter.status = str(EncounterStatus.in_progress)
    encounter.discharged_at = None
    encounter.disposition = None
    encounter.discharge_known_at = None
    encounter.transition_id = None
    encounter.updated_at = context.clock.now()
    session.flush()
    audit.record(
        session,
        context,
        AuditAction.update,
        "encounter",
        encounter.id,
        ["status", "discharged_at", "disposition", "discharge_known_at", "transition_id"],
    )
    if transition_id is not None:
        still_used = session.execute(
            select(Encounter.id).where(Encounter.transition_id == transition_id)
        ).first()
        if still_used is None:
            remove_discharge(session, context, transition_id)


def stay_words(encounter: EncounterRead) -> str:
    """Where an in-progress encounter has the patient: "In hospital since 05 Dec, Mercy General"."""
    since = encounter.admitted_at.date()
    if encounter.encounter_class is EncounterClass.emergency:
        return in_emergency_department_words(encounter.facility, since)
    return in_hospital_words(encounter.facility, since)


def diagnoses_of(
    session: Session, encounter_ids: Iterable[int]
) -> dict[int, list[EncounterDiagnosis]]:
    """The diagnoses of these encounters, by encounter id."""
    ids = list(encounter_ids)
    found: dict[int, list[EncounterDiagnosis]] = {encounter_id: [] for encounter_id in ids}
    if ids:
        for row in session.execute(
            select(EncounterDiagnosis).where(EncounterDiagnosis.encounter_id.in_(ids))
        ).scalars():
            found[row.encounter_id].append(row)
    return found


class EncounterService:
    """Reading a patient's encounters and whether she is in hospital now."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def list_for_patient(self, patient_id: int) -> list[EncounterRead]:
        """The patient's encounters, newest first (cancelled ones included, as such)."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = list(
                session.execute(
                    select(Encounter)
                    .where(Encounter.patient_id == patient_id)
                    .order_by(Encounter.admitted_at.desc(), Encounter.id.desc())
                ).scalars()
            )
            diagnoses = diagnoses_of(session, [row.id for row in rows if row.id is not None])
            return [read_encounter(row, diagnoses.get(row.id or 0, [])) for row in rows]

    def current(self, patient_id: int) -> EncounterRead | None:
        """The encounter the patient is in now (a stay, the ED), or None."""
        with self.context.read() as session:
            encounter = open_stay(session, patient_id)
            if encounter is None:
                return None
            diagnoses = diagnoses_of(session, [encounter.id or 0])
            return read_encounter(encounter, diagnoses[encounter.id or 0])
