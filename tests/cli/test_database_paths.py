"""Paths are checked before they are touched (issue 17 item 8).

A ``--db`` that is a symbolic link, a folder or a FIFO is refused in one line
naming the path and what it is, and nothing is changed (a link to a 0644 text
file used to be chmodded to 0600 through the link). nursecase's data folder
at 0755 is tightened to 0700, or refused with the reason. Run as a real
subprocess: a FIFO opened by SQLite would block forever.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import nursecase

pytestmark = pytest.mark.sqlite_only

SOURCE = str(Path(nursecase.__file__).resolve().parents[1])


def nursecase_command(home: Path, *arguments: str) -> tuple[int, str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NURSECASE_DB"}
    env.update(PYTHONPATH=SOURCE, NURSECASE_HOME=str(home))
    result = subprocess.run(
        [sys.executable, "-m", "nursecase", *arguments],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


def assert_one_line_refusal(code: int, err: str, *fragments: str) -> None:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nursecase: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("command", [["user", "list"], ["db", "check"], ["db", "upgrade"]])
def test_a_db_that_is_a_link_is_refused_and_its_target_keeps_its_mode(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    notes.chmod(0o644)
    link = tmp_path / "link.db"
    link.symlink_to(notes)

    code, _, err = nursecase_command(tmp_path / "home", *command, "--db", str(link))

    assert_one_line_refusal(code, err, str(link), "symbolic link")
    assert mode(notes) == 0o644
    assert notes.read_text() == "not a database\n"


def test_a_db_that_is_a_fifo_or_a_folder_is_refused_in_one_line(tmp_path):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    fifo.chmod(0o644)  # explicitly: an in-process command before may have left umask 077
    folder = tmp_path / "folder.db"
    folder.mkdir()
    folder.chmod(0o755)

    code, _, err = nursecase_command(tmp_path / "home", "user", "list", "--db", str(fifo))
    assert_one_line_refusal(code, err, str(fifo), "FIFO")
    assert mode(fifo) == 0o644

    code, _, err = nursecase_command(
        tmp_path / "home", "db", "backup", str(tmp_path / "x.db"), "--db", str(folder)
    )
    assert_one_line_refusal(code, err, str(folder), "a folder")
    assert mode(folder) == 0o755


def test_a_data_folder_at_0755_is_tightened_to_0700(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)

    code, _, err = nursecase_command(home, "db", "upgrade")

    assert code == 0, err
    assert mode(home) == 0o700
    assert mode(home / "nursecase.db") == 0o600


def test_a_shared_data_folder_is_refused_with_the_reason(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o1777)

    code, _, err = nursecase_command(home, "db", "upgrade")

    assert_one_line_refusal(code, err, str(home), "shared with other users")
    assert mode(home) == 0o1777
