"""Thresholds: which readings put a patient on Today, and the words that say why.

Every rule below has a default a clinic can change in config.toml (``[thresholds]``)
and a nurse can change for one patient with a reason (a COPD patient who retains
carbon dioxide has a lower oxygen target). A rule is either a level (one reading
above or below a limit) or a weight gain over a window. Comparisons are exactly
as written: "at or above" includes the limit, "above" and "below" do not.

Sources of the defaults:
- Weight gain more than 0.9 kg (2 lb) in a day or 2.3 kg (5 lb) in a week: the
  heart-failure self-care guidance patients are taught (American Heart
  Association, "Managing Heart Failure Symptoms"; 2022 AHA/ACC/HFSA Guideline
  for the Management of Heart Failure, self-care: daily weights). Weights are
  compared morning to morning: the first reading of each day stands for the day,
  so a second, after-breakfast weighing is never read as a gain.
- Systolic at or above 180 or diastolic at or above 120 mmHg: severe
  hypertension (2017 ACC/AHA High Blood Pressure Guideline, "hypertensive
  crisis", > 180 and/or > 120). The clinic default includes the boundary: a
  reading of exactly 180 gets a call rather than none.
- Systolic below 90 mmHg: hypotension (the usual clinical definition).
- Oxygen saturation below 90 %: BTS Guideline for Oxygen Use in Adults (2017)
  targets 94-98 %, 88-92 % for patients at risk of hypercapnic respiratory
  failure; below 90 calls for a review. A retainer's lower target is a
  per-patient override.
- Glucose below 70 mg/dL (3.9 mmol/L): level 1 hypoglycaemia (ADA Standards of
  Care in Diabetes, section 6); above 300 mg/dL: the clinic's call-the-provider
  level for hyperglycaemia.
- HbA1c above 9 %: poor control (NCQA HEDIS "Glycemic Status Assessment for
  Patients With Diabetes", > 9.0 %).
- Heart rate below 50 or above 120 per minute: the clinic default of issue 20
  (bradycardia below 50 is ACLS's symptomatic threshold).

Urgent rules rank with the urgent signals on Today (DESIGN.md "The worklist",
group 1: urgent vital-sign breaches); the others rank with the due work. Nothing
here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from nursecase.domain.codes import Measure, ThresholdRule
from nursecase.domain.measures import LABORATORY, MEASURES, info, number, shown_value


class Comparison(StrEnum):
    """How a rule compares a reading with its limit."""

    at_or_above = "at-or-above"
    above = "above"
    below = "below"
    #: The day's weight minus the previous day's, more than the limit.
    gain_in_a_day = "gain-in-a-day"
    #: The day's weight minus the lowest of the 7 days before it, more than the limit.
    gain_in_a_week = "gain-in-a-week"


@dataclass(frozen=True)
class RuleDefinition:
    """One threshold rule with its clinic default."""

    rule: ThresholdRule
    #: The measure the rule reads.
    measure: Measure
    comparison: Comparison
    limit: float
    urgent: bool


DEFAULT_RULES: dict[ThresholdRule, RuleDefinition] = {
    definition.rule: definition
    for definition in (
        RuleDefinition(
            ThresholdRule.weight_gain_day, Measure.weight, Comparison.gain_in_a_day, 0.9, True
        ),
        RuleDefinition(
            ThresholdRule.weight_gain_week, Measure.weight, Comparison.gain_in_a_week, 2.3, True
        ),
        RuleDefinition(
            ThresholdRule.systolic_high, Measure.systolic, Comparison.at_or_above, 180, True
        ),
        RuleDefinition(
            ThresholdRule.diastolic_high, Measure.diastolic, Comparison.at_or_above, 120, True
        ),
        RuleDefinition(ThresholdRule.systolic_low, Measure.systolic, Comparison.below, 90, True),
        RuleDefinition(
            ThresholdRule.oxygen_low, Measure.oxygen_saturation, Comparison.below, 90, True
        ),
        RuleDefinition(ThresholdRule.glucose_low, Measure.glucose, Comparison.below, 70, True),
        RuleDefinition(ThresholdRule.glucose_high, Measure.glucose, Comparison.above, 300, True),
        RuleDefinition(ThresholdRule.hba1c_high, Measure.hba1c, Comparison.above, 9, False),
        RuleDefinition(
            ThresholdRule.heart_rate_low, Measure.heart_rate, Comparison.below, 50, True
        ),
        RuleDefinition(
            ThresholdRule.heart_rate_high, Measure.heart_rate, Comparison.above, 120, True
        ),
    )
}

#: A gain is compared with the day before (a day) and the 7 days before (a week).
WEEK_DAYS = 7

#: A reading older than this when it arrives is history: it is charted but
#: raises no alert (a blood pressure of 2019 is not today's work). Home and
#: office vital signs are acted on within days; a laboratory result can
#: reach the chart a few weeks after it was drawn.
RECENT_DAYS_VITAL_SIGNS = 7
RECENT_DAYS_LABORATORY = 30


@dataclass(frozen=True)
class RuleLimit:
    """A rule's limit and urgency as they apply to one patient."""

    limit: float
    urgent: bool
    #: The nurse's reason when the limit is this patient's own; None for the default.
    reason: str | None = None


