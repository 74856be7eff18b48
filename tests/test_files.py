"""``nursecase.files``: the one place that creates files and sets their modes."""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import stat
import time
from pathlib import Path

import pytest

from nursecase import files
from nursecase.files import UnsafePathError


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_kind_of_names_what_is_not_a_regular_file(tmp_path):
    regular = tmp_path / "a.txt"
    regular.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(regular)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    assert files.kind_of(regular) is None
    assert files.kind_of(tmp_path / "absent") is None
    assert files.kind_of(link) == "a symbolic link"
    assert files.kind_of(tmp_path) == "a folder"
    assert files.kind_of(fifo) == "a FIFO (named pipe)"
    assert files.kind_of("/dev/null") == "a character device"


def test_private_file_mode_never_follows_a_link(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("x")
    target.chmod(0o644)
    link = tmp_path / "link.db"
    link.symlink_to(target)

    with pytest.raises(UnsafePathError, match="link.db is a symbolic link"):
        files.private_file_mode(link, "the database")
    assert mode(target) == 0o644

    files.private_file_mode(target)
    assert mode(target) == 0o600


def test_private_folder_creates_0700_and_tightens_only_when_asked(tmp_path):
    created = files.private_folder(tmp_path / "a" / "b")
    assert mode(created) == 0o700

    wide = tmp_path / "wide"
    wide.mkdir()
    wide.chmod(0o755)
    files.private_folder(wide)
    assert mode(wide) == 0o755
    files.private_folder(wide, tighten=True)
    assert mode(wide) == 0o700


def test_private_folder_refuses_a_shared_or_foreign_folder(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(UnsafePathError, match="shared with other users"):
        files.private_folder(shared, tighten=True)
    assert mode(shared) == 0o1777

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(UnsafePathError, match="is not a folder"):
        files.private_folder(not_a_folder)

    if os.geteuid() == 0:  # only root can give a folder away
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        foreign.chmod(0o755)
        os.chown(foreign, 4321, 4321)
        with pytest.raises(UnsafePathError, match="belongs to another user"):
            files.private_folder(foreign, tighten=True)
        assert mode(foreign) == 0o755


def test_an_atomic_write_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), files.atomic_private_write(target, "part") as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []

    with files.atomic_private_write(target, "part") as temporary:
        assert mode(temporary) == 0o600
        assert not target.exists()
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert mode(target) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["out.bin"]


def test_an_atomic_write_without_replace_never_overwrites(tmp_path):
    target = tmp_path / "backup.db"
    target.write_bytes(b"earlier")
    writing = files.atomic_private_write(target, "part", replace=False)
    with pytest.raises(FileExistsError), writing as temporary:
        temporary.write_bytes(b"later")
    assert target.read_bytes() == b"earlier"
    assert [path.name for path in tmp_path.iterdir()] == ["backup.db"]


def _left_by(pid: int, target, kind: str) -> Path:
    """A temporary file named as the writer ``pid`` names its own."""
    path = target.with_name(f".{target.name}.{pid}-{secrets.token_hex(4)}.{kind}")
    path.write_bytes(b"written so far")
    path.chmod(0o600)
    return path


def _age(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_a_temporary_name_carries_the_writer_and_the_kind(tmp_path):
    name = files.temporary_name(tmp_path / "a.db", "backup-part").name
    assert re.fullmatch(rf"\.a\.db\.{os.getpid()}-[0-9a-f]{{8}}\.backup-part", name)


def test_leftovers_are_the_unlocked_temporary_files_only(tmp_path, dead_pid):
    dead = dead_pid
    abandoned = _left_by(dead, tmp_path / "a.db", "backup-part")
    (tmp_path / f"{abandoned.name}-journal").write_bytes(b"")
    busy = _left_by(dead, tmp_path / "b.db", "backup-part")
    other_kind = _left_by(dead, tmp_path / "c.db", "part")
    with open(busy, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert files.leftovers(tmp_path, "backup-part") == [abandoned]
        assert files.leftovers(tmp_path, "backup-part", tmp_path / "b.db") == []
        assert files.leftovers(tmp_path, "backup-part", tmp_path / "db") == []
        assert files.remove_leftover(busy) is False
        assert files.remove_leftover(abandoned) is True
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([busy.name, other_kind.name])


def test_a_live_writer_is_never_abandoned_even_before_it_locks(tmp_path):
    """The gap between creating a temporary file and locking it: the pid and age tell."""
    target = tmp_path / "a.db"
    mine = _left_by(os.getpid(), target, "backup-part")  # created, not locked yet
    alive = _left_by(os.getppid(), target, "backup-part")
    assert files.leftovers(tmp_path, "backup-part") == []
    assert files.remove_leftover(mine) is False and mine.exists()
    # Untouched for long: abandoned whoever it names (a pid may be reused).
    _age(alive, 2 * files.STALE_AFTER_SECONDS)
    assert files.leftovers(tmp_path, "backup-part") == [alive]


def test_only_private_files_of_ours_are_leftovers(tmp_path, dead_pid):
    dead = dead_pid
    target = tmp_path / "a.db"
    readable = _left_by(dead, target, "decrypting")
    readable.chmod(0o644)  # not made by this module
    real = _left_by(dead, tmp_path / "real.db", "decrypting")
    (tmp_path / f".a.db.{dead}-0123abcd.decrypting").symlink_to(real)
    os.mkfifo(tmp_path / f".a.db.{dead}-4567abcd.decrypting")
    assert files.leftovers(tmp_path, "decrypting", target) == []
    assert files.leftovers(tmp_path, "decrypting") == [real]


def test_the_earlier_names_without_a_pid_count_once_untouched_for_long(tmp_path):
    hexadecimal = tmp_path / ".a.db.0123abcd.encrypting"  # nursecase.files, before pids
    mkstemp = tmp_path / ".caseload.csv.k3j9x_2a.part"  # reports, before pids
    for path in (hexadecimal, mkstemp):
        path.write_bytes(b"x")
        path.chmod(0o600)
    assert files.leftovers(tmp_path, "encrypting") == []
    assert files.leftovers(tmp_path, "part") == []
    _age(hexadecimal, 2 * files.STALE_AFTER_SECONDS)
    _age(mkstemp, 2 * files.STALE_AFTER_SECONDS)
    assert files.leftovers(tmp_path, "encrypting", tmp_path / "a.db") == [hexadecimal]
    assert files.leftovers(tmp_path, "part") == [mkstemp]


def test_crash_point_does_nothing_unless_named(monkeypatch):
    monkeypatch.delenv(files.CRASH_VARIABLE, raising=False)
    files.crash_point("anything")
    monkeypatch.setenv(files.CRASH_VARIABLE, "elsewhere")
    files.crash_point("anything")
