"""Back up a server (PostgreSQL) database: pg_dump where present, else a logical copy.

``pg_dump --format=custom`` is the server's own tool and restores with
``pg_restore``. Where it is missing, or older than the server (it refuses to
dump a newer server), the database is copied table by table into a new SQLite
file instead (``nursecase.db.maintenance.copy``), which nursecase opens directly.

The password never reaches a command line (where ``ps`` shows it): pg_dump
gets it through PGPASSWORD. The backup file is its user's alone (0600), written
under a temporary name until complete, and a failed backup leaves no file behind.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from nursecase.db.engine import make_engine
from nursecase.db.locations import BACKUP_PART
from nursecase.db.maintenance.backup import prepare_backup_destination
from nursecase.db.maintenance.copy import CopyError, copy_database
from nursecase.db.schema import create_schema
from nursecase.files import atomic_private_write, crash_point

#: Where Debian/Ubuntu install each PostgreSQL version's programs.
POSTGRESQL_PROGRAMS = "/usr/lib/postgresql/*/bin/pg_dump"
#: The first bytes of a pg_dump custom-format archive.
PG_DUMP_MAGIC = b"PGDMP"
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


class _OlderPgDump(Exception):
    """pg_dump refused a newer server: fall back to a logical copy."""


def _check_destination(destination: Path) -> None:
    """The folder exists (0700 if made now), nothing has the backup's name, no leftovers."""
    try:
        prepare_backup_destination(destination)
    except FileExistsError as error:
        raise BackupError(str(error)) from None


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
    """Copy the server database into a new SQLite file at ``destination``.

    A refused or failed copy is a failed backup: its ``CopyError`` is raised as
    a ``BackupError`` with the same message, the one error a backup raises
    (the upgrade that backs a server up first catches that one alone).
    """
    source = make_engine(url)
    target = make_engine(destination)
    try:
        # A new file: its schema is built without a backup (there is nothing to lose).
        create_schema(target)
        copy_database(source, target)
    except CopyError as error:
        raise BackupError(str(error)) from error
    finally:
        target.dispose()
        source.dispose()


def backup_server(url: str, destination: Path) -> str:
    """Back up the server database at ``url`` to ``destination``; how it was done.

    Written under a temporary name in the destination's folder (0600) and
    renamed only once complete and verified (pg_dump's exit code and its
    archive header; the logical copy's integrity check), so a file under the
    final name is a whole backup (issue 17 item 3). Temporary files of killed
    backups in that folder are removed first. Raises ``BackupError`` on
    failure, with no file left at ``destination``.
    """
    if make_url(url).get_backend_name() == "sqlite":
        raise BackupError("backup_server is for server databases; SQLite files use db backup")
    destination = destination.expanduser()
    _check_destination(destination)
    program = find_pg_dump()
    reason = "pg_dump was not found"
    if program is not None:
        try:
            with atomic_private_write(destination, BACKUP_PART, replace=False) as temporary:
                result = _run_pg_dump(program, url, temporary)
                if result.returncode != 0:
                    if VERSION_MISMATCH in result.stderr:
                        raise _OlderPgDump
                    raise BackupError(f"pg_dump failed: {_pg_dump_problem(result.stderr)}")
                with open(temporary, "rb") as dump:
                    if dump.read(len(PG_DUMP_MAGIC)) != PG_DUMP_MAGIC:
                        raise BackupError("pg_dump wrote no archive; nothing was kept")
                crash_point("backup-copied")
            return f"pg_dump custom format ({program}); restore with pg_restore"
        except _OlderPgDump:
            reason = "pg_dump is older than the server"
    with atomic_private_write(destination, BACKUP_PART, replace=False) as temporary:
        _logical_copy(url, temporary)
        with sqlite3.connect(temporary) as copy:
            problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        copy.close()
        if problems != ["ok"]:
            raise BackupError(f"the copy failed its integrity check: {problems[0]}")
        crash_point("backup-copied")
    return f"logical copy into an SQLite file ({reason})"


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
