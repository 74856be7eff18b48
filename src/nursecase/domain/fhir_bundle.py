"""Reading a FHIR R4 Bundle (Synthea's, or any transaction, collection or searchset).

Pure: a decoded JSON bundle in, plain records (``fhir_records``) out, or a
``BundleError`` naming the place of the first problem (``entry[12].resource.subject``)
without repeating the value, which may be PHI. ``services.fhir_import`` writes
the records, one file per transaction.

What is read, and why:

- Patient: the MRN is the identifier typed ``MR`` (else one with no type);
  Social Security, licence and passport numbers are never used. The MRN is
  kept exactly as written (a Synthea UUID with its hyphens and small letters);
  two patients whose MRNs differ only in punctuation or capitals are one MRN.
- Condition (SNOMED or ICD-10), MedicationRequest and MedicationStatement,
  skipping refuted and entered-in-error records.
- Encounters never become contacts: the contact log drives CCM minutes and
  the contact clocks, and a hospital visit is not time a nurse spent. Those
  of the classes nursecase keeps (inpatient, emergency, observation,
  ambulatory) are encounters (``domain.fhir_encounters``). An inpatient or
  observation stay discharged in the last 30 days also becomes a transition
  with its TCM clocks, as a discharge recorded by hand does, and its
  encounter is linked to it. Encounters also help find the care team.
- Practitioner, PractitionerRole, Organization, CareTeam: the care team (the
  general practitioner, else the one of the latest ambulatory encounter, and
  practitioners seen in the last year).
- CarePlan with its activities and Goals: one problem per condition the plan
  addresses; the Omaha category of each activity is guessed from its words.
- Observation: scored PHQ-9 (44261-6), PHQ-2 (55758-7) and GAD-7
  (70274-6) totals, with item answers when every item is present; a total
  that disagrees with its items is refused. Vital signs and labs nursecase
  reads (``domain.measures``), blood pressure panels as their two parts, are
  readings (``domain.fhir_readings``); the others (height, BMI, blood counts,
  smoking status, pain scores ...) are counted as skipped.

Every resource type not used is counted, with the reason, for the summary.
"""

from __future__ import annotations

from datetime import date, datetime

from nursecase.domain.codes import (
    ConditionClinicalStatus,
    DischargeDisposition,
    Instrument,
    Sex,
    parse_code,
)
from nursecase.domain.encounters import starts_tcm
from nursecase.domain.fhir_care import CareReader
from nursecase.domain.fhir_encounters import EncounterReader
from nursecase.domain.fhir_index import BundleIndex, EncounterFacts, Located, ParseState, Reader
from nursecase.domain.fhir_readings import ReadingReader
from nursecase.domain.fhir_records import (
    ImportedAssessment,
    ImportedCarePlan,
    ImportedCareTeamMember,
    ImportedCondition,
    ImportedDischarge,
    ImportedGoal,
    ImportedIntervention,
    ImportedMedication,
    ImportedPatient,
    ImportedProblem,
    ParsedBundle,
    PatientKey,
)
from nursecase.domain.fhir_values import (
    CODE_LENGTH,
    CONDITION_LENGTH,
    DOSE_LENGTH,
    FACILITY_LENGTH,
    FREQUENCY_LENGTH,
    LANGUAGE_LENGTH,
    MEDICATION_LENGTH,
    NAME_LENGTH,
    ROUTE_LENGTH,
    BundleError,
    Json,
    best_address,
    best_phone,
    checked,
    codings,
    concept_text,
    fhir_date,
    fhir_datetime,
    first_code,
    human_name,
    json_list,
    json_object,
    mrn_from_identifier,
    not_after,
    objects,
    optional_object,
    period_of,
    quantity_text,
    refuse_lone_surrogates,
    status_code,
    text_of,
    timing_text,
    whole_number,
    written_day,
)
from nursecase.domain.instruments import get_instrument
from nursecase.domain.instruments.base import band_summary, find_band
from nursecase.domain.validation import (
    mrn_key,
    optional_text,
    require_text,
    search_key,
)

BUNDLE_TYPES = ("transaction", "batch", "collection", "searchset", "document")

