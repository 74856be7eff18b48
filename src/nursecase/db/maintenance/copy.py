"""Copy one nursecase database into another, across SQLite and PostgreSQL.

``copy_database(source, target)`` moves a workstation's file into the team
server, or a server database back into a file. Both must be at the current
schema revision. Rows are read and written through the Core ``Table`` objects,
so dates, times and booleans convert between the two backends exactly.

Two modes:

- plain: the target must hold no row. Every table is copied with its ids, in
  foreign-key order, in ONE target transaction; per-table counts are compared
  with the source before it commits (a mismatch rolls everything back). The
  audit trail comes across row for row, so its hash chain still verifies
  (with the source's audit key file beside the target; the CLI copies it).
- merge by MRN: nurses are matched by username and patients by MRN. A patient
  whose MRN the target already holds is skipped with everything that belongs
  to it; new patients and their records get new ids, every foreign key being
  remapped. The audit trail is not merged: a hash chain cannot be spliced.

``write_lock`` (a server's writer queue) and ``alembic_version`` are never
copied: the target's own rows stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlalchemy.schema import sort_tables

from nursecase.db.bulk import reset_id_sequences
from nursecase.db.engine import read_engine
from nursecase.db.locking import begin_write
from nursecase.db.models import ALL_TABLES, metadata
from nursecase.db.schema import HEAD_REVISION, revision_state

#: Rows per INSERT batch (one executemany each).
BATCH_ROWS = 2000
#: Never copied: the target keeps its own.
EXCLUDED_TABLES = frozenset({"write_lock", "alembic_version"})
AUDIT_TABLE = "audit_event"
PATIENT_TABLE = "patient"
NURSE_TABLE = "nurse"
PLAIN = "plain"
MERGE_BY_MRN = "merge-by-mrn"

#: Ids held in plain integer columns (no foreign key) that a merge must remap
#: too: (table, id column) -> (the column naming the kind, {kind: table}).
#: A kind not listed here loses its id (None) rather than point at a wrong row.
SOFT_REFERENCES: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("task", "source_id"): (
        "source",
        {
            "contact": "contact",
            "goal": "goal",
            "intervention": "intervention",
            "referral": "referral",
            "assessment-trigger": "assessment",
            "transition-clock": "transition",
        },
    ),
    ("care_plan_revision", "item_id"): (
        "item_kind",
        {
            "care_plan": "care_plan",
            "problem": "problem",
            "goal": "goal",
            "intervention": "intervention",
            "problem_rating": "problem_rating",
        },
    ),
    ("worklist_snooze", "item_id"): (
        "item_kind",
        {
            "referral-reply": "referral",
            "stuck-referral": "referral",
            "goal": "goal",
            "intervention": "intervention",
            "task": "task",
        },
    ),
}

Progress = Callable[[str, int], None]


class CopyError(RuntimeError):
    """The copy was refused or failed; the target is left as it was."""


@dataclass(frozen=True)
class TableCopy:
    """What happened to one table."""

    table: str
    source_rows: int
    copied: int
    skipped: int


@dataclass(frozen=True)
class CopyReport:
    """The outcome of ``copy_database``, table by table."""

    mode: str
    tables: tuple[TableCopy, ...]
    patients_merged: int = 0
    patients_skipped: int = 0
    notes: tuple[str, ...] = ()

    def table(self, name: str) -> TableCopy:
        """The counts of one table."""
        for entry in self.tables:
            if entry.table == name:
                return entry
        raise KeyError(name)

    @property
    def copied(self) -> int:
        """Rows written to the target, all tables."""
        return sum(entry.copied for entry in self.tables)

    def lines(self) -> list[str]:
        """The report as plain text lines for the CLI."""
        width = max(len(entry.table) for entry in self.tables)
        lines = [f"{'table':<{width}}  {'source':>8}  {'copied':>8}  {'skipped':>8}"]
        for entry in self.tables:
            lines.append(
                f"{entry.table:<{width}}  {entry.source_rows:>8}  {entry.copied:>8}"
                f"  {entry.skipped:>8}"
            )
        total_source = sum(entry.source_rows for entry in self.tables)
        total_skipped = sum(entry.skipped for entry in self.tables)
        lines.append(f"{'total':<{width}}  {total_source:>8}  {self.copied:>8}  {total_skipped:>8}")
        if self.mode == MERGE_BY_MRN:
            lines.append(
                f"patients: {self.patients_merged} merged, {self.patients_skipped} skipped"
                " (their MRN was already in the target)"
            )
        lines.extend(self.notes)
        return lines


def copied_tables() -> list[Table]:
    """The tables a copy writes, parents before children.

    The order of ``metadata.sorted_tables`` (which follows the foreign keys,
    contact -> referral included), with the SOFT_REFERENCES as extra edges so
    that a merge has mapped a task's assessment before it reaches the task.
    """
    ours = {model.__tablename__ for model in ALL_TABLES} - EXCLUDED_TABLES
    tables = [table for table in metadata.sorted_tables if table.name in ours]
    extra = [
        (metadata.tables[parent], metadata.tables[child])
        for (child, _column), (_kind, kinds) in SOFT_REFERENCES.items()
        for parent in set(kinds.values())
    ]
    return list(sort_tables(tables, extra_dependencies=extra))


def copy_database(
    source: Engine,
    target: Engine,
    *,
    merge_by_mrn: bool = False,
    progress: Progress | None = None,
    before_commit: Callable[[Connection, CopyReport], None] | None = None,
) -> CopyReport:
    """Copy every row of ``source`` into ``target`` (see the module docstring).

    ``progress(table, rows)`` is called after each batch written.
    ``before_commit(connection, report)`` runs in the target's transaction once
    the counts are verified: the CLI records a merge in the target's audit
    trail there, so the rows and their audit events commit together. Raises
    ``CopyError`` when refused (schema, non-empty target, same database) or
    when the counts do not match; nothing is then written.
    """
    _check_databases(source, target)
    tables = copied_tables()
    notify = progress or (lambda _table, _rows: None)
    with _reading(source) as reader, target.begin() as writer:
        begin_write(writer)  # queue behind the server's other writers
        if merge_by_mrn:
            report = _merge(reader, writer, tables, notify)
        else:
            report = _plain(reader, writer, tables, notify)
        if before_commit is not None:
            before_commit(writer, report)
    return report


# --- checks -------------------------------------------------------------------


def _label(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _check_databases(source: Engine, target: Engine) -> None:
    if source.url == target.url:
        raise CopyError("the source and the target are the same database")
    for role, engine in (("source", source), ("target", target)):
        state = revision_state(engine)
        if state.current != HEAD_REVISION:
            raise CopyError(
                f"the {role} database {_label(engine)} is at schema"
                f" {state.current or 'none'}, not {HEAD_REVISION}: run nursecase db upgrade on it"
            )


def _count(connection: Connection, table: Table) -> int:
    return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _counts(connection: Connection, tables: list[Table]) -> dict[str, int]:
    return {table.name: _count(connection, table) for table in tables}


# --- transactions -------------------------------------------------------------


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    """One read transaction on the source: every table from the same snapshot."""
    if engine.dialect.name == "sqlite":
        # A deferred BEGIN: a WAL reader sees one snapshot and never blocks writers.
        connection = read_engine(engine).connect()
    else:
        connection = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    try:
        with connection.begin():
            yield connection
    finally:
        connection.close()


def _batches(reader: Connection, table: Table) -> Iterator[list[dict]]:
    """The source table's rows, by primary key, BATCH_ROWS at a time (streamed)."""
    statement = select(table).order_by(*table.primary_key.columns)
    result = reader.execution_options(yield_per=BATCH_ROWS).execute(statement)
    for partition in result.partitions():
        yield [dict(row._mapping) for row in partition]


