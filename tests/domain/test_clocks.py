"""Clock rules: contact cadence, TCM, referral aging and reply dates (CCM: test_ccm.py)."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.clocks import (
    AGING_BUCKETS,
    DEFAULT_CADENCE_DAYS,
    aging_bucket,
    default_expected_reply,
    next_contact_due,
    tcm_clock,
)
from nursecase.domain.codes import ReferralPriority, RiskTier
from nursecase.domain.validation import ValidationError

FRIDAY = date(2024, 3, 1)
SATURDAY = date(2024, 3, 2)
MONDAY = date(2024, 3, 4)
TUESDAY = date(2024, 3, 5)
WEDNESDAY = date(2024, 3, 6)
THURSDAY = date(2024, 3, 7)

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


# ------------------------------------------------------------------------- TCM


def test_tcm_deadlines_over_a_weekend():
    clock = tcm_clock(FRIDAY, high_complexity=False, today=FRIDAY)
    assert clock.interactive_deadline == TUESDAY
    assert clock.face_to_face_deadline == date(2024, 3, 15)
    assert clock.face_to_face_window_days == 14
    high = tcm_clock(FRIDAY, high_complexity=True, today=FRIDAY)
    assert high.face_to_face_deadline == date(2024, 3, 8)
    assert high.face_to_face_window_days == 7


def test_tcm_deadline_moves_past_a_holiday():
    clock = tcm_clock(FRIDAY, False, today=MONDAY, holidays=frozenset({MONDAY}))
    assert clock.interactive_deadline == WEDNESDAY
    assert clock.interactive_business_day == 0
    assert clock.describe() == "TCM interactive contact: day 0 of 2 business days"


@pytest.mark.parametrize(
    ("today", "business_day", "text", "label"),
    [
        (FRIDAY, 0, "TCM interactive contact: day 0 of 2 business days", "TCM day 0 of 2"),
        (SATURDAY, 0, "TCM interactive contact: day 0 of 2 business days", "TCM day 0 of 2"),
        (MONDAY, 1, "TCM interactive contact: day 1 of 2 business days", "TCM day 1 of 2"),
        (TUESDAY, 2, "TCM interactive contact: day 2 of 2 business days", "TCM day 2 of 2"),
        (
            WEDNESDAY,
            3,
            "TCM interactive contact: overdue by 1 business day (due 2024-03-05)",
            "TCM contact overdue",
        ),
        (
            THURSDAY,
            4,
            "TCM interactive contact: overdue by 2 business days (due 2024-03-05)",
            "TCM contact overdue",
        ),
    ],
)
def test_tcm_interactive_day_by_day(today, business_day, text, label):
    clock = tcm_clock(FRIDAY, False, today=today)
    assert clock.interactive_business_day == business_day
    assert clock.describe() == text
    assert clock.describe_interactive() == text
    assert clock.short_label() == label
    assert clock.interactive_overdue is (business_day > 2)
    assert clock.interactive_due_today is (today == TUESDAY)
    assert clock.interactive_met is False
    assert clock.is_open


def test_tcm_overdue_on_a_weekend_counts_calendar_days():
    clock = tcm_clock(date(2024, 3, 6), False, today=date(2024, 3, 9))  # deadline Fri 8th
    assert clock.interactive_deadline == date(2024, 3, 8)
    assert clock.interactive_overdue
    assert clock.describe() == "TCM interactive contact: overdue by 1 day (due 2024-03-08)"


def test_tcm_interactive_met_then_face_to_face():
    clock = tcm_clock(FRIDAY, True, today=WEDNESDAY, interactive_contact_date=MONDAY)
    assert clock.interactive_met
    assert not clock.interactive_overdue
    assert clock.describe_interactive() == "TCM interactive contact: done 2024-03-04"
    assert clock.describe() == "TCM face-to-face visit: day 5 of 7 days"
    assert clock.short_label() == "TCM visit day 5 of 7"
    assert clock.next_deadline == date(2024, 3, 8)
    assert clock.days_overdue == 0


def test_tcm_late_contact_and_overdue_visit():
    clock = tcm_clock(FRIDAY, True, today=date(2024, 3, 11), interactive_contact_date=WEDNESDAY)
    assert clock.interactive_late and not clock.interactive_met and not clock.interactive_overdue
    assert clock.describe_interactive() == (
        "TCM interactive contact: made late on 2024-03-06 (due 2024-03-05)"
    )
    assert clock.face_to_face_overdue
    assert clock.describe() == "TCM face-to-face visit: overdue by 3 days (due 2024-03-08)"
    assert clock.short_label() == "TCM visit overdue"
    assert clock.days_overdue == 3


def test_tcm_complete():
    clock = tcm_clock(
        FRIDAY,
        False,
        today=date(2024, 3, 20),
        interactive_contact_date=TUESDAY,
        face_to_face_date=date(2024, 3, 15),
    )
    assert clock.interactive_met and clock.face_to_face_met
    assert not clock.is_open
    assert clock.next_deadline is None
    assert clock.describe() == "TCM: interactive contact and face-to-face visit done"
    assert clock.describe_face_to_face() == "TCM face-to-face visit: done 2024-03-15"
    assert clock.short_label() == "TCM done"


def test_tcm_late_face_to_face():
    clock = tcm_clock(
        FRIDAY,
        False,
        today=date(2024, 3, 20),
        interactive_contact_date=MONDAY,
        face_to_face_date=date(2024, 3, 16),
    )
    assert clock.face_to_face_late and not clock.face_to_face_met
    assert clock.describe_face_to_face() == (
        "TCM face-to-face visit: made late on 2024-03-16 (due 2024-03-15)"
    )


def test_tcm_ignores_contacts_before_discharge():
    clock = tcm_clock(MONDAY, False, today=TUESDAY, interactive_contact_date=FRIDAY)
    assert clock.interactive_contact_date is None
    assert clock.describe() == "TCM interactive contact: day 1 of 2 business days"


def test_tcm_contact_on_discharge_day_counts():
    clock = tcm_clock(MONDAY, False, today=MONDAY, interactive_contact_date=MONDAY)
    assert clock.interactive_met


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
