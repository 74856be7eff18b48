"""The referral Task state machine (DESIGN.md section 2), enforced and never bypassed.

Statuses are FHIR R4 Task codes. Legal moves:

- draft -> requested | ready | cancelled
- requested -> received | accepted | rejected | cancelled
- received -> accepted | rejected | cancelled
- accepted | ready -> in-progress | cancelled
- in-progress <-> on-hold
- in-progress -> completed | failed
- any state except entered-in-error itself -> entered-in-error (terminal ones too:
  a referral recorded on the wrong patient must be retractable even when closed)

Terminal: completed, failed, cancelled, rejected, entered-in-error. Moving to
rejected or cancelled needs a reason; moving to completed needs an outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from nursecase.domain.codes import ReferralStatus, parse_code, spoken
from nursecase.domain.validation import ValidationError

_Status = ReferralStatus

# Each tuple is in the order a screen should offer the moves: forward progress
# first, then the ways out, and entered-in-error last.
TRANSITIONS: Mapping[ReferralStatus, tuple[ReferralStatus, ...]] = MappingProxyType(
    {
        _Status.draft: (_Status.requested, _Status.ready, _Status.cancelled),
        _Status.requested: (
            _Status.received,
            _Status.accepted,
            _Status.rejected,
            _Status.cancelled,
        ),
        _Status.received: (_Status.accepted, _Status.rejected, _Status.cancelled),
        _Status.accepted: (_Status.in_progress, _Status.cancelled),
        _Status.ready: (_Status.in_progress, _Status.cancelled),
        _Status.in_progress: (_Status.completed, _Status.on_hold, _Status.failed),
        _Status.on_hold: (_Status.in_progress,),
        _Status.completed: (),
        _Status.failed: (),
        _Status.cancelled: (),
        _Status.rejected: (),
        _Status.entered_in_error: (),
    }
)
"""Forward moves per status, not counting the universal move to entered-in-error."""

TERMINAL_STATUSES: frozenset[ReferralStatus] = frozenset(
    {
        _Status.completed,
        _Status.failed,
        _Status.cancelled,
        _Status.rejected,
        _Status.entered_in_error,
    }
)
"""Statuses where the referral's work is over (only entered-in-error may follow)."""

OPEN_STATUSES: frozenset[ReferralStatus] = frozenset(_Status) - TERMINAL_STATUSES
"""Statuses that keep a referral in the queue and on the worklist."""

REASON_REQUIRED: frozenset[ReferralStatus] = frozenset({_Status.rejected, _Status.cancelled})
"""Targets that need a reason in the status history."""

OUTCOME_REQUIRED: frozenset[ReferralStatus] = frozenset({_Status.completed})
"""Targets that need an outcome recorded."""


class TransitionError(ValidationError):
    """An illegal referral status change, or a legal one missing its reason/outcome."""


def allowed_next(status: ReferralStatus | str) -> tuple[ReferralStatus, ...]:
    """Return the statuses a referral in ``status`` may move to, in display order."""
    current = parse_code(ReferralStatus, status, "status")
    if current is ReferralStatus.entered_in_error:
        return ()
    return TRANSITIONS[current] + (ReferralStatus.entered_in_error,)


def is_terminal(status: ReferralStatus | str) -> bool:
    """Return True when ``status`` ends the referral's work."""
    return parse_code(ReferralStatus, status, "status") in TERMINAL_STATUSES


def is_legal(current: ReferralStatus | str, target: ReferralStatus | str) -> bool:
    """Return True when the move from ``current`` to ``target`` is in the machine."""
    return parse_code(ReferralStatus, target, "status") in allowed_next(current)


def check_transition(
    current: ReferralStatus | str,
    target: ReferralStatus | str,
    reason: str | None = None,
    outcome: str | None = None,
) -> ReferralStatus:
    """Return ``target`` as a ReferralStatus when the move is legal and complete.

    Raises TransitionError (a ValidationError) naming "status" for an illegal move,
    "reason" when rejected/cancelled has no reason, and "outcome" when completed
    has no outcome. Blank text counts as missing.
    """
    current_status = parse_code(ReferralStatus, current, "status")
    target_status = parse_code(ReferralStatus, target, "status")
    if target_status not in allowed_next(current_status):
        message = (
            f"a referral that is {spoken(current_status)} cannot move to {spoken(target_status)}"
        )
        if current_status in TERMINAL_STATUSES:
            message += f" ({spoken(current_status)} is final)"
        else:
            allowed = ", ".join(spoken(status) for status in allowed_next(current_status))
            message += f" (allowed: {allowed})"
        raise TransitionError("status", message)
    if target_status in REASON_REQUIRED and not _has_text(reason):
        raise TransitionError(
            "reason", f"is required to move a referral to {spoken(target_status)}"
        )
    if target_status in OUTCOME_REQUIRED and not _has_text(outcome):
        raise TransitionError(
            "outcome", f"is required to move a referral to {spoken(target_status)}"
        )
    return target_status


def _has_text(value: str | None) -> bool:
    """Return True when ``value`` holds something other than whitespace."""
    return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class Turnaround:
    """How long a referral took at each stage, in whole days (None: not reached yet).

    Measured from the status history, never from "last modified": the first
    time the referral became requested, accepted and completed.
    """

    requested_to_accepted: int | None
    accepted_to_completed: int | None
    requested_to_completed: int | None


def turnaround(changes: Iterable[tuple[str, datetime]]) -> Turnaround:
    """Turnaround from a history of (status moved to, when), in any order."""
    first: dict[str, datetime] = {}
    for status, moment in sorted(changes, key=lambda change: change[1]):
        first.setdefault(str(status), moment)

    def days(start: str, end: str) -> int | None:
        if start not in first or end not in first:
            return None
        return (first[end].date() - first[start].date()).days

    requested, accepted, completed = (
        str(_Status.requested),
        str(_Status.accepted),
        str(_Status.completed),
    )
    return Turnaround(
        requested_to_accepted=days(requested, accepted),
        accepted_to_completed=days(accepted, completed),
        requested_to_completed=days(requested, completed),
    )


def median_days(values: Iterable[int | None]) -> float | None:
    """The median of the known values (None when there are none)."""
    known = sorted(value for value in values if value is not None)
    if not known:
        return None
    middle = len(known) // 2
    if len(known) % 2:
        return float(known[middle])
    return (known[middle - 1] + known[middle]) / 2
