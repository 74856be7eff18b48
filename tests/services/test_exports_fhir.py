"""The FHIR format of ``nursecase export`` (caseload and patient) on a seeded demo database.

- golden files of the caseload and the handover patient (frozen clock, fixed offset);
- every entry, and the whole Bundle, validate with the fhir.resources R4B models, and
  the status codes (which those models do not check) are in their FHIR value sets;
- references resolve, ids are stable, entered-in-error records stay out;
- the mappings a reader relies on (MRN, LOINC scores, referral Task, contacts);
- a round trip: the bundle imported into an empty database keeps the patients,
  conditions, medications, care team, scored assessments and care plans.

Regenerate the golden files with ``NURSECASE_UPDATE_GOLDENS=1`` when a change is meant.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.models import (
    Assessment,
    AssessmentAnswer,
    CareTeamMember,
    Condition,
    Contact,
    Medication,
    Patient,
    Referral,
    ReferralStatusHistory,
    SafetyCheck,
)
from nursecase.domain import fhir_resources
from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
    ReadingSource,
    ReferralStatus,
)
from nursecase.services import make_services
from nursecase.services.encounters import EncounterChange, record_discharge, save_encounter
from nursecase.services.exports import ExportService, check_request
from nursecase.services.exports.fhir import FhirBundleBuilder, entry_url
from nursecase.services.fhir_import import FhirImportService
from nursecase.services.readings import NewReading
from tests.conftest import FROZEN_NOW
from tests.databases import demo_seeder, private_copy

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "exports"
UPDATE = bool(os.environ.get("NURSECASE_UPDATE_GOLDENS"))
DEMO_PATIENTS = 60
DEMO_NURSE = "amoreno"
#: A fixed offset, so that the golden files do not depend on the machine's time zone.
ZONE = timezone(timedelta(hours=-5))
OFFSET = "-05:00"
LOINC = "http://loinc.org"

#: Required status bindings of R4 (the R4B models check types, not codes).
VALUE_SETS = {
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("Condition", "clinicalStatus"): {
        "active", "recurrence", "relapse", "inactive", "remission", "resolved",
    },
    ("Condition", "verificationStatus"): {
        "unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error",
    },
    ("MedicationStatement", "status"): {
        "active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown",
        "not-taken",
    },
    ("Observation", "status"): {
        "registered", "preliminary", "final", "amended", "corrected", "cancelled",
        "entered-in-error", "unknown",
    },
    ("CarePlan", "status"): {
        "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown",
    },
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("CarePlan", "activity.detail.status"): {
        "not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped",
        "unknown", "entered-in-error",
    },
    ("Goal", "lifecycleStatus"): {
        "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
        "entered-in-error", "rejected",
    },
    ("Goal", "achievementStatus"): {
        "in-progress", "improving", "worsening", "no-change", "achieved", "sustaining",
        "not-achieved", "no-progress", "not-attainable",
    },
    ("Goal", "priority"): {"high-priority", "medium-priority", "low-priority"},
    ("ServiceRequest", "status"): {
        "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown",
    },
    ("ServiceRequest", "intent"): {"proposal", "plan", "directive", "order", "option"},
    ("ServiceRequest", "priority"): {"routine", "urgent", "asap", "stat"},
    ("Task", "status"): {str(status) for status in ReferralStatus},
    ("Task", "intent"): {"unknown", "proposal", "plan", "order", "option"},
    ("Task", "priority"): {"routine", "urgent", "asap", "stat"},
    ("Communication", "status"): {
        "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
        "entered-in-error", "unknown",
    },
    ("EpisodeOfCare", "status"): {
        "planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error",
    },
    ("EpisodeOfCare", "statusHistory.status"): {
        "planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error",
    },
    ("CareTeam", "status"): {"proposed", "active", "suspended", "inactive", "entered-in-error"},
    ("Encounter", "status"): {
        "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
        "entered-in-error", "unknown",
    },
    ("Encounter", "hospitalization.dischargeDisposition"): {
        "home", "alt-home", "other-hcf", "hosp", "long", "aadvice", "exp", "psy", "rehab", "snf",
        "oth",
    },
}  # fmt: skip

REQUIRED_TYPES = {
    "Patient",
    "Practitioner",
    "Condition",
    "MedicationStatement",
    "CarePlan",
    "Goal",
    "ServiceRequest",
    "Task",
    "Observation",
    "Communication",
    "EpisodeOfCare",
    "CareTeam",
    "Encounter",
}


# ------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def fhir_demo_template(databases, migrated_template):
    """One seeded demo database per session (frozen clock), copied by each test."""
    return databases.build("fhir_demo", demo_seeder(DEMO_PATIENTS, 7), base=migrated_template)


@pytest.fixture
def demo(tmp_path, databases, fhir_demo_template, clock):
    """Services on a private copy of the demo database, signed in as the first demo nurse."""
    with private_copy(databases, fhir_demo_template, tmp_path / "data" / "demo.db") as location:
        engine = make_engine(location)
        services = make_services(engine, clock, nurse=DEMO_NURSE)
        yield services
        engine.dispose()


def export_fhir(services, tmp_path, report="caseload", zone=ZONE, **choices):
    """Export ``report`` as FHIR to a file: (plan, result, decoded bundle, raw bytes)."""
    exporter = ExportService(services.context, fhir_builder=FhirBundleBuilder(zone=zone))
    plan = exporter.prepare(check_request(report, "fhir", **choices))
    target = tmp_path / "out" / plan.file_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    result = exporter.run(plan, target)
    data = target.read_bytes()
    return plan, result, json.loads(data), data


def handover_mrn(services) -> str:
    """The patient of the handover golden: the first demo patient with an open safety flag."""
    flags = services.assessments.open_safety_flags(None)
    return services.patients.get(min(flag.patient_id for flag in flags)).mrn


def resources(bundle: dict, resource_type: str | None = None) -> list[dict]:
    return [
        entry["resource"]
        for entry in bundle.get("entry", [])
        if resource_type is None or entry["resource"]["resourceType"] == resource_type
    ]


def by_url(bundle: dict) -> dict[str, dict]:
    return {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}


def rows(services, query) -> list[tuple]:
    with services.context.read() as session:
        return [tuple(row) for row in session.execute(query)]


def walk(value, path=""):
    """Every (path, value) pair of a JSON tree, containers included."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def codes_at(resource: dict, dotted: str) -> list[str]:
    """The codes at a dotted path ("activity.detail.status"); a concept gives its codings."""
    values = [resource]
    for key in dotted.split("."):
        found = []
        for value in values:
            item = value.get(key)
            found.extend(item if isinstance(item, list) else [] if item is None else [item])
        values = found
    codes = []
    for value in values:
        if isinstance(value, dict):
            codes.extend(coding["code"] for coding in value.get("coding", []))
        else:
            codes.append(value)
    return codes


