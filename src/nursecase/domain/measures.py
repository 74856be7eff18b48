"""Measures: their LOINC codes, their units (UCUM) and the conversions a nurse makes.

A reading is stored as it was received (value and unit as the source wrote
them) and, beside it, in the measure's own unit (``MeasureInfo.unit``): the
thresholds, the trends and the summary line all work on that one unit, so a
weight sent in pounds and one keyed in kilograms sit on the same chart.

Sources:
- LOINC codes: the FHIR R4 vital-signs profile (hl7.org/fhir/R4/observation-vitalsigns.html)
  for weight 29463-7, the blood pressure panel 85354-9 with systolic 8480-6 and
  diastolic 8462-4, heart rate 8867-4, oxygen saturation 59408-5 (pulse
  oximetry) and 2708-6, respiratory rate 9279-1 and body temperature 8310-5;
  loinc.org for the laboratory codes (glucose 2339-0 in blood, 2345-7 in serum
  or plasma, 41653-7 by glucometer; HbA1c 4548-4; NT-proBNP 33762-6; potassium
  2823-3 (serum or plasma) and 6298-4 (blood); eGFR 33914-3 and 62238-1 (CKD-EPI);
  LDL 18262-6 (direct) and 2089-1). Synthea also sends the blood pressure panel
  as 55284-4 with the same two components.
- Unit factors: 1 lb = 0.45359237 kg exactly (international avoirdupois pound);
  glucose 1 mmol/L = 18.016 mg/dL (molar mass 180.16 g/mol); LDL cholesterol
  1 mmol/L = 38.67 mg/dL (molar mass 386.65 g/mol); HbA1c IFCC mmol/mol to NGSP %
  by the NGSP master equation, % = 0.09148 x mmol/mol + 2.152 (ngsp.org/ifccngsp.asp);
  degrees Fahrenheit to Celsius, (F - 32) x 5/9; NT-proBNP pg/mL = ng/L; potassium
  mmol/L = mEq/L (a univalent ion).

Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nursecase.domain.codes import Measure
from nursecase.domain.validation import ValidationError

VITAL_SIGNS = "vital-signs"
LABORATORY = "laboratory"


@dataclass(frozen=True)
class MeasureInfo:
    """What a nurse and a FHIR server need to know about one measure."""

    measure: Measure
    #: The measure's own unit (UCUM) that thresholds and charts use.
    unit: str
    #: The unit as a nurse reads it ("mmHg", "°C", "bpm").
    unit_words: str
    #: The short name of the summary line ("wt", "HR", "SpO2").
    short: str
    #: FHIR observation category: "vital-signs" or "laboratory".
    category: str
    #: The LOINC code a FHIR export writes, and its display.
    loinc: str
    loinc_display: str
    #: Decimal places shown.
    decimals: int
    #: Values outside this range (in ``unit``) are refused as typing or device errors.
    lowest: float
    highest: float


MEASURES: dict[Measure, MeasureInfo] = {
    info.measure: info
    for info in (
        MeasureInfo(
            Measure.weight, "kg", "kg", "wt", VITAL_SIGNS, "29463-7", "Body weight", 1, 0.5, 400
        ),
        MeasureInfo(
            Measure.systolic,
            "mm[Hg]",
            "mmHg",
            "SBP",
            VITAL_SIGNS,
            "8480-6",
            "Systolic blood pressure",
            0,
            40,
            300,
        ),
        MeasureInfo(
            Measure.diastolic,
            "mm[Hg]",
            "mmHg",
            "DBP",
            VITAL_SIGNS,
            "8462-4",
            "Diastolic blood pressure",
            0,
            20,
            200,
        ),
        MeasureInfo(
            Measure.heart_rate, "/min", "bpm", "HR", VITAL_SIGNS, "8867-4", "Heart rate", 0, 20, 300
        ),
        MeasureInfo(
            Measure.oxygen_saturation,
            "%",
            "%",
            "SpO2",
            VITAL_SIGNS,
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
            0,
            50,
            100,
        ),
        MeasureInfo(
            Measure.respiratory_rate,
            "/min",
            "/min",
            "RR",
            VITAL_SIGNS,
            "9279-1",
            "Respiratory rate",
            0,
            4,
            80,
        ),
        MeasureInfo(
            Measure.temperature,
            "Cel",
            "°C",
            "T",
            VITAL_SIGNS,
            "8310-5",
            "Body temperature",
            1,
            30,
            45,
        ),
        MeasureInfo(
            Measure.glucose,
            "mg/dL",
            "mg/dL",
            "glucose",
            LABORATORY,
            "2339-0",
            "Glucose [Mass/volume] in Blood",
            0,
            10,
            1000,
        ),
        MeasureInfo(
            Measure.hba1c,
            "%",
            "%",
            "HbA1c",
            LABORATORY,
            "4548-4",
            "Hemoglobin A1c/Hemoglobin.total in Blood",
            1,
            3,
            20,
        ),
        MeasureInfo(
            Measure.nt_probnp,
            "pg/mL",
            "pg/mL",
            "NT-proBNP",
            LABORATORY,
            "33762-6",
            "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
            0,
            0,
            100_000,
        ),
        MeasureInfo(
            Measure.potassium,
            "mmol/L",
            "mmol/L",
            "K",
            LABORATORY,
            "2823-3",
            "Potassium [Moles/volume] in Serum or Plasma",
            1,
            1,
            10,
        ),
        MeasureInfo(
            Measure.egfr,
            "mL/min/{1.73_m2}",
            "mL/min/1.73 m²",
            "eGFR",
            LABORATORY,
            "33914-3",
            "Glomerular filtration rate/1.73 sq M.predicted",
            0,
            1,
            200,
        ),
        MeasureInfo(
            Measure.ldl,
            "mg/dL",
            "mg/dL",
            "LDL",
            LABORATORY,
            "18262-6",
            "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
            0,
            10,
            500,
        ),
    )
}

#: Measures a reading can be stored under (blood pressure is stored as its two parts).
STORED_MEASURES: tuple[Measure, ...] = tuple(MEASURES)

#: The LOINC codes read as each measure.
LOINC_MEASURES: dict[str, Measure] = {
    "29463-7": Measure.weight,
    "3141-9": Measure.weight,  # body weight measured
    "8480-6": Measure.systolic,
    "8462-4": Measure.diastolic,
    "8867-4": Measure.heart_rate,
    "59408-5": Measure.oxygen_saturation,
    "2708-6": Measure.oxygen_saturation,
    "9279-1": Measure.respiratory_rate,
    "8310-5": Measure.temperature,
    "2339-0": Measure.glucose,
    "2345-7": Measure.glucose,
    "41653-7": Measure.glucose,
    "4548-4": Measure.hba1c,
    "33762-6": Measure.nt_probnp,
    "2823-3": Measure.potassium,
    "6298-4": Measure.potassium,
    "33914-3": Measure.egfr,
    "62238-1": Measure.egfr,
    "18262-6": Measure.ldl,
    "2089-1": Measure.ldl,
}

#: Blood pressure panels: their components (8480-6, 8462-4) are the readings.
BLOOD_PRESSURE_PANELS = frozenset({"85354-9", "55284-4"})
BLOOD_PRESSURE_PANEL = "85354-9"

#: The measures that make up blood pressure, systolic first.
BLOOD_PRESSURE_PARTS = (Measure.systolic, Measure.diastolic)


def _scale(factor: float) -> Callable[[float], float]:
    return lambda value: value * factor


def _same(value: float) -> float:
    return value


def _fahrenheit(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


def _ifcc(value: float) -> float:
    return 0.09148 * value + 2.152


POUND_KG = 0.45359237
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
LDL_MG_DL_PER_MMOL_L = 38.67

#: For each measure, the units it is accepted in (written as UCUM or as people
#: write them, compared without case or spaces) and how each becomes the
#: measure's own unit.
UNIT_CONVERSIONS: dict[Measure, dict[str, Callable[[float], float]]] = {
    Measure.weight: {
        "kg": _same,
        "[lb_av]": _scale(POUND_KG),
        "lb": _scale(POUND_KG),
        "lbs": _scale(POUND_KG),
        "g": _scale(0.001),
    },
    Measure.systolic: {"mm[hg]": _same, "mmhg": _same},
    Measure.diastolic: {"mm[hg]": _same, "mmhg": _same},
    Measure.heart_rate: {"/min": _same, "{beats}/min": _same, "1/min": _same, "bpm": _same},
    Measure.oxygen_saturation: {"%": _same},
    Measure.respiratory_rate: {"/min": _same, "{breaths}/min": _same, "1/min": _same},
    Measure.temperature: {
        "cel": _same,
        "°c": _same,
        "c": _same,
        "[degf]": _fahrenheit,
        "°f": _fahrenheit,
        "f": _fahrenheit,
    },
    Measure.glucose: {
        "mg/dl": _same,
        "mmol/l": _scale(GLUCOSE_MG_DL_PER_MMOL_L),
    },
    Measure.hba1c: {"%": _same, "mmol/mol": _ifcc},
    Measure.nt_probnp: {"pg/ml": _same, "ng/l": _same},
    Measure.potassium: {"mmol/l": _same, "meq/l": _same},
    Measure.egfr: {
        "ml/min/{1.73_m2}": _same,
        "ml/min/1.73m2": _same,
        "ml/min/1.73m²": _same,
        "ml/min": _same,
    },
    Measure.ldl: {"mg/dl": _same, "mmol/l": _scale(LDL_MG_DL_PER_MMOL_L)},
}

#: Each accepted unit (as matched: lower case, no spaces) written as its UCUM
#: code, the way a FHIR export must write it ("lb" is "[lb_av]", "mmHg" is
#: "mm[Hg]"). Heart and breathing rates are "/min", the code the FHIR R4
#: vital-signs profile fixes for them (UCUM annotations such as {beats} are 1).
UCUM_CODES: dict[str, str] = {
    "kg": "kg",
    "[lb_av]": "[lb_av]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "g": "g",
    "mm[hg]": "mm[Hg]",
    "mmhg": "mm[Hg]",
    "/min": "/min",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "1/min": "/min",
    "bpm": "/min",
    "%": "%",
    "cel": "Cel",
    "°c": "Cel",
    "c": "Cel",
    "[degf]": "[degF]",
    "°f": "[degF]",
    "f": "[degF]",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "mmol/mol": "mmol/mol",
    "pg/ml": "pg/mL",
    "ng/l": "ng/L",
    "meq/l": "meq/L",
    "ml/min/{1.73_m2}": "mL/min/{1.73_m2}",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min/1.73m²": "mL/min/{1.73_m2}",
    "ml/min": "mL/min",
}

#: How a value in the measure's own unit is shown in another unit a clinic
#: prefers ("lb" for weight, "mmol/L" for glucose): unit words -> conversion.
DISPLAY_UNITS: dict[Measure, dict[str, Callable[[float], float]]] = {
    Measure.weight: {"kg": _same, "lb": _scale(1 / POUND_KG)},
    Measure.glucose: {"mg/dL": _same, "mmol/L": _scale(1 / GLUCOSE_MG_DL_PER_MMOL_L)},
    Measure.temperature: {"°C": _same, "°F": lambda value: value * 9.0 / 5.0 + 32.0},
}


def info(measure: Measure | str) -> MeasureInfo:
    """The measure's facts; a ValueError for blood pressure (it is two measures)."""
    return MEASURES[Measure(measure)]


