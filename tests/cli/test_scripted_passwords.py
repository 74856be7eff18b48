"""Scripted use with passwords on (issue 19 item 7): ``--password-stdin``, no terminal, ``--nurse``.

``export`` and ``import fhir`` read the signing-in nurse's password from
standard input with ``--password-stdin``, as the ``user`` commands do. With
no terminal and no password a command ends in one line and exit code 1: no
GetPassWarning, no echoed prompt, no "aborted" (that needs a process without a
terminal: a real subprocess in a new session). ``--nurse`` typed before the
command and after it mean the same, and either beats NURSECASE_NURSE.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.services import make_services
from tests.cli.in_process import run_main

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A database with passwords on: root (admin) and nina, one patient; an empty bundle."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    database = tmp_path / "team.db"
    engine = make_engine(database)
    ensure_schema(engine)
    services = make_services(engine, SystemClock())
    services.accounts.add("root", "Rita Root", PASSWORD)
    services.nurses.create("nina", "Nina Ortiz", "RN")
    services.patients.create("T-1", "Quinn", "Harper")
    engine.dispose()
    (tmp_path / "empty.json").write_text('{"resourceType": "Bundle", "type": "collection"}')
    return database


def command(database, tmp_path, which: str) -> list[str]:
    """The export or the import, as root, on ``database``."""
    if which == "export":
        return ["--db", str(database), "--nurse", "root", "export", "caseload", "--all"] + [
            "--out",
            str(tmp_path / "all.csv"),
        ]
    return [
        "--db",
        str(database),
        "--nurse",
        "root",
        "import",
        "fhir",
        str(tmp_path / "empty.json"),
    ]


def test_with_no_terminal_and_no_password_one_line_and_exit_1(team, tmp_path):
    """A cron job without --password-stdin: told how, never prompted, never "aborted".

    One command is enough: export and import ask through the same sign-in.
    """
    finished = subprocess.run(
        [sys.executable, "-m", "nursecase", *command(team, tmp_path, "export")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
        timeout=120,
    )
    assert (finished.returncode, finished.stdout) == (1, "")
    assert finished.stderr == (
        "nursecase: error: root's password is needed and there is no terminal to ask for it;"
        " give it on standard input with --password-stdin\n"
    )
    assert not (tmp_path / "all.csv").exists()


@pytest.mark.parametrize("which", ["export", "import"])
def test_password_stdin_signs_in_from_a_script(team, tmp_path, which, virtual_waits):
    wrong = run_main([*command(team, tmp_path, which), "--password-stdin"], stdin="not hers\n")
    assert wrong.returncode == 1
    assert wrong.stderr == "nursecase: error: wrong username or password\n"  # no prompt shown
    right = run_main([*command(team, tmp_path, which), "--password-stdin"], stdin=f"{PASSWORD}\n")
    assert right.returncode == 0, right.stderr
    assert right.stderr == ""
    if which == "export":
        assert "Quinn" in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")


def test_nurse_before_and_after_the_command_agree_and_beat_the_environment(team, tmp_path):
    """`nursecase --nurse X audit show` is `audit show --nurse X`; NURSECASE_NURSE acts, never
    filters, and a --nurse typed on either side of the command wins over it."""
    engine = make_engine(team)
    make_services(engine, SystemClock(), nurse="nina").patients.create("T-2", "Ada", "Ng")
    engine.dispose()
    before = run_main(["--db", str(team), "--nurse", "nina", "audit", "show"])
    after = run_main(["--db", str(team), "audit", "show", "--nurse", "nina"])
    assert before.returncode == 0, before.stderr
    assert before.stdout == after.stdout
    assert {line.split()[3] for line in before.stdout.splitlines()} == {"nina"}
    unfiltered = run_main(["--db", str(team), "audit", "show"], env={"NURSECASE_NURSE": "nina"})
    assert {line.split()[3] for line in unfiltered.stdout.splitlines()} > {"nina"}
    # Typed before the command, --nurse beats the environment's (which the command also reads).
    export = ["--db", str(team), "--nurse", "root", "export", "caseload", "--all", "--out", "-"]
    typed = run_main(
        [*export, "--password-stdin"], stdin=f"{PASSWORD}\n", env={"NURSECASE_NURSE": "nina"}
    )
    assert typed.returncode == 0, typed.stderr
    shown = run_main(["--db", str(team), "audit", "show", "--limit", "3"])
    assert [line.split()[3] for line in shown.stdout.splitlines()] == ["root"] * 3
