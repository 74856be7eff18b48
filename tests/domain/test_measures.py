"""Measures: LOINC codes, unit conversions a nurse makes, plausible values, words."""

from __future__ import annotations

import pytest

from nursecase.domain.codes import Measure
from nursecase.domain.measures import (
    LOINC_MEASURES,
    MEASURES,
    check_plausible,
    measure_of,
    shown_value,
    to_measure_unit,
)
from nursecase.domain.validation import ValidationError


def test_the_issues_loinc_codes_are_all_read():
    expected = {
        "29463-7": Measure.weight,
        "8480-6": Measure.systolic,
        "8462-4": Measure.diastolic,
        "8867-4": Measure.heart_rate,
        "59408-5": Measure.oxygen_saturation,
        "2708-6": Measure.oxygen_saturation,
        "9279-1": Measure.respiratory_rate,
        "8310-5": Measure.temperature,
        "2339-0": Measure.glucose,
        "41653-7": Measure.glucose,
        "4548-4": Measure.hba1c,
        "33762-6": Measure.nt_probnp,
        "2823-3": Measure.potassium,
        "33914-3": Measure.egfr,
        "62238-1": Measure.egfr,
        "18262-6": Measure.ldl,
        "2089-1": Measure.ldl,
    }
    assert {code: LOINC_MEASURES[code] for code in expected} == expected
    assert measure_of(" 29463-7 ") is Measure.weight
    assert measure_of("39156-5") is None  # BMI: not a measure nursecase reads
    # Every stored measure's export code is one it reads back.
    assert all(LOINC_MEASURES[info.loinc] is measure for measure, info in MEASURES.items())


@pytest.mark.parametrize(
    ("measure", "value", "unit", "expected"),
    [
        (Measure.weight, 180, "[lb_av]", 81.647),  # 1 lb = 0.45359237 kg
        (Measure.weight, 180, "lb", 81.647),
        (Measure.weight, 82.4, "kg", 82.4),
        (Measure.weight, 82400, "g", 82.4),
        (Measure.glucose, 5.5, "mmol/L", 99.088),  # x 18.016
        (Measure.glucose, 99, "mg/dL", 99),
        (Measure.ldl, 2.6, "mmol/L", 100.542),  # x 38.67
        (Measure.hba1c, 75, "mmol/mol", 9.013),  # NGSP = 0.09148 IFCC + 2.152
        (Measure.temperature, 98.6, "[degF]", 37.0),
        (Measure.systolic, 148, "mm[Hg]", 148),
        (Measure.systolic, 148, "mmHg", 148),
        (Measure.heart_rate, 72, "{beats}/min", 72),
        (Measure.egfr, 58, "mL/min/{1.73_m2}", 58),
        (Measure.nt_probnp, 1200, "ng/L", 1200),
        (Measure.potassium, 4.1, "mEq/L", 4.1),
    ],
)
def test_units_convert_to_the_measures_own(measure, value, unit, expected):
    assert round(to_measure_unit(measure, value, unit), 3) == expected


def test_a_unit_of_another_measure_is_refused_in_words():
    with pytest.raises(ValidationError) as refused:
        to_measure_unit(Measure.glucose, 80, "kg")
    assert str(refused.value).startswith('"kg" is not a unit for glucose (use mg/dL, mmol/L)')


def test_impossible_values_are_refused_naming_the_field():
    check_plausible(Measure.oxygen_saturation, 100)
    with pytest.raises(ValidationError) as refused:
        check_plausible(Measure.oxygen_saturation, 101, "oxygen-saturation")
    assert refused.value.field == "oxygen-saturation"
    assert "101 % is not a possible oxygen saturation" in str(refused.value)


def test_values_are_shown_in_words_and_the_clinics_units():
    assert shown_value(Measure.weight, 82.44) == "82.4 kg"
    assert shown_value(Measure.weight, 81.6466, "lb") == "180.0 lb"
    assert shown_value(Measure.glucose, 99.088, "mmol/L") == "5.5 mmol/L"
    assert shown_value(Measure.systolic, 147.5) == "148 mmHg"
    assert shown_value(Measure.egfr, 58) == "58 mL/min/1.73 m²"
    assert shown_value(Measure.temperature, 37.0, "°F") == "98.6 °F"
