"""``nursecase db copy --to URL`` and the backup of a server database.

The copy command is mounted here under ``db`` the way ``nursecase.cli`` mounts
it. A copy goes to a database of the other backend (see tests/db/test_copy.py).
"""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from nursecase.cli.db import backup_server_command, db_copy
from nursecase.db.engine import make_engine
from nursecase.db.maintenance import server_backup
from nursecase.services.audit_anchor import anchor_path
from tests.databases import query
from tests.db.test_copy import other_backend

PASSWORD = "s3cret-Word"


@pytest.fixture(autouse=True)
def no_database_variable(monkeypatch):
    monkeypatch.delenv("NURSECASE_DB", raising=False)


@pytest.fixture
def other_database(databases, tmp_path) -> Iterator[str]:
    """An empty migrated database of the other backend (skipped without a server, not in CI)."""
    with other_backend(databases.backend, tmp_path) as location:
        yield location


def command_app() -> typer.Typer:
    root = typer.Typer()
    group = typer.Typer()
    group.command("copy")(db_copy)

    @group.callback()
    def db() -> None:
        """Database maintenance."""

    root.add_typer(group, name="db")
    return root


def copy(source: str, target: str, *options: str):
    """Run ``db copy --to TARGET --db SOURCE``; the Click result."""
    return CliRunner().invoke(
        command_app(), ["db", "copy", "--to", target, "--db", source, *options]
    )


def with_password(location: str) -> str:
    """The location with a password in it when it is a URL (trust auth ignores it)."""
    if "://" not in location:
        return location
    return make_url(location).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.fixture
def source(services, database) -> str:
    """The test's database with two patients, a contact and their audit trail (keyed)."""
    first = services.patients.create("MRN-C1", "Copy", "Ada")
    services.patients.create("MRN-C2", "Copy", "Ben")
    services.contacts.log(first.id, datetime(2026, 11, 26, 10), "phone", "patient", "reached", 15)
    return database


def count_line(output: str, table: str) -> tuple[int, int, int]:
    match = re.search(rf"^{table}\s+(\d+)\s+(\d+)\s+(\d+)$", output, re.MULTILINE)
    assert match, output
    return tuple(int(number) for number in match.groups())


def key_of(location: str) -> Path:
    engine = make_engine(location)
    try:
        return anchor_path(engine)
    finally:
        engine.dispose()


def test_copy_prints_the_counts_carries_the_key_and_verifies_the_trail(source, other_database):
    result = copy(with_password(source), with_password(other_database))
    assert result.exit_code == 0, result.output
    assert count_line(result.stdout, "patient") == (2, 2, 0)
    assert count_line(result.stdout, "contact") == (1, 1, 0)
    events = query(source, "SELECT count(*) FROM audit_event")[0][0]
    assert count_line(result.stdout, "audit_event") == (events, events, 0)
    assert f"audit key: copied to {key_of(other_database)}" in result.stdout
    assert f"audit trail: verified in the target ({events} events)" in result.stdout
    assert stat.S_IMODE(key_of(other_database).stat().st_mode) == 0o600
    assert key_of(other_database).read_bytes() == key_of(source).read_bytes()
    assert query(other_database, "SELECT mrn FROM patient ORDER BY id") == [
        ("MRN-C1",),
        ("MRN-C2",),
    ]
    # A URL is shown without its password.
    assert PASSWORD not in result.output
    assert "***" in result.stdout


def test_copy_refuses_a_non_empty_target_in_one_line(source, other_database):
    assert copy(source, other_database).exit_code == 0
    again = copy(with_password(source), with_password(other_database))
    assert again.exit_code == 1
    assert again.stderr.startswith("nursecase: error: the target already holds 2 patients (")
    assert again.stderr.endswith("or add --merge-by-mrn to add only the patients it lacks\n")
    assert again.stderr.count("\n") == 1
    assert PASSWORD not in again.output
    assert query(other_database, "SELECT count(*) FROM patient") == [(2,)]


def test_merge_by_mrn_adds_the_patients_the_target_lacks(services, source, other_database):
    assert copy(source, other_database).exit_code == 0
    services.patients.create("MRN-C3", "Copy", "Cleo")
    result = copy(source, other_database, "--merge-by-mrn")
    assert result.exit_code == 0, result.output
    assert "(merge by MRN)" in result.stdout
    assert count_line(result.stdout, "patient") == (3, 1, 2)
    assert "patients: 1 merged, 2 skipped (their MRN was already in the target)" in result.stdout
    assert "audit trail: not merged" in result.stdout
    # The merge is in the target's own trail, which still verifies.
    assert "audit trail: the merge is recorded in the target's trail (" in result.stdout
    assert "audit trail: verified in the target (" in result.stdout
    assert query(
        other_database,
        "SELECT action, entity_id, changed_fields FROM audit_event WHERE entity = 'patient'"
        " AND changed_fields LIKE 'merge-by-mrn:%'",
    ) == [("create", None, "merge-by-mrn:1")]
    assert query(other_database, "SELECT mrn FROM patient ORDER BY id") == [
        ("MRN-C1",),
        ("MRN-C2",),
        ("MRN-C3",),
    ]


