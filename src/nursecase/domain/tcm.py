"""Transitional care management (TCM): the two steps after a discharge, its period and billing.

Source: CMS Medicare Learning Network, "Transitional Care Management Services",
MLN908628 (CPT 99495 and 99496):

- Interactive contact: "within 2 business days following the beneficiary's
  discharge", with the patient and/or caregiver, by telephone, email or face to
  face. Business days are Monday to Friday except holidays (the clinic
  configures its holidays). The contact must be a two-way conversation, so a
  voicemail or an unanswered call is not one; but "if you make 2 or more
  separate attempts in a timely manner and document them but are unsuccessful,
  and other TCM criteria are met, you may report the service": two documented
  unsuccessful attempts inside the window meet the step too.
- Face-to-face visit: within 7 calendar days of discharge for high complexity
  medical decision making (99496), within 14 calendar days for moderate or high
  complexity (99495).
- The 30-day TCM period "begins on the day of discharge and continues for the
  next 29 days". TCM is reported "only once per beneficiary within 30 days of
  discharge", so a readmission whose discharge falls inside a period already
  billable cannot be billed again.

nursecase's reading, for the worklist: a step not met by its deadline is
*missed*; a contact made after the deadline is shown as "made late" but does not
meet the step. A missed step is shown on Today once, on the first business day
after its deadline, and then leaves Today. Nothing of a discharge is on Today
after its period, and a readmission (a later discharge recorded inside the
period) ends the earlier period at once: what was still open of it is *ended by
readmission*.

Nothing here reads the clock or the database: "today" and the facts recorded
for a discharge are passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from nursecase.domain.business_days import NO_HOLIDAYS, add_business_days, business_days_between
from nursecase.domain.codes import (
    INTERACTIVE_OUTCOMES,
    Code,
    ContactMode,
    ContactOutcome,
    ContactWith,
    TaskStatus,
)

TCM_INTERACTIVE_BUSINESS_DAYS = 2
#: Unsuccessful attempts inside the window that CMS accepts in place of the contact.
TCM_REQUIRED_ATTEMPTS = 2
TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY = 7  # CPT 99496
TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY = 14  # CPT 99495
#: The discharge day and the 29 days after it.
TCM_PERIOD_DAYS = 30
TCM_HIGH_COMPLEXITY_CODE = "99496"
TCM_MODERATE_COMPLEXITY_CODE = "99495"

#: Who the interactive contact (or an attempt at it) must be with.
#: Why a TCM step's task is not simply marked done: CMS counts the contact or
#: the visit itself, so the step is met by logging it (and a task ticked off
#: without one would hide a missed step from the TCM report).
TCM_TASK_REFUSAL = (
    "is a transitional-care step: it is met by logging the contact or the visit "
    "itself (press c), not marked done"
)

TCM_CONTACT_WITH = frozenset({ContactWith.patient, ContactWith.caregiver})
#: Outcomes of a two-way conversation (reached, agreed to a visit, declined): the
#: interactive contact happened; a voicemail or a missed call is not one.
TCM_INTERACTIVE_OUTCOMES = INTERACTIVE_OUTCOMES
#: Outcomes of a documented unsuccessful attempt to reach the patient or caregiver.
TCM_ATTEMPT_OUTCOMES = frozenset({ContactOutcome.no_answer, ContactOutcome.left_message})
#: Contacts that are a face-to-face visit (when the patient was reached).
TCM_FACE_TO_FACE_MODES = frozenset({ContactMode.home_visit, ContactMode.clinic_visit})


def is_interactive_contact(with_whom: str, outcome: str) -> bool:
    """True when a contact meets the interactive step: a conversation with patient or caregiver."""
    return with_whom in TCM_CONTACT_WITH and outcome in TCM_INTERACTIVE_OUTCOMES


def is_unsuccessful_attempt(with_whom: str, outcome: str) -> bool:
    """True when a contact is a documented unsuccessful attempt (no answer, message left)."""
    return with_whom in TCM_CONTACT_WITH and outcome in TCM_ATTEMPT_OUTCOMES


def is_face_to_face_visit(mode: str, outcome: str) -> bool:
    """True when a contact is a home or clinic visit at which the patient was reached."""
    return mode in TCM_FACE_TO_FACE_MODES and outcome == ContactOutcome.reached


class TcmStep(Code):
    """The two TCM steps after a discharge."""

    interactive_contact = "interactive-contact"
    face_to_face_visit = "face-to-face-visit"


class TcmStepState(Code):
    """Where a TCM step stands."""

    #: Inside its window, not met yet.
    due = "due"
    #: Met by a contact (or visit) on or after the discharge day and by the deadline.
    met = "met"
    #: The interactive step, met by two documented unsuccessful attempts inside its window.
    met_by_attempts = "met-by-attempts"
    #: Not met by its deadline (a contact made later does not meet it).
    missed = "missed"
    #: Still open when a readmission ended the period.
    ended_by_readmission = "ended-by-readmission"


class TcmBillingState(Code):
    """Whether a discharge's TCM can be billed, as of a day."""

    billable = "billable"
    #: A step is still due: it may become billable.
    pending = "pending"
    not_billable = "not-billable"


