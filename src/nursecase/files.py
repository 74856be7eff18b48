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
- **Whole or not at all.** ``atomic_private_write`` yields a temporary path in
  the destination's folder (``.<name>.<random>.<kind>``, created 0600 and held
  under an exclusive ``flock`` while it is written); on success it fsyncs the
  file, renames it to its final name and fsyncs the folder; on error it removes
  it. A writer killed with SIGKILL leaves its temporary file unlocked:
  ``leftovers(folder, kind)`` finds such files (a file still locked belongs to
  a writer at work and is left alone) and ``remove_leftover`` removes one with
  its SQLite journal files.
- **A documented test seam.** ``crash_point(name)`` kills the process with
  SIGKILL when ``NURSECASE_CRASH_AT`` equals ``name``: crash tests stop a real
  command exactly between two steps. It costs one environment lookup.

This module imports nothing from nursecase, so db/, services/ and reports/ may
all use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

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
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a parent is a file: nothing can be at this path
    return describe_mode(mode)


def describe_mode(mode: int) -> str | None:
    """The words for a non-regular ``st_mode`` (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
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


def temporary_name(target: Path, kind: str) -> Path:
    """A fresh temporary path beside ``target``: ``.<name>.<random>.<kind>``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.{kind}")


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


def _lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


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
    target = Path(target)
    refuse_special(target, "the destination")
    temporary = temporary_name(target, kind)
    descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_RDWR | _NO_FOLLOW, FILE_MODE)
    try:
        _lock(descriptor)
        os.fchmod(descriptor, FILE_MODE)  # a umask cannot widen it; say so anyway
        yield temporary
        os.fsync(descriptor)
        crash_point(f"before-rename-{kind}")
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


def is_abandoned(path: Path) -> bool:
    """True when ``path`` is a regular file no live writer holds (its ``flock`` is free).

    Opened with ``O_NOFOLLOW | O_NONBLOCK``; a link or special file is never abandoned work.
    """
    try:
        if describe_mode(os.lstat(path).st_mode) is not None:
            return False
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        return _lock(descriptor)
    finally:
        os.close(descriptor)  # closing releases the test lock


def leftovers(
    folder: str | os.PathLike[str], kind: str, target: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Temporary files of ``kind`` in ``folder`` left by killed writers (sorted).

    With ``target``, only those of that destination (``.<target name>.<random>.<kind>``).
    """
    ending = f".{kind}"
    start = f".{Path(target).name}." if target is not None else "."
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        if not (name.startswith(start) and name.endswith(ending)):
            continue
        middle = name[len(start) : -len(ending)]
        random_part = middle.rsplit(".", 1)[-1]
        if len(random_part) != 8 or not all(c in "0123456789abcdef" for c in random_part):
            continue
        path = Path(folder) / name
        if is_abandoned(path):
            found.append(path)
    return found


def remove_leftover(path: Path) -> bool:
    """Remove an abandoned temporary file (and companions); False if a writer holds it."""
    if not is_abandoned(path):
        return False
    remove_with_companions(path)
    return True


# --- test seam ------------------------------------------------------------------


def crash_point(name: str) -> None:
    """Die by SIGKILL here when ``NURSECASE_CRASH_AT`` is ``name`` (crash tests only)."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "UnsafePathError",
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
]
