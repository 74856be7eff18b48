"""The status moves a care plan and its items allow."""

from __future__ import annotations

import pytest

from nursecase.domain import care_plan_rules as rules
from nursecase.domain.codes import CarePlanStatus, GoalLifecycleStatus, InterventionStatus
from nursecase.domain.validation import ValidationError


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("plan", CarePlanStatus),
        ("goal", GoalLifecycleStatus),
        ("intervention", InterventionStatus),
        ("problem", rules.PROBLEM_STATUSES),
    ],
)
def test_every_status_has_a_row_and_moves_only_to_known_statuses(kind, codes):
    known = {str(code) for code in codes}
    table = rules.MOVES_BY_KIND[kind]
    assert set(table) == known
    for source, targets in table.items():
        assert set(targets) <= known - {source, rules.ENTERED_IN_ERROR}


def test_end_states_offer_nothing_and_a_completed_goal_can_be_reopened():
    for status in ("completed", "revoked", "entered-in-error"):
        assert rules.next_statuses("plan", status) == ()
    for status in ("completed", "cancelled", "stopped", "entered-in-error"):
        assert rules.next_statuses("intervention", status) == ()
    assert rules.next_statuses("goal", "completed") == ("active",)
    assert rules.next_statuses("goal", "cancelled") == ()


def test_a_draft_plan_goes_active_or_revoked():
    assert rules.next_statuses("plan", "draft") == ("active", "revoked")
    rules.check_move("plan", "draft", "active")
    with pytest.raises(
        ValidationError, match="plan that is draft can move to active, revoked; not"
    ):
        rules.check_move("plan", "draft", "completed")


def test_staying_put_is_allowed_and_entered_in_error_is_only_by_delete():
    rules.check_move("goal", "completed", "completed")
    with pytest.raises(ValidationError, match="by deleting it") as raised:
        rules.check_move("goal", "active", "entered-in-error", "lifecycle_status")
    assert raised.value.field == "lifecycle_status"
    with pytest.raises(ValidationError, match="goal that is cancelled cannot change status"):
        rules.check_move("goal", "cancelled", "active")


def test_completing_a_goal_needs_an_ending_achievement():
    rules.check_achievement("active", None)
    rules.check_achievement("completed", "achieved")
    rules.check_achievement("completed", "not-attainable")
    with pytest.raises(ValidationError, match="is required"):
        rules.check_achievement("completed", None)
    with pytest.raises(ValidationError, match="completed goal must be one of"):
        rules.check_achievement("completed", "improving")


def test_new_items_start_in_an_open_status():
    assert "completed" not in rules.initial_goal_statuses()
    assert "proposed" in rules.initial_goal_statuses()
    assert rules.initial_intervention_statuses()[0] == "not-started"
    assert set(rules.COMPLETION_ACHIEVEMENTS) & set(rules.ONGOING_ACHIEVEMENTS) == {
        "achieved",
        "sustaining",
    }
