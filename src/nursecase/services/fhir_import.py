"""Importing FHIR R4 bundles: whole patients in short transactions, every change audited.

``FhirImportService.import_file(path)`` reads a JSON file, lets the pure
``nursecase.domain.fhir_bundle`` turn it into plain records, checks that every
patient the records name exists (in the file or in nursecase), and only then
writes them with their audit events. A file it cannot read (not JSON, not a
Bundle, a resource missing a required part, a reference that does not resolve,
a value a nursecase rule refuses) raises :class:`FhirImportError`, naming the
file and the place (``entry[12].resource.subject``), and nothing from that
file is written.

The writing is done in batches of whole patients, one transaction each, of
about BATCH_RECORDS records (issue 17), with a pause between them that lets
waiting writers in (``let_waiting_writers_in``): another writer (a nurse saving
a contact) waits for one batch at most, never for the whole file. A patient is
written whole, in one batch, unless the file gives that one patient more than
BATCH_RECORDS records; such a patient is written in several batches, patient
record first. If the import stops between batches (a kill, a failing disk),
the batches written are whole and audited, the error says so, and importing
the file again completes it: records are matched by the keys below, never
doubled. Time is linear in the file's size: each patient's existing
conditions, medications and care team are read once (``RecordLookups``), not
searched again for every record.

Importing is idempotent: every record is matched by a natural key first, and
only what differs is written (and audited). A file imported a second time
writes nothing at all, not even an audit event: nothing was created, changed
or viewed. The keys:

- patient: MRN, by its key (``validation.mrn_key``: "ad2e3fc5-2b5d-..." and
  "AD2E3FC52B5D..." are one MRN); the MRN is kept exactly as the source wrote
  it, and a re-sent file's spelling replaces an older one;
- condition: patient + code system and code (or the description when there
  is no code) + onset date;
- medication: patient + name (the medication table has no code or start
  date to key on);
- care team member: patient + name;
- assessment: patient + instrument + when performed;
- transition (recent discharge): patient + discharge day;
- encounter (``domain.fhir_encounters``): patient + source + key, the
  Encounter's id (else its fullUrl), or the source and key nursecase's own
  export wrote in its identifier; its transition, when its discharge started
  one, is linked to it (``Encounter.transition_id``);
- reading (vital sign or lab, ``ReadingsService.store``): patient + LOINC
  code + moment (as wall-clock time, like an assessment's);
- care plan: patient + title + period start; its problems, goals and
  interventions by their description within the plan (goals within their
  problem). Each stored record is matched by at most one record of the file,
  in order, so two of one text stay two; among stored records of the text,
  the one whose export identifier the file carries comes first (nursecase's
  own export, imported back into its source), see :func:`match_stored`.

A goal goes under the problem it addresses, and an intervention keeps the goal
it serves (``CarePlan.activity.detail.goal``); nursecase's own Goals name their
contained problem by its identifier (``domain.fhir_care``).

When a record exists, the file's values win for the fields the file gives
(a re-sent bundle carries the source system's corrections); fields the file
leaves out keep their stored value. Status changes of care-plan items follow
the editor's rules (``care_plan_rules.check_move``): a move the rules refuse
is left out with a warning rather than forced. Imported patients are put on
the signed-in nurse's caseload (unassigned without one) with an active
case-management episode, as ``PatientService.create`` does; a deceased
patient gets neither an episode nor a next-contact date. A bundle carries no
LACE (the only score a tier rests on), so a new patient's risk tier is "not
assessed", never moderate: the nurse assesses them (``domain.risk``); a
patient already in nursecase keeps their tier.

A PHQ-9 whose item 9 (thoughts of self-harm) is above 0 creates the urgent
safety task, as one entered by hand does, whatever its date: a safety answer
nobody has followed up must reach the worklist. Recent discharges create their
two TCM tasks and end the period they readmit into, as
``TransitionService.record_discharge`` does. Encounters are stored through
``services.encounters`` (one query each, on the patient-source-key index); an
imported encounter adds no admission notice or ED follow-up task: a file is
history, the hospital feed is news.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from nursecase.db.locking import let_waiting_writers_in
from nursecase.db.models import (
    Assessment,
    AssessmentAnswer,
    CarePlan,
    CareTeamMember,
    Condition,
    Episode,
    EpisodeStatusHistory,
    Goal,
    Intervention,
    Medication,
    Patient,
    Problem,
    Transition,
)
from nursecase.domain.care_plan_rules import CLOSED_PLAN_STATUSES, ENTERED_IN_ERROR, check_move
from nursecase.domain.codes import (
    RISK_RANKS,
    AuditAction,
    CareTeamRole,
    EpisodeStatus,
    ReadingSource,
    RiskTier,
)
from nursecase.domain.fhir_bundle import parse_bundle
from nursecase.domain.fhir_records import (
    ImportedAssessment,
    ImportedCarePlan,
    ImportedCareTeamMember,
    ImportedCondition,
    ImportedDischarge,
    ImportedEncounter,
    ImportedGoal,
    ImportedIntervention,
    ImportedMedication,
    ImportedPatient,
    ImportedProblem,
    ParsedBundle,
    PatientKey,
)
from nursecase.domain.fhir_values import BundleError
from nursecase.domain.instruments import get_instrument
from nursecase.domain.safety_check import SAFETY_TASK_PRIORITY, SAFETY_TASK_SOURCE
from nursecase.domain.validation import ValidationError, mrn_key, normalize_phone, search_key
from nursecase.services import audit
from nursecase.services.care_plan_history import record_revision
from nursecase.services.context import ServiceContext
from nursecase.services.editing import guard_concurrent_save
from nursecase.services.encounters import EncounterChange, write_encounter
from nursecase.services.errors import ServiceError
from nursecase.services.exports.fhir import entry_url, resource_id
from nursecase.services.fhir_batches import (
    RecordLookups,
    condition_key,
    patient_records,
    split_into_batches,
)
from nursecase.services.patients import cadence_due_date, touch
from nursecase.services.readings import NewReading, ReadingsService
from nursecase.services.tasks import create_task
from nursecase.services.transitions import (
    MAXIMUM_DISCHARGE_AGE_DAYS,
    discharge_on_day,
    start_period,
)

#: What the summary counts, in the order it shows them.
KINDS = (
    "patients",
    "conditions",
    "medications",
    "care team members",
    "assessments",
    "transitions",
    "encounters",
    "care plans",
    "readings",
)
IMPORTED_PLAN_LABEL = "(imported from FHIR)"
#: The largest bundle file read (250 MB). A file is decoded whole, and its JSON takes
#: about seven times its size in memory: 250 MB is some 1.8 GB, and about 15,000
#: patients of nursecase's own caseload export or thousands of Synthea patients.
#: Anything longer (or a stream that never ends) is refused, naming the limit.
MAXIMUM_FILE_BYTES = 250_000_000
READ_CHUNK_BYTES = 1 << 20
#: Care-plan item owner when the activity names no performer.
DEFAULT_OWNER = "care team"
#: Records per write transaction (a care plan counts its problems, goals and
#: interventions): about 0.5 s of writing, so another writer's wait stays well
#: inside SQLite's 5 s busy timeout even on a busy machine (500 came to 4.2 s
#: on two shared cores, bench/results.md), large enough that commits cost little.
BATCH_RECORDS = 250
_HIDDEN_PATIENT_FIELDS = frozenset({"family_key", "given_key", "phone_digits", "mrn_key"})


class FhirImportError(ServiceError):
    """A file refused; nothing from it was written. ``str()`` is "file: place: why"."""

    def __init__(self, source: str, place: str | None, message: str) -> None:
        where = f"{source}: {place}" if place else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.place = place
        self.message = message

    def __reduce__(self) -> tuple[type[FhirImportError], tuple[str, str | None, str]]:
        """Pickle with all three arguments (errors may cross a worker boundary)."""
        return (self.__class__, (self.source, self.place, self.message))


@dataclass
class Tally:
    """How many records of one kind a file created, updated or left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(frozen=True)
