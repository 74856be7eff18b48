"""What every service shares: the engine, the clock, the settings and the nurse.

One user action is one transaction: ``with context.write() as session:``
opens a session whose transaction begins immediately (``BEGIN IMMEDIATE`` on
SQLite, the write-lock row on a server) and commits at the end of the block
or rolls back on any error, so nothing is ever half-written.
``context.read()`` gives a session on the read-only engine, which never takes
the write lock. Inside ``with context.reading():`` every ``read()`` of the same
thread joins one session: a read model built from many reads (the patient
chart) opens one connection and one transaction, and sees one snapshot.

Sessions use ``expire_on_commit=False`` and services return frozen read models
built inside the block, so no ORM row (and no lazy load) ever leaves a service.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nursecase.clock import Clock
from nursecase.config import Settings
from nursecase.db.engine import read_engine
from nursecase.db.locking import begin_write
from nursecase.services.errors import NoNurseError


@dataclass
class ServiceContext:
    """The shared state of one signed-in workstation session."""

    engine: Engine
    clock: Clock
    settings: Settings = field(default_factory=Settings)
    nurse_id: int | None = None
    nurse_name: str | None = None

    def __post_init__(self) -> None:
        self._read_engine = read_engine(self.engine)
        # The shared read session of ``reading()``, per thread: screens read
        # in several worker threads at once, each with its own session.
        self._shared = threading.local()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one user action: commit on success, roll back on error.

        On a server database the transaction first queues behind other writers
        (``nursecase.db.locking``), as SQLite's BEGIN IMMEDIATE does.
        """
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            begin_write(session)
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; it never blocks a writer.

        Inside ``reading()`` on this thread, the shared session of that block.
        """
        shared = getattr(self._shared, "session", None)
        if shared is not None:
            yield shared
            return
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """One read session for every ``read()`` of this thread until the block ends.

        For a read model assembled from several services' reads: one
        connection, one transaction and one snapshot instead of one per read,
        and a row read once (the patient, by id) is not read again. Only reads
        join it; ``write()`` always opens its own transaction. Nested
        ``reading()`` blocks join the outer one.
        """
        shared = getattr(self._shared, "session", None)
        if shared is not None:
            yield shared
            return
        with Session(self._read_engine, expire_on_commit=False) as session, session.begin():
            self._shared.session = session
            try:
                yield session
            finally:
                self._shared.session = None

    def require_nurse(self) -> int:
        """The signed-in nurse's id, or NoNurseError."""
        if self.nurse_id is None:
            raise NoNurseError()
        return self.nurse_id
