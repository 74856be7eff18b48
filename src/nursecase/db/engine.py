"""The database engine: one place that knows SQLite from PostgreSQL.

``make_engine(path_or_url)`` is the seam every caller uses. A value containing
``://`` is an SQLAlchemy URL; anything else is a file path for SQLite.

On SQLite (DESIGN.md section 4):
- every connection sets WAL, synchronous=FULL, foreign keys and a busy timeout;
- write transactions start with ``BEGIN IMMEDIATE`` so two terminals on one
  file queue for the write lock instead of failing half-way with "database is
  locked"; read-only sessions (``read_engine``) start a plain deferred BEGIN so
  that a screen reading never blocks a writer;
- the database file and its folder are created 0600/0700 before SQLite opens
  them, and SQLite gives the -wal/-shm files the mode of the database file.

An SQLCipher-encrypted file (``nursecase.db.encryption``) is detected by its
header; its engine uses the ``sqlcipher3`` driver and keys every connection
before any other statement. The key comes from ``key=`` or, when not given,
from the key file, NURSECASE_KEY_FILE or the prompt the CLI chose
(``nursecase.db.key_source``).

Core tier of db/: this module imports ``locations`` and, lazily, ``encryption``
and ``nursecase.files``; nothing of db/'s maintenance tier.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError

from nursecase.db.locations import DatabaseLocationError

#: Execution option that marks an engine (or connection) as read-only.
READ_ONLY_OPTION = "nursecase_read_only"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def database_url(path_or_url: str | os.PathLike[str]) -> str:
    """Turn a ``--db`` value into an SQLAlchemy URL string."""
    text = str(path_or_url).strip()
    if not text:
        raise DatabaseLocationError("the database location is empty")
    if "://" in text:
        try:
            make_url(text)
        except Exception as error:  # sqlalchemy raises ArgumentError; keep the message short
            raise DatabaseLocationError(f"not a valid database URL: {text!r}") from error
        return text
    return f"sqlite:///{database_path(text)}"


def database_path(text: str) -> Path:
    """The absolute path of a database file, checked before anything touches it.

    The folders on the way are resolved, the file's own name is not: a
    symbolic link there is refused, never followed (issue 17 item 8: a link to
    a text file, or ``/dev/null`` as root, must not get the database's mode).
    So are a folder, a device, a FIFO and a socket, in one line naming the path.
    """
    from nursecase.files import kind_of

    path = Path(text).expanduser()
    special_name = path.name in ("", ".", "..")
    path = path.resolve() if special_name else path.parent.resolve() / path.name
    kind = kind_of(path)
    if kind is not None:
        raise DatabaseLocationError(
            f"the database {path} is {kind}; give the path of a regular file"
            + (" (links are not followed)" if kind == "a symbolic link" else "")
        )
    return path


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for other databases and memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def prepare_sqlite_file(path: Path) -> None:
    """Create the folder 0700 and the file 0600 before SQLite touches them.

    Creating the file ourselves, with an explicit mode, is the only way to be
    sure it never exists with the process umask's looser mode, even briefly.
    A link, folder, device, FIFO or socket at ``path`` is refused untouched;
    an existing file's mode is tightened through a descriptor (``nursecase.files``).
    """
    from nursecase.files import (
        UnsafePathError,
        create_private_file,
        private_file_mode,
        private_folder,
    )

    try:
        private_folder(path.parent, what="the data folder")
        private_file_mode(path, "the database")
        create_private_file(path)
    except FileExistsError:
        return
    except UnsafePathError as error:
        raise DatabaseLocationError(str(error)) from error
    except OSError as error:
        raise DatabaseLocationError(
            f"cannot create the database file {path}: {error.strerror}"
        ) from error


def copy_private_file(source: Path, destination: Path) -> None:
    """Copy a small file (a key, a salt) to a new file created 0600; never over one.

    Created with O_EXCL and the mode at once, so the copy is never readable by
    others, even for a moment; an existing destination raises FileExistsError.
    """
    from nursecase.files import FILE_MODE, private_folder

    private_folder(destination.parent)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(destination, flags, FILE_MODE)
    with os.fdopen(descriptor, "wb") as copy:
        copy.write(source.read_bytes())


def _install_sqlite_hooks(
    engine: Engine, foreign_keys: bool, key: bytes | None = None, path: Path | None = None
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the sqlite3 module so that the
        # "begin" hook below decides how each transaction starts.
        dbapi_connection.isolation_level = None
        if key is not None:
            # SQLCipher: the key must be the first statement on the connection.
            from nursecase.db.encryption import apply_key

            apply_key(dbapi_connection, key, path)
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            if pragma.startswith("PRAGMA foreign_keys") and not foreign_keys:
                pragma = "PRAGMA foreign_keys=OFF"
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    path_or_url: str | os.PathLike[str],
    *,
    echo: bool = False,
    foreign_keys: bool = True,
    key: bytes | None = None,
) -> Engine:
    """Build the engine for a file path or URL (nothing is opened before this call).

    ``foreign_keys=False`` is for migrations only (see ``nursecase.db.schema``).
    An encrypted SQLite file is opened with SQLCipher and ``key`` (the raw
    32-byte key); without ``key`` it is found from the key file or the chosen prompt.
    A wrong key raises ``EncryptionError`` on the first connection.
    """
    url = database_url(path_or_url)
    file_path = sqlite_file(url)
    if file_path is not None:
        prepare_sqlite_file(file_path)
        from nursecase.db.encryption import is_encrypted

        if is_encrypted(file_path):
            return _create_encrypted(url, file_path, echo, foreign_keys, key)
    backend = make_url(url).get_backend_name()
    try:
        engine = _create(url, backend, echo, foreign_keys)
    except (ImportError, NoSuchModuleError) as error:
        raise DatabaseLocationError(
            f"no database driver for {backend!r}; for PostgreSQL install nursecase[postgresql]"
        ) from error
    return engine


def _create(url: str, backend: str, echo: bool, foreign_keys: bool) -> Engine:
    if backend == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 5},
        )
        _install_sqlite_hooks(engine, foreign_keys)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
    return engine


def _create_encrypted(
    url: str, path: Path, echo: bool, foreign_keys: bool, key: bytes | None
) -> Engine:
    from nursecase.db.encryption import key_for, sqlcipher_module

    module = sqlcipher_module()
    if key is None:
        key = key_for(path)
    engine = create_engine(
        url,
        echo=echo,
        module=module,
        connect_args={"check_same_thread": False, "timeout": 5},
    )
    _install_sqlite_hooks(engine, foreign_keys, key, path)
    return engine


def read_engine(engine: Engine) -> Engine:
    """The same pool, marked read-only: its transactions never take the write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def optimize(engine: Engine, *, full: bool = False) -> None:
    """Keep the query planner's statistics fresh (SQLite; PostgreSQL's autovacuum does this).

    Without statistics SQLite may start a nurse's worklist query from a global
    index and walk every nurse's rows (measured: 0.8 s instead of 25 ms at
    100,000 patients). ``full`` runs ANALYZE (after a bulk load);
    otherwise ``PRAGMA optimize`` analyses only what it judges stale, and is
    what SQLite recommends before a connection closes.
    """
    if not is_sqlite(engine):
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE" if full else "PRAGMA optimize")
        connection.commit()


def shown_location(path_or_url: str | os.PathLike[str]) -> str:
    """A database location fit to print: a URL's password is masked ("***")."""
    text = str(path_or_url)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:  # not a URL after all; print nothing of it that could be a secret
        return "(the database URL)"


def integrity_problems(connection) -> list[str]:
    """What the database's own checks find wrong (empty when all is well).

    SQLite: ``PRAGMA integrity_check`` (the file's structure) and
    ``foreign_key_check`` (rows written while foreign keys were off, as during
    migrations). A server checks every foreign key on every write and keeps
    its own files consistent, so there is nothing of this kind to ask it.
    """
    if connection.dialect.name != "sqlite":
        return []
    problems = [
        row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check") if row[0] != "ok"
    ][:5]
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        problems.append(f"{len(broken)} rows refer to missing rows")
    return problems
