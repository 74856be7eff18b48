"""Serialising writers on a server database, the way SQLite's file lock does.

SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` (see
``nursecase.db.engine``), so writers on one file queue one behind the other.

PostgreSQL (and compatible engines): writers run side by side under READ
COMMITTED. Optimistic locking (``version_id_col``) already refuses a stale
save, but the audit trail's hash chain needs each event to follow the one
before it, and check-then-write steps ("is this task still open?", "is this
discharge already recorded?") need to see the last committed writer's
changes. So a write transaction's first statement locks the single row of
``write_lock``: writers queue exactly as on SQLite, readers never wait, and
no deadlock can form because every writer takes this lock first.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nursecase.db.models import WriteLock

#: The id of the one row of ``write_lock``.
WRITE_LOCK_ID = 1

#: SQLite's busy handler sleeps at most 100 ms between two tries for the lock.
SQLITE_LONGEST_RETRY_SECONDS = 0.1


def begin_write(executor: Session | Connection) -> None:
    """Queue this transaction behind other writers (a no-op on SQLite, which already has).

    ``executor`` is the Session or Connection of a write transaction just begun.
    """
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    if bind.dialect.name == "sqlite":
        return
    locked = executor.execute(
        select(WriteLock.id).where(WriteLock.id == WRITE_LOCK_ID).with_for_update()
    ).scalar()
    if locked is None:
        # A database filled by other tools may lack the row: put it back once.
        try:
            with executor.begin_nested():
                executor.execute(insert(WriteLock).values(id=WRITE_LOCK_ID))
        except IntegrityError:
            pass  # another writer put it back first
        executor.execute(
            select(WriteLock.id).where(WriteLock.id == WRITE_LOCK_ID).with_for_update()
        ).scalar_one()


def let_waiting_writers_in(engine: Engine) -> None:
    """Between two transactions of a bulk job: give writers waiting for the lock their turn.

    SQLite's lock is not a queue. A writer waiting in its busy handler tries
    again every 100 ms at most, so a bulk job (a seed, an import) that begins
    its next transaction at once takes the lock back before the waiter wakes,
    again and again, until the waiter's busy timeout fails it with "database
    is locked". Pausing as long as the busy handler's longest sleep lets every
    waiting writer in. A server's row lock queues waiters in order: no pause.
    """
    if engine.dialect.name == "sqlite":
        time.sleep(SQLITE_LONGEST_RETRY_SECONDS)
