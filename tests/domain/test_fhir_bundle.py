"""Reading FHIR R4 bundles into plain records (pure: no database).

The Synthea bundles are read from tests/fhir_samples/synthea; the small
bundles of the other cases are built here, one resource at a time.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nursecase.domain.fhir_bundle import parse_bundle
from nursecase.domain.fhir_records import PatientKey
from nursecase.domain.fhir_values import (
    BundleError,
    care_team_role,
    fhir_date,
    fhir_datetime,
    mrn_from_identifier,
    omaha_category,
    timing_text,
)
from tests.fhir_samples import SYNTHEA, SYNTHEA_BUNDLES, synthea_bundle, synthea_bundles

TODAY = date(2026, 11, 27)
MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def synthea(name: str) -> dict:
    return json.loads(synthea_bundle(name).read_text(encoding="utf-8"))


def patient(mrn: str = "M-1", **extra) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"type": MR_TYPE, "system": "http://hospital.example.org", "value": mrn}],
        "name": [{"use": "official", "family": "Okafor", "given": ["Grace", "Ada"]}],
        "gender": "female",
        "birthDate": "1950-04-02",
        **extra,
    }


def bundle(*resources: dict, kind: str = "transaction", urls: list[str] | None = None) -> dict:
    """A bundle of the resources; entry i gets fullUrl urn:uuid:...i unless ``urls`` says."""
    entries = []
    for index, resource in enumerate(resources):
        url = urls[index] if urls else f"urn:uuid:00000000-0000-4000-8000-{index:012d}"
        entry = {"fullUrl": url, "resource": resource}
        if kind == "transaction":
            entry["request"] = {"method": "POST", "url": resource.get("resourceType", "")}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def ref(index: int) -> dict:
    return {"reference": f"urn:uuid:00000000-0000-4000-8000-{index:012d}"}


def condition(subject: dict, code: str = "38341003", text: str = "Hypertension", **extra) -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": text}]},
        "subject": subject,
        **extra,
    }


def parse(data: dict):
    return parse_bundle(data, today=TODAY)


def refused(data: object) -> BundleError:
    with pytest.raises(BundleError) as caught:
        parse_bundle(data, today=TODAY)
    return caught.value


# ---------------------------------------------------------------- Synthea


def test_synthea_bundle_gives_patient_problems_medications_and_pcp():
    parsed = parse(synthea("Stephen_McLaughlin"))

    (person,) = parsed.patients
    # The MR identifier (a UUID) exactly as Synthea wrote it (issue 19, item 4).
    assert person.mrn == "7735ab79-6ac8-4b81-9936-f7ddabd18751"
    assert (person.family_name, person.given_name) == ("McLaughlin", "Stephen")
    assert (person.birth_date, person.sex) == (date(1979, 4, 28), "male")
    assert person.phone == "555-339-6961"
    assert person.address == "663 Lockman Port, Marlborough, Massachusetts 01752"
    assert person.preferred_language == "English"
    assert {(item.code, item.code_system, item.clinical_status) for item in parsed.conditions} == {
        ("38341003", "snomed", "active"),
        ("444814009", "snomed", "resolved"),
        ("44465007", "snomed", "resolved"),
    }
    assert all(item.patient.mrn == person.mrn for item in parsed.conditions)
    medications = {item.name: item for item in parsed.medications}
    assert medications["Hydrochlorothiazide 25 MG"].status == "active"
    assert medications["Acetaminophen 325 MG Oral Tablet"].status == "stopped"
    assert medications["Acetaminophen 325 MG Oral Tablet"].frequency == "as needed"
    (doctor,) = parsed.care_team
    assert (doctor.name, doctor.role) == ("Dr. Giovanni Greenfelder", "pcp")
    assert (doctor.organisation, doctor.phone) == ("MARLBOROUGH HOSPITAL", "5084815000")


def test_synthea_care_plan_becomes_problem_with_interventions():
    parsed = parse(synthea("Stephen_McLaughlin"))

    plans = {plan.title: plan for plan in parsed.care_plans}
    therapy = plans["Physical therapy procedure"]
    assert (therapy.status, therapy.period_start, therapy.period_end) == (
        "completed",
        date(2021, 2, 16),
        date(2021, 3, 16),
    )
    # The plan addresses the ankle sprain (a urn:uuid: reference): that is its problem.
    (problem,) = therapy.problems
    assert (problem.description, problem.status) == ("Sprain of ankle", "resolved")
    assert [(item.description, item.category, item.status) for item in problem.interventions] == [
        (
            "Rest, ice, compression and elevation treatment programme",
            "treatments-procedures",
            "completed",
        ),
        ("Stretching exercises", "treatments-procedures", "completed"),
    ]
    (self_care,) = plans["Self care"].problems
    assert self_care.description == "Self care"
    assert [item.category for item in self_care.interventions] == ["teaching-guidance-counseling"]


def test_synthea_skips_what_nursecase_does_not_store_with_counts():
    parsed = parse(synthea("Buster_Hoeger"))

    assert parsed.skipped == {
        "Claim": 7,
        "DiagnosticReport": 2,
        "ExplanationOfBenefit": 6,
        "Immunization": 4,
        # Height, BMI, pain, smoking, blood counts, lipids other than LDL (issue 20):
        # the 3 weights, 3 blood pressure panels and the LDL are readings.
        "Observation (not a measure nursecase reads)": 26,
        "Procedure": 1,
    }
    assert parsed.assessments == () and parsed.discharges == ()
    assert len(parsed.readings) == 3 + 3 * 2 + 1
    # Its six ambulatory visits are encounters (issue 21), never contacts.
    assert [str(item.encounter_class) for item in parsed.encounters] == ["AMB"] * 6


def test_the_four_synthea_bundles_and_their_licence_are_in_the_repository():
    assert len(synthea_bundles()) == len(SYNTHEA_BUNDLES) == 4
    assert (SYNTHEA / "LICENSE").is_file() and (SYNTHEA / "NOTICE").is_file()


@pytest.mark.parametrize("name", SYNTHEA_BUNDLES)
def test_every_synthea_bundle_parses(name):
    parsed = parse(synthea(name))
    assert len(parsed.patients) == 1
    assert parsed.conditions and parsed.care_team
    assert parsed.warnings == ()


# ---------------------------------------------------------------- patients


def test_mrn_is_the_mr_identifier_never_a_social_security_number():
    person = patient()
    person["identifier"] = [
        {"type": {"coding": [{"code": "SS"}]}, "value": "999-12-3456"},
        {"system": "https://github.com/synthetichealth/synthea", "value": "other"},
        {"type": MR_TYPE, "value": " mrn-77 "},
    ]
    assert parse(bundle(person)).patients[0].mrn == "mrn-77"
    person["identifier"] = person["identifier"][:2]  # no MR: the untyped one
    assert parse(bundle(person)).patients[0].mrn == "other"
    person["identifier"] = person["identifier"][:1]  # only the SSN
    error = refused(bundle(person))
    assert error.place == "entry[0].resource.identifier"
    assert "999" not in str(error)


def test_mrn_from_identifier_keeps_the_mrn_as_written_and_refuses_long_values():
    assert mrn_from_identifier(" ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423 ", "x") == (
        "ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423"
    )
    assert mrn_from_identifier("A" * 64, "x") == "A" * 64
    with pytest.raises(BundleError, match="x: is not usable as an MRN: it must be at most 64"):
        mrn_from_identifier("A" * 65, "x")
    with pytest.raises(BundleError, match="only letters, digits and hyphens"):
        mrn_from_identifier("M 1/2", "x")


def test_patient_optional_parts_may_be_missing_or_partial():
    person = {
        "resourceType": "Patient",
        "identifier": [{"value": "M-2"}],
        "name": [{"text": "Jo Anne Smith"}],
        "birthDate": "1950",
        "telecom": [{"system": "phone", "value": "call the daughter"}],
    }
    parsed = parse(bundle(person))

    (read,) = parsed.patients
    assert (read.family_name, read.given_name) == ("Smith", "Jo Anne")
    assert (read.birth_date, read.sex, read.phone, read.address) == (None, None, None, None)
    assert parsed.warnings == (
        "entry[0].resource.birthDate: left out: only part of the date is known",
        "entry[0].resource.telecom[0].value: left out: the phone may contain only digits,"
        " spaces and + - ( ) .",
    )


def test_deceased_patient_is_marked():
    assert parse(bundle(patient(deceasedDateTime="2020-01-01"))).patients[0].deceased


# -------------------------------------------------------------- references


def test_conditional_references_resolve_inside_the_bundle_and_to_known_mrns():
    doctor = {
        "resourceType": "Practitioner",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        "name": [{"family": "Rao", "given": ["Priya"], "prefix": ["Dr."]}],
        "telecom": [{"system": "phone", "value": "(555) 010-2000"}],
    }
    person = patient(
        generalPractitioner=[
            {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893"}
        ]
    )
    known_elsewhere = condition(
        {"reference": "Patient?identifier=http://hospital.example.org|m-9"}, code="44054006"
    )
    by_identifier = condition(
        {"reference": "Patient?identifier=http%3A%2F%2Fhospital.example.org%7CM-1"}
    )
    parsed = parse(bundle(person, doctor, by_identifier, known_elsewhere))

    (member,) = parsed.care_team
    assert (member.name, member.role, member.phone) == ("Dr. Priya Rao", "pcp", "(555) 010-2000")
    assert [item.patient.mrn for item in parsed.conditions] == ["M-1", "m-9"]
    # Not in the bundle: the importer looks the MRN up in the database (by key).
    assert parsed.conditions[1].patient == PatientKey("m-9", "entry[3].resource.subject")


def test_conditional_reference_to_a_practitioner_that_is_not_there_is_refused():
    person = patient(generalPractitioner=[{"reference": "Practitioner?identifier=x|1"}])
    error = refused(bundle(person))
    assert (error.place, error.message) == (
        "entry[0].resource.generalPractitioner[0]",
        "does not resolve to a resource in this bundle",
    )


def test_conditional_reference_matching_two_resources_is_refused():
    twin = {"resourceType": "Practitioner", "identifier": [{"value": "7"}], "name": [{"text": "A"}]}
    person = patient(generalPractitioner=[{"reference": "Practitioner?identifier=7"}])
    error = refused(bundle(person, twin, copy.deepcopy(twin)))
    assert error.message == "matches 2 resources in this bundle; expected 1"


def test_collection_bundle_with_relative_references_and_contained_medication():
    person = patient(id="p1")
    medication = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "contained": [
            {"resourceType": "Medication", "id": "m1", "code": {"text": "Metformin 500 mg"}}
        ],
        "medicationReference": {"reference": "#m1"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-10-01",
        "dosage": [
            {
                "route": {"text": "oral"},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            }
        ],
    }
    data = bundle(
        person,
        medication,
        kind="collection",
        urls=["http://example.org/fhir/Patient/p1", "http://example.org/fhir/MS/1"],
    )
    (read,) = parse(data).medications
    assert (read.name, read.dose, read.route, read.frequency, read.status) == (
        "Metformin 500 mg",
        "1 tablet",
        "oral",
        "2 times a day",
        "active",
    )
    assert read.patient.mrn == "M-1"


def test_searchset_skips_outcomes_and_entries_without_resources():
    data = bundle(patient(id="p1"), condition({"reference": "Patient/p1"}), kind="searchset")
    data["entry"][0]["search"] = {"mode": "match"}
    data["entry"].append(
        {"search": {"mode": "outcome"}, "resource": {"resourceType": "OperationOutcome"}}
    )
    data["entry"].append({"request": {"method": "DELETE", "url": "Patient/9"}})
    parsed = parse(data)

    assert [item.description for item in parsed.conditions] == ["Hypertension"]
    assert parsed.skipped == {"(entry without a resource)": 1, "OperationOutcome": 1}


def test_the_same_full_url_twice_is_refused():
    data = bundle(patient(), patient("M-2"), urls=["urn:uuid:a", "urn:uuid:a"])
    assert refused(data).place == "entry[1].fullUrl"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "place", "message"),
    [
        ([], "(top level)", "must be a JSON object (a FHIR Bundle)"),
        ({"resourceType": "Patient"}, "resourceType", "is Patient; expected Bundle"),
        ({"resourceType": "Bundle"}, "type", "must be one of"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "entry", "must be a list"),
        (bundle({"id": "x"}), "entry[0].resource.resourceType", "is required"),
        (bundle(patient(name=[])), "entry[0].resource.name", "needs a family name"),
        (bundle(patient(gender="man")), "entry[0].resource.gender", "must be one of: male"),
        (bundle(patient(birthDate="2027-01-01")), "entry[0].resource.birthDate", "future"),
        (bundle(patient(birthDate="1950-02-30")), "entry[0].resource.birthDate", "real calendar"),
        (bundle(patient(), patient()), "entry[1].resource.identifier", "repeats the MRN"),
        # One MRN written two ways ("M-1", "m1") is still one patient's.
        (bundle(patient(), patient("m1")), "entry[1].resource.identifier", "repeats the MRN"),
        (bundle(patient(), condition(None)), "entry[1].resource.subject", "is required"),
        (
            bundle(patient(), condition(ref(7))),
            "entry[1].resource.subject",
            "does not resolve to a resource in this bundle",
        ),
        (
            bundle(patient(), condition(ref(0), onsetDateTime="2027-01-01T00:00:00Z")),
            "entry[1].resource.onsetDateTime",
            "must not be in the future",
        ),
        (
            bundle(patient(), {**condition(ref(0)), "code": {"coding": [{"system": SNOMED}]}}),
            "entry[1].resource.code",
            "has no text, display or code",
        ),
        (
            bundle(patient(), condition(ref(0), clinicalStatus={"coding": [{"code": "cured"}]})),
            "entry[1].resource.clinicalStatus",
            "must be one of: active",
        ),
        (
            bundle(patient(), {"resourceType": "Condition", "subject": ref(1)}),
            "entry[1].resource.subject",
            "refers to a Condition; expected Patient",
        ),
        (
            bundle(
                patient(),
                {"resourceType": "MedicationRequest", "subject": ref(0), "status": "active"},
            ),
            "entry[1].resource.medicationCodeableConcept",
            "is required",
        ),
        (
            bundle(patient(), {"resourceType": "MedicationRequest", "subject": ref(0)}),
            "entry[1].resource.status",
            "is required",
        ),
    ],
)
def test_bad_bundles_are_refused_naming_the_place(data, place, message):
    error = refused(data)
    assert error.place == place
    assert message in error.message
    assert str(error) == f"{place}: {error.message}"


def test_bundle_error_survives_pickling():
    error = BundleError("entry[1].resource.subject", "is required")
    copy_of = pickle.loads(pickle.dumps(error))
    assert (copy_of.place, copy_of.message, str(copy_of)) == (
        error.place,
        error.message,
        str(error),
    )


# ------------------------------------------------------------- assessments


def phq9(subject: dict, total: int, items: list[int] | None = None, **extra) -> dict:
    codes = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7"]
    codes += ["44258-2", "44252-5", "44253-3", "44260-8"]
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "44261-6"}]},
        "subject": subject,
        "effectiveDateTime": "2026-11-20T10:30:00+00:00",
        "valueQuantity": {"value": total, "unit": "{score}"},
        **extra,
    }
    if items is not None:
        resource["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": code}]}, "valueInteger": value}
            for code, value in zip(codes, items, strict=False)
        ]
    return resource


def test_phq9_total_with_all_items_keeps_the_answers_and_the_safety_item():
    parsed = parse(bundle(patient(), phq9(ref(0), 12, [1, 2, 1, 2, 1, 1, 2, 1, 1])))

    (score,) = parsed.assessments
    assert (score.instrument, score.total, score.band, score.summary) == (
        "phq-9",
        12,
        "moderate",
        "PHQ-9 12 moderate",
    )
    assert dict(score.answers)["item9"] == 1 and score.safety_item_value == 1
    assert score.performed_at == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def test_phq9_total_only_and_partial_items_keep_the_total():
    parsed = parse(bundle(patient(), phq9(ref(0), 22), phq9(ref(0), 3, [1, 2])))

    totals = [(score.total, score.band, score.answers) for score in parsed.assessments]
    assert totals == [(22, "severe", ()), (3, "minimal", ())]
    assert parsed.warnings == ("entry[2].resource: item answers left out: 2 of 9 given",)


def test_phq9_total_that_does_not_match_its_items_is_refused():
    error = refused(bundle(patient(), phq9(ref(0), 27, [0] * 9)))
    assert (error.place, error.message) == (
        "entry[1].resource.valueQuantity",
        "does not match the sum of the item answers",
    )


def test_phq9_total_out_of_range_is_refused():
    error = refused(bundle(patient(), phq9(ref(0), 28)))
    assert (error.place, error.message) == (
        "entry[1].resource.valueQuantity.value",
        "must be a whole number from 0 to 27",
    )


def test_phq2_items_as_members_with_loinc_answer_codes_and_gad7_integer():
    answers = {"LA6570-1": "44250-9", "LA6571-9": "44255-8"}
    members = [
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": item}]},
            "subject": ref(0),
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": answer}]},
        }
        for answer, item in answers.items()
    ]
    phq2 = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "55758-7"}]},
        "subject": ref(0),
        "effectiveDateTime": "2026-11-02",
        "valueQuantity": {"value": 5},
        "hasMember": [ref(3), ref(4)],
    }
    gad7 = {
        "resourceType": "Observation",
        "status": "amended",
        "code": {"coding": [{"system": LOINC, "code": "70274-6"}]},
        "subject": ref(0),
        "effectiveDateTime": "2026-11-02",
        "valueInteger": 16,
    }
    parsed = parse(bundle(patient(), phq2, gad7, *members))

    phq2_read, gad7_read = parsed.assessments
    assert (phq2_read.summary, phq2_read.answers) == (
        "PHQ-2 5 positive",
        (("item1", 2), ("item2", 3)),
    )
    assert gad7_read.summary == "GAD-7 16 severe"
    assert parsed.skipped == {}  # the item observations are part of the PHQ-2


def test_a_cancelled_score_a_reading_without_a_time_and_a_bmi_are_skipped():
    heart_rate = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        "subject": ref(0),
        "valueQuantity": {"value": 72},
    }
    bmi = {**heart_rate, "code": {"coding": [{"system": LOINC, "code": "39156-5"}]}}
    parsed = parse(bundle(patient(), phq9(ref(0), 5, status="cancelled"), heart_rate, bmi))
    assert parsed.assessments == () and parsed.readings == ()
    assert parsed.skipped == {
        "Observation (not a measure nursecase reads)": 1,
        "Observation (reading without a time)": 1,
        "Observation (not final, or entered in error)": 1,
    }


# ----------------------------------------------------- encounters, care team


def encounter(subject: dict, class_code: str, start: str, end: str, **extra) -> dict:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": class_code},
        "subject": subject,
        "period": {"start": start, "end": end},
        **extra,
    }


def test_only_a_recent_inpatient_discharge_becomes_a_discharge():
    hospital = {"resourceType": "Organization", "name": "Mercy Hospital"}
    recent = encounter(
        ref(0),
        "IMP",
        "2026-11-18T08:00:00-05:00",
        "2026-11-24T12:00:00-05:00",
        serviceProvider=ref(1),
    )
    old = encounter(ref(0), "IMP", "2026-09-01", "2026-09-05")
    visit = encounter(ref(0), "AMB", "2026-11-25T09:00:00Z", "2026-11-25T09:20:00Z")
    parsed = parse(bundle(patient(), hospital, recent, old, visit))

    (discharge,) = parsed.discharges
    assert (discharge.discharged_on, discharge.length_of_stay_days, discharge.facility) == (
        date(2026, 11, 24),
        6,
        "Mercy Hospital",
    )
    # All three are encounters (issue 21); only the recent stay is linked to its discharge.
    assert parsed.skipped == {}
    assert [
        (str(item.encounter_class), item.transition_day, item.facility)
        for item in parsed.encounters
    ] == [
        ("IMP", date(2026, 11, 24), "Mercy Hospital"),
        ("IMP", None, None),
        ("AMB", None, None),
    ]


@pytest.mark.parametrize(
    ("disposition", "starts_clocks"),
    [("home", True), ("aadvice", True), ("snf", False), ("rehab", False), ("exp", False)],
)
def test_a_recent_discharge_starts_tcm_only_to_the_community(disposition, starts_clocks):
    # CMS MLN908628, as for the hospital feed's discharges (domain.encounters.starts_tcm).
    stay = encounter(
        ref(0),
        "IMP",
        "2026-11-18T08:00:00Z",
        "2026-11-24T12:00:00Z",
        hospitalization={"dischargeDisposition": {"coding": [{"code": disposition}]}},
    )
    parsed = parse(bundle(patient(), stay))
    assert bool(parsed.discharges) is starts_clocks
    assert len(parsed.encounters) == 1


def test_care_team_from_general_practitioner_role_recent_encounter_and_care_team():
    clinic = {
        "resourceType": "Organization",
        "name": "Main St Clinic",
        "telecom": [{"system": "phone", "value": "555-010-3000"}],
    }
    doctor = {"resourceType": "Practitioner", "name": [{"family": "Rao", "given": ["Priya"]}]}
    role = {
        "resourceType": "PractitionerRole",
        "practitioner": ref(2),
        "organization": ref(1),
        "code": [{"text": "Cardiologist"}],
    }
    hospitalist = {"resourceType": "Practitioner", "name": [{"text": "Dr. Lee"}]}
    daughter = {
        "resourceType": "RelatedPerson",
        "patient": ref(0),
        "name": [{"family": "Okafor", "given": ["Mia"]}],
        "telecom": [{"system": "phone", "value": "555 123 9999", "use": "mobile"}],
    }
    care_team = {
        "resourceType": "CareTeam",
        "status": "active",
        "subject": ref(0),
        "participant": [
            {"member": ref(0)},
            {"role": [{"text": "Caregiver"}], "member": ref(5)},
            {"member": ref(3)},
        ],
    }
    visit = encounter(
        ref(0),
        "EMER",
        "2026-06-01T10:00:00Z",
        "2026-06-01T14:00:00Z",
        participant=[{"individual": ref(4)}],
    )
    person = patient(generalPractitioner=[ref(1)])
    parsed = parse(bundle(person, clinic, doctor, role, hospitalist, daughter, care_team, visit))

    members = {
        (member.name, member.role, member.organisation, member.phone) for member in parsed.care_team
    }
    assert members == {
        ("Main St Clinic", "pcp", "Main St Clinic", "555-010-3000"),
        ("Priya Rao", "specialist", "Main St Clinic", "555-010-3000"),
        ("Mia Okafor", "caregiver", None, "555 123 9999"),
        ("Dr. Lee", "other", None, None),
    }


def test_role_and_category_words():
    assert care_team_role("Primary care physician") == "pcp"
    assert care_team_role("Clinical pharmacist") == "pharmacist"
    assert care_team_role(None) == "other"
    assert omaha_category("Diabetes self management education") == ("teaching-guidance-counseling")
    assert omaha_category("Referral to home health care service") == "case-management"
    assert omaha_category("Blood pressure monitoring") == "surveillance"
    assert omaha_category("Wound dressing") == "treatments-procedures"


# -------------------------------------------------------------- care plans


def test_care_plan_with_goals_addresses_and_activity_reasons():
    diabetes = condition(ref(0), code="44054006", text="Diabetes mellitus type 2")
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "achievementStatus": {"coding": [{"code": "improving"}]},
        "description": {"text": "HbA1c below 7%"},
        "subject": ref(0),
        "target": [{"dueDate": "2027-03-01"}],
        "addresses": [ref(1)],
    }
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Diabetes plan",
        "subject": ref(0),
        "period": {"start": "2026-11-01"},
        "addresses": [ref(1)],
        "goal": [ref(2)],
        "activity": [
            {
                "detail": {
                    "status": "scheduled",
                    "code": {"text": "Diabetes self management education"},
                    "reasonReference": [ref(1)],
                    "performer": [{"display": "Diabetes educator"}],
                }
            },
            {"detail": {"status": "unknown", "description": "Foot check"}},
            {"detail": {"status": "entered-in-error", "description": "Wrong"}},
            {"reference": {"reference": "ServiceRequest/1"}},
        ],
    }
    parsed = parse(bundle(patient(), diabetes, goal, plan))

    (read,) = parsed.care_plans
    assert (read.title, read.status, read.period_start, read.period_end) == (
        "Diabetes plan",
        "active",
        date(2026, 11, 1),
        None,
    )
    (problem,) = read.problems
    assert (problem.description, problem.status) == ("Diabetes mellitus type 2", "active")
    (goal_read,) = problem.goals
    assert (goal_read.description, goal_read.achievement_status, goal_read.due_date) == (
        "HbA1c below 7%",
        "improving",
        date(2027, 3, 1),
    )
    assert [
        (item.description, item.category, item.status, item.owner) for item in problem.interventions
    ] == [
        (
            "Diabetes self management education",
            "teaching-guidance-counseling",
            "scheduled",
            "Diabetes educator",
        ),
        ("Foot check", "surveillance", "not-started", "care team"),
    ]
    assert parsed.warnings == (
        "entry[3].resource.activity[3]: left out: an activity without a detail",
    )


def test_care_plan_entered_in_error_is_skipped_and_a_goal_must_resolve():
    plan = {"resourceType": "CarePlan", "status": "entered-in-error", "subject": ref(0)}
    assert parse(bundle(patient(), plan)).skipped == {"CarePlan (entered in error)": 1}
    plan = {"resourceType": "CarePlan", "status": "active", "subject": ref(0), "goal": [ref(5)]}
    assert refused(bundle(patient(), plan)).place == "entry[1].resource.goal[0]"


# ------------------------------------------------------------------ values


def test_fhir_dates_and_times():
    assert fhir_date("2019-05-04", "x") == date(2019, 5, 4)
    assert fhir_date("2019-05", "x") is None
    assert fhir_datetime("2019-05-04T04:14:01.123+02:00", "x") == datetime(
        2019, 5, 4, 4, 14, 1, 123000, tzinfo=timezone(timedelta(hours=2))
    )
    assert fhir_datetime("2019-05-04", "x") == datetime(2019, 5, 4)
    for bad in ("04/05/2019", "2019-05-04 04:14", "2019-05-04Tnoon", 20190504):
        with pytest.raises(BundleError):
            fhir_datetime(bad, "x")


def test_timing_in_words():
    def words(**repeat):
        return timing_text({"repeat": repeat}, "x")

    assert words(frequency=1, period=1, periodUnit="d") == "once a day"
    assert words(frequency=3, period=1, periodUnit="d") == "3 times a day"
    assert words(frequency=1, period=8, periodUnit="h") == "every 8 hours"
    assert words(frequency=2, period=2, periodUnit="wk") == "2 times every 2 weeks"
    assert words(period=1, periodUnit=["d"]) is None
    assert timing_text({"code": {"text": "BID"}}, "x") == "BID"


# --------------------------------------------------------------- property


def _json_values():
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    )


_BASE = bundle(
    patient(id="p1", generalPractitioner=[ref(1)]),
    {"resourceType": "Practitioner", "name": [{"text": "Dr. Who"}]},
    condition({"reference": "Patient/p1"}, onsetDateTime="2020-01-01"),
    phq9(ref(0), 12, [1, 2, 1, 2, 1, 1, 2, 1, 1]),
    encounter(ref(0), "IMP", "2026-11-20", "2026-11-22", participant=[{"individual": ref(1)}]),
    {
        "resourceType": "MedicationRequest",
        "status": "active",
        "subject": ref(0),
        "medicationCodeableConcept": {"text": "Aspirin"},
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 1}}}],
    },
    {
        "resourceType": "CarePlan",
        "status": "active",
        "subject": ref(0),
        "addresses": [ref(2)],
        "activity": [{"detail": {"status": "scheduled", "code": {"text": "Teach"}}}],
    },
    # Readings (issue 20): a weight, and a blood pressure panel of two parts.
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
        "subject": ref(0),
        "effectiveDateTime": "2026-11-20T07:30:00Z",
        "valueQuantity": {"value": 80.5, "system": "http://unitsofmeasure.org", "code": "kg"},
    },
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": ref(0),
        "effectivePeriod": {"start": "2026-11-20T07:30:00Z"},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {"value": value, "unit": "mmHg"},
            }
            for code, value in (("8480-6", 148), ("8462-4", 92))
        ],
    },
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


_ALL_PATHS = [path for path in _paths(_BASE) if path]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _json_values()), max_size=3))
def test_any_mutation_gives_records_or_a_bundle_error_never_a_crash(mutations):
    data = copy.deepcopy(_BASE)
    for path, value in mutations:
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            if isinstance(target, dict) and not isinstance(path[-1], str):
                continue  # a list index into an object an earlier mutation put there: no JSON
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        parsed = parse(data)
    except BundleError as error:
        assert error.place and error.message
    else:
        assert all(item.patient.mrn for item in parsed.conditions)
        assert all(item.patient.mrn and item.unit for item in parsed.readings)


def test_the_fhir_reader_is_pure():
    """Only the standard library and nursecase.domain: no database, no Textual."""
    probe = (
        "import json, sys; before = set(sys.modules); import nursecase.domain.fhir_bundle;"
        " print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )
    outside = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith("nursecase.domain")
        and name != "nursecase"
    ]
    assert "nursecase.domain.fhir_care" in loaded and outside == []
