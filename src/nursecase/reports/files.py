"""Writing report files safely: all or nothing, readable by the owner only.

Exports hold PHI (DESIGN.md section 4), so a file is written to a temporary
"part" file in the destination folder, created with mode 0600 from the start
(never briefly readable by others), flushed to disk, then renamed over the
destination, which is atomic on one file system. A reader therefore sees the
old file or the whole new one, never half of it; if anything fails (an
exception, ctrl+c), the part file is removed and an existing file is left as
it was.

The mechanism is ``nursecase.files`` (``atomic_private_file``), the one that
also writes backups and database conversions: a part file is named for its
writing process (``.caseload.csv.4242-3f9a0c1d.part``) and held under an
exclusive ``flock`` while it is written. Only a process killed outright
(SIGKILL, a power cut) can leave one behind, holding part of a report;
``stale_parts`` finds those (``nursecase.files.leftovers`` of kind "part":
unheld, private, and their writer gone) and ``remove_stale_parts`` removes
them. The export service does that in the folder it writes to, and
``nursecase db check`` reports any left in the exports folder.

What is report-specific here is the wording: a destination that is not a
regular file (a folder, a symbolic link, a named pipe, a device, a socket) is
refused before anything is written, and every failure is a ``ReportError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from nursecase.files import (
    FILE_MODE,
    STALE_AFTER_SECONDS,
    UnsafePathError,
    atomic_private_file,
    kind_of,
    leftovers,
    remove_leftover,
)
from nursecase.reports.errors import ReportError

#: The kind (name ending) of a report's temporary file (``nursecase.files``).
PART = "part"


def _check_destination(target: Path) -> None:
    """Refuse, with a clear message, a destination that cannot be a file."""
    if target.name in ("", ".", ".."):
        raise ReportError(f"{target} is not a file name")
    kind = kind_of(target)
    if kind == "a folder":
        raise ReportError(f"{target} is a folder; give a file name inside it")
    if kind is not None:
        raise ReportError(f"{target} is {kind}, not a regular file; nothing was written")
    folder = target.parent
    if not folder.exists():
        raise ReportError(f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """A binary handle on a new private part file that becomes ``path`` when the block ends.

    The part file is made (mode 0600, locked, named for this process) before
    the block runs, so a folder that cannot take it fails first ("cannot write
    in FOLDER"). When the block ends normally the file is flushed, synced and
    renamed over ``path``; when it raises anything (ctrl+c too) the part file
    is removed and the error goes on. Operating-system errors become ReportError.
    """
    target = Path(path)
    _check_destination(target)
    started = False
    try:
        with atomic_private_file(target, PART) as handle:
            started = True
            yield handle
    except OSError as error:
        where = f"write {target}" if started else f"write in {target.parent}"
        raise ReportError(f"cannot {where}: {error.strerror or error}") from error
    except UnsafePathError as error:
        if started:
            raise
        raise ReportError(str(error)) from error  # swapped for a link or device meanwhile


def write_atomically(path: Path | str, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600 and return the path.

    ``data`` is the whole content, or an iterable of byte chunks (a large export
    can stream its rows); if producing a chunk raises, that error propagates
    and nothing is written. A missing folder, a folder or any other non-regular
    file at ``path`` or an operating-system error (no permission, disk full)
    raises ReportError.
    """
    with atomic_file(path) as handle:
        chunks = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
        for chunk in chunks:
            handle.write(chunk)
    return Path(path)


def stale_parts(folder: Path | str) -> list[Path]:
    """The part files in ``folder`` left by exports that were killed (name order).

    A part file being written (its writer holds it, or is alive and just made
    it) is never listed; nor is anything that is not a private regular file of
    this user named like ours.
    """
    return leftovers(folder, PART)


def remove_stale_parts(folder: Path | str) -> list[Path]:
    """Remove the part files killed exports left in ``folder``; the ones removed."""
    return [part for part in stale_parts(folder) if remove_leftover(part)]


__all__ = [
    "FILE_MODE",
    "STALE_AFTER_SECONDS",
    "atomic_file",
    "remove_stale_parts",
    "stale_parts",
    "write_atomically",
]
