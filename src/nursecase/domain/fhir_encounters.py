"""Reading a bundle's Encounters as nursecase's encounters (issue 21).

Kept: inpatient stays, emergency visits, observation stays and ambulatory
visits, the v3 ActCode classes of FHIR R4 ``Encounter.class``
(hl7.org/fhir/R4/v3/ActEncounterCode/vs.html): IMP, EMER, OBSENC, AMB. ACUTE
and NONAC are kinds of IMP in that hierarchy ("inpatient acute", "inpatient
non-acute"), so they are inpatient stays. Every other class (home health,
virtual, field, pre-admission, short stay ...) is counted as left out. A
coding of another system is not an ActCode, whatever its code says.

An encounter is never a contact: it carries no CCM minutes and no contact
date (``domain.fhir_bundle``). Its status is FHIR's
(hl7.org/fhir/R4/valueset-encounter-status.html): finished, in-progress,
cancelled and entered-in-error are kept as they are; arrived, triaged and
onleave are in progress (the patient is there, or on leave from a stay that
goes on); planned and unknown say nothing happened that a nurse can act on.

What is read, and why:

- the facility: the serviceProvider Organization's name (or the reference's
  display), else the first location's display (or the Location's name);
- admitted and discharged: ``period.start`` and ``period.end``, as written
  (the importer makes them wall-clock time); an encounter without a start is
  left out: nursecase cannot place it;
- the disposition: ``hospitalization.dischargeDisposition`` when its code is
  one of the FHIR discharge-disposition codes (``codes.DischargeDisposition``);
- the diagnoses: each ``diagnosis.condition`` (the Condition's words and
  first code) in rank order, then each ``reasonCode``; one of the same words
  is kept once. A diagnosis that cannot be read whole is left out with a
  warning, never the whole file.
"""

from __future__ import annotations

from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
)
from nursecase.domain.fhir_care import CareReader
from nursecase.domain.fhir_index import EncounterFacts, Located, ParseState, Reader
from nursecase.domain.fhir_records import ImportedDischarge, ImportedEncounter
from nursecase.domain.fhir_values import (
    ENCOUNTER_SYSTEM_PREFIX,
    FACILITY_LENGTH,
    BundleError,
    Json,
    codings,
    concept_text,
    json_object,
    objects,
    optional_object,
    text_of,
)

#: The system of Encounter.class codes (and its STU3 address, still sent).
ACT_CODE_SYSTEMS = frozenset(
    {"http://terminology.hl7.org/CodeSystem/v3-ActCode", "http://hl7.org/fhir/v3/ActCode"}
)
#: The discharge dispositions' code system (hl7.org/fhir/R4/codesystem-discharge-disposition.html).
DISCHARGE_DISPOSITION_SYSTEM = "http://terminology.hl7.org/CodeSystem/discharge-disposition"

#: Encounter.class code -> the class nursecase keeps (ACUTE and NONAC are kinds of IMP).
KEPT_CLASSES: dict[str, EncounterClass] = {
    "IMP": EncounterClass.inpatient,
    "ACUTE": EncounterClass.inpatient,
    "NONAC": EncounterClass.inpatient,
    "EMER": EncounterClass.emergency,
    "OBSENC": EncounterClass.observation,
    "AMB": EncounterClass.ambulatory,
}

#: Encounter.status -> nursecase's status; a status not here is left out.
KEPT_STATUSES: dict[str, EncounterStatus] = {
    "finished": EncounterStatus.finished,
    "in-progress": EncounterStatus.in_progress,
    "arrived": EncounterStatus.in_progress,
    "triaged": EncounterStatus.in_progress,
    "onleave": EncounterStatus.in_progress,
    "cancelled": EncounterStatus.cancelled,
    "entered-in-error": EncounterStatus.entered_in_error,
}

#: A diagnosis's coding system as an HL7 v2 feed names it (table 0396) -> its FHIR URI.
V2_CODING_SYSTEMS = {
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "SCT": "http://snomed.info/sct",
}

#: Column limits of the encounter's rows (db/models.py: Encounter, EncounterDiagnosis).
SOURCE_KEY_LENGTH = 200
DIAGNOSIS_LENGTH = 400
DIAGNOSIS_CODE_LENGTH = 32
DIAGNOSIS_SYSTEM_LENGTH = 200

#: Why an Encounter was left out, as the import's summary counts it.
NOT_A_KEPT_CLASS = "Encounter (not a hospital, emergency, observation or ambulatory visit)"
NOT_HAPPENED = "Encounter (planned, or of unknown status)"
WITHOUT_START = "Encounter (no start time)"
STARTS_LATER = "Encounter (starts after today)"
WITHOUT_KEY = "Encounter (no id to find it again)"

