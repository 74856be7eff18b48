"""Pure clock rules that put patients and referrals on the worklist (DESIGN.md section 2).

- Next contact due from the risk tier (defaults high 7, moderate 14, low 30 days).
- Transitional care management (TCM): after a discharge, an interactive contact
  within 2 business days and a face-to-face visit within 7 (high complexity) or
  14 calendar days. Source: CMS, Transitional Care Management Services, MLN908628
  (CPT 99495/99496).
- Chronic care management (CCM) codes live in ``domain.ccm``.
- Referral expected-reply dates and aging buckets.

Nothing here reads the clock: "today" is always passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from nursecase.domain.business_days import (
    NO_HOLIDAYS,
    add_business_days,
    business_days_between,
)
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


# ------------------------------------------------------------------------- TCM

TCM_INTERACTIVE_BUSINESS_DAYS = 2
TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY = 7  # CPT 99496
TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY = 14  # CPT 99495


def _plural(count: int, word: str) -> str:
    """Return "1 day" / "3 days"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class TcmClock:
    """Where a patient stands on the two TCM deadlines on ``today``.

    The interactive contact counts when it is on or after the discharge date;
    ``interactive_business_day`` is how many business days after discharge today
    is (0 on the discharge day, 1 and 2 inside the window, more when overdue).
    A deadline is *met* when done on time, *overdue* when its day has passed
    with nothing done, and *late* when it was done after its deadline.
    """

    discharge_date: date
    high_complexity: bool
    today: date
    interactive_deadline: date
    face_to_face_deadline: date
    interactive_business_day: int
    face_to_face_day: int
    interactive_contact_date: date | None = None
    face_to_face_date: date | None = None

    @property
    def face_to_face_window_days(self) -> int:
        """7 calendar days for high complexity (99496), otherwise 14 (99495)."""
        if self.high_complexity:
            return TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY
        return TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY

    @property
    def interactive_met(self) -> bool:
        """True when the interactive contact happened by its deadline."""
        contact = self.interactive_contact_date
        return contact is not None and contact <= self.interactive_deadline

    @property
    def interactive_late(self) -> bool:
        """True when the interactive contact happened, but after its deadline."""
        contact = self.interactive_contact_date
        return contact is not None and contact > self.interactive_deadline

    @property
    def interactive_overdue(self) -> bool:
        """True when the deadline has passed and no interactive contact is recorded."""
        return self.interactive_contact_date is None and self.today > self.interactive_deadline

    @property
    def interactive_due_today(self) -> bool:
        """True on the deadline day while no interactive contact is recorded."""
        return self.interactive_contact_date is None and self.today == self.interactive_deadline

    @property
    def face_to_face_met(self) -> bool:
        """True when the face-to-face visit happened by its deadline."""
        visit = self.face_to_face_date
        return visit is not None and visit <= self.face_to_face_deadline

    @property
    def face_to_face_late(self) -> bool:
        """True when the face-to-face visit happened, but after its deadline."""
        visit = self.face_to_face_date
        return visit is not None and visit > self.face_to_face_deadline

    @property
    def face_to_face_overdue(self) -> bool:
        """True when the deadline has passed and no face-to-face visit is recorded."""
        return self.face_to_face_date is None and self.today > self.face_to_face_deadline

    @property
    def face_to_face_due_today(self) -> bool:
        """True on the deadline day while no face-to-face visit is recorded."""
        return self.face_to_face_date is None and self.today == self.face_to_face_deadline

    @property
    def interactive_open(self) -> bool:
        """True while the interactive contact is still to be made."""
        return self.interactive_contact_date is None

    @property
    def face_to_face_open(self) -> bool:
        """True while the face-to-face visit is still to be made."""
        return self.face_to_face_date is None

    @property
    def is_open(self) -> bool:
        """True while either TCM step is still to be done."""
        return self.interactive_open or self.face_to_face_open

    @property
    def next_deadline(self) -> date | None:
        """The earliest deadline of a step still to be done, or None when both are done."""
        deadlines = []
        if self.interactive_open:
            deadlines.append(self.interactive_deadline)
        if self.face_to_face_open:
            deadlines.append(self.face_to_face_deadline)
        return min(deadlines, default=None)

    @property
    def days_overdue(self) -> int:
        """Calendar days past the earliest missed open deadline (0 when none is missed)."""
        deadline = self.next_deadline
        if deadline is None or self.today <= deadline:
            return 0
        return (self.today - deadline).days

    def describe_interactive(self) -> str:
        """Text for the interactive-contact step, e.g. "... day 1 of 2 business days"."""
        prefix = "TCM interactive contact: "
        window = TCM_INTERACTIVE_BUSINESS_DAYS
        contact = self.interactive_contact_date
        if contact is not None:
            if self.interactive_met:
                return f"{prefix}done {contact.isoformat()}"
            return (
                f"{prefix}made late on {contact.isoformat()} "
                f"(due {self.interactive_deadline.isoformat()})"
            )
        if self.interactive_overdue:
            late_by = self.interactive_business_day - window
            if late_by > 0:
                overdue = _plural(late_by, "business day")
            else:
                # Today is a weekend day or holiday just after the deadline.
                overdue = _plural((self.today - self.interactive_deadline).days, "day")
            return f"{prefix}overdue by {overdue} (due {self.interactive_deadline.isoformat()})"
        return f"{prefix}day {self.interactive_business_day} of {window} business days"

    def describe_face_to_face(self) -> str:
        """Text for the face-to-face step, e.g. "TCM face-to-face visit: day 3 of 14 days"."""
        prefix = "TCM face-to-face visit: "
        visit = self.face_to_face_date
        if visit is not None:
            if self.face_to_face_met:
                return f"{prefix}done {visit.isoformat()}"
            return (
                f"{prefix}made late on {visit.isoformat()} "
                f"(due {self.face_to_face_deadline.isoformat()})"
            )
        if self.face_to_face_overdue:
            late_by = (self.today - self.face_to_face_deadline).days
            return (
                f"{prefix}overdue by {_plural(late_by, 'day')} "
                f"(due {self.face_to_face_deadline.isoformat()})"
            )
        return f"{prefix}day {self.face_to_face_day} of {self.face_to_face_window_days} days"

    def describe(self) -> str:
        """The step that needs attention now: the contact first, then the visit."""
        if self.interactive_open:
            return self.describe_interactive()
        if self.face_to_face_open:
            return self.describe_face_to_face()
        return "TCM: interactive contact and face-to-face visit done"

    def short_label(self) -> str:
        """A worklist reason: "TCM day 2 of 2", "TCM overdue", "TCM visit day 3 of 14"."""
        if self.interactive_open:
            if self.interactive_overdue:
                return "TCM contact overdue"
            return f"TCM day {self.interactive_business_day} of {TCM_INTERACTIVE_BUSINESS_DAYS}"
        if self.face_to_face_open:
            if self.face_to_face_overdue:
                return "TCM visit overdue"
            return f"TCM visit day {self.face_to_face_day} of {self.face_to_face_window_days}"
        return "TCM done"


