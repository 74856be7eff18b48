"""A server backup appears whole under its name or not at all (issue 17 item 3).

pg_dump is replaced by small shell scripts on PATH, so these run without a
server: what is checked is what nursecase does with pg_dump's file.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nursecase
from nursecase.db.maintenance import server_backup
from nursecase.db.maintenance.backup import remove_backup_leftovers
from nursecase.db.maintenance.server_backup import BackupError, backup_server

URL = "postgresql://nurse@localhost/clinic"
SOURCE = str(Path(nursecase.__file__).resolve().parents[1])


def fake_pg_dump(folder: Path, body: str, exit_code: int = 0) -> Path:
    """A pg_dump that writes ``body`` (shell) to its --file and exits ``exit_code``."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "pg_dump"
    program.write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do case "$argument" in --file=*) out="${argument#--file=}";;'
        " esac; done\n"
        f"{body}\nexit {exit_code}\n"
    )
    program.chmod(0o700)
    return folder


@pytest.fixture
def only_fake_pg_dump(tmp_path, monkeypatch):
    monkeypatch.setattr(server_backup, "POSTGRESQL_PROGRAMS", str(tmp_path / "none" / "pg_dump"))

    def use(body: str, exit_code: int = 0) -> Path:
        folder = fake_pg_dump(tmp_path / "bin", body, exit_code)
        monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
        return folder

    return use


def test_a_complete_dump_gets_its_name_private(tmp_path, only_fake_pg_dump):
    only_fake_pg_dump('printf "PGDMP archive" > "$out"')
    destination = tmp_path / "backups" / "server.dump"

    assert "pg_dump custom format" in backup_server(URL, destination)

    assert destination.read_bytes() == b"PGDMP archive"
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    assert sorted(path.name for path in destination.parent.iterdir()) == ["server.dump"]


@pytest.mark.parametrize(
    ("body", "exit_code", "message"),
    [
        ('echo half > "$out"; echo "pg_dump: error: connection refused" >&2', 1, "refused"),
        ('echo "not an archive" > "$out"', 0, "wrote no archive"),
        (":", 0, "wrote no archive"),
    ],
)
def test_a_failed_or_empty_dump_leaves_no_file(
    tmp_path, only_fake_pg_dump, body, exit_code, message
):
    only_fake_pg_dump(body, exit_code)
    destination = tmp_path / "backups" / "server.dump"

    with pytest.raises(BackupError, match=message):
        backup_server(URL, destination)

    assert list(destination.parent.iterdir()) == []


def test_a_killed_server_backup_leaves_no_file_under_its_name(tmp_path):
    bin_folder = fake_pg_dump(tmp_path / "bin", 'printf PGDMP > "$out"; sleep 30')
    home = tmp_path / "home"
    destination = tmp_path / "backups" / "server.dump"
    env = dict(os.environ, PYTHONPATH=SOURCE, NURSECASE_HOME=str(home))
    env["PATH"] = f"{bin_folder}:{env.get('PATH', '/usr/bin:/bin')}"
    # The backup itself, killable in its own process. (``nursecase db backup``
    # first writes its audit event, which needs a real server: test_commands
    # checks that part.)
    command = [
        sys.executable,
        "-c",
        "import sys; from pathlib import Path;"
        " from nursecase.db.maintenance.server_backup import backup_server;"
        " backup_server(sys.argv[1], Path(sys.argv[2]))",
        URL,
        str(destination),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (destination.parent.is_dir() and any(destination.parent.iterdir())):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.2)  # pg_dump is at work (it sleeps after writing its header)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # nursecase and its pg_dump
        process.communicate()

    assert not destination.exists()
    (leftover,) = destination.parent.iterdir()
    assert leftover.name.endswith(".backup-part")
    assert remove_backup_leftovers(destination.parent) == [leftover]
