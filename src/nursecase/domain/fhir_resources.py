"""FHIR R4 resources as plain JSON dicts: the pure half of the FHIR export.

Each function takes plain values (codes, text, ISO dates and moments already
written as FHIR dateTimes) and returns the resource as a dict ready for
``json``. Nothing here reads a database or knows about batches: the export
service (``services.exports.fhir``) reads the rows and calls these.

Choices a reader of the bundle should know:

- Status codes are nursecase's own: they are FHIR codes already (DESIGN.md
  section 2). Only two need a mapping: the ServiceRequest of a referral (from
  the Task status that tracks it, :func:`service_request_status`) and the
  Communication of a contact (from its outcome, :func:`communication_status`).
- The MRN is the identifier typed ``MR`` (v2-0203), as the importer reads it.
- Care-plan problems (Omaha System problems or free text) exist only inside
  their plan, so they are Conditions *contained* in the CarePlan (category
  health-concern), addressed by the plan and given as the reason of each
  activity. They are not entries of their own: a receiver must not mistake
  "Circulation" for a diagnosis on the problem list. A Goal, an entry of its
  own, names its problem by a logical reference: the problem's identifier
  (a reference into another resource's contained list is not allowed in R4),
  with its text as the display.
- CarePlans, their problems and Goals carry an identifier in nursecase's own
  systems (``fhir_values.CARE_PLAN_SYSTEM`` ...), the resource's UUID: the
  importer links a goal to its problem by it, and a re-import matches by it.
- Organisations are names only in nursecase, so they are references with a
  display text, not Organization resources holding nothing more.
- Coded systems are only the published ones (LOINC, SNOMED CT, ICD-10-CM and
  HL7 terminology); nursecase's own codes (service types, Omaha problems and
  categories, care-team roles) travel as text.
- A reading (vital sign, home reading, lab) is an Observation of category
  vital-signs or laboratory, coded with the LOINC code it was stored under,
  its value as received in a UCUM-coded Quantity ("lb" is written with the
  code "[lb_av]", ``domain.measures.ucum_code``). A systolic and a diastolic
  pressure taken at one moment are ONE blood pressure panel (85354-9) with two
  components, as the FHIR R4 vital-signs profile requires
  (hl7.org/fhir/R4/observation-vitalsigns.html); a part without its pair is
  written alone.
- An encounter (issue 21) is an Encounter: its status, its v3 ActCode class,
  its period, the facility as the serviceProvider's display, the discharge
  disposition in its HL7 code system, and its diagnoses as reasonCodes (a
  diagnosis.condition must be a Reference, and nursecase keeps diagnoses as
  words and codes, not Conditions). Its identifier, in nursecase's own
  system for the way it was learned (``fhir_values.ENCOUNTER_SYSTEM_PREFIX``),
  is the key it is known by there, so the importer finds it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from nursecase.domain.codes import Instrument, Measure, SafetyDisposition, SafetyRisk
from nursecase.domain.fhir_bundle import SCORED_OBSERVATIONS
from nursecase.domain.fhir_encounters import DISCHARGE_DISPOSITION_SYSTEM, diagnosis_system
from nursecase.domain.fhir_values import (
    CARE_PLAN_SYSTEM,
    CATEGORY_PREFIX,
    ENCOUNTER_SYSTEM_PREFIX,
    GOAL_SYSTEM,
    PROBLEM_SYSTEM,
)
from nursecase.domain.instruments import get_instrument
from nursecase.domain.measures import BLOOD_PRESSURE_PANEL, info, ucum_code
from nursecase.domain.safety_check import (
    LOINC_NO,
    LOINC_YES,
    RISK_LEVEL_DISPLAY,
    RISK_LEVEL_LOINC,
    RISK_LOINC_ANSWERS,
)
from nursecase.domain.safety_check import NAME as SAFETY_CHECK_NAME
from nursecase.domain.safety_check import QUESTIONS_BY_FIELD as SAFETY_QUESTIONS

Json = dict[str, Any]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
#: "health-concern" is defined by US Core's category system (the base one has none).
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
#: The displays of the observation categories readings use.
READING_CATEGORIES = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}
#: LOINC 85354-9's display: the panel of the vital-signs profile.
BLOOD_PRESSURE_PANEL_DISPLAY = "Blood pressure panel with all children optional"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
GOAL_PRIORITY = "http://terminology.hl7.org/CodeSystem/goal-priority"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"

#: How a stored condition's ``code_system`` is written as a FHIR system URI.
CONDITION_SYSTEMS = {"icd-10": ICD10_CM, "snomed": SNOMED}

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: The v3 ActCode displays of the encounter classes nursecase keeps.
ENCOUNTER_CLASS_DISPLAYS = {
    "IMP": "inpatient encounter",
    "EMER": "emergency",
    "OBSENC": "observation encounter",
    "AMB": "ambulatory",
}
#: The displays of the discharge-disposition code system (R4).
DISPOSITION_DISPLAYS = {
    "home": "Home",
    "alt-home": "Alternative home",
    "other-hcf": "Other healthcare facility",
    "hosp": "Hospice",
    "long": "Long-term care",
    "aadvice": "Left against advice",
    "exp": "Expired",
    "psy": "Psychiatric hospital",
    "rehab": "Rehabilitation",
    "snf": "Skilled nursing facility",
    "oth": "Other",
}

#: SNOMED CT 3457005 |Patient referral (procedure)|: what every referral is.
REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}

#: The ServiceRequest status of a referral, from the status of the Task tracking it.
#: While the receiver has not finished (sent, received, accepted, working) the
#: request stands: active. A refusal, a failure or a cancellation ends the
#: request without the service: revoked.
SERVICE_REQUEST_STATUSES = {
    "draft": "draft",
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "ready": "active",
    "in-progress": "active",
    "on-hold": "on-hold",
    "completed": "completed",
    "rejected": "revoked",
    "cancelled": "revoked",
    "failed": "revoked",
    "entered-in-error": "entered-in-error",
}

#: Contact outcomes where nothing reached anyone: the Communication was not done.
#: A left message and a refusal did reach someone (the message, the patient).
NOT_DONE_OUTCOMES = frozenset({"no-answer", "wrong-number"})

#: Contact mode -> v3 ParticipationMode (code, display).
CONTACT_MEDIA = {
    "phone": ("PHONE", "telephone"),
    "home-visit": ("FACE", "face-to-face"),
    "clinic-visit": ("FACE", "face-to-face"),
    "telehealth": ("VIDEOCONF", "videoconferencing"),
    "message": ("WRITTEN", "written"),
    "case-conference": ("VERBAL", "verbal"),
}

#: Care-team role -> the participant role text. The words are chosen so that a
#: reader of the text (nursecase's importer among them) finds the role again.
CARE_TEAM_ROLE_TEXT = {
    "pcp": "Primary care provider",
    "specialist": "Specialist",
    "caregiver": "Caregiver",
    "pharmacist": "Pharmacist",
    "social-worker": "Social worker",
    "home-health": "Home health",
    "other": "Other",
}

#: Instrument -> (LOINC code of the total, LOINC codes of the items in order).
LOINC_INSTRUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    str(instrument): (total_code, item_codes)
    for total_code, (instrument, item_codes) in SCORED_OBSERVATIONS.items()
}

#: Instrument -> {nursecase item code: LOINC item code} for the instruments coded in LOINC.
LOINC_ITEMS: dict[str, dict[str, str]] = {
    str(instrument): dict(zip(get_instrument(instrument).item_codes, item_codes, strict=True))
    for instrument, item_codes in SCORED_OBSERVATIONS.values()
}

#: A contained problem's local id is this prefix and the problem's id.
PROBLEM_PREFIX = "problem-"


def reference(url: str, display: str | None = None) -> Json:
    """A Reference to a bundle entry's fullUrl (with a display text when given)."""
    if display:
        return {"reference": url, "display": display}
    return {"reference": url}