def test_copy_into_the_same_database_is_refused(source):
    result = copy(source, source)
    assert result.exit_code == 1
    assert result.stderr == (
        "nursecase: error: --to names the database being copied; give another database\n"
    )


# --- backup of a server database ------------------------------------------------


@pytest.fixture
def server_database(databases, source, other_database) -> str:
    """A PostgreSQL database holding the source's rows, and its audit key."""
    if databases.backend == "postgresql":
        return source
    assert copy(source, other_database).exit_code == 0
    return other_database


def test_backup_of_a_server_database_uses_pg_dump_with_the_password_hidden(
    server_database, tmp_path, monkeypatch, capsys
):
    calls = []
    real_run = subprocess.run

    def spy(arguments, **options):
        calls.append((arguments, options.get("env", {}).get("PGPASSWORD")))
        return real_run(arguments, **options)

    monkeypatch.setattr(server_backup.subprocess, "run", spy)
    destination = tmp_path / "backups" / "server.dump"
    backup_server_command(with_password(server_database), destination)
    output = capsys.readouterr().out
    assert "pg_dump custom format" in output and PASSWORD not in output
    assert destination.read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    key_copy = destination.with_name("server.dump.audit-key")
    assert key_copy.read_bytes() == key_of(server_database).read_bytes()
    assert stat.S_IMODE(key_copy.stat().st_mode) == 0o600
    ((arguments, password),) = calls
    assert password == PASSWORD
    assert not any(PASSWORD in argument for argument in arguments)
    assert "--format=custom" in arguments and "--no-owner" in arguments
    assert arguments[-1].startswith("postgresql://")


def hide_pg_dump(monkeypatch, folder: Path) -> None:
    """Make pg_dump unfindable: an empty PATH and no /usr/lib/postgresql programs."""
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(server_backup, "POSTGRESQL_PROGRAMS", str(folder / "none" / "pg_dump"))


def test_backup_without_pg_dump_makes_a_logical_copy(
    server_database, tmp_path, monkeypatch, capsys
):
    hide_pg_dump(monkeypatch, tmp_path)
    destination = tmp_path / "backups" / "server.db"
    backup_server_command(server_database, destination)
    assert "logical copy into an SQLite file (pg_dump was not found)" in capsys.readouterr().out
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    for table in ("patient", "contact", "audit_event"):
        statement = f"SELECT count(*) FROM {table}"
        assert query(str(destination), statement) == query(server_database, statement)


def fake_pg_dump(folder: Path, message: str) -> Path:
    """A pg_dump that writes half a file, says ``message`` and fails."""
    folder.mkdir(parents=True)
    program = folder / "pg_dump"
    program.write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do case "$argument" in --file=*) echo half > "${argument#--file=}";;'
        " esac; done\n"
        f"echo 'pg_dump: error: {message}' >&2\nexit 1\n"
    )
    program.chmod(0o700)
    return folder


def test_backup_falls_back_when_pg_dump_is_older_than_the_server(
    server_database, tmp_path, monkeypatch, capsys
):
    hide_pg_dump(monkeypatch, tmp_path)
    bin_folder = fake_pg_dump(tmp_path / "bin", "aborting because of server version mismatch")
    monkeypatch.setenv("PATH", str(bin_folder))
    destination = tmp_path / "backups" / "server.db"
    backup_server_command(server_database, destination)
    assert "(pg_dump is older than the server)" in capsys.readouterr().out
    statement = "SELECT count(*) FROM patient"
    assert query(str(destination), statement) == query(server_database, statement) == [(2,)]


def test_a_failed_backup_leaves_no_file_and_says_why_in_one_line(
    server_database, tmp_path, monkeypatch, capsys
):
    hide_pg_dump(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(fake_pg_dump(tmp_path / "bin", "connection refused")))
    destination = tmp_path / "backups" / "server.dump"
    with pytest.raises(typer.Exit) as stopped:
        backup_server_command(server_database, destination)
    assert stopped.value.exit_code == 1
    assert capsys.readouterr().err == ("nursecase: error: pg_dump failed: connection refused\n")
    assert not destination.exists()
    assert not destination.with_name("server.dump.audit-key").exists()
