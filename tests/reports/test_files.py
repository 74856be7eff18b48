"""write_atomically: mode 0600, all or nothing, clear errors for impossible paths; only a
regular file is replaced; the part files killed writers leave are found, and only those."""

from __future__ import annotations

import fcntl
import os
import re
import stat
import time
from pathlib import Path

import pytest

from nursecase.files import kind_of
from nursecase.reports.errors import ReportError
from nursecase.reports.files import (
    STALE_AFTER_SECONDS,
    atomic_file,
    remove_stale_parts,
    stale_parts,
    write_atomically,
)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_the_bytes_with_mode_0600(tmp_path):
    target = tmp_path / "plan.md"
    assert write_atomically(target, b"hello\n") == target
    assert target.read_bytes() == b"hello\n"
    assert mode_of(target) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["plan.md"]


def test_accepts_a_text_path_and_chunks(tmp_path):
    target = tmp_path / "rows.csv"
    write_atomically(str(target), (chunk for chunk in (b"a,b\n", b"1,2\n")))
    assert target.read_bytes() == b"a,b\n1,2\n"


def test_replaces_an_existing_file_and_its_loose_mode(tmp_path):
    target = tmp_path / "plan.pdf"
    target.write_bytes(b"old content that is longer than the new one")
    target.chmod(0o644)
    old_inode = os.stat(target).st_ino
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode_of(target) == 0o600
    # A rename, not an overwrite in place: a reader never sees half a file.
    assert os.stat(target).st_ino != old_inode
    assert sorted(os.listdir(tmp_path)) == ["plan.pdf"]


def test_a_missing_folder_is_a_clear_error(tmp_path):
    target = tmp_path / "no-such-folder" / "plan.md"
    with pytest.raises(ReportError) as raised:
        write_atomically(target, b"x")
    assert str(raised.value) == f"the folder {tmp_path / 'no-such-folder'} does not exist"
    assert isinstance(raised.value, ValueError)
    assert os.listdir(tmp_path) == []


def test_a_folder_at_the_path_is_a_clear_error(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(ReportError, match="is a folder; give a file name inside it"):
        write_atomically(folder, b"x")
    assert os.listdir(folder) == []


def test_a_file_as_the_folder_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    with pytest.raises(ReportError, match="is not a folder"):
        write_atomically(not_a_folder / "plan.md", b"x")


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path):
    target = tmp_path / "plan.md"
    target.write_bytes(b"the previous export")

    def failing_chunks():
        yield b"half of the new export"
        raise RuntimeError("the renderer failed")

    with pytest.raises(RuntimeError, match="the renderer failed"):
        write_atomically(target, failing_chunks())
    assert target.read_bytes() == b"the previous export"
    assert sorted(os.listdir(tmp_path)) == ["plan.md"]


def test_a_failure_without_an_old_file_leaves_no_file(tmp_path):
    def failing_chunks():
        yield b"partial"
        raise OSError(28, "No space left on device")

    with pytest.raises(ReportError, match="cannot write .*No space left on device"):
        write_atomically(tmp_path / "plan.md", failing_chunks())
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------- part files left behind


def _part(folder: Path, name: str, *, age: float = 0, mode: int = 0o600) -> Path:
    part = folder / name
    part.write_bytes(b"MRN,Name\n")
    part.chmod(mode)
    if age:
        moment = time.time() - age
        os.utime(part, (moment, moment))
    return part


def test_a_part_file_names_its_process_and_is_held_while_written(tmp_path):
    with atomic_file(tmp_path / "caseload.csv") as handle:
        handle.write(b"MRN\n")
        (part,) = tmp_path.iterdir()
        assert part.name.startswith(f".caseload.csv.{os.getpid()}-")
        assert part.name.endswith(".part")
        other = os.open(part, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
        assert stale_parts(tmp_path) == []
    assert [item.name for item in tmp_path.iterdir()] == ["caseload.csv"]


def test_only_our_unheld_part_files_whose_writer_is_gone_are_stale(tmp_path, dead_pid):
    dead = dead_pid
    gone = _part(tmp_path, f".caseload.csv.{dead}-abcd1234.part")
    earlier = _part(tmp_path, ".ccm.csv.k3j9x_2a.part", age=2 * STALE_AFTER_SECONDS)
    # Kept: a fresh part of an earlier version, one of a live process, one that is
    # readable by others (not made by us), one whose name is not ours, a link.
    _part(tmp_path, ".tcm.csv.k3j9x_2b.part")
    _part(tmp_path, f".worklist.csv.{os.getppid()}-abcd1234.part")
    _part(tmp_path, f".shared.csv.{dead}-abcd1234.part", mode=0o644)
    _part(tmp_path, ".download.part", age=2 * STALE_AFTER_SECONDS)
    os.symlink(gone, tmp_path / f".link.csv.{dead}-abcd1234.part")
    assert stale_parts(tmp_path) == sorted([gone, earlier])
    assert remove_stale_parts(tmp_path) == sorted([gone, earlier])
    assert len(list(tmp_path.iterdir())) == 5
    assert stale_parts(tmp_path / "missing") == []


def test_a_held_part_file_is_never_stale(tmp_path, dead_pid):
    part = _part(tmp_path, f".caseload.csv.{dead_pid}-abcd1234.part", age=3600)
    holder = os.open(part, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert stale_parts(tmp_path) == []
    finally:
        os.close(holder)
    assert stale_parts(tmp_path) == [part]


def test_only_a_regular_file_is_replaced(tmp_path):
    real = tmp_path / "real.md"
    real.write_bytes(b"kept")
    os.symlink(real, tmp_path / "link.md")
    os.mkfifo(tmp_path / "pipe.md")
    for name, kind in [("link.md", "a symbolic link"), ("pipe.md", "a FIFO (named pipe)")]:
        with pytest.raises(ReportError, match=f"is {re.escape(kind)}, not a regular file"):
            write_atomically(tmp_path / name, b"x")
        assert kind_of(tmp_path / name) == kind
    assert real.read_bytes() == b"kept" and (tmp_path / "link.md").is_symlink()
    assert kind_of(Path("/dev/null")) == "a character device"
    assert kind_of(real) is None and kind_of(tmp_path / "none") is None
    assert sorted(item.name for item in tmp_path.iterdir()) == ["link.md", "pipe.md", "real.md"]
