"""Inputs that used to end in "unexpected X", or were quietly accepted: one line each, exit != 0.

Run through ``nursecase.cli.main`` (the shell's entry point) on a private copy
of a migrated database.
"""

from __future__ import annotations

import pytest

from tests.cli.in_process import run_main

PASSWORD = "correct horse battery"


def run(argv: list[str], *, stdin: bytes = b"", env: dict | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``nursecase ARGV``."""
    finished = run_main(argv, stdin=stdin, env=env)
    return finished.returncode, finished.stdout, finished.stderr


@pytest.fixture
def database(database_path, tmp_path, monkeypatch):
    """A migrated database with one nurse, root, who has no password (the CLI runs open)."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))
    for variable in ("NURSECASE_DB", "NURSECASE_NURSE", "NURSECASE_KEY_FILE", "NURSECASE_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    assert (
        run(
            [
                "user",
                "add",
                "root",
                "--name",
                "Root",
                "--password-stdin",
                "--db",
                str(database_path),
            ],
            stdin=f"{PASSWORD}\n".encode(),
        )[0]
        == 0
    )
    return str(database_path)


def damage(path: str) -> None:
    """Overwrite pages in the middle of the file, as a failing disk would."""
    with open(path, "r+b") as handle:
        handle.seek(4096 * 3)
        handle.write(b"\xff" * 4096 * 6)


def assert_one_line(result, *fragments: str) -> None:
    code, _stdout, stderr = result
    assert code != 0, result
    assert stderr.count("\n") == 1 and stderr.startswith("nursecase: error: "), result
    assert "unexpected" not in stderr
    for fragment in fragments:
        assert fragment in stderr, result


@pytest.mark.parametrize(
    "command",
    [
        ["db", "check"],
        ["export", "caseload", "--nurse", "root", "--out", "-"],
        ["audit", "show"],
        ["user", "list"],
    ],
)
@pytest.mark.sqlite_only  # damages the SQLite file's pages
def test_a_damaged_database_is_named_as_such(database, command):
    damage(database)
    assert_one_line(run([*command, "--db", database]), "the database file is damaged")


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["audit", "show", "--db", ""], "--db: the value is empty"),
        (["audit", "show", "--db="], "--db: the value is empty"),
        (["export", "ccm", "--month", "", "--db", "{db}"], "--month: the value is empty"),
        (["audit", "show", "--db", "/tmp/bad\udcffname.db"], "is not valid UTF-8 text"),
        (
            ["export", "referrals", "--from", "0001-01-01", "--to", "2026-01-01", "--db", "{db}"],
            "the year must be between 1900 and 2100",
        ),
        (["export", "ccm", "--month", "9999-12", "--db", "{db}"], "between 1900 and 2100"),
        (["audit", "show", "--since", "0001-01-01", "--db", "{db}"], "between 1900 and 2100"),
        (["audit", "show", "--limit", str(10**20), "--db", "{db}"], "--limit"),
        (["audit", "show", "--nurse", "nobody", "--db", "{db}"], "--nurse: no nurse"),
        (["db", "copy", "--to", "~nobody-at-all/copy.db", "--db", "{db}"], "--to: ~nobody-at-all"),
    ],
)
def test_bad_option_values_are_one_line(database, arguments, fragment):
    argv = [part.replace("{db}", database) for part in arguments]
    assert_one_line(run(argv), fragment)


def test_password_stdin_that_is_not_utf8_is_one_line(database):
    result = run(
        ["user", "passwd", "root", "--password-stdin", "--db", database], stdin=b"\xff\xfe\n"
    )
    assert_one_line(result, "--password-stdin", "is not UTF-8 text")


def test_nursecase_home_that_is_a_file_is_refused(database, tmp_path):
    home = tmp_path / "home-file"
    home.write_text("not a folder\n")
    assert_one_line(run(["paths"], env={"NURSECASE_HOME": str(home)}), "is not a folder")


def test_a_text_file_is_not_a_nursecase_database(database, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello\n")
    key = tmp_path / "key"
    key.write_text("a long passphrase\n")
    key.chmod(0o600)
    encrypt = run(["db", "encrypt", "--db", str(text_file), "--key-file", str(key)])
    assert_one_line(encrypt, "is not a nursecase database")
    assert_one_line(run(["user", "list", "--db", str(text_file)]), "is not a nursecase database")


def test_an_unknown_revision_is_refused_without_a_backup(database, tmp_path):
    from sqlalchemy import text

    from nursecase.db.engine import make_engine

    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'zzz'"))
    engine.dispose()
    for _attempt in range(2):
        assert_one_line(run(["user", "list", "--db", database]), "not a nursecase database")
    backups = tmp_path / "home" / "backups"
    assert not backups.exists() or not any(backups.iterdir())