class FileImport:
    """What importing one file did."""

    source: str
    bundle_type: str
    tallies: dict[str, Tally]
    #: Resources not used, by type (and reason).
    skipped: dict[str, int]
    #: Data left out of records that were imported ("place: why"); never values.
    warnings: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True when the file created or updated anything."""
        return any(tally.created or tally.updated for tally in self.tallies.values())


@dataclass
class ImportTotals:
    """The sum of many files' imports, for the end-of-run summary."""

    files: int = 0
    refused: list[str] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def add(self, result: FileImport) -> None:
        """Count one imported file."""
        self.files += 1
        for kind, tally in result.tallies.items():
            self.tallies[kind].add(tally)
        self.skipped.update(result.skipped)
        self.warnings.extend(f"{result.source}: {warning}" for warning in result.warnings)

    def refuse(self, error: FhirImportError) -> None:
        """Count one refused file."""
        self.refused.append(str(error))


def read_bundle_file(path: Path, limit: int = MAXIMUM_FILE_BYTES) -> object:
    """The decoded JSON of a file, or FhirImportError saying why it is not JSON.

    A file above ``limit`` bytes (:data:`MAXIMUM_FILE_BYTES`) is refused before
    it is read; a stream that never ends, once that much of it has come in.
    """
    source = str(path)
    try:
        raw = _read_limited(path, source, limit)
    except OSError as error:
        raise FhirImportError(source, None, f"cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FhirImportError(source, None, "is not JSON: not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        place = f"line {error.lineno} column {error.colno}"
        raise FhirImportError(source, place, f"is not JSON ({error.msg})") from None
    except ValueError as error:
        raise FhirImportError(source, None, f"is not JSON ({error})") from None
    except RecursionError:
        raise FhirImportError(source, None, "is nested too deeply to read") from None
    except MemoryError:
        raise FhirImportError(
            source, None, "is too large to read in the memory available"
        ) from None


def _read_limited(path: Path, source: str, limit: int) -> bytearray:
    """The file's bytes, or FhirImportError when it holds more than ``limit``."""
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise FhirImportError(source, None, _too_large(f"is {_megabytes(size)}, above", limit))
        # A pipe or device says nothing of its size (or never ends): read up to the limit.
        raw = bytearray()  # grown in place: no second copy of a large file
        while part := stream.read(min(READ_CHUNK_BYTES, limit + 1 - len(raw))):
            raw += part
            if len(raw) > limit:
                raise FhirImportError(source, None, _too_large("goes on past", limit))
    return raw


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _too_large(what: str, limit: int) -> str:
    return f"{what} the import limit of {_megabytes(limit)} (split the bundle into smaller files)"


def _refuse_constant(name: str) -> object:
    # NaN and Infinity are not JSON; Python's reader would accept them silently.
    raise ValueError(f"{name} is not a JSON value")


def wall_clock(moment: datetime) -> datetime:
    """A FHIR moment as the workstation's naive wall-clock time, to the second."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment.replace(microsecond=0)


class FhirImportService:
    """Importing FHIR R4 bundles, in batches of whole patients (see the module's docstring)."""

    def __init__(self, context: ServiceContext, *, batch_records: int = BATCH_RECORDS) -> None:
        self.context = context
        self.batch_records = batch_records

    def import_file(self, path: Path) -> FileImport:
        """Import one bundle file; FhirImportError (nothing written) when it is refused."""
        return self.import_data(read_bundle_file(path), str(path))

    def import_data(self, data: object, source: str) -> FileImport:
        """Import one decoded bundle; ``source`` names it in errors and warnings."""
        today = self.context.clock.today()
        try:
            parsed = parse_bundle(
                data, today=today, discharge_window_days=MAXIMUM_DISCHARGE_AGE_DAYS
            )
        except BundleError as error:
            raise FhirImportError(source, error.place, error.message) from None
        self._refuse_unknown_patients(parsed, source)
        batches = split_into_batches(parsed, self.batch_records)
        tallies = {kind: Tally() for kind in KINDS}
        warnings: list[str] = []
        lookups = RecordLookups()
        for number, batch in enumerate(batches):
            try:
                with self.context.write() as session:
                    writer = _Writer(session, self.context, batch, source, lookups)
                    writer.write()
            except Exception as error:
                if number == 0:
                    raise  # nothing was written: the error as it is
                raise _stopped(source, number, len(batches), error) from error
            for kind, tally in writer.tallies.items():
                tallies[kind].add(tally)
            warnings.extend(writer.warnings)
            if number + 1 < len(batches):
                let_waiting_writers_in(self.context.engine)
        return FileImport(
            source=source,
            bundle_type=parsed.bundle_type,
            tallies=tallies,
            skipped=parsed.skipped,
            warnings=parsed.warnings + tuple(warnings),
        )

    def _refuse_unknown_patients(self, parsed: ParsedBundle, source: str) -> None:
        """Refuse, before anything is written, a record whose patient is nowhere.

        The file's own patients are there; the MRNs only referred to must be in
        nursecase already. The refusal names the first such reference.
        """
        in_file = {mrn_key(patient.mrn) for patient in parsed.patients}
        referred: dict[str, str] = {}
        for record in patient_records(parsed):
            key = mrn_key(record.patient.mrn)
            if key not in in_file:
                referred.setdefault(key, record.patient.place)
        if not referred:
            return
        known: set[str] = set()
        keys = list(referred)
        with self.context.read() as session:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                known.update(
                    session.execute(
                        select(Patient.mrn_key).where(Patient.mrn_key.in_(chunk))
                    ).scalars()
                )
        for key, place in referred.items():
            if key not in known:
                raise FhirImportError(
                    source, place, "names a patient who is neither in this bundle nor in nursecase"
                )


def _stopped(source: str, written: int, batches: int, error: Exception) -> FhirImportError:
    """The error of an import that stopped after some batches had committed."""
    original = getattr(error, "orig", None)
    reason = str(error.message if isinstance(error, FhirImportError) else original or error)
    reason = (reason.strip().splitlines() or [type(error).__name__])[0][:200]
    return FhirImportError(
        source,
        None,
        f"stopped after {written} of {batches} batches of whole patients were written"
        f" ({reason}); importing the file again completes it",
    )


class _Writer:
    """One file's records written in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        context: ServiceContext,
        parsed: ParsedBundle,
        source: str,
        lookups: RecordLookups | None = None,
    ) -> None:
        self.session = session
        self.context = context
        self.parsed = parsed
        self.source = source
        self.lookups = lookups if lookups is not None else RecordLookups()
        self.now = context.clock.now()
        self.today = context.clock.today()
        self.tallies = {kind: Tally() for kind in KINDS}
        self.warnings: list[str] = []
        #: The file's patients by MRN key.
        self.patients: dict[str, Patient] = {}
        #: Stored care-plan records an item of this file already matched, across
        #: its batches (``RecordLookups.claimed``): two items never become one row.
        self.claimed = self.lookups.claimed

    def write(self) -> None:
        """Write every record of the bundle, patients first."""
        for patient in self.parsed.patients:
            self._patient(patient)
        for condition in self.parsed.conditions:
            self._condition(condition)
        for medication in self.parsed.medications:
            self._medication(medication)
        for member in self.parsed.care_team:
            self._care_team_member(member)
        for assessment in self.parsed.assessments:
            self._assessment(assessment)
        for discharge in self.parsed.discharges:
            self._transition(discharge)
        for encounter in self.parsed.encounters:
            self._encounter(encounter)
        for plan in self.parsed.care_plans:
            self._care_plan(plan)
        self._readings()

    # ---------------------------------------------------------------- helpers

    def _refuse(self, place: str | None, message: str) -> FhirImportError:
        return FhirImportError(self.source, place, message)

    def _audit(
        self, action: AuditAction, entity: str, entity_id: int | None, fields: Iterable[str]
    ) -> None:
        audit.record(self.session, self.context, action, entity, entity_id, fields)

    def _count(self, kind: str, created: bool, changed: Iterable[str]) -> None:
        tally = self.tallies[kind]
        if created:
            tally.created += 1
        elif list(changed):
            tally.updated += 1
        else:
            tally.unchanged += 1

    def _apply(self, row: Any, values: dict[str, Any]) -> list[str]:
        """Set the values that differ; return their names."""
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        return changed

    def _patient_for(self, key: PatientKey) -> Patient:
        patient = self.patients.get(mrn_key(key.mrn))
        if patient is None:
            patient = self._stored_patient(key.mrn)
            if patient is None:
                raise self._refuse(
                    key.place, "names a patient who is neither in this bundle nor in nursecase"
                )
            self.patients[mrn_key(key.mrn)] = patient
        return patient

    def _stored_patient(self, mrn: str) -> Patient | None:
        """The stored patient with this MRN, however either is written (by key).

        Two stored patients can share a key only in a database from before
        keys were kept: the one written exactly so is meant, else the first.
        """
        found = (
            self.session.execute(
                select(Patient).where(Patient.mrn_key == mrn_key(mrn)).order_by(Patient.id)
            )
            .scalars()
            .all()
        )
        exact = [patient for patient in found if patient.mrn == mrn]
        return exact[0] if exact else (found[0] if found else None)

    # --------------------------------------------------------------- patients

    def _patient(self, imported: ImportedPatient) -> None:
        values: dict[str, Any] = {
            "family_name": imported.family_name,
            "family_key": search_key(imported.family_name),
            "given_name": imported.given_name,
            "given_key": search_key(imported.given_name),
        }
        optional = {
            "birth_date": imported.birth_date,
            "sex": imported.sex,
            "phone": imported.phone,
            "phone_digits": normalize_phone(imported.phone) if imported.phone else None,
            "address": imported.address,
            "preferred_language": imported.preferred_language,
        }
        values.update({name: value for name, value in optional.items() if value is not None})
        patient = self._stored_patient(imported.mrn)
        if patient is None:
            self._create_patient(imported, values)
            return
        # The source's spelling of its own identifier wins, as its other values do
        # (a patient imported when MRNs lost their hyphens gets them back).
        changed = self._apply(patient, {"mrn": imported.mrn, **values})
        if changed:
            touch(patient, self.context)
            with guard_concurrent_save("patient"):
                self.session.flush()
            visible = [name for name in changed if name not in _HIDDEN_PATIENT_FIELDS]
            self._audit(AuditAction.update, "patient", patient.id, visible)
        self.patients[mrn_key(imported.mrn)] = patient
        self._count("patients", False, changed)

    def _create_patient(self, imported: ImportedPatient, values: dict[str, Any]) -> None:
        # No score came with the patient: not assessed (never moderate), contacted
        # at the moderate cadence until the nurse assesses them (domain.clocks).
        tier = RiskTier.not_assessed
        due = None if imported.deceased else cadence_due_date(self.context, tier, self.today)
        patient = Patient(
            mrn=imported.mrn,
            mrn_key=mrn_key(imported.mrn),
            nurse_id=self.context.nurse_id,
            risk_tier=str(tier),
            risk_rank=RISK_RANKS[str(tier)],
            next_contact_due=due,
            episode_status=None if imported.deceased else str(EpisodeStatus.active),
            created_at=self.now,
            updated_at=self.now,
            updated_by=self.context.nurse_id,
            **{"sex": "unknown", **values},
        )
        self.session.add(patient)
        self.session.flush()
        fields = ["mrn", "nurse_id", "risk_tier", "next_contact_due", *values]
        self._audit(
            AuditAction.create,
            "patient",
            patient.id,
            [
                name
                for name in fields
                if name not in _HIDDEN_PATIENT_FIELDS and getattr(patient, name) is not None
            ],
        )
        if not imported.deceased:
            episode = Episode(
                patient_id=patient.id,
                status=str(EpisodeStatus.active),
                start=self.today,
                created_at=self.now,
            )
            self.session.add(episode)
            self.session.flush()
            self.session.add(
                EpisodeStatusHistory(
                    episode_id=episode.id,
                    from_status=None,
                    to_status=str(EpisodeStatus.active),
                    changed_at=self.now,
                    nurse_id=self.context.nurse_id,
                )
            )
            self._audit(
                AuditAction.create, "episode", episode.id, ("patient_id", "status", "start")
            )
        self.patients[mrn_key(imported.mrn)] = patient
        self._count("patients", True, ())

    # ----------------------------------------------------- conditions, medicines

    def _condition(self, imported: ImportedCondition) -> None:
        patient = self._patient_for(imported.patient)
        assert patient.id is not None
        index = self.lookups.index(self.session, "condition", patient.id)
        key = condition_key(
            imported.code_system, imported.code, imported.description, imported.onset_date
        )
        known = index.get(key)
        condition = None if known is None else self.session.get(Condition, known)
        values = {
            "description": imported.description,
            "clinical_status": imported.clinical_status,
        }
        if condition is None:
            condition = Condition(
                patient_id=patient.id,
                code=imported.code,
                code_system=imported.code_system,
                onset_date=imported.onset_date,
                recorded_at=self.now,
                **values,
            )
            self.session.add(condition)
            self.session.flush()
            assert condition.id is not None
            index[key] = condition.id
            fields = ["patient_id", "description", "clinical_status"]
            fields += [
                name
                for name in ("code", "code_system", "onset_date")
                if getattr(condition, name) is not None
            ]
            self._audit(AuditAction.create, "condition", condition.id, fields)
            self._count("conditions", True, ())
            return
        changed = self._apply(condition, values)
        if changed:
            self.session.flush()
            self._audit(AuditAction.update, "condition", condition.id, changed)
        self._count("conditions", False, changed)

    def _medication(self, imported: ImportedMedication) -> None:
        patient = self._patient_for(imported.patient)
        assert patient.id is not None
        index = self.lookups.index(self.session, "medication", patient.id)
        key = (imported.name.casefold(),)
        known = index.get(key)
        medication = None if known is None else self.session.get(Medication, known)
        values: dict[str, Any] = {"status": imported.status}
        for name in ("dose", "route", "frequency"):
            if getattr(imported, name) is not None:
                values[name] = getattr(imported, name)
        if medication is None:
            medication = Medication(
                patient_id=patient.id, name=imported.name, created_at=self.now, **values
            )
            self.session.add(medication)
            self.session.flush()
            assert medication.id is not None
            index[key] = medication.id
            self._audit(
                AuditAction.create, "medication", medication.id, ["patient_id", "name", *values]
            )
            self._count("medications", True, ())
            return
        changed = self._apply(medication, values)
        if changed:
            self.session.flush()
            self._audit(AuditAction.update, "medication", medication.id, changed)
        self._count("medications", False, changed)

    def _care_team_member(self, imported: ImportedCareTeamMember) -> None:
        patient = self._patient_for(imported.patient)
        assert patient.id is not None
        index = self.lookups.index(self.session, "care_team_member", patient.id)
        key = (imported.name.casefold(),)
        known = index.get(key)
        member = None if known is None else self.session.get(CareTeamMember, known)
        values: dict[str, Any] = {
            name: getattr(imported, name)
            for name in ("organisation", "phone")
            if getattr(imported, name) is not None
        }
        if member is None:
            member = CareTeamMember(
                patient_id=patient.id, name=imported.name, role=imported.role, **values
            )
            self.session.add(member)
            self.session.flush()
            assert member.id is not None
            index[key] = member.id
            self._audit(
                AuditAction.create,
                "care_team_member",
                member.id,
                ["patient_id", "name", "role", *values],
            )
            self._count("care team members", True, ())
            return
        # "other" says nothing the nurse's own choice of role does not say better.
        if imported.role != CareTeamRole.other:
            values["role"] = imported.role
        changed = self._apply(member, values)
        if changed:
            self.session.flush()
            self._audit(AuditAction.update, "care_team_member", member.id, changed)
        self._count("care team members", False, changed)

    # ----------------------------------------------------- assessments, TCM

    def _assessment(self, imported: ImportedAssessment) -> None:
        patient = self._patient_for(imported.patient)
        performed_at = wall_clock(imported.performed_at)
        assessment = self.session.execute(
            select(Assessment)
            .where(
                Assessment.patient_id == patient.id,
                Assessment.instrument == imported.instrument,
                Assessment.performed_at == performed_at,
            )
            .order_by(Assessment.id)
            .limit(1)
        ).scalar()
        values = {"total": imported.total, "band": imported.band, "summary": imported.summary}
        if assessment is None:
            assessment = Assessment(
                patient_id=patient.id,
                instrument=imported.instrument,
                variant=get_instrument(imported.instrument).variant,
                performed_at=performed_at,
                # Not the importing nurse: someone at the source scored it.
                author_id=None,
                **values,
            )
            self.session.add(assessment)
            self.session.flush()
            for item_code, value in imported.answers:
                self.session.add(
                    AssessmentAnswer(assessment_id=assessment.id, item_code=item_code, value=value)
                )
            fields = ["patient_id", "instrument", "variant", "performed_at", *values]
            if imported.answers:
                fields.append("answers")
            self._audit(AuditAction.create, "assessment", assessment.id, fields)
            self._safety_task(patient, assessment, imported)
            self._count("assessments", True, ())
            return
        changed = self._apply(assessment, values)
        if changed:
            self.session.flush()
            self._audit(AuditAction.update, "assessment", assessment.id, changed)
        self._count("assessments", False, changed)

    def _safety_task(
        self, patient: Patient, assessment: Assessment, imported: ImportedAssessment
    ) -> None:
        value = imported.safety_item_value
        if not value:
            return
        create_task(
            self.session,
            self.context,
            patient,
            f"Safety follow-up: imported PHQ-9 of {assessment.performed_at:%Y-%m-%d}, "
            f"item 9 answered {value}; assess safety today",
            self.today,
            SAFETY_TASK_PRIORITY,
            SAFETY_TASK_SOURCE,
            assessment.id,
        )

    def _transition(self, imported: ImportedDischarge) -> None:
        patient = self._patient_for(imported.patient)
        transition = self.session.execute(
            select(Transition)
            .where(
                Transition.patient_id == patient.id,
                Transition.discharged_on == imported.discharged_on,
            )
            .order_by(Transition.id)
            .limit(1)
        ).scalar()
        values = {
            name: getattr(imported, name)
            for name in ("facility", "length_of_stay_days")
            if getattr(imported, name) is not None
        }
        if transition is not None:
            changed = self._apply(transition, values)
            if changed:
                self.session.flush()
                self._audit(AuditAction.update, "transition", transition.id, changed)
            self._count("transitions", False, changed)
            return
        transition = Transition(
            patient_id=patient.id,
            discharged_on=imported.discharged_on,
            high_complexity=False,
            created_at=self.now,
            **values,
        )
        self.session.add(transition)
        self.session.flush()
        self._audit(
            AuditAction.create,
            "transition",
            transition.id,
            ["patient_id", "discharged_on", "high_complexity", *values],
        )
        start_period(self.session, self.context, patient, transition)
        self._count("transitions", True, ())

    def _encounter(self, imported: ImportedEncounter) -> None:
        """Store one encounter; link it to the transition its discharge started."""
        patient = self._patient_for(imported.patient)
        change = EncounterChange(
            encounter_class=imported.encounter_class,
            source=imported.source,
            source_key=imported.source_key,
            admitted_at=wall_clock(imported.admitted_at),
            facility=imported.facility,
            discharged_at=(wall_clock(imported.discharged_at) if imported.discharged_at else None),
            disposition=imported.disposition,
            diagnoses=imported.diagnoses,
        )
        encounter, created, changed = write_encounter(
            self.session, self.context, patient, change, imported.status
        )
        if imported.transition_day is not None and encounter.transition_id is None:
            transition = discharge_on_day(self.session, patient.id or 0, imported.transition_day)
            if transition is not None:
                encounter.transition_id = transition.id
                self.session.flush()
                self._audit(AuditAction.update, "encounter", encounter.id, ["transition_id"])
                changed = [*changed, "transition_id"]
        self._count("encounters", created, changed)

    # ---------------------------------------------------------------- readings

    def _readings(self) -> None:
        """The batch's vital signs and labs, through the one way readings come in.

        ``ReadingsService.store`` skips a reading already on file (patient, code
        and moment), corrects one whose value changed, writes one audit event per
        patient and checks the recent ones against the patient's limits. The
        parser left out every reading the measures refuse, so none fails here.
        """
        if not self.parsed.readings:
            return
        readings = []
        for imported in self.parsed.readings:
            patient = self._patient_for(imported.patient)
            assert patient.id is not None
            readings.append(
                NewReading(
                    patient_id=patient.id,
                    loinc=imported.loinc,
                    value=imported.value,
                    unit=imported.unit,
                    taken_at=wall_clock(imported.taken_at),
                )
            )
        try:
            stored = ReadingsService(self.context).store(
                self.session, readings, ReadingSource.imported
            )
        except ValidationError as error:  # not expected: the parser checked each reading
            raise self._refuse(None, f"a reading was refused: {error.message}") from None
        tally = self.tallies["readings"]
        tally.created += stored.added
        tally.updated += stored.corrected
        tally.unchanged += stored.unchanged

    # -------------------------------------------------------------- care plans

    def _care_plan(self, imported: ImportedCarePlan) -> None:
        patient = self._patient_for(imported.patient)
        query = select(CarePlan).where(CarePlan.patient_id == patient.id)
        if imported.period_start is None:
            query = query.where(CarePlan.period_start.is_(None))
        else:
            query = query.where(CarePlan.period_start == imported.period_start)
        plan = match_stored(
            self.session.execute(query.order_by(CarePlan.id)).scalars(),
            imported.title,
            imported.identifier,
            "care_plan",
            self.claimed,
        )
        if plan is None:
            plan = CarePlan(
                patient_id=patient.id,
                title=imported.title,
                status=imported.status,
                intent="plan",
                period_start=imported.period_start,
                period_end=imported.period_end,
                created_at=self.now,
                updated_at=self.now,
                updated_by=self.context.nurse_id,
            )
            self.session.add(plan)
            self.session.flush()
            self.claimed.add(("care_plan", plan.id))
            _PlanWriter(self, plan, imported.place).fill(imported)
            self._count("care plans", True, ())
        else:
            changed = _PlanWriter(self, plan, imported.place).merge(imported)
            self._count("care plans", False, ["plan"] if changed else [])


class _PlanWriter:
    """Filling or merging one care plan, with its revisions (the plan's own history)."""

    def __init__(self, writer: _Writer, plan: CarePlan, place: str) -> None:
        self.writer = writer
        self.session = writer.session
        self.context = writer.context
        self.plan = plan
        self.place = place
        # (action, kind, id, label, {field: (old, new)}) revisions, written with the version.
        self.pending: list[tuple[str, str, int | None, str, dict[str, tuple[Any, Any]]]] = []

    def fill(self, imported: ImportedCarePlan) -> None:
        """Audit a plan just inserted (version 1) and add everything the file gives it."""
        plan = self.plan
        fields = ["patient_id", "title", "status", "intent"]
        fields += [name for name in ("period_start", "period_end") if getattr(plan, name)]
        self.writer._audit(AuditAction.create, "care_plan", plan.id, fields)
        self.pending.append(
            ("create", "care_plan", plan.id, f"{plan.title} {IMPORTED_PLAN_LABEL}", {})
        )
        problems: list[Problem] = []
        for problem in imported.problems:
            self._add_problem(problem, problems)
        self._write_revisions()

    def merge(self, imported: ImportedCarePlan) -> bool:
        """Bring a stored plan in line with the file; True when anything changed.

        The items first, then the plan's own status: a plan the file completes
        still takes its items' final statuses. A plan already closed here
        (completed, revoked) keeps its items as they are, as the editor does.
        """
        plan = self.plan
        if plan.status not in CLOSED_PLAN_STATUSES:
            problems = list(
                self.session.execute(
                    select(Problem)
                    .where(Problem.care_plan_id == plan.id)
                    .order_by(Problem.position)
                ).scalars()
            )
            for problem in imported.problems:
                self._merge_problem(problem, problems)
        values: dict[str, Any] = {}
        if self._move_allowed("plan", plan.status, imported.status, self.place):
            values["status"] = imported.status
        if imported.period_end is not None:
            values["period_end"] = imported.period_end
        self._update("care_plan", plan, values, label=plan.title)
        if not self.pending:
            return False
        # Every edit moves the version on, so a nurse's open copy is refused as stale.
        plan.updated_at = self.writer.now
        plan.updated_by = self.context.nurse_id
        flag_modified(plan, "updated_at")
        with guard_concurrent_save("care plan"):
            self.session.flush()
        self._write_revisions()
        return True

    def _write_revisions(self) -> None:
        self.session.flush()
        for action, kind, item_id, label, changes in self.pending:
            record_revision(
                self.session,
                care_plan_id=self.plan.id,
                version=self.plan.version,
                changed_at=self.writer.now,
                nurse_id=self.context.nurse_id,
                action=action,
                item_kind=kind,
                item_id=item_id,
                item_label=label,
                changes=changes,
            )

    def _move_allowed(self, kind: str, current: str, target: str, place: str) -> bool:
        try:
            check_move(kind, current, target)
        except ValidationError as error:
            self.writer.warnings.append(f"{place}: {kind} status left {current}: {error.message}")
            return False
        return True

    def _created(self, kind: str, row: Any, values: dict[str, Any]) -> None:
        filled = {name: value for name, value in values.items() if value is not None}
        self.writer._audit(AuditAction.create, kind, row.id, list(filled))
        changes = {name: (None, value) for name, value in filled.items() if name != "description"}
        self.pending.append(("create", kind, row.id, row.description, changes))

    def _add_problem(self, imported: ImportedProblem, siblings: list[Problem]) -> Problem:
        values = {
            "omaha_code": None,
            "description": imported.description,
            "priority": "medium-priority",
            "status": imported.status,
        }
        problem = Problem(
            care_plan_id=self.plan.id,
            position=_next_position(siblings),
            created_at=self.writer.now,
            **values,
        )
        self.session.add(problem)
        self.session.flush()
        siblings.append(problem)
        self._created("problem", problem, values)
        goals: list[Goal] = []
        for goal in imported.goals:
            self._add_goal(problem, goal, goals)
        interventions: list[Intervention] = []
        for intervention in imported.interventions:
            self._add_intervention(
                problem, intervention, interventions, _served_goal(intervention, goals)
            )
        return problem

    def _add_goal(self, problem: Problem, imported: ImportedGoal, siblings: list[Goal]) -> Goal:
        values = {
            "description": imported.description,
            "lifecycle_status": imported.lifecycle_status,
            "achievement_status": imported.achievement_status,
            "due_date": imported.due_date,
            "priority": imported.priority or "medium-priority",
            "target_measure": imported.target_measure,
            "target_value": imported.target_value,
        }
        goal = Goal(
            problem_id=problem.id,
            position=_next_position(siblings),
            created_at=self.writer.now,
            **values,
        )
        self.session.add(goal)
        self.session.flush()
        siblings.append(goal)
        self._created("goal", goal, values)
        self.writer.claimed.add(("goal", goal.id))
        return goal

    def _add_intervention(
        self,
        problem: Problem,
        imported: ImportedIntervention,
        siblings: list[Intervention],
        goal: Goal | None,
    ) -> None:
        values = {
            "category": imported.category,
            "description": imported.description,
            "owner": imported.owner or DEFAULT_OWNER,
            "status": imported.status,
            "frequency": imported.frequency,
            "due_date": imported.due_date,
        }
        intervention = Intervention(
            problem_id=problem.id,
            goal_id=goal.id if goal else None,
            position=_next_position(siblings),
            created_at=self.writer.now,
            **values,
        )
        self.session.add(intervention)
        self.session.flush()
        siblings.append(intervention)
        self._created("intervention", intervention, {**values, "goal_id": intervention.goal_id})
        self.writer.claimed.add(("intervention", intervention.id))

    def _merge_problem(self, imported: ImportedProblem, problems: list[Problem]) -> None:
        claimed = self.writer.claimed
        problem = match_stored(
            problems, imported.description, imported.identifier, "problem", claimed
        )
        if problem is None:
            claimed.add(("problem", self._add_problem(imported, problems).id))
            return
        if self._move_allowed("problem", problem.status, imported.status, self.place):
            self._update("problem", problem, {"status": imported.status})
        goals = list(
            self.session.execute(
                select(Goal).where(Goal.problem_id == problem.id).order_by(Goal.position)
            ).scalars()
        )
        #: The stored goal of each of the file's goals, in the file's order.
        matched: list[Goal] = []
        for goal in imported.goals:
            known = match_stored(goals, goal.description, goal.identifier, "goal", claimed)
            if known is None:
                matched.append(self._add_goal(problem, goal, goals))
                continue
            matched.append(known)
            values: dict[str, Any] = {}
            if self._move_allowed(
                "goal", known.lifecycle_status, goal.lifecycle_status, goal.place
            ):
                values["lifecycle_status"] = goal.lifecycle_status
            if goal.achievement_status is not None:
                values["achievement_status"] = goal.achievement_status
            values.update(_given(goal, "due_date", "priority", "target_measure", "target_value"))
            self._update("goal", known, values)
        interventions = list(
            self.session.execute(
                select(Intervention)
                .where(Intervention.problem_id == problem.id)
                .order_by(Intervention.position)
            ).scalars()
        )
        for intervention in imported.interventions:
            served = _served_goal(intervention, matched)
            known_intervention = match_stored(
                interventions, intervention.description, None, "intervention", claimed
            )
            if known_intervention is None:
                self._add_intervention(problem, intervention, interventions, served)
                continue
            changes: dict[str, Any] = {}
            if self._move_allowed(
                "intervention", known_intervention.status, intervention.status, intervention.place
            ):
                changes["status"] = intervention.status
            # The goal it serves, when the file says; a file that names none leaves it alone.
            if served is not None:
                changes["goal_id"] = served.id
            changes.update(_given(intervention, "frequency", "due_date"))
            self._update("intervention", known_intervention, changes)

    def _update(
        self, kind: str, row: Any, values: dict[str, Any], label: str | None = None
    ) -> None:
        changes = {
            name: (getattr(row, name), value)
            for name, value in values.items()
            if getattr(row, name) != value
        }
        if not changes:
            return
        for name, (_old, new) in changes.items():
            setattr(row, name, new)
        self.writer._audit(AuditAction.update, kind, row.id, list(changes))
        self.pending.append(("update", kind, row.id, label or row.description, changes))


def _next_position(siblings: list[Any]) -> int:
    return max((row.position for row in siblings), default=-1) + 1


def _given(imported: Any, *names: str) -> dict[str, Any]:
    """The fields the file gives (not None): a field it leaves out keeps its stored value."""
    return {name: getattr(imported, name) for name in names if getattr(imported, name) is not None}


def _served_goal(intervention: ImportedIntervention, goals: list[Goal]) -> Goal | None:
    """The goal row an imported intervention serves (``goals`` in the file's order)."""
    index = intervention.goal_index
    return goals[index] if index is not None and index < len(goals) else None


def match_stored(
    rows: Iterable[Any],
    text: str,
    identifier: str | None,
    kind: str,
    claimed: set[tuple[str, int]],
) -> Any | None:
    """The stored care-plan record an imported one is, or None for a new one.

    The natural key is the text (a plan's title, an item's description, case
    aside) within the plan, patient or problem ``rows`` come from. A row that
    an earlier item of the file took (``claimed``) is never taken twice, so two
    items of one text stay two rows and match the same two rows again. Among
    rows of the text, the one whose export identifier is the file's comes
    first (the file is this database's own export), then rows not entered in
    error, then the first in order. The chosen row is added to ``claimed``.
    """
    wanted = text.casefold()
    candidates = [
        row
        for row in rows
        if _natural_text(row).casefold() == wanted and (kind, row.id) not in claimed
    ]
    if not candidates:
        return None

    def rank(row: Any) -> tuple[bool, bool]:
        own = identifier is not None and resource_id(entry_url(kind, row.id)) == identifier
        return (not own, _status_of(row) == ENTERED_IN_ERROR)

    chosen = min(candidates, key=rank)  # min keeps the first of equals: the order of rows
    claimed.add((kind, chosen.id))
    return chosen


def _natural_text(row: Any) -> str:
    return row.title if isinstance(row, CarePlan) else row.description


def _status_of(row: Any) -> str:
    return row.lifecycle_status if isinstance(row, Goal) else row.status


__all__ = [
    "KINDS",
    "MAXIMUM_FILE_BYTES",
    "FhirImportError",
    "FhirImportService",
    "FileImport",
    "ImportTotals",
    "Tally",
    "read_bundle_file",
    "wall_clock",
]