# --- plain copy -----------------------------------------------------------------


def _plain(
    reader: Connection, writer: Connection, tables: list[Table], notify: Progress
) -> CopyReport:
    before = _counts(writer, tables)
    if any(before.values()):
        held = sum(before.values())
        used = sum(1 for count in before.values() if count)
        raise CopyError(
            f"the target already holds {before[PATIENT_TABLE]} patients"
            f" ({held} rows in {used} tables); copy into an empty database,"
            " or add --merge-by-mrn to add only the patients it lacks"
        )
    source_counts = _counts(reader, tables)
    entries = []
    for table in tables:
        copied = 0
        for rows in _batches(reader, table):
            writer.execute(insert(table), rows)
            copied += len(rows)
            notify(table.name, copied)
        entries.append(TableCopy(table.name, source_counts[table.name], copied, 0))
    reset_id_sequences(writer, tables)
    after = _counts(writer, tables)
    wrong = [
        f"{name} {after[name]} of {count}"
        for name, count in source_counts.items()
        if after[name] != count
    ]
    if wrong:
        # Raising inside target.begin() rolls the whole copy back.
        raise CopyError(f"row counts differ after the copy ({', '.join(wrong)}); nothing was kept")
    return CopyReport(PLAIN, tuple(entries))


# --- merge by MRN -----------------------------------------------------------------


