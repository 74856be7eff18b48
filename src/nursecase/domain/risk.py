"""A patient's risk tier and what it rests on (DESIGN.md, "Risk tier has a basis").

A tier is set either from a score's band or by the nurse with a reason:

- from LACE (van Walraven C, Dhalla IA, Bell C, et al. Derivation and
  validation of an index to predict early death or unplanned readmission after
  discharge from hospital to the community. CMAJ 2010;182(6):551-7): a total
  of 10 or more is high risk, 5-9 moderate, 0-4 low;
- by the nurse ("override"): any tier, with the reason kept as its basis;
- neither: the tier says "no score or reason yet" of itself.

A patient nobody has scored or given a tier (one imported without a risk
score, or enrolled without a tier chosen) has the tier "not assessed" itself
(``RiskTier.not_assessed``), never moderate: the worklist ranks them above
moderate (their risk is unknown and may be high; ``RISK_RANKS``) and contacts
them at the moderate cadence (``clocks.next_contact_due``). A tier a nurse typed
at enrolment without a reason keeps its older words, "moderate, no score or reason yet".

The words here are the same on the patient header and in the reports:
"high (LACE 12, 18 Nov)", "high, set by A. Moreno: lives alone; LACE 9",
"moderate, no score or reason yet", "not assessed". A tier that rests on a
score (or on nothing) beside a latest LACE of another band is never shown bare:
the words add what that LACE suggests ("LACE 14 on 5 Dec suggests high").
Pure: values in, words out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from nursecase.domain.codes import RiskSource, RiskTier, parse_code
from nursecase.domain.validation import require_int_range
from nursecase.domain.wording import cut_at_word, initial_and_surname, short_date

#: LACE totals from which a band starts (van Walraven 2010): 10+ high, 5-9 moderate.
LACE_HIGH_FROM = 10
LACE_MODERATE_FROM = 5
LACE_MAXIMUM = 19

#: The longest override reason the header prints before cutting it at a word.
REASON_SHOWN_CHARACTERS = 60
#: What a tier rests on when neither a score nor a nurse's reason set it (a tier typed
#: at enrolment): never "not assessed", which is a tier of its own.
NO_BASIS = "no score or reason yet"

#: The tiers a score's band or a nurse sets (in picker order); "not assessed" is
#: where a patient starts, never a tier anyone chooses with a reason.
ASSESSED_TIERS: tuple[RiskTier, ...] = (RiskTier.low, RiskTier.moderate, RiskTier.high)


def is_assessed(tier: RiskTier | str) -> bool:
    """False for the "not assessed" tier (no score, no nurse's choice yet)."""
    return parse_code(RiskTier, tier, "risk_tier") is not RiskTier.not_assessed


def tier_words(tier: RiskTier | str) -> str:
    """The tier as a sentence reads it: "high", "moderate", "low", "not assessed"."""
    return parse_code(RiskTier, tier, "risk_tier").label.lower()


def risk_words(tier: RiskTier | str) -> str:
    """ "high risk", "low risk", or "risk not assessed" (never "not-assessed risk")."""
    if not is_assessed(tier):
        return "risk not assessed"
    return f"{tier_words(tier)} risk"


def tier_for_lace(total: int) -> RiskTier:
    """The risk tier of a LACE total: >= 10 high, 5-9 moderate, 0-4 low (van Walraven 2010)."""
    total = require_int_range(total, "lace_total", 0, LACE_MAXIMUM)
    if total >= LACE_HIGH_FROM:
        return RiskTier.high
    if total >= LACE_MODERATE_FROM:
        return RiskTier.moderate
    return RiskTier.low


@dataclass(frozen=True, slots=True)
class LaceScore:
    """One LACE as the risk words need it: total, summary and day."""

    total: int
    #: "LACE 12 = L5 A3 C2 E2".
    summary: str
    performed_on: date

    @property
    def tier(self) -> RiskTier:
        """The tier this LACE's band points to."""
        return tier_for_lace(self.total)

    @property
    def short(self) -> str:
        """ "LACE 12" (the summary without its parts)."""
        return short_summary(self.summary)


def short_summary(summary: str) -> str:
    """ "LACE 12 = L5 A3 C2 E2" -> "LACE 12"; other text as it is."""
    return summary.split(" = ", 1)[0].strip()


def disagrees_with_lace(tier: RiskTier | str, lace_total: int | None) -> bool:
    """True when there is a LACE and its band is not ``tier``."""
    if lace_total is None:
        return False
    return tier_for_lace(lace_total) != parse_code(RiskTier, tier, "risk_tier")


def unexplained_disagreement(
    tier: RiskTier | str, source: RiskSource | str | None, lace_total: int | None
) -> bool:
    """True when the tier and the latest LACE disagree and no nurse's override explains it.

    This is the contradiction the header must never show bare, and the one
    the clinical consistency check lists.
    """
    if source is not None and parse_code(RiskSource, source, "risk_source") is RiskSource.override:
        return False
    return disagrees_with_lace(tier, lace_total)


@dataclass(frozen=True, slots=True)
class RiskStanding:
    """A patient's tier with its basis, as stored, and their latest LACE (if any)."""

    tier: RiskTier
    source: RiskSource | None
    #: The score's summary (source score) or the nurse's reason (source override).
    basis: str | None
    #: Display name of the nurse who set the tier ("Alice Moreno").
    set_by: str | None
    #: When the basis dates from: the score's time, or when the nurse set it.
    set_at: datetime | None
    latest_lace: LaceScore | None = None

    @property
    def assessed(self) -> bool:
        """False while the tier is "not assessed" (no score, no nurse's choice)."""
        return self.tier is not RiskTier.not_assessed

    @property
    def suggested_tier(self) -> RiskTier | None:
        """The latest LACE's tier when it contradicts a tier not set by the nurse."""
        lace = self.latest_lace
        if lace is None or not unexplained_disagreement(self.tier, self.source, lace.total):
            return None
        return lace.tier

    def suggestion(self, today: date | None = None) -> str | None:
        """ "LACE 14 on 5 Dec suggests high", or None when nothing contradicts the tier."""
        suggested = self.suggested_tier
        if suggested is None or self.latest_lace is None:
            return None
        lace = self.latest_lace
        return f"{lace.short} on {short_date(lace.performed_on, today)} suggests {suggested}"

    def basis_text(self, today: date | None = None, with_suggestion: bool = True) -> str:
        """The basis on its own: "LACE 12, 18 Nov", "set by A. Moreno: lives alone;
        LACE 9", "no score or reason yet"; then "; " and the suggestion when there is one."""
        if self.source is RiskSource.override:
            who = initial_and_surname(self.set_by) if self.set_by else "a nurse"
            text = f"set by {who}"
            if self.basis:
                text += f": {cut_at_word(self.basis, REASON_SHOWN_CHARACTERS)}"
            if self.latest_lace is not None:
                text += f"; {self.latest_lace.short}"
            return text
        if self.source is RiskSource.score:
            text = short_summary(self.basis) if self.basis else "from a score"
            if self.set_at is not None:
                text += f", {short_date(self.set_at.date(), today)}"
        else:
            # A tier typed at enrolment with neither a score nor a reason must not
            # read like the "not assessed" tier.
            text = NO_BASIS if self.assessed else "not assessed"
        suggestion = self.suggestion(today) if with_suggestion else None
        if suggestion is not None:
            text += f"; {suggestion}"
        return text

    def basis_words(self, today: date | None = None, with_suggestion: bool = True) -> str:
        """What follows the tier: " (LACE 12, 18 Nov)", ", set by A. Moreno: lives alone;
        LACE 9", ", no score or reason yet"; then "; " and the suggestion when there is one
        (leave it out with ``with_suggestion`` False to show it apart). The
        "not assessed" tier says it all itself: nothing follows it but the
        suggestion ("; LACE 14 on 5 Dec suggests high")."""
        if not self.assessed:
            suggestion = self.suggestion(today) if with_suggestion else None
            return "" if suggestion is None else f"; {suggestion}"
        if self.source is RiskSource.score:
            words = f" ({self.basis_text(today, with_suggestion=False)})"
            suggestion = self.suggestion(today) if with_suggestion else None
            return words if suggestion is None else f"{words}; {suggestion}"
        return f", {self.basis_text(today, with_suggestion)}"

    def describe(self, today: date | None = None) -> str:
        """The tier with its basis: "high (LACE 12, 18 Nov)", "moderate, no score or reason yet",
        "not assessed"."""
        return f"{tier_words(self.tier)}{self.basis_words(today)}"


def risk_standing(
    tier: RiskTier | str,
    source: RiskSource | str | None,
    basis: str | None,
    set_by: str | None,
    set_at: datetime | None,
    latest_lace: LaceScore | None = None,
) -> RiskStanding:
    """A RiskStanding from stored values (codes checked)."""
    return RiskStanding(
        tier=parse_code(RiskTier, tier, "risk_tier"),
        source=None if source is None else parse_code(RiskSource, source, "risk_source"),
        basis=basis,
        set_by=set_by,
        set_at=set_at,
        latest_lace=latest_lace,
    )


@dataclass(frozen=True, slots=True)
class RiskOffer:
    """What a newly recorded LACE offers the nurse: a question and the tier it sets."""

    tier: RiskTier
    question: str


def lace_offer(
    tier: RiskTier | str, source: RiskSource | str | None, lace_total: int, lace_summary: str
) -> RiskOffer | None:
    """The offer a newly recorded LACE makes, or None when it has nothing to offer.

    A band other than the tier offers the change ("LACE 7 = L2 A3 C1 E1:
    moderate risk; the tier is high. Set it to moderate?"); a patient not
    assessed yet is offered the band as their first tier. A band equal to a
    tier with no basis yet offers to record the score as its basis. The nurse
    decides; nothing changes until they say yes.
    """
    current = parse_code(RiskTier, tier, "risk_tier")
    band = tier_for_lace(lace_total)
    if current is RiskTier.not_assessed:
        return RiskOffer(
            band,
            f"{lace_summary}: {band} risk; the risk tier is not assessed yet. Set it to {band}?",
        )
    if band != current:
        return RiskOffer(
            band, f"{lace_summary}: {band} risk; the tier is {current}. Set it to {band}?"
        )
    if source is None:
        return RiskOffer(
            band,
            f"{lace_summary}: {band} risk. Record {short_summary(lace_summary)}"
            f" as the basis of the {band} tier?",
        )
    return None


__all__ = [
    "ASSESSED_TIERS",
    "LACE_HIGH_FROM",
    "LACE_MODERATE_FROM",
    "LaceScore",
    "RiskOffer",
    "RiskStanding",
    "disagrees_with_lace",
    "is_assessed",
    "lace_offer",
    "risk_standing",
    "risk_words",
    "short_summary",
    "tier_for_lace",
    "tier_words",
    "unexplained_disagreement",
]
