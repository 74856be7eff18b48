"""FhirImportService against a real migrated file database and a frozen clock.

The Synthea bundles are imported from tests/fhir_samples/synthea (a copy of real ones);
the malformed ones are the hand-made files of tests/fhir_samples/.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nursecase.db.models import ALL_TABLES, AuditEvent, Patient, Reading, Task
from nursecase.domain.validation import ValidationError
from nursecase.services.fhir_import import FhirImportError, FhirImportService, wall_clock
from tests.fhir_samples import SAMPLES, synthea_bundle, synthea_bundles

MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
LOINC = "http://loinc.org"
PHQ9_ITEM_CODES = [
    "44250-9",
    "44255-8",
    "44259-0",
    "44254-1",
    "44251-7",
    "44258-2",
    "44252-5",
    "44253-3",
    "44260-8",
]


def synthea(name: str) -> Path:
    return synthea_bundle(name)


@pytest.fixture
def importer(services) -> FhirImportService:
    return FhirImportService(services.context)


@pytest.fixture
def anonymous_importer(engine, clock) -> FhirImportService:
    """An importer with nobody signed in (as `nursecase import fhir` without --nurse)."""
    from nursecase.services import make_services

    return FhirImportService(make_services(engine, clock).context)


def row_counts(context) -> dict[str, int]:
    with context.read() as session:
        return {
            table.__tablename__: session.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in ALL_TABLES
        }


def bundle(*resources: dict, kind: str = "transaction") -> dict:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{index:012d}", "resource": resource}
            for index, resource in enumerate(resources)
        ],
    }


def ref(index: int) -> dict:
    return {"reference": f"urn:uuid:00000000-0000-4000-8000-{index:012d}"}


def patient(mrn: str = "M-1") -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"type": MR_TYPE, "system": "http://hospital.example.org", "value": mrn}],
        "name": [{"family": "Okafor", "given": ["Grace"]}],
        "birthDate": "1950-04-02",
    }


def condition(subject: dict, status: str = "active") -> dict:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "84114007"}],
            "text": "HF",
        },
        "subject": subject,
        "onsetDateTime": "2024-03-01",
    }


# ----------------------------------------------------------------- Synthea


#: The encounters of each Synthea bundle by class, counted in its JSON (all finished).
SYNTHEA_ENCOUNTERS = {
    "Hoeger": {"AMB": 6},
    "Kreiger": {"AMB": 3},
    "Conn": {"AMB": 6, "IMP": 1},
    "McLaughlin": {"AMB": 7, "EMER": 1},
}
#: Stephen McLaughlin's emergency visit.
EMERGENCY_START = "2021-02-16T04:14:01+00:00"


def test_each_synthea_bundle_lands_in_an_empty_database(services, importer):
    encounters = {}
    for path in synthea_bundles():
        result = importer.import_file(path)
        assert result.source == str(path) and result.bundle_type == "transaction"
        assert result.tallies["patients"].created == 1
        assert not any(name.startswith("Encounter") for name in result.skipped)
        person = services.patients.get_by_mrn(path.stem.split("_")[2])
        stored = services.encounters.list_for_patient(person.id)
        encounters[path.name.split("_")[1]] = dict(
            Counter(str(item.encounter_class) for item in stored)
        )
        assert result.tallies["encounters"].created == len(stored)
        assert {(item.status, item.source, item.transition_id) for item in stored} == {
            ("finished", "fhir", None)
        }
    assert encounters == SYNTHEA_ENCOUNTERS

    stephen = services.patients.get_by_mrn("7735AB796AC84B819936F7DDABD18751")
    assert (stephen.family_name, stephen.given_name, stephen.birth_date, stephen.sex) == (
        "McLaughlin",
        "Stephen",
        date(1979, 4, 28),
        "male",
    )
    assert (stephen.phone, stephen.preferred_language) == ("555-339-6961", "English")
    # On the signed-in nurse's caseload, in an active episode, due by the
    # (moderate) cadence; no score came with him: not assessed, never moderate.
    assert (stephen.nurse_username, stephen.episode_status, stephen.risk_tier) == (
        "alice",
        "active",
        "not-assessed",
    )
    assert stephen.next_contact_due == date(2026, 12, 11)
    conditions = services.conditions.list_for_patient(stephen.id)
    assert [(item.code, item.code_system, item.clinical_status) for item in conditions] == [
        ("38341003", "snomed", "active"),
        ("44465007", "snomed", "resolved"),
        ("444814009", "snomed", "resolved"),
    ]
    assert conditions[0].description == "Hypertension"
    assert conditions[0].onset_date == date(1997, 7, 5)
    medications = services.medications.list_for_patient(stephen.id)
    assert [(item.name, item.status) for item in medications] == [
        ("Fexofenadine hydrochloride 60 MG Oral Tablet", "active"),
        ("Hydrochlorothiazide 25 MG", "active"),
        ("Hydrocortisone 10 MG/ML Topical Cream", "active"),
        ("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", "active"),
        ("Acetaminophen 325 MG Oral Tablet", "stopped"),
    ]
    (doctor,) = services.care_team.list_for_patient(stephen.id)
    assert (doctor.name, doctor.role, doctor.organisation, doctor.phone) == (
        "Dr. Giovanni Greenfelder",
        "pcp",
        "MARLBOROUGH HOSPITAL",
        "5084815000",
    )
    plans = sorted(services.care_plans.for_patient(stephen.id), key=lambda plan: plan.title)
    assert [(plan.title, plan.status, plan.intent, plan.version) for plan in plans] == [
        ("Physical therapy procedure", "completed", "plan", 1),
        ("Self care", "active", "plan", 1),
    ]
    (sprain,) = plans[0].problems
    assert (sprain.description, sprain.status) == ("Sprain of ankle", "resolved")
    assert [(item.description, item.status) for item in sprain.interventions] == [
        ("Rest, ice, compression and elevation treatment programme", "completed"),
        ("Stretching exercises", "completed"),
    ]
    history = services.care_plans.history(plans[1].id)
    assert history[-1].headline == "added plan 'Self care (imported from FHIR)'"
    (emergency,) = [
        item
        for item in services.encounters.list_for_patient(stephen.id)
        if item.encounter_class == "EMER"
    ]
    assert (emergency.facility, emergency.admitted_at) == (
        "MARLBOROUGH HOSPITAL",
        wall_clock(datetime.fromisoformat(EMERGENCY_START)),
    )
    # Hospital encounters are not contacts: no CCM minutes, no last-contact date.
    assert services.contacts.list_for_patient(stephen.id) == []
    assert stephen.last_contact_at is None


def test_every_row_is_audited_in_the_import(services, importer):
    before = services.audit.count()
    importer.import_file(synthea("Liz_Conn"))

    events = services.audit.list_events(limit=1000)[: services.audit.count() - before]
    by_entity: dict[str, int] = {}
    for event in events:
        assert (event.action, event.nurse_username) == ("create", "alice")
        by_entity[event.entity] = by_entity.get(event.entity, 0) + 1
    assert by_entity == {
        "patient": 1,
        "episode": 1,
        "condition": 1,
        "medication": 1,
        "care_team_member": 1,
        "care_plan": 1,
        "problem": 1,
        "intervention": 2,
        # Her 6 ambulatory visits and 1 inpatient stay (issue 21).
        "encounter": 7,
        # The readings: one event for the patient's 13, not one per reading.
        "patient-readings": 1,
    }
    patient_event = next(event for event in events if event.entity == "patient")
    assert "family_name" in patient_event.changed_fields
    assert "family_key" not in patient_event.changed_fields
    assert services.audit.verify_chain() is None


def test_importing_twice_changes_nothing_and_audits_nothing(services, importer):
    for path in synthea_bundles():
        importer.import_file(path)
    counts = row_counts(services.context)
    assert counts["audit_event"] > 0 and counts["patient"] == 4

    for path in synthea_bundles():
        result = importer.import_file(path)
        assert not result.changed
        assert all(tally.created == tally.updated == 0 for tally in result.tallies.values())
        family = path.name.split("_")[1]
        assert result.tallies["encounters"].unchanged == sum(SYNTHEA_ENCOUNTERS[family].values())

    assert row_counts(services.context) == counts
    assert services.audit.verify_chain() is None


# ----------------------------------------------------------------- readings

#: Each Synthea bundle's readings by measure, counted in its JSON: 3 weights
#: (29463-7), 3 blood pressure panels (55284-4) of two parts each, its LDL
#: results (18262-6) and, for two of them, 3 eGFRs (33914-3).
SYNTHEA_READINGS = {
    "ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423": {"weight": 3, "systolic": 3, "diastolic": 3, "ldl": 1},
    "1484a42d-0eaf-4654-9cbf-6b050a5cd73b": {"weight": 3, "systolic": 3, "diastolic": 3, "ldl": 2},
    "27c911c6-f045-4ffa-af5d-6eba57ac94b2": {
        "weight": 3,
        "systolic": 3,
        "diastolic": 3,
        "egfr": 3,
        "ldl": 1,
    },
    "7735ab79-6ac8-4b81-9936-f7ddabd18751": {
        "weight": 3,
        "systolic": 3,
        "diastolic": 3,
        "egfr": 3,
        "ldl": 2,
    },
}


def stored_readings(context) -> list[tuple]:
    with context.read() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Patient.mrn,
                    Reading.measure,
                    Reading.loinc,
                    Reading.value,
                    Reading.unit,
                    Reading.taken_at,
                    Reading.source,
                )
                .join(Patient, Patient.id == Reading.patient_id)
                .order_by(Patient.mrn, Reading.taken_at, Reading.loinc)
            )
        ]


def test_the_synthea_vitals_and_labs_are_stored_once(services, importer):
    first = [importer.import_file(path) for path in synthea_bundles()]

    assert [result.tallies["readings"].created for result in first] == [10, 11, 13, 14]
    stored = stored_readings(services.context)
    by_patient: dict[str, Counter] = {}
    for mrn, measure, *_ in stored:
        by_patient.setdefault(mrn, Counter())[measure] += 1
    assert by_patient == SYNTHEA_READINGS
    # What is left out is what nursecase does not read (height, BMI, pain, smoking,
    # blood counts, total cholesterol ...), no reading for want of a unit or a time.
    skipped = Counter()
    for result in first:
        skipped.update({k: v for k, v in result.skipped.items() if k.startswith("Observation")})
    assert skipped == {"Observation (not a measure nursecase reads)": 26 + 40 + 26 + 40}
    stephen = [row for row in stored if row[0] == "7735ab79-6ac8-4b81-9936-f7ddabd18751"]
    assert next(row for row in stephen if row[1] == "weight") == (
        "7735ab79-6ac8-4b81-9936-f7ddabd18751",
        "weight",
        "29463-7",
        78.42750558865505,
        "kg",
        wall_clock(datetime.fromisoformat("2013-10-26T04:14:01+00:00")),
        "import",
    )
    assert {(row[1], row[4]) for row in stephen} == {
        ("weight", "kg"),
        ("systolic", "mm[Hg]"),
        ("diastolic", "mm[Hg]"),
        ("egfr", "mL/min/{1.73_m2}"),
        ("ldl", "mg/dL"),
    }

    again = [importer.import_file(path) for path in synthea_bundles()]

    assert [
        (tally.created, tally.updated, tally.unchanged)
        for tally in (result.tallies["readings"] for result in again)
    ] == [(0, 0, 10), (0, 0, 11), (0, 0, 13), (0, 0, 14)]
    assert stored_readings(services.context) == stored


def test_a_pound_weight_is_kept_as_received_and_an_unknown_unit_is_counted(services, importer):
    result = importer.import_file(SAMPLES / "readings_pounds_and_unknown_unit.json")

    assert result.tallies["readings"].created == 1
    assert result.skipped == {"Observation (reading in an unknown unit)": 1}
    person = services.patients.get_by_mrn("HF-20")
    (weight,) = services.readings.latest(person.id)
    reading = weight.latest
    assert (reading.measure, reading.value, reading.unit, reading.source) == (
        "weight",
        181.5,
        "[lb_av]",
        "import",
    )
    assert round(reading.measure_value, 1) == 82.3
    assert reading.taken_at == datetime(2026, 11, 25, 7, 30)


def test_import_without_a_nurse_leaves_patients_unassigned(services, anonymous_importer):
    anonymous_importer.import_file(synthea("Buster_Hoeger"))
    buster = services.patients.get_by_mrn("AD2E3FC52B5D4CB98D039EA0F4AC8423")
    assert buster.nurse_username is None
    assert services.audit.list_events("patient", buster.id)[0].nurse_username is None


BUSTER_MRN = "ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423"


def test_the_mrn_is_kept_as_written_and_found_with_or_without_punctuation(services, importer):
    """Issue 19, item 4: the Synthea MRN as Synthea wrote it, searchable as typed."""
    importer.import_file(synthea("Buster_Hoeger"))
    buster = services.patients.get_by_mrn(BUSTER_MRN)
    assert buster is not None and buster.mrn == BUSTER_MRN
    for typed in ("ad2e3fc5-2b5d", "ad2e3fc52b5d", "AD2E3FC5-2B5D-4CB9", BUSTER_MRN):
        assert [row.mrn for row in services.patients.list_page(search=typed)] == [BUSTER_MRN]
    assert services.patients.count(search="ad2e3fc52b5d") == 1
    assert services.patients.get_by_mrn("AD2E3FC52B5D4CB98D039EA0F4AC8423").id == buster.id
    # Imported without a score: not assessed (ranked and shown so), never moderate.
    assert buster.risk_tier == "not-assessed" and buster.risk_source is None
    assert services.patients.list_page(risk_tier="not-assessed")[0].id == buster.id
    assert services.patients.list_page(risk_tier="moderate") == []
    assert services.chart.load(buster.id).risk.describe() == "not assessed"
    # The same MRN typed another way is the same patient, for a nurse too.
    with pytest.raises(ValidationError) as caught:
        services.patients.create("AD2E3FC52B5D4CB98D039EA0F4AC8423", "Other", "Person")
    assert caught.value.field == "mrn"
    kept = services.patients.update(buster.id, buster.version, mrn=BUSTER_MRN.upper())
    assert kept.mrn == BUSTER_MRN and kept.version == buster.version


def test_a_patient_imported_before_mrns_kept_their_hyphens_gets_them_back(services, importer):
    """A patient stored as "AD2E3FC5...", compacted by the old import, is matched by key:
    the file's spelling replaces the old one, and the nurse's tier stays."""
    old = services.patients.create(
        "AD2E3FC52B5D4CB98D039EA0F4AC8423", "Hoeger", "Buster", risk_tier="high"
    )
    result = importer.import_file(synthea("Buster_Hoeger"))
    assert (result.tallies["patients"].created, result.tallies["patients"].updated) == (0, 1)
    buster = services.patients.get(old.id)
    assert (buster.mrn, buster.risk_tier) == (BUSTER_MRN, "high")
    assert "mrn" in services.audit.list_events("patient", old.id)[0].changed_fields


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "place", "message"),
    [
        ("not_json.json", "line 4 column 1", "is not JSON (Expecting property name"),
        ("not_a_bundle.json", "resourceType", "is Patient; expected Bundle"),
        ("unknown_bundle_type.json", "type", "must be one of: transaction"),
        ("condition_without_subject.json", "entry[1].resource.subject", "is required"),
        (
            "unresolved_subject.json",
            "entry[1].resource.subject",
            "does not resolve to a resource in this bundle",
        ),
        ("patient_without_mrn.json", "entry[0].resource.identifier", "has no medical record"),
        (
            "unknown_patient_in_condition.json",
            "entry[2].resource.subject",
            "names a patient who is neither in this bundle nor in nursecase",
        ),
    ],
)
def test_malformed_file_is_refused_naming_file_and_place_and_writes_nothing(
    services, importer, name, place, message
):
    counts = row_counts(services.context)
    path = SAMPLES / name

    with pytest.raises(FhirImportError) as caught:
        importer.import_file(path)

    error = caught.value
    assert (error.source, error.place) == (str(path), place)
    assert str(error).startswith(f"{path}: {place}: {message}")
    assert "\n" not in str(error)
    # The last file's patient was added before its second condition failed: rolled back.
    assert row_counts(services.context) == counts


def test_refusal_survives_pickling():
    error = FhirImportError("a.json", "entry[1].resource.subject", "is required")
    copy_of = pickle.loads(pickle.dumps(error))
    assert (copy_of.source, copy_of.place, str(copy_of)) == (
        "a.json",
        "entry[1].resource.subject",
        str(error),
    )


def test_unreadable_and_non_utf8_files_are_refused(importer, tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(FhirImportError, match="missing.json: cannot be read"):
        importer.import_file(missing)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"name": "Zoë"}'.encode("latin-1"))
    with pytest.raises(FhirImportError, match="latin.json: is not JSON: not UTF-8 text"):
        importer.import_file(latin)
    not_a_number = tmp_path / "nan.json"
    not_a_number.write_text('{"resourceType": "Bundle", "total": NaN}')
    with pytest.raises(FhirImportError, match="NaN is not a JSON value"):
        importer.import_file(not_a_number)


def test_a_rule_of_nursecase_refuses_the_whole_file(services, importer):
    counts = row_counts(services.context)
    too_old = patient()
    too_old["birthDate"] = "1880-01-01"
    with pytest.raises(FhirImportError, match=r"entry\[1\]\.resource\.birthDate: is more than 130"):
        importer.import_data(bundle(condition(ref(1)), too_old), "old.json")
    assert row_counts(services.context) == counts


# ---------------------------------------------------- references, updates


def test_conditional_reference_reaches_a_patient_already_in_nursecase(services, importer):
    existing = services.patients.create("M-9", "Rao", "Dev")
    subject = {"reference": "Patient?identifier=http://hospital.example.org|M-9"}

    result = importer.import_data(bundle(condition(subject)), "conditions.json")

    assert result.tallies["conditions"].created == 1
    assert result.tallies["patients"].created == 0
    (read,) = services.conditions.list_for_patient(existing.id)
    assert (read.code, read.onset_date) == ("84114007", date(2024, 3, 1))


def test_a_changed_file_updates_only_what_changed(services, importer):
    importer.import_data(bundle(patient(), condition(ref(0))), "first.json")
    person = services.patients.get_by_mrn("M-1")
    version = person.version

    changed = patient()
    changed["telecom"] = [{"system": "phone", "value": "555-010-4444"}]
    result = importer.import_data(
        bundle(changed, condition(ref(0), status="resolved")), "second.json"
    )

    assert (result.tallies["patients"].updated, result.tallies["conditions"].updated) == (1, 1)
    person = services.patients.get_by_mrn("M-1")
    assert person.phone == "555-010-4444" and person.version == version + 1
    assert person.birth_date == date(1950, 4, 2)  # left alone: the file still says so
    (read,) = services.conditions.list_for_patient(person.id)
    assert read.clinical_status == "resolved"
    assert services.audit.list_events("patient", person.id)[0].changed_fields == ("phone",)
    assert services.audit.list_events("condition", read.id)[0].changed_fields == (
        "clinical_status",
    )


def test_a_medication_restarted_later_keeps_one_entry_with_the_latest_status(services, importer):
    def request(status: str, authored: str) -> dict:
        return {
            "resourceType": "MedicationRequest",
            "status": status,
            "intent": "order",
            "subject": ref(0),
            "medicationCodeableConcept": {"text": "Furosemide 40 MG Oral Tablet"},
            "authoredOn": authored,
        }

    importer.import_data(
        bundle(patient(), request("active", "2026-10-01"), request("stopped", "2025-01-01")),
        "meds.json",
    )
    person = services.patients.get_by_mrn("M-1")
    (read,) = services.medications.list_for_patient(person.id)
    assert (read.name, read.status) == ("Furosemide 40 MG Oral Tablet", "active")


# --------------------------------------------------- TCM and safety triggers


def test_recent_discharge_starts_the_tcm_clocks_once(services, importer):
    stay = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": ref(0),
        "period": {"start": "2026-11-20T10:00:00Z", "end": "2026-11-25T15:00:00Z"},
        "serviceProvider": {"display": "Mercy Hospital"},
    }
    data = bundle(patient(), stay)

    first = importer.import_data(data, "stay.json")
    again = importer.import_data(data, "stay.json")

    assert (first.tallies["transitions"].created, again.tallies["transitions"].unchanged) == (1, 1)
    person = services.patients.get_by_mrn("M-1")
    (transition,) = services.transitions.list_for_patient(person.id)
    assert (transition.discharged_on, transition.facility, transition.length_of_stay_days) == (
        date(2026, 11, 25),
        "Mercy Hospital",
        5,
    )
    assert transition.interactive_due == date(2026, 11, 27)  # 2 business days after Wed
    tasks = services.tasks.list_for_patient(person.id)
    assert sorted(task.description for task in tasks) == [
        "TCM face-to-face visit",
        "TCM interactive contact",
    ]
    # The stay is an encounter too, linked to the transition it started (issue 21).
    assert (first.tallies["encounters"].created, again.tallies["encounters"].unchanged) == (1, 1)
    (encounter,) = services.encounters.list_for_patient(person.id)
    assert (encounter.encounter_class, encounter.status, encounter.transition_id) == (
        "IMP",
        "finished",
        transition.id,
    )
    assert (encounter.admitted_at, encounter.discharged_at, encounter.facility) == (
        wall_clock(datetime.fromisoformat("2026-11-20T10:00:00Z")),
        wall_clock(datetime.fromisoformat("2026-11-25T15:00:00Z")),
        "Mercy Hospital",
    )
    assert services.contacts.list_for_patient(person.id) == []


def test_phq9_with_item9_above_zero_creates_the_safety_task(services, importer):
    score = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "44261-6"}]},
        "subject": ref(0),
        "effectiveDateTime": "2026-11-20T12:00:00Z",
        "valueQuantity": {"value": 11},
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": code}]}, "valueInteger": value}
            for code, value in zip(PHQ9_ITEM_CODES, [1, 2, 1, 2, 1, 1, 1, 1, 1], strict=True)
        ],
    }
    data = bundle(patient(), score)

    importer.import_data(data, "phq9.json")
    importer.import_data(data, "phq9.json")

    person = services.patients.get_by_mrn("M-1")
    (assessment,) = services.assessments.list_for_patient(person.id)
    assert (assessment.instrument, assessment.total, assessment.summary) == (
        "phq-9",
        11,
        "PHQ-9 11 moderate",
    )
    assert assessment.answer("item9") == 1 and assessment.author_username is None
    assert assessment.performed_at == wall_clock(datetime.fromisoformat("2026-11-20T12:00:00Z"))
    (flag,) = services.assessments.open_safety_flags(person.id)
    assert flag.id == assessment.id
    with services.context.read() as session:
        (task,) = session.execute(select(Task).where(Task.patient_id == person.id)).scalars()
    assert (task.priority, task.source, task.due_date) == (
        "urgent",
        "assessment-trigger",
        date(2026, 11, 27),
    )
    assert task.description.startswith("Safety follow-up: imported PHQ-9 of 2026-11-2")


# -------------------------------------------------------------- care plans


def care_plan(activity_status: str, plan_status: str = "active") -> dict:
    return {
        "resourceType": "CarePlan",
        "status": plan_status,
        "intent": "plan",
        "title": "Heart failure plan",
        "subject": ref(0),
        "period": {"start": "2026-11-01"},
        "addresses": [ref(1)],
        "activity": [
            {"detail": {"status": activity_status, "code": {"text": "Daily weight monitoring"}}}
        ],
    }


def test_care_plan_import_merges_item_status_and_bumps_the_version(services, importer):
    importer.import_data(bundle(patient(), condition(ref(0)), care_plan("scheduled")), "a.json")
    person = services.patients.get_by_mrn("M-1")
    (plan,) = services.care_plans.for_patient(person.id)
    (problem,) = plan.problems
    assert (problem.description, plan.version) == ("HF", 1)
    assert [item.category for item in problem.interventions] == ["surveillance"]

    result = importer.import_data(
        bundle(patient(), condition(ref(0)), care_plan("in-progress")), "b.json"
    )

    assert result.tallies["care plans"].updated == 1
    (plan,) = services.care_plans.for_patient(person.id)
    assert plan.version == 2
    assert plan.problems[0].interventions[0].status == "in-progress"
    assert services.care_plans.history(plan.id)[0].details == "status Scheduled → In progress"


def test_a_status_move_the_editor_refuses_is_left_out_with_a_warning(services, importer):
    importer.import_data(bundle(patient(), condition(ref(0)), care_plan("completed")), "a.json")

    result = importer.import_data(
        bundle(patient(), condition(ref(0)), care_plan("scheduled")), "b.json"
    )

    assert result.tallies["care plans"].unchanged == 1
    assert result.warnings == (
        "entry[2].resource.activity[0].detail: intervention status left completed:"
        " an intervention that is completed cannot change status",
    )
    person = services.patients.get_by_mrn("M-1")
    (plan,) = services.care_plans.for_patient(person.id)
    assert (plan.version, plan.problems[0].interventions[0].status) == (1, "completed")


def test_collection_bundle_file_imports(services, importer, tmp_path):
    path = tmp_path / "collection.json"
    path.write_text(json.dumps(bundle(patient("C-1"), condition(ref(0)), kind="collection")))

    result = importer.import_file(path)

    assert (result.bundle_type, result.tallies["conditions"].created) == ("collection", 1)
    with services.context.read() as session:
        audited = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "condition")
        ).scalar_one()
    assert audited == 1
