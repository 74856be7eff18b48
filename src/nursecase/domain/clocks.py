"""Pure clock rules that put patients and referrals on the worklist (DESIGN.md section 2).

- Next contact due from the risk tier (defaults high 7, moderate 14, low 30 days);
  a patient not assessed yet follows the moderate cadence.
- Transitional care management (TCM) lives in ``nursecase.domain.tcm``.
- Chronic care management (CCM) codes live in ``nursecase.domain.ccm``.
- Referral expected-reply dates and aging buckets.

Nothing here reads the clock: "today" is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    cadence_days: Mapping[str, int] | None = None,
) -> date:
    """Return when the next routine contact is due: last contact + the tier's cadence.

    ``cadence_days`` (risk tier code -> days, as config.toml gives them)
    overrides the defaults tier by tier; a tier it leaves out keeps its default.

    A patient not assessed yet is contacted at the moderate cadence: DESIGN.md
    gives cadences for the three tiers only, and the middle one neither leaves
    a patient of unknown risk a month without a call nor fills the week with
    calls the (possibly high) risk has not been shown to need. The worklist
    still ranks and shows them as "not assessed" (``RISK_RANKS``), never as moderate.
    """
    tier = parse_code(RiskTier, risk_tier, "risk_tier")
    if tier is RiskTier.not_assessed:
        tier = RiskTier.moderate
    cadence: dict[str, int] = {tier: days for tier, days in DEFAULT_CADENCE_DAYS.items()}
    if cadence_days:
        cadence.update(cadence_days)
    days = cadence[tier]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError("cadence_days", f"{tier} must be a whole number of days, 1 or more")
    return last_contact_date + timedelta(days=days)


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
