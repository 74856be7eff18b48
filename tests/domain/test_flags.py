"""The flag vocabulary: one word and one meaning per flag, raised by item kinds."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.flags import FLAG_ORDER, Flag, flag_words, flags_for, flags_of_items
from nursecase.domain.worklist import DueItem, DueKind


def test_each_flag_has_its_word_and_a_meaning():
    assert [flag.label for flag in FLAG_ORDER] == [
        "SAFETY",
        "OUT OF RANGE",
        "REFERRAL LATE",
        "TCM",
        "READMISSION",
        "IN HOSPITAL",
    ]
    assert set(FLAG_ORDER) == set(Flag)
    assert all(flag.meaning for flag in Flag)


@pytest.mark.parametrize(
    ("kinds", "readmission", "expected"),
    [
        ((), False, ()),
        ((DueKind.contact, DueKind.task, DueKind.goal), False, ()),
        ((DueKind.referral_reply,), False, ()),  # a routine referral late is not a flag
        ((DueKind.stuck_referral,), False, (Flag.referral_late,)),
        ((DueKind.safety,), False, (Flag.safety,)),
        ((DueKind.safety_risk,), False, (Flag.safety,)),
        ((DueKind.tcm, DueKind.tcm), False, (Flag.tcm,)),
        ((), True, ()),  # a readmission is flagged only beside its open TCM clock
        ((DueKind.tcm,), True, (Flag.tcm, Flag.readmission)),
        (
            (DueKind.tcm, DueKind.stuck_referral, DueKind.safety),
            True,
            (Flag.safety, Flag.referral_late, Flag.tcm, Flag.readmission),
        ),
    ],
)
def test_flags_come_from_item_kinds_in_their_order(kinds, readmission, expected):
    assert flags_for(kinds, readmission) == expected


def test_in_hospital_is_raised_by_the_stay_whatever_is_due_and_comes_last():
    assert flags_for((), in_hospital=True) == (Flag.in_hospital,)
    assert flags_for((DueKind.contact,), in_hospital=False) == ()
    assert flags_for((DueKind.tcm, DueKind.safety), True, in_hospital=True) == (
        Flag.safety,
        Flag.tcm,
        Flag.readmission,
        Flag.in_hospital,
    )
    assert flags_of_items((), in_hospital=True) == (Flag.in_hospital,)


def test_safety_never_comes_from_a_referral():
    assert Flag.safety not in flags_for([DueKind.stuck_referral])


def alert(urgent: bool) -> DueItem:
    return DueItem(
        DueKind.reading, date(2026, 11, 27), "weight", 4, "weight +2.6 kg in 5 d", urgent=urgent
    )


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((alert(urgent=True),), (Flag.out_of_range,)),
        # HbA1c above 9: due work on Today, not a flag.
        ((alert(urgent=False),), ()),
        # A monitoring gap is due work, never a flag.
        ((DueItem(DueKind.reading_gap, date(2026, 11, 27), "weight", 2, "3"),), ()),
        (
            (
                DueItem(DueKind.tcm, date(2026, 11, 27), "", 1),
                alert(urgent=True),
                DueItem(DueKind.safety, date(2026, 11, 27), "", 2),
                DueItem(DueKind.stuck_referral, date(2026, 11, 20), "PT", 3),
            ),
            (Flag.safety, Flag.out_of_range, Flag.referral_late, Flag.tcm),
        ),
    ],
)
def test_an_urgent_reading_alert_raises_out_of_range_and_nothing_else_does(items, expected):
    assert flags_of_items(items) == expected


def test_an_urgent_reading_is_never_a_safety_flag():
    assert Flag.safety not in flags_of_items([alert(urgent=True)])
    assert flags_for([DueKind.reading]) == ()  # the kind alone: urgency decides


def test_words_for_a_flags_column():
    assert flag_words((Flag.safety, Flag.tcm)) == "SAFETY · TCM"
    assert flag_words(()) == ""


@pytest.mark.parametrize(
    ("flags", "width", "text"),
    [
        ((Flag.referral_late, Flag.tcm), 20, "REFERRAL LATE · TCM"),
        ((Flag.safety, Flag.referral_late, Flag.tcm), 20, "SAFETY +2"),
        ((Flag.safety, Flag.tcm, Flag.readmission), 20, "SAFETY · TCM +1"),
        ((Flag.referral_late, Flag.tcm), 14, "REFERRAL LATE +1"),
        ((Flag.out_of_range, Flag.tcm), 20, "OUT OF RANGE · TCM"),
        ((Flag.safety, Flag.out_of_range), 20, "SAFETY +1"),
        ((Flag.tcm,), 3, "TCM"),
    ],
)
def test_a_narrow_column_shows_whole_words_and_counts_the_rest(flags, width, text):
    assert flag_words(flags, width) == text