def measure_of(loinc: str) -> Measure | None:
    """The measure a LOINC code is read as, or None when nursecase does not use it."""
    return LOINC_MEASURES.get(loinc.strip())


def _unit_key(unit: str) -> str:
    return "".join(unit.split()).lower()


def accepted_units(measure: Measure) -> tuple[str, ...]:
    """The units a measure is accepted in, as they are matched (lower case)."""
    return tuple(UNIT_CONVERSIONS[measure])


def to_measure_unit(measure: Measure, value: float, unit: str, field: str = "unit") -> float:
    """``value`` in ``unit`` converted to the measure's own unit.

    Raises ValidationError naming ``field`` when the unit is not one the
    measure is read in ("lb" is a weight, never a glucose).
    """
    conversion = UNIT_CONVERSIONS[measure].get(_unit_key(unit))
    if conversion is None:
        known = ", ".join(_shown_unit(known) for known in UNIT_CONVERSIONS[measure])
        raise ValidationError(
            field, f'"{unit}" is not a unit for {Measure(measure).label.lower()} (use {known})'
        )
    return conversion(value)


def _shown_unit(unit_key: str) -> str:
    return {"mm[hg]": "mmHg", "cel": "Cel", "[degf]": "[degF]", "mg/dl": "mg/dL"}.get(
        unit_key, unit_key.replace("/l", "/L").replace("/ml", "/mL")
    )


