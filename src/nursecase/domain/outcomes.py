"""A month's hospital outcomes for a case-management team (issue 21, item 4).

Computed from plain facts: the service gathers the encounters, contacts,
medication reconciliations and enrolled days; nothing here reads the clock or
the database ("today" is passed in). Days are the calendar days of the
datetimes as given (the caller gives them in the clinic's time zone), and a
day count is the difference of two such days: the discharge day is day 0.

Three families of figures, each after its published source:

- **30-day readmissions**, after the CMS / NCQA HEDIS Plan All-Cause
  Readmissions measure (PCR). An *index discharge* is an inpatient stay (class
  IMP) discharged in the month, not cancelled and not ending in death (PCR
  excludes members who died during the stay). A *direct transfer* is one
  continuous stay (PCR "Direct transfers": use the admission of the first and
  the discharge of the last): an IMP admission on the discharge day, or one on
  the same or next day after a discharge to another health care facility
  ("other-hcf"); only the last discharge of such a chain is an index discharge.
  A *readmission* is an IMP admission 1 to 30 days after the index discharge
  (PCR: "an acute readmission ... within 30 days of the index discharge date";
  an admission on the discharge day is a transfer, day 0). The rate is index
  discharges followed by at least one readmission over index discharges, each
  index discharge counted once.
- **ED visits per 1,000 patient-months**: emergency encounters (EMER) that
  began in the month, over the months the team's patients were enrolled
  (enrolled days / days in the month), times 1,000.
- **Transitions of Care** (NCQA HEDIS TRC). The denominator is the IMP
  discharges of the month, not cancelled, excluding deaths ("exp") and
  discharges to hospice ("hosp"); "if the discharge is followed by a
  readmission or direct transfer to an acute or nonacute inpatient care setting
  on the date of discharge through 30 days after discharge (31 total days),
  count only the last discharge". Four numerators, each for that last stay:

  1. Notification of inpatient admission: "documentation of receipt of
     notification of inpatient admission on the day of admission or the
     following day" (issue 21; NCQA's published measure description). The
     HEDIS technical specifications from MY2020 widened it to "through 2 days
     after the admission (3 total days)": the caller passes
     ``notification_days=2`` from its configuration for that reading. Knowing
     of the admission *before* it (a pre-admission notice of a planned stay)
     counts too: HEDIS TRC accepts "notification of a planned admission prior
     to the admit date".
  2. Receipt of discharge information: "on the day of discharge or the
     following day" (same source, same MY2020 widening to 2 days after).
  3. Patient engagement after inpatient discharge: "within 30 days after
     discharge. Do not include patient engagement that occurs on the date of
     discharge": days 1 to 30.
  4. Medication reconciliation post-discharge: "on the date of discharge
     through 30 days after discharge (31 total days)": days 0 to 30.

A month is *complete* once every 30-day window of its discharges has closed:
until 30 days after the month's last day a readmission or an engagement can
still come (and, for TRC, a readmission moves a discharge to a later month), so
the report calls the figures provisional.

Where nursecase reads the measures more narrowly than HEDIS, for want of the
data: only inpatient encounters (IMP) are stays (HEDIS PCR also counts
observation stays, TRC nonacute settings recorded as other classes); planned
readmissions and PCR's diagnosis exclusions (pregnancy, perinatal) are not
removed, as no planned flag or principal diagnosis is passed in; and an
admission the day after a discharge home is a readmission, not a transfer
(HEDIS calls any admission within one day a direct transfer; issue 21's
lead kept the next day for transfers to another facility only).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from nursecase.domain.codes import DischargeDisposition, EncounterClass

#: PCR and TRC: the follow-up window after a discharge, in days (the discharge day is day 0).
FOLLOW_UP_DAYS = 30
#: TRC notifications: "on the day of admission or the following day" (NCQA measure description).
DEFAULT_NOTIFICATION_DAYS = 1
#: ED visits are reported per this many patient-months.
PATIENT_MONTHS_SCALE = 1000

#: PCR: a stay ending in death is not an index stay (the patient cannot be readmitted).
_PCR_EXCLUDED = frozenset({DischargeDisposition.expired})
#: TRC: deaths and discharges to hospice leave the denominator.
_TRC_EXCLUDED = frozenset({DischargeDisposition.expired, DischargeDisposition.hospice})


@dataclass(frozen=True)
class StayFacts:
    """One hospital encounter, as the outcomes need it."""

    encounter_id: int
    patient_id: int
    encounter_class: EncounterClass
    admitted_at: datetime
    #: None while the patient is still in (in the hospital, the ED, under observation).
    discharged_at: datetime | None
    #: FHIR discharge-disposition code: "hosp" is hospice, "exp" the patient died.
    disposition: DischargeDisposition | None
    #: When nursecase first learned of the admission (ADT message, FHIR import, nurse).
    admission_known_at: datetime | None
    #: When nursecase first learned of the discharge.
    discharge_known_at: datetime | None
    #: Status cancelled or entered-in-error: never counted, never links a chain.
    cancelled: bool

    @property
    def admitted_on(self) -> date:
        """The day of admission."""
        return self.admitted_at.date()

    @property
    def discharged_on(self) -> date | None:
        """The day of discharge, None while not discharged."""
        return self.discharged_at.date() if self.discharged_at else None


@dataclass(frozen=True)
class Rate:
    """A numerator over a denominator, with the encounters behind each (for detail rows)."""

    numerator: int
    denominator: int
    #: The encounters counted in the denominator (for a chain of stays, its last stay).
    denominator_ids: tuple[int, ...] = ()
    #: The encounters of the denominator that meet the numerator.
    numerator_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.numerator <= self.denominator:
            raise ValueError("a rate needs 0 <= numerator <= denominator")

    @classmethod
    def of(cls, denominator_ids: Iterable[int], numerator_ids: Iterable[int]) -> Rate:
        """The rate of the given encounters (ids in the order given)."""
        denominator = tuple(denominator_ids)
        numerator = tuple(numerator_ids)
        return cls(len(numerator), len(denominator), denominator, numerator)

    @property
    def value(self) -> float | None:
        """The fraction (0 to 1); None when there is no denominator ("no discharges", never 0 %)."""
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator

    @property
    def percent(self) -> float | None:
        """The rate in percent; None when there is no denominator."""
        value = self.value
        return None if value is None else value * 100


@dataclass(frozen=True)
class MonthOutcomes:
    """The outcomes of one month, as a case-management team reports them."""

    #: The first day of the month.
    month: date
    #: PCR index discharges of the month.
    index_discharges: int
    #: Index discharges followed by a readmission within 30 days, over index discharges.
    readmissions: Rate
    ed_visits: int
    #: Sum of enrolled days over the days in the month.
    patient_months: float
    #: None when there are no patient-months.
    ed_visits_per_1000_patient_months: float | None
    admission_notification: Rate  # TRC rate 1
    discharge_information: Rate  # TRC rate 2
    patient_engagement: Rate  # TRC rate 3
    medication_reconciliation: Rate  # TRC rate 4
    #: False while a 30-day window of the month's discharges is still open: "provisional".
    complete: bool
    #: The ED encounters counted in ``ed_visits``.
    ed_visit_ids: tuple[int, ...] = ()
    #: (index discharge's encounter, the first readmission's encounter) for each readmission.
    readmitted_by: tuple[tuple[int, int], ...] = ()


def last_day_of_month(month: date) -> date:
    """The month's last day."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def is_complete(month: date, today: date) -> bool:
    """True once the 30-day windows of every discharge of the month have closed.

    A discharge on the month's last day has its windows open through 30 days
    later: the month is complete from the day after that.
    """
    return today > last_day_of_month(month) + timedelta(days=FOLLOW_UP_DAYS)