SNOMED = "http://snomed.info/sct"

ICD10_SYSTEMS = (
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10-pcs",
)

LOINC = "http://loinc.org"

MRN_TYPE = "MR"

DISCHARGE_CLASSES = frozenset({"IMP", "ACUTE", "NONAC", "OBSENC", "SS"})

DISCHARGE_WINDOW_DAYS = 30

BIRTH_YEARS_MAX = 130

_PHQ9_ITEMS = (
    "44250-9",
    "44255-8",
    "44259-0",
    "44254-1",
    "44251-7",
    "44258-2",
    "44252-5",
    "44253-3",
    "44260-8",
)

_GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")

SCORED_OBSERVATIONS: dict[str, tuple[Instrument, tuple[str, ...]]] = {
    "44261-6": (Instrument.phq_9, _PHQ9_ITEMS),
    "55758-7": (Instrument.phq_2, _PHQ9_ITEMS[:2]),
    "70274-6": (Instrument.gad_7, _GAD7_ITEMS),
}

FREQUENCY_ANSWERS = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}

_USABLE_OBSERVATION_STATUSES = frozenset({"final", "amended", "corrected"})

_CONDITION_SKIPPED_VERIFICATION = frozenset({"refuted", "entered-in-error"})

_MEDICATION_REQUEST_STATUSES: dict[str, str | None] = {
    "active": "active",
    "on-hold": "on-hold",
    "stopped": "stopped",
    "completed": "completed",
    "unknown": "active",
    "cancelled": None,
    "draft": None,
    "entered-in-error": None,
}

_MEDICATION_STATEMENT_STATUSES: dict[str, str | None] = {
    "active": "active",
    "intended": "active",
    "on-hold": "on-hold",
    "stopped": "stopped",
    "completed": "completed",
    "unknown": "active",
    "not-taken": None,
    "entered-in-error": None,
}

_UNUSED_REASONS = {
    "Encounter": "without a patient",
    "Observation": "not a measure nursecase reads",
    "Practitioner": "not on a care team",
    "PractitionerRole": "not on a care team",
    "Organization": "not on a care team",
    "RelatedPerson": "not on a care team",
    "CareTeam": "inactive or without a patient",
    "Goal": "not in a care plan",
    "Medication": "not prescribed in this bundle",
}


def parse_bundle(
    data: object, *, today: date, discharge_window_days: int = DISCHARGE_WINDOW_DAYS
) -> ParsedBundle:
    """Read a decoded FHIR R4 Bundle; BundleError names the place of the first problem.

    ``today`` is the importer's date: nothing clinical may lie after it, and
    only discharges within ``discharge_window_days`` of it start TCM clocks.
    """
    # Before anything is read: a string that is not text must not reach a record.
    refuse_lone_surrogates(data)
    state = ParseState(BundleIndex(), today, discharge_window_days)
    return _Parser(state).parse(data)


