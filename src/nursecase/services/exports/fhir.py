"""The FHIR format of the caseload and patient reports: one R4 Bundle of type collection.

For each patient of the scope, in caseload order (by name): the Patient, the
care team (Practitioner and PractitionerRole, or RelatedPerson for a
caregiver, gathered in a CareTeam), the EpisodeOfCare(s), Conditions,
MedicationStatements, an Encounter per hospital stay, emergency, observation or
ambulatory visit (issue 21), an Observation per scored assessment and per safety
check (C-SSRS risk level 93374-7 with its LOINC-coded items), an Observation
per reading (vital-signs or laboratory, LOINC and UCUM; a systolic and a
diastolic of one moment as one blood pressure panel), CarePlans with
their Goals, each referral as a ServiceRequest with the Task that tracks it,
and a Communication per contact (the patient report: the contacts of its
period). The nurses these name (care manager, assessor, requester, sender)
are Practitioners, each written once, before the first entry that names it.
Records entered in error are left out, as the other reports leave them out.

The resources themselves are built by the pure ``domain.fhir_resources``;
this module reads the rows and streams the bundle:

- patients are read in batches of :data:`PATIENT_BATCH`, and each kind of
  record for a batch with one query of plain columns (Core rows, no ORM
  object per row), so 100,000 patients stream in bounded memory;
- the bundle is written as JSON one entry per line, one chunk per patient
  (the export's progress and row count are patients);
- every fullUrl is ``urn:uuid:`` + a UUID 5 of the table and row id, and each
  resource's id is that UUID: the same database gives the same bundle, and
  references (which all use the fullUrl) always match their entries.

Times are stored as naive wall-clock times; FHIR wants an offset on every
time of day, so each gets the offset of ``zone`` (default: the workstation's
local time zone, as the times were recorded).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from hashlib import sha1
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import (
    Assessment,
    AssessmentAnswer,
    CarePlan,
    CareTeamMember,
    Condition,
    Contact,
    Encounter,
    EncounterDiagnosis,
    Episode,
    EpisodeStatusHistory,
    Goal,
    Intervention,
    Medication,
    Nurse,
    Patient,
    Problem,
    Reading,
    Referral,
    ReferralStatusHistory,
    SafetyCheck,
)
from nursecase.domain import fhir_resources as fhir
from nursecase.domain.care_plan_rules import ENTERED_IN_ERROR
from nursecase.domain.codes import InterventionCategory
from nursecase.domain.instruments import INSTRUMENTS
from nursecase.domain.measures import BLOOD_PRESSURE_PARTS
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.domain.safety_check import QUESTIONS as SAFETY_QUESTIONS
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    chunks,
    person_name,
    service_label,
)
from nursecase.services.exports.service import ExportUnavailableError

#: Patients whose records are read together (below SQLite's 999 IN-list limit).
PATIENT_BATCH = 400
#: Namespace of the UUIDs of bundle entries (UUID 5 of "table/id" in it).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://nursecase.invalid/fhir-export")
_NAMESPACE_BYTES = NAMESPACE.bytes
REPORTS = ("caseload", "patient")
#: The answer columns of a safety check, in question order.
SAFETY_ANSWER_FIELDS = tuple(question.field for question in SAFETY_QUESTIONS)

Row = Any
Entry = tuple[str, dict]
# No circular-reference check: the resources are fresh trees of dicts and lists.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def entry_url(kind: str, row_id: int | str) -> str:
    """The fullUrl of a bundle entry: urn:uuid: + a UUID 5 of "kind/id" in :data:`NAMESPACE`.

    The same value as ``uuid.uuid5(NAMESPACE, f"{kind}/{row_id}")``, without the
    UUID object: a caseload bundle names millions of entries.
    """
    digest = bytearray(sha1(_NAMESPACE_BYTES + f"{kind}/{row_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"urn:uuid:{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def resource_id(url: str) -> str:
    """The resource id that goes with a fullUrl (its UUID)."""
    return url.removeprefix("urn:uuid:")


class FhirBundleBuilder:
    """Builds the FHIR bundle of the caseload or of one patient (``ExportService``'s plug).

    ``zone`` gives stored wall-clock times their offset (None: the local zone).
    """

    def __init__(self, zone: tzinfo | None = None, batch_size: int = PATIENT_BATCH) -> None:
        self.zone = zone
        self.batch_size = batch_size

    def __call__(self, session: Session, scope: ExportScope, report: str) -> Report:
        """A report whose body streams the bundle's bytes (read in ``session`` as it goes)."""
        if report not in REPORTS:
            raise ExportUnavailableError(f"the {report} report has no fhir format")
        total = session.execute(
            select(func.count())
            .select_from(Patient)
            .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
        ).scalar_one()
        result = Report(
            name=report,
            title=f"FHIR bundle: {scope.nurse_label}",
            columns=(),
            rows=(),
            meta=scope.scope_meta(),
            total=total,
        )
        writer = _BundleWriter(session, scope, report, self.zone, self.batch_size)
        result.body = writer.chunks(result.patients)
        return result


class _BundleWriter:
    """One bundle's streaming: batches of patients in, JSON chunks out."""

    def __init__(
        self,
        session: Session,
        scope: ExportScope,
        report: str,
        zone: tzinfo | None,
        batch_size: int,
    ) -> None:
        self.connection = session.connection()
        self.scope = scope
        self.report = report
        self.zone = zone
        self.batch_size = batch_size
        self.nurses: dict[int, Row] = {}
        self.nurse_urls: dict[int, str] = {}
        #: Practitioners of nurses named since the last patient was written.
        self.new_nurses: list[Entry] = []

    # ------------------------------------------------------------- values

    def moment(self, value: datetime | None) -> str | None:
        """A stored wall-clock time as a FHIR dateTime with the zone's offset."""
        if value is None:
            return None
        # A naive time's astimezone() reads it as local time and adds the local offset.
        value = value.astimezone() if self.zone is None else value.replace(tzinfo=self.zone)
        return value.isoformat(timespec="seconds")

    def day_start(self, value: date | None) -> str | None:
        """A day as a FHIR dateTime at its start (an EpisodeOfCare history period)."""
        if value is None:
            return None
        return self.moment(datetime.combine(value, time()))

    @staticmethod
    def day(value: date | None) -> str | None:
        """A date as FHIR writes it."""
        return None if value is None else value.isoformat()

    def nurse(self, nurse_id: int | None) -> dict | None:
        """A reference to the nurse's Practitioner, written before its first use."""
        if nurse_id is None or nurse_id not in self.nurses:
            return None
        url = self.nurse_urls.get(nurse_id)
        if url is None:
            url = self.nurse_urls[nurse_id] = entry_url("nurse", nurse_id)
            _, display_name, credentials = self.nurses[nurse_id]
            self.new_nurses.append(
                (
                    url,
                    fhir.nurse_practitioner(
                        resource_id(url), display_name=display_name, credentials=credentials
                    ),
                )
            )
        return fhir.reference(url, self.nurses[nurse_id][1])

    # ----------------------------------------------------------- streaming

    def chunks(self, patients: set[int]) -> Iterator[bytes]:
        """The bundle: a header, a chunk of entries per patient, the end."""
        self.nurses = {
            row[0]: row[1:]
            for row in self.connection.execute(
                select(Nurse.id, Nurse.username, Nurse.display_name, Nurse.credentials)
            )
        }
        scope = self.scope
        bundle_id = resource_id(
            entry_url(
                "bundle",
                f"{self.report}/{scope.nurse_id}/{scope.patient_id}/{scope.now.isoformat()}",
            )
        )
        header = (
            f'{{"resourceType":"Bundle","id":"{bundle_id}","type":"collection",'
            f'"timestamp":"{self.moment(scope.now)}"'
        )
        held: str | None = None
        for patient_id, text in self._patient_texts():
            patients.add(patient_id)
            if held is None:
                held = f'{header},"entry":[\n{text}'
                continue
            # One patient is held back so the bundle's end goes out with the last one.
            yield held.encode("utf-8")
            held = f",\n{text}"
        if held is None:
            # No patient: a bundle without entries (an empty JSON array is not FHIR).
            yield f"{header}}}\n".encode()
            return
        yield f"{held}\n]}}\n".encode()

    def _patient_texts(self) -> Iterator[tuple[int, str]]:
        """(patient id, its entries as JSON lines) for every patient of the scope, in order."""
        query = (
            select(
                Patient.id,
                Patient.mrn,
                Patient.family_name,
                Patient.given_name,
                Patient.birth_date,
                Patient.sex,
                Patient.phone,
                Patient.address,
                Patient.preferred_language,
                Patient.nurse_id,
            )
            .where(*self.scope.patient_filter(Patient.id, Patient.nurse_id))
            .order_by(Patient.family_key, Patient.given_key, Patient.id)
        )
        result = self.connection.execute(query).yield_per(self.batch_size)
        encode = _ENCODER.encode
        for batch in result.partitions(self.batch_size):
            records = _BatchRecords(self.connection, [row[0] for row in batch], self.scope)
            for patient in batch:
                entries = self._patient_entries(patient, records)
                lines = [
                    encode({"fullUrl": url, "resource": resource})
                    for url, resource in (*self.new_nurses, *entries)
                ]
                self.new_nurses.clear()
                yield patient[0], ",\n".join(lines)

    # ------------------------------------------------------------- patient

    def _patient_entries(self, patient: Row, records: _BatchRecords) -> list[Entry]:
        (
            patient_id,
            mrn,
            family_name,
            given_name,
            birth_date,
            sex,
            phone,
            address,
            language,
            nurse_id,
        ) = patient
        url = entry_url("patient", patient_id)
        subject = fhir.reference(url, person_name(family_name, given_name))
        team_entries, members, general_practitioners = self._care_team(
            records.members.get(patient_id, ()), subject
        )
        entries: list[Entry] = [
            (
                url,
                fhir.patient_resource(
                    resource_id(url),
                    mrn=mrn,
                    family_name=family_name,
                    given_name=given_name,
                    birth_date=self.day(birth_date),
                    sex=sex,
                    phone=phone,
                    address=address,
                    language=language,
                    general_practitioners=general_practitioners,
                ),
            ),
            *team_entries,
        ]
        team = None
        if members:
            team_url = entry_url("care_team", patient_id)
            team = fhir.reference(team_url)
            team_resource = fhir.care_team_resource(
                resource_id(team_url), patient=subject, members=members
            )
            entries.append((team_url, team_resource))
        for episode in records.episodes.get(patient_id, ()):
            entries.append(self._episode(episode, records, subject, nurse_id, team))
        for condition in records.conditions.get(patient_id, ()):
            entries.append(self._condition(condition, subject))
        for medication in records.medications.get(patient_id, ()):
            entries.append(self._medication(medication, subject))
        for encounter in records.encounters.get(patient_id, ()):
            entries.append(self._encounter(encounter, records, subject))
        for assessment in records.assessments.get(patient_id, ()):
            entries.append(self._observation(assessment, records, subject))
        for check in records.safety_checks.get(patient_id, ()):
            entries.append(self._safety_check(check, subject))
        entries.extend(self._readings(records.readings.get(patient_id, ()), subject))
        for plan in records.plans.get(patient_id, ()):
            entries.extend(self._care_plan(plan, records, subject, team))
        referral_urls: dict[int, str] = {}
        for referral in records.referrals.get(patient_id, ()):
            referral_entries = self._referral(referral, records, subject)
            referral_urls[referral[0]] = referral_entries[0][0]
            entries.extend(referral_entries)
        for contact in records.contacts.get(patient_id, ()):
            entries.append(self._communication(contact, subject, referral_urls))
        return entries

    def _care_team(
        self, members: Sequence[Row], subject: dict
    ) -> tuple[list[Entry], list[tuple[str, dict]], list[dict]]:
        """The members' resources, (role, reference) pairs for the CareTeam, and the PCPs."""
        entries: list[Entry] = []
        participants: list[tuple[str, dict]] = []
        general_practitioners: list[dict] = []
        for member_id, _patient_id, name, role, organisation, phone in members:
            if role == "caregiver":
                url = entry_url("care_team_member", member_id)
                entries.append(
                    (
                        url,
                        fhir.related_person(
                            resource_id(url), patient=subject, name=name, phone=phone
                        ),
                    )
                )
                participants.append((role, fhir.reference(url, name)))
                continue
            person_url = entry_url("care_team_member/person", member_id)
            role_url = entry_url("care_team_member", member_id)
            entries.append(
                (person_url, fhir.member_practitioner(resource_id(person_url), name=name))
            )
            entries.append(
                (
                    role_url,
                    fhir.member_role(
                        resource_id(role_url),
                        practitioner=fhir.reference(person_url, name),
                        role=role,
                        organisation=organisation,
                        phone=phone,
                    ),
                )
            )
            member = fhir.reference(role_url, name)
            participants.append((role, member))
            if role == "pcp":
                general_practitioners.append(member)
        return entries, participants, general_practitioners

    def _episode(
        self,
        episode: Row,
        records: _BatchRecords,
        subject: dict,
        nurse_id: int | None,
        team: dict | None,
    ) -> Entry:
        episode_id, _patient_id, status, start, end = episode
        changes = records.episode_history.get(episode_id, ())
        history = []
        for position, (_episode_id, to_status, changed_at) in enumerate(changes):
            until = changes[position + 1][2] if position + 1 < len(changes) else None
            history.append((to_status, self.moment(changed_at), self.moment(until)))
        url = entry_url("episode", episode_id)
        open_episode = status not in ("finished", "cancelled")
        return (
            url,
            fhir.episode_resource(
                resource_id(url),
                patient=subject,
                status=status,
                start=self.day(start),
                end=self.day(end),
                history=history,
                # The assigned nurse manages the open episode; who managed a closed one is
                # not recorded.
                care_manager=self.nurse(nurse_id) if open_episode else None,
                team=team if open_episode else None,
            ),
        )

    def _condition(self, condition: Row, subject: dict) -> Entry:
        (
            condition_id,
            _patient_id,
            description,
            code,
            code_system,
            clinical_status,
            onset,
            recorded,
        ) = condition
        url = entry_url("condition", condition_id)
        return (
            url,
            fhir.condition_resource(
                resource_id(url),
                patient=subject,
                description=description,
                code=code,
                code_system=code_system,
                clinical_status=clinical_status,
                onset=self.day(onset),
                recorded=self.moment(recorded),
            ),
        )

    def _medication(self, medication: Row, subject: dict) -> Entry:
        (
            medication_id,
            _patient_id,
            name,
            dose,
            route,
            frequency,
            status,
            reconciled,
            created,
        ) = medication
        url = entry_url("medication", medication_id)
        return (
            url,
            fhir.medication_statement(
                resource_id(url),
                patient=subject,
                name=name,
                status=status,
                dose=dose,
                dose_quantity=fhir.dose_quantity(dose),
                route=route,
                frequency=frequency,
                # When the list was last confirmed with the patient, else when it was entered.
                asserted=self.day(reconciled) if reconciled else self.moment(created),
            ),
        )

    def _encounter(self, encounter: Row, records: _BatchRecords, subject: dict) -> Entry:
        (
            encounter_id,
            _patient_id,
            encounter_class,
            status,
            facility,
            admitted_at,
            discharged_at,
            disposition,
            source,
            source_key,
        ) = encounter
        url = entry_url("encounter", encounter_id)
        return (
            url,
            fhir.encounter_resource(
                resource_id(url),
                patient=subject,
                source=source,
                source_key=source_key,
                encounter_class=encounter_class,
                status=status,
                start=self.moment(admitted_at) or "",
                end=self.moment(discharged_at),
                facility=facility,
                disposition=disposition,
                diagnoses=[row[1:] for row in records.diagnoses.get(encounter_id, ())],
            ),
        )

    def _observation(self, assessment: Row, records: _BatchRecords, subject: dict) -> Entry:
        (
            assessment_id,
            _patient_id,
            instrument,
            total,
            band,
            summary,
            performed,
            author_id,
        ) = assessment
        definition = INSTRUMENTS.get(instrument)  # type: ignore[call-overload]
        answers = records.answers.get(assessment_id, {})
        items: list[tuple[str, str, int]] = []
        name = instrument
        if definition is not None:
            name = definition.short_name or definition.name
            items = [
                (item.code, item.prompt, answers[item.code])
                for item in definition.items
                if item.code in answers
            ]
        url = entry_url("assessment", assessment_id)
        return (
            url,
            fhir.observation_resource(
                resource_id(url),
                patient=subject,
                instrument=instrument,
                instrument_name=name,
                total=total,
                band=band,
                summary=summary,
                performed=self.moment(performed),
                performer=self.nurse(author_id),
                items=items,
            ),
        )

    def _safety_check(self, check: Row, subject: dict) -> Entry:
        """A safety check: an Observation of its risk level and its asked items."""
        check_id, _patient_id, performed, risk, disposition, note, author_id, *answers = check
        url = entry_url("safety_check", check_id)
        return (
            url,
            fhir.safety_check_observation(
                resource_id(url),
                patient=subject,
                answers=list(zip(SAFETY_ANSWER_FIELDS, answers, strict=True)),
                risk=risk,
                disposition=disposition,
                note=note,
                performed=self.moment(performed),
                performer=self.nurse(author_id),
            ),
        )

    def _care_plan(
        self, plan: Row, records: _BatchRecords, subject: dict, team: dict | None
    ) -> list[Entry]:
        plan_id, _patient_id, title, status, intent, start, end, created = plan
        problems = records.problems.get(plan_id, ())
        contained = []
        goal_entries: list[Entry] = []
        goal_urls: dict[int, str] = {}
        activities = []
        for problem_id, _plan_id, omaha_code, description, problem_status in problems:
            omaha = PROBLEMS_BY_CODE.get(omaha_code) if omaha_code else None
            problem_identifier = resource_id(entry_url("problem", problem_id))
            contained.append(
                fhir.problem_condition(
                    problem_id,
                    identifier=problem_identifier,
                    patient=subject,
                    description=description,
                    status=problem_status,
                    omaha_name=omaha.name if omaha else None,
                    omaha_domain=omaha.domain if omaha else None,
                )
            )
            for goal in records.goals.get(problem_id, ()):
                goal_url = entry_url("goal", goal[0])
                goal_urls[goal[0]] = goal_url
                goal_entries.append(
                    (
                        goal_url,
                        self._goal(goal, goal_url, subject, description, problem_identifier),
                    )
                )
        for problem_id, *_rest in problems:
            for intervention in records.interventions.get(problem_id, ()):
                (
                    _intervention_id,
                    _problem_id,
                    goal_id,
                    category,
                    description,
                    owner,
                    frequency,
                    due_date,
                    intervention_status,
                ) = intervention
                goal_url = goal_urls.get(goal_id) if goal_id is not None else None
                activities.append(
                    fhir.care_plan_activity(
                        description=description,
                        category=_category_label(category),
                        status=intervention_status,
                        owner=owner,
                        frequency=frequency,
                        due_date=self.day(due_date),
                        problem_id=problem_id,
                        goal=fhir.reference(goal_url) if goal_url else None,
                    )
                )
        url = entry_url("care_plan", plan_id)
        plan_resource = fhir.care_plan_resource(
            resource_id(url),
            patient=subject,
            title=title,
            status=status,
            intent=intent,
            period_start=self.day(start),
            period_end=self.day(end),
            created=self.moment(created),
            problems=contained,
            goals=[fhir.reference(goal_url) for goal_url, _ in goal_entries],
            activities=activities,
            care_team=team,
        )
        return [(url, plan_resource), *goal_entries]

    def _goal(
        self, goal: Row, url: str, subject: dict, problem: str, problem_identifier: str
    ) -> dict:
        (
            _goal_id,
            _problem_id,
            description,
            lifecycle_status,
            achievement_status,
            target_measure,
            target_value,
            due_date,
            priority,
            created,
        ) = goal
        return fhir.goal_resource(
            resource_id(url),
            patient=subject,
            description=description,
            lifecycle_status=lifecycle_status,
            achievement_status=achievement_status,
            priority=priority,
            start=self.day(created.date()) if created else None,
            target_measure=target_measure,
            target_value=target_value,
            due_date=self.day(due_date),
            problem=problem,
            problem_identifier=problem_identifier,
        )

    def _readings(self, readings: Sequence[Row], subject: dict) -> list[Entry]:
        """Each reading an Observation, oldest first; a systolic and a diastolic taken at
        one moment are one blood pressure panel (at the place of the first of the two)."""
        systolic, diastolic = (part.value for part in BLOOD_PRESSURE_PARTS)
        parts_at: dict[tuple[datetime, str], Row] = {
            (row[6], row[2]): row for row in readings if row[2] in (systolic, diastolic)
        }
        entries: list[Entry] = []
        written: set[int] = set()
        for row in readings:
            reading_id, _patient_id, measure, loinc, value, unit, taken_at = row
            if reading_id in written:
                continue
            pair = (
                (parts_at.get((taken_at, systolic)), parts_at.get((taken_at, diastolic)))
                if measure in (systolic, diastolic)
                else (None, None)
            )
            if pair[0] is not None and pair[1] is not None:
                written.update(part[0] for part in pair)
                url = entry_url("reading/blood-pressure", pair[0][0])
                resource = fhir.blood_pressure_observation(
                    resource_id(url),
                    patient=subject,
                    parts=[(part[2], part[3], part[4], part[5]) for part in pair],
                    effective=self.moment(taken_at) or "",
                )
                entries.append((url, resource))
                continue
            url = entry_url("reading", reading_id)
            entries.append(
                (
                    url,
                    fhir.reading_observation(
                        resource_id(url),
                        patient=subject,
                        measure=measure,
                        loinc=loinc,
                        value=value,
                        unit=unit,
                        effective=self.moment(taken_at) or "",
                    ),
                )
            )
        return entries

    def _referral(self, referral: Row, records: _BatchRecords, subject: dict) -> list[Entry]:
        (
            referral_id,
            _patient_id,
            nurse_id,
            service_type,
            organisation,
            contact,
            reason,
            priority,
            status,
            status_changed_at,
            expected_reply,
            appointment,
            outcome,
            created,
        ) = referral
        request_url = entry_url("referral", referral_id)
        task_url = entry_url("referral/task", referral_id)
        requester = self.nurse(nurse_id)
        authored = self.moment(created)
        last = records.referral_reasons.get(referral_id)
        # The reason given for the move into the current status (rejected, cancelled ...).
        status_reason = last[1] if last is not None and last[0] == status else None
        return [
            (
                request_url,
                fhir.service_request_resource(
                    resource_id(request_url),
                    patient=subject,
                    referral_status=status,
                    service=service_label(service_type),
                    priority=priority,
                    reason=reason,
                    organisation=organisation,
                    contact=contact,
                    authored=authored,
                    requester=requester,
                    appointment=self.day(appointment),
                ),
            ),
            (
                task_url,
                fhir.referral_task(
                    resource_id(task_url),
                    patient=subject,
                    service_request=fhir.reference(request_url),
                    status=status,
                    status_reason=status_reason,
                    priority=priority,
                    organisation=organisation,
                    authored=authored,
                    last_modified=self.moment(status_changed_at),
                    requester=requester,
                    expected_reply=self.day(expected_reply),
                    outcome=outcome,
                ),
            ),
        ]

    def _communication(self, contact: Row, subject: dict, referral_urls: dict[int, str]) -> Entry:
        (
            contact_id,
            _patient_id,
            occurred_at,
            mode,
            with_whom,
            outcome,
            minutes,
            note,
            author_id,
            referral_id,
        ) = contact
        url = entry_url("contact", contact_id)
        referral_url = referral_urls.get(referral_id) if referral_id is not None else None
        return (
            url,
            fhir.communication_resource(
                resource_id(url),
                patient=subject,
                mode=mode,
                with_whom=with_whom,
                outcome=outcome,
                minutes=minutes,
                note=note,
                sent=self.moment(occurred_at) or "",
                sender=self.nurse(author_id),
                about=fhir.reference(referral_url) if referral_url else None,
            ),
        )


def _category_label(category: str) -> str:
    try:
        return InterventionCategory(category).label
    except ValueError:
        return category


class _BatchRecords:
    """Every record of a batch of patients, grouped by owner: one query per kind.

    Each query selects plain columns with an IN list of the batch's ids (split
    below SQLite's parameter limit) and is ordered so that each group comes
    out in the order the bundle writes it.
    """

    def __init__(self, connection: Any, patient_ids: list[int], scope: ExportScope) -> None:
        self.connection = connection
        self.members = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    CareTeamMember.id,
                    CareTeamMember.patient_id,
                    CareTeamMember.name,
                    CareTeamMember.role,
                    CareTeamMember.organisation,
                    CareTeamMember.phone,
                )
                .where(CareTeamMember.patient_id.in_(ids))
                .order_by(CareTeamMember.patient_id, CareTeamMember.id)
            ),
        )
        self.episodes = self._grouped(
            patient_ids,
            lambda ids: (
                select(Episode.id, Episode.patient_id, Episode.status, Episode.start, Episode.end)
                .where(Episode.patient_id.in_(ids))
                .order_by(Episode.patient_id, Episode.start, Episode.id)
            ),
        )
        self.episode_history = self._grouped(
            _ids(self.episodes),
            lambda ids: (
                select(
                    EpisodeStatusHistory.episode_id,
                    EpisodeStatusHistory.to_status,
                    EpisodeStatusHistory.changed_at,
                )
                .where(EpisodeStatusHistory.episode_id.in_(ids))
                .order_by(
                    EpisodeStatusHistory.episode_id,
                    EpisodeStatusHistory.changed_at,
                    EpisodeStatusHistory.id,
                )
            ),
            key=0,
        )
        self.conditions = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Condition.id,
                    Condition.patient_id,
                    Condition.description,
                    Condition.code,
                    Condition.code_system,
                    Condition.clinical_status,
                    Condition.onset_date,
                    Condition.recorded_at,
                )
                .where(Condition.patient_id.in_(ids))
                .order_by(Condition.patient_id, Condition.id)
            ),
        )
        self.medications = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Medication.id,
                    Medication.patient_id,
                    Medication.name,
                    Medication.dose,
                    Medication.route,
                    Medication.frequency,
                    Medication.status,
                    Medication.last_reconciled,
                    Medication.created_at,
                )
                .where(Medication.patient_id.in_(ids))
                .order_by(Medication.patient_id, Medication.id)
            ),
        )
        self._encounters(patient_ids)
        self.assessments = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Assessment.id,
                    Assessment.patient_id,
                    Assessment.instrument,
                    Assessment.total,
                    Assessment.band,
                    Assessment.summary,
                    Assessment.performed_at,
                    Assessment.author_id,
                )
                .where(Assessment.patient_id.in_(ids))
                .order_by(Assessment.patient_id, Assessment.performed_at, Assessment.id)
            ),
        )
        self.answers: dict[int, dict[str, int]] = defaultdict(dict)
        for assessment_id, item_code, value in self._rows(
            _ids(self.assessments),
            lambda ids: select(
                AssessmentAnswer.assessment_id, AssessmentAnswer.item_code, AssessmentAnswer.value
            ).where(AssessmentAnswer.assessment_id.in_(ids)),
        ):
            self.answers[assessment_id][item_code] = value
        self.safety_checks = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    SafetyCheck.id,
                    SafetyCheck.patient_id,
                    SafetyCheck.performed_at,
                    SafetyCheck.risk,
                    SafetyCheck.disposition,
                    SafetyCheck.note,
                    SafetyCheck.author_id,
                    *(getattr(SafetyCheck, field) for field in SAFETY_ANSWER_FIELDS),
                )
                .where(SafetyCheck.patient_id.in_(ids))
                .order_by(SafetyCheck.patient_id, SafetyCheck.performed_at, SafetyCheck.id)
            ),
        )
        # Every reading: like the rest of the clinical record, not kept to a period.
        self.readings = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Reading.id,
                    Reading.patient_id,
                    Reading.measure,
                    Reading.loinc,
                    Reading.value,
                    Reading.unit,
                    Reading.taken_at,
                )
                .where(Reading.patient_id.in_(ids))
                .order_by(Reading.patient_id, Reading.taken_at, Reading.id)
            ),
        )
        self._care_plans(patient_ids)
        self._referrals(patient_ids)
        # Only the patient report has a period (default: the last 90 days), and only its
        # contact log keeps to it, as in the report's other formats.
        period = scope.period
        conditions = []
        if period is not None:
            conditions = [
                Contact.occurred_at >= datetime.combine(period.start, time()),
                Contact.occurred_at < datetime.combine(period.end + timedelta(days=1), time()),
            ]
        self.contacts = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Contact.id,
                    Contact.patient_id,
                    Contact.occurred_at,
                    Contact.mode,
                    Contact.with_whom,
                    Contact.outcome,
                    Contact.minutes,
                    Contact.note,
                    Contact.author_id,
                    Contact.referral_id,
                )
                .where(Contact.patient_id.in_(ids), *conditions)
                .order_by(Contact.patient_id, Contact.occurred_at, Contact.id)
            ),
        )

    def _encounters(self, patient_ids: list[int]) -> None:
        """Every encounter but those entered in error, oldest first, with its diagnoses."""
        self.encounters = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Encounter.id,
                    Encounter.patient_id,
                    Encounter.encounter_class,
                    Encounter.status,
                    Encounter.facility,
                    Encounter.admitted_at,
                    Encounter.discharged_at,
                    Encounter.disposition,
                    Encounter.source,
                    Encounter.source_key,
                )
                .where(Encounter.patient_id.in_(ids), Encounter.status != ENTERED_IN_ERROR)
                .order_by(Encounter.patient_id, Encounter.admitted_at, Encounter.id)
            ),
        )
        #: Encounter id -> (id, display, code, system) rows, in rank order.
        self.diagnoses = self._grouped(
            _ids(self.encounters),
            lambda ids: (
                select(
                    EncounterDiagnosis.encounter_id,
                    EncounterDiagnosis.display,
                    EncounterDiagnosis.code,
                    EncounterDiagnosis.system,
                )
                .where(EncounterDiagnosis.encounter_id.in_(ids))
                .order_by(EncounterDiagnosis.encounter_id, EncounterDiagnosis.rank)
            ),
            key=0,
        )

    def _care_plans(self, patient_ids: list[int]) -> None:
        self.plans = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    CarePlan.id,
                    CarePlan.patient_id,
                    CarePlan.title,
                    CarePlan.status,
                    CarePlan.intent,
                    CarePlan.period_start,
                    CarePlan.period_end,
                    CarePlan.created_at,
                )
                .where(CarePlan.patient_id.in_(ids), CarePlan.status != ENTERED_IN_ERROR)
                .order_by(CarePlan.patient_id, CarePlan.id)
            ),
        )
        self.problems = self._grouped(
            _ids(self.plans),
            lambda ids: (
                select(
                    Problem.id,
                    Problem.care_plan_id,
                    Problem.omaha_code,
                    Problem.description,
                    Problem.status,
                )
                .where(Problem.care_plan_id.in_(ids), Problem.status != ENTERED_IN_ERROR)
                .order_by(Problem.care_plan_id, Problem.position, Problem.id)
            ),
        )
        problem_ids = _ids(self.problems)
        self.goals = self._grouped(
            problem_ids,
            lambda ids: (
                select(
                    Goal.id,
                    Goal.problem_id,
                    Goal.description,
                    Goal.lifecycle_status,
                    Goal.achievement_status,
                    Goal.target_measure,
                    Goal.target_value,
                    Goal.due_date,
                    Goal.priority,
                    Goal.created_at,
                )
                .where(Goal.problem_id.in_(ids), Goal.lifecycle_status != ENTERED_IN_ERROR)
                .order_by(Goal.problem_id, Goal.position, Goal.id)
            ),
        )
        self.interventions = self._grouped(
            problem_ids,
            lambda ids: (
                select(
                    Intervention.id,
                    Intervention.problem_id,
                    Intervention.goal_id,
                    Intervention.category,
                    Intervention.description,
                    Intervention.owner,
                    Intervention.frequency,
                    Intervention.due_date,
                    Intervention.status,
                )
                .where(Intervention.problem_id.in_(ids), Intervention.status != ENTERED_IN_ERROR)
                .order_by(Intervention.problem_id, Intervention.position, Intervention.id)
            ),
        )

    def _referrals(self, patient_ids: list[int]) -> None:
        self.referrals = self._grouped(
            patient_ids,
            lambda ids: (
                select(
                    Referral.id,
                    Referral.patient_id,
                    Referral.nurse_id,
                    Referral.service_type,
                    Referral.receiving_organisation,
                    Referral.receiving_contact,
                    Referral.reason,
                    Referral.priority,
                    Referral.status,
                    Referral.status_changed_at,
                    Referral.expected_reply_date,
                    Referral.appointment_date,
                    Referral.outcome,
                    Referral.created_at,
                )
                .where(Referral.patient_id.in_(ids), Referral.status != ENTERED_IN_ERROR)
                .order_by(Referral.patient_id, Referral.created_at, Referral.id)
            ),
        )
        #: Referral id -> (status, reason) of its latest transition.
        self.referral_reasons: dict[int, tuple[str, str | None]] = {}
        for referral_id, to_status, reason in self._rows(
            _ids(self.referrals),
            lambda ids: (
                select(
                    ReferralStatusHistory.referral_id,
                    ReferralStatusHistory.to_status,
                    ReferralStatusHistory.reason,
                )
                .where(ReferralStatusHistory.referral_id.in_(ids))
                .order_by(
                    ReferralStatusHistory.referral_id,
                    ReferralStatusHistory.changed_at,
                    ReferralStatusHistory.id,
                )
            ),
        ):
            self.referral_reasons[referral_id] = (to_status, reason)

    def _rows(self, ids: Sequence[int], query: Callable[[Sequence[int]], Any]) -> Iterable[Row]:
        for chunk in chunks(ids):
            yield from self.connection.execute(query(chunk))

    def _grouped(
        self, ids: Sequence[int], query: Callable[[Sequence[int]], Any], key: int = 1
    ) -> dict[int, list[Row]]:
        """The query's rows for ``ids``, grouped by the id in column ``key``."""
        grouped: dict[int, list[Row]] = defaultdict(list)
        for row in self._rows(ids, query):
            grouped[row[key]].append(row)
        return grouped


def _ids(grouped: dict[int, list[Row]]) -> list[int]:
    """The row ids (first column) of grouped rows."""
    return [row[0] for rows in grouped.values() for row in rows]


__all__ = ["NAMESPACE", "PATIENT_BATCH", "FhirBundleBuilder", "entry_url", "resource_id"]