def default_limits(
    clinic: Mapping[ThresholdRule, RuleLimit] | None = None,
) -> dict[ThresholdRule, RuleLimit]:
    """Every rule's limit: the defaults above, with the clinic's config.toml on top."""
    limits = {
        rule: RuleLimit(definition.limit, definition.urgent)
        for rule, definition in DEFAULT_RULES.items()
    }
    limits.update(clinic or {})
    return limits


def patient_limits(
    clinic: Mapping[ThresholdRule, RuleLimit],
    overrides: Iterable[tuple[str, float, str]],
) -> dict[ThresholdRule, RuleLimit]:
    """One patient's limits: the clinic's, with the patient's own (rule, limit, reason) on top.

    An override keeps the rule's urgency; only the limit is the patient's.
    """
    limits = dict(clinic)
    for rule_code, limit, reason in overrides:
        rule = ThresholdRule(rule_code)
        limits[rule] = RuleLimit(limit, limits[rule].urgent, reason)
    return limits


@dataclass(frozen=True)
class Point:
    """One reading in the measure's own unit."""

    taken_at: datetime
    value: float


@dataclass(frozen=True)
class Finding:
    """What the readings at one moment breach, for one alert measure.

    ``measure`` is what the alert is about (blood pressure for the systolic and
    diastolic rules); ``why`` is the words for Today ("weight +2.6 kg in 5 d",
    "BP 184/96 high").
    """

    measure: Measure
    rules: tuple[ThresholdRule, ...]
    urgent: bool
    why: str
    taken_at: datetime


def alert_measure(measure: Measure) -> Measure:
    """The measure an alert speaks of: blood pressure for either of its parts."""
    if measure in (Measure.systolic, Measure.diastolic):
        return Measure.blood_pressure
    return Measure(measure)


def rules_reading(measure: Measure) -> tuple[ThresholdRule, ...]:
    """The rules that read a measure (an alert measure: blood pressure reads both parts)."""
    parts = (
        (Measure.systolic, Measure.diastolic)
        if measure is Measure.blood_pressure
        else (Measure(measure),)
    )
    return tuple(rule for rule, definition in DEFAULT_RULES.items() if definition.measure in parts)


def limit_words(rule: ThresholdRule, limit: RuleLimit, unit_words: str | None = None) -> str:
    """A limit as a nurse reads it: "systolic pressure 180 mmHg or more", "weight gain over
    0.9 kg in a day"; in ``unit_words`` when the clinic shows the measure in another unit
    ("glucose under 3.9 mmol/L", see ``measures.shown_value``)."""
    definition = DEFAULT_RULES[rule]
    value = shown_value(definition.measure, limit.limit, unit_words)
    name = definition.measure.label.lower() if definition.measure is not Measure.hba1c else "HbA1c"
    if definition.comparison is Comparison.gain_in_a_day:
        return f"weight gain over {value} in a day"
    if definition.comparison is Comparison.gain_in_a_week:
        return f"weight gain over {value} in a week"
    if definition.comparison is Comparison.at_or_above:
        return f"{name} {value} or more"
    if definition.comparison is Comparison.above:
        return f"{name} over {value}"
    return f"{name} under {value}"


def _level_breached(comparison: Comparison, value: float, limit: float) -> bool:
    if comparison is Comparison.at_or_above:
        return value >= limit
    if comparison is Comparison.above:
        return value > limit
    if comparison is Comparison.below:
        return value < limit
    raise ValueError(f"not a level comparison: {comparison}")


def daily_weights(points: Iterable[Point]) -> dict[date, Point]:
    """The first weighing of each day: it stands for the day (morning to morning)."""
    days: dict[date, Point] = {}
    for point in sorted(points, key=lambda point: point.taken_at):
        days.setdefault(point.taken_at.date(), point)
    return days