def complexity_label(high_complexity: bool) -> str:
    """The medical decision making of the discharge in words: "High" or "Moderate"."""
    return "High" if high_complexity else "Moderate"


def day_text(day: date) -> str:
    """A date as a nurse reads it: "Wed 2 Dec"."""
    return f"{day:%a} {day.day} {day:%b}"


def _days_text(days: Iterable[date]) -> str:
    return ", ".join(day_text(day) for day in days)


def interactive_deadline(discharged_on: date, holidays: Collection[date] = NO_HOLIDAYS) -> date:
    """The 2nd business day after the discharge day (the discharge day never counts)."""
    return add_business_days(discharged_on, TCM_INTERACTIVE_BUSINESS_DAYS, holidays)


def face_to_face_window_days(high_complexity: bool) -> int:
    """7 calendar days for high complexity (99496), else 14 (99495)."""
    if high_complexity:
        return TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY
    return TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY


def face_to_face_deadline(discharged_on: date, high_complexity: bool) -> date:
    """The last calendar day of the face-to-face window."""
    return discharged_on + timedelta(days=face_to_face_window_days(high_complexity))


def period_end(discharged_on: date) -> date:
    """The last day of the 30-day TCM period: the discharge day plus 29 days."""
    return discharged_on + timedelta(days=TCM_PERIOD_DAYS - 1)


def missed_shown_on(deadline: date, holidays: Collection[date] = NO_HOLIDAYS) -> date:
    """The one day a missed step is shown on Today: the first business day after its deadline."""
    return add_business_days(deadline, 1, holidays)


@dataclass(frozen=True)
class AttemptTally:
    """The unsuccessful attempts inside the interactive window, and the day two were reached."""

    count: int
    met_on: date | None
    days: tuple[date, ...]


def tally_attempts(
    discharged_on: date,
    attempt_days: Iterable[date],
    holidays: Collection[date] = NO_HOLIDAYS,
    superseded_on: date | None = None,
) -> AttemptTally:
    """Count the attempts from the discharge day to the interactive deadline (inclusive).

    Attempts after a readmission's discharge belong to the next period. The
    step is met by attempts on the day of the second one (CMS: "2 or more
    separate attempts in a timely manner").
    """
    deadline = interactive_deadline(discharged_on, holidays)
    days = tuple(
        sorted(
            day
            for day in attempt_days
            if discharged_on <= day <= deadline and (superseded_on is None or day < superseded_on)
        )
    )
    met_on = days[TCM_REQUIRED_ATTEMPTS - 1] if len(days) >= TCM_REQUIRED_ATTEMPTS else None
    return AttemptTally(len(days), met_on, days)


