"""Names and quoted input with control characters reach the terminal escaped, never obeyed.

They are stored as given (the database keeps the ESC and the BEL); every line
the CLI prints passes through ``cli.runtime.echo``, which shows them as
visible stand-ins.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest

from nursecase.cli import main
from tests.databases import query

HOSTILE_NAME = "Eve\x1b[2J\x1b]0;owned\x07 \u202eEvil\x9b"
#: A raw control byte a terminal would obey (C0 except newline, DEL, C1, bidi overrides).
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


PASSWORD = "correct horse battery"


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run(database_path, tmp_path, monkeypatch, capsys):
    """Run ``nursecase ARGS --db DATABASE`` through main(), as the shell does."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)

    def invoke(*arguments: str, input: str = "") -> Outcome:
        monkeypatch.setattr("sys.stdin", io.StringIO(input))
        capsys.readouterr()
        try:
            main([*arguments, "--db", str(database_path)])
            code = 0
        except SystemExit as exit_request:
            code = exit_request.code or 0
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


def test_a_hostile_display_name_is_stored_as_given_and_printed_escaped(run, database_path):
    added = run(
        "user", "add", "eve", "--name", HOSTILE_NAME, "--password-stdin", input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    listed = run("user", "list")
    assert listed.exit_code == 0, listed.output
    shown = added.output + listed.output
    assert not RAW_CONTROL.search(shown), repr(shown)
    assert "Eve␛[2J␛]0;owned␇ \\u202eEvil\\x9b" in listed.stdout
    stored = query(str(database_path), "SELECT display_name FROM nurse WHERE username = 'eve'")
    assert stored == [(HOSTILE_NAME,)]


def test_audit_show_and_its_errors_quote_input_escaped(run):
    added = run("user", "add", "eve", "--name", HOSTILE_NAME, "--password-stdin", input=PASSWORD)
    assert added.exit_code == 0, added.output
    shown = run("audit", "show")
    assert shown.exit_code == 0, shown.output
    refused = run("audit", "show", "--nurse", "eve\x1b[31m\x07")
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1 and "eve␛[31m␇" in refused.stderr
    assert not RAW_CONTROL.search(shown.output + refused.output)


def test_a_report_streamed_onto_a_terminal_shows_control_characters():
    from nursecase.cli.runtime import TerminalSafeStream

    raw = io.BytesIO()
    stream = TerminalSafeStream(raw)
    name = "Zoë\x1b[2J\x07".encode()
    # A character split across two writes stays whole; CSV's CRLF ends become LF.
    stream.write(b"mrn,family\r\nS-1," + name[:3])
    stream.write(name[3:] + b"\r\n")
    stream.flush()
    assert raw.getvalue().decode() == "mrn,family\nS-1,Zoë␛[2J␇\n"


@pytest.mark.sqlite_only  # the terminal half is the same on either backend
def test_export_to_a_terminal_is_shown_safely_and_a_pdf_is_refused(database_path, clock, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    from nursecase.db.engine import make_engine
    from nursecase.services import make_services

    engine = make_engine(str(database_path))
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN")
    services.nurses.sign_in("alice")
    services.patients.create("MRN-1", HOSTILE_NAME, "Ana", birth_date="1950-01-02")
    engine.dispose()

    def on_a_terminal(file_format: str) -> tuple[int, bytes]:
        leader, follower = pty.openpty()
        environment = dict(os.environ, NURSECASE_HOME=str(tmp_path / "home"))
        environment["PYTHONPATH"] = os.pathsep.join(sys.path)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "nursecase", "--db", str(database_path)]
                + ["--nurse", "alice", "export", "caseload", "--all"]
                + ["--format", file_format, "--out", "-"],
                stdin=subprocess.DEVNULL,
                stdout=follower,
                stderr=subprocess.STDOUT,
                env=environment,
            )
            os.close(follower)
            shown = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                shown += chunk
            return process.wait(timeout=120), shown
        finally:
            os.close(leader)

    code, shown = on_a_terminal("csv")
    assert code == 0, shown
    text = shown.decode("utf-8", "replace")
    assert "Eve␛[2J␛]0;owned␇" in text
    assert not RAW_CONTROL.search(text.replace("\r", "")), repr(text)
    code, shown = on_a_terminal("pdf")
    assert code == 1
    assert b"a PDF is not text" in shown and b"%PDF" not in shown
