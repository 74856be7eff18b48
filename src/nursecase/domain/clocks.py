"""Pure clock rules that put patients and referrals on the worklist (DESIGN.md section 2).

- Next contact due from the risk tier (defaults high 7, moderate 14, low 30 days).
- Transitional care management (TCM) lives in ``nursecase.domain.tcm``.
- Chronic care management (CCM) minutes per calendar month. Source: CMS, Chronic
  Care Management Services, MLN909188 (CPT 99490, 99439, 99487, 99489).
- Referral expected-reply dates and aging buckets.

Nothing here reads the clock: "today" is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from nursecase.domain.codes import ReferralPriority, RiskTier, parse_code
from nursecase.domain.validation import ValidationError

# ---------------------------------------------------------------- next contact

DEFAULT_CADENCE_DAYS: Mapping[RiskTier, int] = MappingProxyType(
    {RiskTier.high: 7, RiskTier.moderate: 14, RiskTier.low: 30}
)
"""Days between routine contacts per risk tier; config.toml may override each."""


def next_contact_due(
    risk_tier: RiskTier | str,
    last_contact_date: date,
    cadence_days: Mapping[RiskTier, int] | None = None,
) -> date:
    """Return when the next routine contact is due: last contact + the tier's cadence.

    ``cadence_days`` overrides the defaults tier by tier; a tier it leaves out
    keeps its default.
    """
    tier = parse_code(RiskTier, risk_tier, "risk_tier")
    cadence = dict(DEFAULT_CADENCE_DAYS)
    if cadence_days:
        cadence.update(cadence_days)
    days = cadence[tier]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError("cadence_days", f"{tier} must be a whole number of days, 1 or more")
    return last_contact_date + timedelta(days=days)


# ------------------------------------------------------------------------- CCM

CCM_STANDARD_FIRST_CODE = "99490"  # first 20 minutes of clinical staff time
CCM_STANDARD_ADDON_CODE = "99439"  # each additional 20 minutes
CCM_STANDARD_FIRST_MINUTES = 20
CCM_STANDARD_ADDON_MINUTES = 20
CCM_STANDARD_ADDON_MAX_UNITS = 2  # CMS allows 99439 at most twice per month
CCM_COMPLEX_FIRST_CODE = "99487"  # first 60 minutes, complex CCM
CCM_COMPLEX_ADDON_CODE = "99489"  # each additional 30 minutes
CCM_COMPLEX_FIRST_MINUTES = 60
CCM_COMPLEX_ADDON_MINUTES = 30
# DESIGN.md states no cap for 99489, so every further full 30 minutes is one unit;
# payer-specific unit limits belong in billing, not in this clock.
CCM_COMPLEX_ADDON_MAX_UNITS: int | None = None


def _check_minutes(minutes_in_month: int) -> int:
    """Raise unless the month's minutes are a whole number, 0 or more."""
    if (
        isinstance(minutes_in_month, bool)
        or not isinstance(minutes_in_month, int)
        or minutes_in_month < 0
    ):
        raise ValidationError("minutes", "must be a whole number, 0 or more")
    return minutes_in_month


def ccm_codes(minutes_in_month: int, complex_care: bool = False) -> list[tuple[str, int]]:
    """Return the CCM codes the month's minutes reach, as (CPT code, units).

    Standard: 20 minutes reach 99490; each further full 20 minutes adds one 99439,
    at most 2. Complex: 60 minutes reach 99487; each further full 30 minutes adds
    one 99489, uncapped (see CCM_COMPLEX_ADDON_MAX_UNITS). Below the first
    threshold the list is empty.
    """
    total = _check_minutes(minutes_in_month)
    if complex_care:
        first_code, addon_code = CCM_COMPLEX_FIRST_CODE, CCM_COMPLEX_ADDON_CODE
        first_minutes, addon_minutes = CCM_COMPLEX_FIRST_MINUTES, CCM_COMPLEX_ADDON_MINUTES
        addon_cap = CCM_COMPLEX_ADDON_MAX_UNITS
    else:
        first_code, addon_code = CCM_STANDARD_FIRST_CODE, CCM_STANDARD_ADDON_CODE
        first_minutes, addon_minutes = CCM_STANDARD_FIRST_MINUTES, CCM_STANDARD_ADDON_MINUTES
        addon_cap = CCM_STANDARD_ADDON_MAX_UNITS
    if total < first_minutes:
        return []
    codes = [(first_code, 1)]
    addon_units = (total - first_minutes) // addon_minutes
    if addon_cap is not None:
        addon_units = min(addon_units, addon_cap)
    if addon_units:
        codes.append((addon_code, addon_units))
    return codes


