"""write_atomically: mode 0600, all or nothing, clear errors for impossible paths."""

from __future__ import annotations

import os
import stat

import pytest

from nursecase.reports.errors import ReportError
from nursecase.reports.files import write_atomically


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
