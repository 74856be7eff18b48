"""Files and folders that hold PHI: checked before they are touched, private from the first byte.

One place for the rules of issue 17 (items 2, 3 and 8) and DESIGN.md section 4:

- **Look, never follow.** A path is examined with ``lstat``. Where a file is
  expected, a symbolic link, a folder, a device, a FIFO or a socket is refused
  in one line naming the path and what it is (``refuse_special``), before
  anything opens, creates or changes it. A symbolic link is refused rather
  than followed: the file it points at may belong to something else entirely
  (``--db`` pointing at a text file, or at ``/dev/null`` as root).
- **Modes are set on a descriptor, never by path.** ``private_file_mode`` opens
  with ``O_NOFOLLOW | O_NONBLOCK``, checks with ``fstat`` that it holds the
  regular file ``lstat`` saw, then ``fchmod``s it: a link swapped in meanwhile
  is not followed, and a device is never opened.
- **New files are 0600, folders 0700.** ``create_private_file`` uses
  ``O_CREAT | O_EXCL | O_NOFOLLOW``. ``private_folder`` creates a missing
  folder 0700 and, with ``tighten=True`` (nursecase's own data, backups and
  exports folders), tightens an existing wider one to 0700, or refuses it with
  the reason (another user's folder, a shared sticky folder such as /tmp).
- **Whole or not at all.** ``atomic_private_write`` yields a temporary path
  (``atomic_private_file`` a binary handle) in the destination's folder,
  ``.<name>.<pid>-<random>.<kind>``, created 0600 and held under an exclusive
  ``flock`` while it is written; on success it fsyncs the file, renames it to
  its final name and fsyncs the folder; on error it removes it. Backups,
  database conversions and report exports all write this way.
- **Leftovers of killed writers.** A writer killed with SIGKILL leaves its
  temporary file unlocked. ``leftovers(folder, kind)`` finds such files:
  abandoned (``is_abandoned``) only when named like ours, a 0600 regular file
  of this user, unlocked, and its writer's process gone or the file untouched
  for ``STALE_AFTER_SECONDS``, so a writer at work (even one that has not yet
  taken its lock) is left alone. ``remove_leftover`` removes one with its
  SQLite journal files.
- **A documented test seam.** ``crash_point(name)`` kills the process with
  SIGKILL when ``NURSECASE_CRASH_AT`` equals ``name``: crash tests stop a real
  command exactly between two steps. It costs one environment lookup.

This module imports nothing from nursecase (an import-linter contract in
pyproject.toml holds it to that), so db/, services/ and reports/ may all use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Mode of every file nursecase writes: read and write for its owner only.
FILE_MODE = 0o600
#: Mode of every folder nursecase creates or tightens.
FOLDER_MODE = 0o700
#: The environment variable of the crash test seam (see ``crash_point``).
CRASH_VARIABLE = "NURSECASE_CRASH_AT"
#: SQLite's companion files of a database file (journal, WAL, shared memory).
SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


class UnsafePathError(ValueError):
    """A path that must not be touched (a link, a device, another user's folder); one line."""


# --- looking --------------------------------------------------------------------


def kind_of(path: str | os.PathLike[str]) -> str | None:
    """What is at ``path`` when it is not a regular file ("a symbolic link", ...).

    None for a regular file or for nothing at all. Never follows a link.
    """
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None  # nothing, or a parent is a file: nothing can be at this path
    except OSError:
        return None  # unreadable (no permission, name too long): opening it will say why
    return describe_mode(mode)


#: What each kind of non-regular file is called in a message.
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_mode(mode: int) -> str | None:
    """The words for a non-regular ``st_mode`` (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def refuse_special(path: str | os.PathLike[str], what: str) -> None:
    """Raise ``UnsafePathError`` unless ``path`` is a regular file or absent.

    ``what`` names the role of the path in the message, e.g. "the database":
    "the database /x/db is a symbolic link; give the path of a regular file".
    """
    kind = kind_of(path)
    if kind is not None:
        raise UnsafePathError(f"{what} {path} is {kind}; give the path of a regular file")


# --- modes ----------------------------------------------------------------------


def private_file_mode(path: str | os.PathLike[str], what: str = "the file") -> None:
    """Make an existing regular file 0600 without following a link; absent: nothing.

    A link, folder, device, FIFO or socket raises ``UnsafePathError`` untouched.
    """
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return
    kind = describe_mode(before.st_mode)
    if kind is not None:
        raise UnsafePathError(f"{what} {path} is {kind}; give the path of a regular file")
    if not stat.S_IMODE(before.st_mode) & 0o077:
        return
    descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW | os.O_NONBLOCK)
    try:
        after = os.fstat(descriptor)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(
            after.st_mode
        ):
            raise UnsafePathError(f"{what} {path} changed while it was checked; try again")
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


def private_folder(
    path: str | os.PathLike[str], *, tighten: bool = False, what: str = "the folder"
) -> Path:
    """Make sure ``path`` is a folder of ours: create it 0700, or check (and tighten) it.

    ``tighten=True`` is for nursecase's own folders (data, backups, exports): a
    folder wider than 0700 is made 0700 (through a descriptor opened with
    ``O_DIRECTORY``, so nothing but a folder is changed), and one that belongs
    to another user or is a shared sticky folder (like /tmp) is refused with
    the reason. Without it an existing folder is only checked to be a folder.
    """
    folder = Path(path)
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True)
        return folder
    except FileExistsError:
        pass
    except OSError as error:
        raise UnsafePathError(
            f"cannot create {what} {folder}: {error.strerror or error}"
        ) from error
    if not tighten:
        if not folder.is_dir():
            raise UnsafePathError(f"{what} {folder} is not a folder")
        return folder
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except NotADirectoryError:
        raise UnsafePathError(f"{what} {folder} is not a folder") from None
    except OSError as error:
        raise UnsafePathError(f"cannot open {what} {folder}: {error.strerror or error}") from error
    try:
        _tighten(descriptor, folder, what)
    finally:
        os.close(descriptor)
    return folder


def _tighten(descriptor: int, folder: Path, what: str) -> None:
    status = os.fstat(descriptor)
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o077:
        return
    if mode & stat.S_ISVTX or mode & 0o002:
        raise UnsafePathError(
            f"{what} {folder} is shared with other users (mode {mode:o}); use a folder of your own"
        )
    if status.st_uid != os.geteuid():
        raise UnsafePathError(
            f"{what} {folder} belongs to another user and is readable by others"
            f" (mode {mode:o}); use a folder of your own"
        )
    os.fchmod(descriptor, FOLDER_MODE)


def create_private_file(path: str | os.PathLike[str]) -> None:
    """Create a new empty file 0600 (never over an existing one, never through a link).

    Raises FileExistsError when anything is already at ``path``.
    """
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NO_FOLLOW, FILE_MODE)
    os.close(descriptor)


# --- whole or not at all --------------------------------------------------------

#: A temporary file that no writer holds and nobody touched for this long is
#: abandoned even when the process its name names is alive (its id may have
#: been reused) or its name names no process (the earlier forms).
STALE_AFTER_SECONDS = 600

#: ``.<target>.<pid>-<random>.<kind>``, the temporary name of this version; the
#: earlier ``.<target>.<random>.<kind>`` (8 hex digits, or mkstemp's 8 letters,
#: digits and underscores for report part files) is still recognised.
_TEMPORARY_NAME = re.compile(
    r"^\.(?P<target>.+)\.(?:(?P<pid>[0-9]+)-)?[a-z0-9_]{8}\.(?P<kind>[A-Za-z0-9-]+)$"
)


def temporary_name(target: Path, kind: str) -> Path:
    """A fresh temporary path beside ``target``: ``.<name>.<pid>-<random>.<kind>``.

    The process id says whose it is, so a checker tells the file of a killed
    writer from one still being written, even before its writer holds the lock.
    """
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a rename in ``folder`` to disk (best effort: not every system opens folders)."""
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


def _try_lock(descriptor: int) -> bool:
    """Take the exclusive lock if it is free (a checker's test); False if held or unsupported."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _hold(descriptor: int) -> None:
    """Mark a temporary file as being written: an exclusive lock until it is closed.

    Blocking: the only other holder of a file this fresh is a checker's brief
    test lock. On a file system without locks the process id still tells.
    """
    with contextlib.suppress(OSError):
        fcntl.flock(descriptor, fcntl.LOCK_EX)


def _create_temporary(target: Path, kind: str) -> tuple[Path, int]:
    """A new temporary file beside ``target`` (0600, never over anything); its path and fd."""
    flags = os.O_CREAT | os.O_EXCL | os.O_RDWR | _NO_FOLLOW
    for _attempt in range(100):
        temporary = temporary_name(target, kind)
        try:
            return temporary, os.open(temporary, flags, FILE_MODE)
        except FileExistsError:
            continue  # 32 random bits met another file: draw again
    raise FileExistsError(f"cannot find a free temporary name beside {target}")


@contextlib.contextmanager
def _atomic(target: str | os.PathLike[str], kind: str, replace: bool) -> Iterator[tuple[Path, int]]:
    """The temporary file's path and descriptor; see ``atomic_private_write``."""
    target = Path(target)
    refuse_special(target, "the destination")
    temporary, descriptor = _create_temporary(target, kind)
    try:
        _hold(descriptor)
        os.fchmod(descriptor, FILE_MODE)  # a umask cannot widen it; say so anyway
        yield temporary, descriptor
        os.fsync(descriptor)
        crash_point(f"before-rename-{kind}")
        # Renamed while still held: the file is never unheld and unfinished.
        if replace:
            os.replace(temporary, target)
        else:
            _rename_no_replace(temporary, target)
        sync_folder(target.parent)
    except BaseException:
        remove_with_companions(temporary)
        raise
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_private_write(
    target: str | os.PathLike[str], kind: str = "part", *, replace: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it becomes ``target``, whole.

    The temporary file exists (empty, 0600, locked by this process) when the
    body starts; the body writes it by path (SQLite, pg_dump) and must close
    what it opened. On success the file is fsynced and renamed to ``target``
    (``replace=False``: never over an existing file, FileExistsError instead),
    then the folder is fsynced. On any error, or if the body raises, the
    temporary file and its SQLite companions are removed and ``target`` is
    untouched. ``kind`` ends the temporary name, so ``leftovers`` can find the
    files of killed writers of that kind.
    """
    with _atomic(target, kind, replace) as (temporary, _descriptor):
        yield temporary


@contextlib.contextmanager
def atomic_private_file(
    target: str | os.PathLike[str], kind: str = "part", *, replace: bool = True
) -> Iterator[BinaryIO]:
    """Like ``atomic_private_write``, but yield a binary handle on the temporary file.

    The handle writes through the descriptor that holds the lock (the file is
    never opened again by path); it is flushed and closed before the file is
    fsynced and renamed.
    """
    with (
        _atomic(target, kind, replace) as (_temporary, descriptor),
        os.fdopen(descriptor, "wb", closefd=False) as handle,
    ):
        yield handle


def write_private(path: str | os.PathLike[str], data: bytes, kind: str = "tmp") -> None:
    """Write ``data`` to ``path`` whole, 0600 (replacing a previous file atomically)."""
    with atomic_private_file(path, kind) as handle:
        handle.write(data)


def _rename_no_replace(temporary: Path, target: Path) -> None:
    """Give ``temporary`` the name ``target`` unless something has that name already."""
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError:
        raise FileExistsError(f"{target} already exists; choose a new file name") from None
    except OSError:
        # No hard links on this file system: check, then rename (a small window).
        if os.path.lexists(target):
            raise FileExistsError(f"{target} already exists; choose a new file name") from None
        os.rename(temporary, target)
        return
    os.unlink(temporary)


def remove_with_companions(path: Path) -> None:
    """Remove ``path`` and its SQLite journal/WAL/shm files, whichever exist."""
    for candidate in (path, *(path.with_name(path.name + end) for end in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    except OSError:
        return False
    return True


def is_abandoned(path: Path, now: float | None = None) -> bool:
    """True when ``path`` is a temporary file of ours whose writer is gone.

    All of these must hold: it is named like a temporary file of this module;
    it is a regular file of this user with mode 0600, as this module makes
    them (a link, a special file or anybody else's file is never abandoned
    work); nobody holds its lock; and the process its name names is gone, or
    (no process named, or the id reused) nobody touched it for
    ``STALE_AFTER_SECONDS``. A writer between creating its file and locking it
    is alive and has just touched it, so its file is never taken for abandoned.
    Examined with ``lstat`` and opened with ``O_NOFOLLOW | O_NONBLOCK``.
    """
    match = _TEMPORARY_NAME.match(Path(path).name)
    if match is None:
        return False
    try:
        if describe_mode(os.lstat(path).st_mode) is not None:
            return False
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        status = os.fstat(descriptor)
        ours = (
            stat.S_ISREG(status.st_mode)
            and status.st_uid == os.geteuid()
            and not stat.S_IMODE(status.st_mode) & 0o077
        )
        if not ours or not _try_lock(descriptor):
            return False
        pid = int(match["pid"]) if match["pid"] is not None else None
        if pid is not None and pid != os.getpid() and not _process_exists(pid):
            return True
        return (time.time() if now is None else now) - status.st_mtime > STALE_AFTER_SECONDS
    finally:
        os.close(descriptor)  # closing releases the test lock


def leftovers(
    folder: str | os.PathLike[str], kind: str, target: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Temporary files of ``kind`` in ``folder`` left by killed writers (sorted).

    With ``target``, only those of that destination. A file being written is
    never listed (see ``is_abandoned``).
    """
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    now = time.time()
    found = []
    for name in names:
        match = _TEMPORARY_NAME.match(name)
        if match is None or match["kind"] != kind:
            continue
        if target is not None and match["target"] != Path(target).name:
            continue
        path = Path(folder) / name
        if is_abandoned(path, now):
            found.append(path)
    return found


def remove_leftover(path: Path) -> bool:
    """Remove an abandoned temporary file (and companions); False if held or not removable."""
    if not is_abandoned(path):
        return False
    try:
        remove_with_companions(path)
    except OSError:
        return False  # not ours to remove (a read-only folder): still reported
    return True


# --- test seam ------------------------------------------------------------------


def crash_point(name: str) -> None:
    """Die by SIGKILL here when ``NURSECASE_CRASH_AT`` is ``name`` (crash tests only)."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "STALE_AFTER_SECONDS",
    "UnsafePathError",
    "atomic_private_file",
    "atomic_private_write",
    "crash_point",
    "create_private_file",
    "describe_mode",
    "is_abandoned",
    "kind_of",
    "leftovers",
    "private_file_mode",
    "private_folder",
    "refuse_special",
    "remove_leftover",
    "remove_with_companions",
    "sync_folder",
    "temporary_name",
    "write_private",
]