def month_outcomes(
    month: date,
    today: date,
    stays: Sequence[StayFacts],
    engagements: Mapping[int, Sequence[date]],
    reconciliations: Mapping[int, Sequence[date]],
    enrolled_days: Mapping[int, int],
    notification_days: int = DEFAULT_NOTIFICATION_DAYS,
) -> MonthOutcomes:
    """The outcomes of ``month`` (any day of it) as known on ``today``.

    ``stays`` holds every encounter of the patients that could matter (the
    month's and up to 31 days around it); this picks. ``engagements`` and
    ``reconciliations`` map a patient to the days of contacts that count as
    engagement and of medication reconciliations; ``enrolled_days`` a patient
    to the days of the month they were enrolled.
    """
    if notification_days < 0:
        raise ValueError("notification_days must be 0 or more")
    first = month.replace(day=1)
    last = last_day_of_month(first)
    days_in_month = last.day
    counted = [stay for stay in stays if not stay.cancelled]
    inpatient = _by_patient(s for s in counted if s.encounter_class == EncounterClass.inpatient)

    index, readmitted_by = _readmissions(inpatient, first, last)
    trc = _trc_denominator(inpatient, first, last)

    ed_visit_ids = tuple(
        stay.encounter_id
        for stay in counted
        if stay.encounter_class == EncounterClass.emergency and first <= stay.admitted_on <= last
    )
    for days in enrolled_days.values():
        if not 0 <= days <= days_in_month:
            raise ValueError("enrolled days must be between 0 and the days in the month")
    patient_months = sum(enrolled_days.values()) / days_in_month
    ed_rate = len(ed_visit_ids) * PATIENT_MONTHS_SCALE / patient_months if patient_months else None

    def trc_rate(meets: Callable[[StayFacts], bool]) -> Rate:
        return Rate.of(
            (stay.encounter_id for stay in trc),
            (stay.encounter_id for stay in trc if meets(stay)),
        )

    return MonthOutcomes(
        month=first,
        index_discharges=len(index),
        readmissions=Rate.of(
            (stay.encounter_id for stay in index), (pair[0] for pair in readmitted_by)
        ),
        ed_visits=len(ed_visit_ids),
        patient_months=patient_months,
        ed_visits_per_1000_patient_months=ed_rate,
        admission_notification=trc_rate(
            lambda stay: _notified_of_admission(stay, notification_days)
        ),
        discharge_information=trc_rate(
            lambda stay: _notified_of_discharge(stay, notification_days)
        ),
        patient_engagement=trc_rate(
            lambda stay: _any_day_within(engagements.get(stay.patient_id, ()), stay, 1)
        ),
        medication_reconciliation=trc_rate(
            lambda stay: _any_day_within(reconciliations.get(stay.patient_id, ()), stay, 0)
        ),
        complete=is_complete(first, today),
        ed_visit_ids=ed_visit_ids,
        readmitted_by=readmitted_by,
    )


