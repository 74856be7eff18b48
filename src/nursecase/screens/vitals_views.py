"""What the Vitals & labs tab shows, as words and table rows built from the readings' read models.

Pure functions of the read models (``services.readings``), the display units
of config.toml and the day, so that the tab only places them and the tests can
check the wording without a terminal. Blood pressure is one row, one chart and
one reading per moment ("148/92 mmHg"), though it is stored as its two parts.

Values are shown in the measure's unit, or in the unit the clinic shows it in
(``weight_unit = "lb"``, ``glucose_unit = "mmol/L"``): the latest values, the
changes, the limits, the chart and its threshold lines alike. A reading that
arrived in another unit also shows its value as the source sent it.

The threshold lines of the chart: a level rule (systolic 180 or more, oxygen
under 90 %) is a line at its limit. The weight rules are gains, not levels: they
are drawn where the NEXT weighing would breach them, the latest day's first
weighing plus the day's limit, and the lowest daily weight of the last seven
days plus the week's (``domain.thresholds.weight_gains`` reads the next day
against exactly those), so the nurse sees how much room is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from rich.text import Text

from nursecase.domain.codes import Measure, ReadingSource, ThresholdRule, label_of
from nursecase.domain.measures import BLOOD_PRESSURE_PARTS, DISPLAY_UNITS, info, number
from nursecase.domain.measures import shown_value as measure_value_words
from nursecase.domain.terminal_text import printable
from nursecase.domain.thresholds import (
    DEFAULT_RULES,
    WEEK_DAYS,
    Comparison,
    Point,
    RuleLimit,
    alert_measure,
    daily_weights,
    limit_words,
    rules_reading,
)
from nursecase.domain.wording import initial_and_surname

if TYPE_CHECKING:
    from nursecase.services.readings import AlertRead, LatestValue, LimitRead, ReadingRead
    from nursecase.widgets.trend_chart import TrendLine, TrendSeries

#: The chart's windows, in the order the window key steps through them (days).
WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
#: The longest window: a measure's readings are read once for it, the others cut from them.
LONGEST_WINDOW = max(WINDOWS)

#: The columns of the two tables, and the ones holding text (cut at a word to fit).
LATEST_COLUMNS = ("Measure", "Latest", "Change", "When", "Source", "Limits")
LATEST_TEXT = ("Change", "Source", "Limits")
READING_COLUMNS = ("When", "Reading", "Received", "Source")

#: UCUM units as a nurse reads them ("mm[Hg]" is "mmHg"); any other unit is shown as sent.
UNIT_WORDS = {
    "mm[hg]": "mmHg",
    "[lb_av]": "lb",
    "lbs": "lb",
    "cel": "°C",
    "[degf]": "°F",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "1/min": "/min",
    "ml/min/{1.73_m2}": "mL/min/1.73 m²",
}

ALERT_STYLES = {True: "bold red", False: "yellow"}
RISE, FALL = "▲", "▼"


@dataclass(frozen=True)
class VitalsRead:
    """What one read of the tab brings: latest values, limits, open alerts, one measure's readings.

    ``series`` holds ``measure``'s readings of the longest window (blood
    pressure: both parts), oldest first; ``now`` is the moment the windows end.
    """

    patient_id: int
    latest: tuple[LatestValue, ...]
    limits: tuple[LimitRead, ...]
    alerts: tuple[AlertRead, ...]
    measure: Measure | None
    series: tuple[ReadingRead, ...]
    now: datetime


def display_units(weight_unit: str, glucose_unit: str) -> dict[Measure, str]:
    """The units config.toml shows weights and glucose in, by measure."""
    return {Measure.weight: weight_unit, Measure.glucose: glucose_unit}


def unit_of(measure: Measure, units: Mapping[Measure, str]) -> str:
    """The unit a measure is shown in: the clinic's choice when it is one, else its own."""
    part = BLOOD_PRESSURE_PARTS[0] if measure is Measure.blood_pressure else measure
    wanted = units.get(part)
    own = info(part).unit_words
    return wanted if wanted in DISPLAY_UNITS.get(part, {}) else own


