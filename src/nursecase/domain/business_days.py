"""Business-day arithmetic for deadlines such as the TCM 2-business-day contact.

A business day is Monday to Friday and not a holiday; holidays are supplied by
the caller (configured per clinic), never looked up here. Counting follows the
CMS reading of "within 2 business days following discharge": the start day
itself never counts, and the deadline is the 2nd business day after it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

NO_HOLIDAYS: frozenset[date] = frozenset()
_SATURDAY = 5  # date.weekday(): Monday 0 ... Sunday 6
_ONE_DAY = timedelta(days=1)


def is_business_day(day: date, holidays: Collection[date] = NO_HOLIDAYS) -> bool:
    """Return True when ``day`` is Monday-Friday and not in ``holidays``."""
    return day.weekday() < _SATURDAY and day not in holidays


def add_business_days(start: date, count: int, holidays: Collection[date] = NO_HOLIDAYS) -> date:
    """Return the ``count``-th business day after ``start`` (``start`` never counts).

    ``count`` 0 returns ``start`` unchanged; a negative count walks backwards and
    returns the ``-count``-th business day before ``start``.
    """
    step = _ONE_DAY if count >= 0 else -_ONE_DAY
    remaining = abs(count)
    day = start
    while remaining:
        day += step
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def business_days_between(start: date, end: date, holidays: Collection[date] = NO_HOLIDAYS) -> int:
    """Count business days after ``start`` up to and including ``end``.

    ``end == start`` gives 0. When ``end`` is before ``start`` the result is
    negative: minus the business days from ``end`` (included) up to ``start``
    (excluded). Both directions invert :func:`add_business_days`:
    ``business_days_between(start, add_business_days(start, n)) == n`` for any n.
    """
    if end >= start:
        return _count_business_days(start + _ONE_DAY, end, holidays)
    return -_count_business_days(end, start - _ONE_DAY, holidays)


def _count_business_days(first: date, last: date, holidays: Collection[date]) -> int:
    """Business days in ``first..last`` inclusive, in constant time plus holidays."""
    if last < first:
        return 0
    total_days = (last - first).days + 1
    full_weeks, leftover = divmod(total_days, 7)
    weekdays = full_weeks * 5
    first_weekday = first.weekday()
    # The leftover days run on from the first day's weekday; count those before Saturday.
    weekdays += sum(1 for offset in range(leftover) if (first_weekday + offset) % 7 < _SATURDAY)
    holiday_weekdays = sum(
        1 for holiday in set(holidays) if first <= holiday <= last and holiday.weekday() < _SATURDAY
    )
    return weekdays - holiday_weekdays