def check_golden(name: str, data: bytes) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(data)
    assert golden.exists(), f"no golden file {golden}; run with NURSECASE_UPDATE_GOLDENS=1"
    assert data == golden.read_bytes(), f"{name} differs from its golden file"


# --------------------------------------------------------------- golden files


@pytest.mark.parametrize("report", ["caseload", "patient"])
def test_the_bundles_match_their_golden_files(demo, tmp_path, report):
    choices = {"patient_mrn": handover_mrn(demo)} if report == "patient" else {}
    _, result, bundle, data = export_fhir(demo, tmp_path, report, **choices)
    assert result.patients == len(resources(bundle, "Patient")) > 0
    # One row per patient: the progress bar and the audit count patients.
    assert result.rows == result.patients
    check_golden(f"{report}.fhir.json", data)


def test_the_same_database_gives_the_same_bytes(demo, tmp_path):
    first = export_fhir(demo, tmp_path / "one", all_nurses=True)[3]
    second = export_fhir(demo, tmp_path / "two", all_nurses=True)[3]
    assert first == second


# ----------------------------------------------------------------- validation


UCUM = "http://unitsofmeasure.org"
READINGS_AT = datetime(2026, 11, 20, 8, 0)


def add_readings(services) -> str:
    """A patient with readings of every kind the export meets: a weight in pounds, a blood
    pressure pair and a systolic without its pair, a lab under its second LOINC code, units
    not spelt in UCUM. Returns the patient's fullUrl."""
    patient_id = services.patients.create("FX-R", "Reading", "Rae").id
    at = READINGS_AT
    readings = [
        NewReading(patient_id, "29463-7", 181.5, "lb", at),
        NewReading(patient_id, "8480-6", 148, "mmHg", at),
        NewReading(patient_id, "8462-4", 92, "mm[Hg]", at),
        NewReading(patient_id, "8480-6", 152, "mm[Hg]", at + timedelta(hours=4)),
        NewReading(patient_id, "62238-1", 48, "mL/min/{1.73_m2}", at),
        NewReading(patient_id, "2339-0", 6.1, "mmol/L", at),
        NewReading(patient_id, "8867-4", 72, "bpm", at),
    ]
    with services.context.write() as session:
        services.readings.store(session, readings, ReadingSource.device)
    return entry_url("patient", patient_id)


