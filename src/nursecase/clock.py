"""The one source of "now" and "today".

Services, the worklist and the screens ask a ``Clock``; nothing else calls
``datetime.now()``. Tests and snapshots pass a ``FrozenClock`` so that what is
"overdue" does not depend on the day the suite runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current wall-clock time."""

    def now(self) -> datetime:
        """The current local time, naive, to the second."""
        ...

    def today(self) -> date:
        """The current local date."""
        ...


class SystemClock:
    """The workstation's clock."""

    def now(self) -> datetime:
        """The current local time, naive, to the second."""
        return datetime.now().replace(microsecond=0)

    def today(self) -> date:
        """The current local date."""
        return date.today()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time (a throttled sign-in)."""
        time.sleep(seconds)


@dataclass
class FrozenClock:
    """A clock that stands still until told to move (tests, snapshots, demos)."""

    moment: datetime

    def now(self) -> datetime:
        """The frozen moment."""
        return self.moment

    def today(self) -> date:
        """The frozen moment's date."""
        return self.moment.date()

    def sleep(self, seconds: float) -> None:
        """A wait on a frozen clock moves it forward instead of blocking the test."""
        self.advance(seconds=seconds)

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a ``timedelta(**delta)``."""
        self.moment = self.moment + timedelta(**delta)
