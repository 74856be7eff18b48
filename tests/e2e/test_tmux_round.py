"""End to end: the installed ``nursecase demo`` in a real terminal (tmux).

Launch, wait for patients, search, open a patient, look at the referral
queue and the help, and quit with ctrl+q, reading the screen as a nurse would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")

if TMUX is None:
    if os.environ.get("CI"):
        raise RuntimeError("tmux is required in CI (.ci/run installs it)")
    pytest.skip("tmux is not installed (CI installs it)", allow_module_level=True)


def _nursecase() -> str:
    installed = Path(sys.executable).parent / "nursecase"
    assert installed.exists(), "the nursecase console script is not installed beside python"
    return str(installed)


class Terminal:
    """A tmux session running one command, 120x36."""

    def __init__(self, command: str, environment: dict[str, str]) -> None:
        self.name = f"nursecase-e2e-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{key}={value}" for key, value in environment.items())
        subprocess.run(
            [
                TMUX,
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "120",
                "-y",
                "36",
                f"env {exports} {command}",
            ],
            check=True,
        )

    def screen(self) -> str:
        result = subprocess.run(
            [TMUX, "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True
        )
        return result.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        command = [TMUX, "send-keys", "-t", self.name]
        if literal:
            command.append("-l")
        subprocess.run([*command, *keys], check=True)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{screen}")

    def alive(self) -> bool:
        return (
            subprocess.run([TMUX, "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def close(self) -> None:
        subprocess.run([TMUX, "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal(tmp_path):
    environment = {"NURSECASE_HOME": str(tmp_path / "home"), "TERM": "xterm-256color"}
    session = Terminal(f"{_nursecase()} demo --patients 80", environment)
    yield session
    session.close()


def test_a_round_from_launch_to_quit(terminal):
    screen = terminal.wait_for(r"patients shown", timeout=60)
    assert "DEMO" in screen
    # The first row's family name, to search for it.
    match = re.search(r"^\s*\S?\s*([A-Z][a-z'\-]+), [A-Z]", screen, re.MULTILINE)
    assert match, screen
    family = match.group(1)

    terminal.keys("/")
    terminal.keys(family[:3].lower(), literal=True)
    screen = terminal.wait_for(rf'matching "{family[:3].lower()}"')
    assert family in screen

    terminal.keys("Enter")  # from the search box to the list
    terminal.keys("Enter")  # open the patient
    screen = terminal.wait_for(r"MRN \S+.*\n.*Risk", timeout=20)
    terminal.wait_for(r"Medications")

    terminal.keys("Escape")
    terminal.wait_for(r"patients shown")

    terminal.keys("2")
    terminal.wait_for(r"open referrals")

    terminal.keys("?")
    terminal.wait_for(r"Keys")
    terminal.keys("Escape")

    terminal.keys("C-q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), terminal.screen()
