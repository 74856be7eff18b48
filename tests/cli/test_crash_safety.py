"""A real ``python -m nursecase`` killed with SIGKILL during encrypt, decrypt and backup.

Issue 17 items 2 and 3: after a kill at any point the database opens (with or
without the key), no clear-text copy of it is left unnamed (the next command
names it and ``db check`` reports it), and a backup under its final name is
complete or absent.

Two ways to kill: polling for a file to appear (works on any version: this is
what failed before the fix), and the documented test seam NURSECASE_CRASH_AT
(``nursecase.files.crash_point``), which stops a command exactly between two
steps.

Only the command that is killed runs as a real process (about a second of
imports each): what follows a kill (the next command, ``db check``) runs in
this process through ``nursecase.cli.main``, the entry point a terminal calls.
Only the polling tests need a large database (a window to kill in); a database
encrypted as a test's starting point is encrypted here with cheap Argon2 costs
(``encrypt_database(costs=...)``, stored in its salt file), so every later
command derives its key cheaply. The product's default costs are untouched and
still paid by every ``db encrypt`` a test kills.
"""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nursecase
from nursecase.cli import main
from nursecase.db import encryption, key_source
from nursecase.db.encryption import (
    connect_encrypted,
    derive_key,
    is_encrypted,
    read_parameters,
)
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.conversion import encrypt_database
from nursecase.services import make_services

pytestmark = pytest.mark.sqlite_only

