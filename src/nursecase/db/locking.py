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

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nursecase.db.models import WriteLock

#: The id of the one row of ``write_lock``.
WRITE_LOCK_ID = 1


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
