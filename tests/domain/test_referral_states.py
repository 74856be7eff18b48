"""Every legal and every illegal referral Task transition, against a hand-written table;
turnaround figures from a status history."""

from __future__ import annotations

import itertools
from datetime import datetime as _moment

import pytest

from nursecase.domain.codes import ReferralStatus
from nursecase.domain.referral_states import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TransitionError,
    allowed_next,
    check_transition,
    is_legal,
    is_terminal,
    median_days,
    turnaround,
)
from nursecase.domain.validation import ValidationError

# Written out by hand from DESIGN.md, as plain strings, independently of the module.
LEGAL = {
    ("draft", "requested"),
    ("draft", "ready"),
    ("draft", "cancelled"),
    ("requested", "received"),
    ("requested", "accepted"),
    ("requested", "rejected"),
    ("requested", "cancelled"),
    ("received", "accepted"),
    ("received", "rejected"),
    ("received", "cancelled"),
    ("accepted", "in-progress"),
    ("accepted", "cancelled"),
    ("ready", "in-progress"),
    ("ready", "cancelled"),
    ("in-progress", "on-hold"),
    ("on-hold", "in-progress"),
    ("in-progress", "completed"),
    ("in-progress", "failed"),
    ("draft", "entered-in-error"),
    ("requested", "entered-in-error"),
    ("received", "entered-in-error"),
    ("accepted", "entered-in-error"),
    ("rejected", "entered-in-error"),
    ("ready", "entered-in-error"),
    ("cancelled", "entered-in-error"),
    ("in-progress", "entered-in-error"),
    ("on-hold", "entered-in-error"),
    ("failed", "entered-in-error"),
    ("completed", "entered-in-error"),
}
ALL_STATUSES = [
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
]
PAIRS = list(itertools.product(ALL_STATUSES, ALL_STATUSES))


def _complete_arguments(target: str) -> dict[str, str]:
    """Reason and outcome that satisfy any target, so only legality is tested."""
    return {"reason": "patient moved away", "outcome": "visit done 2024-03-08"}


def test_table_covers_every_pair():
    assert len(PAIRS) == 144
    assert len(LEGAL) == 29
    assert sorted(ALL_STATUSES) == sorted(status.value for status in ReferralStatus)


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition(current, target):
    arguments = _complete_arguments(target)
    if (current, target) in LEGAL:
        assert check_transition(current, target, **arguments) == ReferralStatus(target)
        assert is_legal(current, target)
        assert ReferralStatus(target) in allowed_next(current)
    else:
        with pytest.raises(TransitionError) as caught:
            check_transition(current, target, **arguments)
        assert caught.value.field == "status"
        now, then = ReferralStatus(current).label.lower(), ReferralStatus(target).label.lower()
        assert f"a referral that is {now} cannot move to {then}" in caught.value.message
        assert not is_legal(current, target)
        assert ReferralStatus(target) not in allowed_next(current)


def test_allowed_next_order_and_contents():
    assert allowed_next(ReferralStatus.draft) == (
        ReferralStatus.requested,
        ReferralStatus.ready,
        ReferralStatus.cancelled,
        ReferralStatus.entered_in_error,
    )
    assert allowed_next("requested") == (
        ReferralStatus.received,
        ReferralStatus.accepted,
        ReferralStatus.rejected,
        ReferralStatus.cancelled,
        ReferralStatus.entered_in_error,
    )
    assert allowed_next("in-progress") == (
        ReferralStatus.completed,
        ReferralStatus.on_hold,
        ReferralStatus.failed,
        ReferralStatus.entered_in_error,
    )
    assert allowed_next("on-hold") == (ReferralStatus.in_progress, ReferralStatus.entered_in_error)
    assert allowed_next("completed") == (ReferralStatus.entered_in_error,)
    assert allowed_next("entered-in-error") == ()


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_allowed_next_matches_table(status):
    expected = {target for current, target in LEGAL if current == status}
    assert {member.value for member in allowed_next(status)} == expected


