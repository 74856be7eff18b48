"""`nursecase adt import|status`, and `adt listen`'s refusals: the commands around the ADT inbox.

What each message does is tested in tests/services/test_adt_inbox.py; here the
commands, mounted on a small Typer app (CliRunner), on the sample messages of
tests/data/hl7 (Harold Lindqvist, MRN-ADT-0001). The listener itself, over
MLLP and through a SIGKILL, is tests/e2e/test_adt_listener.py.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nursecase.cli.adt import adt_app, decoded

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "hl7"

runner = CliRunner()

pytestmark = pytest.mark.sqlite_only


def command_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Stands in for the nursecase app."""

    app.add_typer(adt_app, name="adt")
    return app


@pytest.fixture
def database(services, database_path, monkeypatch):
    """The migrated test database holding Harold (the samples' patient); no inherited options."""
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    services.patients.create("MRN-ADT-0001", "Lindqvist", "Harold", birth_date="1948-03-12")
    return database_path


def statuses(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT control_id, status FROM adt_message ORDER BY id"
        ).fetchall()


def count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_files_are_filed_and_applied_once_an_unknown_mrn_waits_a_bad_file_is_named(
    database, tmp_path
):
    files = [SAMPLES / "a01_admit.hl7", SAMPLES / "a08_update.hl7", SAMPLES / "unknown_mrn.hl7"]
    arguments = ["adt", "import", *map(str, files), "--db", str(database)]

    first = runner.invoke(command_app(), arguments)

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "a01_admit.hl7: 1 message received; 1 applied, 0 unmatched, 0 not acted on, 0 errors",
        "a08_update.hl7: 1 message received; 1 applied, 0 unmatched, 0 not acted on, 0 errors",
        "unknown_mrn.hl7: 1 message received; 0 applied, 1 unmatched, 0 not acted on, 0 errors",
    ]
    assert [status for _control_id, status in statuses(database)] == [
        "applied",
        "applied",
        "unmatched",
    ]
    assert count(database, "encounter") == 1
    audit_events = count(database, "audit_event")

    # Again: every message is a repeat; nothing is filed, applied or audited a second time.
    again = runner.invoke(command_app(), arguments)

    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == (
        "a01_admit.hl7: 1 message received (1 already in the inbox);"
        " 0 applied, 0 unmatched, 0 not acted on, 0 errors"
    )
    assert len(statuses(database)) == 3
    assert (count(database, "encounter"), count(database, "audit_event")) == (1, audit_events)

    # A refused message is named by its place in the file, with the reason (no content);
    # a missing file is one line; the good message after the bad one is still applied.
    mixed = tmp_path / "mixed.hl7"
    mixed.write_bytes(
        (SAMPLES / "malformed.hl7").read_bytes() + (SAMPLES / "a11_cancel_admit.hl7").read_bytes()
    )
    missing = tmp_path / "missing.hl7"
    bad = runner.invoke(
        command_app(), ["adt", "import", str(mixed), str(missing), "--db", str(database)]
    )

    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [
        "mixed.hl7: 2 messages received; 1 applied, 0 unmatched, 0 not acted on, 1 error",
        "  message 1: refused (AR): MSH-10 message control id is missing",
    ]
    assert bad.stderr == f"nursecase: error: no such file: {missing}\n"
    assert "Lindqvist" not in bad.output and "MRN-ADT-0001" not in bad.output


def test_status_shows_the_inbox_in_words_and_as_json(database):
    runner.invoke(
        command_app(),
        [
            "adt",
            "import",
            str(SAMPLES / "unknown_mrn.hl7"),
            str(SAMPLES / "a04_clinic.hl7"),
            "--db",
            str(database),
        ],
    )

    shown = runner.invoke(command_app(), ["adt", "status", "--db", str(database)])

    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == f"ADT inbox of {database}"
    assert [line.split()[0] for line in lines[1:8]] == [
        "Received",
        "Applied",
        "Unmatched",
        "Error",
        "Dismissed",
        "Not",
        "Total",
    ]
    assert lines[3] == "  Unmatched           1  waiting for a nurse to match or dismiss"
    assert lines[6].split()[-1] == "1"  # the clinic visit: not acted on
    assert lines[8].startswith("Last message received ")
    assert "unmatched" not in shown.stdout  # words on screen, never codes

    as_json = runner.invoke(command_app(), ["adt", "status", "--db", str(database), "--json"])

    document = json.loads(as_json.stdout)
    assert document["counts"] == {
        "received": 0,
        "applied": 0,
        "unmatched": 1,
        "error": 0,
        "dismissed": 0,
        "ignored": 1,
    }
    assert document["total"] == 2 and document["last_received_at"]


def test_listen_refuses_a_port_in_use_and_an_address_not_ours_in_one_line(database):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = runner.invoke(
            command_app(), ["adt", "listen", "--port", str(port), "--db", str(database)]
        )
    assert in_use.exit_code == 1
    assert in_use.stderr == (
        f"nursecase: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never this machine's address, and no name to look up.
    elsewhere = runner.invoke(
        command_app(), ["adt", "listen", "--host", "192.0.2.1", "--db", str(database)]
    )
    assert elsewhere.exit_code == 1
    assert elsewhere.stderr.startswith("nursecase: error: cannot listen on 192.0.2.1:2575: ")
    assert elsewhere.stderr.count("\n") == 1


def test_message_bytes_are_read_as_utf8_else_latin1():
    assert decoded("Zoë".encode()) == ("Zoë", "utf-8")
    assert decoded("Zoë".encode("latin-1")) == ("Zoë", "latin-1")
