"""Business days: Monday to Friday, not a holiday; the start day never counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nursecase.domain.business_days import (
    add_business_days,
    business_days_between,
    is_business_day,
)

# March 2024: Friday the 1st, Monday the 4th, Friday the 8th, Monday the 11th.
FRIDAY = date(2024, 3, 1)
SATURDAY = date(2024, 3, 2)
SUNDAY = date(2024, 3, 3)
MONDAY = date(2024, 3, 4)
TUESDAY = date(2024, 3, 5)
WEDNESDAY = date(2024, 3, 6)
THURSDAY = date(2024, 3, 7)


def test_is_business_day():
    assert is_business_day(FRIDAY)
    assert is_business_day(MONDAY)
    assert not is_business_day(SATURDAY)
    assert not is_business_day(SUNDAY)
    assert not is_business_day(MONDAY, frozenset({MONDAY}))


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (MONDAY, 0, MONDAY),
        (MONDAY, 1, TUESDAY),
        (MONDAY, 2, WEDNESDAY),
        (THURSDAY, 1, date(2024, 3, 8)),
        (THURSDAY, 2, date(2024, 3, 11)),  # over the weekend
        (FRIDAY, 1, MONDAY),
        (FRIDAY, 2, TUESDAY),
        (SATURDAY, 1, MONDAY),
        (SUNDAY, 2, TUESDAY),
        (MONDAY, 5, date(2024, 3, 11)),
        (MONDAY, 10, date(2024, 3, 18)),
        (MONDAY, -1, FRIDAY),
        (WEDNESDAY, -2, MONDAY),
        (SUNDAY, -1, FRIDAY),
    ],
)
def test_add_business_days(start, count, expected):
    assert add_business_days(start, count) == expected


def test_add_business_days_skips_holidays():
    # Memorial Day 2024 is Monday 27 May; discharge Friday 24 May.
    memorial_day = date(2024, 5, 27)
    assert add_business_days(date(2024, 5, 24), 2, {memorial_day}) == date(2024, 5, 29)
    # Christmas and Boxing Day (clinic-configured) on Wed/Thu 2024.
    holidays = frozenset({date(2024, 12, 25), date(2024, 12, 26)})
    assert add_business_days(date(2024, 12, 24), 1, holidays) == date(2024, 12, 27)
    assert add_business_days(date(2024, 12, 24), 2, holidays) == date(2024, 12, 30)
    # A holiday on a weekend changes nothing.
    assert add_business_days(FRIDAY, 1, {SATURDAY}) == MONDAY


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (MONDAY, MONDAY, 0),
        (MONDAY, TUESDAY, 1),
        (FRIDAY, SATURDAY, 0),
        (FRIDAY, SUNDAY, 0),
        (FRIDAY, MONDAY, 1),
        (FRIDAY, TUESDAY, 2),
        (SATURDAY, MONDAY, 1),
        (MONDAY, date(2024, 3, 11), 5),
        (MONDAY, date(2024, 3, 31), 19),
        (TUESDAY, MONDAY, -1),
        (MONDAY, FRIDAY, -1),  # Friday counts, Monday (the start) does not
        (MONDAY, SATURDAY, 0),
        (SUNDAY, FRIDAY, -1),
    ],
)
def test_business_days_between(start, end, expected):
    assert business_days_between(start, end) == expected


def test_business_days_between_with_holidays():
    assert business_days_between(FRIDAY, TUESDAY, {MONDAY}) == 1
    assert business_days_between(FRIDAY, MONDAY, {MONDAY}) == 0
    assert business_days_between(TUESDAY, FRIDAY, {MONDAY}) == -1  # Friday only
    assert business_days_between(WEDNESDAY, SATURDAY, {MONDAY}) == -1  # Tuesday only
    year_start, year_end = date(2023, 12, 31), date(2024, 12, 31)
    assert business_days_between(year_start, year_end) == 262
    assert business_days_between(year_start, year_end, {date(2024, 7, 4), SATURDAY}) == 261


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=-400, max_value=400),
    st.sets(st.dates(min_value=date(1998, 1, 1), max_value=date(2102, 1, 1)), max_size=30),
)
def test_between_inverts_add(start, count, holidays):
    end = add_business_days(start, count, holidays)
    assert business_days_between(start, end, holidays) == count
    if count:
        assert is_business_day(end, holidays)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=0, max_value=120),
    st.sets(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 6, 1)), max_size=20),
)
def test_between_matches_day_by_day_count(start, span, holidays):
    end = start + timedelta(days=span)
    slow = sum(
        1
        for offset in range(1, span + 1)
        if is_business_day(start + timedelta(days=offset), holidays)
    )
    assert business_days_between(start, end, holidays) == slow
