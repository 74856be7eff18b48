"""Encounter rules (issue 21): TCM after a discharge, ED follow-up, in hospital, readmission."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain import flags
from nursecase.domain.codes import DischargeDisposition, EncounterClass
from nursecase.domain.encounters import (
    ED_FOLLOW_UP_DAYS,
    READMISSION_WINDOW_DAYS,
    ed_follow_up_by,
    in_emergency_department_words,
    in_hospital_words,
    is_hospital_stay,
    is_readmission,
    starts_tcm,
)

TCM_BY_DISPOSITION = {
    # Community settings (CMS MLN908628): the clocks start.
    "home": True,
    "alt-home": True,
    "aadvice": True,  # left against medical advice: went home
    # Not a community setting, or care handed over.
    "exp": False,
    "other-hcf": False,
    "snf": False,
    "long": False,
    "rehab": False,
    "psy": False,
    "hosp": False,  # hospice
    "oth": False,
}


def test_the_table_covers_every_disposition():
    assert set(TCM_BY_DISPOSITION) == {member.value for member in DischargeDisposition}


@pytest.mark.parametrize(("code", "expected"), sorted(TCM_BY_DISPOSITION.items()))
def test_which_dispositions_start_tcm(code, expected):
    assert starts_tcm(DischargeDisposition(code)) is expected


def test_an_unknown_disposition_starts_tcm():
    # The source did not say: the clocks start and the nurse, who can tell, closes them.
    assert starts_tcm(None) is True


@pytest.mark.parametrize(
    ("visit_day", "deadline"),
    [
        (date(2024, 12, 20), date(2024, 12, 27)),
        # Across a month and a year end; February of a leap year.
        (date(2024, 12, 28), date(2025, 1, 4)),
        (date(2024, 2, 25), date(2024, 3, 3)),
        (date(2025, 2, 25), date(2025, 3, 4)),
    ],
)
def test_ed_follow_up_is_due_by_the_visit_day_plus_seven(visit_day, deadline):
    assert ED_FOLLOW_UP_DAYS == 7
    assert ed_follow_up_by(visit_day) == deadline
    # Eight days in all, the visit day included (HEDIS FMC).
    assert (ed_follow_up_by(visit_day) - visit_day).days + 1 == 8


@pytest.mark.parametrize(
    ("encounter_class", "expected"),
    [
        (EncounterClass.inpatient, True),
        (EncounterClass.observation, True),
        (EncounterClass.emergency, False),
        (EncounterClass.ambulatory, False),
        (None, False),
    ],
)
def test_a_hospital_stay_is_inpatient_or_observation(encounter_class, expected):
    assert is_hospital_stay(encounter_class) is expected


def test_in_hospital_words():
    assert in_hospital_words("Mercy General", date(2024, 12, 5)) == (
        "In hospital since 05 Dec, Mercy General"
    )
    assert in_hospital_words(None, date(2024, 12, 5)) == "In hospital since 05 Dec"
    assert in_hospital_words("  ", date(2025, 1, 15)) == "In hospital since 15 Jan"
    assert in_hospital_words(" Mercy  General\n", date(2024, 12, 5)).endswith(", Mercy General")
    assert in_emergency_department_words("Mercy General", date(2024, 12, 20)) == (
        "In the ED since 20 Dec, Mercy General"
    )


def test_the_readmission_window_is_the_flags_one():
    assert READMISSION_WINDOW_DAYS is flags.READMISSION_WINDOW_DAYS == 30


@pytest.mark.parametrize(
    ("days_later", "expected"),
    [(-1, False), (0, False), (1, True), (29, True), (30, True), (31, False)],
)
def test_a_readmission_is_a_discharge_1_to_30_days_after_the_previous(days_later, expected):
    previous = date(2024, 12, 9)
    later = date.fromordinal(previous.toordinal() + days_later)
    assert is_readmission(previous, later) is expected