def add_encounters(services) -> str:
    """A patient with a discharge to skilled nursing from the feed (diagnoses coded in
    HL7 v2's "I10" and in words), a cancelled visit and one entered in error. Returns
    the patient's fullUrl."""
    patient_id = services.patients.create("FX-E", "Encounter", "Ed").id
    stay = EncounterChange(
        EncounterClass.inpatient,
        EncounterSource.adt,
        "V7^MGH",
        datetime(2026, 11, 3, 8, 0),
        facility="Mercy General",
        discharged_at=datetime(2026, 11, 6, 14, 0),
        disposition=DischargeDisposition.skilled_nursing,
        diagnoses=(("Heart failure, unspecified", "I50.9", "I10"), ("Falls", None, None)),
    )
    with services.context.write() as session:
        patient = session.get(Patient, patient_id)
        record_discharge(session, services.context, patient, stay)
        for key, status in (("V8", EncounterStatus.cancelled), ("V9", "entered-in-error")):
            change = EncounterChange(
                EncounterClass.observation, EncounterSource.adt, key, datetime(2026, 11, 20, 9)
            )
            save_encounter(session, services.context, patient, change, EncounterStatus(status))
    return entry_url("patient", patient_id)


def test_every_entry_and_the_whole_bundle_validate_as_r4(demo, tmp_path):
    subject = add_readings(demo)
    stayed = add_encounters(demo)
    _, _, bundle, data = export_fhir(demo, tmp_path, all_nurses=True)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert bundle["timestamp"] == f"2026-11-27T09:00:00{OFFSET}"
    for index, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        parsed = model.model_validate(resource)
        assert parsed.get_resource_type() == resource["resourceType"], index
        for contained in resource.get("contained", []):
            get_fhir_model_class(contained["resourceType"]).model_validate(contained)
    parsed_bundle = Bundle.model_validate_json(data)
    assert parsed_bundle.type == "collection"
    assert len(parsed_bundle.entry) == len(bundle["entry"])
    exported_types = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert exported_types >= REQUIRED_TYPES
    categories = Counter(
        item["category"][0]["coding"][0]["code"]
        for item in resources(bundle, "Observation")
        if item["subject"]["reference"] == subject
    )
    assert categories == {"vital-signs": 4, "laboratory": 2}
    # The stay, and the cancelled visit; the one entered in error stays out.
    stay, cancelled = [
        item for item in resources(bundle, "Encounter") if item["subject"]["reference"] == stayed
    ]
    assert cancelled["status"] == "cancelled" and "hospitalization" not in cancelled
    del stay["id"], stay["subject"]
    assert stay == {
        "resourceType": "Encounter",
        "identifier": [
            {"system": "https://nursecase.invalid/fhir/identifier/encounter-adt", "value": "V7^MGH"}
        ],
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "period": {"start": f"2026-11-03T08:00:00{OFFSET}", "end": f"2026-11-06T14:00:00{OFFSET}"},
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/sid/icd-10",
                        "code": "I50.9",
                        "display": "Heart failure, unspecified",
                    }
                ],
                "text": "Heart failure, unspecified",
            },
            {"text": "Falls"},
        ],
        "hospitalization": {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                        "code": "snf",
                        "display": "Skilled nursing facility",
                    }
                ]
            }
        },
        "serviceProvider": {"display": "Mercy General"},
    }


def test_readings_are_vital_sign_and_lab_observations_in_loinc_and_ucum(demo, tmp_path):
    add_readings(demo)
    _, _, bundle, data = export_fhir(demo, tmp_path, "patient", patient_mrn="FX-R")
    Bundle.model_validate_json(data)
    readings = [
        item
        for item in resources(bundle, "Observation")
        if item["category"][0]["coding"][0]["code"] in ("vital-signs", "laboratory")
    ]
    for item in readings:
        get_fhir_model_class("Observation").model_validate(item)
    moment = f"{READINGS_AT.isoformat()}{OFFSET}"
    assert {item["effectiveDateTime"] for item in readings} == {
        moment,
        f"{(READINGS_AT + timedelta(hours=4)).isoformat()}{OFFSET}",
    }

    def quantity(value, unit, code):
        return {"value": value, "unit": unit, "system": UCUM, "code": code}

    by_code = {item["code"]["coding"][0]["code"]: item for item in readings}
    assert sorted(by_code) == ["2339-0", "29463-7", "62238-1", "8480-6", "85354-9", "8867-4"]
    weight = by_code["29463-7"]
    assert weight["category"] == [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                    "display": "Vital Signs",
                }
            ]
        }
    ]
    assert weight["code"] == {
        "coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}],
        "text": "Weight",
    }
    assert weight["valueQuantity"] == quantity(181.5, "lb", "[lb_av]")
    assert weight["status"] == "final" and weight["subject"]["reference"].startswith("urn:uuid:")
    # The pair of one moment is one panel; the later systolic has no pair and stands alone.
    panel = by_code["85354-9"]
    assert "valueQuantity" not in panel and panel["effectiveDateTime"] == moment
    assert [
        (part["code"]["coding"][0]["code"], part["valueQuantity"]) for part in panel["component"]
    ] == [
        ("8480-6", quantity(148, "mmHg", "mm[Hg]")),
        ("8462-4", quantity(92, "mm[Hg]", "mm[Hg]")),
    ]
    assert by_code["8480-6"]["valueQuantity"] == quantity(152, "mm[Hg]", "mm[Hg]")
    assert by_code["8867-4"]["valueQuantity"] == quantity(72, "bpm", "/min")
    # Labs: the category, and a second LOINC code of a measure displayed by its name.
    egfr = by_code["62238-1"]
    assert egfr["category"][0]["coding"][0]["code"] == "laboratory"
    assert egfr["code"]["coding"][0]["display"] == "eGFR"
    assert by_code["2339-0"]["valueQuantity"] == quantity(6.1, "mmol/L", "mmol/L")


