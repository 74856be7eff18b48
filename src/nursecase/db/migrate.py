"""Schema migrations: check cheaply, upgrade with Alembic only when due.

Launching the app must not pay for importing Alembic (DESIGN.md section 5), so
``revision_state`` compares the stored revision with ``HEAD_REVISION`` using
plain SQL; Alembic is imported only inside ``upgrade``. A test keeps
``HEAD_REVISION`` equal to the head of the migration scripts.

Before upgrading a database that already holds tables, a backup is taken with
SQLite's online backup API, under a temporary name until it is complete and
verified. Migrations run with foreign keys OFF: a batch
rebuild of a table with them ON would delete cascaded child rows.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from nursecase.db.encryption import (
    backup_encrypted,
    connect_encrypted,
    is_encrypted,
    key_for,
)
from nursecase.db.engine import make_engine, read_engine, sqlite_file
from nursecase.files import (
    atomic_private_write,
    crash_point,
    leftovers,
    private_folder,
    refuse_special,
    remove_leftover,
    write_private,
)

#: The newest migration script's revision id.
HEAD_REVISION = "0007_trustworthy_flags"

MIGRATIONS_FOLDER = Path(__file__).parent / "migrations"


class MigrationError(RuntimeError):
    """An upgrade could not run; the database is left as it was."""


@dataclass(frozen=True)
class RevisionState:
    """Where a database stands against the migration scripts."""

    current: str | None
    head: str
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        """True when no upgrade is due."""
        return self.current == self.head


def revision_state(engine: Engine) -> RevisionState:
    """Read the stored revision without importing Alembic.

    A read-only transaction: it never waits for (or takes) the write lock, so
    a command that only reads, such as an export, starts while another writer
    works.
    """
    with read_engine(engine).connect() as connection:
        names = set(inspect(connection).get_table_names())
        current = None
        if "alembic_version" in names:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return RevisionState(
        current=current, head=HEAD_REVISION, has_tables=bool(names - {"alembic_version"})
    )


#: The suffix of the audit key file beside an SQLite database.
AUDIT_KEY_SUFFIX = ".audit-key"


#: The kind (name ending) of a backup's temporary file (``nursecase.files``).
BACKUP_PART = "backup-part"


def backup_leftovers(folder: Path) -> list[Path]:
    """Temporary files of killed backups in ``folder`` (a backup at work is not listed)."""
    return leftovers(folder, BACKUP_PART)


def remove_backup_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files of killed backups in ``folder``; the ones removed."""
    return [path for path in backup_leftovers(folder) if remove_leftover(path)]


def prepare_backup_destination(destination: Path) -> None:
    """Make ready for a backup at ``destination``: its folder, its name, no leftovers.

    The folder is created (0700) if missing; a link, folder or device at the
    name raises ``UnsafePathError`` and an existing file ``FileExistsError`` (a
    backup never replaces anything); the temporary files killed backups left
    in the folder are removed.
    """
    private_folder(destination.parent, what="the backup folder")
    refuse_special(destination, "the backup")
    if os.path.lexists(destination):
        raise FileExistsError(f"{destination} already exists; choose a new file name")
    remove_backup_leftovers(destination.parent)


def backup_sqlite(source: Path, destination: Path) -> Path:
    """Copy a live SQLite database with the online backup API (mode 0600), whole or not at all.

    The copy is written to ``.<name>.<pid>-<random>.backup-part`` in the destination's
    folder, verified (integrity check, the same schema objects as the source),
    fsynced, and only then renamed to ``destination`` (issue 17 item 3): a
    file under the final name is a complete backup. Temporary files of killed
    backups in that folder are removed first.

    An encrypted (SQLCipher) database is copied encrypted with the same key,
    and its salt file is copied beside the backup; the audit key file too.
    Both are in place before the backup gets its name.
    """
    destination = destination.expanduser()
    prepare_backup_destination(destination)
    # The key before any file: a missing or wrong passphrase leaves no file at all.
    encryption_key = key_for(source) if is_encrypted(source) else None
    with atomic_private_write(destination, BACKUP_PART, replace=False) as temporary:
        if encryption_key is not None:
            # Same key, same salt file beside it: the backup stays encrypted.
            backup_encrypted(source, temporary, encryption_key, salt_for=destination)
            copy = connect_encrypted(temporary, encryption_key)
        else:
            with sqlite3.connect(source) as source_db, sqlite3.connect(temporary) as target_db:
                source_db.backup(target_db)
            source_db.close()
            target_db.close()
            copy = sqlite3.connect(temporary)
        crash_point("backup-copied")
        try:
            _verify_backup(copy, source, encryption_key)
        finally:
            copy.close()
        # The audit trail's key lives beside the database (services.audit_anchor):
        # a backup without it could not prove its trail intact.
        key = source.with_name(source.name + AUDIT_KEY_SUFFIX)
        if key.is_file():
            write_private(
                destination.with_name(destination.name + AUDIT_KEY_SUFFIX), key.read_bytes()
            )
    return destination


