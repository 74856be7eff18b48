"""How long a sign-in waits after refused attempts: a pure schedule, attempts -> seconds.

NIST SP 800-63B section 5.2.2 ("Rate Limiting (Throttling)") asks verifiers to
limit consecutive failed authentication attempts on an account, and names
"requiring the claimant to wait following a failed attempt for a period of time
that increases as the account accumulates consecutive failed attempts" as one
way to do it. The schedule doubles from one second and stops growing at 30
seconds: a nurse who mistypes waits a moment, while a guesser gets about 120
tries an hour instead of thousands (and never an account locked by a stranger).

The count is of consecutive failures on one account (or one unknown username)
since its last successful sign-in, kept in the database (the audit trail's
``login-failed`` events), so every command and every workstation shares it.
"""

from __future__ import annotations

#: Seconds to wait after the 1st, 2nd, 3rd ... consecutive refusal (the last repeats).
RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 16, 30)


def delay_after_failures(failures: int) -> float:
    """The wait after ``failures`` consecutive refusals (0 after none)."""
    if failures <= 0:
        return 0.0
    return float(RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1])


def remaining_wait(failures: int, seconds_since_last_failure: float) -> float:
    """How much of the wait after ``failures`` refusals is still to run (never negative)."""
    return max(0.0, delay_after_failures(failures) - max(0.0, seconds_since_last_failure))
