"""Reading vital signs and labs out of FHIR Observations (issue 20).

An Observation is a reading when one of its LOINC codes is a code nursecase
reads (``domain.measures.LOINC_MEASURES``: weight, heart rate, HbA1c, eGFR ...).
A blood pressure panel (85354-9, or Synthea's 55284-4) is two readings: its
systolic (8480-6) and diastolic (8462-4) components.

- Value: ``valueQuantity.value``; unit: the quantity's UCUM ``code`` when its
  system is UCUM (http://unitsofmeasure.org), else its ``unit`` text.
- Time: ``effectiveDateTime``, else ``effectivePeriod.start``, else
  ``effectiveInstant``, else ``issued`` (when the result was released: the
  nearest time a lab result has when the draw time is missing).
- Only usable results: status final, amended or corrected (as for scores).

A reading is never worth refusing a whole bundle for: one without a number,
a unit or a time, one in a unit its measure is not read in, one no person
could have (``domain.measures.check_plausible``), or one dated after today is
left out and counted, with the reason, in the bundle's "not imported" list.
What the records need from every resource (a subject that resolves) is
still required: a reading names its patient, or the bundle is refused.
"""

from __future__ import annotations

from datetime import datetime

from nursecase.domain.fhir_index import Located, Reader
from nursecase.domain.fhir_records import ImportedReading, PatientKey
from nursecase.domain.fhir_values import (
    Json,
    codings,
    fhir_datetime,
    objects,
    optional_object,
    period_of,
    text_of,
)
from nursecase.domain.measures import (
    BLOOD_PRESSURE_PANELS,
    BLOOD_PRESSURE_PARTS,
    LOINC_MEASURES,
    check_plausible,
    to_measure_unit,
)
from nursecase.domain.validation import ValidationError

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: Results nursecase reads: the same as for scored observations.
USABLE_STATUSES = frozenset({"final", "amended", "corrected"})

#: Why a reading was left out, as the import summary counts it.
NOT_USABLE = "Observation (not final, or entered in error)"
NO_QUANTITY = "Observation (reading without a number or unit)"
NO_TIME = "Observation (reading without a time)"
IN_THE_FUTURE = "Observation (reading dated in the future)"
UNKNOWN_UNIT = "Observation (reading in an unknown unit)"
IMPOSSIBLE = "Observation (reading of an impossible value)"
NO_PARTS = "Observation (blood pressure panel without parts)"


def reading_code(concept: Json | None, place: str) -> str | None:
    """The first LOINC code of a concept that is a measure or a blood pressure panel."""
    for coding_place, coding in codings(concept, place):
        if coding.get("system") != LOINC:
            continue
        code = text_of(coding.get("code"), f"{coding_place}.code")
        if code in LOINC_MEASURES or code in BLOOD_PRESSURE_PANELS:
            return code
    return None


class ReadingReader(Reader):
    """The readings of one bundle's Observations; those left out are counted by reason."""

    def readings(self, located: Located) -> list[ImportedReading] | None:
        """The Observation's readings; None when it is not a measure nursecase reads.

        An Observation that is a measure but gives nothing usable returns [] and
        is counted in ``skipped`` with its reason.
        """
        resource, place = located.resource, located.place
        code = reading_code(optional_object(resource.get("code"), f"{place}.code"), f"{place}.code")
        if code is None:
            return None
        self.index.mark_used(located)
        if text_of(resource.get("status"), f"{place}.status") not in USABLE_STATUSES:
            self.skipped[NOT_USABLE] += 1
            return []
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        taken_at = self._moment(resource, place)
        if taken_at is None:
            self.skipped[NO_TIME] += 1
            return []
        if taken_at.date() > self.today:
            self.skipped[IN_THE_FUTURE] += 1
            return []
        if code not in BLOOD_PRESSURE_PANELS:
            reading = self._reading(resource, place, code, patient, taken_at)
            return [reading] if reading is not None else []
        found: list[ImportedReading] = []
        parts = 0
        for component_place, component in objects(resource, "component", place):
            part = _part_code(component, component_place)
            if part is None:
                continue
            parts += 1
            reading = self._reading(component, component_place, part, patient, taken_at)
            if reading is not None:
                found.append(reading)
        if not parts:
            self.skipped[NO_PARTS] += 1
        return found

    def _moment(self, resource: Json, place: str) -> datetime | None:
        taken = fhir_datetime(resource.get("effectiveDateTime"), f"{place}.effectiveDateTime")
        if taken is None and resource.get("effectivePeriod") is not None:
            taken = period_of(resource, "effectivePeriod", place)[0]
        if taken is None:
            taken = fhir_datetime(resource.get("effectiveInstant"), f"{place}.effectiveInstant")
        if taken is None:
            taken = fhir_datetime(resource.get("issued"), f"{place}.issued")
        return taken

    def _reading(
        self, holder: Json, place: str, loinc: str, patient: PatientKey, taken_at: datetime
    ) -> ImportedReading | None:
        """One reading of a resource or component; None (counted) when it is left out."""
        quantity = _quantity(holder, place)
        if quantity is None:
            self.skipped[NO_QUANTITY] += 1
            return None
        value, unit = quantity
        measure = LOINC_MEASURES[loinc]
        try:
            in_measure_unit = to_measure_unit(measure, value, unit)
        except ValidationError:
            self.skipped[UNKNOWN_UNIT] += 1
            return None
        try:
            check_plausible(measure, in_measure_unit)
        except ValidationError:
            self.skipped[IMPOSSIBLE] += 1
            return None
        return ImportedReading(place, patient, loinc, value, unit, taken_at)


def _part_code(component: Json, place: str) -> str | None:
    """The LOINC code of a blood pressure component that is a part (systolic, diastolic)."""
    concept = optional_object(component.get("code"), f"{place}.code")
    for coding_place, coding in codings(concept, f"{place}.code"):
        if coding.get("system") != LOINC:
            continue
        code = text_of(coding.get("code"), f"{coding_place}.code")
        if code is not None and LOINC_MEASURES.get(code) in BLOOD_PRESSURE_PARTS:
            return code
    return None


def _quantity(holder: Json, place: str) -> tuple[float, str] | None:
    """(value, unit) of a valueQuantity, the unit its UCUM code when coded in UCUM; else None."""
    quantity = optional_object(holder.get("valueQuantity"), f"{place}.valueQuantity")
    if quantity is None:
        return None
    number = quantity.get("value")
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    try:
        value = float(number)
    except OverflowError:  # a JSON integer beyond any float: no reading at all
        return None
    quantity_place = f"{place}.valueQuantity"
    code = text_of(quantity.get("code"), f"{quantity_place}.code")
    unit = text_of(quantity.get("unit"), f"{quantity_place}.unit")
    if quantity.get("system") == UCUM and code is not None:
        unit = code
    unit = unit or code
    if unit is None:
        return None
    return value, unit


__all__ = ["ReadingReader", "reading_code"]
