"""Upgrading a database's schema, with a backup taken first (the launch path's ``ensure_schema``).

Reading the revision and running Alembic are db/'s core (``nursecase.db.schema``);
this module adds what keeps a nurse's data safe around them. Before upgrading
a database that already holds tables, a backup is taken: an SQLite file with
SQLite's online backup API (``nursecase.db.maintenance.backup``), a server
database with pg_dump (``nursecase.db.maintenance.server_backup``), each under
a temporary name until it is complete and verified.

Alembic is imported only when an upgrade is due (DESIGN.md section 5).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from nursecase.db.engine import make_engine, sqlite_file
from nursecase.db.locations import backups_folder
from nursecase.db.maintenance.backup import backup_sqlite
from nursecase.db.schema import (
    MigrationError,
    alembic_config,
    apply_migrations,
    revision_state,
    unknown_revision,
)
from nursecase.files import private_folder


def upgrade(
    url: str, backup_folder: Path | None = None, now: datetime | None = None
) -> Path | None:
    """Upgrade the database at ``url`` to the head revision.

    Returns the backup taken first, if any. Uses its own engine with foreign
    keys off; callers keep their own engine for normal work.
    """
    engine = make_engine(url, foreign_keys=False)
    try:
        state = revision_state(engine)
        backup = None
        database_file = sqlite_file(str(engine.url))
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        if state.has_tables and not state.up_to_date and database_file is not None:
            folder = backup_folder or backups_folder(database_file)
            # nursecase's own backups folder: 0700, tightened if it was wider.
            private_folder(folder, tighten=True, what="the backups folder")
            name = f"{database_file.stem}-{stamp}-before-{state.head}.db"
            backup = backup_sqlite(database_file, folder / name)
        elif state.has_tables and not state.up_to_date:
            backup = _backup_server_before_upgrade(engine, backup_folder, stamp, state.head)
        broken = apply_migrations(engine)
        if broken:
            raise MigrationError(
                f"the upgrade left {broken} rows with broken references;"
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
    # Imported here: only a server upgrade needs pg_dump (and the copy behind it).
    from nursecase.db.maintenance.server_backup import BackupError, backup_server, find_pg_dump
    from nursecase.paths import data_home

    if find_pg_dump() is None:
        return None
    url = engine.url.render_as_string(hide_password=False)
    folder = backup_folder or data_home() / "backups"
    destination = folder / f"{engine.url.database}-{stamp}-before-{head}.dump"
    try:
        backup_server(url, destination)
    except BackupError as error:
        raise MigrationError(f"no upgrade: the backup taken first failed ({error})") from error
    return destination


def downgrade(url: str, revision: str) -> None:
    """Step the schema back to ``revision`` (tests of the upgrade path; emergencies)."""
    from alembic import command

    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            command.downgrade(alembic_config(connection), revision)
            connection.commit()
    finally:
        engine.dispose()


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
