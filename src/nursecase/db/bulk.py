"""What bulk writers (the demo seeder, ``db copy``) need that differs by database.

Kept here so that no module above ``db/`` speaks a dialect of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table


def reset_id_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Move each table's id sequence past the ids written explicitly (PostgreSQL).

    Rows inserted with their ids do not advance a sequence, so the next
    ordinary insert would collide with id 1. SQLite takes max(id) + 1 by itself.
    """
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        if "id" not in table.c or not table.c.id.autoincrement:
            continue
        name = quote(table.name)
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
            f" COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {name}"
        )


@contextmanager
def bulk_cache(connection: Connection, kibibytes: int) -> Iterator[None]:
    """A larger page cache while a bulk load runs (SQLite); a server manages its own.

    Indexes that take keys in random order (names, phones, due dates) make
    inserts re-read pages with SQLite's default 2 MB cache. The pooled
    connection gets its own cache size back afterwards.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{int(kibibytes)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")
