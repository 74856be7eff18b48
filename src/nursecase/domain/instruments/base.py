"""Common types for scored assessment instruments: items, bands, triggers, scores.

Each instrument module builds one :class:`InstrumentDefinition` constant; the
generic :meth:`InstrumentDefinition.score` validates the answers, adds up the item
values, finds the band and asks the instrument for its triggers and summary.
Sources are cited in each instrument's own module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from nursecase.domain.codes import Instrument
from nursecase.domain.validation import ValidationError

SEVERITIES = ("none", "low", "moderate", "high", "severe")
"""Severity words a band may carry; screens map them to theme colours."""

STANDARD_VARIANT = "standard"
CUSTOM_BANDS_VARIANT = "custom bands"


@dataclass(frozen=True, slots=True)
class ItemOption:
    """One answer to an item: its scored ``value``, its ``label`` and selecting ``key``."""

    value: int
    label: str
    key: str


@dataclass(frozen=True, slots=True)
class Item:
    """One question of an instrument with its answer options in display order."""

    code: str
    prompt: str
    options: tuple[ItemOption, ...]

    @property
    def values(self) -> tuple[int, ...]:
        """The scored values this item accepts."""
        return tuple(option.value for option in self.options)

    def option_for_key(self, key: str) -> ItemOption | None:
        """Return the option selected by keystroke ``key``, or None."""
        for option in self.options:
            if option.key == key:
                return option
        return None

    def option_for_value(self, value: int) -> ItemOption | None:
        """Return the option with scored ``value``, or None."""
        for option in self.options:
            if option.value == value:
                return option
        return None


@dataclass(frozen=True, slots=True)
class Band:
    """An interpretation range ``low..high`` (inclusive) of totals."""

    name: str
    low: int
    high: int
    severity: str

    def contains(self, total: int) -> bool:
        """Return True when ``total`` falls in this band."""
        return self.low <= total <= self.high


@dataclass(frozen=True, slots=True)
class Trigger:
    """Something a score should set off, e.g. an urgent safety follow-up task."""

    code: str
    message: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class Score:
    """The result of scoring one instrument."""

    instrument: Instrument
    variant: str
    total: int
    band: Band
    parts: dict[str, int]
    triggers: tuple[Trigger, ...]
    summary: str

    @property
    def has_urgent_trigger(self) -> bool:
        """Return True when any trigger calls for urgent follow-up."""
        return any(trigger.urgent for trigger in self.triggers)


TriggerRule = Callable[[Mapping[str, int], int], tuple[Trigger, ...]]
"""Given validated answers and the total, return the triggers that fire."""

SummaryRule = Callable[[str, int, Band, Mapping[str, int]], str]
"""Given the short name, total, band and parts, return the one-line summary."""


def no_triggers(answers: Mapping[str, int], total: int) -> tuple[Trigger, ...]:
    """Trigger rule for instruments that set nothing off."""
    return ()


def band_summary(short_name: str, total: int, band: Band, parts: Mapping[str, int]) -> str:
    """Default summary: "PHQ-9 14 moderate"."""
    return f"{short_name} {total} {band.name}"


def risk_summary(short_name: str, total: int, band: Band, parts: Mapping[str, int]) -> str:
    """Summary for risk scales: "Morse 50 high risk" ("Braden 20 no risk")."""
    suffix = "" if "risk" in band.name else " risk"
    return f"{short_name} {total} {band.name}{suffix}"


def validate_bands(bands: tuple[Band, ...], min_total: int, max_total: int) -> tuple[Band, ...]:
    """Return ``bands`` sorted by ``low`` if they cover ``min_total..max_total`` exactly.

    Custom bands come from config.toml, so a gap or an overlap is reported as a
    ValidationError on the "bands" field rather than scoring a total into no band.
    """
    if not bands:
        raise ValidationError("bands", "at least one band is required")
    ordered = tuple(sorted(bands, key=lambda band: band.low))
    expected_low = min_total
    for band in ordered:
        if band.severity not in SEVERITIES:
            raise ValidationError(
                "bands", f"severity of {band.name!r} must be one of: {', '.join(SEVERITIES)}"
            )
        if band.low > band.high:
            raise ValidationError("bands", f"{band.name!r} starts after it ends")
        if band.low != expected_low:
            raise ValidationError(
                "bands", f"must cover {min_total}-{max_total} without gaps or overlaps"
            )
        expected_low = band.high + 1
    if expected_low != max_total + 1:
        raise ValidationError(
            "bands", f"must cover {min_total}-{max_total} without gaps or overlaps"
        )
    return ordered


def find_band(bands: tuple[Band, ...], total: int) -> Band:
    """Return the band that holds ``total``; ValidationError if none does."""
    for band in bands:
        if band.contains(total):
            return band
    raise ValidationError("total", f"{total} is outside every band")


@dataclass(frozen=True, slots=True)
class InstrumentDefinition:
    """An instrument's items, range, bands and scoring rules."""

    code: Instrument
    name: str
    variant: str
    citation: str
    items: tuple[Item, ...]
    min_total: int
    max_total: int
    bands: tuple[Band, ...]
    short_name: str = ""
    instructions: str = ""
    trigger_rule: TriggerRule = field(default=no_triggers)
    summary_rule: SummaryRule = field(default=band_summary)

    @property
    def item_codes(self) -> tuple[str, ...]:
        """Item codes in display order."""
        return tuple(item.code for item in self.items)

    def item(self, code: str) -> Item:
        """Return the item with ``code``; KeyError if the instrument has none."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)

    def validate_answers(self, answers: Mapping[str, int]) -> dict[str, int]:
        """Return the answers in item order; ValidationError naming the bad item.

        Every item must be answered with one of its options' values, and no
        unknown item may be present (a stray key is usually a mis-mapped import).
        """
        known = set(self.item_codes)
        for code in answers:
            if code not in known:
                name = self.short_name or self.name
                raise ValidationError(str(code), f"is not an item of {name}")
        validated: dict[str, int] = {}
        for item in self.items:
            if item.code not in answers or answers[item.code] is None:
                raise ValidationError(item.code, "is not answered")
            value = answers[item.code]
            # bool is an int subclass; True must not silently score as 1.
            if isinstance(value, bool) or not isinstance(value, int) or value not in item.values:
                allowed = ", ".join(str(option_value) for option_value in item.values)
                raise ValidationError(item.code, f"must be one of {allowed}")
            validated[item.code] = value
        return validated

    def score(self, answers: Mapping[str, int], bands: tuple[Band, ...] | None = None) -> Score:
        """Score ``answers`` (item code -> option value).

        ``bands`` replaces the default interpretation bands (e.g. a unit's own
        Morse cut-offs); the score's variant then says "custom bands".
        """
        parts = self.validate_answers(answers)
        total = sum(parts.values())
        if bands is None:
            active_bands = self.bands
            variant = self.variant
        else:
            active_bands = validate_bands(bands, self.min_total, self.max_total)
            variant = CUSTOM_BANDS_VARIANT
        band = find_band(active_bands, total)
        return Score(
            instrument=self.code,
            variant=variant,
            total=total,
            band=band,
            parts=parts,
            triggers=self.trigger_rule(parts, total),
            summary=self.summary_rule(self.short_name or self.name, total, band, parts),
        )
