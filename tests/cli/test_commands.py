"""The command line: every command, its options before and after it, its errors."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from nursecase import __version__
from nursecase.cli import app, main
from tests.cli.in_process import Finished, run_main

runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private data folder for the command (the CLI reads NURSECASE_HOME)."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    return folder


def run(*arguments: str) -> Finished:
    """``nursecase ARGUMENTS`` through the real entry point in this process (NURSECASE_HOME
    from ``home``)."""
    return run_main(arguments)


def run_in_a_process(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real ``python -m nursecase`` in a subprocess, as a terminal would run it.

    For what would open the Textual app were it not refused: in this process a
    missed refusal would hang the suite instead of failing a test.
    """
    return subprocess.run(
        [sys.executable, "-m", "nursecase", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def assert_one_line_error(result: Finished | subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nursecase: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"nursecase {__version__}"


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "seed", "db", "paths"):
        assert command in result.stdout


def test_paths_follow_nursecase_home(home):
    result = runner.invoke(app, ["paths"])
    assert result.exit_code == 0
    assert f"data folder:  {home}" in result.stdout
    assert f"database:     {home / 'nursecase.db'}" in result.stdout
    assert not home.exists()  # showing paths creates nothing


def test_paths_show_nursecase_db(home, monkeypatch, tmp_path):
    monkeypatch.setenv("NURSECASE_DB", str(tmp_path / "elsewhere.db"))
    result = runner.invoke(app, ["paths"])
    assert f"database:     {tmp_path / 'elsewhere.db'}" in result.stdout


def test_seed_then_check(home, tmp_path):
    database = tmp_path / "seeded.db"
    result = runner.invoke(app, ["seed", "--db", str(database), "--patients", "40", "--seed", "3"])
    assert result.exit_code == 0, result.stdout
    assert "Seeded 40 patients" in result.stdout
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM patient").fetchone() == (40,)
    check = runner.invoke(app, ["--db", str(database), "db", "check"])
    assert check.exit_code == 0
    assert check.stdout.strip() == "ok"


def test_db_option_works_before_and_after_the_command(home, tmp_path):
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    assert runner.invoke(app, ["--db", str(before), "seed", "--patients", "5"]).exit_code == 0
    assert runner.invoke(app, ["seed", "--patients", "5", "--db", str(after)]).exit_code == 0
    for database in (before, after):
        with sqlite3.connect(database) as connection:
            assert connection.execute("SELECT count(*) FROM patient").fetchone() == (5,)


def test_nursecase_db_environment_names_the_database(home, tmp_path, monkeypatch):
    database = tmp_path / "from-env.db"
    monkeypatch.setenv("NURSECASE_DB", str(database))
    assert runner.invoke(app, ["seed", "--patients", "3"]).exit_code == 0
    assert database.exists()


def test_seed_refuses_a_database_with_patients(home, tmp_path):
    database = tmp_path / "full.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "3"]).exit_code == 0
    result = run("seed", "--db", str(database), "--patients", "3")
    assert_one_line_error(result, "already holds 3 patients")


def test_db_upgrade_creates_then_reports_current(home, tmp_path):
    database = tmp_path / "new.db"
    first = runner.invoke(app, ["db", "upgrade", "--db", str(database)])
    assert first.exit_code == 0 and "Upgraded" in first.stdout
    second = runner.invoke(app, ["db", "upgrade", "--db", str(database)])
    assert second.exit_code == 0 and "Already at the current schema" in second.stdout


def test_db_backup_copies_a_live_database(home, tmp_path):
    database, copy = tmp_path / "live.db", tmp_path / "copies" / "copy.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "4"]).exit_code == 0
    result = runner.invoke(app, ["db", "backup", str(copy), "--db", str(database)])
    assert result.exit_code == 0, result.stdout
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM patient").fetchone() == (4,)
    again = run("db", "backup", str(copy), "--db", str(database))
    assert_one_line_error(again, "already exists")


def test_db_check_reports_a_damaged_database(home, tmp_path):
    database = tmp_path / "damaged.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "4"]).exit_code == 0
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("UPDATE contact SET patient_id = 999999")
    result = run("db", "check", "--db", str(database))
    assert result.returncode == 1
    assert "rows refer to missing rows" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["seed", "--patients", "abc"], "--patients"),
        (["seed", "--patients", "0"], "--patients"),
        (["seed", "--seed", "x"], "--seed"),
        (["bogus"], "No such command"),
        (["--db"], "--db"),
        (["db", "backup"], "destination"),
        (["db", "check", "--db", "/nonexistent/folder/x.db"], "no database at"),
        (["db", "upgrade", "--db", "notadialect://nowhere"], "no database driver"),
        # A server backup runs pg_dump; one that cannot reach the server says so.
        (
            ["db", "backup", "copy.db", "--db", "postgresql://nurse@127.0.0.1:9/x"],
            'connection to server at "127.0.0.1", port 9 failed',
        ),
        (["--db", "/proc/forbidden/x.db", "seed"], "cannot create the data folder"),
    ],
)
def test_bad_values_give_one_clear_line(home, arguments, fragment, tmp_path):
    result = run(*arguments)
    assert_one_line_error(result, fragment)


def test_a_bad_value_for_the_app_is_one_clear_line_in_a_real_process(home):
    result = run_in_a_process("demo", "--patients", "-4", env={"NURSECASE_HOME": str(home)})
    assert_one_line_error(result, "--patients")


def test_unknown_nurse_is_refused_before_the_app_starts(home, tmp_path):
    database = tmp_path / "nurses.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "3"]).exit_code == 0
    result = run_in_a_process(
        "--db", str(database), "--nurse", "nobody", env={"NURSECASE_HOME": str(home)}
    )
    assert_one_line_error(result, "nurse", "nobody")