def in_unit(measure: Measure, value: float, units: Mapping[Measure, str]) -> float:
    """A value of the measure's own unit in the unit it is shown in, rounded as it is shown
    (the chart's numbers are the ones the tables show: 185.4 lb, not 185.4088)."""
    conversions = DISPLAY_UNITS.get(measure, {})
    unit = unit_of(measure, units)
    shown = conversions[unit](value) if unit in conversions else value
    decimals = len(measure_value_words(measure, 0.0, unit).split(" ", 1)[0].partition(".")[2])
    return round(shown, decimals)


def value_words(measure: Measure, value: float, units: Mapping[Measure, str]) -> str:
    """A value of the measure's own unit as the nurse reads it: "82.4 kg", "181.7 lb"."""
    return measure_value_words(measure, value, unit_of(measure, units))


def moment_words(moment: datetime, today: date) -> str:
    """ "27 Nov 08:15", "27 Nov" for a day without a time, "27 Nov 2025" for another year."""
    if moment.year != today.year:
        return f"{moment:%d %b %Y}"
    if moment.hour == 0 and moment.minute == 0:
        return f"{moment:%d %b}"
    return f"{moment:%d %b %H:%M}"


def span_words(earlier: datetime, later: datetime) -> str:
    """How long between two readings: "3 d" by calendar days, "5 h" or "20 min" within a day."""
    days = (later.date() - earlier.date()).days
    if days >= 1:
        return f"{days} d"
    minutes = max(0, int((later - earlier).total_seconds() // 60))
    return f"{minutes // 60} h" if minutes >= 60 else f"{minutes} min"


def source_words(reading: ReadingRead) -> str:
    """Where a reading came from: "Home device", "Imported", "Keyed by A. Moreno" (the
    nurse who keyed it, named where the label says "Keyed by a nurse")."""
    if reading.source == ReadingSource.keyed and reading.entered_by:
        return f"Keyed by {initial_and_surname(printable(reading.entered_by))}"
    return label_of(ReadingSource, reading.source)


def received_unit(reading: ReadingRead) -> str:
    """The unit the source sent, in a nurse's words ("mm[Hg]" is "mmHg", "[lb_av]" is "lb")."""
    return UNIT_WORDS.get("".join(reading.unit.split()).lower(), printable(reading.unit))


def received_words(reading: ReadingRead) -> str:
    """The value and unit as the source sent them, the unit in a nurse's words ("181.5 lb")."""
    value = reading.value
    shown = str(int(value)) if value == int(value) else f"{value:.4f}".rstrip("0").rstrip(".")
    return f"{shown} {received_unit(reading)}"


def received_if_other(reading: ReadingRead, shown: str) -> str:
    """The reading as received, or "" when it reads as ``shown`` ("82 kg" is "82.0 kg")."""
    number_shown, _, unit_shown = shown.partition(" ")
    if received_unit(reading) == unit_shown and float(number_shown) == round(
        reading.value, len(number_shown.partition(".")[2])
    ):
        return ""
    return received_words(reading)


def _arrow(measure: Measure, change: float, units: Mapping[Measure, str]) -> str:
    """ "▲" for a rise, "▼" for a fall, "=" for a change that shows as none."""
    amount = value_words(measure, abs(change), units).split(" ", 1)[0]
    if float(amount) == 0:
        return "="
    return RISE if change > 0 else FALL


def _change_part(measure: Measure, change: float, units: Mapping[Measure, str]) -> str:
    """ "▲ 0.4 kg", "▼ 2 mmHg", "= 0 kg": one measure's change with its direction."""
    return f"{_arrow(measure, change, units)} {value_words(measure, abs(change), units)}"


@dataclass(frozen=True)
class LatestRow:
    """One row of the latest-values table: blood pressure's two parts are one row."""

    measure: Measure
    latest: ReadingRead
    #: The diastolic reading beside a systolic one (blood pressure only).
    diastolic: ReadingRead | None
    change: str


def latest_rows(latest: Iterable[LatestValue], units: Mapping[Measure, str]) -> list[LatestRow]:
    """Each measure's latest reading and its change, blood pressure as one row where it sits."""
    values = {Measure(value.measure): value for value in latest}
    rows: list[LatestRow] = []
    for measure in Measure:
        if measure is Measure.blood_pressure:
            systolic = values.get(Measure.systolic)
            diastolic = values.get(Measure.diastolic)
            if systolic is None and diastolic is None:
                continue
            rows.append(_pressure_row(systolic, diastolic, units))
        elif measure not in BLOOD_PRESSURE_PARTS and measure in values:
            value = values[measure]
            change = ""
            if value.previous is not None and value.change is not None:
                change = (
                    f"{_change_part(measure, value.change, units)} in "
                    f"{span_words(value.previous.taken_at, value.latest.taken_at)}"
                )
            rows.append(LatestRow(measure, value.latest, None, change))
    return rows


def _pressure_row(
    systolic: LatestValue | None, diastolic: LatestValue | None, units: Mapping[Measure, str]
) -> LatestRow:
    """Blood pressure's row: the latest systolic with the diastolic of the same moment."""
    main = systolic or diastolic
    assert main is not None
    paired = (
        diastolic.latest
        if systolic is not None
        and diastolic is not None
        and diastolic.latest.taken_at == systolic.latest.taken_at
        else None
    )
    change = ""
    if systolic is not None and systolic.previous is not None and systolic.change is not None:
        span = span_words(systolic.previous.taken_at, systolic.latest.taken_at)
        change = _change_part(Measure.systolic, systolic.change, units)
        if (
            paired is not None
            and diastolic is not None
            and diastolic.previous is not None
            and diastolic.change is not None
            and diastolic.previous.taken_at == systolic.previous.taken_at
        ):
            # "▲ 6/▼ 2 mmHg": each part's direction, the unit once.
            arrow = _arrow(Measure.diastolic, diastolic.change, units)
            change = change.removesuffix(" mmHg")
            change += f"/{arrow} {number(abs(diastolic.change), 0)} mmHg"
        change += f" in {span}"
    return LatestRow(Measure.blood_pressure, main.latest, paired, change)


def latest_value_words(row: LatestRow, units: Mapping[Measure, str]) -> str:
    """The latest value: "82.4 kg", "148/92 mmHg" (a lone part names itself)."""
    if row.measure is Measure.blood_pressure:
        if row.diastolic is not None:
            systolic, diastolic = row.latest.measure_value, row.diastolic.measure_value
            return f"{number(systolic, 0)}/{number(diastolic, 0)} mmHg"
        part = Measure(row.latest.measure)
        short = "systolic" if part is Measure.systolic else "diastolic"
        return f"{short} {value_words(part, row.latest.measure_value, units)}"
    return value_words(row.measure, row.latest.measure_value, units)


def limits_by_rule(limits: Iterable[LimitRead]) -> dict[ThresholdRule, LimitRead]:
    """The patient's limits, by rule."""
    return {ThresholdRule(limit.rule): limit for limit in limits}


def rule_words(rule: ThresholdRule, limit: LimitRead, units: Mapping[Measure, str]) -> str:
    """One rule as the patient has it; the patient's own limit like a risk override:
    "own limit: oxygen saturation under 88 % — COPD, retains CO2 (Alice Moreno, 27 Nov)"."""
    measure = DEFAULT_RULES[rule].measure
    words = limit_words(rule, RuleLimit(limit.limit, limit.urgent), unit_of(measure, units))
    if limit.reason is None:
        return words
    who = [printable(limit.set_by)] if limit.set_by else []
    if limit.set_at is not None:
        who.append(f"{limit.set_at:%d %b}")
    set_words = f" ({', '.join(who)})" if who else ""
    return f"own limit: {words} — {printable(limit.reason)}{set_words}"


def measure_limits(
    measure: Measure,
    limits: Mapping[ThresholdRule, LimitRead],
    units: Mapping[Measure, str],
    own_first: bool = False,
) -> list[str]:
    """The words of every limit that reads the measure (blood pressure: both parts)."""
    rules = [rule for rule in rules_reading(alert_measure(measure)) if rule in limits]
    if own_first:
        rules.sort(key=lambda rule: limits[rule].reason is None)
    return [rule_words(rule, limits[rule], units) for rule in rules]


def latest_table_rows(
    rows: Sequence[LatestRow],
    limits: Mapping[ThresholdRule, LimitRead],
    units: Mapping[Measure, str],
    today: date,
) -> list[tuple[str, ...]]:
    """The latest-values table: measure, value, change, when, source, limits."""
    return [
        (
            row.measure.label,
            latest_value_words(row, units),
            row.change,
            moment_words(row.latest.taken_at, today),
            source_words(row.latest),
            # The patient's own limits first: the table cuts what does not fit.
            "; ".join(measure_limits(row.measure, limits, units, own_first=True)) or "none",
        )
        for row in rows
    ]


def limits_line(
    measure: Measure, limits: Mapping[ThresholdRule, LimitRead], units: Mapping[Measure, str]
) -> Text:
    """The highlighted measure's limits in full (the table cuts them to fit)."""
    words = measure_limits(measure, limits, units)
    line = Text(f"{measure.label} limits: ", style="bold")
    line.append("; ".join(words) if words else "none: no rule reads this measure")
    return line


def alert_lines(alerts: Iterable[AlertRead], today: date) -> Text:
    """The open alerts, one a line, each in its words: "Urgent: weight +2.6 kg in 5 d (...)"."""
    lines = Text()
    for alert in alerts:
        if lines:
            lines.append("\n")
        kind = "Urgent" if alert.urgent else "Alert"
        lines.append(f"{kind}: {printable(alert.why)}", style=ALERT_STYLES[alert.urgent])
        lines.append(f"  (reading of {moment_words(alert.reading_at, today)})")
    return lines


def in_window(series: Iterable[ReadingRead], start: datetime, end: datetime) -> list[ReadingRead]:
    """The readings taken from ``start`` to ``end``, oldest first."""
    return [reading for reading in series if start <= reading.taken_at <= end]


def reading_rows(
    measure: Measure,
    series: Sequence[ReadingRead],
    units: Mapping[Measure, str],
    today: date,
) -> list[tuple[str, ...]]:
    """The readings table, newest first: when, reading, as received (if it differs), source.

    The "Received" column holds the value and unit as the source sent them,
    when they read otherwise than the reading ("181.5 lb" beside "82.3 kg").

    Blood pressure is one row per moment, "148/92 mmHg".
    """
    rows: list[tuple[str, ...]] = []
    if measure is Measure.blood_pressure:
        moments: dict[datetime, dict[Measure, ReadingRead]] = {}
        for reading in series:
            moments.setdefault(reading.taken_at, {})[Measure(reading.measure)] = reading
        for moment in sorted(moments, reverse=True):
            parts = moments[moment]
            systolic, diastolic = parts.get(Measure.systolic), parts.get(Measure.diastolic)
            first = systolic or diastolic
            assert first is not None
            if systolic is not None and diastolic is not None:
                shown = f"{number(systolic.measure_value, 0)}/{number(diastolic.measure_value, 0)}"
                shown += " mmHg"
                other = received_if_other(systolic, f"{number(systolic.measure_value, 0)} mmHg")
                other += received_if_other(diastolic, f"{number(diastolic.measure_value, 0)} mmHg")
                received = (
                    f"{received_words(systolic).split(' ')[0]}/{received_words(diastolic)}"
                    if other
                    else ""
                )
            else:
                part = Measure(first.measure)
                short = "systolic" if part is Measure.systolic else "diastolic"
                value = value_words(part, first.measure_value, units)
                shown = f"{short} {value}"
                other = received_if_other(first, value)
                received = f"{short} {other}" if other else ""
            rows.append((moment_words(moment, today), shown, received, source_words(first)))
        return rows
    for reading in sorted(series, key=lambda reading: (reading.taken_at, reading.id), reverse=True):
        shown = value_words(measure, reading.measure_value, units)
        rows.append(
            (
                moment_words(reading.taken_at, today),
                shown,
                received_if_other(reading, shown),
                source_words(reading),
            )
        )
    return rows


def _urgency(limit: LimitRead) -> str:
    kind = "Urgent" if limit.urgent else "Alert"
    return f"{kind} (own limit)" if limit.reason is not None else kind


def threshold_lines(
    measure: Measure,
    series: Sequence[ReadingRead],
    limits: Mapping[ThresholdRule, LimitRead],
    units: Mapping[Measure, str],
) -> list[tuple[str, float]]:
    """The chart's threshold lines as (words, value in the shown unit).

    A level rule is a line at its limit ("Urgent: systolic pressure 180 mmHg or
    more"); the weight-gain rules are drawn where the next weighing would
    breach them (see the module docstring), only when there are weights.
    """
    lines: list[tuple[str, float]] = []
    for rule in rules_reading(alert_measure(measure)):
        limit = limits.get(rule)
        if limit is None:
            continue
        definition = DEFAULT_RULES[rule]
        if definition.comparison in (Comparison.gain_in_a_day, Comparison.gain_in_a_week):
            line = _weight_line(rule, series, limit, units)
            if line is not None:
                lines.append(line)
            continue
        words = limit_words(
            rule, RuleLimit(limit.limit, limit.urgent), unit_of(definition.measure, units)
        )
        lines.append(
            (f"{_urgency(limit)}: {words}", in_unit(definition.measure, limit.limit, units))
        )
    return lines


def _weight_line(
    rule: ThresholdRule,
    series: Sequence[ReadingRead],
    limit: LimitRead,
    units: Mapping[Measure, str],
) -> tuple[str, float] | None:
    """Where the next weighing breaches a weight-gain rule, in words and the shown unit."""
    days = daily_weights(Point(reading.taken_at, reading.measure_value) for reading in series)
    if not days:
        return None
    last_day = max(days)
    gain = value_words(Measure.weight, limit.limit, units)
    if DEFAULT_RULES[rule].comparison is Comparison.gain_in_a_day:
        base = days[last_day].value
        since = "in a day"
    else:
        first_day = last_day - timedelta(days=WEEK_DAYS - 1)
        base = min(point.value for day, point in days.items() if first_day <= day <= last_day)
        since = "in a week"
    level = base + limit.limit
    return (
        f"{_urgency(limit)}: next weight over {value_words(Measure.weight, level, units)} "
        f"(+{gain} {since})",
        in_unit(Measure.weight, level, units),
    )


def chart_title(measure: Measure, days: int) -> str:
    """The chart's heading before its unit: "Weight, last 30 days"."""
    return f"{measure.label}, last {days} days"


def trend_series(
    measure: Measure, series: Sequence[ReadingRead], units: Mapping[Measure, str]
) -> list[TrendSeries]:
    """The chart's series in the shown unit: one, or blood pressure's systolic and diastolic.

    Imports the chart module: call it once the tab's read has imported it.
    """
    from nursecase.widgets.trend_chart import TrendPoint, TrendSeries

    parts = BLOOD_PRESSURE_PARTS if measure is Measure.blood_pressure else (measure,)
    return [
        TrendSeries(
            "Systolic"
            if part is Measure.systolic
            else "Diastolic"
            if part is Measure.diastolic
            else part.label,
            [
                TrendPoint(reading.taken_at, in_unit(part, reading.measure_value, units))
                for reading in series
                if reading.measure == part.value
            ],
        )
        for part in parts
    ]


def trend_lines(lines: Iterable[tuple[str, float]]) -> list[TrendLine]:
    """The threshold lines as the chart takes them (imports the chart module, as above)."""
    from nursecase.widgets.trend_chart import TrendLine

    return [TrendLine(words, value) for words, value in lines]


__all__ = [
    "DEFAULT_WINDOW",
    "LONGEST_WINDOW",
    "WINDOWS",
    "LatestRow",
    "VitalsRead",
    "alert_lines",
    "chart_title",
    "display_units",
    "in_window",
    "latest_rows",
    "latest_table_rows",
    "limits_by_rule",
    "limits_line",
    "moment_words",
    "reading_rows",
    "received_words",
    "threshold_lines",
    "trend_lines",
    "trend_series",
]