@dataclass(frozen=True)
class TcmFacts:
    """What is recorded for one discharge.

    ``interactive_contact_on`` is the day of the first conversation with the
    patient or caregiver after the discharge (on time or late);
    ``attempts_met_on`` the day of the second unsuccessful attempt inside the
    window, with ``attempt_dates`` the attempts' days when known (for wording);
    ``face_to_face_on`` the day of the first home or clinic visit;
    ``superseded_on`` the day of a later discharge (readmission) that ended this
    period. Evidence before the discharge day (the stay itself) or on or after a
    readmission's discharge (the next period's) is ignored.
    """

    discharged_on: date
    high_complexity: bool = False
    interactive_contact_on: date | None = None
    interactive_attempts: int = 0
    attempts_met_on: date | None = None
    face_to_face_on: date | None = None
    superseded_on: date | None = None
    attempt_dates: tuple[date, ...] = ()

    def counts(self, day: date | None) -> date | None:
        """``day`` when it belongs to this period, else None."""
        if day is None or day < self.discharged_on:
            return None
        if self.superseded_on is not None and day >= self.superseded_on:
            return None
        return day


@dataclass(frozen=True)
class TcmStepStatus:
    """One step of one discharge as of ``today``.

    ``met_on`` is the contact, visit or second attempt that met it; ``late_on``
    a contact or visit made after a missed deadline; ``day`` counts business
    days (interactive contact) or calendar days (visit) after the discharge, as
    of today, out of ``window``.
    """

    step: TcmStep
    state: TcmStepState
    deadline: date
    shown_missed_on: date
    window: int
    day: int
    met_on: date | None = None
    late_on: date | None = None
    attempts: int = 0
    attempt_dates: tuple[date, ...] = ()
    superseded_on: date | None = None

    @property
    def is_met(self) -> bool:
        """True when the step was met (by a contact, a visit or two attempts)."""
        return self.state in (TcmStepState.met, TcmStepState.met_by_attempts)

    @property
    def noun(self) -> str:
        """ "contact" or "visit", as the short wording names the step."""
        return "contact" if self.step is TcmStep.interactive_contact else "visit"

    def describe(self) -> str:
        """The step in words: "contact met Thu 26 Nov", "visit missed (due Fri 4 Dec)"."""
        noun = self.noun
        state = self.state
        if state is TcmStepState.met:
            return f"{noun} met {day_text(self.met_on)}" if self.met_on else f"{noun} met"
        if state is TcmStepState.met_by_attempts:
            # The attempts up to the one that met the step (a third changes nothing).
            dates = tuple(day for day in self.attempt_dates if self.met_on and day <= self.met_on)
            dates = dates or ((self.met_on,) if self.met_on else ())
            return f"{noun} met by two attempts ({_days_text(dates)})"
        if state is TcmStepState.missed:
            if self.late_on is not None:
                return (
                    f"{noun} missed: made late {day_text(self.late_on)} "
                    f"(due {day_text(self.deadline)})"
                )
            return f"{noun} missed (due {day_text(self.deadline)})"
        if state is TcmStepState.ended_by_readmission:
            when = f" {day_text(self.superseded_on)}" if self.superseded_on else ""
            return f"{noun} ended by readmission{when}"
        # Business days for the contact, calendar days for the visit (the wording of Today).
        text = f"{noun} day {self.day} of {self.window}"
        if self.attempts:
            text += f", {_plural(self.attempts, 'attempt')}"
        return text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True)
class TcmBilling:
    """Whether a discharge's TCM can be billed, with the code and the reason in words."""

    state: TcmBillingState
    reason: str
    code: str | None = None

    @property
    def code_text(self) -> str:
        """ "99496", "99495", "not billable yet" or "not billable"."""
        return self.code if self.code is not None else self.state.label.lower()