def test_main_returns_usage_errors_as_exit_code_two(home, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["seed", "--patients", "nope"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("nursecase: error: ")


def test_every_command_runs_with_a_private_umask(tmp_path):
    """Whatever nursecase writes without an explicit mode is still its user's alone."""
    script = (
        "import os, sys\n"
        "from nursecase import cli\n"
        "try:\n"
        "    cli.main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "with open(sys.argv[1], 'w') as written:\n"
        "    written.write('x')\n"
        "print(oct(os.stat(sys.argv[1]).st_mode & 0o777))\n"
    )
    target = tmp_path / "made-after-main.txt"
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "0o600", result.stderr


def test_with_passwords_on_nurse_only_fills_in_the_login(tmp_path, monkeypatch):
    """`nursecase --nurse root` must not sign anyone in once accounts have passwords."""
    import nursecase.app
    from nursecase.cli.launch import launch
    from nursecase.cli.runtime import CommandState
    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.services import make_services

    database = tmp_path / "team.db"
    engine = make_engine(database)
    ensure_schema(engine)
    make_services(engine, SystemClock()).accounts.add("root", "Rita Root", "correct horse battery")
    engine.dispose()
    launched = []

    class Recorder:
        def __init__(self, services, settings, login_username):
            launched.append((services.context.nurse_id, login_username))

        def run(self):
            pass

    monkeypatch.setattr(nursecase.app, "make_app", Recorder)
    launch(CommandState(str(database), "root"), demo=False)
    assert launched == [(None, "root")]


def test_seed_again_is_refused_naming_add_and_add_adds_patients(home, tmp_path):
    database = tmp_path / "twice.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "3"]).exit_code == 0
    again = run("seed", "--db", str(database), "--patients", "2")
    assert_one_line_error(again, "already holds 3 patients", "give --add to add patients")
    added = runner.invoke(app, ["seed", "--db", str(database), "--patients", "2", "--add"])
    assert added.exit_code == 0, added.output
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(DISTINCT mrn) FROM patient").fetchone() == (5,)


def test_demo_says_where_it_lives_and_exports_beside_it(home, monkeypatch):
    """Printed before the app (so still there after quit); exports never in the real folder;
    `paths` on the demo's database says the same; all of it is gone at quit."""
    import nursecase.app

    seen = {}

    class Recorder:
        def __init__(self, services, settings, login_username):
            seen["exports"] = settings.exports_folder

        def run(self):
            database = str(seen["exports"].parent / "demo.db")
            seen["paths"] = runner.invoke(app, ["--db", database, "paths"]).stdout
            export = ["export", "caseload", "--all", "--nurse", "amoreno", "--db", database]
            seen["export"] = runner.invoke(app, export)

    monkeypatch.setattr(nursecase.app, "make_app", Recorder)
    # The real database (perhaps a clinic's server) is never the demo's.
    monkeypatch.setenv("NURSECASE_DB", str(home / "real.db"))
    result = runner.invoke(app, ["demo", "--patients", "3"])
    assert result.exit_code == 0, result.output
    folder = seen["exports"].parent
    assert folder.name.startswith("nursecase-demo-") and seen["exports"].name == "demo-exports"
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        f"Demo database: {folder / 'demo.db'}",
        "               synthetic patients only; removed, with its exports, when the demo quits",
        f"Demo exports:  {seen['exports']}",
        "               removed when the demo quits: copy out any file to keep before quitting",
    ]
    assert lines[-1] == f"Removed the demo database and its exports ({folder})."
    assert f"database:     {folder / 'demo.db'}\n" in seen["paths"]
    assert "a demo database (synthetic patients): removed when its demo quits" in seen["paths"]
    assert f"exports:      {seen['exports']}\n" in seen["paths"]
    assert seen["export"].exit_code == 0, seen["export"].output
    assert f"to {seen['exports'] / 'caseload-'}" in seen["export"].stdout
    assert not folder.exists() and not home.exists()


def test_db_backup_records_who_made_it_and_where(home, tmp_path):
    """An export of the whole database: who (nurse and system account) and where, no PHI."""
    database, copy = tmp_path / "live.db", tmp_path / "copies" / "copy, 1.db"
    assert runner.invoke(app, ["seed", "--db", str(database), "--patients", "3"]).exit_code == 0
    result = run("--nurse", "amoreno", "db", "backup", str(copy), "--db", str(database))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT e.id, n.username, e.action, e.entity, e.entity_id, e.changed_fields"
            " FROM audit_event e LEFT JOIN nurse n ON n.id = e.nurse_id"
            " WHERE e.entity = 'backup' ORDER BY e.id"
        ).fetchall()
    (start, *started), (_, *finished) = rows
    assert started[:4] == ["amoreno", "export", "backup", None]
    assert f"to:{tmp_path}/copies/copy%2C 1.db" in started[4].split(",")
    assert any(field.startswith("system-account:") for field in started[4].split(","))
    assert finished == [
        "amoreno",
        "export-finished",
        "backup",
        None,
        f"outcome:completed,start:{start}",
    ]
    assert result.stdout.splitlines()[-1] == f"The audit trail records the backup: event {start}"
    shown = run("audit", "show", "--db", str(database), "--limit", "2").stdout
    assert f"to:{copy}]" in shown.splitlines()[1]
    refused = run("db", "backup", str(tmp_path / "x.db"), "--db", str(database), "--nurse", "zed")
    assert_one_line_error(refused, "--nurse: no nurse with username 'zed'")
    assert not (tmp_path / "x.db").exists()
