"""Threshold rules at their boundaries, and weight gain over irregular series."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nursecase.domain.codes import Measure, ThresholdRule
from nursecase.domain.thresholds import (
    Point,
    RuleLimit,
    default_limits,
    find_breach,
    is_recent,
    limit_words,
    patient_limits,
    weight_gains,
)

NOW = datetime(2026, 11, 27, 8, 0)
LIMITS = default_limits()


def level(measure: Measure, value: float, limits=LIMITS):
    return find_breach(measure, {measure: [Point(NOW, value)]}, NOW, limits)


def pressure(systolic: float | None, diastolic: float | None):
    history = {}
    if systolic is not None:
        history[Measure.systolic] = [Point(NOW, systolic)]
    if diastolic is not None:
        history[Measure.diastolic] = [Point(NOW, diastolic)]
    return find_breach(Measure.systolic, history, NOW, LIMITS)


@pytest.mark.parametrize(
    ("measure", "value", "breached"),
    [
        # Oxygen saturation below 90 (BTS 2017): 90 itself is not a breach.
        (Measure.oxygen_saturation, 90, False),
        (Measure.oxygen_saturation, 89.9, True),
        # Glucose below 70 or above 300 mg/dL (ADA level 1 hypoglycaemia; clinic high).
        (Measure.glucose, 70, False),
        (Measure.glucose, 69, True),
        (Measure.glucose, 300, False),
        (Measure.glucose, 301, True),
        # HbA1c above 9 % (HEDIS poor control).
        (Measure.hba1c, 9.0, False),
        (Measure.hba1c, 9.1, True),
        # Heart rate below 50 or above 120.
        (Measure.heart_rate, 50, False),
        (Measure.heart_rate, 49, True),
        (Measure.heart_rate, 120, False),
        (Measure.heart_rate, 121, True),
        # Measures with no rule never breach.
        (Measure.temperature, 41, False),
        (Measure.potassium, 6.8, False),
    ],
)
def test_level_rules_at_their_boundaries(measure, value, breached):
    assert (level(measure, value) is not None) is breached


@pytest.mark.parametrize(
    ("systolic", "diastolic", "why", "rules"),
    [
        # At or above 180/120 (2017 ACC/AHA severe hypertension, boundary included).
        (180, 100, "BP 180/100 high", ("systolic-high",)),
        (179, 119, None, ()),
        (150, 120, "BP 150/120 high", ("diastolic-high",)),
        (184, 121, "BP 184/121 high", ("systolic-high", "diastolic-high")),
        # Systolic below 90: 90 is not low.
        (90, 60, None, ()),
        (89, 60, "BP 89/60 low", ("systolic-low",)),
        # One part alone still breaches, named in words.
        (185, None, "systolic pressure 185 mmHg high", ("systolic-high",)),
    ],
)
def test_blood_pressure_rules_read_both_parts(systolic, diastolic, why, rules):
    finding = pressure(systolic, diastolic)
    if why is None:
        assert finding is None
        return
    assert finding.measure is Measure.blood_pressure
    assert finding.why == why
    assert tuple(rule.value for rule in finding.rules) == rules
    assert finding.urgent


def test_level_words_name_the_measure_value_and_direction():
    assert level(Measure.oxygen_saturation, 87).why == "SpO2 87 % low"
    assert level(Measure.glucose, 62).why == "glucose 62 mg/dL low"
    assert level(Measure.hba1c, 10.4).why == "HbA1c 10.4 % high"
    assert level(Measure.heart_rate, 132).why == "HR 132 bpm high"
    assert level(Measure.hba1c, 10.4).urgent is False  # ranked with the due work


def weights(*days_and_values, hour=7):
    """(days before NOW, kg) pairs as points at ``hour`` o'clock."""
    return [
        Point((NOW - timedelta(days=days)).replace(hour=hour), value)
        for days, value in days_and_values
    ]


def gains(points, limits=LIMITS):
    return [
        (rule.value, round(gain, 2), span)
        for rule, gain, span in weight_gains(points, NOW.date(), limits)
    ]