_DISPOSITION_CODES = frozenset(str(code) for code in DischargeDisposition)
_OWN_SOURCES = {f"{ENCOUNTER_SYSTEM_PREFIX}{source.value}": source for source in EncounterSource}

Diagnosis = tuple[str, str | None, str | None]


def diagnosis_system(system: str | None) -> str | None:
    """A diagnosis's coding system as a FHIR URI, or None when it is no known one.

    An ADT feed's "I10" (HL7 v2 table 0396) is the ICD-10 URI; a URI stays.
    Two diagnoses with one code in one system are the same, whichever way the
    system was written (``services.encounters`` compares them so).
    """
    if system is None:
        return None
    if system in V2_CODING_SYSTEMS:
        return V2_CODING_SYSTEMS[system]
    return system if ":" in system else None


def encounter_class(resource: Json, place: str) -> EncounterClass | None:
    """The kept class of an Encounter (its ActCode ``class``), or None."""
    coding = optional_object(resource.get("class"), f"{place}.class")
    if coding is None:
        return None
    system = text_of(coding.get("system"), f"{place}.class.system")
    if system is not None and system not in ACT_CODE_SYSTEMS:
        return None
    code = text_of(coding.get("code"), f"{place}.class.code")
    return KEPT_CLASSES.get(code or "")


