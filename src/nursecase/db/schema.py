"""The schema revision: where a database stands, and Alembic's runner (no backups here).

Launching the app must not pay for importing Alembic (DESIGN.md section 5), so
``revision_state`` compares the stored revision with ``HEAD_REVISION`` using
plain SQL; Alembic is imported only inside the functions that run or read the
migration scripts. A test keeps ``HEAD_REVISION`` equal to the head of the
migration scripts.

Migrations run with foreign keys OFF: a batch rebuild of a table with them ON
would delete cascaded child rows.

This is db/'s core tier, and it takes NO backup. Upgrading a database that
holds rows is maintenance: ``nursecase.db.maintenance.migrate`` (``upgrade``,
``ensure_schema``) backs the database up and then calls ``apply_migrations``.
Here live only what needs no backup: reading the revision, and giving a new,
empty database its schema (``create_schema``; a server backup's logical copy
builds its SQLite file this way).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from nursecase.db.engine import make_engine, read_engine

#: The newest migration script's revision id.
HEAD_REVISION = "0010_hospital_events"

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


def revisions_before_head() -> list[str]:
    """Every revision id older than the head, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    script = ScriptDirectory.from_config(config)
    return [revision.revision for revision in script.walk_revisions()][::-1][:-1]


def alembic_config(connection):
    """Alembic's configuration for running the migration scripts on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    config.attributes["connection"] = connection
    return config


def apply_migrations(engine: Engine) -> int:
    """Run the migration scripts not yet applied, up to the head; rows left with broken references.

    ``engine`` must have foreign keys off (``make_engine(..., foreign_keys=False)``).
    Takes no backup: ``nursecase.db.maintenance.migrate.upgrade`` takes one
    first, and a new database has nothing to lose. On SQLite the foreign keys
    are checked afterwards (a server checked them on every write); the count
    of rows that refer to missing rows is returned for the caller to refuse.
    """
    from alembic import command

    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
        if engine.dialect.name != "sqlite":
            return 0
        return len(connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())


def create_schema(engine: Engine) -> None:
    """Give the new, empty database behind ``engine`` the current schema.

    No backup is taken, so a database that already holds tables is refused:
    ``nursecase.db.maintenance.migrate.ensure_schema`` upgrades those, backing
    them up first. Uses its own engine with foreign keys off.
    """
    state = revision_state(engine)
    if state.up_to_date:
        return
    if state.has_tables:
        raise MigrationError(
            "the database already holds tables; upgrade it with: nursecase db upgrade"
        )
    builder = make_engine(engine.url.render_as_string(hide_password=False), foreign_keys=False)
    try:
        broken = apply_migrations(builder)
    finally:
        builder.dispose()
    if broken:
        raise MigrationError(f"building the schema left {broken} rows with broken references")


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