def named(display: str) -> Json:
    """A Reference by display text only: something nursecase knows by name alone."""
    return {"display": display}


def text_concept(text: str) -> Json:
    """A CodeableConcept of text only."""
    return {"text": text}


def coded(system: str, code: str, display: str | None = None, text: str | None = None) -> Json:
    """A CodeableConcept of one coding (and its text)."""
    coding: Json = {"system": system, "code": code}
    if display:
        coding["display"] = display
    concept: Json = {"coding": [coding]}
    if text:
        concept["text"] = text
    return concept


def _drop_empty(resource: Json) -> Json:
    """The resource without its None, empty and blank values (FHIR JSON has none of them).

    Zero and false are values: ``value or value == 0`` keeps them (False == 0).
    """
    return {key: value for key, value in resource.items() if value or value == 0}


_PLAIN_DOSE = re.compile(r"(\d+(?:\.\d+)?) ([A-Za-z][A-Za-z ]*)")


def dose_quantity(dose: str | None) -> tuple[int | float, str] | None:
    """A dose of one plain amount ("40 mg", "2000 units") as (value, unit); else None.

    A combined or qualified dose ("49/51 mg", "90 mcg, 2 puffs") is no Quantity:
    it travels as the dosage text only. The number must read back the same
    ("12.5", never "12.50"), so that a receiver writes the dose as it was.
    """
    match = _PLAIN_DOSE.fullmatch(dose.strip()) if dose else None
    if match is None:
        return None
    number, unit = match.groups()
    value: int | float = float(number) if "." in number else int(number)
    if f"{value:g}" != number:
        return None
    return value, unit.strip()