@dataclass(frozen=True)
class TcmStatus:
    """One discharge's TCM as of ``today``: both steps, its period and what Today shows."""

    facts: TcmFacts
    today: date
    interactive: TcmStepStatus
    face_to_face: TcmStepStatus
    period_end: date

    @property
    def discharged_on(self) -> date:
        """The discharge day: day 1 of the period."""
        return self.facts.discharged_on

    @property
    def superseded_on(self) -> date | None:
        """The day of the readmission's discharge that ended this period, if any."""
        return self.facts.superseded_on

    @property
    def steps(self) -> tuple[TcmStepStatus, TcmStepStatus]:
        """The interactive contact, then the face-to-face visit."""
        return (self.interactive, self.face_to_face)

    def step(self, step: TcmStep | str) -> TcmStepStatus:
        """The status of one step."""
        return (
            self.interactive if TcmStep(step) is TcmStep.interactive_contact else self.face_to_face
        )

    @property
    def in_period(self) -> bool:
        """True from the discharge day to the period's last day, unless a readmission ended it."""
        if not self.discharged_on <= self.today <= self.period_end:
            return False
        superseded = self.superseded_on
        return superseded is None or self.today < superseded

    def on_today(self, step: TcmStep | str) -> bool:
        """True when the step belongs on Today: due, or missed and this is its one shown day."""
        status = self.step(step)
        if not self.in_period:
            return False
        if status.state is TcmStepState.due:
            return True
        return status.state is TcmStepState.missed and self.today == status.shown_missed_on

    @property
    def is_open(self) -> bool:
        """True while something of this discharge is on Today (the TCM clock is open)."""
        return any(self.on_today(status.step) for status in self.steps)

    def today_reason(self, step: TcmStep | str) -> str:
        """The worklist reason of a step: "TCM day 1 of 2", "TCM contact missed (due Wed 2 Dec)"."""
        status = self.step(step)
        if status.state is TcmStepState.missed:
            return f"TCM {status.noun} missed (due {day_text(status.deadline)})"
        if status.step is TcmStep.interactive_contact:
            text = f"TCM day {status.day} of {status.window}"
            if status.attempts:
                text += f", {_plural(status.attempts, 'attempt')}"
            return text
        return f"TCM visit day {status.day} of {status.window}"

    def short_label(self) -> str:
        """The most pressing step's worklist reason, or "TCM steps met" / "" when none is due."""
        for status in self.steps:
            if self.on_today(status.step):
                return self.today_reason(status.step)
        if all(status.is_met for status in self.steps):
            return "TCM steps met"
        return ""

    def describe(self) -> str:
        """Both steps in words: "TCM: contact met Thu 26 Nov; visit day 3 of 14"."""
        return f"TCM: {self.interactive.describe()}; {self.face_to_face.describe()}"

    def closing_status(self, step: TcmStep | str) -> TaskStatus | None:
        """The status an open task of the step should be closed with today, or None to keep it.

        Met: completed. Ended by readmission: cancelled. Missed: failed (shown
        as "Missed") once a late contact settled it or it can no longer be on
        Today (its shown day passed, the period ended, a readmission ended it);
        kept while its one day on Today is today or still ahead. Due: kept.
        """
        status = self.step(step)
        state = status.state
        if status.is_met:
            return TaskStatus.completed
        if state is TcmStepState.ended_by_readmission:
            return TaskStatus.cancelled
        if state is not TcmStepState.missed:
            return None
        if status.late_on is not None:
            return TaskStatus.failed
        if self.in_period and self.today <= status.shown_missed_on:
            return None
        return TaskStatus.failed

    def own_billing(self) -> TcmBilling:
        """Billing of this discharge alone (``tcm_billing`` adds the once-per-30-days rule)."""
        interactive, visit = self.interactive, self.face_to_face
        facts = self.facts
        visit_on = facts.counts(facts.face_to_face_on)
        moderate_deadline = facts.discharged_on + timedelta(
            days=TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY
        )
        if interactive.state is TcmStepState.ended_by_readmission:
            # That state is only given when a later discharge superseded this one.
            assert facts.superseded_on is not None
            return TcmBilling(
                TcmBillingState.not_billable,
                f"readmitted (discharged again {day_text(facts.superseded_on)}) "
                "before the interactive contact",
            )
        if interactive.state is TcmStepState.missed:
            if interactive.late_on is not None:
                reason = (
                    f"interactive contact made late {day_text(interactive.late_on)}, "
                    f"after its deadline {day_text(interactive.deadline)}"
                )
            else:
                reason = (
                    "no interactive contact and no two attempts within 2 business days "
                    f"(due {day_text(interactive.deadline)})"
                )
            return TcmBilling(TcmBillingState.not_billable, reason)
        if interactive.state is TcmStepState.due:
            return TcmBilling(
                TcmBillingState.pending,
                f"interactive contact due by {day_text(interactive.deadline)}",
            )
        how = "by two attempts" if interactive.state is TcmStepState.met_by_attempts else ""
        met = f"interactive contact met{' ' + how if how else ''}"
        if visit_on is not None:
            days = (visit_on - facts.discharged_on).days
            visit_words = f"visit {_plural(days, 'day')} after discharge"
            if facts.high_complexity and days <= TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY:
                return TcmBilling(
                    TcmBillingState.billable,
                    f"{met}; {visit_words} (within 7); high complexity",
                    TCM_HIGH_COMPLEXITY_CODE,
                )
            if days <= TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY:
                if facts.high_complexity:
                    why = "high complexity, but 99496 needs the visit within 7"
                else:
                    why = "moderate complexity"
                return TcmBilling(
                    TcmBillingState.billable,
                    f"{met}; {visit_words} (within 14); {why}",
                    TCM_MODERATE_COMPLEXITY_CODE,
                )
            return TcmBilling(
                TcmBillingState.not_billable,
                f"{met}, but the {visit_words}: more than 14",
            )
        if visit.state is TcmStepState.ended_by_readmission or (
            facts.superseded_on is not None and facts.superseded_on <= moderate_deadline
        ):
            # ended_by_readmission, too, is only given when a later discharge superseded this one.
            assert facts.superseded_on is not None
            return TcmBilling(
                TcmBillingState.not_billable,
                f"readmitted (discharged again {day_text(facts.superseded_on)}) "
                "before the face-to-face visit",
            )
        if self.today <= moderate_deadline:
            if facts.high_complexity and self.today <= visit.deadline:
                by = f"by {day_text(visit.deadline)} (99496) or {day_text(moderate_deadline)}"
            else:
                by = f"by {day_text(moderate_deadline)}"
            return TcmBilling(TcmBillingState.pending, f"{met}; face-to-face visit due {by}")
        return TcmBilling(
            TcmBillingState.not_billable,
            f"no face-to-face visit within 14 days (due {day_text(moderate_deadline)})",
        )