class _Parser(Reader):
    """One bundle's parse: patients, clinical records, discharges, assessments."""

    def __init__(self, state: ParseState) -> None:
        super().__init__(state)
        self.care = CareReader(state)
        self.measures = ReadingReader(state)
        self.visits = EncounterReader(state, self.care)

    def parse(self, data: object) -> ParsedBundle:
        """The bundle's records, in the order the importer writes them."""
        bundle = self._bundle(data)
        patients = [self._patient(located) for located in self.index.of_type("Patient")]
        encounters = [
            encounter
            for located in self.index.of_type("Encounter")
            if (encounter := self._encounter(located)) is not None
        ]
        conditions = [
            condition
            for located in self.index.of_type("Condition")
            if (condition := self._condition(located)) is not None
        ]
        medications = self._medications()
        assessments = [
            assessment
            for located in self.index.of_type("Observation")
            if (assessment := self._assessment(located)) is not None
        ]
        # After the scores: an Observation a score used is no reading.
        readings = [
            reading
            for located in self.index.of_type("Observation")
            if located.entry not in self.index.used
            for reading in self.measures.readings(located) or ()
        ]
        care_plans = [
            plan
            for located in self.index.of_type("CarePlan")
            if (plan := self.care.care_plan(located)) is not None
        ]
        discharges = [
            discharge for encounter in encounters if (discharge := self._discharge(encounter))
        ]
        discharged = {discharge.place: discharge for discharge in discharges}
        visits = [
            visit
            for encounter in encounters
            if (visit := self.visits.encounter(encounter, discharged.get(encounter.located.place)))
        ]
        care_team = self.care.care_team(patients, encounters)
        self._count_unused()
        return ParsedBundle(
            bundle_type=bundle,
            patients=tuple(patients),
            conditions=tuple(conditions),
            medications=tuple(medications),
            care_team=tuple(care_team),
            discharges=tuple(discharges),
            assessments=tuple(assessments),
            care_plans=tuple(care_plans),
            skipped=dict(sorted(self.skipped.items())),
            warnings=tuple(self.warnings),
            readings=tuple(readings),
            encounters=tuple(visits),
        )

    def _bundle(self, data: object) -> str:
        if not isinstance(data, dict):
            raise BundleError("(top level)", "must be a JSON object (a FHIR Bundle)")
        resource_type = data.get("resourceType")
        if resource_type != "Bundle":
            kind = resource_type if isinstance(resource_type, str) and resource_type else "none"
            raise BundleError("resourceType", f"is {kind[:40]}; expected Bundle")
        bundle_type = text_of(data.get("type"), "type")
        if bundle_type not in BUNDLE_TYPES:
            raise BundleError("type", f"must be one of: {', '.join(BUNDLE_TYPES)}")
        for index, entry in enumerate(json_list(data.get("entry"), "entry")):
            place = f"entry[{index}]"
            entry = json_object(entry, place)
            search = optional_object(entry.get("search"), f"{place}.search")
            if search is not None and search.get("mode") == "outcome":
                self.skipped["OperationOutcome"] += 1
                continue
            resource = entry.get("resource")
            if resource is None:
                self.skipped["(entry without a resource)"] += 1
                continue
            resource = json_object(resource, f"{place}.resource")
            resource_type = text_of(resource.get("resourceType"), f"{place}.resource.resourceType")
            if resource_type is None:
                raise BundleError(f"{place}.resource.resourceType", "is required")
            full_url = text_of(entry.get("fullUrl"), f"{place}.fullUrl")
            located = Located(resource, f"{place}.resource", index, full_url)
            self.index.add(located, full_url, f"{place}.fullUrl")
        return bundle_type

    def _count_unused(self) -> None:
        for located in self.index.entries:
            if located.entry not in self.index.used:
                reason = _UNUSED_REASONS.get(located.type)
                self.skipped[f"{located.type} ({reason})" if reason else located.type] += 1

    def _patient(self, located: Located) -> ImportedPatient:
        resource, place = located.resource, located.place
        mrn = self._mrn(resource, place)
        key = mrn_key(mrn)
        for entry, known in self.index.patient_mrns.items():
            if mrn_key(known) == key:
                raise BundleError(f"{place}.identifier", f"repeats the MRN of entry[{entry}]")
        family, given, text = human_name(resource, place)
        if (family is None or given is None) and text:
            # Only a text name ("Jo Smith"): the last word is the family name.
            words = text.split()
            if len(words) >= 2:
                family, given = family or words[-1], given or " ".join(words[:-1])
        if family is None or given is None:
            raise BundleError(f"{place}.name", "needs a family name and a given name")
        for value, name_field in ((family, "family"), (given, "given")):
            checked(f"{place}.name", require_text, value, name_field, max_length=NAME_LENGTH)
            if not search_key(value):
                raise BundleError(f"{place}.name", f"{name_field} has no letter or digit")
        birth_place = f"{place}.birthDate"
        birth = fhir_date(resource.get("birthDate"), birth_place)
        if birth is None and resource.get("birthDate") is not None:
            self.warnings.append(f"{birth_place}: left out: only part of the date is known")
        not_after(birth, self.today, birth_place)
        if birth is not None and self.today.year - birth.year > BIRTH_YEARS_MAX:
            raise BundleError(birth_place, f"is more than {BIRTH_YEARS_MAX} years ago")
        gender = text_of(resource.get("gender"), f"{place}.gender")
        sex = None
        if gender is not None:
            sex = str(checked(f"{place}.gender", _sex, gender))
        self.index.mark_used(located)
        # Patients are read from the bundle's entries (never contained): each has an entry.
        assert located.entry is not None
        self.index.patient_mrns[located.entry] = mrn
        return ImportedPatient(
            place=place,
            mrn=mrn,
            family_name=family,
            given_name=given,
            birth_date=birth,
            sex=sex,
            phone=best_phone(resource, place, self.warnings),
            address=best_address(resource, place),
            preferred_language=self._language(resource, place),
            deceased=resource.get("deceasedBoolean") is True
            or resource.get("deceasedDateTime") is not None,
        )

    @staticmethod
    def _mrn(resource: Json, place: str) -> str:
        identifiers = list(objects(resource, "identifier", place))
        typed_mrn = [
            item
            for item in identifiers
            if first_code(optional_object(item[1].get("type"), item[0]), item[0]) == MRN_TYPE
        ]
        untyped = [item for item in identifiers if item[1].get("type") is None]
        candidates = typed_mrn or untyped
        if not candidates:
            raise BundleError(
                f"{place}.identifier",
                "has no medical record number (an identifier of type MR, or one without a type)",
            )
        identifier_place, identifier = candidates[0]
        return mrn_from_identifier(identifier.get("value"), f"{identifier_place}.value")

    @staticmethod
    def _language(resource: Json, place: str) -> str | None:
        items = list(objects(resource, "communication", place))
        items.sort(key=lambda pair: 0 if pair[1].get("preferred") is True else 1)
        for item_place, item in items:
            concept = optional_object(item.get("language"), f"{item_place}.language")
            text = concept_text(concept, f"{item_place}.language")
            if text:
                return checked(
                    f"{item_place}.language",
                    require_text,
                    text,
                    "preferred_language",
                    max_length=LANGUAGE_LENGTH,
                )
        return None

    def _condition(self, located: Located) -> ImportedCondition | None:
        resource, place = located.resource, located.place
        verification = first_code(
            optional_object(resource.get("verificationStatus"), f"{place}.verificationStatus"),
            f"{place}.verificationStatus",
        )
        if verification in _CONDITION_SKIPPED_VERIFICATION:
            self.skipped["Condition (refuted or entered in error)"] += 1
            self.index.mark_used(located)
            return None
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        concept = optional_object(resource.get("code"), f"{place}.code")
        if concept is None:
            raise BundleError(f"{place}.code", "is required: a condition needs a code or text")
        description = concept_text(concept, f"{place}.code")
        if description is None:
            raise BundleError(f"{place}.code", "has no text, display or code to show")
        description = checked(
            f"{place}.code", require_text, description, "description", CONDITION_LENGTH
        )
        code, code_system = None, None
        snomed = first_code(concept, f"{place}.code", SNOMED)
        if snomed is not None:
            code, code_system = snomed, "snomed"
        else:
            for system in ICD10_SYSTEMS:
                icd = first_code(concept, f"{place}.code", system)
                if icd is not None:
                    code, code_system = icd.upper(), "icd-10"
                    break
        if code is not None:
            checked(f"{place}.code", require_text, code, "code", max_length=CODE_LENGTH)
        clinical = first_code(
            optional_object(resource.get("clinicalStatus"), f"{place}.clinicalStatus"),
            f"{place}.clinicalStatus",
        )
        status = "active"
        if clinical is not None:
            status = str(checked(f"{place}.clinicalStatus", _clinical_status, clinical))
        onset_place = f"{place}.onsetDateTime"
        onset = written_day(fhir_datetime(resource.get("onsetDateTime"), onset_place))
        if onset is None and resource.get("onsetPeriod") is not None:
            onset_place = f"{place}.onsetPeriod.start"
            onset = written_day(period_of(resource, "onsetPeriod", place)[0])
        not_after(onset, self.today, onset_place)
        self.index.mark_used(located)
        return ImportedCondition(
            place=place,
            patient=patient,
            description=description,
            code=code,
            code_system=code_system,
            clinical_status=status,
            onset_date=onset,
        )

    def _medications(self) -> list[ImportedMedication]:
        """One entry per patient and medication name: the latest prescription wins."""
        latest: dict[tuple[str, str], ImportedMedication] = {}
        for located in self.index.of_type("MedicationRequest", "MedicationStatement"):
            medication = self._medication(located)
            if medication is None:
                continue
            key = (medication.patient.mrn, medication.name.casefold())
            known = latest.get(key)
            if known is None or _started_key(medication) >= _started_key(known):
                latest[key] = medication
        return list(latest.values())

    def _medication(self, located: Located) -> ImportedMedication | None:
        resource, place = located.resource, located.place
        request = located.type == "MedicationRequest"
        statuses = _MEDICATION_REQUEST_STATUSES if request else _MEDICATION_STATEMENT_STATUSES
        status = status_code(resource.get("status"), f"{place}.status", statuses)
        if status is None or resource.get("doNotPerform") is True:
            self.skipped[f"{located.type} (not taken or entered in error)"] += 1
            self.index.mark_used(located)
            return None
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        name = self._medication_name(located)
        if request:
            started = fhir_datetime(resource.get("authoredOn"), f"{place}.authoredOn")
            dosages_key = "dosageInstruction"
        else:
            started = fhir_datetime(resource.get("effectiveDateTime"), f"{place}.effectiveDateTime")
            if started is None:
                started = period_of(resource, "effectivePeriod", place)[0]
            dosages_key = "dosage"
        dose, route, frequency = self._dosage(resource, dosages_key, place)
        self.index.mark_used(located)
        return ImportedMedication(
            place=place,
            patient=patient,
            name=name,
            dose=dose,
            route=route,
            frequency=frequency,
            status=status,
            started=started,
        )

    def _medication_name(self, located: Located) -> str:
        resource, place = located.resource, located.place
        concept_place = f"{place}.medicationCodeableConcept"
        text = concept_text(
            optional_object(resource.get("medicationCodeableConcept"), concept_place),
            concept_place,
        )
        if text is None and resource.get("medicationReference") is not None:
            concept_place = f"{place}.medicationReference"
            found = self.index.resource(
                resource.get("medicationReference"), concept_place, ("Medication",), located
            )
            code = optional_object(found.resource.get("code"), f"{found.place}.code")
            text = concept_text(code, f"{found.place}.code")
            concept_place = f"{found.place}.code"
        if text is None:
            raise BundleError(
                f"{place}.medicationCodeableConcept",
                "is required (or a medicationReference to a Medication with a code)",
            )
        return checked(concept_place, require_text, text, "name", max_length=MEDICATION_LENGTH)

    def _dosage(self, resource: Json, key: str, place: str) -> tuple[str | None, ...]:
        dosages = list(objects(resource, key, place))
        if not dosages:
            return None, None, None
        dosage_place, dosage = dosages[0]
        dose = None
        for rate_place, rate in objects(dosage, "doseAndRate", dosage_place):
            quantity = optional_object(rate.get("doseQuantity"), f"{rate_place}.doseQuantity")
            if quantity is not None:
                dose = quantity_text(quantity, f"{rate_place}.doseQuantity")
                break
        route = concept_text(
            optional_object(dosage.get("route"), f"{dosage_place}.route"), f"{dosage_place}.route"
        )
        frequency = timing_text(
            optional_object(dosage.get("timing"), f"{dosage_place}.timing"),
            f"{dosage_place}.timing",
        )
        if dosage.get("asNeededBoolean") is True or dosage.get("asNeededCodeableConcept"):
            frequency = f"{frequency}, as needed" if frequency else "as needed"
        if frequency is None:
            frequency = text_of(dosage.get("text"), f"{dosage_place}.text")
        return (
            checked(f"{dosage_place}.doseAndRate", optional_text, dose, "dose", DOSE_LENGTH),
            checked(f"{dosage_place}.route", optional_text, route, "route", ROUTE_LENGTH),
            checked(
                f"{dosage_place}.timing", optional_text, frequency, "frequency", FREQUENCY_LENGTH
            ),
        )

    def _encounter(self, located: Located) -> EncounterFacts | None:
        resource, place = located.resource, located.place
        if resource.get("subject") is None:
            return None  # an encounter of nobody in particular: nothing to take from it
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        start, end = period_of(resource, "period", place)
        class_code = None
        encounter_class = resource.get("class")
        if isinstance(encounter_class, dict):
            class_code = text_of(encounter_class.get("code"), f"{place}.class.code")
        return EncounterFacts(
            located=located,
            patient=patient,
            status=text_of(resource.get("status"), f"{place}.status"),
            class_code=class_code,
            start=start,
            end=end,
        )

    def _discharge(self, encounter: EncounterFacts) -> ImportedDischarge | None:
        """A finished inpatient or observation stay that ended inside the TCM window."""
        resource, place = encounter.located.resource, encounter.located.place
        if encounter.class_code not in DISCHARGE_CLASSES or encounter.status != "finished":
            return None
        discharged = written_day(encounter.end)
        if discharged is None:
            return None
        if (
            discharged > self.today
            or (self.today - discharged).days > self.state.discharge_window_days
        ):
            return None
        hospitalization = resource.get("hospitalization")
        if isinstance(hospitalization, dict):
            disposition = first_code(
                optional_object(
                    hospitalization.get("dischargeDisposition"),
                    f"{place}.hospitalization.dischargeDisposition",
                ),
                f"{place}.hospitalization.dischargeDisposition",
            )
            # TCM follows a discharge to the community (CMS MLN908628), as the
            # hospital feed's discharges do (domain.encounters.starts_tcm): not
            # a death, a skilled nursing facility, rehabilitation or hospice.
            known = {code.value for code in DischargeDisposition}
            if disposition in known and not starts_tcm(DischargeDisposition(str(disposition))):
                return None
        admitted = written_day(encounter.start)
        stay = (discharged - admitted).days if admitted and admitted <= discharged else None
        facility = self.care.organisation_name(
            resource.get("serviceProvider"), f"{place}.serviceProvider", encounter.located
        )
        self.index.mark_used(encounter.located)
        return ImportedDischarge(
            place=place,
            patient=encounter.patient,
            discharged_on=discharged,
            length_of_stay_days=min(stay, 3650) if stay is not None else None,
            facility=checked(
                f"{place}.serviceProvider", optional_text, facility, "facility", FACILITY_LENGTH
            ),
        )

    def _assessment(self, located: Located) -> ImportedAssessment | None:
        resource, place = located.resource, located.place
        concept = optional_object(resource.get("code"), f"{place}.code")
        loinc = first_code(concept, f"{place}.code", LOINC)
        if loinc not in SCORED_OBSERVATIONS:
            return None
        status = text_of(resource.get("status"), f"{place}.status")
        if status is None:
            raise BundleError(f"{place}.status", "is required")
        if status not in _USABLE_OBSERVATION_STATUSES:
            self.skipped["Observation (not final, or entered in error)"] += 1
            self.index.mark_used(located)
            return None
        instrument, item_codes = SCORED_OBSERVATIONS[loinc]
        definition = get_instrument(instrument)
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        moment_place = f"{place}.effectiveDateTime"
        performed = fhir_datetime(resource.get("effectiveDateTime"), moment_place)
        if performed is None and resource.get("effectivePeriod") is not None:
            moment_place = f"{place}.effectivePeriod.start"
            performed = period_of(resource, "effectivePeriod", place)[0]
        if performed is None:
            moment_place = f"{place}.effectiveInstant"
            performed = fhir_datetime(resource.get("effectiveInstant"), moment_place)
        if performed is None:
            raise BundleError(f"{place}.effectiveDateTime", "is required for a scored assessment")
        not_after(performed.date(), self.today, moment_place)
        total = self._total(resource, place, definition.min_total, definition.max_total)
        answers = self._answers(located, item_codes, definition.item_codes)
        if answers and sum(answers.values()) != total[0]:
            raise BundleError(total[1], "does not match the sum of the item answers")
        if answers:
            score = definition.score(answers)
            band, summary = score.band.name, score.summary
        else:
            band_found = find_band(definition.bands, total[0])
            band = band_found.name
            summary = band_summary(definition.short_name, total[0], band_found, {})
        self.index.mark_used(located)
        return ImportedAssessment(
            place=place,
            patient=patient,
            instrument=str(instrument),
            total=total[0],
            band=band,
            summary=summary,
            answers=tuple(answers.items()),
            performed_at=performed,
        )

    @staticmethod
    def _total(resource: Json, place: str, low: int, high: int) -> tuple[int, str]:
        if "valueInteger" in resource:
            value_place = f"{place}.valueInteger"
            return whole_number(resource["valueInteger"], value_place, low, high), value_place
        value_place = f"{place}.valueQuantity"
        quantity = optional_object(resource.get("valueQuantity"), value_place)
        if quantity is None:
            raise BundleError(value_place, "is required: the instrument's total score")
        return whole_number(quantity.get("value"), f"{value_place}.value", low, high), value_place

    def _answers(
        self, located: Located, item_codes: tuple[str, ...], instrument_items: tuple[str, ...]
    ) -> dict[str, int]:
        """Item answers from components or hasMember observations; {} unless all are there."""
        resource, place = located.resource, located.place
        found: dict[str, int] = {}
        sources: list[tuple[str, Json]] = list(objects(resource, "component", place))
        for member_place, member in objects(resource, "hasMember", place):
            target = self.index.resource(member, member_place, ("Observation",), located)
            sources.append((target.place, target.resource))
        for source_place, source in sources:
            code = first_code(
                optional_object(source.get("code"), f"{source_place}.code"),
                f"{source_place}.code",
                LOINC,
            )
            if code in item_codes:
                item = instrument_items[item_codes.index(code)]
                found[item] = _item_value(source, source_place)
        if found and len(found) != len(item_codes):
            self.warnings.append(
                f"{place}: item answers left out: {len(found)} of {len(item_codes)} given"
            )
            return {}
        return {item: found[item] for item in instrument_items if item in found}