def service_request_status(referral_status: str) -> str:
    """The ServiceRequest status of a referral whose Task has ``referral_status``."""
    return SERVICE_REQUEST_STATUSES.get(referral_status, "unknown")


def communication_status(outcome: str) -> str:
    """ "completed", or "not-done" when the attempt reached nobody (no answer, wrong number)."""
    return "not-done" if outcome in NOT_DONE_OUTCOMES else "completed"


def label(code: str) -> str:
    """A code as words: "left-message" -> "Left message"."""
    words = code.replace("-", " ")
    return words[:1].upper() + words[1:]


# ---------------------------------------------------------------- people


def patient_resource(
    resource_id: str,
    *,
    mrn: str,
    family_name: str,
    given_name: str,
    birth_date: str | None,
    sex: str | None,
    phone: str | None,
    address: str | None,
    language: str | None,
    general_practitioners: Sequence[Json] = (),
) -> Json:
    """A Patient: the MRN typed MR, the name, birth date, gender and how to reach them."""
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": resource_id,
            "identifier": [
                {
                    "use": "usual",
                    "type": coded(IDENTIFIER_TYPE, "MR", "Medical record number", "MRN"),
                    "value": mrn,
                }
            ],
            "active": True,
            "name": [{"use": "official", "family": family_name, "given": [given_name]}],
            "telecom": [{"system": "phone", "value": phone}] if phone else None,
            "gender": sex,
            "birthDate": birth_date,
            "address": [{"use": "home", "text": address}] if address else None,
            "communication": (
                [{"language": text_concept(language), "preferred": True}] if language else None
            ),
            "generalPractitioner": list(general_practitioners),
        }
    )


def nurse_practitioner(resource_id: str, *, display_name: str, credentials: str | None) -> Json:
    """A nurse as a Practitioner, credentials ("RN, CCM") as qualifications."""
    qualifications = [
        {"code": text_concept(part.strip())}
        for part in (credentials or "").split(",")
        if part.strip()
    ]
    return _drop_empty(
        {
            "resourceType": "Practitioner",
            "id": resource_id,
            "active": True,
            "name": [{"text": display_name}],
            "qualification": qualifications,
        }
    )


def member_practitioner(resource_id: str, *, name: str) -> Json:
    """The person behind a care-team member's role."""
    return {"resourceType": "Practitioner", "id": resource_id, "name": [{"text": name}]}


def member_role(
    resource_id: str,
    *,
    practitioner: Json,
    role: str,
    organisation: str | None,
    phone: str | None,
) -> Json:
    """A care-team member's PractitionerRole: who, in which role, at which organisation."""
    return _drop_empty(
        {
            "resourceType": "PractitionerRole",
            "id": resource_id,
            "active": True,
            "practitioner": practitioner,
            "organization": named(organisation) if organisation else None,
            "code": [text_concept(CARE_TEAM_ROLE_TEXT.get(role, label(role)))],
            "telecom": [{"system": "phone", "value": phone}] if phone else None,
        }
    )