def weight_gains(
    points: Iterable[Point], day: date, limits: Mapping[ThresholdRule, RuleLimit]
) -> list[tuple[ThresholdRule, float, int]]:
    """The weight-gain rules breached on ``day``: (rule, gain in kg, over how many days).

    The day rule needs a weighing the day before; the week rule compares with
    the lowest daily weight of the 7 days before (the latest of equal lows, so
    the span said is the shortest the gain took). Missing days are simply not
    there: a gain is never spread over days nobody weighed.
    """
    days = daily_weights(points)
    today_point = days.get(day)
    if today_point is None:
        return []
    breached: list[tuple[ThresholdRule, float, int]] = []
    yesterday = days.get(day - timedelta(days=1))
    day_limit = limits[ThresholdRule.weight_gain_day].limit
    if yesterday is not None and today_point.value - yesterday.value > day_limit:
        breached.append((ThresholdRule.weight_gain_day, today_point.value - yesterday.value, 1))
    week = [
        (earlier_day, point)
        for earlier_day, point in days.items()
        if day - timedelta(days=WEEK_DAYS) <= earlier_day < day
    ]
    if week:
        lowest = min(point.value for _day, point in week)
        low_day = max(earlier_day for earlier_day, point in week if point.value == lowest)
        gain = today_point.value - lowest
        if gain > limits[ThresholdRule.weight_gain_week].limit:
            breached.append((ThresholdRule.weight_gain_week, gain, (day - low_day).days))
    return breached


def _gain_words(gain: float, days: int, unit_words: str | None) -> str:
    shown = shown_value(Measure.weight, gain, unit_words)
    return f"+{shown} in {days} d"


def find_breach(
    measure: Measure,
    history: Mapping[Measure, Sequence[Point]],
    at: datetime,
    limits: Mapping[ThresholdRule, RuleLimit],
    weight_unit: str | None = None,
) -> Finding | None:
    """What the readings taken at ``at`` breach for the alert ``measure``, or None.

    ``history`` holds the patient's readings by stored measure (for weight, at
    least the 8 days up to ``at``; for blood pressure, both parts). Level rules
    read the reading taken exactly at ``at``; the weight rules read the day of
    ``at`` against the days before.
    """
    measure = alert_measure(measure)
    rules: list[ThresholdRule] = []
    urgent = False
    if measure is Measure.weight:
        gains = weight_gains(history.get(Measure.weight, ()), at.date(), limits)
        if not gains:
            return None
        words = ", ".join(_gain_words(gain, days, weight_unit) for _rule, gain, days in gains)
        rules = [rule for rule, _gain, _days in gains]
        # The day's first weighing is the reading that breached: a later one
        # the same day is the same day's weight, never a new breach.
        first_of_day = daily_weights(history.get(Measure.weight, ()))[at.date()]
        return Finding(
            measure,
            tuple(rules),
            any(limits[rule].urgent for rule in rules),
            f"weight {words}",
            first_of_day.taken_at,
        )
    values: dict[Measure, float] = {}
    parts = (
        (Measure.systolic, Measure.diastolic) if measure is Measure.blood_pressure else (measure,)
    )
    for part in parts:
        for point in history.get(part, ()):
            if point.taken_at == at:
                values[part] = point.value
    directions: list[str] = []
    for rule in rules_reading(measure):
        definition = DEFAULT_RULES[rule]
        value = values.get(definition.measure)
        if value is None:
            continue
        if _level_breached(definition.comparison, value, limits[rule].limit):
            rules.append(rule)
            urgent = urgent or limits[rule].urgent
            direction = "low" if definition.comparison is Comparison.below else "high"
            if direction not in directions:
                directions.append(direction)
    if not rules:
        return None
    return Finding(measure, tuple(rules), urgent, _level_words(measure, values, directions), at)


def _level_words(measure: Measure, values: Mapping[Measure, float], directions: list[str]) -> str:
    """ "BP 184/96 high", "SpO2 87 % low", "glucose 62 mg/dL low", "HbA1c 10.4 % high"."""
    direction = " and ".join(directions)
    if measure is Measure.blood_pressure:
        systolic = values.get(Measure.systolic)
        diastolic = values.get(Measure.diastolic)
        if systolic is not None and diastolic is not None:
            return f"BP {number(systolic, 0)}/{number(diastolic, 0)} {direction}"
        part = Measure.systolic if systolic is not None else Measure.diastolic
        return f"{part.label.lower()} {shown_value(part, values[part])} {direction}"
    facts = MEASURES[measure]
    value = values[measure]
    return f"{facts.short} {shown_value(measure, value)} {direction}"


def recent_days(measure: Measure) -> int:
    """How old a reading may be when it arrives and still raise an alert."""
    if measure is not Measure.blood_pressure and info(measure).category == LABORATORY:
        return RECENT_DAYS_LABORATORY
    return RECENT_DAYS_VITAL_SIGNS


def is_recent(measure: Measure, taken_at: datetime, today: date) -> bool:
    """True when a reading is recent enough to raise an alert (see ``RECENT_DAYS_*``)."""
    return (today - taken_at.date()).days <= recent_days(alert_measure(measure))
