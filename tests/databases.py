"""Test databases on SQLite and PostgreSQL, behind one interface.

Every test that touches the database runs once per backend (DESIGN.md: the
same code runs on a local SQLite file and a shared PostgreSQL server). A
backend builds a *template* once per session (migrated, or migrated and
seeded) and hands each test a private copy:

- SQLite: the template is a closed file, copied into the test's folder;
- PostgreSQL: the template is a database, cloned with
  ``CREATE DATABASE ... TEMPLATE``. A clone of a small template (the empty
  migrated one most tests take) is not dropped when the test ends but put back
  as the template left it (``Reset``) and handed to the next test: cloning
  costs about half a second on the server, putting back a few milliseconds.
  A clone whose schema a test changed is dropped, never reused.

The PostgreSQL server comes from ``NURSECASE_TEST_POSTGRESQL`` (an SQLAlchemy
URL of a throwaway cluster, as ``scripts/postgres-cluster`` prints; ``.ci/run``
starts one). Its test databases are created and dropped freely: never point it
at a server that holds anything.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

#: The environment variable naming the throwaway PostgreSQL server for tests.
POSTGRESQL_VARIABLE = "NURSECASE_TEST_POSTGRESQL"

BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Template:
    """A built database that tests copy: a file (SQLite) or a database name (PostgreSQL)."""

    backend: str
    location: str


@contextmanager
def private_copy(databases, template: Template, destination: Path) -> Iterator[str]:
    """A test's own copy of ``template`` (a file at ``destination`` on SQLite), dropped after."""
    location = databases.copy(template, destination)
    try:
        yield location
    finally:
        databases.drop(location)


def copy_file(template: Path, destination: Path) -> Path:
    """A private copy of a closed database file (mode 0600, folder 0700)."""
    destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(template, destination)
    destination.chmod(0o600)
    return destination


class SqliteDatabases:
    """Templates and copies as files."""

    backend = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def build(
        self, name: str, fill: Callable[[str], None], base: Template | None = None
    ) -> Template:
        """A template called ``name``: a copy of ``base`` (or empty) that ``fill`` completes."""
        path = self.folder / f"{name}.db"
        if base is not None:
            copy_file(Path(base.location), path)
        fill(str(path))
        return Template(self.backend, str(path))

    def copy(self, template: Template, destination: Path) -> str:
        """A private copy of the template at ``destination``; its location."""
        return str(copy_file(Path(template.location), destination))

    def drop(self, location: str) -> None:
        """Nothing to do: the file lives in the test's temporary folder."""

    def close(self) -> None:
        """Nothing to do."""