def related_person(resource_id: str, *, patient: Json, name: str, phone: str | None) -> Json:
    """A caregiver on the care team."""
    return _drop_empty(
        {
            "resourceType": "RelatedPerson",
            "id": resource_id,
            "active": True,
            "patient": patient,
            "relationship": [text_concept(CARE_TEAM_ROLE_TEXT["caregiver"])],
            "name": [{"text": name}],
            "telecom": [{"system": "phone", "value": phone}] if phone else None,
        }
    )


def care_team_resource(
    resource_id: str, *, patient: Json, members: Iterable[tuple[str, Json]]
) -> Json:
    """The patient's CareTeam: ``members`` are (role code, reference) pairs."""
    return {
        "resourceType": "CareTeam",
        "id": resource_id,
        "status": "active",
        "name": "Care team",
        "subject": patient,
        "participant": [
            {"role": [text_concept(CARE_TEAM_ROLE_TEXT.get(role, label(role)))], "member": member}
            for role, member in members
        ],
    }


def episode_resource(
    resource_id: str,
    *,
    patient: Json,
    status: str,
    start: str,
    end: str | None,
    history: Sequence[tuple[str, str, str | None]],
    care_manager: Json | None,
    team: Json | None,
) -> Json:
    """An EpisodeOfCare of case management; ``history`` is (status, from, until) moments."""
    return _drop_empty(
        {
            "resourceType": "EpisodeOfCare",
            "id": resource_id,
            "status": status,
            "statusHistory": [
                {"status": code, "period": _drop_empty({"start": since, "end": until})}
                for code, since, until in history
            ],
            "type": [text_concept("Case management")],
            "patient": patient,
            "period": _drop_empty({"start": start, "end": end}),
            "careManager": care_manager,
            "team": [team] if team else None,
        }
    )


# -------------------------------------------------------- clinical records