class EncounterReader(Reader):
    """Turns EncounterFacts into ImportedEncounters (see the module's docstring)."""

    def __init__(self, state: ParseState, care: CareReader) -> None:
        super().__init__(state)
        self.care = care

    def encounter(
        self, facts: EncounterFacts, discharge: ImportedDischarge | None
    ) -> ImportedEncounter | None:
        """The encounter to store, or None (counted) when nursecase does not keep it.

        ``discharge`` is the recent discharge this Encounter gave (TCM), if any.
        """
        located = facts.located
        resource, place = located.resource, located.place
        kind = encounter_class(resource, place)
        status = KEPT_STATUSES.get(facts.status or "")
        reason = None
        if kind is None:
            reason = NOT_A_KEPT_CLASS
        elif status is None:
            reason = NOT_HAPPENED
        elif facts.start is None:
            reason = WITHOUT_START
        elif facts.start.date() > self.today:
            reason = STARTS_LATER
        key = self._key(located)
        if reason is None and key is None:
            reason = WITHOUT_KEY
        if reason is not None:
            # A stay that started the TCM clocks fed a record: it is not "left out".
            if discharge is None:
                self.skipped[reason] += 1
            self.index.mark_used(located)
            return None
        assert kind is not None and status is not None and facts.start is not None
        assert key is not None
        self.index.mark_used(located)
        return ImportedEncounter(
            place=place,
            patient=facts.patient,
            source=key[0],
            source_key=key[1],
            encounter_class=kind,
            status=status,
            admitted_at=facts.start,
            discharged_at=facts.end,
            facility=self._facility(located),
            disposition=self._disposition(resource, place),
            diagnoses=self._diagnoses(located),
            transition_day=discharge.discharged_on if discharge is not None else None,
        )

    def _key(self, located: Located) -> tuple[EncounterSource, str] | None:
        """(source, key): nursecase's own identifier, else the id, else the fullUrl."""
        resource, place = located.resource, located.place
        for identifier_place, identifier in objects(resource, "identifier", place):
            system = text_of(identifier.get("system"), f"{identifier_place}.system")
            source = _OWN_SOURCES.get(system or "")
            value = text_of(identifier.get("value"), f"{identifier_place}.value")
            if source is not None and value and len(value) <= SOURCE_KEY_LENGTH:
                return source, value
        for value in (text_of(resource.get("id"), f"{place}.id"), located.full_url):
            if value and len(value) <= SOURCE_KEY_LENGTH:
                return EncounterSource.fhir, value
        return None

    def _facility(self, located: Located) -> str | None:
        resource, place = located.resource, located.place
        name = None
        provider_place = f"{place}.serviceProvider"
        provider = resource.get("serviceProvider")
        if provider is not None:
            try:
                name = self.care.organisation_name(provider, provider_place, located)
            except BundleError:
                # Not in this bundle (a conditional reference to the hospital's own
                # Organization, say): its display is all there is.
                name = text_of(json_object(provider, provider_place).get("display"), provider_place)
        if name is None:
            name, provider_place = self._location_name(located)
        if name is not None and len(name) > FACILITY_LENGTH:
            self.warnings.append(f"{provider_place}: left out: longer than {FACILITY_LENGTH}")
            return None
        return name

    def _location_name(self, located: Located) -> tuple[str | None, str]:
        resource, place = located.resource, located.place
        for item_place, item in objects(resource, "location", place):
            reference_place = f"{item_place}.location"
            reference = optional_object(item.get("location"), reference_place)
            if reference is None:
                continue
            name = text_of(reference.get("display"), f"{reference_place}.display")
            if name is None:
                try:
                    found = self.index.resolve_optional(
                        reference, reference_place, ("Location",), located
                    )
                except BundleError:
                    found = None
                if isinstance(found, Located):
                    name = text_of(found.resource.get("name"), f"{found.place}.name")
            if name is not None:
                return name, reference_place
        return None, f"{place}.location"

    @staticmethod
    def _disposition(resource: Json, place: str) -> DischargeDisposition | None:
        hospitalization = optional_object(
            resource.get("hospitalization"), f"{place}.hospitalization"
        )
        if hospitalization is None:
            return None
        concept_place = f"{place}.hospitalization.dischargeDisposition"
        concept = optional_object(hospitalization.get("dischargeDisposition"), concept_place)
        for coding_place, coding in codings(concept, concept_place):
            system = coding.get("system")
            if system is not None and system != DISCHARGE_DISPOSITION_SYSTEM:
                continue
            code = text_of(coding.get("code"), f"{coding_place}.code")
            if code is not None and code in _DISPOSITION_CODES:
                return DischargeDisposition(code)
        return None

    def _diagnoses(self, located: Located) -> tuple[Diagnosis, ...]:
        resource, place = located.resource, located.place
        found: list[Diagnosis] = []
        ranked = sorted(
            enumerate(objects(resource, "diagnosis", place)),
            key=lambda pair: (_rank(pair[1][1]), pair[0]),
        )
        for _index, (item_place, item) in ranked:
            diagnosis = self._diagnosis_of(
                item.get("condition"), f"{item_place}.condition", located
            )
            if diagnosis is not None:
                found.append(diagnosis)
        for reason_place, concept in objects(resource, "reasonCode", place):
            diagnosis = self._coded(concept, reason_place)
            if diagnosis is not None:
                found.append(diagnosis)
        kept: list[Diagnosis] = []
        seen: set[str] = set()
        for diagnosis in found:
            if diagnosis[0].casefold() not in seen:
                seen.add(diagnosis[0].casefold())
                kept.append(diagnosis)
        return tuple(kept)

    def _diagnosis_of(self, reference: object, place: str, located: Located) -> Diagnosis | None:
        if reference is None:
            return None
        try:
            found = self.index.resolve_optional(
                reference, place, ("Condition", "Procedure"), located
            )
        except BundleError as error:
            self.warnings.append(f"{error.place}: diagnosis left out: {error.message}")
            return None
        if isinstance(found, Located):
            code_place = f"{found.place}.code"
            return self._coded(optional_object(found.resource.get("code"), code_place), code_place)
        display = text_of(json_object(reference, place).get("display"), f"{place}.display")
        return self._checked((display, None, None), place) if display else None

    def _coded(self, concept: Json | None, place: str) -> Diagnosis | None:
        """A concept's words with its first coding's code and system."""
        text = concept_text(concept, place)
        if text is None:
            return None
        code = system = None
        for coding_place, coding in codings(concept, place):
            code = text_of(coding.get("code"), f"{coding_place}.code")
            if code is not None:
                system = text_of(coding.get("system"), f"{coding_place}.system")
                break
        return self._checked((text, code, system), place)

    def _checked(self, diagnosis: Diagnosis, place: str) -> Diagnosis | None:
        """The diagnosis if it fits its columns; a code too long is dropped, words kept."""
        display, code, system = diagnosis
        if len(display) > DIAGNOSIS_LENGTH:
            self.warnings.append(f"{place}: diagnosis left out: longer than {DIAGNOSIS_LENGTH}")
            return None
        if (code and len(code) > DIAGNOSIS_CODE_LENGTH) or (
            system and len(system) > DIAGNOSIS_SYSTEM_LENGTH
        ):
            self.warnings.append(f"{place}: diagnosis code left out: too long")
            return display, None, None
        return display, code, system


def _rank(item: Json) -> int:
    rank = item.get("rank")
    return rank if isinstance(rank, int) and not isinstance(rank, bool) else 1 << 30
