"""TCM after a discharge (CMS MLN908628): steps, missed once on Today, period, readmission, billing.

The calendar is November-December 2026: Thu 26 Nov is configured as a holiday
(Thanksgiving) where a test says so; Sat 28 / Sun 29 Nov are a weekend.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nursecase.domain.codes import TaskStatus
from nursecase.domain.tcm import (
    TcmBillingState,
    TcmFacts,
    TcmStep,
    TcmStepState,
    complexity_label,
    day_text,
    face_to_face_deadline,
    interactive_deadline,
    is_face_to_face_visit,
    is_interactive_contact,
    is_unsuccessful_attempt,
    missed_shown_on,
    period_end,
    tally_attempts,
    tcm_billing,
    tcm_status,
)

MON_2_NOV = date(2026, 11, 2)
TUE_3_NOV = date(2026, 11, 3)
WED_4_NOV = date(2026, 11, 4)
THU_5_NOV = date(2026, 11, 5)
WED_25 = date(2026, 11, 25)
THANKSGIVING = date(2026, 11, 26)
FRI_27 = date(2026, 11, 27)
SAT_28 = date(2026, 11, 28)
MON_30 = date(2026, 11, 30)
TUE_1_DEC = date(2026, 12, 1)
WED_2_DEC = date(2026, 12, 2)
THU_3_DEC = date(2026, 12, 3)
HOLIDAYS = frozenset({THANKSGIVING})

INTERACTIVE = TcmStep.interactive_contact
VISIT = TcmStep.face_to_face_visit


def status(today, holidays=frozenset(), **facts):
    facts.setdefault("discharged_on", FRI_27)
    return tcm_status(TcmFacts(**facts), today, holidays)


# ------------------------------------------------------------------ deadlines


@pytest.mark.parametrize(
    ("discharged", "holidays", "deadline", "shown"),
    [
        (MON_30, frozenset(), WED_2_DEC, THU_3_DEC),  # mid-week
        (FRI_27, frozenset(), TUE_1_DEC, WED_2_DEC),  # across the weekend
        (SAT_28, frozenset(), TUE_1_DEC, WED_2_DEC),  # discharged on a weekend
        (WED_25, frozenset(), FRI_27, MON_30),  # missed shown after the weekend
        (WED_25, HOLIDAYS, MON_30, TUE_1_DEC),  # the holiday does not count
        (THANKSGIVING, HOLIDAYS, MON_30, TUE_1_DEC),  # discharged on the holiday
        (date(2026, 11, 24), HOLIDAYS, FRI_27, MON_30),
    ],
)
def test_interactive_deadline_and_missed_shown_day(discharged, holidays, deadline, shown):
    assert interactive_deadline(discharged, holidays) == deadline
    assert missed_shown_on(deadline, holidays) == shown
    assert status(discharged, holidays, discharged_on=discharged).interactive.deadline == deadline


def test_missed_shown_day_skips_a_weekend_and_a_configured_holiday():
    # A deadline on Friday 27 with Monday 30 a clinic holiday: shown Tuesday.
    assert missed_shown_on(FRI_27, frozenset({MON_30})) == TUE_1_DEC
    # A Saturday deadline (a 7-day visit after a Saturday discharge): shown Monday.
    assert missed_shown_on(SAT_28) == MON_30


def test_face_to_face_deadline_and_period():
    assert face_to_face_deadline(MON_2_NOV, high_complexity=True) == date(2026, 11, 9)
    assert face_to_face_deadline(MON_2_NOV, high_complexity=False) == date(2026, 11, 16)
    assert period_end(MON_2_NOV) == TUE_1_DEC  # the discharge day and 29 days: 30 days
    assert complexity_label(True) == "High" and complexity_label(False) == "Moderate"
    assert day_text(WED_2_DEC) == "Wed 2 Dec"


# ------------------------------------------------------- the interactive step


@pytest.mark.parametrize(
    ("facts", "today", "state", "met_on", "late_on"),
    [
        # A conversation on the discharge day counts.
        ({"interactive_contact_on": FRI_27}, FRI_27, TcmStepState.met, FRI_27, None),
        # ... and on the deadline day (Tue 1 Dec), the boundary.
        ({"interactive_contact_on": TUE_1_DEC}, THU_3_DEC, TcmStepState.met, TUE_1_DEC, None),
        # A contact the day after the deadline is late: missed for billing.
        ({"interactive_contact_on": WED_2_DEC}, THU_3_DEC, TcmStepState.missed, None, WED_2_DEC),
        # Before the discharge (the stay itself) does not count.
        ({"interactive_contact_on": date(2026, 11, 20)}, MON_30, TcmStepState.due, None, None),
        # Two attempts inside the window: met by attempts on the second one's day.
        (
            {"interactive_attempts": 2, "attempts_met_on": TUE_1_DEC},
            WED_2_DEC,
            TcmStepState.met_by_attempts,
            TUE_1_DEC,
            None,
        ),
        # One attempt only: still due on the deadline day, missed the day after.
        ({"interactive_attempts": 1}, TUE_1_DEC, TcmStepState.due, None, None),
        ({"interactive_attempts": 1}, WED_2_DEC, TcmStepState.missed, None, None),
        # Nothing at all.
        ({}, TUE_1_DEC, TcmStepState.due, None, None),
        ({}, WED_2_DEC, TcmStepState.missed, None, None),
        # A conversation on time wins over attempts.
        (
            {"interactive_contact_on": MON_30, "attempts_met_on": TUE_1_DEC},
            WED_2_DEC,
            TcmStepState.met,
            MON_30,
            None,
        ),
        # Attempts on time meet the step even when the conversation came late.
        (
            {"interactive_contact_on": THU_3_DEC, "attempts_met_on": TUE_1_DEC},
            THU_3_DEC,
            TcmStepState.met_by_attempts,
            TUE_1_DEC,
            None,
        ),
    ],
)
def test_interactive_step_outcomes(facts, today, state, met_on, late_on):
    step = status(today, **facts).interactive
    assert (step.state, step.met_on, step.late_on) == (state, met_on, late_on)
    assert step.is_met is (state in (TcmStepState.met, TcmStepState.met_by_attempts))


def test_attempts_are_counted_inside_the_window_only():
    attempts = [date(2026, 11, 26), FRI_27, MON_30, WED_2_DEC]  # the 26th: before discharge
    tally = tally_attempts(FRI_27, attempts)
    assert (tally.count, tally.met_on, tally.days) == (2, MON_30, (FRI_27, MON_30))
    one = tally_attempts(FRI_27, [FRI_27, WED_2_DEC])  # the second is after the deadline
    assert (one.count, one.met_on) == (1, None)
    # With Monday a holiday the window runs to Wednesday 2 Dec.
    holiday = tally_attempts(FRI_27, [FRI_27, WED_2_DEC], frozenset({MON_30}))
    assert (holiday.count, holiday.met_on) == (2, WED_2_DEC)
    # Attempts on or after a readmission's discharge belong to the next period.
    readmitted = tally_attempts(FRI_27, [FRI_27, MON_30], superseded_on=MON_30)
    assert (readmitted.count, readmitted.met_on) == (1, None)
    # Same-day attempts are separate attempts (two calls, two log entries).
    assert tally_attempts(FRI_27, [MON_30, MON_30]).met_on == MON_30


def test_which_contacts_count():
    assert is_interactive_contact("patient", "reached")
    assert is_interactive_contact("caregiver", "agreed-to-visit")
    assert not is_interactive_contact("provider", "reached")
    assert not is_interactive_contact("patient", "left-message")
    assert is_unsuccessful_attempt("patient", "no-answer")
    assert is_unsuccessful_attempt("caregiver", "left-message")
    assert not is_unsuccessful_attempt("patient", "wrong-number")
    assert not is_unsuccessful_attempt("provider", "no-answer")
    assert is_face_to_face_visit("home-visit", "reached")
    assert is_face_to_face_visit("clinic-visit", "reached")
    assert not is_face_to_face_visit("telehealth", "reached")
    assert not is_face_to_face_visit("home-visit", "declined")


# ------------------------------------------------------------ the visit step


@pytest.mark.parametrize(
    ("high", "visit_day", "state"),
    [
        (True, 7, TcmStepState.met),
        (True, 8, TcmStepState.missed),
        (False, 14, TcmStepState.met),
        (False, 15, TcmStepState.missed),
        (False, 0, TcmStepState.met),  # a visit on the discharge day
    ],
)
def test_face_to_face_step_at_its_boundaries(high, visit_day, state):
    visit_on = MON_2_NOV + timedelta(days=visit_day)
    step = status(
        date(2026, 11, 30), discharged_on=MON_2_NOV, high_complexity=high, face_to_face_on=visit_on
    ).face_to_face
    assert step.state is state
    assert step.window == (7 if high else 14)


# --------------------------------------------------------------- Today, once


def test_a_due_step_is_on_today_every_day_and_a_missed_one_once():
    # Discharged Wed 25 Nov, Thanksgiving a holiday: contact due Mon 30, missed shown Tue 1 Dec.
    shown = {}
    for offset in range(0, 12):
        today = WED_25 + timedelta(days=offset)
        current = status(today, HOLIDAYS, discharged_on=WED_25)
        shown[today] = current.on_today(INTERACTIVE)
    assert [day for day, on in shown.items() if on] == [
        WED_25,
        THANKSGIVING,
        FRI_27,
        SAT_28,
        date(2026, 11, 29),
        MON_30,
        TUE_1_DEC,
    ]
    missed = status(TUE_1_DEC, HOLIDAYS, discharged_on=WED_25)
    assert missed.interactive.state is TcmStepState.missed
    assert missed.today_reason(INTERACTIVE) == "TCM contact missed (due Mon 30 Nov)"
    assert status(MON_30, HOLIDAYS, discharged_on=WED_25).today_reason(INTERACTIVE) == (
        "TCM day 2 of 2"
    )


def test_a_missed_visit_with_a_saturday_deadline_is_shown_on_monday():
    # Discharged Sat 21 Nov, high complexity: visit due Sat 28, shown Mon 30 only.
    discharged = date(2026, 11, 21)
    days = {
        day: status(day, discharged_on=discharged, high_complexity=True).on_today(VISIT)
        for day in (SAT_28, date(2026, 11, 29), MON_30, TUE_1_DEC)
    }
    assert days == {SAT_28: True, date(2026, 11, 29): False, MON_30: True, TUE_1_DEC: False}
    assert status(MON_30, discharged_on=discharged, high_complexity=True).today_reason(VISIT) == (
        "TCM visit missed (due Sat 28 Nov)"
    )


def test_attempts_show_in_the_reason_while_due():
    current = status(MON_30, interactive_attempts=1)
    assert current.today_reason(INTERACTIVE) == "TCM day 1 of 2, 1 attempt"
    assert current.interactive.describe() == "contact day 1 of 2, 1 attempt"


def test_nothing_is_on_today_after_the_period():
    # Discharged Mon 2 Nov: the period is 2 Nov - 1 Dec.
    last = status(TUE_1_DEC, discharged_on=MON_2_NOV)
    after = status(WED_2_DEC, discharged_on=MON_2_NOV)
    assert last.in_period and not after.in_period
    assert not after.is_open and after.short_label() == ""
    # A step whose missed day would fall after the period is not shown either.
    assert all(not after.on_today(step) for step in TcmStep)


def test_readmission_ends_the_earlier_period():
    # Discharged Mon 2 Nov, contact met Tue 3, readmitted and discharged again Thu 5.
    facts = {
        "discharged_on": MON_2_NOV,
        "interactive_contact_on": TUE_3_NOV,
        "superseded_on": THU_5_NOV,
        "face_to_face_on": THU_5_NOV,  # the visit after the readmission is the next period's
    }
    ended = status(THU_5_NOV, **facts)
    assert ended.interactive.state is TcmStepState.met
    assert ended.face_to_face.state is TcmStepState.ended_by_readmission
    assert ended.face_to_face.describe() == "visit ended by readmission Thu 5 Nov"
    assert not ended.in_period and not ended.is_open
    assert ended.closing_status(INTERACTIVE) is TaskStatus.completed
    assert ended.closing_status(VISIT) is TaskStatus.cancelled
    assert [ended.on_today(step) for step in TcmStep] == [False, False]
    # The same discharge without the readmission: the visit would still be due.
    still = status(THU_5_NOV, **dict(facts, superseded_on=None))
    assert still.face_to_face.state is TcmStepState.met  # the visit of the 5th counts now
    due = status(THU_5_NOV, **dict(facts, superseded_on=None, face_to_face_on=None))
    assert due.on_today(VISIT) and due.today_reason(VISIT) == "TCM visit day 3 of 14"


def test_readmission_after_a_missed_deadline_leaves_the_step_missed():
    # Contact due Wed 4 Nov, nothing done; readmitted (discharged again) Mon 9 Nov.
    current = status(date(2026, 11, 9), discharged_on=MON_2_NOV, superseded_on=date(2026, 11, 9))
    assert current.interactive.state is TcmStepState.missed
    assert current.closing_status(INTERACTIVE) is TaskStatus.failed
    assert current.face_to_face.state is TcmStepState.ended_by_readmission


@pytest.mark.parametrize(
    ("facts", "today", "interactive_closing"),
    [
        ({}, TUE_1_DEC, None),  # still due
        ({}, WED_2_DEC, None),  # missed, on Today today
        ({}, THU_3_DEC, TaskStatus.failed),  # its day on Today has passed
        ({"interactive_contact_on": WED_2_DEC}, WED_2_DEC, TaskStatus.failed),  # made late
        ({"interactive_contact_on": MON_30}, MON_30, TaskStatus.completed),
        ({"attempts_met_on": MON_30, "interactive_attempts": 2}, MON_30, TaskStatus.completed),
        ({"superseded_on": MON_30}, MON_30, TaskStatus.cancelled),
        ({}, date(2026, 12, 27), TaskStatus.failed),  # the period is over
    ],
)
def test_closing_status_of_an_open_task(facts, today, interactive_closing):
    assert status(today, **facts).closing_status(INTERACTIVE) is interactive_closing


def test_a_missed_step_before_its_shown_day_waits_for_it():
    # Discharged Wed 25 (no holiday): contact due Fri 27; on Saturday it is missed but
    # not on Today, and stays open until Monday has shown it.
    saturday = status(SAT_28, discharged_on=WED_25)
    assert saturday.interactive.state is TcmStepState.missed
    assert not saturday.on_today(INTERACTIVE)
    assert saturday.closing_status(INTERACTIVE) is None


# ---------------------------------------------------------------- wording


def test_step_wording_and_labels():
    current = status(
        WED_2_DEC,
        interactive_attempts=2,
        attempts_met_on=TUE_1_DEC,
        attempt_dates=(MON_30, TUE_1_DEC),
    )
    assert current.interactive.describe() == "contact met by two attempts (Mon 30 Nov, Tue 1 Dec)"
    assert current.describe() == (
        "TCM: contact met by two attempts (Mon 30 Nov, Tue 1 Dec); visit day 5 of 14"
    )
    assert current.short_label() == "TCM visit day 5 of 14"
    three = status(
        WED_2_DEC,
        interactive_attempts=3,
        attempts_met_on=MON_30,
        attempt_dates=(FRI_27, MON_30, TUE_1_DEC),
    )
    assert three.interactive.describe() == "contact met by two attempts (Fri 27 Nov, Mon 30 Nov)"
    late = status(THU_3_DEC, interactive_contact_on=WED_2_DEC)
    assert late.interactive.describe() == "contact missed: made late Wed 2 Dec (due Tue 1 Dec)"
    met = status(THU_3_DEC, interactive_contact_on=MON_30, face_to_face_on=TUE_1_DEC)
    assert met.describe() == "TCM: contact met Mon 30 Nov; visit met Tue 1 Dec"
    assert met.short_label() == "TCM steps met"
    assert [state.label for state in TcmStepState] == [
        "Due",
        "Met",
        "Met by two attempts",
        "Missed",
        "Ended by readmission",
    ]
    assert [state.label for state in TcmBillingState] == [
        "Billable",
        "Not billable yet",
        "Not billable",
    ]
    assert [step.label for step in TcmStep] == ["Interactive contact", "Face-to-face visit"]


# ---------------------------------------------------------------- billing


@pytest.mark.parametrize(
    ("high", "visit_day", "code"),
    [
        (True, 7, "99496"),
        (True, 8, "99495"),
        (True, 14, "99495"),
        (True, 15, None),
        (False, 7, "99495"),
        (False, 8, "99495"),
        (False, 14, "99495"),
        (False, 15, None),
    ],
)
def test_billing_code_by_the_visit_day(high, visit_day, code):
    current = status(
        date(2026, 11, 30),
        discharged_on=MON_2_NOV,
        high_complexity=high,
        interactive_contact_on=TUE_3_NOV,
        face_to_face_on=MON_2_NOV + timedelta(days=visit_day),
    )
    [billing] = tcm_billing([current])
    assert billing.code == code
    expected = TcmBillingState.billable if code else TcmBillingState.not_billable
    assert billing.state is expected
    if code is None:
        assert billing.code_text == "not billable"
        assert "more than 14" in billing.reason
    elif high and visit_day > 7:
        assert "99496 needs the visit within 7" in billing.reason


def test_billing_reasons_in_words():
    missed = status(date(2026, 11, 30), discharged_on=MON_2_NOV, face_to_face_on=TUE_3_NOV)
    assert missed.own_billing().reason == (
        "no interactive contact and no two attempts within 2 business days (due Wed 4 Nov)"
    )
    by_attempts = status(
        date(2026, 11, 30),
        discharged_on=MON_2_NOV,
        high_complexity=True,
        attempts_met_on=WED_4_NOV,
        face_to_face_on=date(2026, 11, 6),
    ).own_billing()
    assert (by_attempts.code, by_attempts.reason) == (
        "99496",
        "interactive contact met by two attempts; visit 4 days after discharge (within 7); "
        "high complexity",
    )
    pending = status(MON_30, interactive_contact_on=MON_30).own_billing()
    assert pending.state is TcmBillingState.pending
    assert pending.code_text == "not billable yet"
    assert pending.reason == "interactive contact met; face-to-face visit due by Fri 11 Dec"
    no_visit = status(
        date(2026, 11, 30), discharged_on=MON_2_NOV, interactive_contact_on=TUE_3_NOV
    ).own_billing()
    assert no_visit.reason == "no face-to-face visit within 14 days (due Mon 16 Nov)"
    late = status(THU_3_DEC, interactive_contact_on=WED_2_DEC).own_billing()
    assert late.reason == "interactive contact made late Wed 2 Dec, after its deadline Tue 1 Dec"


def test_a_readmission_inside_a_billable_period_is_not_billable_again():
    today = date(2026, 12, 20)
    first = status(
        today,
        discharged_on=MON_2_NOV,
        interactive_contact_on=TUE_3_NOV,
        face_to_face_on=WED_4_NOV,
        superseded_on=date(2026, 11, 20),
    )
    second = status(
        today,
        discharged_on=date(2026, 11, 20),
        interactive_contact_on=date(2026, 11, 23),
        face_to_face_on=date(2026, 11, 24),
    )
    third = status(  # after the first period (ends Tue 1 Dec): billable on its own
        today,
        discharged_on=WED_2_DEC,
        interactive_contact_on=THU_3_DEC,
        face_to_face_on=date(2026, 12, 4),
    )
    billings = tcm_billing([third, second, first])  # any order in, same order out
    assert [billing.code for billing in billings] == ["99495", None, "99495"]
    assert billings[1].reason == (
        "TCM already billable for the discharge of Mon 2 Nov: once per patient in 30 days"
    )


def test_a_readmission_after_an_unbillable_discharge_can_be_billed():
    today = date(2026, 12, 20)
    first = status(today, discharged_on=MON_2_NOV, superseded_on=TUE_3_NOV)
    second = status(
        today, discharged_on=TUE_3_NOV, interactive_contact_on=WED_4_NOV, face_to_face_on=THU_5_NOV
    )
    first_billing, second_billing = tcm_billing([first, second])
    assert first_billing.code is None
    assert first_billing.reason == (
        "readmitted (discharged again Tue 3 Nov) before the interactive contact"
    )
    assert second_billing.code == "99495"
