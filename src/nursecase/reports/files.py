"""Writing report files safely: all or nothing, readable by the owner only.

Exports hold PHI (DESIGN.md section 4), so a file is written to a temporary
"part" file in the destination folder, created with mode 0600 from the start
(never briefly readable by others), flushed to disk, then renamed over the
destination with ``os.replace``, which is atomic on one file system. A reader
therefore sees the old file or the whole new one, never half of it; if
anything fails (an exception, ctrl+c), the part file is removed and an existing
file is left as it was.

Only a process killed outright (SIGKILL, a power cut) can leave a part file
behind, holding part of a report. So a part file says whose it is: its hidden
name carries the writing process's id (``.caseload.csv.4242-k3j9x_2a.part``)
and the writer holds an exclusive ``flock`` on it for as long as it writes.
``stale_parts`` finds the ones nobody holds whose process is gone (or, with no
process id, that nobody touched for ``STALE_AFTER_SECONDS``);
``remove_stale_parts`` removes them. The export service does that in the
folder it writes to, and ``nursecase db check`` reports any left in the
exports folder.

A destination that is not a regular file (a folder, a symbolic link, a named
pipe, a device, a socket) is refused before anything is written:
``os.replace`` would otherwise put a regular file in its place (as root, over
``/dev/null`` itself). ``special_kind`` names what such a path is.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from nursecase.reports.errors import ReportError

try:  # POSIX; elsewhere a part file's owner is told by its process id and age alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

FILE_MODE = 0o600
"""Mode of every written report: read and write for the owner only."""

TEMPORARY_SUFFIX = ".part"

#: A part file that nobody holds and nobody touched for this long is stale even
#: when its name carries no process id (or the id now belongs to another process).
STALE_AFTER_SECONDS = 600

#: ".NAME.PID-RANDOM.part": a part file of this version (mkstemp's random part).
_PART_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>[0-9]+)-[A-Za-z0-9_]+\.part$")
#: ".NAME.RANDOM.part": a part file of an earlier version, which named no process.
_EARLIER_PART_NAME = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.part$")

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(path: Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file ("a symbolic link", ...).

    None when nothing is there or it is a regular file. Symbolic links are not
    followed: a link is named as a link, whatever it points to.
    """
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None  # unreadable: the write itself will say why
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def _check_destination(target: Path) -> None:
    """Refuse, with a clear message, a destination that cannot be a file."""
    if target.name in ("", ".", ".."):
        raise ReportError(f"{target} is not a file name")
    kind = special_kind(target)
    if kind == "a folder":
        raise ReportError(f"{target} is a folder; give a file name inside it")
    if kind is not None:
        raise ReportError(f"{target} is {kind}, not a regular file; nothing was written")
    folder = target.parent
    if not folder.exists():
        raise ReportError(f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a folder")


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to disk (best effort: not every system can open a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _hold(descriptor: int) -> None:
    """Mark a part file as being written: an exclusive lock, released when the process ends."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the pid still tells
            fcntl.flock(descriptor, fcntl.LOCK_EX)


@contextlib.contextmanager
def atomic_file(path: Path | str) -> Iterator[BinaryIO]:
    """A binary handle on a new private part file that becomes ``path`` when the block ends.

    The part file is made (mode 0600, locked, named for this process) before
    the block runs, so a folder that cannot take it fails first. When the
    block ends normally the file is flushed, synced and renamed over ``path``;
    when it raises anything (ctrl+c too) the part file is removed and the
    error goes on. Operating-system errors become ReportError.
    """
    target = Path(path)
    _check_destination(target)
    folder = target.parent
    try:
        # mkstemp creates the file with mode 0600 and O_EXCL: private from the first byte.
        descriptor, temporary_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}-", suffix=TEMPORARY_SUFFIX, dir=folder
        )
    except OSError as error:
        raise ReportError(f"cannot write in {folder}: {error.strerror or error}") from error
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _hold(handle.fileno())
            # A umask cannot widen mkstemp's mode, but say it explicitly anyway.
            os.fchmod(handle.fileno(), FILE_MODE)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            # Renamed while still held: the part file is never unheld and unfinished.
            os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ReportError(f"cannot write {target}: {error.strerror or error}") from error
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _sync_folder(folder)


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


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def _is_stale(path: Path, now: float) -> bool:
    """Whether ``path`` is one of our part files whose writer is gone."""
    match = _PART_NAME.match(path.name)
    pid = int(match["pid"]) if match else None
    if match is None and not _EARLIER_PART_NAME.match(path.name):
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        status = os.fstat(descriptor)
        # Ours: a private regular file of this user, as mkstemp made it.
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid():
            return False
        if stat.S_IMODE(status.st_mode) & 0o077:
            return False
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # held: an export is writing it right now
        if pid is not None and pid != os.getpid() and not _process_exists(pid):
            return True
        return now - status.st_mtime > STALE_AFTER_SECONDS
    finally:
        os.close(descriptor)


def stale_parts(folder: Path | str) -> list[Path]:
    """The part files in ``folder`` left by exports that were killed (oldest name order).

    A part file being written (its writer holds it) is never listed; nor is
    anything that is not a private regular file of this user named like ours.
    """
    folder = Path(folder)
    now = time.time()
    try:
        candidates = sorted(
            entry
            for entry in folder.iterdir()
            if entry.name.startswith(".") and entry.name.endswith(TEMPORARY_SUFFIX)
        )
    except OSError:
        return []
    return [entry for entry in candidates if _is_stale(entry, now)]


def remove_stale_parts(folder: Path | str) -> list[Path]:
    """Remove the part files killed exports left in ``folder``; the ones removed."""
    removed = []
    for part in stale_parts(folder):
        try:
            part.unlink()
        except OSError:
            continue  # gone meanwhile, or not ours to remove: db check still reports it
        removed.append(part)
    return removed


__all__ = [
    "FILE_MODE",
    "STALE_AFTER_SECONDS",
    "atomic_file",
    "remove_stale_parts",
    "special_kind",
    "stale_parts",
    "write_atomically",
]
