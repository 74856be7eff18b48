"""`nursecase import fhir PATH...`: the command, its summary, its one-line errors.

The sub-app is mounted here on a small Typer app (CliRunner) and, for the real
error handling of ``nursecase.cli.main``, run through ``main`` in this process;
a real subprocess where only one will do: a terminal on stderr (the progress
bar) and what importing the command module loads.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nursecase.cli.import_ import import_app
from tests.cli.in_process import Finished, run_main
from tests.fhir_samples import SAMPLES, SYNTHEA, synthea_bundle

# The nursecase CLI's entry point.
MAIN = """
import sys
from nursecase.cli import main
main(sys.argv[1:])
"""

runner = CliRunner()


def command_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Stands in for the nursecase app."""

    app.add_typer(import_app, name="import")
    return app


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private data folder (the CLI reads NURSECASE_HOME) and no inherited options."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    return folder


def run(*arguments: str, password: str | None = None) -> Finished:
    """``nursecase ARGUMENTS`` through the real entry point in this process.

    ``password`` is typed at the hidden prompt (standard input, not a terminal).
    """
    return run_main(arguments, stdin="" if password is None else f"{password}\n")


def run_in_a_process(*arguments: str, stderr) -> subprocess.CompletedProcess:
    """``nursecase ARGUMENTS`` as a real process (stdout piped; ``stderr`` as given)."""
    return subprocess.run(
        [sys.executable, "-c", MAIN, *arguments],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if name != "alembic_version"
        ]
        return {
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in tables
        }


def test_import_the_synthea_folder_then_again_changes_nothing(home, tmp_path):
    database = tmp_path / "imp.db"
    arguments = ["import", "fhir", str(SYNTHEA), "--db", str(database)]

    first = runner.invoke(command_app(), arguments)

    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"Imported 4 of 4 files into {database} in ")
    assert "  patients           4 created, 0 updated, 0 unchanged" in lines
    assert "  conditions         8 created, 0 updated, 0 unchanged" in lines
    assert "  medications        7 created, 0 updated, 0 unchanged" in lines
    assert "  care team members  4 created, 0 updated, 0 unchanged" in lines
    assert "  care plans         3 created, 0 updated, 0 unchanged" in lines
    assert "  readings           48 created, 0 updated, 0 unchanged" in lines
    # Every Synthea encounter is of a class nursecase keeps (issue 21): none left out.
    assert "  encounters         24 created, 0 updated, 0 unchanged" in lines
    assert "  Observation (not a measure nursecase reads)  132" in lines
    assert "Not imported (resources nursecase does not use):" in lines
    assert "  Claim                                        31" in lines
    assert not any(line.startswith("  Encounter") for line in lines)
    counts = table_counts(database)
    assert counts["patient"] == 4 and counts["audit_event"] > 0

    second = runner.invoke(command_app(), arguments)

    assert second.exit_code == 0, second.output
    assert "  patients           0 created, 0 updated, 4 unchanged" in second.stdout
    assert "  readings           0 created, 0 updated, 48 unchanged" in second.stdout
    assert "  encounters         0 created, 0 updated, 24 unchanged" in second.stdout
    assert table_counts(database) == counts