class PostgresqlDatabases:
    """Templates and copies as databases on the throwaway server."""

    backend = "postgresql"

    def __init__(self, server_url: str, tag: str = "") -> None:
        self.server_url = make_url(server_url)
        # Autocommit: CREATE/DROP DATABASE cannot run inside a transaction.
        self.admin: Engine = create_engine(
            self.server_url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.prefix = database_prefix(tag)
        self.numbers = itertools.count(1)
        #: How to put a clone back as it was, per template name (None: not reusable).
        self.resets: dict[str, Reset | None] = {}
        #: Which template each clone handed out came from, by clone name.
        self.origins: dict[str, str] = {}
        #: Clones put back and waiting for a test, per template name.
        self.spares: dict[str, list[str]] = {}

    def _url(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> str:
        statement = f'CREATE DATABASE "{name}"'
        if template is not None:
            statement += f' TEMPLATE "{template}"'
        with self.admin.connect() as connection:
            connection.exec_driver_sql(statement)
        return self._url(name)

    def build(
        self, name: str, fill: Callable[[str], None], base: Template | None = None
    ) -> Template:
        """A template database: a clone of ``base`` (or empty) that ``fill`` completes."""
        database = f"{self.prefix}_{name}"
        self._drop(database)
        base_name = None if base is None else make_url(base.location).database
        url = self._create(database, base_name)
        fill(url)
        return Template(self.backend, url)

    def copy(self, template: Template, destination: Path) -> str:
        """A database as the template is; its URL (``destination`` unused).

        A clone put back by an earlier test if there is one, else a new clone.
        """
        template_name = make_url(template.location).database
        assert template_name is not None
        if template_name not in self.resets:
            self.resets[template_name] = Reset.of(self._url(template_name))
        spares = self.spares.setdefault(template_name, [])
        if spares:
            name = spares.pop()
            location = self._url(name)
        else:
            name = f"{self.prefix}_{next(self.numbers)}"
            location = self._create(name, template_name)
        self.origins[name] = template_name
        return location

    def _drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self, location: str) -> None:
        """Put a test's database back as its template left it, or else drop it.

        Either way its connections are closed by force first.
        """
        name = make_url(location).database
        assert name is not None
        template_name = self.origins.pop(name, None)
        reset = self.resets.get(template_name) if template_name else None
        if reset is not None and reset.put_back(self.admin, location):
            self.spares[template_name].append(name)
        else:
            self._drop(name)

    def close(self) -> None:
        """Drop every database this session made and let the server go."""
        with self.admin.connect() as connection:
            names = connection.exec_driver_sql("SELECT datname FROM pg_database").scalars().all()
        # Compared in Python: in LIKE, "_" matches any character, so the pattern
        # "nctest_gw0_123_%" would also match another worker's "nctest_gw0_1234_5".
        for name in names:
            if name.startswith(f"{self.prefix}_"):
                self._drop(name)
        self.admin.dispose()


#: A template with more rows than this is cloned afresh for each test: putting
#: back a seeded caseload would cost about what a clone costs.
REUSABLE_ROWS = 200


@dataclass(frozen=True)
class Reset:
    """What a small template holds, to put a clone of it back as it was.

    The schema's fingerprint (tables, columns, indexes, triggers, functions,
    privileges, schemas), every table's rows as JSON, and every sequence's
    position. A clone whose fingerprint no longer matches (a test migrated it
    down, or added a table) is not reused.
    """

    fingerprint: str
    rows: dict[str, str]
    sequences: dict[str, tuple[int, bool]]

    @classmethod
    def of(cls, location: str) -> Reset | None:
        """The template's contents; None if it holds too many rows to put back cheaply."""
        engine = create_engine(location, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                tables = connection.exec_driver_sql(_TABLES).scalars().all()
                counts = {
                    table: connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar()
                    for table in tables
                }
                if sum(counts.values()) > REUSABLE_ROWS:
                    return None
                rows = {
                    table: connection.exec_driver_sql(
                        f'SELECT json_agg(t)::text FROM "{table}" AS t'
                    ).scalar()
                    for table, count in counts.items()
                    if count
                }
                sequences = {
                    name: tuple(
                        connection.exec_driver_sql(
                            f'SELECT last_value, is_called FROM "{name}"'
                        ).one()
                    )
                    for name in connection.exec_driver_sql(_SEQUENCES).scalars()
                }
                fingerprint = connection.exec_driver_sql(_FINGERPRINT).scalar()
        finally:
            engine.dispose()
        return cls(fingerprint, rows, sequences)

    def put_back(self, admin: Engine, location: str) -> bool:
        """Empty the clone, restore the template's rows and sequences; False if it can't be."""
        name = make_url(location).database
        with admin.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                {"name": name},
            )
        engine = create_engine(location, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                if connection.exec_driver_sql(_FINGERPRINT).scalar() != self.fingerprint:
                    return False
                # Neither foreign keys nor the audit trail's no-change trigger
                # apply while the rows are put back.
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                for table in connection.exec_driver_sql(_TABLES).scalars():
                    connection.exec_driver_sql(f'DELETE FROM "{table}"')
                for table, rows in self.rows.items():
                    connection.exec_driver_sql(
                        f'INSERT INTO "{table}"'
                        f' SELECT * FROM json_populate_recordset(NULL::"{table}", %(rows)s)',
                        {"rows": rows},
                    )
                for sequence, (value, called) in self.sequences.items():
                    connection.exec_driver_sql(
                        "SELECT setval(%(sequence)s, %(value)s, %(called)s)",
                        {"sequence": f'"{sequence}"', "value": value, "called": called},
                    )
        except Exception:
            return False  # a clone that cannot be put back is dropped
        finally:
            engine.dispose()
        return True


_TABLES = (
    "SELECT relname FROM pg_class"
    " WHERE relkind IN ('r', 'p') AND relnamespace = 'public'::regnamespace ORDER BY relname"
)
_SEQUENCES = (
    "SELECT relname FROM pg_class"
    " WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace ORDER BY relname"
)
#: One text standing for everything a test could change in a database's schema.
_FINGERPRINT = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace),
    (SELECT string_agg(concat_ws(':', c.relname, c.relkind, c.relacl::text), ','
                       ORDER BY c.relname)
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace),
    (SELECT string_agg(concat_ws(':', a.attrelid::regclass::text, a.attname,
                                 format_type(a.atttypid, a.atttypmod), a.attnotnull), ','
                       ORDER BY a.attrelid::regclass::text, a.attnum)
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(concat_ws(':', tgrelid::regclass::text, tgname, tgenabled), ','
                       ORDER BY tgrelid::regclass::text, tgname)
       FROM pg_trigger),
    (SELECT string_agg(concat_ws(':', conrelid::regclass::text, conname), ','
                       ORDER BY conrelid::regclass::text, conname)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace),
    (SELECT string_agg(md5(prosrc), ',' ORDER BY proname, md5(prosrc))
       FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
    (SELECT string_agg(setconfig::text, ',') FROM pg_db_role_setting
      WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
))
"""


def listener_count(engine: Engine) -> int:
    """How many event listeners the engine and its pool have (a test may add its own)."""
    return sum(
        len(getattr(dispatch, name))
        for dispatch in (engine.dispatch, engine.pool.dispatch)
        for name in dispatch._event_names
    )


class EngineShelf:
    """Engines kept from one test to the next test on the same database location.

    SQLAlchemy caches each statement's compiled SQL on its engine, so a new
    engine per test compiles every statement the test runs again (about a
    fifth of a services test's CPU). A worker's tests take their database at
    one location (the fixtures copy an SQLite template into one folder per
    process; a PostgreSQL clone is put back and reused), so the engine can
    stay: its connections are
    closed after each test, and a test that added a listener to it (a
    statement counter) leaves with it, never handing it on.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.engines: dict[str, tuple[Engine, int]] = {}

    @contextmanager
    def engine(self, location: str) -> Iterator[Engine]:
        """An engine on ``location`` for one test: a kept one, or a new one."""
        from nursecase.db.engine import make_engine

        kept = self.engines.pop(location, None)
        if kept is None:
            engine = make_engine(location)
            listeners = listener_count(engine)
        else:
            engine, listeners = kept
        try:
            yield engine
        finally:
            engine.dispose()
        if listener_count(engine) == listeners:
            self.engines[location] = (engine, listeners)
            while len(self.engines) > self.size:
                self.engines.pop(next(iter(self.engines)))


def database_prefix(tag: str = "") -> str:
    """The start of every PostgreSQL database name this process makes: unique per process.

    Each xdist worker is its own process with its own session, templates and
    databases: ``nctest_gw0_4242`` (``nctest_main_4242`` without xdist). A
    second set of databases in the same process (a test that needs both
    backends at once) has a ``tag``: ``nctestTAG_gw0_4242``, which neither
    set's names start with the other's prefix.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"nctest{tag}_{worker}_{os.getpid()}"


def postgresql_url() -> str | None:
    """The throwaway server's URL, or None when this run has none."""
    return os.environ.get(POSTGRESQL_VARIABLE, "").strip() or None


def demo_seeder(patients: int, seed: int) -> Callable[[str], None]:
    """A template filler: the synthetic caseload, seeded at the tests' frozen time."""

    def fill(location: str) -> None:
        from nursecase.clock import FrozenClock
        from nursecase.db.engine import make_engine
        from nursecase.demo import seed_database
        from tests.conftest import FROZEN_NOW

        engine = make_engine(location)
        seed_database(engine, FrozenClock(FROZEN_NOW), patients=patients, seed=seed)
        engine.dispose()

    return fill


def query(location: str, statement: str, **parameters) -> list[tuple]:
    """Rows of one SQL statement (``:name`` parameters) on the database at ``location``.

    For tests that check what a command wrote, on either backend.
    """
    from sqlalchemy import text

    from nursecase.db.engine import make_engine

    engine = make_engine(location)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(statement), parameters)]
    finally:
        engine.dispose()


class Attacker:
    """A raw database connection, ``?`` parameters on either backend."""

    def __init__(self, connection, placeholder: str) -> None:
        self.connection = connection
        self.placeholder = placeholder

    def execute(self, statement: str, parameters: tuple = ()) -> None:
        cursor = self.connection.cursor()
        cursor.execute(statement.replace("?", self.placeholder), parameters)
        cursor.close()


#: What drops the append-only triggers, per backend (see migration 0001).
DROP_TRIGGERS = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS audit_event_no_update",
        "DROP TRIGGER IF EXISTS audit_event_no_delete",
    ),
    "postgresql": ("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",),
}


@contextmanager
def attacker(engine) -> Iterator[Attacker]:
    """A raw connection with the append-only triggers dropped; commits and closes."""
    connection = engine.raw_connection()
    try:
        raw = Attacker(connection, "?" if engine.dialect.name == "sqlite" else "%s")
        if engine.dialect.name == "sqlite":
            connection.driver_connection.isolation_level = ""  # sqlite3 opens the transaction
        for statement in DROP_TRIGGERS[engine.dialect.name]:
            raw.execute(statement)
        yield raw
        connection.commit()
    finally:
        connection.close()
