"""Back up a server (PostgreSQL) database: pg_dump where present, else a logical copy.

``pg_dump --format=custom`` is the server's own tool and restores with
``pg_restore``. Where it is missing, or older than the server (it refuses to
dump a newer server), the database is copied table by table into a new SQLite
file instead (``nursecase.db.copy``), which nursecase opens directly.

The password never reaches a command line (where ``ps`` shows it): pg_dump
gets it through PGPASSWORD. The backup file is its user's alone (0600), and a
failed backup leaves no file behind.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from nursecase.db.copy import copy_database
from nursecase.db.engine import make_engine
from nursecase.db.migrate import ensure_schema

#: Where Debian/Ubuntu install each PostgreSQL version's programs.
POSTGRESQL_PROGRAMS = "/usr/lib/postgresql/*/bin/pg_dump"
#: What pg_dump says when the server is newer than itself.
VERSION_MISMATCH = "server version mismatch"


class BackupError(RuntimeError):
    """The backup failed; no backup file was left."""


def find_pg_dump() -> str | None:
    """pg_dump on PATH, or the newest one under /usr/lib/postgresql; None if absent."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = [path for path in glob.glob(POSTGRESQL_PROGRAMS) if os.access(path, os.X_OK)]
    if not candidates:
        return None

    def version(path: str) -> tuple[int, ...]:
        folder = Path(path).parent.parent.name
        return tuple(int(part) for part in re.findall(r"\d+", folder))

    return max(candidates, key=version)


def libpq_url(url: str) -> tuple[str, str | None]:
    """The URL as libpq reads it (no ``+driver``, no password) and the password apart."""
    parsed = make_url(url)
    password = parsed.password
    # URL.set(password=None) would keep the password: build the URL afresh.
    plain = URL.create(
        parsed.get_backend_name(),
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return plain.render_as_string(hide_password=False), (
        None if password is None else str(password)
    )


def _remove(destination: Path) -> None:
    for path in (destination, *(Path(f"{destination}{end}") for end in ("-wal", "-shm"))):
        path.unlink(missing_ok=True)


def _create_private(destination: Path) -> None:
    """Create the empty backup file 0600 (its folder 0700) before anything writes it."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(destination, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError as error:
        raise BackupError(f"{destination} already exists; choose a new file name") from error
    os.close(descriptor)


def _run_pg_dump(program: str, url: str, destination: Path) -> subprocess.CompletedProcess:
    connection, password = libpq_url(url)
    environment = dict(os.environ)
    if password is not None:
        environment["PGPASSWORD"] = password
    return subprocess.run(
        [program, "--format=custom", "--no-owner", f"--file={destination}", connection],
        env=environment,
        capture_output=True,
        text=True,
        umask=0o077,
        check=False,
    )


def _logical_copy(url: str, destination: Path) -> None:
    """Copy the server database into a new SQLite file at ``destination``."""
    source = make_engine(url)
    target = make_engine(destination)
    try:
        ensure_schema(target)
        copy_database(source, target)
    finally:
        target.dispose()
        source.dispose()


def backup_server(url: str, destination: Path) -> str:
    """Back up the server database at ``url`` to ``destination``; how it was done.

    Raises ``BackupError`` (or the copy's ``CopyError``) on failure, with no
    file left at ``destination``.
    """
    if make_url(url).get_backend_name() == "sqlite":
        raise BackupError("backup_server is for server databases; SQLite files use db backup")
    destination = destination.expanduser()
    _create_private(destination)
    try:
        program = find_pg_dump()
        reason = "pg_dump was not found"
        if program is not None:
            result = _run_pg_dump(program, url, destination)
            if result.returncode == 0:
                destination.chmod(0o600)
                return f"pg_dump custom format ({program}); restore with pg_restore"
            message = _pg_dump_problem(result.stderr)
            if VERSION_MISMATCH not in result.stderr:
                raise BackupError(f"pg_dump failed: {message}")
            reason = "pg_dump is older than the server"
        # The copy writes a fresh SQLite file: start from no file at all.
        _remove(destination)
        _create_private(destination)
        _logical_copy(url, destination)
        destination.chmod(0o600)
        return f"logical copy into an SQLite file ({reason})"
    except BaseException:
        _remove(destination)
        raise


def _pg_dump_problem(stderr: str) -> str:
    """pg_dump's complaint in one line: its first "pg_dump: error:" line, else its last line.

    libpq follows a refused connection with a hint on a line of its own
    ("Is the server running ...?"); the error line names the actual problem.
    """
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("pg_dump: error:"):
            return line.removeprefix("pg_dump: error:").strip()
    return lines[-1] if lines else "no message"
