"""Vital signs and labs read out of FHIR Observations (issue 20), and their UCUM codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nursecase.domain.codes import Measure
from nursecase.domain.fhir_bundle import parse_bundle
from nursecase.domain.measures import UCUM_CODES, UNIT_CONVERSIONS, same_unit, ucum_code

TODAY = date(2026, 11, 27)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
SUBJECT = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}


def parse(*observations: dict):
    patient = {
        "resourceType": "Patient",
        "identifier": [{"type": MR_TYPE, "value": "M-1"}],
        "name": [{"family": "Okafor", "given": ["Grace"]}],
    }
    entries = [patient, *observations]
    return parse_bundle(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{index:012d}", "resource": item}
                for index, item in enumerate(entries)
            ],
        },
        today=TODAY,
    )


def observation(code: str, quantity: dict | None = None, **extra) -> dict:
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-11-20T07:30:00+00:00",
    }
    if quantity is not None:
        resource["valueQuantity"] = quantity
    resource.update(extra)
    return resource


def test_the_unit_is_the_ucum_code_when_coded_in_ucum_else_the_unit_text():
    parsed = parse(
        observation("29463-7", {"value": 180, "unit": "lbs", "system": UCUM, "code": "[lb_av]"}),
        observation("8867-4", {"value": 72, "unit": "bpm"}),
    )
    assert [(item.loinc, item.value, item.unit) for item in parsed.readings] == [
        ("29463-7", 180.0, "[lb_av]"),
        ("8867-4", 72.0, "bpm"),
    ]
    assert parsed.readings[0].taken_at == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"effectivePeriod": {"start": "2026-11-19T08:00:00Z"}}, datetime(2026, 11, 19, 8, 0)),
        ({"effectiveInstant": "2026-11-18T08:00:00Z"}, datetime(2026, 11, 18, 8, 0)),
        ({"issued": "2026-11-17T08:00:00Z"}, datetime(2026, 11, 17, 8, 0)),
        (
            {"effectiveDateTime": "2026-11-16", "issued": "2026-11-17T08:00:00Z"},
            datetime(2026, 11, 16),
        ),
    ],
)
def test_the_time_is_the_effective_time_else_the_period_start_else_issued(times, expected):
    resource = observation("2339-0", {"value": 110, "system": UCUM, "code": "mg/dL"})
    del resource["effectiveDateTime"]
    (reading,) = parse({**resource, **times}).readings
    assert reading.taken_at.replace(tzinfo=None) == expected


def test_a_blood_pressure_panel_is_its_two_parts():
    def part(code: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        }

    panel = observation(
        "85354-9", component=[part("8480-6", 148), part("8462-4", 92), part("8867-4", 70)]
    )
    synthea_panel = observation("55284-4", component=[part("8480-6", 150)])
    parsed = parse(panel, synthea_panel)
    assert [(item.loinc, item.value, item.place) for item in parsed.readings] == [
        ("8480-6", 148.0, "entry[1].resource.component[0]"),
        ("8462-4", 92.0, "entry[1].resource.component[1]"),
        ("8480-6", 150.0, "entry[2].resource.component[0]"),
    ]
    assert parsed.skipped == {}


def test_readings_nursecase_cannot_use_are_left_out_and_counted_by_reason():
    parsed = parse(
        observation("29463-7", {"value": 12, "unit": "stone"}),
        observation("59408-5", {"value": 150, "system": UCUM, "code": "%"}),
        observation("8867-4", {"value": "72", "unit": "/min"}),
        observation("8867-4", {"value": 72}),
        observation("8310-5", {"value": 37, "code": "Cel"}, effectiveDateTime="2026-12-01"),
        observation("8867-4", {"value": 72, "unit": "/min"}, status="preliminary"),
        observation("85354-9"),
        observation("8302-2", {"value": 170, "unit": "cm"}),
        observation("8867-4", {"value": 10**400, "unit": "/min"}),
    )
    assert parsed.readings == ()
    assert parsed.skipped == {
        "Observation (reading in an unknown unit)": 1,
        "Observation (reading of an impossible value)": 1,
        "Observation (reading without a number or unit)": 3,
        "Observation (reading dated in the future)": 1,
        "Observation (not final, or entered in error)": 1,
        "Observation (blood pressure panel without parts)": 1,
        "Observation (not a measure nursecase reads)": 1,
    }


def test_every_accepted_unit_has_its_ucum_code():
    for measure, units in UNIT_CONVERSIONS.items():
        for unit in units:
            assert unit in UCUM_CODES, (measure, unit)
    assert ucum_code("lb") == ucum_code("[lb_av]") == "[lb_av]"
    assert ucum_code("mmHg") == "mm[Hg]"
    assert ucum_code("bpm") == "/min"
    assert ucum_code("°F") == "[degF]"
    assert ucum_code("mL/min/1.73 m2") == "mL/min/{1.73_m2}"
    assert ucum_code(" furlongs ") == "furlongs"
    assert same_unit("mmHg", "mm[Hg]") and not same_unit("mg/dL", "mmol/L")
    assert Measure.weight in UNIT_CONVERSIONS
