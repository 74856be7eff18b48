"""A real ``python -m nursecase`` killed with SIGKILL during encrypt, decrypt and backup.

Issue 17 items 2 and 3: after a kill at any point the database opens (with or
without the key), no clear-text copy of it is left unnamed (the next command
names it and ``db check`` reports it), and a backup under its final name is
complete or absent.

Two ways to kill: polling for a file to appear (works on any version: this is
what failed before the fix), and the documented test seam NURSECASE_CRASH_AT
(``nursecase.files.crash_point``), which stops a command exactly between two
steps.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nursecase
from nursecase.db.encryption import (
    connect_encrypted,
    derive_key,
    is_encrypted,
    read_parameters,
)
from nursecase.db.engine import make_engine
from nursecase.services import make_services

pytestmark = pytest.mark.sqlite_only

PASSPHRASE = "correct horse battery staple"
SOURCE = str(Path(nursecase.__file__).resolve().parents[1])
#: Enough pages that converting and verifying take a few hundred milliseconds.
PADDING_BLOBS = 160


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "pass.key"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def database(database_path, clock):
    """A migrated database with one nurse, one patient and ~16 MB of padding, closed."""
    engine = make_engine(database_path)
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno", "RN")
    services.nurses.sign_in("alice")
    services.patients.create("MRN-1", "Moreno", "Ana", birth_date="1950-01-02")
    engine.dispose()
    with sqlite3.connect(database_path) as connection:
        connection.execute("CREATE TABLE padding (data BLOB)")
        connection.executemany(
            "INSERT INTO padding VALUES (?)", [(os.urandom(100_000),) for _ in range(PADDING_BLOBS)]
        )
    connection.close()
    return Path(database_path)


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


def run(home: Path, *arguments: str, crash_at: str | None = None) -> tuple[int, str, str]:
    process = start(home, *arguments, crash_at=crash_at)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


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


def assert_no_unnamed_clear_text(home: Path, database: Path, key_file: Path) -> None:
    """No clear-text copy left, or the next command names each one and db check fails."""
    copies = clear_text_copies(database)
    if not copies:
        return
    code, _, err = run(home, "--key-file", str(key_file), "user", "list", "--db", str(database))
    for copy in copies:
        assert str(copy) in err, err
    code, out, err = run(home, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert code == 1, out + err
    for copy in copies:
        assert str(copy) in err, err


# --- polling: what failed before the fix --------------------------------------


def test_a_kill_during_encrypt_leaves_no_clear_text_copy_unnamed(home, database, key_file):
    # Before the fix the plain original was renamed to <db>.plain-backup and
    # a kill before its removal left it there, unmentioned, "ok" in db check.
    process = start(home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file))
    kill_when(process, lambda: bool(names(database.parent, "plain-backup")))

    assert_database_opens(database)
    assert_no_unnamed_clear_text(home, database, key_file)


def test_a_kill_during_decrypt_is_named_by_the_next_command_and_db_check(home, database, key_file):
    code, _, err = run(home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file))
    assert code == 0, err
    process = start(home, "db", "decrypt", "--db", str(database), "--key-file", str(key_file))
    killed = kill_when(process, lambda: bool(names(database.parent, "decrypting")))
    assert killed, "the decrypt finished before it could be killed: make the database larger"

    assert_database_opens(database)
    leftovers = names(database.parent, "decrypting")
    assert leftovers, "the interrupted decrypt's file is what this test is about"
    code, _, err = run(home, "--key-file", str(key_file), "user", "list", "--db", str(database))
    assert code == 0, err
    assert any(str(path) in err for path in leftovers), err
    assert "--remove-leftovers" in err
    code, out, err = run(home, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert code == 1, out + err
    assert "clear-text copy" in err

    code, out, err = run(
        home,
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


def test_a_killed_backup_never_leaves_a_partial_file_under_its_name(home, database, key_file):
    destination = home / "backups" / "copy.db"
    destination.parent.mkdir(parents=True)
    process = start(home, "db", "backup", str(destination), "--db", str(database))
    kill_when(process, lambda: destination.exists() or bool(names(destination.parent, "part")))

    if destination.exists():  # only ever complete
        assert patient_count(destination) == 1
        with sqlite3.connect(destination) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.close()
    leftovers = names(destination.parent, "backup-part")
    if leftovers:
        code, out, err = run(home, "db", "check", "--db", str(database))
        assert code == 1, out + err
        assert all(str(path) in err for path in leftovers if not path.name.endswith("-journal"))
        code, out, err = run(
            home, "db", "backup", str(home / "backups" / "next.db"), "--db", str(database)
        )
        assert code == 0, err
        assert "interrupted backup" in err
        assert not names(destination.parent, "backup-part")


# --- the test seam: every step of each command ----------------------------------


@pytest.mark.parametrize(
    "point",
    ["encrypt-exported", "encrypt-salt-written", "before-rename-encrypting", "encrypt-replaced"],
)
def test_encrypt_killed_between_any_two_steps(home, database, key_file, point):
    code, _, err = run(
        home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert_database_opens(database)
    assert not clear_text_copies(database)
    if not is_encrypted(database):  # the next encrypt clears what is left and succeeds
        code, _, err = run(
            home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file)
        )
        assert code == 0, err
    code, out, err = run(home, "--key-file", str(key_file), "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err
    assert [path.name for path in database.parent.iterdir() if path.name.startswith(".")] == []


@pytest.mark.parametrize(
    "point", ["decrypt-exported", "before-rename-decrypting", "decrypt-replaced"]
)
def test_decrypt_killed_between_any_two_steps(home, database, key_file, point):
    code, _, err = run(home, "db", "encrypt", "--db", str(database), "--key-file", str(key_file))
    assert code == 0, err
    code, _, err = run(
        home, "db", "decrypt", "--db", str(database), "--key-file", str(key_file), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert_database_opens(database)
    assert_no_unnamed_clear_text(home, database, key_file)
    if is_encrypted(database):  # the next decrypt removes the clear-text leftover first
        code, _, err = run(
            home, "db", "decrypt", "--db", str(database), "--key-file", str(key_file)
        )
        assert code == 0, err
        assert "Removed" in err and "interrupted db decrypt" in err
    assert not clear_text_copies(database)
    code, out, err = run(home, "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err


@pytest.mark.parametrize("point", ["backup-copied", "before-rename-backup-part"])
def test_backup_killed_before_its_rename_leaves_no_file_under_its_name(home, database, point):
    destination = home / "backups" / "copy.db"
    code, _, err = run(
        home, "db", "backup", str(destination), "--db", str(database), crash_at=point
    )
    assert code == -signal.SIGKILL, err

    assert not destination.exists()
    leftovers = names(destination.parent, "backup-part")
    assert leftovers
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in leftovers)
    code, out, err = run(home, "db", "check", "--db", str(database))
    assert code == 1, out + err
    assert "interrupted backup" in err

    code, _, err = run(home, "db", "backup", str(destination), "--db", str(database))
    assert code == 0, err
    assert not names(destination.parent, "backup-part")
    assert patient_count(destination) == 1
    code, out, err = run(home, "db", "check", "--db", str(database))
    assert (code, out.strip()) == (0, "ok"), err


def test_the_backup_before_an_upgrade_is_whole_or_absent(home, database):
    from nursecase.db.maintenance.migrate import downgrade
    from nursecase.db.schema import revisions_before_head

    downgrade(f"sqlite:///{database}", revisions_before_head()[-1])
    code, _, err = run(home, "db", "upgrade", "--db", str(database), crash_at="backup-copied")
    assert code == -signal.SIGKILL, err

    backups = home / "backups"
    assert [path for path in backups.iterdir() if path.name.endswith(".db")] == []
    code, out, err = run(home, "db", "upgrade", "--db", str(database))
    assert code == 0, err
    assert not names(backups, "backup-part")
    (backup,) = [path for path in backups.iterdir() if path.name.endswith(".db")]
    assert patient_count(backup) == 1
