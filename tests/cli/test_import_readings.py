"""`nursecase import readings FILE.csv`: the summary in words, the refused rows, the exit code.

The rows themselves are tested in tests/services/test_reading_files.py; here the
command around them, mounted on a small Typer app (CliRunner).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from nursecase.cli.import_ import ROW_PROBLEMS_SHOWN, import_app

runner = CliRunner()


def command_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Stands in for the nursecase app."""

    app.add_typer(import_app, name="import")
    return app


pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def database(services, database_path, monkeypatch):
    """The migrated test database holding one patient, HF-1, and no inherited options."""
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    services.patients.create("HF-1", "Heart", "Ann")
    return database_path


def readings_count(path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM reading").fetchone()[0]


def weights(days: int) -> str:
    """Weights of HF-1 on the mornings before yesterday's, one a day, the same each day.

    The command runs on the system clock: the times are in its past.
    """
    start = datetime.now().replace(hour=7, minute=0, second=0, microsecond=0) - timedelta(days=1)
    return "".join(
        f"HF-1,29463-7,80.0,kg,{(start - timedelta(days=day)).isoformat()}\n" for day in range(days)
    )


def test_a_file_of_good_rows_is_imported_then_a_second_time_changes_nothing(database, tmp_path):
    csv_file = tmp_path / "vendor.csv"
    csv_file.write_text("mrn,code,value,unit,time\n" + weights(3))
    arguments = ["import", "readings", str(csv_file), "--db", str(database)]

    first = runner.invoke(command_app(), arguments)

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"Imported vendor.csv into {database} in ")
    assert first.stdout.rstrip().endswith(": 3 readings added, 0 already on file, 0 alerts opened.")

    second = runner.invoke(command_app(), arguments)

    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[1:] == [
        "Nothing changed: every reading in the file was already on file."
    ]
    assert ": 0 readings added, 3 already on file, 0 alerts opened." in second.stdout
    assert readings_count(database) == 3


def test_refused_rows_are_listed_up_to_a_limit_and_the_exit_code_is_1(database, tmp_path):
    bad = "".join(f"X-{number},29463-7,80,kg,2026-11-01T07:00\n" for number in range(52))
    csv_file = tmp_path / "vendor.csv"
    csv_file.write_text("MRN,Code,Value,Unit,Time\n" + weights(1) + bad)

    result = runner.invoke(
        command_app(), ["import", "readings", str(csv_file), "--db", str(database)]
    )

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith(
        ": 1 reading added, 0 already on file, 0 alerts opened; 52 rows not imported:"
    )
    assert lines[1] == "  line 3: no patient with MRN X-0"
    assert len(lines) == 1 + ROW_PROBLEMS_SHOWN + 1
    assert lines[-1] == "  and 2 more"
    assert readings_count(database) == 1


def test_a_file_that_cannot_be_read_is_one_line_and_nothing_is_imported(database, tmp_path):
    csv_file = tmp_path / "vendor.csv"
    csv_file.write_bytes(b"mrn,code,value,unit\nHF-1,29463-7,80,kg\n")

    result = runner.invoke(
        command_app(), ["import", "readings", str(csv_file), "--db", str(database)]
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f'nursecase: error: {csv_file}: no "time" column (the first line must name the columns'
        " mrn,code,value,unit,time, in any order); nothing was imported"
    )
    assert readings_count(database) == 0


def test_help_says_when_the_exit_code_is_1():
    result = runner.invoke(command_app(), ["import", "readings", "--help"])

    assert result.exit_code == 0
    assert "any row was refused" in " ".join(result.stdout.split())
