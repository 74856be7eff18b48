"""Chronic care management (CCM): the codes a month's minutes reach, in one programme.

Source: CMS, Chronic Care Management Services, MLN909188 (CPT 99490, 99439,
99487, 99489). A patient is enrolled in ONE programme, and only that
programme's codes are billed for a calendar month, never both families:

- standard CCM: the first 20 minutes of clinical staff time in the calendar
  month reach 99490; each further full 20 minutes one 99439, at most 2 units
  (CMS allows 99439 no more than twice per month);
- complex CCM: the first 60 minutes reach 99487; each further full 30 minutes
  one 99489. DESIGN.md states no cap for 99489, so none is applied here;
  payer-specific unit limits belong in billing, not in this clock.

The minutes counted are the contact minutes of the month on or after the
enrolment start (the services count them); this module only turns a count
into codes and words ("13 min to a second 99439"). Nothing here reads the
clock or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from nursecase.domain.codes import CcmProgramme, parse_code
from nursecase.domain.validation import ValidationError
from nursecase.domain.wording import short_date


@dataclass(frozen=True, slots=True)
class CcmCodes:
    """One programme's billing rule: its first code and its add-on code."""

    first_code: str
    first_minutes: int
    addon_code: str
    addon_minutes: int
    #: Most add-on units in one month; None means no cap.
    addon_max_units: int | None


#: The two programmes' rules (CMS MLN909188).
PROGRAMME_CODES: dict[CcmProgramme, CcmCodes] = {
    # 99490 first 20 minutes; 99439 each additional 20 minutes, at most twice.
    CcmProgramme.standard: CcmCodes("99490", 20, "99439", 20, 2),
    # 99487 first 60 minutes (complex); 99489 each additional 30 minutes.
    CcmProgramme.complex: CcmCodes("99487", 60, "99489", 30, None),
}

CCM_STANDARD_FIRST_CODE = PROGRAMME_CODES[CcmProgramme.standard].first_code
CCM_STANDARD_ADDON_CODE = PROGRAMME_CODES[CcmProgramme.standard].addon_code
CCM_STANDARD_FIRST_MINUTES = PROGRAMME_CODES[CcmProgramme.standard].first_minutes
CCM_COMPLEX_FIRST_CODE = PROGRAMME_CODES[CcmProgramme.complex].first_code
CCM_COMPLEX_ADDON_CODE = PROGRAMME_CODES[CcmProgramme.complex].addon_code
CCM_COMPLEX_FIRST_MINUTES = PROGRAMME_CODES[CcmProgramme.complex].first_minutes

#: What a report or a header says for a patient in no programme.
NOT_ENROLLED = "not enrolled in CCM"

#: Unit ordinals as a nurse says them; past these, "a 12th", "an 11th".
_ORDINAL_WORDS = {
    2: "a second",
    3: "a third",
    4: "a fourth",
    5: "a fifth",
    6: "a sixth",
    7: "a seventh",
    8: "an eighth",
    9: "a ninth",
    10: "a tenth",
}


def ordinal_words(number: int) -> str:
    """ "a second", "a third", ... "a tenth", then "an 11th", "a 12th", "a 21st" (2 and up)."""
    if number in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[number]
    suffix = "th"
    if number % 100 not in (11, 12, 13):
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    # "an" before a vowel sound: eighteenth, eleventh, eighty-..., eight hundred ...
    article = "an" if str(number).startswith("8") or number in (11, 18) else "a"
    return f"{article} {number}{suffix}"


