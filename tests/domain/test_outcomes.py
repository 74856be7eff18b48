"""A month's hospital outcomes: readmissions (PCR), ED visits, transitions of care (TRC).

The month is April 2026 (30 days); patient 1 unless a test says otherwise.
Days are counted from the discharge day (day 0), by calendar day, not by hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from nursecase.domain.codes import DischargeDisposition, EncounterClass
from nursecase.domain.outcomes import Rate, StayFacts, is_complete, month_outcomes

APRIL = date(2026, 4, 1)
#: Long after April's windows closed.
SETTLED = date(2026, 7, 1)
IMP = EncounterClass.inpatient
EMER = EncounterClass.emergency
HOME = DischargeDisposition.home
OTHER_FACILITY = DischargeDisposition.other_facility
DIED = DischargeDisposition.expired
HOSPICE = DischargeDisposition.hospice
_UNSET = object()


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def april(day: int) -> date:
    return date(2026, 4, day)


def stay(
    encounter_id: int,
    admitted: date | datetime,
    discharged: date | datetime | None,
    *,
    patient: int = 1,
    encounter_class: EncounterClass = IMP,
    disposition: DischargeDisposition | None = HOME,
    admission_known: object = _UNSET,
    discharge_known: object = _UNSET,
    cancelled: bool = False,
) -> StayFacts:
    """A stay; the hospital's notices arrive the same day unless given."""
    admitted_at = admitted if isinstance(admitted, datetime) else at(admitted, 9)
    discharged_at = (
        discharged if discharged is None or isinstance(discharged, datetime) else at(discharged, 15)
    )
    return StayFacts(
        encounter_id=encounter_id,
        patient_id=patient,
        encounter_class=encounter_class,
        admitted_at=admitted_at,
        discharged_at=discharged_at,
        disposition=disposition if discharged is not None else None,
        admission_known_at=admitted_at if admission_known is _UNSET else admission_known,  # type: ignore[arg-type]
        discharge_known_at=discharged_at if discharge_known is _UNSET else discharge_known,  # type: ignore[arg-type]
        cancelled=cancelled,
    )


def outcomes(
    *stays: StayFacts,
    month: date = APRIL,
    today: date = SETTLED,
    engagements=None,
    reconciliations=None,
    enrolled=None,
    notification_days: int = 1,
):
    return month_outcomes(
        month,
        today,
        stays,
        engagements or {},
        reconciliations or {},
        {1: 30} if enrolled is None else enrolled,
        notification_days=notification_days,
    )


# ------------------------------------------------------------ which discharges are the month's


@pytest.mark.parametrize(
    ("discharged", "counted"),
    [
        (date(2026, 3, 31), False),
        (april(1), True),
        (april(30), True),
        (date(2026, 5, 1), False),
    ],
)
def test_a_discharge_belongs_to_the_month_of_its_day(discharged, counted):
    result = outcomes(stay(1, discharged - timedelta(days=3), discharged))
    expected = (1,) if counted else ()
    assert result.readmissions.denominator_ids == expected
    assert result.medication_reconciliation.denominator_ids == expected


def test_late_evening_and_early_morning_count_by_calendar_day():
    """Discharged 30 April 23:59: April's; readmitted 31 minutes later (1 May 00:30): day 1."""
    first = stay(1, april(27), at(april(30), 23, 59))
    again = stay(2, at(date(2026, 5, 1), 0, 30), date(2026, 5, 3))
    result = outcomes(first, again)
    assert result.readmissions.denominator_ids == (1,)
    assert result.readmitted_by == ((1, 2),)


# ------------------------------------------------------------------ readmissions (PCR)


@pytest.mark.parametrize(
    ("gap", "index_ids", "readmitted_ids"),
    [
        # Admitted again on the discharge day: a direct transfer, one stay ending on 13 April.
        (0, (2,), ()),
        (1, (1, 2), (1,)),
        (30, (1,), (1,)),  # the readmission's discharge is in May
        (31, (1,), ()),
    ],
)
def test_readmission_is_an_admission_1_to_30_days_after_the_discharge(
    gap, index_ids, readmitted_ids
):
    first = stay(1, april(5), april(10))
    second_admitted = april(10) + timedelta(days=gap)
    second = stay(2, second_admitted, second_admitted + timedelta(days=3))
    result = outcomes(first, second)
    assert result.index_discharges == len(index_ids)
    assert result.readmissions.denominator_ids == index_ids
    assert result.readmissions.numerator_ids == readmitted_ids


