"""Writing report files safely: all or nothing, readable by the owner only.

Exports hold PHI (DESIGN.md section 4), so a file is written to a temporary
file in the destination folder, created with mode 0600 from the start (never
briefly readable by others), flushed to disk, then renamed over the
destination with ``os.replace``, which is atomic on one file system. A reader
therefore sees the old file or the whole new one, never half of it; if
anything fails, the temporary file is removed and an existing file is left as
it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from nursecase.reports.errors import ReportError

FILE_MODE = 0o600
"""Mode of every written report: read and write for the owner only."""

TEMPORARY_SUFFIX = ".part"


def _check_destination(target: Path) -> None:
    """Refuse, with a clear message, a destination that cannot be a file."""
    if target.name in ("", ".", ".."):
        raise ReportError(f"{target} is not a file name")
    if target.is_dir():
        raise ReportError(f"{target} is a folder; give a file name inside it")
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


def write_atomically(path: Path | str, data: bytes | Iterable[bytes]) -> Path:
    """Write ``data`` to ``path`` atomically with mode 0600 and return the path.

    ``data`` is the whole content, or an iterable of byte chunks (a large export
    can stream its rows); if producing a chunk raises, that error propagates
    and nothing is written. A missing folder, a folder at ``path`` or an
    operating-system error (no permission, disk full) raises ReportError.
    """
    target = Path(path)
    _check_destination(target)
    folder = target.parent
    try:
        # mkstemp creates the file with mode 0600 and O_EXCL: private from the first byte.
        descriptor, temporary_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=folder
        )
    except OSError as error:
        raise ReportError(f"cannot write in {folder}: {error.strerror or error}") from error
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # A umask cannot widen mkstemp's mode, but say it explicitly anyway.
            os.fchmod(handle.fileno(), FILE_MODE)
            chunks = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
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
    return target


__all__ = ["FILE_MODE", "write_atomically"]