def condition_resource(
    resource_id: str,
    *,
    patient: Json,
    description: str,
    code: str | None,
    code_system: str | None,
    clinical_status: str,
    onset: str | None,
    recorded: str | None,
) -> Json:
    """A problem-list Condition, coded in ICD-10-CM or SNOMED CT when it has a code."""
    concept = text_concept(description)
    system = CONDITION_SYSTEMS.get(code_system or "")
    if code and system:
        concept = coded(system, code, description, description)
    return _drop_empty(
        {
            "resourceType": "Condition",
            "id": resource_id,
            "clinicalStatus": coded(CONDITION_CLINICAL, clinical_status),
            "verificationStatus": coded(CONDITION_VERIFICATION, "confirmed"),
            "category": [coded(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": concept,
            "subject": patient,
            "onsetDateTime": onset,
            "recordedDate": recorded,
        }
    )


def own_identifier(system: str, value: str) -> Json:
    """An Identifier in one of nursecase's own systems."""
    return {"system": system, "value": value}


def problem_condition(
    problem_id: int,
    *,
    identifier: str,
    patient: Json,
    description: str,
    status: str,
    omaha_name: str | None,
    omaha_domain: str | None,
) -> Json:
    """A care-plan problem as a Condition contained in its CarePlan (id "problem-N")."""
    note = None
    if omaha_name:
        note = [{"text": f"Omaha System problem: {omaha_name} ({omaha_domain} domain)"}]
    return _drop_empty(
        {
            "resourceType": "Condition",
            "id": f"{PROBLEM_PREFIX}{problem_id}",
            "identifier": [own_identifier(PROBLEM_SYSTEM, identifier)],
            # Problem statuses (active, inactive, resolved) are clinical statuses.
            "clinicalStatus": coded(CONDITION_CLINICAL, status),
            "category": [coded(US_CORE_CONDITION_CATEGORY, "health-concern", "Health Concern")],
            "code": text_concept(description),
            "subject": patient,
            "note": note,
        }
    )


def medication_statement(
    resource_id: str,
    *,
    patient: Json,
    name: str,
    status: str,
    dose: str | None,
    dose_quantity: tuple[float | int, str] | None,
    route: str | None,
    frequency: str | None,
    asserted: str | None,
) -> Json:
    """A MedicationStatement: the name as text, and the dosage as far as it is known.

    ``dose_quantity`` is the dose as (value, unit) when it is one plain amount
    ("40 mg"); a combined dose ("49/51 mg") is only in the dosage text.
    """
    dosage: Json = _drop_empty(
        {
            "text": ", ".join(part for part in (dose, route, frequency) if part) or None,
            "timing": {"code": text_concept(frequency)} if frequency else None,
            "route": text_concept(route) if route else None,
            "doseAndRate": (
                [{"doseQuantity": {"value": dose_quantity[0], "unit": dose_quantity[1]}}]
                if dose_quantity
                else None
            ),
        }
    )
    return _drop_empty(
        {
            "resourceType": "MedicationStatement",
            "id": resource_id,
            "status": status,
            "medicationCodeableConcept": text_concept(name),
            "subject": patient,
            "dateAsserted": asserted,
            "dosage": [dosage] if dosage else None,
        }
    )


def observation_resource(
    resource_id: str,
    *,
    patient: Json,
    instrument: str,
    instrument_name: str,
    total: int,
    band: str,
    summary: str,
    performed: str,
    performer: Json | None,
    items: Sequence[tuple[str, str, int]],
) -> Json:
    """A scored assessment: the total as valueInteger, its band, and one component per item.

    ``items`` are (item code, prompt, answer) in the instrument's order. PHQ-9,
    PHQ-2 and GAD-7 are coded in LOINC, total and items; the other instruments
    have no LOINC panel nursecase vouches for and are named in text.
    """
    loinc = LOINC_INSTRUMENTS.get(instrument)
    if loinc is not None:
        code = coded(LOINC, loinc[0], None, instrument_name)
    else:
        code = text_concept(instrument_name)
    item_codes = LOINC_ITEMS.get(instrument, {})
    components = []
    for item_code, prompt, answer in items:
        loinc_item = item_codes.get(item_code)
        concept = coded(LOINC, loinc_item, None, prompt) if loinc_item else text_concept(prompt)
        components.append({"code": concept, "valueInteger": answer})
    return _drop_empty(
        {
            "resourceType": "Observation",
            "id": resource_id,
            "status": "final",
            "category": [coded(OBSERVATION_CATEGORY, "survey", "Survey")],
            "code": code,
            "subject": patient,
            "effectiveDateTime": performed,
            "performer": [performer] if performer else None,
            "valueInteger": total,
            "interpretation": [text_concept(band)],
            "note": [{"text": summary}],
            "component": components,
        }
    )


def safety_check_observation(
    resource_id: str,
    *,
    patient: Json,
    answers: Sequence[tuple[str, bool | None]],
    risk: str,
    disposition: str,
    note: str | None,
    performed: str,
    performer: Json | None,
) -> Json:
    """A safety check (C-SSRS screener): its risk level, each asked item, its disposition.

    The Observation is the LOINC risk level (93374-7) with the LOINC answer as its
    value (Low, Moderate, High; "no risk identified" has no LOINC answer and is
    text). Each asked question is a component coded with its item's LOINC code
    and a LOINC yes/no answer; questions the form skipped (None) are left out.
    The disposition (what the nurse did) and the nurse's note travel as notes.
    ``answers`` are (answer field, answer) in question order (``domain.safety_check``).
    """
    risk_code = SafetyRisk(risk)
    loinc_answer = RISK_LOINC_ANSWERS.get(risk_code)
    if loinc_answer is not None:
        value = coded(LOINC, loinc_answer[0], loinc_answer[1], risk_code.label)
    else:
        value = text_concept(risk_code.label)
    components = []
    for field, answer in answers:
        if answer is None:
            continue
        question = SAFETY_QUESTIONS[field]
        answer_code, answer_display = LOINC_YES if answer else LOINC_NO
        components.append(
            {
                "code": coded(LOINC, question.loinc, None, question.prompt),
                "valueCodeableConcept": coded(LOINC, answer_code, answer_display),
            }
        )
    notes = [{"text": f"Disposition: {SafetyDisposition(disposition).label}"}]
    if note:
        notes.append({"text": note})
    return _drop_empty(
        {
            "resourceType": "Observation",
            "id": resource_id,
            "status": "final",
            "category": [coded(OBSERVATION_CATEGORY, "survey", "Survey")],
            "code": coded(LOINC, RISK_LEVEL_LOINC, RISK_LEVEL_DISPLAY, SAFETY_CHECK_NAME),
            "subject": patient,
            "effectiveDateTime": performed,
            "performer": [performer] if performer else None,
            "valueCodeableConcept": value,
            "note": notes,
            "component": components,
        }
    )


# ----------------------------------------------------------------- readings


def reading_code(measure: Measure | str, loinc: str) -> Json:
    """The LOINC code a reading was stored under; its display the measure's LOINC display
    when it is the measure's main code, else the measure's name."""
    code = Measure(measure)
    facts = info(code)
    display = facts.loinc_display if loinc == facts.loinc else code.label
    return coded(LOINC, loinc, display, code.label)


def reading_quantity(value: float, unit: str) -> Json:
    """The value as received, its unit as written and as its UCUM code."""
    number: float | int = int(value) if float(value).is_integer() else value
    return {"value": number, "unit": unit, "system": UCUM, "code": ucum_code(unit)}


def _reading_category(measure: Measure | str) -> list[Json]:
    category = info(Measure(measure)).category
    return [coded(OBSERVATION_CATEGORY, category, READING_CATEGORIES[category])]


def reading_observation(
    resource_id: str,
    *,
    patient: Json,
    measure: str,
    loinc: str,
    value: float,
    unit: str,
    effective: str,
) -> Json:
    """One reading as an Observation of category vital-signs or laboratory."""
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": _reading_category(measure),
        "code": reading_code(measure, loinc),
        "subject": patient,
        "effectiveDateTime": effective,
        "valueQuantity": reading_quantity(value, unit),
    }


def blood_pressure_observation(
    resource_id: str,
    *,
    patient: Json,
    parts: Sequence[tuple[str, str, float, str]],
    effective: str,
) -> Json:
    """A systolic and a diastolic of one moment as the blood pressure panel (85354-9).

    ``parts`` are (measure, LOINC code, value, unit), systolic first.
    """
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": _reading_category(Measure.systolic),
        "code": coded(
            LOINC, BLOOD_PRESSURE_PANEL, BLOOD_PRESSURE_PANEL_DISPLAY, Measure.blood_pressure.label
        ),
        "subject": patient,
        "effectiveDateTime": effective,
        "component": [
            {"code": reading_code(measure, loinc), "valueQuantity": reading_quantity(value, unit)}
            for measure, loinc, value, unit in parts
        ],
    }