@pytest.mark.parametrize(
    ("disposition", "gap", "index_ids", "readmitted_ids"),
    [
        # Sent to another facility and admitted the next day: one continuous stay.
        (OTHER_FACILITY, 1, (2,), ()),
        (OTHER_FACILITY, 2, (1, 2), (1,)),
        # Sent home and admitted the next day: a readmission.
        (HOME, 1, (1, 2), (1,)),
    ],
)
def test_a_transfer_to_another_facility_links_the_next_day_only(
    disposition, gap, index_ids, readmitted_ids
):
    first = stay(1, april(5), april(10), disposition=disposition)
    second = stay(2, april(10 + gap), april(20))
    result = outcomes(first, second)
    assert result.readmissions.denominator_ids == index_ids
    assert result.readmissions.numerator_ids == readmitted_ids


def test_a_direct_transfer_chain_counts_only_its_last_discharge():
    """28 Mar-2 Apr, to another facility; 3-5 Apr; admitted the same day 5-20 Apr: one stay."""
    chain = [
        stay(1, date(2026, 3, 28), april(2), disposition=OTHER_FACILITY),
        stay(2, april(3), april(5), disposition=HOME),
        stay(3, april(5), april(20)),
    ]
    result = outcomes(*chain)
    assert result.index_discharges == 1
    assert result.readmissions.denominator_ids == (3,)
    assert result.readmissions.numerator_ids == ()
    assert result.patient_engagement.denominator_ids == (3,)
    # The transfer's own discharge, on 31 March, is not March's either: it goes on.
    march = outcomes(
        stay(4, date(2026, 3, 25), date(2026, 3, 31), disposition=OTHER_FACILITY),
        stay(5, april(1), april(4)),
        month=date(2026, 3, 1),
    )
    assert march.index_discharges == 0
    assert march.medication_reconciliation.denominator == 0


def test_a_chain_still_in_hospital_has_no_index_discharge_yet():
    result = outcomes(stay(1, april(5), april(10)), stay(2, april(10), None))
    assert result.index_discharges == 0
    assert result.medication_reconciliation.denominator == 0


def test_each_index_discharge_counts_once():
    """2 Apr, then 5-7 Apr and 9-11 Apr: both follow the first; it is readmitted once."""
    result = outcomes(
        stay(1, date(2026, 3, 30), april(2)),
        stay(2, april(5), april(7)),
        stay(3, april(9), april(11)),
    )
    assert result.readmissions.denominator_ids == (1, 2, 3)
    assert result.readmissions.numerator_ids == (1, 2)
    assert result.readmitted_by == ((1, 2), (2, 3))
    assert result.readmissions.value == pytest.approx(2 / 3)


def test_only_an_inpatient_admission_of_the_same_patient_is_a_readmission():
    result = outcomes(
        stay(1, april(5), april(10)),
        stay(2, april(12), april(12), encounter_class=EMER),
        stay(3, april(13), april(14), encounter_class=EncounterClass.observation),
        stay(4, april(15), april(18), patient=2),
        stay(5, april(16), None, cancelled=True),
    )
    assert result.readmissions.denominator_ids == (1, 4)
    assert result.readmissions.numerator == 0


@pytest.mark.parametrize(
    ("disposition", "in_readmissions", "in_transitions"),
    [
        (HOME, True, True),
        (DIED, False, False),  # PCR and TRC: a death is never counted
        (HOSPICE, True, False),  # TRC leaves hospice out; PCR keeps it
        (OTHER_FACILITY, True, True),  # nothing follows: an ordinary discharge
        (None, True, True),  # disposition not told
    ],
)
def test_deaths_and_hospice(disposition, in_readmissions, in_transitions):
    result = outcomes(stay(1, april(5), april(10), disposition=disposition))
    assert result.readmissions.denominator == int(in_readmissions)
    assert result.admission_notification.denominator == int(in_transitions)


def test_a_death_after_a_transfer_ends_the_whole_stay():
    result = outcomes(
        stay(1, april(5), april(10), disposition=OTHER_FACILITY),
        stay(2, april(11), april(15), disposition=DIED),
    )
    assert result.index_discharges == 0


# ------------------------------------------------------------------ cancelled and empty months


