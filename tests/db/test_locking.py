"""The writer queue: one write transaction at a time, readers never wait.

SQLite gets it from BEGIN IMMEDIATE on the file; a server from the one row of
``write_lock`` that ``begin_write`` locks first (``nursecase.db.locking``).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from nursecase.db.engine import make_engine, read_engine
from nursecase.db.locking import begin_write
from nursecase.db.models import Patient, WriteLock


def impatient_engine(location: str):
    """An engine on the same database that gives up on a held lock after 200 ms."""
    engine = make_engine(location)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _short_busy_timeout(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=200")

    else:

        @event.listens_for(engine, "connect")
        def _short_lock_timeout(dbapi_connection, _record) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '200ms'")
            dbapi_connection.commit()

    return engine


def test_a_second_writer_waits_for_the_first_and_a_reader_never_does(engine, migrated_database):
    other_engine = impatient_engine(migrated_database)
    try:
        with Session(engine) as first, first.begin():
            begin_write(first)
            first.add(
                Patient(
                    mrn="MRN-L1",
                    mrn_key="MRNL1",
                    family_name="Lock",
                    given_name="First",
                    family_key="lock",
                    given_key="first",
                    created_at=datetime(2026, 11, 27, 9),
                    updated_at=datetime(2026, 11, 27, 9),
                )
            )
            first.flush()
            # Another workstation's write transaction cannot start meanwhile ...
            with pytest.raises(OperationalError), Session(other_engine) as second, second.begin():
                second.connection()  # SQLite: BEGIN IMMEDIATE, as every write starts
                begin_write(second)
            # ... while its reads go on, seeing what was committed.
            with Session(read_engine(other_engine)) as reader, reader.begin():
                assert reader.execute(select(func.count()).select_from(Patient)).scalar() == 0
        with Session(other_engine) as second, second.begin():
            begin_write(second)  # the first committed: the queue moves on
    finally:
        other_engine.dispose()


def test_a_missing_lock_row_is_put_back(engine):
    with Session(engine) as session, session.begin():
        session.execute(delete(WriteLock))
    with Session(engine) as session, session.begin():
        begin_write(session)
    with Session(engine) as session:
        rows = session.execute(select(WriteLock.id)).scalars().all()
    # A server needs the row and restores it; SQLite queues writers without it.
    assert rows == ([] if engine.dialect.name == "sqlite" else [1])
