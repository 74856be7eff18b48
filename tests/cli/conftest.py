"""Fixtures for commands run in this process: sign-in delays and password hashing made cheap.

Both are opt-in (``pytestmark = pytest.mark.usefixtures(...)``) and change
only this test process; a command run as a real subprocess keeps the product's
real delays and Argon2 parameters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nursecase.clock import SystemClock


class VirtualWaits:
    """The sign-in delays the commands of one test asked for, in order (seconds)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.offset = timedelta()

    def sleep(self, seconds: float) -> None:
        """Note the wait and move this process's wall clock past it, without blocking."""
        self.asked.append(seconds)
        self.offset += timedelta(seconds=seconds)

    def now(self) -> datetime:
        """The wall clock plus every wait asked for so far, to the second."""
        return (datetime.now() + self.offset).replace(microsecond=0)

    def take(self) -> list[float]:
        """The waits asked for since the last call."""
        asked, self.asked = self.asked, []
        return asked


@pytest.fixture
def virtual_waits(monkeypatch) -> VirtualWaits:
    """``SystemClock`` (what every command uses) waits in virtual time in this process.

    A throttled sign-in (``services.accounts``, NIST SP 800-63B 5.2.2) asks the
    clock to sleep 1, 2, 4 ... seconds; here the wait is recorded and the clock
    moves forward by it, exactly as if the time had passed, so the next command
    sees the same elapsed time a real one would. The schedule itself is tested in
    tests/domain/test_sign_in_delay.py, the service's use of it in
    tests/services/test_accounts.py (on a frozen clock), and that SystemClock.sleep
    really sleeps in tests/test_clock.py.
    """
    waits = VirtualWaits()
    monkeypatch.setattr(SystemClock, "sleep", lambda _clock, seconds: waits.sleep(seconds))
    monkeypatch.setattr(SystemClock, "now", lambda _clock: waits.now())
    monkeypatch.setattr(SystemClock, "today", lambda _clock: waits.now().date())
    return waits


@pytest.fixture
def cheap_password_hashing(monkeypatch) -> None:
    """Argon2id at its smallest costs for accounts made by commands in this process.

    The product's hasher (argon2-cffi's defaults, RFC 9106's second option) costs
    about a quarter of a second per hash; tests of command lines do not test
    it. tests/cli/test_user_commands.py checks that a real subprocess stores
    hashes with the product's parameters.
    """
    from argon2 import PasswordHasher

    from nursecase.services import accounts

    monkeypatch.setattr(
        accounts,
        "_default_hasher",
        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
