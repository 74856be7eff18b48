"""Clock rules: contact cadence, CCM, referral aging and reply dates (TCM: test_tcm.py)."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.clocks import (
    AGING_BUCKETS,
    DEFAULT_CADENCE_DAYS,
    aging_bucket,
    ccm_codes,
    ccm_progress,
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
    ],
)
def test_next_contact_due(tier, due):
    assert next_contact_due(tier, date(2024, 3, 1)) == due


def test_next_contact_due_with_configured_cadence():
    assert next_contact_due(RiskTier.high, FRIDAY, {RiskTier.high: 3}) == MONDAY
    # Tiers the configuration leaves out keep their default.
    assert next_contact_due(RiskTier.low, FRIDAY, {RiskTier.high: 3}) == date(2024, 3, 31)
    with pytest.raises(ValidationError) as caught:
        next_contact_due(RiskTier.high, FRIDAY, {RiskTier.high: 0})
    assert caught.value.field == "cadence_days"
    with pytest.raises(ValidationError) as caught:
        next_contact_due("critical", FRIDAY)
    assert caught.value.field == "risk_tier"


# ------------------------------------------------------------------------- CCM


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [
        (0, []),
        (19, []),
        (20, [("99490", 1)]),
        (39, [("99490", 1)]),
        (40, [("99490", 1), ("99439", 1)]),
        (59, [("99490", 1), ("99439", 1)]),
        (60, [("99490", 1), ("99439", 2)]),
        (80, [("99490", 1), ("99439", 2)]),  # 99439 capped at 2 units
        (300, [("99490", 1), ("99439", 2)]),
    ],
)
def test_ccm_standard(minutes, codes):
    assert ccm_codes(minutes) == codes


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [
        (59, []),
        (60, [("99487", 1)]),
        (89, [("99487", 1)]),
        (90, [("99487", 1), ("99489", 1)]),
        (119, [("99487", 1), ("99489", 1)]),
        (120, [("99487", 1), ("99489", 2)]),
        (180, [("99487", 1), ("99489", 4)]),  # no cap on 99489
    ],
)
def test_ccm_complex(minutes, codes):
    assert ccm_codes(minutes, complex_care=True) == codes


@pytest.mark.parametrize("bad", [-1, 2.5, "20", True])
def test_ccm_rejects_bad_minutes(bad):
    with pytest.raises(ValidationError) as caught:
        ccm_codes(bad)
    assert caught.value.field == "minutes"


@pytest.mark.parametrize(
    ("minutes", "complex_care", "threshold", "code", "to_go", "text"),
    [
        (0, False, 20, "99490", 20, "CCM 0 min: no code yet; 20 min to 99490"),
        (15, False, 20, "99490", 5, "CCM 15 min: no code yet; 5 min to 99490"),
        (25, False, 40, "99439", 15, "CCM 25 min: 99490; 15 min to 99439"),
        (45, False, 60, "99439", 15, "CCM 45 min: 99490, 99439; 15 min to 99439"),
        (60, False, None, None, None, "CCM 60 min: 99490, 99439 x2"),
        (50, True, 60, "99487", 10, "CCM 50 min: no code yet; 10 min to 99487"),
        (95, True, 120, "99489", 25, "CCM 95 min: 99487, 99489; 25 min to 99489"),
    ],
)
def test_ccm_progress(minutes, complex_care, threshold, code, to_go, text):
    progress = ccm_progress(minutes, complex_care)
    assert progress.next_threshold == threshold
    assert progress.next_code == code
    assert progress.minutes_to_next == to_go
    assert progress.describe() == text
    assert list(progress.codes) == ccm_codes(minutes, complex_care)


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