def test_cancelled_encounters_are_never_counted():
    result = outcomes(
        stay(1, april(5), april(10), cancelled=True),
        stay(2, april(6), april(6), encounter_class=EMER, cancelled=True),
        # A cancelled admission on the discharge day does not make a transfer of stay 3.
        stay(3, april(12), april(14)),
        stay(4, april(14), april(16), cancelled=True),
    )
    assert result.readmissions.denominator_ids == (3,)
    assert result.medication_reconciliation.denominator_ids == (3,)
    assert result.ed_visits == 0


def test_a_month_without_discharges_has_no_rates_not_zero():
    result = outcomes(stay(1, date(2026, 3, 1), date(2026, 3, 5)), enrolled={})
    for rate in (
        result.readmissions,
        result.admission_notification,
        result.discharge_information,
        result.patient_engagement,
        result.medication_reconciliation,
    ):
        assert (rate.numerator, rate.denominator, rate.value, rate.percent) == (0, 0, None, None)
    assert result.index_discharges == 0
    assert result.ed_visits_per_1000_patient_months is None


# ------------------------------------------------------------ ED visits per 1,000 patient-months


def test_ed_visits_of_the_month_per_1000_patient_months():
    visits = [
        stay(1, at(date(2026, 3, 31), 23, 59), april(1), encounter_class=EMER),
        stay(2, at(april(1), 0, 0), april(1), encounter_class=EMER),
        stay(3, at(april(30), 23, 59), None, encounter_class=EMER, patient=2),
        stay(4, at(date(2026, 5, 1), 0, 0), None, encounter_class=EMER),
        stay(5, april(15), april(18)),  # an inpatient stay is no ED visit
    ]
    # 30 + 15 + 0 enrolled days of April's 30: 1.5 patient-months.
    result = outcomes(*visits, enrolled={1: 30, 2: 15, 3: 0})
    assert result.ed_visit_ids == (2, 3)
    assert result.ed_visits == 2
    assert result.patient_months == pytest.approx(1.5)
    assert result.ed_visits_per_1000_patient_months == pytest.approx(2000 / 1.5)


def test_patient_months_use_the_days_of_the_month():
    """February 2026 has 28 days: 14 enrolled days are half a patient-month."""
    result = outcomes(month=date(2026, 2, 1), enrolled={1: 14})
    assert result.patient_months == pytest.approx(0.5)
    assert result.ed_visits_per_1000_patient_months == 0


def test_no_enrolled_days_gives_no_ed_rate():
    visit = stay(1, april(3), april(3), encounter_class=EMER)
    result = outcomes(visit, enrolled={1: 0})
    assert result.ed_visits == 1
    assert result.ed_visits_per_1000_patient_months is None


@pytest.mark.parametrize("days", [-1, 31])
def test_enrolled_days_outside_the_month_are_refused(days):
    with pytest.raises(ValueError, match="enrolled days"):
        outcomes(enrolled={1: days})


# ------------------------------------------------------------------ transitions of care (TRC)


@pytest.mark.parametrize(
    ("gap", "april_ids", "may_ids"),
    [
        (0, (2,), ()),
        (1, (2,), ()),
        (30, (), (2,)),  # readmitted 10 May, discharged 13 May: only that discharge counts
        (31, (1,), (2,)),
    ],
)
def test_trc_counts_only_the_last_discharge_when_readmitted_within_30_days(gap, april_ids, may_ids):
    second_admitted = april(10) + timedelta(days=gap)
    stays = (
        stay(1, april(5), april(10)),
        stay(2, second_admitted, second_admitted + timedelta(days=3)),
    )
    assert outcomes(*stays).medication_reconciliation.denominator_ids == april_ids
    may = outcomes(*stays, month=date(2026, 5, 1))
    assert may.medication_reconciliation.denominator_ids == may_ids


def test_trc_readmission_ending_in_hospice_removes_both_discharges():
    result = outcomes(
        stay(1, april(1), april(5)),
        stay(2, april(20), april(25), disposition=HOSPICE),
    )
    assert result.discharge_information.denominator == 0
    assert result.readmissions.denominator_ids == (1, 2)


@pytest.mark.parametrize(
    ("known_day", "notification_days", "met"),
    [
        (-1, 1, True),  # a planned admission's notice, before the admission
        (0, 1, True),
        (1, 1, True),  # "on the day of admission or the following day"
        (2, 1, False),
        (2, 2, True),  # HEDIS MY2020+: "through 2 days after"
        (3, 2, False),
        (0, 0, True),
        (1, 0, False),
        (None, 1, False),
    ],
)
def test_notification_of_inpatient_admission(known_day, notification_days, met):
    known = None if known_day is None else at(april(5) + timedelta(days=known_day), 23, 59)
    result = outcomes(
        stay(1, at(april(5), 0, 5), april(10), admission_known=known),
        notification_days=notification_days,
    )
    assert result.admission_notification.numerator_ids == ((1,) if met else ())
    assert result.admission_notification.denominator == 1


