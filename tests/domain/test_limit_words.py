"""A threshold rule's limit in words, in the measure's own unit or a clinic's (issue 20)."""

from __future__ import annotations

import pytest

from nursecase.domain.codes import ThresholdRule
from nursecase.domain.thresholds import DEFAULT_RULES, RuleLimit, limit_words


@pytest.mark.parametrize(
    ("rule", "unit_words", "words"),
    [
        (ThresholdRule.weight_gain_day, None, "weight gain over 0.9 kg in a day"),
        (ThresholdRule.weight_gain_day, "lb", "weight gain over 2.0 lb in a day"),
        (ThresholdRule.weight_gain_week, "lb", "weight gain over 5.1 lb in a week"),
        (ThresholdRule.systolic_high, None, "systolic pressure 180 mmHg or more"),
        (ThresholdRule.oxygen_low, None, "oxygen saturation under 90 %"),
        (ThresholdRule.glucose_low, "mmol/L", "glucose under 3.9 mmol/L"),
        (ThresholdRule.glucose_high, "mg/dL", "glucose over 300 mg/dL"),
        (ThresholdRule.hba1c_high, None, "HbA1c over 9.0 %"),
    ],
)
def test_limit_words(rule, unit_words, words):
    default = DEFAULT_RULES[rule]
    assert limit_words(rule, RuleLimit(default.limit, default.urgent), unit_words) == words