# ------------------------------------------------------------------ readmissions (PCR)


def _readmissions(
    inpatient: Mapping[int, list[StayFacts]], first: date, last: date
) -> tuple[list[StayFacts], tuple[tuple[int, int], ...]]:
    """PCR: the month's index discharges, and each one's first readmission."""
    index = sorted(
        (
            end
            for patient_stays in inpatient.values()
            for end in _chain_ends(patient_stays, _is_direct_transfer)
            if end is not None
            and _discharged_between(end, first, last)
            and end.disposition not in _PCR_EXCLUDED
        ),
        key=_discharge_order,
    )
    readmitted_by: list[tuple[int, int]] = []
    for end in index:
        readmission = next(
            (
                stay
                for stay in inpatient[end.patient_id]
                if 1 <= _days_after_discharge(end, stay.admitted_on) <= FOLLOW_UP_DAYS
            ),
            None,
        )
        if readmission is not None:
            readmitted_by.append((end.encounter_id, readmission.encounter_id))
    return index, tuple(readmitted_by)


def _is_direct_transfer(discharge: StayFacts, admission: StayFacts) -> bool:
    """PCR direct transfer: admitted the discharge day, or the next day from another facility."""
    gap = _days_after_discharge(discharge, admission.admitted_on)
    if gap <= 0:
        return True
    return gap == 1 and discharge.disposition == DischargeDisposition.other_facility