@dataclass(frozen=True, slots=True)
class CcmProgress:
    """How far a patient's month has come towards the next CCM code."""

    minutes: int
    complex_care: bool
    codes: tuple[tuple[str, int], ...]
    next_threshold: int | None
    next_code: str | None

    @property
    def minutes_to_next(self) -> int | None:
        """Minutes still needed for the next code, or None when nothing more can be billed."""
        if self.next_threshold is None:
            return None
        return self.next_threshold - self.minutes

    def describe(self) -> str:
        """Text such as "CCM 25 min: 99490; 15 min to 99439"."""
        reached = ", ".join(
            code if units == 1 else f"{code} x{units}" for code, units in self.codes
        )
        text = f"CCM {self.minutes} min: {reached or 'no code yet'}"
        if self.next_code is not None:
            text += f"; {self.minutes_to_next} min to {self.next_code}"
        return text


def ccm_progress(minutes: int, complex_care: bool = False) -> CcmProgress:
    """Return the codes reached and the next minute threshold (None when capped)."""
    total = _check_minutes(minutes)
    codes = tuple(ccm_codes(total, complex_care))
    if complex_care:
        first_minutes, addon_minutes = CCM_COMPLEX_FIRST_MINUTES, CCM_COMPLEX_ADDON_MINUTES
        first_code, addon_code = CCM_COMPLEX_FIRST_CODE, CCM_COMPLEX_ADDON_CODE
        addon_cap = CCM_COMPLEX_ADDON_MAX_UNITS
    else:
        first_minutes, addon_minutes = CCM_STANDARD_FIRST_MINUTES, CCM_STANDARD_ADDON_MINUTES
        first_code, addon_code = CCM_STANDARD_FIRST_CODE, CCM_STANDARD_ADDON_CODE
        addon_cap = CCM_STANDARD_ADDON_MAX_UNITS
    next_threshold: int | None
    next_code: str | None
    if total < first_minutes:
        next_threshold, next_code = first_minutes, first_code
    else:
        addon_units = (total - first_minutes) // addon_minutes
        if addon_cap is not None and addon_units >= addon_cap:
            next_threshold, next_code = None, None
        else:
            next_threshold = first_minutes + (addon_units + 1) * addon_minutes
            next_code = addon_code
    return CcmProgress(
        minutes=total,
        complex_care=complex_care,
        codes=codes,
        next_threshold=next_threshold,
        next_code=next_code,
    )


# ------------------------------------------------------------------- referrals

AGING_BUCKETS = ("0-7", "8-14", ">14")
"""Referral queue age buckets in days, youngest first."""


def aging_bucket(days: int) -> str:
    """Return the aging bucket for a referral ``days`` old: "0-7", "8-14" or ">14".

    A negative age (a sent date typed in the future) falls in "0-7" rather than
    failing, because the queue must still render.
    """
    if days <= 7:
        return AGING_BUCKETS[0]
    if days <= 14:
        return AGING_BUCKETS[1]
    return AGING_BUCKETS[2]


DEFAULT_REPLY_DAYS: Mapping[ReferralPriority, int] = MappingProxyType(
    {
        ReferralPriority.stat: 1,
        ReferralPriority.asap: 2,
        ReferralPriority.urgent: 3,
        ReferralPriority.routine: 10,
    }
)
"""Calendar days until a reply is expected, per priority.

Calendar rather than business days: a stat or urgent request still needs an
answer over a weekend, and a nurse reads "10 days" literally.
"""


def default_expected_reply(priority: ReferralPriority | str, sent_date: date) -> date:
    """Return the default expected-reply date: sent date + the priority's calendar days."""
    level = parse_code(ReferralPriority, priority, "priority")
    return sent_date + timedelta(days=DEFAULT_REPLY_DAYS[level])