def _started_key(medication: ImportedMedication) -> tuple:
    started = medication.started
    return (0, datetime.min) if started is None else (1, started.replace(tzinfo=None))


def _sex(value: str) -> Sex:
    return parse_code(Sex, value, "gender")


def _clinical_status(value: str) -> ConditionClinicalStatus:
    return parse_code(ConditionClinicalStatus, value, "clinicalStatus")


def _item_value(source: Json, place: str) -> int:
    """An item's answer: an integer, or a LOINC answer code of the frequency options."""
    if "valueInteger" in source:
        return whole_number(source["valueInteger"], f"{place}.valueInteger", 0, 3)
    if "valueQuantity" in source:
        quantity = json_object(source["valueQuantity"], f"{place}.valueQuantity")
        return whole_number(quantity.get("value"), f"{place}.valueQuantity.value", 0, 3)
    concept = optional_object(source.get("valueCodeableConcept"), f"{place}.valueCodeableConcept")
    for coding_place, coding in codings(concept, f"{place}.valueCodeableConcept"):
        code = text_of(coding.get("code"), f"{coding_place}.code")
        if code in FREQUENCY_ANSWERS:
            return FREQUENCY_ANSWERS[code]
    raise BundleError(
        f"{place}.value[x]", "must be 0-3 or a LOINC answer code (LA6568-5 ... LA6571-9)"
    )


__all__ = [
    "BUNDLE_TYPES",
    "SCORED_OBSERVATIONS",
    "BundleError",
    "ImportedAssessment",
    "ImportedCarePlan",
    "ImportedCareTeamMember",
    "ImportedCondition",
    "ImportedDischarge",
    "ImportedGoal",
    "ImportedIntervention",
    "ImportedMedication",
    "ImportedPatient",
    "ImportedProblem",
    "ParsedBundle",
    "PatientKey",
    "concept_text",
    "fhir_date",
    "fhir_datetime",
    "mrn_from_identifier",
    "parse_bundle",
]