def test_a_day_gain_needs_more_than_the_limit_and_a_weighing_the_day_before():
    assert gains(weights((1, 80.0), (0, 80.9))) == []  # exactly 0.9: not over
    assert gains(weights((1, 80.0), (0, 81.0))) == [("weight-gain-day", 1.0, 1)]
    # Yesterday missing: a 1.0 kg gain over two days is not a gain "in a day".
    assert gains(weights((2, 80.0), (0, 81.0))) == []


def test_a_week_gain_is_measured_from_the_lowest_of_the_seven_days_before():
    points = weights((6, 80.5), (5, 80.0), (3, 81.0), (1, 81.8), (0, 82.4))
    assert gains(points) == [("weight-gain-week", 2.4, 5)]
    # Exactly 2.3 is not over the limit.
    assert gains(weights((5, 80.0), (0, 82.3))) == []
    # A low 8 days back is outside the week.
    assert gains(weights((8, 79.0), (4, 81.0), (0, 82.0))) == []


def test_equal_lows_give_the_shortest_span():
    assert gains(weights((6, 80.0), (3, 80.0), (0, 82.5))) == [("weight-gain-week", 2.5, 3)]


def test_two_weighings_a_day_compare_morning_to_morning():
    morning = weights((1, 80.0), (0, 80.5))
    evening = weights((1, 81.2), (0, 81.6), hour=19)  # after meals: heavier
    assert gains(morning + evening) == []
    # An evening weight of yesterday is not the day's weight either.
    assert gains(weights((1, 79.0), hour=19) + weights((1, 80.0), (0, 81.0))) == [
        ("weight-gain-day", 1.0, 1)
    ]


def test_the_finding_names_the_days_first_weighing_and_both_gains():
    points = weights((5, 80.0), (1, 81.6), (0, 82.6))
    later = NOW.replace(hour=19)
    finding = find_breach(
        Measure.weight, {Measure.weight: points + [Point(later, 83.0)]}, later, LIMITS
    )
    assert finding.why == "weight +1.0 kg in 1 d, +2.6 kg in 5 d"
    assert finding.taken_at == NOW.replace(hour=7)
    assert finding.urgent


def test_weight_words_follow_the_clinics_unit():
    points = weights((1, 80.0), (0, 81.0))
    finding = find_breach(
        Measure.weight, {Measure.weight: points}, points[-1].taken_at, LIMITS, "lb"
    )
    assert finding.why == "weight +2.2 lb in 1 d"


def test_a_patients_own_limit_replaces_the_clinics_and_keeps_its_urgency():
    limits = patient_limits(LIMITS, [("oxygen-low", 88.0, "COPD, retains CO2")])
    assert level(Measure.oxygen_saturation, 88.5, limits) is None
    assert level(Measure.oxygen_saturation, 87.9, limits).urgent
    assert limits[ThresholdRule.oxygen_low] == RuleLimit(88.0, True, "COPD, retains CO2")


def test_a_clinic_can_make_a_rule_not_urgent():
    limits = default_limits({ThresholdRule.glucose_high: RuleLimit(250, False)})
    finding = level(Measure.glucose, 260, limits)
    assert finding is not None and not finding.urgent


def test_limit_words():
    assert limit_words(ThresholdRule.systolic_high, LIMITS[ThresholdRule.systolic_high]) == (
        "systolic pressure 180 mmHg or more"
    )
    assert limit_words(ThresholdRule.weight_gain_week, LIMITS[ThresholdRule.weight_gain_week]) == (
        "weight gain over 2.3 kg in a week"
    )
    assert (
        limit_words(ThresholdRule.oxygen_low, RuleLimit(88, True)) == "oxygen saturation under 88 %"
    )
    assert (
        limit_words(ThresholdRule.hba1c_high, LIMITS[ThresholdRule.hba1c_high])
        == "HbA1c over 9.0 %"
    )


def test_recent_window_is_a_week_for_vital_signs_and_a_month_for_labs():
    today = NOW.date()
    assert is_recent(Measure.weight, NOW - timedelta(days=7), today)
    assert not is_recent(Measure.weight, NOW - timedelta(days=8), today)
    assert is_recent(Measure.systolic, NOW - timedelta(days=7), today)
    assert is_recent(Measure.hba1c, NOW - timedelta(days=30), today)
    assert not is_recent(Measure.hba1c, NOW - timedelta(days=31), today)