def _interactive_status(facts: TcmFacts, today: date, holidays: Collection[date]) -> TcmStepStatus:
    deadline = interactive_deadline(facts.discharged_on, holidays)
    contact = facts.counts(facts.interactive_contact_on)
    attempts_met = facts.counts(facts.attempts_met_on)
    superseded = facts.superseded_on
    due = TcmStepStatus(
        step=TcmStep.interactive_contact,
        state=TcmStepState.due,
        deadline=deadline,
        shown_missed_on=missed_shown_on(deadline, holidays),
        window=TCM_INTERACTIVE_BUSINESS_DAYS,
        day=max(0, business_days_between(facts.discharged_on, today, holidays)),
        attempts=facts.interactive_attempts,
        attempt_dates=facts.attempt_dates,
        superseded_on=superseded,
    )
    if contact is not None and contact <= deadline:
        return replace(due, state=TcmStepState.met, met_on=contact)
    if attempts_met is not None and attempts_met <= deadline:
        return replace(due, state=TcmStepState.met_by_attempts, met_on=attempts_met)
    if superseded is not None and superseded <= deadline:
        return replace(due, state=TcmStepState.ended_by_readmission)
    if today > deadline or (superseded is not None and superseded > deadline):
        return replace(due, state=TcmStepState.missed, late_on=contact)
    return due


