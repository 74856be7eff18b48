"""``nursecase db encrypt|decrypt`` and every command on an encrypted database."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from nursecase.cli import main
from nursecase.db import encryption, key_source
from nursecase.db.encryption import is_encrypted
from nursecase.db.engine import make_engine
from nursecase.db.locations import salt_file
from nursecase.services import make_services

# SQLCipher encrypts an SQLite file; a server encrypts its disk and its connections.
pytestmark = pytest.mark.sqlite_only

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A private data folder, no key from the environment, no terminal, no remembered key."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    for name in ("NURSECASE_DB", "NURSECASE_NURSE", key_source.KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    encryption.forget_keys()
    yield folder
    key_source.choose_key_file(None)
    key_source.choose_prompt(None)
    encryption.forget_keys()


def private_file(path, content: str):
    path.write_text(content)
    path.chmod(0o600)
    return path


@pytest.fixture
def key_file(tmp_path):
    return private_file(tmp_path / "pass.key", PASSPHRASE + "\n")


@pytest.fixture
def wrong_key_file(tmp_path):
    return private_file(tmp_path / "wrong.key", "a different passphrase\n")


@pytest.fixture
def database(database_path, clock):
    """The migrated test database with one nurse (alice) and one patient, closed."""
    engine = make_engine(database_path)
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN")
    services.nurses.sign_in("alice")
    services.patients.create("MRN-1", "Moreno", "Ana", birth_date="1950-01-02")
    engine.dispose()
    return database_path


def cli(capsys, *arguments: str) -> tuple[int, str, str]:
    """Run ``nursecase ARGUMENTS`` in this process: (exit code, stdout, stderr)."""
    encryption.forget_keys()  # each command is a new process in real life
    try:
        main(list(arguments))
        code = 0
    except SystemExit as exit_request:
        code = exit_request.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nursecase: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def plain_sqlite_refuses(path) -> bool:
    try:
        sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        return "file is not a database" in str(error)
    return False


@pytest.fixture
def encrypted(database, key_file, capsys):
    code, out, err = cli(
        capsys, "db", "encrypt", "--db", str(database), "--key-file", str(key_file)
    )
    assert code == 0, err
    assert "Encrypted" in out
    return database


def test_encrypt_then_decrypt_from_the_command_line(encrypted, key_file, capsys):
    assert is_encrypted(encrypted)
    assert plain_sqlite_refuses(encrypted)
    assert stat.S_IMODE(salt_file(encrypted).stat().st_mode) == 0o600

    code, out, err = cli(
        capsys, "db", "decrypt", "--db", str(encrypted), "--key-file", str(key_file)
    )

    assert code == 0, err
    assert not is_encrypted(encrypted)
    with sqlite3.connect(encrypted) as connection:
        assert connection.execute("SELECT family_name FROM patient").fetchone() == ("Moreno",)
    connection.close()


def test_the_key_file_works_as_option_and_as_environment(encrypted, key_file, capsys, monkeypatch):
    code, out, err = cli(capsys, "--key-file", str(key_file), "db", "check", "--db", str(encrypted))
    assert (code, out.strip()) == (0, "ok"), err

    monkeypatch.setenv(key_source.KEY_FILE_ENV, str(key_file))
    code, out, err = cli(capsys, "db", "check", "--db", str(encrypted))
    assert (code, out.strip()) == (0, "ok"), err


def test_a_wrong_key_is_one_clear_line(encrypted, wrong_key_file, capsys):
    code, _, err = cli(
        capsys, "--key-file", str(wrong_key_file), "user", "list", "--db", str(encrypted)
    )
    assert_one_line_error(code, err, "wrong passphrase", str(encrypted))

    code, _, err = cli(
        capsys, "db", "decrypt", "--db", str(encrypted), "--key-file", str(wrong_key_file)
    )
    assert_one_line_error(code, err, "wrong passphrase")
    assert is_encrypted(encrypted)


def test_no_key_and_no_terminal_is_one_clear_line(encrypted):
    result = subprocess.run(
        [sys.executable, "-m", "nursecase", "audit", "verify", "--db", str(encrypted)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != key_source.KEY_FILE_ENV},
        timeout=120,
    )
    assert_one_line_error(
        result.returncode, result.stderr, "is encrypted", "--key-file PATH or NURSECASE_KEY_FILE"
    )


class Terminal(io.StringIO):
    """Standard input that is a terminal: the CLI may ask there."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A terminal whose hidden prompt answers from ``answers`` and records what it asked."""
    asked: list[str] = []
    answers: list[str] = []

    def getpass(prompt: str = "Password: ") -> str:
        asked.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr("getpass.getpass", getpass)
    return asked, answers