# --------------------------------------------------------------- care plans


def goal_resource(
    resource_id: str,
    *,
    patient: Json,
    description: str,
    lifecycle_status: str,
    achievement_status: str | None,
    priority: str | None,
    start: str | None,
    target_measure: str | None,
    target_value: str | None,
    due_date: str | None,
    problem: str,
    problem_identifier: str,
) -> Json:
    """A care-plan Goal; ``problem`` is the text of the problem it is for, with its identifier."""
    target: Json = {}
    if target_measure:
        target["measure"] = text_concept(target_measure)
        if target_value:
            target["detailString"] = target_value
    if due_date:
        target["dueDate"] = due_date
    return _drop_empty(
        {
            "resourceType": "Goal",
            "id": resource_id,
            "identifier": [own_identifier(GOAL_SYSTEM, resource_id)],
            "lifecycleStatus": lifecycle_status,
            "achievementStatus": (
                coded(GOAL_ACHIEVEMENT, achievement_status, label(achievement_status))
                if achievement_status
                else None
            ),
            "priority": coded(GOAL_PRIORITY, priority, label(priority)) if priority else None,
            "description": text_concept(description),
            "subject": patient,
            "startDate": start,
            "target": [target] if target else None,
            "addresses": [
                {
                    "type": "Condition",
                    "identifier": own_identifier(PROBLEM_SYSTEM, problem_identifier),
                    "display": problem,
                }
            ],
        }
    )