def test_files_and_folders_mix_and_a_nurse_takes_the_patients(home, tmp_path):
    database = tmp_path / "imp.db"
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema

    engine = make_engine(database)
    ensure_schema(engine)
    engine.dispose()
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO nurse (username, display_name, credentials, active, created_at)"
            " VALUES ('alice', 'Alice Moreno', 'RN', 1, '2026-11-27 09:00:00')"
        )
    folder = tmp_path / "inbox"
    (folder / "deeper").mkdir(parents=True)
    liz = synthea_bundle("Liz_Conn")
    buster = synthea_bundle("Buster_Hoeger")
    shutil.copy(liz, folder / "deeper" / "liz.json")
    (folder / "notes.txt").write_text("not a bundle")

    result = runner.invoke(
        command_app(),
        ["import", "fhir", str(folder), str(buster), "--db", str(database), "--nurse", "alice"],
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 2 of 2 files")
    with sqlite3.connect(database) as connection:
        owners = connection.execute("SELECT DISTINCT nurse_id FROM patient").fetchall()
        alice = connection.execute("SELECT id FROM nurse WHERE username = 'alice'").fetchone()
    assert owners == [alice]


def test_an_imported_mrn_is_exported_as_written_and_named_without_its_hyphens(home, tmp_path):
    """Issue 19, item 4: Synthea's MRN as written in the exports, its patient named by the
    MRN with or without punctuation, and no score means "not-assessed", not "moderate"."""
    database = tmp_path / "imp.db"
    mrn = "ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423"
    nurse = ("--db", str(database), "--nurse", "alice")
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema

    engine = make_engine(database)
    ensure_schema(engine)
    engine.dispose()
    with sqlite3.connect(database) as connection:  # a nurse, passwords off
        connection.execute(
            "INSERT INTO nurse (username, display_name, credentials, active, created_at)"
            " VALUES ('alice', 'Alice Moreno', 'RN', 1, '2026-11-27 09:00:00')"
        )
    imported = run(*nurse, "import", "fhir", str(synthea_bundle("Buster_Hoeger")))
    assert imported.returncode == 0, imported.stderr

    caseload = run(*nurse, "export", "caseload", "-f", "json", "-o", "-")

    assert caseload.returncode == 0, caseload.stderr
    (row,) = json.loads(caseload.stdout)
    assert (row["mrn"], row["risk_tier"], row["risk_basis"]) == (mrn, "not-assessed", None)
    for named in ("ad2e3fc52b5d4cb98d039ea0f4ac8423", mrn.upper()):
        report = run(*nurse, "export", "patient", "--patient", named, "-f", "md", "-o", "-")
        assert report.returncode == 0, report.stderr
        assert mrn in report.stdout


def test_a_refused_file_is_one_line_and_the_other_files_still_import(home, tmp_path):
    database = tmp_path / "imp.db"
    bad = SAMPLES / "unresolved_subject.json"

    result = run("--db", str(database), "import", "fhir", str(SYNTHEA), str(bad))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"nursecase: error: {bad}: entry[1].resource.subject:"
        " does not resolve to a resource in this bundle"
    ]
    assert result.stdout.startswith("Imported 4 of 5 files")
    assert "; 1 refused" in result.stdout.splitlines()[0]
    assert "\x1b[" not in result.stdout + result.stderr  # piped: no progress bar
    counts = table_counts(database)
    assert counts["patient"] == 4


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("not_json.json", "not_json.json: line 4 column 1: is not JSON"),
        ("not_a_bundle.json", "not_a_bundle.json: resourceType: is Patient; expected Bundle"),
        (
            "unknown_patient_in_condition.json",
            "unknown_patient_in_condition.json: entry[2].resource.subject: names a patient",
        ),
    ],
)
def test_each_malformed_sample_is_one_line_and_writes_nothing(home, tmp_path, name, fragment):
    database = tmp_path / "imp.db"

    result = run("--db", str(database), "import", "fhir", str(SAMPLES / name))

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("nursecase: error: ") and fragment in line
    assert "Traceback" not in result.stderr
    counts = table_counts(database)
    assert counts["patient"] == 0 and counts["audit_event"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["import", "fhir", "/no/such/bundle.json"],
            "no such file or folder: /no/such/bundle.json",
        ),
        (["--nurse", "nobody", "import", "fhir", str(SYNTHEA)], "nurse: no nurse with username"),
    ],
)
def test_usage_errors_are_one_line(home, tmp_path, arguments, message):
    result = run("--db", str(tmp_path / "imp.db"), *arguments)

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("nursecase: error: ") and message in line


def test_a_folder_without_bundles_is_refused(home, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()

    result = run("--db", str(tmp_path / "imp.db"), "import", "fhir", str(empty))

    assert result.returncode == 1
    assert result.stderr == f"nursecase: error: no FHIR bundles (.json files) found in {empty}\n"


def test_a_terminal_gets_a_progress_bar_on_stderr(home, tmp_path):
    controller, terminal = pty.openpty()
    try:
        result = run_in_a_process(
            "--db", str(tmp_path / "imp.db"), "import", "fhir", str(SYNTHEA), stderr=terminal
        )
        os.close(terminal)
        drawn = b""
        while select.select([controller], [], [], 0.5)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side is closed: everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0
    assert "Importing FHIR bundles" in drawn.decode("utf-8", "replace")
    assert result.stdout.startswith("Imported 4 of 4 files")  # the summary stays plain


def test_the_command_module_loads_nothing_heavy():
    code = "import nursecase.cli.import_, sys; print('\\n'.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    for heavy in ("textual", "sqlalchemy", "sqlmodel", "alembic", "rich.progress"):
        assert heavy not in loaded, heavy


def test_with_passwords_on_an_import_needs_who_and_their_password(
    home, tmp_path, cheap_password_hashing, virtual_waits
):
    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.services import make_services

    database = tmp_path / "team.db"
    engine = make_engine(database)
    ensure_schema(engine)
    make_services(engine, SystemClock()).accounts.add("root", "Rita Root", "correct horse battery")
    engine.dispose()
    before = table_counts(database)["patient"]

    def importing(*options: str, password: str = "") -> Finished:
        return run(
            "--db", str(database), *options, "import", "fhir", str(SYNTHEA), password=password
        )

    nobody = importing()
    assert nobody.returncode != 0 and "say who you are with --nurse" in nobody.stderr
    wrong = importing("--nurse", "root", password="a wrong password")
    assert wrong.returncode != 0
    # The test runner's hidden prompt ends no line: the error follows it on stderr.
    assert wrong.stderr.endswith("nursecase: error: wrong username or password\n")
    assert virtual_waits.take() == [1.0]  # answered after the first delay
    assert table_counts(database)["patient"] == before
    right = importing("--nurse", "root", password="correct horse battery")
    assert right.returncode == 0, right.stderr
    assert table_counts(database)["patient"] == before + 4