@pytest.mark.parametrize(
    ("known_day", "notification_days", "met"),
    [
        (-1, 1, False),  # nothing to know of before the discharge
        (0, 1, True),
        (1, 1, True),
        (2, 1, False),
        (2, 2, True),
        (3, 2, False),
        (None, 1, False),
    ],
)
def test_receipt_of_discharge_information(known_day, notification_days, met):
    known = None if known_day is None else at(april(10) + timedelta(days=known_day), 23, 59)
    result = outcomes(
        stay(1, april(5), april(10), discharge_known=known),
        notification_days=notification_days,
    )
    assert result.discharge_information.numerator_ids == ((1,) if met else ())


def test_notifications_are_read_on_the_last_stay_of_a_chain():
    """Admitted 3 Apr and known at once; transferred 5 Apr and known 9 Apr: not met."""
    result = outcomes(
        stay(1, april(3), april(5), discharge_known=None),
        stay(2, april(5), april(12), admission_known=at(april(9))),
    )
    assert result.admission_notification.denominator_ids == (2,)
    assert result.admission_notification.numerator == 0
    assert result.discharge_information.numerator_ids == (2,)


@pytest.mark.parametrize(
    ("engagement_day", "met"),
    [(-1, False), (0, False), (1, True), (30, True), (31, False)],
)
def test_patient_engagement_is_1_to_30_days_after_discharge(engagement_day, met):
    """TRC: "Do not include patient engagement that occurs on the date of discharge"."""
    discharged = april(20)
    engaged = discharged + timedelta(days=engagement_day)
    result = outcomes(stay(1, april(15), discharged), engagements={1: [engaged]})
    assert result.patient_engagement.numerator_ids == ((1,) if met else ())
    assert result.patient_engagement.denominator == 1


@pytest.mark.parametrize(
    ("reconciliation_day", "met"),
    [(-1, False), (0, True), (1, True), (30, True), (31, False)],
)
def test_medication_reconciliation_is_the_discharge_day_through_30_days_after(
    reconciliation_day, met
):
    discharged = april(30)
    reconciled = discharged + timedelta(days=reconciliation_day)
    result = outcomes(stay(1, april(25), discharged), reconciliations={1: [reconciled]})
    assert result.medication_reconciliation.numerator_ids == ((1,) if met else ())


def test_engagement_and_reconciliation_are_the_patients_own():
    result = outcomes(
        stay(1, april(5), april(10)),
        stay(2, april(5), april(10), patient=2),
        engagements={2: [april(11)]},
        reconciliations={1: [april(10)], 3: [april(10)]},
        enrolled={1: 30, 2: 30},
    )
    assert result.patient_engagement.numerator_ids == (2,)
    assert result.medication_reconciliation.numerator_ids == (1,)
    assert result.medication_reconciliation.value == 0.5


# ------------------------------------------------------------------ complete or provisional


@pytest.mark.parametrize(
    ("month", "today", "complete"),
    [
        (APRIL, april(15), False),
        (APRIL, date(2026, 5, 30), False),  # 30 April + 30 days: a window still open
        (APRIL, date(2026, 5, 31), True),
        (date(2026, 2, 1), date(2026, 3, 30), False),  # 28 February + 30 days
        (date(2026, 2, 1), date(2026, 3, 31), True),
        (date(2026, 12, 1), date(2027, 1, 30), False),
        (date(2026, 12, 1), date(2027, 1, 31), True),
    ],
)
def test_a_month_is_provisional_until_its_last_30_day_window_closes(month, today, complete):
    assert is_complete(month, today) is complete
    assert outcomes(month=month, today=today, enrolled={}).complete is complete


def test_any_day_names_its_month():
    assert outcomes(month=april(17)).month == APRIL


def test_a_negative_notification_window_is_refused():
    with pytest.raises(ValueError, match="notification_days"):
        outcomes(notification_days=-1)


def test_a_rate():
    rate = Rate.of((1, 2, 3, 4), (2,))
    assert (rate.numerator, rate.denominator, rate.value, rate.percent) == (1, 4, 0.25, 25.0)
    with pytest.raises(ValueError):
        Rate(numerator=2, denominator=1)