def ucum_code(unit: str) -> str:
    """A unit as its UCUM code ("lb" -> "[lb_av]", "mmHg" -> "mm[Hg]"); an unknown one as is."""
    return UCUM_CODES.get(_unit_key(unit), unit.strip())


def same_unit(first: str, second: str) -> bool:
    """True when two spellings name one unit ("mmHg" and "mm[Hg]", "lb" and "[lb_av]")."""
    return ucum_code(first) == ucum_code(second)


def check_plausible(measure: Measure, value: float, field: str = "value") -> None:
    """Refuse a value (in the measure's unit) no person could have: a typing or device error."""
    facts = info(measure)
    if not facts.lowest <= value <= facts.highest:
        raise ValidationError(
            field,
            f"{value:g} {facts.unit_words} is not a possible {Measure(measure).label.lower()} "
            f"(expected {facts.lowest:g} to {facts.highest:g} {facts.unit_words})",
        )


def shown_value(measure: Measure, value: float, unit_words: str | None = None) -> str:
    """A value in the measure's unit as a nurse reads it: "82.4 kg", "148 mmHg", "6.1 mmol/L".

    ``unit_words`` picks another display unit of ``DISPLAY_UNITS`` (a clinic
    that weighs in pounds); None or an unknown one shows the measure's own.
    """
    facts = info(measure)
    conversions = DISPLAY_UNITS.get(Measure(measure), {})
    if unit_words in conversions and unit_words != facts.unit_words:
        shown = conversions[unit_words](value)
        decimals = 1 if unit_words in ("lb", "mmol/L", "°F") else facts.decimals
        return f"{number(shown, decimals)} {unit_words}"
    return f"{number(value, facts.decimals)} {facts.unit_words}"


def number(value: float, decimals: int) -> str:
    """A value with ``decimals`` places, rounded half away from zero ("82.4", "148")."""
    scaled = abs(value) * 10**decimals
    rounded = int(scaled + 0.5) / 10**decimals
    text = f"{rounded:.{decimals}f}"
    return f"-{text}" if value < 0 and rounded != 0 else text
