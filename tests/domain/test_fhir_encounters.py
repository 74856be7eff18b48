"""Reading a bundle's Encounters as nursecase's encounters (pure: no database, issue 21)."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
)
from nursecase.domain.fhir_encounters import (
    NOT_A_KEPT_CLASS,
    NOT_HAPPENED,
    STARTS_LATER,
    WITHOUT_START,
)
from nursecase.domain.fhir_values import ENCOUNTER_SYSTEM_PREFIX
from tests.domain.test_fhir_bundle import SNOMED, bundle, parse, patient, ref

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"


def visit(class_code: str = "IMP", status: str = "finished", **extra) -> dict:
    return {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": status,
        "class": {"system": ACT_CODE, "code": class_code},
        "subject": ref(0),
        "period": {"start": "2026-06-01T08:00:00Z", "end": "2026-06-04T12:00:00Z"},
        **extra,
    }


def one(*resources: dict):
    """The one encounter a bundle of the patient and these resources gives, or None."""
    parsed = parse(bundle(patient(), *resources))
    assert len(parsed.encounters) <= 1
    return (parsed.encounters or (None,))[0], parsed


@pytest.mark.parametrize(
    ("class_code", "system", "kept"),
    [
        ("IMP", ACT_CODE, EncounterClass.inpatient),
        ("ACUTE", ACT_CODE, EncounterClass.inpatient),  # a kind of IMP in v3 ActCode
        ("NONAC", None, EncounterClass.inpatient),
        ("EMER", "http://hl7.org/fhir/v3/ActCode", EncounterClass.emergency),
        ("OBSENC", ACT_CODE, EncounterClass.observation),
        ("AMB", ACT_CODE, EncounterClass.ambulatory),
        ("HH", ACT_CODE, None),
        ("VR", ACT_CODE, None),
        ("IMP", "http://example.org/visit-types", None),  # not an ActCode
    ],
)
def test_the_classes_kept(class_code, system, kept):
    resource = visit(class_code)
    resource["class"] = {"code": class_code, **({"system": system} if system else {})}
    found, parsed = one(resource)
    assert (found.encounter_class if found else None) == kept
    assert parsed.skipped == ({} if kept else {NOT_A_KEPT_CLASS: 1})


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        ("finished", EncounterStatus.finished),
        ("in-progress", EncounterStatus.in_progress),
        ("arrived", EncounterStatus.in_progress),
        ("triaged", EncounterStatus.in_progress),
        ("onleave", EncounterStatus.in_progress),
        ("cancelled", EncounterStatus.cancelled),
        ("entered-in-error", EncounterStatus.entered_in_error),
        ("planned", None),
        ("unknown", None),
    ],
)
def test_the_statuses_kept(status, kept):
    found, parsed = one(visit("AMB", status))
    assert (found.status if found else None) == kept
    assert parsed.skipped == ({} if kept else {NOT_HAPPENED: 1})


def test_an_encounter_without_a_start_or_starting_later_is_left_out_counted():
    no_start = visit("EMER", period={"end": "2026-06-04T12:00:00Z"})
    later = visit("EMER", "in-progress", id="enc-2", period={"start": "2026-12-01T08:00:00Z"})
    parsed = parse(bundle(patient(), no_start, later))
    assert parsed.encounters == ()
    assert parsed.skipped == {WITHOUT_START: 1, STARTS_LATER: 1}


def test_the_facility_disposition_diagnoses_and_key():
    hospital = {"resourceType": "Organization", "name": "Mercy General"}
    heart_failure = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": ICD10_CM, "code": "I50.9", "display": "Heart failure"}]},
        "subject": ref(0),
    }
    stay = visit(
        serviceProvider=ref(2),
        hospitalization={
            "dischargeDisposition": {"coding": [{"system": DISPOSITION, "code": "snf"}]}
        },
        diagnosis=[
            {"condition": {"display": "Dehydration"}, "rank": 2},
            {"condition": ref(3), "rank": 1},
            {"condition": {"reference": "Condition/elsewhere"}},
        ],
        reasonCode=[
            {"coding": [{"system": SNOMED, "code": "84114007", "display": "Heart failure"}]},
            {"text": "Shortness of breath"},
        ],
    )
    found, parsed = one(stay, hospital, heart_failure)
    assert (found.source, found.source_key, found.facility, found.disposition) == (
        EncounterSource.fhir,
        "enc-1",
        "Mercy General",
        DischargeDisposition.skilled_nursing,
    )
    # Ranked diagnoses first, then the reasons; the same words once.
    assert found.diagnoses == (
        ("Heart failure", "I50.9", ICD10_CM),
        ("Dehydration", None, None),
        ("Shortness of breath", None, None),
    )
    assert parsed.warnings == (
        "entry[1].resource.diagnosis[2].condition: diagnosis left out:"
        " does not resolve to a resource in this bundle",
    )
    # An old discharge to skilled nursing starts no TCM: no link.
    assert (parsed.discharges, found.transition_day) == ((), None)


def test_a_facility_outside_the_bundle_or_a_location_and_an_unknown_disposition():
    conditional = visit(
        serviceProvider={
            "reference": "Organization?identifier=https://github.com/synthetichealth/synthea|x1",
            "display": "PCP131038",
        },
        hospitalization={"dischargeDisposition": {"coding": [{"code": "01"}]}},
    )
    found, parsed = one(conditional)
    assert (found.facility, found.disposition, parsed.warnings) == ("PCP131038", None, ())
    by_location = visit(location=[{"location": {"display": "St Mary ED"}}])
    assert one(by_location)[0].facility == "St Mary ED"


def test_the_key_is_the_id_else_the_full_url_else_nursecase_s_own_identifier():
    without_id = visit()
    del without_id["id"]
    assert one(without_id)[0].source_key == "urn:uuid:00000000-0000-4000-8000-000000000001"
    exported = visit(identifier=[{"system": f"{ENCOUNTER_SYSTEM_PREFIX}adt", "value": "V1^MGH"}])
    found = one(exported)[0]
    assert (found.source, found.source_key) == (EncounterSource.adt, "V1^MGH")


def test_a_recent_stay_is_both_a_discharge_and_an_encounter_linked_by_day():
    stay = visit(period={"start": "2026-11-20T08:00:00-05:00", "end": "2026-11-24T12:00:00-05:00"})
    short_stay = visit("SS", id="enc-2")
    short_stay["period"] = stay["period"]
    found, parsed = one(stay, short_stay)
    assert [discharge.discharged_on for discharge in parsed.discharges] == [date(2026, 11, 24)] * 2
    # The short stay (SS) starts TCM as before but is no encounter class kept; it is
    # not counted as left out: it fed a record.
    assert (found.transition_day, parsed.skipped) == (date(2026, 11, 24), {})