def care_plan_activity(
    *,
    description: str,
    category: str,
    status: str,
    owner: str | None,
    frequency: str | None,
    due_date: str | None,
    problem_id: int,
    goal: Json | None,
) -> Json:
    """An intervention as a CarePlan activity: what, its Omaha category, status and schedule."""
    timing: Json = {}
    if frequency:
        timing["code"] = text_concept(frequency)
    if due_date:
        timing["repeat"] = {"boundsPeriod": {"end": due_date}}
    detail = _drop_empty(
        {
            "code": text_concept(description),
            "reasonReference": [{"reference": f"#{PROBLEM_PREFIX}{problem_id}"}],
            "goal": [goal] if goal else None,
            "status": status,
            "scheduledTiming": timing,
            "performer": [named(owner)] if owner else None,
            "description": f"{CATEGORY_PREFIX}{category}",
        }
    )
    return {"detail": detail}


def care_plan_resource(
    resource_id: str,
    *,
    patient: Json,
    title: str,
    status: str,
    intent: str,
    period_start: str | None,
    period_end: str | None,
    created: str | None,
    problems: Sequence[Json],
    goals: Sequence[Json],
    activities: Sequence[Json],
    care_team: Json | None,
) -> Json:
    """A CarePlan with its problems contained, its goals referenced and its activities."""
    return _drop_empty(
        {
            "resourceType": "CarePlan",
            "id": resource_id,
            "identifier": [own_identifier(CARE_PLAN_SYSTEM, resource_id)],
            "contained": list(problems),
            "status": status,
            "intent": intent,
            "title": title,
            "subject": patient,
            "period": _drop_empty({"start": period_start, "end": period_end}),
            "created": created,
            "careTeam": [care_team] if care_team else None,
            "addresses": [{"reference": f"#{problem['id']}"} for problem in problems],
            "goal": list(goals),
            "activity": list(activities),
        }
    )


# ---------------------------------------------------------------- referrals


def service_request_resource(
    resource_id: str,
    *,
    patient: Json,
    referral_status: str,
    service: str,
    priority: str,
    reason: str,
    organisation: str,
    contact: str | None,
    authored: str | None,
    requester: Json | None,
    appointment: str | None,
) -> Json:
    """A referral as a ServiceRequest (its status from the tracking Task's status)."""
    performers = [named(organisation)]
    if contact:
        performers.append(named(contact))
    return _drop_empty(
        {
            "resourceType": "ServiceRequest",
            "id": resource_id,
            "status": service_request_status(referral_status),
            "intent": "order",
            "category": [{"coding": [REFERRAL_CATEGORY]}],
            "priority": priority,
            "code": text_concept(service),
            "subject": patient,
            "occurrenceDateTime": appointment,
            "authoredOn": authored,
            "requester": requester,
            "performer": performers,
            "reasonCode": [text_concept(reason)],
        }
    )


def referral_task(
    resource_id: str,
    *,
    patient: Json,
    service_request: Json,
    status: str,
    status_reason: str | None,
    priority: str,
    organisation: str,
    authored: str | None,
    last_modified: str | None,
    requester: Json | None,
    expected_reply: str | None,
    outcome: str | None,
) -> Json:
    """The Task that tracks a referral: its status is the referral's, the focus its request.

    The date a reply is expected by is the Task's restriction period end (when
    the requester wants it acted on); a completed referral's outcome is its output.
    """
    return _drop_empty(
        {
            "resourceType": "Task",
            "id": resource_id,
            "status": status,
            "statusReason": text_concept(status_reason) if status_reason else None,
            "intent": "order",
            "priority": priority,
            "code": coded(TASK_CODE, "fulfill", "Fulfill the focal request"),
            "focus": service_request,
            "for": patient,
            "authoredOn": authored,
            "lastModified": last_modified,
            "requester": requester,
            "owner": named(organisation),
            "restriction": {"period": {"end": expected_reply}} if expected_reply else None,
            "output": (
                [{"type": text_concept("Outcome"), "valueString": outcome}] if outcome else None
            ),
        }
    )


