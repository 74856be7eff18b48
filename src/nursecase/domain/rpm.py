"""Remote physiologic monitoring (RPM): what a month's readings and review minutes reach.

Counted like chronic care management (``domain.ccm``): the services count, for
one patient and calendar month, the days with at least one reading from a home
device and the nurse's minutes spent on remote monitoring; this module turns the
two counts into codes with the rules of ``DEFAULT_BILLING_RULES``. A clinic
whose payer differs replaces the table in config.toml (``[[monitoring.billing]]``):
the rules are data, not code.

Source of the defaults: CMS, Medicare Physician Fee Schedule, CY 2026 final
rule, remote physiologic monitoring:
- 99454: device supply with daily recordings, 16 to 30 days in the period;
- 99445: device supply, 2 to 15 days (new for 2026);
- 99457: treatment management, the first 20 minutes in the calendar month;
- 99458: each additional 20 minutes;
- 99470: treatment management, the first 10 minutes (new for 2026; billed
  when the month holds 10 to 19 minutes, never with 99457).
CMS counts device days per 30-day period; nursecase counts the calendar month
(the period a clinic's billing runs on), which a clinic can narrow in its rules.

Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Counts(StrEnum):
    """What a billing rule counts."""

    days = "days"
    minutes = "minutes"


@dataclass(frozen=True)
class BillingRule:
    """One code and when a month reaches it.

    The month reaches the code when the count is at least ``at_least`` and
    (when set) below ``below``. With ``each`` set, every further ``each`` past
    ``at_least`` adds a unit (99458: one per 20 minutes past 40), up to
    ``most_units`` when set.
    """

    code: str
    counts: Counts
    at_least: int
    below: int | None = None
    each: int | None = None
    most_units: int | None = None
    #: Words for reports ("device supply, 16+ days").
    words: str = ""

    def units(self, count: int) -> int:
        """How many units of this code a month's count reaches (0 for none)."""
        if count < self.at_least or (self.below is not None and count >= self.below):
            return 0
        units = 1 + ((count - self.at_least) // self.each if self.each else 0)
        return min(units, self.most_units) if self.most_units is not None else units


DEFAULT_BILLING_RULES: tuple[BillingRule, ...] = (
    BillingRule("99454", Counts.days, 16, words="device supply, 16 days or more"),
    BillingRule("99445", Counts.days, 2, below=16, words="device supply, 2 to 15 days"),
    BillingRule("99470", Counts.minutes, 10, below=20, words="first 10 minutes of management"),
    BillingRule("99457", Counts.minutes, 20, words="first 20 minutes of management"),
    BillingRule("99458", Counts.minutes, 40, each=20, words="each further 20 minutes"),
)


@dataclass(frozen=True)
class RpmMonth:
    """One patient's remote-monitoring month: its counts and the codes they reach."""

    days_with_readings: int
    review_minutes: int
    #: (code, units) reached, in the order of the rules.
    codes: tuple[tuple[str, int], ...]
    #: The next step, in words ("6 more days of readings to 99454"), or "".
    next_step: str

    def describe(self) -> str:
        """One line: "RPM: 12 days of readings, 25 min · 99445, 99457"."""
        reached = ", ".join(
            code if units == 1 else f"{code} x{units}" for code, units in self.codes
        )
        text = f"RPM: {self.days_with_readings} d of readings, {self.review_minutes} min"
        return f"{text} · {reached}" if reached else text


def rpm_month(
    days_with_readings: int,
    review_minutes: int,
    rules: Sequence[BillingRule] = DEFAULT_BILLING_RULES,
) -> RpmMonth:
    """The codes a month's counts reach, and how far the next one is."""
    counts = {Counts.days: days_with_readings, Counts.minutes: review_minutes}
    reached = tuple(
        (rule.code, units) for rule in rules if (units := rule.units(counts[rule.counts])) > 0
    )
    return RpmMonth(days_with_readings, review_minutes, reached, _next_step(counts, rules))


def _next_step(counts: dict[Counts, int], rules: Sequence[BillingRule]) -> str:
    """The nearest code not reached yet, per kind of count: "4 more days to 99454"."""
    steps = []
    for kind, noun in ((Counts.days, "days of readings"), (Counts.minutes, "min")):
        count = counts[kind]
        ahead = sorted(
            (rule.at_least - count, rule.code)
            for rule in rules
            if rule.counts is kind and rule.at_least > count
        )
        if ahead:
            missing, code = ahead[0]
            steps.append(f"{missing} more {noun} to {code}")
    return "; ".join(steps)


def parse_billing_rules(entries: object) -> tuple[BillingRule, ...]:
    """A clinic's table from config.toml ``[[monitoring.billing]]``; ValueError naming the entry."""
    if not isinstance(entries, list) or not entries:
        raise ValueError("monitoring.billing: must be a list of tables like [[monitoring.billing]]")
    rules = []
    for position, entry in enumerate(entries, start=1):
        place = f"monitoring.billing #{position}"
        if not isinstance(entry, dict):
            raise ValueError(f"{place}: must be a table")
        unknown = set(entry) - {
            "code",
            "counts",
            "at_least",
            "below",
            "each",
            "most_units",
            "words",
        }
        if unknown:
            raise ValueError(f"{place}.{sorted(unknown)[0]}: unknown setting")
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            raise ValueError(f'{place}.code: must be a billing code like "99454"')
        try:
            counts = Counts(str(entry.get("counts")))
        except ValueError:
            raise ValueError(f'{place}.counts: must be "days" or "minutes"') from None
        numbers: dict[str, int | None] = {}
        for key in ("at_least", "below", "each", "most_units"):
            value = entry.get(key)
            if value is None and key != "at_least":
                numbers[key] = None
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{place}.{key}: must be a whole number of 1 or more")
            numbers[key] = value
        at_least = numbers["at_least"]
        assert at_least is not None
        below = numbers["below"]
        if below is not None and below <= at_least:
            raise ValueError(f"{place}.below: must be more than at_least")
        words = entry.get("words", "")
        if not isinstance(words, str):
            raise ValueError(f"{place}.words: must be text")
        rules.append(
            BillingRule(
                code.strip(), counts, at_least, below, numbers["each"], numbers["most_units"], words
            )
        )
    return tuple(rules)