# ------------------------------------------------------------------ transitions of care (TRC)


def _trc_denominator(
    inpatient: Mapping[int, list[StayFacts]], first: date, last: date
) -> list[StayFacts]:
    """TRC: the last discharge of each chain of stays 0-30 days apart, discharged in the month."""
    return sorted(
        (
            end
            for patient_stays in inpatient.values()
            for end in _chain_ends(patient_stays, _is_trc_readmission_or_transfer)
            if end is not None
            and _discharged_between(end, first, last)
            and end.disposition not in _TRC_EXCLUDED
        ),
        key=_discharge_order,
    )


def _is_trc_readmission_or_transfer(discharge: StayFacts, admission: StayFacts) -> bool:
    """TRC: an inpatient admission on the discharge day through 30 days after it."""
    return _days_after_discharge(discharge, admission.admitted_on) <= FOLLOW_UP_DAYS


def _notified_of_admission(stay: StayFacts, notification_days: int) -> bool:
    """TRC rate 1: known of by ``notification_days`` after the admission day (earlier counts)."""
    if stay.admission_known_at is None:
        return False
    return (stay.admission_known_at.date() - stay.admitted_on).days <= notification_days


def _notified_of_discharge(stay: StayFacts, notification_days: int) -> bool:
    """TRC rate 2: known of on the discharge day or up to ``notification_days`` after."""
    if stay.discharge_known_at is None:
        return False
    return 0 <= _days_after_discharge(stay, stay.discharge_known_at.date()) <= notification_days


def _any_day_within(days: Sequence[date], stay: StayFacts, first_day: int) -> bool:
    """True when one of ``days`` is ``first_day`` through 30 days after the discharge."""
    return any(first_day <= _days_after_discharge(stay, day) <= FOLLOW_UP_DAYS for day in days)


# ------------------------------------------------------------------ chains of stays


def _by_patient(stays: Iterable[StayFacts]) -> dict[int, list[StayFacts]]:
    """Each patient's stays in order of admission."""
    grouped: dict[int, list[StayFacts]] = defaultdict(list)
    for stay in stays:
        grouped[stay.patient_id].append(stay)
    for patient_stays in grouped.values():
        patient_stays.sort(key=lambda stay: (stay.admitted_at, stay.encounter_id))
    return dict(grouped)


def _chain_ends(
    stays: Sequence[StayFacts], linked: Callable[[StayFacts, StayFacts], bool]
) -> list[StayFacts | None]:
    """The last stay of each chain; a stay (in admission order) joins the chain before it if linked.

    A chain ends with the stay discharged last (stays that overlap, however
    recorded, are one chain). A chain holding a stay still open (not
    discharged) has no end yet (None): nothing can follow a discharge that has
    not happened, so the next stay starts a new chain.
    """
    ends: list[StayFacts | None] = []
    for stay in stays:
        end = ends[-1] if ends else None
        if end is not None and linked(end, stay):
            ends[-1] = _later_end(end, stay)
        else:
            ends.append(stay if stay.discharged_at is not None else None)
    return ends


def _later_end(end: StayFacts, stay: StayFacts) -> StayFacts | None:
    """The end of a chain after ``stay`` joins it: whichever is discharged later (None if open)."""
    if stay.discharged_at is None or end.discharged_at is None:
        return None
    return stay if stay.discharged_at >= end.discharged_at else end


def _discharged_between(stay: StayFacts, first: date, last: date) -> bool:
    """True when the stay was discharged on a day from ``first`` through ``last``."""
    discharged = stay.discharged_on
    return discharged is not None and first <= discharged <= last


def _discharge_order(stay: StayFacts) -> tuple[date, int]:
    """Detail rows in order of discharge day (then encounter)."""
    return (stay.discharged_on or date.max, stay.encounter_id)


def _days_after_discharge(stay: StayFacts, day: date) -> int:
    """How many days ``day`` is after the stay's discharge day (0 the same day)."""
    discharged = stay.discharged_on
    if discharged is None:
        raise ValueError("the stay is not discharged")
    return (day - discharged).days
