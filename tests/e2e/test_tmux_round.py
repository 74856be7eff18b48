"""End to end: the installed ``nursecase demo`` in a real terminal (tmux).

Launch, wait for patients, log a call, search, open a patient, score a PHQ-9,
start a care plan from a template and change a goal, move the most pressing
referral on in the referral queue, export the caseload, look at the help, and
quit with ctrl+q, reading the screen as a nurse would.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from nursecase.domain.codes import LABELS

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
        # A tmux server started without a client may keep its 80x24 default
        # size; the screen under test is laid out for 120x36.
        subprocess.run(
            [TMUX, "resize-window", "-t", self.name, "-x", "120", "-y", "36"],
            capture_output=True,
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
def demo_database(tmp_path):
    """Where the demo writes, so the test can read what the round left behind."""
    return tmp_path / "demo.db"


@pytest.fixture
def terminal(tmp_path, demo_database):
    environment = {"NURSECASE_HOME": str(tmp_path / "home"), "TERM": "xterm-256color"}
    session = Terminal(f"{_nursecase()} demo --patients 80 --db {demo_database}", environment)
    yield session
    session.close()


def test_a_round_from_launch_to_quit(terminal, demo_database, tmp_path):
    screen = terminal.wait_for(r"Today: \d+ patients", timeout=60)
    assert "DEMO" in screen

    # Rounds: the first patient's card, then a safety check by keys (C-SSRS:
    # no to questions 1, 2 and 6; disposition 1, no current risk).
    terminal.keys("r")
    terminal.wait_for(r"Problems")
    terminal.keys("S")
    terminal.wait_for(r"Safety check for")
    for answer in "nnn":
        terminal.keys(answer)
    terminal.wait_for(r"Risk: No risk identified")
    terminal.keys("1")
    terminal.keys("C-s")
    terminal.wait_for(r"Saved: Safety check")

    # Log a call with a note.
    terminal.keys("c")
    terminal.wait_for(r"Log a contact with")
    # Tab to the note, type it and save, all in one burst: the keys must act
    # in the order they were typed (widgets/text_fields.py).
    terminal.keys("Tab", "Tab", "Tab", "Tab", "Tab")
    terminal.keys("e2e call: reviewed meds", literal=True)
    terminal.keys("C-s")
    screen = terminal.wait_for(r"Contact logged|Record a safety check now")
    if "Record a safety check now" in screen:
        terminal.keys("n")  # a flag of another day: later
        terminal.wait_for(r"Contact logged")

    # d does what the row's most pressing item calls for: done (or a missed TCM
    # step noted as missed), then undo; a safety row opens the safety check and
    # an open TCM step the contact form (a contact or visit is what meets it);
    # an out-of-range reading asks what was done, and the note closes it.
    terminal.keys("d")
    screen = terminal.wait_for(
        r"Done: |Noted as missed: |Safety check for|Log a contact with|Close: "
    )
    if "Safety check for" in screen or "Log a contact with" in screen:
        terminal.keys("Escape")
    elif "Close: " in screen:
        terminal.keys("e2e: called, diuretic taken, recheck tomorrow", literal=True)
        terminal.keys("C-s")
        terminal.wait_for(r"Closed: ")
        terminal.keys("u")
        terminal.wait_for(r"Undone")
    else:
        terminal.keys("u")
        terminal.wait_for(r"Undone")

    # Search the caseload for the first caseload patient's family name.
    terminal.keys("t")
    terminal.wait_for(r"Caseload: \d+ patients")
    screen = terminal.wait_for(r"(?m)^ [A-Z][a-z'\-]+, [A-Z]")  # the rows, not just the count
    match = re.search(r"^ ([A-Z][a-z'\-]+), [A-Z]", screen, re.MULTILINE)
    assert match, screen
    family = match.group(1)
    terminal.keys("/")
    terminal.keys(family[:3].lower(), literal=True)
    screen = terminal.wait_for(rf'matching "{family[:3].lower()}"')
    assert family in screen
    terminal.keys("Enter")  # from the search box to the list
    terminal.keys("Enter")  # open the patient
    terminal.wait_for(r"MRN \S+.*\n.*Risk", timeout=20)
    terminal.wait_for(r"Due next")
    # Score a PHQ-9 by keys: pick it, one key per item, save.
    terminal.keys("a")
    terminal.wait_for(r"New assessment")
    terminal.keys("2")
    terminal.wait_for(r"0 of 9 answered")
    for answer in "210110000":
        terminal.keys(answer)
    terminal.wait_for(r"Total 5")
    terminal.keys("C-s")
    terminal.wait_for(r"Saved: PHQ-9 5")

    # The care plan: start one from the heart failure template, then change
    # the first goal's target (tab to it, clear it, type, save in one burst).
    terminal.keys("p")
    terminal.wait_for(r"Care plan ·|No care plan yet")
    terminal.keys("T")
    terminal.wait_for(r"Start a plan from a template")
    terminal.keys("2")
    terminal.wait_for(r"Draft plan started from Heart failure")
    terminal.keys("j", "j")
    terminal.keys("Enter")
    terminal.wait_for(r"Edit goal")
    terminal.keys("Tab", "Tab", "End", "C-u")
    terminal.keys("2 lb or less a day", literal=True)
    terminal.keys("C-s")
    terminal.wait_for(r"Goal saved")
    terminal.keys("Escape")
    terminal.wait_for(r"Due next")
    terminal.keys("4")
    terminal.wait_for(r"Medication +Dose")
    terminal.keys("Escape")
    terminal.wait_for(r"Caseload: ")

    # The referral queue: move the most pressing referral on by its first legal
    # move (typing what the form asks for when it insists), then log a call.
    terminal.keys("2")
    terminal.wait_for(r"\d+ referrals? ")
    terminal.keys("x")
    screen = terminal.wait_for(r"Move the referral on")
    first_move = re.search(r"1  ([A-Z][a-z]+(?: [a-z]+)*)", screen)
    assert first_move, screen
    moved_to = first_move.group(1)
    terminal.keys("1")
    if moved_to not in ("Received", "Requested", "Ready to start"):
        screen = terminal.wait_for(r"\(ctrl\+s\)")
        if "(required)" in screen:
            terminal.keys("e2e: done", literal=True)
        terminal.keys("C-s")
    terminal.wait_for(rf"Referral {moved_to.lower()}")

    # The day's report: X, then save the form as it comes (my caseload, CSV).
    terminal.keys("X")
    terminal.wait_for(r"Export a report")
    terminal.keys("C-s")
    terminal.wait_for(r"Exported caseload \(\d+ rows\)")
    terminal.keys("?")
    terminal.wait_for(r"Keys")
    terminal.keys("Escape")

    terminal.keys("C-q")
    deadline = time.monotonic() + 10
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not terminal.alive(), terminal.screen()

    with sqlite3.connect(demo_database) as connection:
        newest = connection.execute(
            "SELECT note, minutes FROM contact ORDER BY id DESC LIMIT 1"
        ).fetchone()
        phq9 = connection.execute(
            "SELECT total, band FROM assessment WHERE instrument = 'phq-9' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        plan_id, status = connection.execute(
            "SELECT id, status FROM care_plan ORDER BY id DESC LIMIT 1"
        ).fetchone()
        first_goal = connection.execute(
            "SELECT goal.target_value FROM goal JOIN problem ON problem.id = goal.problem_id"
            " WHERE problem.care_plan_id = ? ORDER BY problem.position, goal.position LIMIT 1",
            (plan_id,),
        ).fetchone()
        check = connection.execute(
            "SELECT risk, disposition FROM safety_check ORDER BY id DESC LIMIT 1"
        ).fetchone()
        last_move = connection.execute(
            "SELECT to_status FROM referral_status_history ORDER BY id DESC LIMIT 1"
        ).fetchone()
    codes_by_label = {label: code for code, label in LABELS["ReferralStatus"].items()}
    assert last_move == (codes_by_label[moved_to],)
    # A demo's exports go beside its database, never into the real exports folder.
    assert not (tmp_path / "home" / "exports").exists()
    [report] = list((tmp_path / "demo-exports").glob("caseload-*.csv"))
    assert report.read_bytes().startswith(b"\xef\xbb\xbfMRN,")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert newest == ("e2e call: reviewed meds", 1)
    assert check == ("none", "no-current-risk")
    assert phq9 == (5, "mild")
    assert status == "draft" and first_goal == ("2 lb or less a day",)
