"""Remote monitoring billing: the month's days and minutes against the code table."""

from __future__ import annotations

import pytest

from nursecase.domain.rpm import BillingRule, Counts, parse_billing_rules, rpm_month


@pytest.mark.parametrize(
    ("days", "minutes", "codes"),
    [
        (0, 0, ()),
        (1, 9, ()),
        # 2-15 days: 99445 (CY 2026); 16 or more: 99454, never both.
        (2, 0, (("99445", 1),)),
        (15, 0, (("99445", 1),)),
        (16, 0, (("99454", 1),)),
        (30, 0, (("99454", 1),)),
        # 10-19 minutes: 99470; 20: 99457; each further 20: one 99458.
        (0, 10, (("99470", 1),)),
        (0, 19, (("99470", 1),)),
        (0, 20, (("99457", 1),)),
        (0, 39, (("99457", 1),)),
        (0, 40, (("99457", 1), ("99458", 1))),
        (0, 59, (("99457", 1), ("99458", 1))),
        (0, 60, (("99457", 1), ("99458", 2))),
        (0, 80, (("99457", 1), ("99458", 3))),
        (16, 25, (("99454", 1), ("99457", 1))),
    ],
)
def test_the_default_table_at_its_boundaries(days, minutes, codes):
    assert rpm_month(days, minutes).codes == codes


def test_the_month_says_what_is_next_and_describes_itself():
    month = rpm_month(12, 25)
    assert month.next_step == "4 more days of readings to 99454; 15 more min to 99458"
    assert month.describe() == "RPM: 12 d of readings, 25 min · 99445, 99457"
    assert rpm_month(16, 80).describe() == "RPM: 16 d of readings, 80 min · 99454, 99457, 99458 x3"


def test_a_clinic_table_replaces_the_defaults_and_caps_units():
    rules = parse_billing_rules(
        [
            {"code": "99454", "counts": "days", "at_least": 16},
            {"code": "99458", "counts": "minutes", "at_least": 40, "each": 20, "most_units": 1},
        ]
    )
    assert rules[1] == BillingRule("99458", Counts.minutes, 40, None, 20, 1, "")
    assert rpm_month(20, 100, rules).codes == (("99454", 1), ("99458", 1))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "monitoring.billing: must be a list"),
        ([{"code": "99454", "counts": "hours", "at_least": 16}], "#1.counts: must be"),
        ([{"code": "", "counts": "days", "at_least": 16}], "#1.code: must be a billing code"),
        ([{"code": "1", "counts": "days", "at_least": 0}], "#1.at_least: must be a whole number"),
        ([{"code": "1", "counts": "days", "at_least": 5, "below": 5}], "#1.below: must be more"),
        ([{"code": "1", "counts": "days", "at_least": 5, "colour": 1}], "#1.colour: unknown"),
    ],
)
def test_a_bad_clinic_table_is_refused_naming_the_entry(entries, message):
    with pytest.raises(ValueError) as refused:
        parse_billing_rules(entries)
    assert message in str(refused.value)