# ----------------------------------------------------------------- contacts


def communication_resource(
    resource_id: str,
    *,
    patient: Json,
    mode: str,
    with_whom: str,
    outcome: str,
    minutes: int,
    note: str | None,
    sent: str,
    sender: Json | None,
    about: Json | None,
) -> Json:
    """A contact-log entry as a Communication: when, how, with whom, what came of it."""
    status = communication_status(outcome)
    medium = CONTACT_MEDIA.get(mode)
    # The patient is an entry; a caregiver or provider spoken to is known by role only.
    recipient = patient if with_whom == "patient" else named(label(with_whom))
    notes = [{"text": f"{label(outcome)}; {minutes} min"}]
    if note:
        notes.append({"text": note})
    return _drop_empty(
        {
            "resourceType": "Communication",
            "id": resource_id,
            "status": status,
            "statusReason": text_concept(label(outcome)) if status == "not-done" else None,
            "category": [text_concept("Case management contact")],
            "medium": [
                coded(PARTICIPATION_MODE, medium[0], medium[1], label(mode))
                if medium
                else text_concept(label(mode))
            ],
            "subject": patient,
            "about": [about] if about else None,
            "sent": sent,
            "recipient": [recipient],
            "sender": sender,
            "note": notes,
        }
    )


def encounter_resource(
    resource_id: str,
    *,
    patient: Json,
    source: str,
    source_key: str,
    encounter_class: str,
    status: str,
    start: str,
    end: str | None,
    facility: str | None,
    disposition: str | None,
    diagnoses: Sequence[tuple[str, str | None, str | None]],
) -> Json:
    """An Encounter: a hospital stay, ED visit, observation stay or ambulatory visit.

    ``diagnoses`` are (words, code, system) in order; a code is written only
    with a known system (:func:`diagnosis_system`), the words always.
    """
    reasons = []
    for display, code, system in diagnoses:
        uri = diagnosis_system(system)
        reasons.append(
            coded(uri, code, display, display) if code and uri else text_concept(display)
        )
    return _drop_empty(
        {
            "resourceType": "Encounter",
            "id": resource_id,
            "identifier": [own_identifier(f"{ENCOUNTER_SYSTEM_PREFIX}{source}", source_key)],
            "status": status,
            "class": {
                "system": ACT_CODE,
                "code": encounter_class,
                "display": ENCOUNTER_CLASS_DISPLAYS.get(encounter_class, encounter_class),
            },
            "subject": patient,
            "period": _drop_empty({"start": start, "end": end}),
            "reasonCode": reasons,
            "hospitalization": (
                {
                    "dischargeDisposition": coded(
                        DISCHARGE_DISPOSITION_SYSTEM,
                        disposition,
                        DISPOSITION_DISPLAYS.get(disposition),
                    )
                }
                if disposition
                else None
            ),
            "serviceProvider": named(facility) if facility else None,
        }
    )


def loinc_instrument(instrument: Instrument | str) -> tuple[str, tuple[str, ...]] | None:
    """(LOINC total code, LOINC item codes) of an instrument coded in LOINC, else None."""
    return LOINC_INSTRUMENTS.get(str(instrument))


__all__ = [
    "CARE_TEAM_ROLE_TEXT",
    "CONDITION_SYSTEMS",
    "CONTACT_MEDIA",
    "LOINC_INSTRUMENTS",
    "LOINC_ITEMS",
    "READING_CATEGORIES",
    "SERVICE_REQUEST_STATUSES",
    "blood_pressure_observation",
    "care_plan_activity",
    "care_plan_resource",
    "care_team_resource",
    "communication_resource",
    "communication_status",
    "dose_quantity",
    "condition_resource",
    "encounter_resource",
    "episode_resource",
    "goal_resource",
    "loinc_instrument",
    "medication_statement",
    "member_practitioner",
    "member_role",
    "named",
    "nurse_practitioner",
    "observation_resource",
    "patient_resource",
    "problem_condition",
    "reading_code",
    "reading_observation",
    "reading_quantity",
    "reference",
    "referral_task",
    "related_person",
    "safety_check_observation",
    "service_request_resource",
    "service_request_status",
]