def test_status_codes_are_in_their_fhir_value_sets(demo, tmp_path):
    add_encounters(demo)
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    checked = Counter()
    for resource in resources(bundle):
        for (resource_type, path), allowed in VALUE_SETS.items():
            if resource["resourceType"] != resource_type:
                continue
            for code in codes_at(resource, path):
                assert code in allowed, (resource_type, path, code)
                checked[resource_type, path] += 1
    # Every binding was seen at least once, so none of the checks above is empty.
    assert set(checked) == set(VALUE_SETS)


def test_json_follows_fhir_rules_no_nulls_empty_arrays_or_blank_strings(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    for path, value in walk(bundle):
        assert value is not None, path
        assert value not in ([], {}), path
        if isinstance(value, str):
            assert value.strip() == value and value, path


def test_every_time_of_day_carries_an_offset(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    times = [
        value
        for path, value in walk(bundle)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value)
    ]
    assert times
    assert all(value.endswith(OFFSET) for value in times)


def test_references_resolve_and_full_urls_carry_the_ids(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    known = set(urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        local = {item["id"] for item in resource.get("contained", [])}
        for path, value in walk(resource):
            if path.endswith(".reference") or path == "reference":
                if value.startswith("#"):
                    assert value[1:] in local, (resource["resourceType"], path)
                else:
                    assert value in known, (resource["resourceType"], path)


def test_an_empty_scope_is_a_bundle_without_entries(demo, tmp_path):
    demo.nurses.create("newbie", "New Nurse", "RN")
    plan, result, bundle, data = export_fhir(demo, tmp_path, nurse_username="newbie")
    assert "entry" not in bundle and result.patients == 0
    Bundle.model_validate_json(data)


# ------------------------------------------------------------------- mappings


def test_the_patient_has_the_mr_identifier_and_demographics(demo, tmp_path):
    mrn = handover_mrn(demo)
    bundle = export_fhir(demo, tmp_path, "patient", patient_mrn=mrn)[2]
    stored = demo.patients.get_by_mrn(mrn)
    (patient,) = resources(bundle, "Patient")
    (identifier,) = patient["identifier"]
    assert identifier["value"] == mrn
    assert identifier["type"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
            "code": "MR",
            "display": "Medical record number",
        }
    ]
    assert patient["name"] == [
        {"use": "official", "family": stored.family_name, "given": [stored.given_name]}
    ]
    assert patient["birthDate"] == stored.birth_date.isoformat()
    assert patient["gender"] == stored.sex
    assert patient["telecom"] == [{"system": "phone", "value": stored.phone}]
    assert patient["address"] == [{"use": "home", "text": stored.address}]
    assert patient["generalPractitioner"]
    (episode,) = resources(bundle, "EpisodeOfCare")
    assert episode["patient"]["reference"] == entry_url("patient", stored.id)
    assert episode["status"] == stored.episode_status
    manager = episode["careManager"]
    assert manager["reference"] == entry_url("nurse", stored.nurse_id)
    assert manager["display"] == stored.nurse_display_name
    assert manager["reference"] in by_url(bundle)


def test_conditions_are_coded_in_icd10cm_with_their_clinical_status(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    stored = {
        entry_url("condition", row[0]): row
        for row in rows(
            demo,
            select(Condition.id, Condition.code, Condition.clinical_status, Condition.onset_date),
        )
    }
    exported = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    conditions = [url for url, item in exported.items() if item["resourceType"] == "Condition"]
    assert sorted(conditions) == sorted(stored)
    for url in conditions:
        _, code, status, onset = stored[url]
        condition = exported[url]
        assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
        assert condition["code"]["coding"][0]["code"] == code
        assert condition["clinicalStatus"]["coding"] == [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}
        ]
        assert condition["onsetDateTime"] == onset.isoformat()


def test_scored_assessments_are_observations_with_loinc_totals_and_items(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    observations = {
        url: item for url, item in by_url(bundle).items() if item["resourceType"] == "Observation"
    }
    stored = rows(
        demo,
        select(
            Assessment.id,
            Assessment.instrument,
            Assessment.total,
            Assessment.band,
            Assessment.performed_at,
        ),
    )
    answers: dict[int, dict[str, int]] = {}
    for assessment_id, item_code, value in rows(
        demo,
        select(AssessmentAnswer.assessment_id, AssessmentAnswer.item_code, AssessmentAnswer.value),
    ):
        answers.setdefault(assessment_id, {})[item_code] = value
    # The safety checks' Observations (C-SSRS risk level) are checked below.
    safety_urls = {
        entry_url("safety_check", check_id) for (check_id,) in rows(demo, select(SafetyCheck.id))
    }
    assert safety_urls and safety_urls <= set(observations)
    scores = {
        url
        for url, item in observations.items()
        if item["category"][0]["coding"][0]["code"] == "survey"
    }
    assert len(scores) - len(safety_urls) == len(stored)
    seen = Counter()
    for assessment_id, instrument, total, band, performed_at in stored:
        observation = observations[entry_url("assessment", assessment_id)]
        assert observation["valueInteger"] == total
        assert observation["interpretation"] == [{"text": band}]
        assert observation["effectiveDateTime"] == f"{performed_at.isoformat()}{OFFSET}"
        loinc = fhir_resources.LOINC_INSTRUMENTS.get(instrument)
        components = observation.get("component", [])
        assert sorted(part["valueInteger"] for part in components) == sorted(
            answers.get(assessment_id, {}).values()
        )
        if loinc is None:
            assert "coding" not in observation["code"]
            continue
        seen[instrument] += 1
        assert observation["code"]["coding"] == [{"system": LOINC, "code": loinc[0]}]
        item_codes = fhir_resources.LOINC_ITEMS[instrument]
        expected = {item_codes[code]: value for code, value in answers[assessment_id].items()}
        assert {
            part["code"]["coding"][0]["code"]: part["valueInteger"] for part in components
        } == expected
        assert all(part["code"]["coding"][0]["system"] == LOINC for part in components)
    assert {"phq-9", "phq-2", "gad-7"} <= set(seen)


def test_safety_checks_are_observations_with_the_c_ssrs_loinc_codes(demo, tmp_path):
    """Issue 16: items 93246-7 ... 93269-9 (skipped ones left out) and risk level 93374-7."""
    patient = demo.patients.create("FX-1", "Export", "Sam")
    high = demo.safety_checks.record(
        patient.id,
        {
            "wish_dead": True,
            "suicidal_thoughts": True,
            "method": True,
            "intent": False,
            "plan": True,
            "behaviour": True,
            "behaviour_past_3_months": False,
        },
        "emergency-services",
        note="Daughter drove her to the ED",
    ).check
    _, _, bundle, data = export_fhir(demo, tmp_path, "patient", patient_mrn="FX-1")
    [observation] = [
        item for url, item in by_url(bundle).items() if url == entry_url("safety_check", high.id)
    ]
    get_fhir_model_class("Observation").model_validate(observation)
    Bundle.model_validate_json(data)
    assert observation["code"]["coding"] == [
        {"system": LOINC, "code": "93374-7", "display": "Suicide risk level"}
    ]
    assert observation["valueCodeableConcept"]["coding"] == [
        {"system": LOINC, "code": "LA9193-9", "display": "High"}
    ]
    answers = {
        part["code"]["coding"][0]["code"]: part["valueCodeableConcept"]["coding"][0]["code"]
        for part in observation["component"]
    }
    assert answers == {
        "93246-7": "LA33-6",
        "93247-5": "LA33-6",
        "93248-3": "LA33-6",
        "93249-1": "LA32-8",
        "93250-9": "LA33-6",
        "93267-3": "LA33-6",
        "93269-9": "LA32-8",
    }
    assert observation["note"] == [
        {"text": "Disposition: Emergency services or ED"},
        {"text": "Daughter drove her to the ED"},
    ]
    assert observation["effectiveDateTime"] == f"2026-11-27T09:00:00{OFFSET}"

    # The demo's checks: 2 no skips 3-5, 6 no skips the 3-month question; low or none.
    caseload = export_fhir(demo, tmp_path / "all", all_nurses=True)[2]
    observations = by_url(caseload)
    stored = rows(
        demo, select(SafetyCheck.id, SafetyCheck.risk).where(SafetyCheck.patient_id != patient.id)
    )
    assert stored
    for check_id, risk in stored:
        observation = observations[entry_url("safety_check", check_id)]
        codes = [part["code"]["coding"][0]["code"] for part in observation["component"]]
        assert codes == ["93246-7", "93247-5", "93267-3"]
        value = observation["valueCodeableConcept"]
        if risk == "low":
            assert value["coding"][0]["code"] == "LA9194-7"
        else:
            assert value == {"text": "No risk identified"}


def test_loinc_codes_are_the_ones_the_issue_names():
    assert fhir_resources.LOINC_INSTRUMENTS["phq-9"][0] == "44261-6"
    assert fhir_resources.LOINC_INSTRUMENTS["phq-2"][0] == "55758-7"
    assert fhir_resources.LOINC_INSTRUMENTS["gad-7"][0] == "70274-6"


def test_every_referral_status_maps_to_a_service_request_status():
    allowed = VALUE_SETS["ServiceRequest", "status"]
    for status in ReferralStatus:
        assert fhir_resources.service_request_status(str(status)) in allowed - {"unknown"}
    assert fhir_resources.service_request_status("requested") == "active"
    assert fhir_resources.service_request_status("in-progress") == "active"
    assert fhir_resources.service_request_status("completed") == "completed"
    assert fhir_resources.service_request_status("rejected") == "revoked"
    assert fhir_resources.service_request_status("on-hold") == "on-hold"


def test_each_referral_is_a_service_request_with_the_task_that_tracks_it(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    exported = by_url(bundle)
    tasks = [item for item in exported.values() if item["resourceType"] == "Task"]
    stored = rows(
        demo,
        select(Referral.id, Referral.status, Referral.priority, Referral.outcome).where(
            Referral.status != "entered-in-error"
        ),
    )
    reasons = {}
    for referral_id, to_status, reason in rows(
        demo,
        select(
            ReferralStatusHistory.referral_id,
            ReferralStatusHistory.to_status,
            ReferralStatusHistory.reason,
        ).order_by(ReferralStatusHistory.changed_at, ReferralStatusHistory.id),
    ):
        reasons[referral_id] = (to_status, reason)
    assert len(tasks) == len(stored)
    statuses = set()
    for referral_id, status, priority, outcome in stored:
        request_url = entry_url("referral", referral_id)
        request = exported[request_url]
        task = next(item for item in tasks if item["focus"]["reference"] == request_url)
        statuses.add(status)
        assert task["status"] == status
        assert request["status"] == fhir_resources.service_request_status(status)
        assert task["priority"] == request["priority"] == priority
        assert task["for"] == request["subject"]
        assert request["category"][0]["coding"][0]["code"] == "3457005"
        if outcome:
            assert task["output"] == [{"type": {"text": "Outcome"}, "valueString": outcome}]
        last_status, reason = reasons[referral_id]
        if last_status == status and reason:
            assert task["statusReason"] == {"text": reason}
        else:
            assert "statusReason" not in task
    # The demo carries a referral in every status: all of them were checked.
    assert statuses >= {"requested", "rejected", "completed", "cancelled", "in-progress"}


def test_contacts_are_communications_sent_by_their_nurse(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    exported = by_url(bundle)
    stored = rows(demo, select(Contact.id, Contact.outcome, Contact.mode, Contact.occurred_at))
    communications = [item for item in exported.values() if item["resourceType"] == "Communication"]
    assert len(communications) == len(stored)
    outcomes = set()
    for contact_id, outcome, mode, occurred_at in stored:
        communication = exported[entry_url("contact", contact_id)]
        outcomes.add(outcome)
        done = outcome not in ("no-answer", "wrong-number")
        assert communication["status"] == ("completed" if done else "not-done")
        assert ("statusReason" in communication) is not done
        assert (
            communication["medium"][0]["coding"][0]["code"]
            == (fhir_resources.CONTACT_MEDIA[mode][0])
        )
        assert communication["sent"] == f"{occurred_at.isoformat()}{OFFSET}"
        sender = exported[communication["sender"]["reference"]]
        assert sender["resourceType"] == "Practitioner"
    assert {"reached", "no-answer"} <= outcomes


def test_care_plans_contain_their_problems_and_reference_goals(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    exported = by_url(bundle)
    plans = [item for item in exported.values() if item["resourceType"] == "CarePlan"]
    assert plans
    for plan in plans:
        assert plan["intent"] == "plan" and plan["title"]
        problems = {item["id"]: item for item in plan["contained"]}
        assert [item["reference"][1:] for item in plan["addresses"]] == list(problems)
        for problem in problems.values():
            assert problem["category"][0]["coding"][0]["code"] == "health-concern"
            assert problem["subject"] == plan["subject"]
        for goal in plan.get("goal", []):
            resource = exported[goal["reference"]]
            assert resource["resourceType"] == "Goal"
            assert resource["addresses"][0]["display"] in {
                item["code"]["text"] for item in problems.values()
            }
        for activity in plan.get("activity", []):
            detail = activity["detail"]
            assert detail["code"]["text"]
            assert detail["description"].startswith("Omaha System intervention category: ")
            assert detail["reasonReference"][0]["reference"][1:] in problems


def test_entered_in_error_goals_are_left_out(demo, tmp_path):
    plan = next(
        plan
        for patient_id in range(1, DEMO_PATIENTS + 1)
        for plan in demo.care_plans.for_patient(patient_id)
        if plan.status == "active" and any(problem.goals for problem in plan.problems)
    )
    goal = next(goal for problem in plan.problems for goal in problem.goals)
    demo.care_plans.remove_item("goal", goal.id, plan.version)
    bundle = export_fhir(demo, tmp_path, all_nurses=True)[2]
    assert entry_url("goal", goal.id) not in by_url(bundle)
    lifecycle = {item["lifecycleStatus"] for item in resources(bundle, "Goal")}
    assert "entered-in-error" not in lifecycle


def test_the_patient_bundle_keeps_its_contacts_to_the_period(demo, tmp_path):
    mrn = handover_mrn(demo)
    patient_id = demo.patients.get_by_mrn(mrn).id
    every = rows(demo, select(Contact.occurred_at).where(Contact.patient_id == patient_id))
    start, end = date(2026, 11, 1), date(2026, 11, 27)
    inside = [moment for (moment,) in every if start <= moment.date() <= end]
    assert 0 < len(inside) < len(every)
    bundle = export_fhir(
        demo,
        tmp_path,
        "patient",
        patient_mrn=mrn,
        date_from=start.isoformat(),
        date_to=end.isoformat(),
    )[2]
    sent = sorted(item["sent"] for item in resources(bundle, "Communication"))
    assert sent == sorted(f"{moment.isoformat()}{OFFSET}" for moment in inside)
    # Only the contact log has a period: the clinical record is whole.
    assert resources(bundle, "Condition") and resources(bundle, "MedicationStatement")


# ----------------------------------------------------------------- round trip


def patient_keys(services) -> set[tuple]:
    return set(
        rows(
            services,
            select(
                Patient.mrn,
                Patient.family_name,
                Patient.given_name,
                Patient.birth_date,
                Patient.sex,
                Patient.phone,
                Patient.address,
                Patient.preferred_language,
            ),
        )
    )


def condition_keys(services) -> Counter:
    return Counter(
        rows(
            services,
            select(
                Patient.mrn,
                Condition.description,
                Condition.code,
                Condition.code_system,
                Condition.clinical_status,
                Condition.onset_date,
            ).join(Patient, Patient.id == Condition.patient_id),
        )
    )


def medication_keys(services) -> Counter:
    """Medications; the dose only when it is one plain amount (see ``dose_quantity``)."""
    return Counter(
        (mrn, name, dose if fhir_resources.dose_quantity(dose) else None, route, frequency, status)
        for mrn, name, dose, route, frequency, status in rows(
            services,
            select(
                Patient.mrn,
                Medication.name,
                Medication.dose,
                Medication.route,
                Medication.frequency,
                Medication.status,
            ).join(Patient, Patient.id == Medication.patient_id),
        )
    )


def care_team_keys(services) -> Counter:
    return Counter(
        rows(
            services,
            select(
                Patient.mrn,
                CareTeamMember.name,
                CareTeamMember.role,
                CareTeamMember.organisation,
                CareTeamMember.phone,
            ).join(Patient, Patient.id == CareTeamMember.patient_id),
        )
    )


def scored_assessment_keys(services) -> Counter:
    answers: dict[int, list] = {}
    for assessment_id, item_code, value in rows(
        services,
        select(AssessmentAnswer.assessment_id, AssessmentAnswer.item_code, AssessmentAnswer.value),
    ):
        answers.setdefault(assessment_id, []).append((item_code, value))
    return Counter(
        (mrn, instrument, total, band, performed_at, tuple(sorted(answers.get(key, []))))
        for key, mrn, instrument, total, band, performed_at in rows(
            services,
            select(
                Assessment.id,
                Patient.mrn,
                Assessment.instrument,
                Assessment.total,
                Assessment.band,
                Assessment.performed_at,
            )
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Assessment.instrument.in_(tuple(fhir_resources.LOINC_INSTRUMENTS))),
        )
    )


def care_plan_keys(services) -> set[tuple]:
    """Each plan with its problems and their interventions, and the plan's goals.

    Goals are compared per plan: the importer puts a goal whose problem is named by
    display text only under the plan's first problem (see the module's notes).
    """
    plans = set()
    for patient_id, mrn in rows(services, select(Patient.id, Patient.mrn)):
        for plan in services.care_plans.for_patient(patient_id):
            if plan.status == "entered-in-error":
                continue
            live = [problem for problem in plan.problems if problem.status != "entered-in-error"]
            problems = tuple(
                sorted(
                    (
                        problem.description,
                        problem.status,
                        tuple(
                            sorted(
                                (item.description, item.status, item.owner)
                                for item in problem.interventions
                                if item.status != "entered-in-error"
                            )
                        ),
                    )
                    for problem in live
                )
            )
            goals = tuple(
                sorted(
                    (
                        goal.description,
                        goal.lifecycle_status,
                        goal.achievement_status,
                        goal.due_date,
                    )
                    for problem in live
                    for goal in problem.goals
                    if goal.lifecycle_status != "entered-in-error"
                )
            )
            plans.add(
                (mrn, plan.title, plan.status, plan.period_start, plan.period_end, problems, goals)
            )
    return plans


def test_a_round_trip_through_an_empty_database_keeps_the_records(
    demo, tmp_path, databases, migrated_template, clock
):
    # The workstation's own zone: the importer reads times back into local wall time.
    plan, result, bundle, _ = export_fhir(demo, tmp_path, zone=None, all_nurses=True)
    empty = make_engine(databases.copy(migrated_template, tmp_path / "empty" / "empty.db"))
    try:
        target = make_services(empty, FrozenClock(FROZEN_NOW))
        target.nurses.create("bob", "Bob Reyes", "RN")
        target.nurses.sign_in("bob")
        imported = FhirImportService(target.context).import_file(
            tmp_path / "out" / plan.file_name()
        )
        assert imported.warnings == ()
        assert imported.tallies["patients"].created == result.patients == DEMO_PATIENTS
        assert patient_keys(target) == patient_keys(demo)
        assert condition_keys(target) == condition_keys(demo)
        assert medication_keys(target) == medication_keys(demo)
        assert care_team_keys(target) == care_team_keys(demo)
        assert scored_assessment_keys(target) == scored_assessment_keys(demo)
        assert care_plan_keys(target) == care_plan_keys(demo)
        assert len(care_plan_keys(demo)) == len(resources(bundle, "CarePlan")) > 0
        # A second import of the same bundle changes nothing.
        again = FhirImportService(target.context).import_file(tmp_path / "out" / plan.file_name())
        assert not again.changed
    finally:
        empty.dispose()


def test_the_cli_writes_the_bundle_for_caseload_and_patient(
    demo, tmp_path, capsysbinary, monkeypatch
):
    """``nursecase export ... --format fhir`` uses this builder (here to stdout)."""
    from nursecase.cli import main

    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    database = demo.context.engine.url.render_as_string(hide_password=False)
    mrn = handover_mrn(demo)
    for arguments in (
        ["export", "caseload", "--format", "fhir", "--out", "-"],
        ["export", "patient", "--patient", mrn, "--format", "fhir", "--out", "-"],
    ):
        try:
            main(["--db", database, "--nurse", DEMO_NURSE, *arguments])
            code = 0
        except SystemExit as exit_request:
            code = exit_request.code or 0
        captured = capsysbinary.readouterr()
        assert code == 0, captured.err
        bundle = json.loads(captured.out)
        assert bundle["type"] == "collection"
        patients = resources(bundle, "Patient")
        assert patients
        if "patient" in arguments:
            assert [item["identifier"][0]["value"] for item in patients] == [mrn]
        Bundle.model_validate(bundle)
        assert b"Exported" in captured.err


def test_a_moment_without_a_zone_gets_the_local_offset(demo, tmp_path):
    bundle = export_fhir(demo, tmp_path, zone=None, all_nurses=True)[2]
    local = datetime(2026, 11, 27, 9, 0).astimezone().isoformat(timespec="seconds")
    assert bundle["timestamp"] == local


def test_entry_urls_are_uuid5_of_table_and_id():
    import uuid

    from nursecase.services.exports.fhir import NAMESPACE

    for kind, row_id in (("patient", 1), ("nurse", 834), ("referral/task", 67052)):
        assert entry_url(kind, row_id) == f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{row_id}')}"
    assert entry_url("patient", 1) != entry_url("patient", 2) != entry_url("nurse", 2)


def test_the_builder_refuses_a_report_with_no_fhir_form(demo):
    from nursecase.services.exports import ExportUnavailableError
    from nursecase.services.exports.common import ExportScope

    scope = ExportScope(today=FROZEN_NOW.date(), now=FROZEN_NOW, nurse_id=None, nurse_label="all")
    with (
        demo.context.read() as session,
        pytest.raises(ExportUnavailableError, match="^the worklist report has no fhir format$"),
    ):
        FhirBundleBuilder()(session, scope, "worklist")