def _schema_size(connection) -> int:
    return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]


def _verify_backup(copy, source: Path, key: bytes | None) -> None:
    """Refuse a copy that fails its integrity check or lacks the source's tables."""
    problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise MigrationError(f"the backup failed its integrity check: {problems[0]}")
    original = connect_encrypted(source, key) if key is not None else sqlite3.connect(source)
    try:
        expected = _schema_size(original)
    finally:
        original.close()
    if _schema_size(copy) != expected:
        raise MigrationError("the backup does not hold the database's tables; nothing was kept")


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    config.attributes["connection"] = connection
    return config


def upgrade(
    url: str, backup_folder: Path | None = None, now: datetime | None = None
) -> Path | None:
    """Upgrade the database at ``url`` to the head revision.

    Returns the backup taken first, if any. Uses its own engine with foreign
    keys off; callers keep their own engine for normal work.
    """
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        state = revision_state(engine)
        backup = None
        database_file = sqlite_file(str(engine.url))
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        if state.has_tables and not state.up_to_date and database_file is not None:
            folder = backup_folder or database_file.parent / "backups"
            # nursecase's own backups folder: 0700, tightened if it was wider.
            private_folder(folder, tighten=True, what="the backups folder")
            name = f"{database_file.stem}-{stamp}-before-{state.head}.db"
            backup = backup_sqlite(database_file, folder / name)
        elif state.has_tables and not state.up_to_date:
            backup = _backup_server_before_upgrade(engine, backup_folder, stamp, state.head)
        with engine.connect() as connection:
            command.upgrade(_alembic_config(connection), "head")
            connection.commit()
            if engine.dialect.name == "sqlite":
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise MigrationError(
                        f"the upgrade left {len(problems)} rows with broken references;"
                        f" restore the backup {backup}"
                    )
        return backup
    finally:
        engine.dispose()


def _backup_server_before_upgrade(
    engine: Engine, backup_folder: Path | None, stamp: str, head: str
) -> Path | None:
    """pg_dump a server database before its schema changes; None when pg_dump is absent.

    A logical copy is no fallback here (it needs the current schema on both
    sides), so without pg_dump the upgrade goes on and relies on the server's
    own backups; a pg_dump that fails stops the upgrade with nothing changed.
    """
    from nursecase.db.copy import CopyError
    from nursecase.db.server_backup import BackupError, backup_server, find_pg_dump
    from nursecase.paths import data_home

    if find_pg_dump() is None:
        return None
    url = engine.url.render_as_string(hide_password=False)
    folder = backup_folder or data_home() / "backups"
    destination = folder / f"{engine.url.database}-{stamp}-before-{head}.dump"
    try:
        backup_server(url, destination)
    except (BackupError, CopyError) as error:
        raise MigrationError(f"no upgrade: the backup taken first failed ({error})") from error
    return destination


def downgrade(url: str, revision: str) -> None:
    """Step the schema back to ``revision`` (tests of the upgrade path; emergencies)."""
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            command.downgrade(_alembic_config(connection), revision)
            connection.commit()
    finally:
        engine.dispose()


def revisions_before_head() -> list[str]:
    """Every revision id older than the head, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    script = ScriptDirectory.from_config(config)
    return [revision.revision for revision in script.walk_revisions()][::-1][:-1]


def ensure_schema(engine: Engine, backup_folder: Path | None = None) -> Path | None:
    """Upgrade if due (the launch path); returns the backup taken, if any."""
    state = revision_state(engine)
    if state.up_to_date:
        return None
    # Refused before the backup: an unknown revision cannot be upgraded, and a
    # full copy taken on every refused attempt would only fill the disk.
    refusal = unknown_revision(state)
    if refusal is not None:
        raise MigrationError(refusal)
    return upgrade(engine.url.render_as_string(hide_password=False), backup_folder)


def known_revisions() -> list[str]:
    """The revisions of this nursecase's migration scripts, oldest first (no Alembic import)."""
    return sorted(path.stem for path in (MIGRATIONS_FOLDER / "versions").glob("[0-9]*_*.py"))


def unknown_revision(state: RevisionState) -> str | None:
    """Why a database's stored revision cannot be upgraded by this nursecase, or None.

    A later numbered revision was written by a newer nursecase; anything else
    (another program's revision, bytes, a number of ours with another name)
    means the file is not a nursecase database.
    """
    current = state.current
    if current is None or current in known_revisions():
        return None
    if isinstance(current, str) and current[:4].isdigit() and current[:4] > state.head[:4]:
        return (
            f"the database was made by a newer nursecase (revision {current}; this one"
            f" knows up to {state.head}): upgrade nursecase"
        )
    return f"not a nursecase database (unknown schema revision {current!r})"


def schema_differences(engine: Engine) -> list:
    """Alembic's autogenerate diff between the models and the database (empty = agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nursecase.db.models import metadata

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, metadata)
