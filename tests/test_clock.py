"""The system clock really waits: what the CLI tests' virtual waits stand in for."""

from __future__ import annotations

import time

from nursecase.clock import SystemClock


def test_the_system_clock_sleeps_for_real(monkeypatch):
    # tests/cli/conftest.py::virtual_waits replaces SystemClock.sleep in the
    # command tests; this is the one line they skip.
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    SystemClock().sleep(4)
    assert asked == [4]
