"""The handover's vital signs and labs (issue 20): each measure's latest value and open alerts.

Rows in the patient report's shape (section, item, status, date, detail), in
words: a measure by its name ("Weight"), a value with its unit as a nurse
reads it ("82.4 kg", ``domain.measures.shown_value``, in the clinic's weight
and glucose units), when it was taken, and the change from the reading
before ("+2.6 kg since 2026-11-20"). A systolic and a diastolic taken at one
moment are one row, "Blood pressure 148/92 mmHg", as the chart shows them.
Open alerts come with their why ("weight +2.6 kg in 5 d").
"""

from __future__ import annotations

from datetime import datetime

from nursecase.domain.codes import Measure
from nursecase.domain.measures import info, number, shown_value
from nursecase.services.context import ServiceContext
from nursecase.services.readings import LatestValue, ReadingRead, ReadingsService

#: The section of each measure's latest value.
VITALS = "Vitals & labs"
#: The section of the open reading alerts.
READING_ALERT = "Reading alert"
#: The status of an open alert, by urgency.
URGENT = "Urgent"
OPEN = "Open"
#: The detail of a measure with one reading.
FIRST_READING = "first reading"

Row = tuple[str, str, str, datetime, str]


def vitals_rows(context: ServiceContext, patient_id: int) -> list[Row]:
    """Each measure's latest value (blood pressure pairs as one row), in the order of Measure."""
    settings = context.settings
    units = {Measure.weight: settings.weight_unit, Measure.glucose: settings.glucose_unit}
    latest = {
        Measure(value.measure): value for value in ReadingsService(context).latest(patient_id)
    }
    rows: list[Row] = []
    systolic, diastolic = latest.get(Measure.systolic), latest.get(Measure.diastolic)
    paired = (
        systolic is not None
        and diastolic is not None
        and systolic.latest.taken_at == diastolic.latest.taken_at
    )
    for measure, value in latest.items():
        if paired and measure is Measure.diastolic:
            continue
        if paired and measure is Measure.systolic:
            assert diastolic is not None
            rows.append(_pressure_row(value, diastolic))
            continue
        unit = units.get(measure)
        rows.append(
            (
                VITALS,
                measure.label,
                shown_value(measure, value.latest.measure_value, unit),
                value.latest.taken_at,
                _change(measure, value, unit),
            )
        )
    return rows


def alert_rows(context: ServiceContext, patient_id: int) -> list[Row]:
    """The patient's open alerts, newest first: why, urgency, the reading's time, the measure."""
    return [
        (
            READING_ALERT,
            alert.why,
            URGENT if alert.urgent else OPEN,
            alert.reading_at,
            Measure(alert.measure).label,
        )
        for alert in ReadingsService(context).alerts(patient_id, open_only=True)
    ]


def _change(measure: Measure, value: LatestValue, unit: str | None) -> str:
    change, previous = value.change, value.previous
    if change is None or previous is None:
        return FIRST_READING
    amount = shown_value(measure, abs(change), unit)
    return f"{_signed(amount, change)} since {_day(previous)}"


def _signed(amount: str, change: float) -> str:
    """ "+2.6 kg", "-1.0 kg", or "no change" when the shown amount is zero."""
    if not any(digit in "123456789" for digit in amount.split(" ")[0]):
        return "no change"
    return f"{'+' if change > 0 else '-'}{amount}"


def _pressure_row(systolic: LatestValue, diastolic: LatestValue) -> Row:
    """ "Blood pressure", "148/92 mmHg", when, "+6/-2 mmHg since ..." (against the pair before;
    nothing to compare when the readings before were not taken together)."""
    words = info(Measure.systolic).unit_words
    latest = f"{_mmhg(systolic.latest)}/{_mmhg(diastolic.latest)} {words}"
    before_systolic, before_diastolic = systolic.previous, diastolic.previous
    if before_systolic is None and before_diastolic is None:
        change = FIRST_READING
    elif (
        before_systolic is not None
        and before_diastolic is not None
        and before_systolic.taken_at == before_diastolic.taken_at
    ):
        up = _pressure_change(systolic.latest.measure_value - before_systolic.measure_value)
        down = _pressure_change(diastolic.latest.measure_value - before_diastolic.measure_value)
        change = f"{up}/{down} {words} since {_day(before_systolic)}"
    else:
        change = ""
    return (VITALS, Measure.blood_pressure.label, latest, systolic.latest.taken_at, change)


def _mmhg(reading: ReadingRead) -> str:
    return number(reading.measure_value, 0)


def _pressure_change(change: float) -> str:
    shown = number(abs(change), 0)
    if shown == "0":
        return "±0"
    return f"{'+' if change > 0 else '-'}{shown}"


def _day(reading: ReadingRead) -> str:
    return reading.taken_at.date().isoformat()


__all__ = ["READING_ALERT", "VITALS", "alert_rows", "vitals_rows"]
