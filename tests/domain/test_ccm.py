"""CCM codes per programme (CMS MLN909188), at every threshold, and their words."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.ccm import (
    ccm_codes,
    ccm_month,
    ccm_progress,
    ordinal_words,
)
from nursecase.domain.codes import CcmProgramme
from nursecase.domain.validation import ValidationError

STANDARD = [
    (0, [], "20 min to 99490"),
    (19, [], "1 min to 99490"),
    (20, [("99490", 1)], "20 min to 99439"),
    (39, [("99490", 1)], "1 min to 99439"),
    (40, [("99490", 1), ("99439", 1)], "20 min to a second 99439"),
    (59, [("99490", 1), ("99439", 1)], "1 min to a second 99439"),
    (60, [("99490", 1), ("99439", 2)], "99439 limit reached"),
    (89, [("99490", 1), ("99439", 2)], "99439 limit reached"),
    (90, [("99490", 1), ("99439", 2)], "99439 limit reached"),
]

COMPLEX = [
    (0, [], "60 min to 99487"),
    (19, [], "41 min to 99487"),
    (20, [], "40 min to 99487"),
    (39, [], "21 min to 99487"),
    (40, [], "20 min to 99487"),
    (59, [], "1 min to 99487"),
    (60, [("99487", 1)], "30 min to 99489"),
    (89, [("99487", 1)], "1 min to 99489"),
    (90, [("99487", 1), ("99489", 1)], "30 min to a second 99489"),
    (150, [("99487", 1), ("99489", 3)], "30 min to a fourth 99489"),
]


@pytest.mark.parametrize(("minutes", "codes", "words"), STANDARD)
def test_standard_ccm_units_and_words(minutes, codes, words):
    assert ccm_codes(minutes, CcmProgramme.standard) == codes
    progress = ccm_progress(minutes, "standard")
    assert list(progress.codes) == codes
    assert progress.next_words == words


@pytest.mark.parametrize(("minutes", "codes", "words"), COMPLEX)
def test_complex_ccm_units_and_words(minutes, codes, words):
    assert ccm_codes(minutes, CcmProgramme.complex) == codes
    progress = ccm_progress(minutes, "complex")
    assert list(progress.codes) == codes
    assert progress.next_words == words


def test_the_two_families_never_mix():
    for minutes in range(0, 200, 5):
        standard = {code for code, _ in ccm_codes(minutes, "standard")}
        complex_care = {code for code, _ in ccm_codes(minutes, "complex")}
        assert standard <= {"99490", "99439"}
        assert complex_care <= {"99487", "99489"}


def test_progress_thresholds_for_a_bar():
    progress = ccm_progress(47, "standard")
    assert (progress.previous_threshold, progress.next_threshold) == (40, 60)
    assert progress.minutes_to_next == 13
    assert progress.next_words == "13 min to a second 99439"
    capped = ccm_progress(75, "standard")
    assert (capped.next_threshold, capped.next_code, capped.minutes_to_next) == (None, None, None)
    assert capped.reached_words == "99490, 99439 x2"


@pytest.mark.parametrize("bad", [-1, 2.5, "20", True])
def test_bad_minutes_name_the_field(bad):
    with pytest.raises(ValidationError) as caught:
        ccm_codes(bad, "standard")
    assert caught.value.field == "minutes"


def test_an_unknown_programme_names_the_field():
    with pytest.raises(ValidationError) as caught:
        ccm_progress(10, "premium")
    assert caught.value.field == "ccm_programme"


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (2, "a second"),
        (3, "a third"),
        (8, "an eighth"),
        (11, "an 11th"),
        (12, "a 12th"),
        (21, "a 21st"),
        (23, "a 23rd"),
        (80, "an 80th"),
    ],
)
def test_ordinal_words(number, words):
    assert ordinal_words(number) == words


def test_the_header_line_of_an_enrolled_patient():
    month = ccm_month("standard", date(2026, 10, 1), 47)
    assert month.describe(date(2026, 11, 27)) == (
        "Standard CCM since 1 Oct · 47 min this month: 99490, 99439 · 13 min to a second 99439"
    )
    assert ccm_month("complex", date(2025, 3, 9), 12).describe(date(2026, 11, 27)) == (
        "Complex CCM since 9 Mar 2025 · 12 min this month: no code yet · 48 min to 99487"
    )


def test_a_patient_not_enrolled_has_minutes_and_no_code():
    month = ccm_month(None, date(2026, 10, 1), 27)
    assert month.progress is None and month.start is None
    assert month.describe() == "Not enrolled in CCM · 27 min this month"
