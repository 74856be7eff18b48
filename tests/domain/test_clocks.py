"""Clock rules: contact cadence, referral aging, reply dates (TCM and CCM have their own)."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.clocks import (
    AGING_BUCKETS,
    DEFAULT_CADENCE_DAYS,
    aging_bucket,
    default_expected_reply,
    next_contact_due,
)
from nursecase.domain.codes import ReferralPriority, RiskTier
from nursecase.domain.validation import ValidationError

FRIDAY = date(2024, 3, 1)
MONDAY = date(2024, 3, 4)

# ---------------------------------------------------------------- next contact


def test_default_cadence():
    assert dict(DEFAULT_CADENCE_DAYS) == {RiskTier.high: 7, RiskTier.moderate: 14, RiskTier.low: 30}


@pytest.mark.parametrize(
    ("tier", "due"),
    [
        (RiskTier.high, date(2024, 3, 8)),
        (RiskTier.moderate, date(2024, 3, 15)),
        (RiskTier.low, date(2024, 3, 31)),
        ("high", date(2024, 3, 8)),
        # Not assessed yet: the moderate cadence (DESIGN.md names three tiers only).
        (RiskTier.not_assessed, date(2024, 3, 15)),
    ],
)
def test_next_contact_due(tier, due):
    assert next_contact_due(tier, date(2024, 3, 1)) == due


def test_next_contact_due_with_configured_cadence():
    assert next_contact_due(RiskTier.high, FRIDAY, {RiskTier.high: 3}) == MONDAY
    # Tiers the configuration leaves out keep their default.
    assert next_contact_due(RiskTier.low, FRIDAY, {RiskTier.high: 3}) == date(2024, 3, 31)
    # A patient not assessed follows the moderate cadence as configured.
    assert next_contact_due("not-assessed", FRIDAY, {"moderate": 3}) == MONDAY
    with pytest.raises(ValidationError) as caught:
        next_contact_due(RiskTier.high, FRIDAY, {RiskTier.high: 0})
    assert caught.value.field == "cadence_days"
    with pytest.raises(ValidationError) as caught:
        next_contact_due("critical", FRIDAY)
    assert caught.value.field == "risk_tier"


# ------------------------------------------------------------------- referrals


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-2, "0-7"), (0, "0-7"), (7, "0-7"), (8, "8-14"), (14, "8-14"), (15, ">14"), (90, ">14")],
)
def test_aging_bucket(days, bucket):
    assert aging_bucket(days) == bucket
    assert bucket in AGING_BUCKETS


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (ReferralPriority.stat, date(2024, 3, 2)),
        (ReferralPriority.asap, date(2024, 3, 3)),
        (ReferralPriority.urgent, date(2024, 3, 4)),
        (ReferralPriority.routine, date(2024, 3, 11)),
        ("routine", date(2024, 3, 11)),
    ],
)
def test_default_expected_reply_uses_calendar_days(priority, expected):
    assert default_expected_reply(priority, FRIDAY) == expected