def _check_minutes(minutes: int) -> int:
    """Raise unless the minutes are a whole number, 0 or more."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValidationError("minutes", "must be a whole number, 0 or more")
    return minutes


def _rule(programme: CcmProgramme | str) -> tuple[CcmProgramme, CcmCodes]:
    code = parse_code(CcmProgramme, programme, "ccm_programme")
    return code, PROGRAMME_CODES[code]


def _addon_units(rule: CcmCodes, minutes: int) -> int:
    """Full add-on blocks past the first code (before any cap)."""
    if minutes < rule.first_minutes:
        return 0
    return (minutes - rule.first_minutes) // rule.addon_minutes


def ccm_codes(minutes: int, programme: CcmProgramme | str) -> list[tuple[str, int]]:
    """The codes a month's counted minutes reach in ``programme``, as (CPT code, units).

    Empty below the first threshold (20 minutes standard, 60 complex).
    """
    total = _check_minutes(minutes)
    _, rule = _rule(programme)
    if total < rule.first_minutes:
        return []
    codes = [(rule.first_code, 1)]
    units = _addon_units(rule, total)
    if rule.addon_max_units is not None:
        units = min(units, rule.addon_max_units)
    if units:
        codes.append((rule.addon_code, units))
    return codes


def codes_words(codes: tuple[tuple[str, int], ...] | list[tuple[str, int]]) -> str:
    """ "99490, 99439" or "99490, 99439 x2"; "" when no code is reached."""
    return ", ".join(code if units == 1 else f"{code} x{units}" for code, units in codes)


@dataclass(frozen=True, slots=True)
class CcmProgress:
    """How far a month's counted minutes have come in one programme."""

    programme: CcmProgramme
    minutes: int
    codes: tuple[tuple[str, int], ...]
    #: The minute count that reaches the next unit; None once the cap is reached.
    next_threshold: int | None
    #: The code of the next unit; None once the cap is reached.
    next_code: str | None
    #: Which unit of ``next_code`` comes next (1 for the first, 2 for a second ...).
    next_unit: int
    #: The minute count of the previous threshold (0 before the first code): a bar
    #: toward the next code runs from here to ``next_threshold``.
    previous_threshold: int

    @property
    def minutes_to_next(self) -> int | None:
        """Minutes still needed for the next unit, or None when nothing more can be billed."""
        if self.next_threshold is None:
            return None
        return self.next_threshold - self.minutes

    @property
    def reached_words(self) -> str:
        """The codes reached, "99490, 99439 x2"; "" below the first threshold."""
        return codes_words(self.codes)

    @property
    def next_words(self) -> str:
        """ "20 min to 99490", "13 min to 99439", "13 min to a second 99439",
        or "99439 limit reached" at the programme's cap."""
        rule = PROGRAMME_CODES[self.programme]
        if self.next_code is None:
            return f"{rule.addon_code} limit reached"
        code = self.next_code
        if self.next_unit >= 2:
            code = f"{ordinal_words(self.next_unit)} {code}"
        return f"{self.minutes_to_next} min to {code}"


def ccm_progress(minutes: int, programme: CcmProgramme | str) -> CcmProgress:
    """The codes ``minutes`` reach in ``programme`` and what the next unit needs."""
    total = _check_minutes(minutes)
    code, rule = _rule(programme)
    codes = tuple(ccm_codes(total, code))
    if total < rule.first_minutes:
        return CcmProgress(code, total, codes, rule.first_minutes, rule.first_code, 1, 0)
    units = _addon_units(rule, total)
    cap = rule.addon_max_units
    if cap is not None and units >= cap:
        capped_at = rule.first_minutes + cap * rule.addon_minutes
        return CcmProgress(code, total, codes, None, None, cap + 1, capped_at)
    previous = rule.first_minutes + units * rule.addon_minutes
    following = previous + rule.addon_minutes
    return CcmProgress(code, total, codes, following, rule.addon_code, units + 1, previous)


@dataclass(frozen=True, slots=True)
class CcmMonth:
    """A patient's CCM standing this month: the programme (None: not enrolled) and minutes.

    ``minutes`` are the minutes that count: the month's contact minutes on or
    after ``start`` when enrolled, the whole month's otherwise.
    """

    programme: CcmProgramme | None
    start: date | None
    minutes: int

    @property
    def progress(self) -> CcmProgress | None:
        """The enrolled programme's codes and next unit; None when not enrolled."""
        if self.programme is None:
            return None
        return ccm_progress(self.minutes, self.programme)

    def describe(self, today: date | None = None) -> str:
        """The CCM words of the patient header and the rounds card.

        Enrolled: "Standard CCM since 1 Oct · 47 min this month: 99490, 99439 ·
        13 min to a second 99439" (only that programme's codes; "no code yet"
        below the first threshold). Not enrolled: "Not enrolled in CCM · 27 min
        this month", with no code at all.
        """
        progress = self.progress
        if progress is None:
            return f"Not enrolled in CCM · {_check_minutes(self.minutes)} min this month"
        since = f" since {short_date(self.start, today)}" if self.start is not None else ""
        reached = progress.reached_words or "no code yet"
        return (
            f"{progress.programme.label}{since} · {progress.minutes} min this month: {reached}"
            f" · {progress.next_words}"
        )


def ccm_month(programme: CcmProgramme | str | None, start: date | None, minutes: int) -> CcmMonth:
    """A CcmMonth from stored values (the programme code checked; None: not enrolled)."""
    code = None if programme is None else parse_code(CcmProgramme, programme, "ccm_programme")
    return CcmMonth(code, start if code is not None else None, _check_minutes(minutes))


__all__ = [
    "CCM_COMPLEX_ADDON_CODE",
    "CCM_COMPLEX_FIRST_CODE",
    "CCM_COMPLEX_FIRST_MINUTES",
    "CCM_STANDARD_ADDON_CODE",
    "CCM_STANDARD_FIRST_CODE",
    "CCM_STANDARD_FIRST_MINUTES",
    "NOT_ENROLLED",
    "PROGRAMME_CODES",
    "CcmCodes",
    "CcmMonth",
    "CcmProgress",
    "ccm_codes",
    "ccm_month",
    "ccm_progress",
    "codes_words",
    "ordinal_words",
]