def _existing(writer: Connection, table: Table, key: str) -> dict[str, int]:
    column = table.c[key]
    return {value: row_id for value, row_id in writer.execute(select(column, table.c.id))}


def _insert_returning_ids(writer: Connection, table: Table, rows: list[dict]) -> list[int]:
    """Insert rows without their ids; the new ids, in the rows' order."""
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(writer.execute(statement, rows).scalars())


def _remap(table: Table, row: dict, id_maps: dict[str, dict[int, int]]) -> dict | None:
    """The row with its references turned into target ids; None if a parent was skipped."""
    new = {key: value for key, value in row.items() if key != "id"}
    for foreign_key in table.foreign_keys:
        column = foreign_key.parent.key
        value = row[column]
        if value is None:
            continue
        mapped = id_maps.get(foreign_key.column.table.name, {}).get(value)
        if mapped is None:
            return None
        new[column] = mapped
    for (table_name, column), (kind_column, kinds) in SOFT_REFERENCES.items():
        if table_name != table.name or row[column] is None:
            continue
        kind_table = kinds.get(row[kind_column])
        new[column] = None if kind_table is None else id_maps[kind_table].get(row[column])
    return new


def _merge(
    reader: Connection, writer: Connection, tables: list[Table], notify: Progress
) -> CopyReport:
    before = _counts(writer, tables)
    source_counts = _counts(reader, tables)
    id_maps: dict[str, dict[int, int]] = {table.name: {} for table in tables}
    keys = {
        NURSE_TABLE: _existing(writer, metadata.tables[NURSE_TABLE], "username"),
        # By MRN key: "ad2e3fc5-2b5d-..." and "AD2E3FC52B5D..." are one patient's MRN.
        PATIENT_TABLE: _existing(writer, metadata.tables[PATIENT_TABLE], "mrn_key"),
    }
    match_columns = {NURSE_TABLE: "username", PATIENT_TABLE: "mrn_key"}
    entries = []
    patients_skipped = 0
    for table in tables:
        if table.name == AUDIT_TABLE:
            count = source_counts[table.name]
            entries.append(TableCopy(table.name, count, 0, count))
            continue
        copied = skipped = 0
        for rows in _batches(reader, table):
            kept_ids, kept_rows = [], []
            for row in rows:
                match = match_columns.get(table.name)
                existing = keys[table.name].get(row[match]) if match else None
                if existing is not None and table.name == NURSE_TABLE:
                    # The same nurse: her rows point at the target's account.
                    id_maps[NURSE_TABLE][row["id"]] = existing
                    skipped += 1
                    continue
                new = None if existing is not None else _remap(table, row, id_maps)
                if new is None:
                    skipped += 1
                    patients_skipped += table.name == PATIENT_TABLE
                    continue
                kept_ids.append(row["id"])
                kept_rows.append(new)
            if kept_rows:
                new_ids = _insert_returning_ids(writer, table, kept_rows)
                id_maps[table.name].update(zip(kept_ids, new_ids, strict=True))
                copied += len(kept_rows)
                notify(table.name, copied)
        entries.append(TableCopy(table.name, source_counts[table.name], copied, skipped))
    after = _counts(writer, tables)
    wrong = [
        f"{entry.table} {after[entry.table]} instead of {before[entry.table] + entry.copied}"
        for entry in entries
        if after[entry.table] != before[entry.table] + entry.copied
    ]
    if wrong:
        raise CopyError(f"row counts differ after the merge ({', '.join(wrong)}); nothing was kept")
    audit = source_counts[AUDIT_TABLE]
    notes = (
        f"audit trail: not merged ({audit} source events stay in the source; a hash chain"
        " cannot be spliced into another)",
    )
    return CopyReport(
        MERGE_BY_MRN,
        tuple(entries),
        patients_merged=len(id_maps[PATIENT_TABLE]),
        patients_skipped=patients_skipped,
        notes=notes,
    )