PASSPHRASE = "correct horse battery staple"
SOURCE = str(Path(nursecase.__file__).resolve().parents[1])
#: Enough pages that converting and verifying take a few hundred milliseconds:
#: the window the polling tests kill in. The seam tests need no padding.
PADDING_BLOBS = 160
#: Argon2id costs for a database a test encrypts as its starting point (never the
#: product's: ``db encrypt`` keeps RFC 9106's defaults, see ``KeyParameters``).
CHEAP_COSTS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The data folder, for the killed process and for the commands run in this one."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    monkeypatch.setenv("NURSECASE_NURSE", "alice")
    for name in ("NURSECASE_DB", "NURSECASE_CRASH_AT", key_source.KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal to ask on
    encryption.forget_keys()
    yield folder
    key_source.choose_key_file(None)
    encryption.forget_keys()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "pass.key"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def database(database_path, clock):
    """A migrated database with one nurse and one patient, closed."""
    engine = make_engine(database_path)
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN")
    services.nurses.sign_in("alice")
    services.patients.create("MRN-1", "Moreno", "Ana", birth_date="1950-01-02")
    engine.dispose()
    return Path(database_path)


@pytest.fixture
def padded(database):
    """The database with ~16 MB of padding: a conversion or backup slow enough to kill."""
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE padding (data BLOB)")
        connection.executemany(
            "INSERT INTO padding VALUES (?)", [(os.urandom(100_000),) for _ in range(PADDING_BLOBS)]
        )
    connection.close()
    return database


def encrypted_cheaply(database: Path) -> Path:
    """``database`` encrypted with PASSPHRASE at CHEAP_COSTS (a starting point, not a test)."""
    encrypt_database(database, PASSPHRASE, costs=CHEAP_COSTS)
    encryption.forget_keys()
    return database


def environment(home: Path, crash_at: str | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NURSECASE_KEY_FILE", "NURSECASE_DB", "NURSECASE_CRASH_AT")
    }
    env.update(PYTHONPATH=SOURCE, NURSECASE_HOME=str(home), NURSECASE_NURSE="alice")
    if crash_at is not None:
        env["NURSECASE_CRASH_AT"] = crash_at
    return env


def start(home: Path, *arguments: str, crash_at: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nursecase", *arguments],
        env=environment(home, crash_at),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(home: Path, *arguments: str, crash_at: str) -> tuple[int, str, str]:
    """A real process killed at the seam ``crash_at``: (exit code, stdout, stderr)."""
    process = start(home, *arguments, crash_at=crash_at)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def cli(capsys, *arguments: str) -> tuple[int, str, str]:
    """The next command, ``nursecase ARGUMENTS``, in this process: (exit code, stdout, stderr).

    What one process remembers (keys, a chosen key file) is forgotten first and
    after, as a new process would start without it.
    """
    encryption.forget_keys()
    capsys.readouterr()
    try:
        main(list(arguments))
        code = 0
    except SystemExit as exit_request:
        code = exit_request.code or 0
    finally:
        key_source.choose_key_file(None)
        encryption.forget_keys()
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def kill_when(process: subprocess.Popen, appeared) -> bool:
    """SIGKILL ``process`` as soon as ``appeared()`` is true; False if it ended first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if appeared():
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            return process.returncode == -signal.SIGKILL
        if process.poll() is not None:
            process.communicate()
            return False
        time.sleep(0.001)
    process.kill()
    raise AssertionError("the command neither finished nor made the file in time")


def names(folder: Path, fragment: str) -> list[Path]:
    return [path for path in folder.iterdir() if fragment in path.name]


def patient_count(path: Path, key: bytes | None = None) -> int | None:
    """Patients in the SQLite file at ``path``; None when it is not a readable database."""
    try:
        connection = connect_encrypted(path, key) if key else sqlite3.connect(path)
    except Exception:
        return None
    try:
        return connection.execute("SELECT count(*) FROM patient").fetchone()[0]
    except Exception:
        return None
    finally:
        connection.close()


def assert_database_opens(database: Path) -> None:
    """The database holds its patient, in clear or with the passphrase."""
    if is_encrypted(database):
        key = derive_key(PASSPHRASE, read_parameters(database))
        assert patient_count(database, key) == 1
    else:
        assert patient_count(database) == 1


def clear_text_copies(database: Path) -> list[Path]:
    """Files beside the database (not itself) that plain sqlite3 reads patients from."""
    return [
        path
        for path in database.parent.iterdir()
        if path != database and path.is_file() and patient_count(path) is not None
    ]


def assert_no_unnamed_clear_text(capsys, database: Path, key_file: Path) -> None:
    """No clear-text copy left, or the next command names each one and db check fails."""
    copies = clear_text_copies(database)
    if not copies:
        return
    code, _, err = cli(capsys, "--key-file", str(key_file), "user", "list", "--db", str(database))
    for copy in copies:
        assert str(copy) in err, err
    code, out, err = cli(capsys, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert code == 1, out + err
    for copy in copies:
        assert str(copy) in err, err


# --- polling: what failed before the fix --------------------------------------


def test_a_kill_during_encrypt_leaves_no_clear_text_copy_unnamed(home, padded, key_file, capsys):
    # Before the fix the plain original was renamed to <db>.plain-backup and
    # a kill before its removal left it there, unmentioned, "ok" in db check.
    process = start(home, "db", "encrypt", "--db", str(padded), "--key-file", str(key_file))
    kill_when(process, lambda: bool(names(padded.parent, "plain-backup")))

    assert_database_opens(padded)
    assert_no_unnamed_clear_text(capsys, padded, key_file)


def test_a_kill_during_decrypt_is_named_by_the_next_command_and_db_check(
    home, padded, key_file, capsys
):
    database = encrypted_cheaply(padded)
    process = start(home, "db", "decrypt", "--db", str(database), "--key-file", str(key_file))
    killed = kill_when(process, lambda: bool(names(database.parent, "decrypting")))
    assert killed, "the decrypt finished before it could be killed: make the database larger"

    assert_database_opens(database)
    leftovers = names(database.parent, "decrypting")
    assert leftovers, "the interrupted decrypt's file is what this test is about"
    code, _, err = cli(capsys, "--key-file", str(key_file), "user", "list", "--db", str(database))
    assert code == 0, err
    assert any(str(path) in err for path in leftovers), err
    assert "--remove-leftovers" in err
    code, out, err = cli(capsys, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert code == 1, out + err
    assert "clear-text copy" in err

    code, out, err = cli(
        capsys,
        "--key-file",
        str(key_file),
        "db",
        "check",
        "--db",
        str(database),
        "--remove-leftovers",
    )
    assert code == 0, out + err
    assert not names(database.parent, "decrypting")
    assert_database_opens(database)


def test_a_killed_backup_never_leaves_a_partial_file_under_its_name(home, padded, capsys):
    destination = home / "backups" / "copy.db"
    destination.parent.mkdir(parents=True)
    process = start(home, "db", "backup", str(destination), "--db", str(padded))
    kill_when(process, lambda: destination.exists() or bool(names(destination.parent, "part")))

    if destination.exists():  # only ever complete
        assert patient_count(destination) == 1
        with sqlite3.connect(destination) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.close()
    leftovers = names(destination.parent, "backup-part")
    if leftovers:
        code, out, err = cli(capsys, "db", "check", "--db", str(padded))
        assert code == 1, out + err
        assert all(str(path) in err for path in leftovers if not path.name.endswith("-journal"))
        code, out, err = cli(
            capsys, "db", "backup", str(home / "backups" / "next.db"), "--db", str(padded)
        )
        assert code == 0, err
        assert "interrupted backup" in err
        assert not names(destination.parent, "backup-part")


# --- the test seam: every step of each command ----------------------------------
#
# One kill point per state a kill can leave on disk. "before-rename-encrypting"
# and "decrypt-exported" are not listed: between "encrypt-salt-written" and
# "before-rename-encrypting" only an fsync runs (no file changes: a SIGKILL
# loses nothing written), and between "decrypt-exported" and
# "before-rename-decrypting" only a read-only check of the copy; the files a
# kill leaves are the same as at the point kept. The generic seam
# ``before-rename-<kind>`` of ``nursecase.files`` is still killed at, for the
# decrypt and the backup.


@pytest.mark.parametrize("point", ["encrypt-exported", "encrypt-salt-written", "encrypt-replaced"])
def test_encrypt_killed_between_any_two_steps(home, database, key_file, point, capsys):
    code, _, err = run(
        home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert_database_opens(database)
    assert not clear_text_copies(database)
    if not is_encrypted(database):  # the next encrypt clears what is left and succeeds
        code, _, err = cli(
            capsys, "db", "encrypt", "--db", str(database), "--key-file", str(key_file)
        )
        assert code == 0, err
    code, out, err = cli(capsys, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err
    assert [path.name for path in database.parent.iterdir() if path.name.startswith(".")] == []


@pytest.mark.parametrize("point", ["before-rename-decrypting", "decrypt-replaced"])
def test_decrypt_killed_between_any_two_steps(home, database, key_file, point, capsys):
    encrypted_cheaply(database)
    code, _, err = run(
        home, "db", "decrypt", "--db", str(database), "--key-file", str(key_file), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert_database_opens(database)
    assert_no_unnamed_clear_text(capsys, database, key_file)
    if is_encrypted(database):  # the next decrypt removes the clear-text leftover first
        code, _, err = cli(
            capsys, "db", "decrypt", "--db", str(database), "--key-file", str(key_file)
        )
        assert code == 0, err
        assert "Removed" in err and "interrupted db decrypt" in err
    assert not clear_text_copies(database)
    code, out, err = cli(capsys, "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err


@pytest.mark.parametrize("point", ["backup-copied", "before-rename-backup-part"])
def test_backup_killed_before_its_rename_leaves_no_file_under_its_name(
    home, database, point, capsys
):
    destination = home / "backups" / "copy.db"
    code, _, err = run(
        home, "db", "backup", str(destination), "--db", str(database), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert not destination.exists()
    leftovers = names(destination.parent, "backup-part")
    assert leftovers
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in leftovers)
    code, out, err = cli(capsys, "db", "check", "--db", str(database))
    assert code == 1, out + err
    assert "interrupted backup" in err

    code, _, err = cli(capsys, "db", "backup", str(destination), "--db", str(database))
    assert code == 0, err
    assert not names(destination.parent, "backup-part")
    assert patient_count(destination) == 1
    code, out, err = cli(capsys, "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err


def test_the_backup_before_an_upgrade_is_whole_or_absent(home, database, capsys):
    from nursecase.db.maintenance.migrate import downgrade
    from nursecase.db.schema import revisions_before_head

    downgrade(f"sqlite:///{database}", revisions_before_head()[-1])
    code, _, err = run(home, "db", "upgrade", "--db", str(database), crash_at="backup-copied")
    assert code == -signal.SIGKILL, err

    backups = home / "backups"
    assert [path for path in backups.iterdir() if path.name.endswith(".db")] == []
    code, out, err = cli(capsys, "db", "upgrade", "--db", str(database))
    assert code == 0, err
    assert not names(backups, "backup-part")
    (backup,) = [path for path in backups.iterdir() if path.name.endswith(".db")]
    assert patient_count(backup) == 1