def _face_to_face_status(facts: TcmFacts, today: date, holidays: Collection[date]) -> TcmStepStatus:
    deadline = face_to_face_deadline(facts.discharged_on, facts.high_complexity)
    visit = facts.counts(facts.face_to_face_on)
    superseded = facts.superseded_on
    due = TcmStepStatus(
        step=TcmStep.face_to_face_visit,
        state=TcmStepState.due,
        deadline=deadline,
        shown_missed_on=missed_shown_on(deadline, holidays),
        window=face_to_face_window_days(facts.high_complexity),
        day=max(0, (today - facts.discharged_on).days),
        superseded_on=superseded,
    )
    if visit is not None and visit <= deadline:
        return replace(due, state=TcmStepState.met, met_on=visit)
    if superseded is not None and superseded <= deadline:
        return replace(due, state=TcmStepState.ended_by_readmission)
    if today > deadline or (superseded is not None and superseded > deadline):
        return replace(due, state=TcmStepState.missed, late_on=visit)
    return due


def tcm_status(facts: TcmFacts, today: date, holidays: Collection[date] = NO_HOLIDAYS) -> TcmStatus:
    """Where a discharge's TCM stands on ``today``: both steps, the period, what Today shows."""
    holiday_set = frozenset(holidays)
    return TcmStatus(
        facts=facts,
        today=today,
        interactive=_interactive_status(facts, today, holiday_set),
        face_to_face=_face_to_face_status(facts, today, holiday_set),
        period_end=period_end(facts.discharged_on),
    )


def tcm_billing(statuses: Sequence[TcmStatus]) -> list[TcmBilling]:
    """The billing of each of ONE patient's discharges, in the order given.

    A discharge inside the period of an earlier discharge that is billable is
    not billable again: CMS pays TCM once per beneficiary within 30 days of a
    discharge.
    """
    order = sorted(range(len(statuses)), key=lambda index: statuses[index].discharged_on)
    results: list[TcmBilling | None] = [None] * len(statuses)
    billed: TcmStatus | None = None
    for index in order:
        status = statuses[index]
        if billed is not None and status.discharged_on <= billed.period_end:
            results[index] = TcmBilling(
                TcmBillingState.not_billable,
                f"TCM already billable for the discharge of {day_text(billed.discharged_on)}: "
                "once per patient in 30 days",
            )
            continue
        own = status.own_billing()
        results[index] = own
        if own.state is TcmBillingState.billable:
            billed = status
    return [result for result in results if result is not None]


__all__ = [
    "AttemptTally",
    "TCM_ATTEMPT_OUTCOMES",
    "TCM_CONTACT_WITH",
    "TCM_FACE_TO_FACE_DAYS_HIGH_COMPLEXITY",
    "TCM_FACE_TO_FACE_DAYS_MODERATE_COMPLEXITY",
    "TCM_FACE_TO_FACE_MODES",
    "TCM_HIGH_COMPLEXITY_CODE",
    "TCM_INTERACTIVE_BUSINESS_DAYS",
    "TCM_INTERACTIVE_OUTCOMES",
    "TCM_MODERATE_COMPLEXITY_CODE",
    "TCM_PERIOD_DAYS",
    "TCM_TASK_REFUSAL",
    "TCM_REQUIRED_ATTEMPTS",
    "TcmBilling",
    "TcmBillingState",
    "TcmFacts",
    "TcmStatus",
    "TcmStep",
    "TcmStepState",
    "TcmStepStatus",
    "complexity_label",
    "day_text",
    "face_to_face_deadline",
    "face_to_face_window_days",
    "interactive_deadline",
    "is_face_to_face_visit",
    "is_interactive_contact",
    "is_unsuccessful_attempt",
    "missed_shown_on",
    "period_end",
    "tally_attempts",
    "tcm_billing",
    "tcm_status",
]
