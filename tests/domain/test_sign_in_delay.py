"""The sign-in delay schedule (NIST SP 800-63B 5.2.2): consecutive refusals -> seconds."""

from __future__ import annotations

import pytest

from nursecase.domain.sign_in_delay import RETRY_DELAYS, delay_after_failures, remaining_wait


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(-1, 0), (0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (7, 30), (1000, 30)],
)
def test_the_delay_doubles_from_one_second_and_stops_at_thirty(failures, seconds):
    assert delay_after_failures(failures) == seconds


def test_the_schedule_is_the_login_screens():
    assert RETRY_DELAYS == (1, 2, 4, 8, 16, 30)


@pytest.mark.parametrize(
    ("failures", "elapsed", "left"),
    [(0, 0, 0), (1, 0, 1), (1, 0.4, 0.6), (1, 1, 0), (3, 1.5, 2.5), (3, 10, 0), (2, -5, 2)],
)
def test_the_remaining_wait_counts_from_the_last_refusal(failures, elapsed, left):
    assert remaining_wait(failures, elapsed) == pytest.approx(left)