def test_on_a_terminal_the_passphrase_is_asked_hidden_and_a_wrong_one_is_one_line(
    encrypted, terminal, capsys
):
    asked, answers = terminal
    answers.extend([PASSPHRASE, "a different passphrase"])

    code, out, err = cli(capsys, "user", "list", "--db", str(encrypted))
    assert code == 0 and "alice" in out, err
    code, _, err = cli(capsys, "user", "list", "--db", str(encrypted))
    assert_one_line_error(code, err, "wrong passphrase", str(encrypted))

    assert asked == [f"Passphrase for {encrypted}: "] * 2


def test_the_app_is_launched_after_the_passphrase_is_asked(
    encrypted, terminal, capsys, monkeypatch
):
    import nursecase.app

    asked, answers = terminal
    answers.append(PASSPHRASE)
    launched: list[list[str]] = []

    class App:
        def run(self) -> None:
            launched.append(list(asked))

    monkeypatch.setattr(nursecase.app, "make_app", lambda *_arguments: App())
    code, _, err = cli(capsys, "--db", str(encrypted))

    assert code == 0, err
    assert launched == [[f"Passphrase for {encrypted}: "]]


def test_commands_work_the_same_on_an_encrypted_database(encrypted, key_file, tmp_path, capsys):
    with_key = ("--key-file", str(key_file))
    db = ("--db", str(encrypted))

    code, out, err = cli(capsys, *with_key, "user", "list", *db)
    assert code == 0 and "alice" in out, err
    code, out, err = cli(capsys, *with_key, "audit", "verify", *db)
    assert code == 0 and out.startswith("ok"), err
    code, out, err = cli(capsys, *with_key, "db", "upgrade", *db)
    assert code == 0 and "Already at the current schema" in out, err
    csv = tmp_path / "caseload.csv"
    code, out, err = cli(
        capsys, *with_key, "export", "caseload", "--all", "--nurse", "alice", "--out", str(csv), *db
    )
    assert code == 0, err
    assert "Moreno" in csv.read_text()
    assert is_encrypted(encrypted)


def test_a_backup_of_an_encrypted_database_stays_encrypted(encrypted, key_file, tmp_path, capsys):
    copy = tmp_path / "copy.db"
    code, out, err = cli(
        capsys, "--key-file", str(key_file), "db", "backup", str(copy), "--db", str(encrypted)
    )

    assert code == 0, err
    assert plain_sqlite_refuses(copy)
    code, out, err = cli(capsys, "--key-file", str(key_file), "db", "check", "--db", str(copy))
    assert (code, out.strip()) == (0, "ok"), err


def test_encrypt_refuses_a_short_passphrase_and_a_missing_one(database, tmp_path, capsys):
    short = private_file(tmp_path / "short.key", "abc\n")
    code, _, err = cli(capsys, "db", "encrypt", "--db", str(database), "--key-file", str(short))
    assert_one_line_error(code, err, "at least 8 characters")

    code, _, err = cli(capsys, "db", "encrypt", "--db", str(database))
    assert_one_line_error(code, err, "no passphrase", "--key-file")
    assert not is_encrypted(database)
    assert not plain_sqlite_refuses(database)


def test_decrypting_a_plain_database_is_refused(database, key_file, capsys):
    code, _, err = cli(capsys, "db", "decrypt", "--db", str(database), "--key-file", str(key_file))
    assert_one_line_error(code, err, "is not encrypted")


def test_a_backup_with_a_wrong_key_is_one_line_and_leaves_no_file(
    encrypted, wrong_key_file, tmp_path, capsys
):
    copy = tmp_path / "copy.db"
    code, _, err = cli(
        capsys, "--key-file", str(wrong_key_file), "db", "backup", str(copy), "--db", str(encrypted)
    )
    assert_one_line_error(code, err, "wrong passphrase")
    assert not copy.exists()
    assert not salt_file(copy).exists()