def tcm_clock(
    discharge_date: date,
    high_complexity: bool,
    today: date,
    holidays: Collection[date] = NO_HOLIDAYS,
    interactive_contact_date: date | None = None,
    face_to_face_date: date | None = None,
) -> TcmClock:
    """Compute the TCM deadlines and where ``today`` stands on them.

    Contact or visit dates before the discharge do not count (they belong to the
    admission), so they are ignored. Day numbers before the discharge are 0.
    """
    if interactive_contact_date is not None and interactive_contact_date < discharge_date:
        interactive_contact_date = None
    if face_to_face_date is not None and face_to_face_date < discharge_date:
        face_to_face_date = None
    window = (
        TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY
        if high_complexity
        else TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY
    )
    return TcmClock(
        discharge_date=discharge_date,
        high_complexity=high_complexity,
        today=today,
        interactive_deadline=add_business_days(
            discharge_date, TCM_INTERACTIVE_BUSINESS_DAYS, holidays
        ),
        face_to_face_deadline=discharge_date + timedelta(days=window),
        interactive_business_day=max(0, business_days_between(discharge_date, today, holidays)),
        face_to_face_day=max(0, (today - discharge_date).days),
        interactive_contact_date=interactive_contact_date,
        face_to_face_date=face_to_face_date,
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