def test_terminal_statuses():
    terminal = {"completed", "failed", "cancelled", "rejected", "entered-in-error"}
    assert {status.value for status in TERMINAL_STATUSES} == terminal
    assert {status.value for status in OPEN_STATUSES} == set(ALL_STATUSES) - terminal
    for status in ALL_STATUSES:
        assert is_terminal(status) is (status in terminal)


def test_message_for_a_final_status():
    with pytest.raises(TransitionError) as caught:
        check_transition(ReferralStatus.completed, ReferralStatus.in_progress)
    assert str(caught.value) == (
        "A referral that is completed cannot move to in progress (completed is final)"
    )


def test_message_lists_allowed_moves():
    with pytest.raises(TransitionError) as caught:
        check_transition("draft", "completed", outcome="done")
    assert caught.value.message == (
        "a referral that is draft cannot move to completed "
        "(allowed: requested, ready to start, cancelled, entered in error)"
    )


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_same_status_is_illegal(status):
    with pytest.raises(TransitionError):
        check_transition(status, status, reason="r", outcome="o")


@pytest.mark.parametrize(
    ("current", "target"),
    [("draft", "cancelled"), ("requested", "rejected"), ("received", "rejected")],
)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejected_and_cancelled_need_a_reason(current, target, reason):
    with pytest.raises(TransitionError) as caught:
        check_transition(current, target, reason=reason)
    assert caught.value.field == "reason"
    assert caught.value.message == f"is required to move a referral to {target}"
    assert check_transition(current, target, reason="no capacity") == ReferralStatus(target)


@pytest.mark.parametrize("outcome", [None, "", "  "])
def test_completed_needs_an_outcome(outcome):
    with pytest.raises(TransitionError) as caught:
        check_transition("in-progress", "completed", outcome=outcome)
    assert caught.value.field == "outcome"
    assert caught.value.message == "is required to move a referral to completed"
    assert (
        check_transition("in-progress", "completed", outcome="walker delivered")
        is ReferralStatus.completed
    )


def test_other_moves_need_neither_reason_nor_outcome():
    assert check_transition("draft", "requested") is ReferralStatus.requested
    assert check_transition("in-progress", "failed") is ReferralStatus.failed
    assert check_transition("completed", "entered-in-error") is ReferralStatus.entered_in_error


def test_transition_error_is_a_validation_error():
    assert issubclass(TransitionError, ValidationError)


def test_unknown_status_names_the_field():
    with pytest.raises(ValidationError) as caught:
        check_transition("draft", "sent")
    assert caught.value.field == "status"
    assert "draft, requested" in caught.value.message


# ------------------------------------------------------------------ turnaround


def test_turnaround_uses_the_first_time_each_status_was_reached():
    history = [
        ("requested", _moment(2026, 11, 2, 9)),
        ("received", _moment(2026, 11, 3, 9)),
        ("accepted", _moment(2026, 11, 5, 16)),
        ("in-progress", _moment(2026, 11, 6, 9)),
        ("on-hold", _moment(2026, 11, 10, 9)),
        ("in-progress", _moment(2026, 11, 12, 9)),
        ("completed", _moment(2026, 11, 20, 11)),
    ]
    figures = turnaround(reversed(history))  # order does not matter
    assert (
        figures.requested_to_accepted,
        figures.accepted_to_completed,
        figures.requested_to_completed,
    ) == (3, 15, 18)


def test_turnaround_of_an_open_referral_has_only_what_was_reached():
    figures = turnaround([("requested", _moment(2026, 11, 2)), ("accepted", _moment(2026, 11, 9))])
    assert (figures.requested_to_accepted, figures.accepted_to_completed) == (7, None)
    assert turnaround([]).requested_to_completed is None


def test_median_days_skips_unknown_values():
    assert median_days([3, None, 9, 4]) == 4.0
    assert median_days([3, 9, None, 4, 10]) == 6.5
    assert median_days([None]) is None
