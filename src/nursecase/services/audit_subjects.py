"""Whose record an audit event is about, for the people who read the trail (``audit show``).

An event names its record by table and id ("contact", 57). A person reads a
patient by MRN, never by an internal id (DESIGN.md, "Words on screen"), so the
patient a record belongs to is found by following the foreign keys from the
record's table to ``patient`` (contact.patient_id; goal.problem_id ->
problem.care_plan_id -> care_plan.patient_id). The paths are read from the
models' metadata: a new table is covered without a list to keep.

A record deleted since (a contact entered in error; a patient, and everything
of theirs with them) is no longer there to ask, and SQLite hands a deleted
row's id to the next row of its table when it was the newest. So an event
names the record now on file only if no ``create`` event for the same table
and id came after it; otherwise the record it names is no longer on file, and
the reader is told so rather than shown a later patient's MRN.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, FromClause, Select, Table, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import SQLModel, col

from nursecase.db.models import AuditEvent, Nurse, Patient
from nursecase.domain.codes import AuditAction

#: Events whose id is a patient's id though their entity is not the patient
#: table: an export of one patient's report (``services.exports.service.AUDIT_ENTITY``),
#: and the readings an import stored for one patient (``services.readings.IMPORT_ENTITY``).
PATIENT_ID_ENTITIES = {"patient": "patient", "export": "patient", "patient-readings": "patient"}
#: Events about an account (sign-ins, password changes, locks): named by username.
ACCOUNT_ENTITY = "nurse"
#: Ids asked for in one query (well under every database's limit of bound parameters).
CHUNK = 500


@dataclass(frozen=True)
class EventSubject:
    """What one event is about, as far as the database still knows."""

    #: The MRN of the patient the record belongs to (the patient's own, for a
    #: patient), when the record is on file.
    patient_mrn: str | None = None
    #: The account's username, for an event about an account.
    account: str | None = None
    #: False when the record the event names is no longer on file (deleted
    #: since); None when the event names no record that can be looked up.
    on_file: bool | None = None


@functools.cache
def patient_paths() -> dict[str, tuple[tuple[str, str], ...]]:
    """For each table whose rows belong to a patient: the foreign keys that lead there.

    Each step is (column, table it refers to); the patient table's own path is
    empty. Only required (NOT NULL) foreign keys are followed, the shortest
    path first: a row always has the patient that path names.
    """
    tables = SQLModel.metadata.tables
    target = Patient.__tablename__
    paths: dict[str, tuple[tuple[str, str], ...]] = {target: ()}
    # Breadth first, outwards from the patient table.
    frontier = [target]
    while frontier:
        reached = []
        for table in sorted(tables.values(), key=lambda table: table.name):
            if table.name in paths or table.name == AuditEvent.__tablename__:
                continue
            for column in sorted(table.columns, key=lambda column: column.name):
                if column.nullable:
                    continue
                referred = {key.column.table.name for key in column.foreign_keys}
                step = next((name for name in frontier if name in referred), None)
                if step is not None:
                    paths[table.name] = ((column.name, step), *paths[step])
                    reached.append(table.name)
                    break
        frontier = reached
    return paths


@dataclass(frozen=True)
class _Owners:
    """A table joined along its path to the patient table."""

    rows: Table
    patients: Table
    joined: FromClause

    def select(self, *columns) -> Select:
        """``select(columns)`` from the joined tables."""
        return select(*columns).select_from(self.joined)


def _owners(table_name: str) -> _Owners:
    """The table joined along its path to the patient it belongs to."""
    tables = SQLModel.metadata.tables
    start = tables[table_name]
    joined: FromClause = start
    current = start
    for column_name, referred_name in patient_paths()[table_name]:
        referred = tables[referred_name]
        joined = joined.join(referred, current.c[column_name] == referred.c.id)
        current = referred
    return _Owners(start, current, joined)


def _table_of(entity: str) -> str | None:
    """The table an event's id refers to, when its rows belong to a patient."""
    if entity in PATIENT_ID_ENTITIES:
        return PATIENT_ID_ENTITIES[entity]
    return entity if entity in patient_paths() else None


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _latest_creates(session: Session, entity: str, ids: Sequence[int]) -> dict[int, int]:
    """The id of the newest ``create`` event of each record (entity, id) asked for."""
    latest: dict[int, int] = {}
    for chunk in _chunks(ids):
        query = (
            select(col(AuditEvent.entity_id), func.max(col(AuditEvent.id)))
            .where(
                col(AuditEvent.action) == str(AuditAction.create),
                col(AuditEvent.entity) == entity,
                col(AuditEvent.entity_id).in_(chunk),
            )
            .group_by(col(AuditEvent.entity_id))
        )
        latest.update({entity_id: event_id for entity_id, event_id in session.execute(query)})
    return latest


def describe_subjects(
    session: Session, events: Sequence[tuple[int, str, int | None]]
) -> dict[int, EventSubject]:
    """What each event (its id, entity, entity id) is about, keyed by event id."""
    by_entity: dict[str, list[tuple[int, int]]] = defaultdict(list)
    subjects: dict[int, EventSubject] = {}
    for event_id, entity, entity_id in events:
        if entity_id is None or (entity != ACCOUNT_ENTITY and _table_of(entity) is None):
            subjects[event_id] = EventSubject()
        else:
            by_entity[entity].append((event_id, entity_id))
    for entity, pairs in by_entity.items():
        ids = sorted({entity_id for _, entity_id in pairs})
        if entity == ACCOUNT_ENTITY:
            names: dict[int, str] = {}
            for chunk in _chunks(ids):
                query = select(col(Nurse.id), col(Nurse.username)).where(col(Nurse.id).in_(chunk))
                names.update({nurse_id: name for nurse_id, name in session.execute(query)})
            for event_id, entity_id in pairs:
                name = names.get(entity_id)
                subjects[event_id] = EventSubject(account=name, on_file=name is not None)
            continue
        table_name = _table_of(entity)
        assert table_name is not None
        owners = _owners(table_name)
        mrns: dict[int, str] = {}
        for chunk in _chunks(ids):
            query = owners.select(owners.rows.c.id, owners.patients.c.mrn)
            rows = session.execute(query.where(owners.rows.c.id.in_(chunk)))
            mrns.update({row_id: mrn for row_id, mrn in rows})
        latest = _latest_creates(session, table_name, ids)
        for event_id, entity_id in pairs:
            current = event_id >= latest.get(entity_id, 0)
            mrn = mrns.get(entity_id) if current else None
            subjects[event_id] = EventSubject(patient_mrn=mrn, on_file=mrn is not None)
    return subjects


def patient_events(patient_id: int) -> ColumnElement[bool]:
    """Events about the patient and about the records on file that belong to them.

    An event about an earlier row under a reused id (a ``create`` of that
    table and id came after it) is not theirs.
    """
    clauses = []
    for table_name in sorted(patient_paths()):
        owners = _owners(table_name)
        entities = sorted(
            {
                table_name,
                *(entity for entity, table in PATIENT_ID_ENTITIES.items() if table == table_name),
            }
        )
        rows = owners.select(owners.rows.c.id).where(owners.patients.c.id == patient_id)
        clauses.append(
            and_(col(AuditEvent.entity).in_(entities), col(AuditEvent.entity_id).in_(rows))
        )
    newer = aliased(AuditEvent)
    # The table the event's id refers to: a patient's, for an export of one patient.
    table = case(
        *(
            (col(AuditEvent.entity) == entity, table)
            for entity, table in PATIENT_ID_ENTITIES.items()
        ),
        else_=col(AuditEvent.entity),
    )
    created_later = (
        select(newer.id)
        .where(
            newer.action == str(AuditAction.create),
            newer.entity == table,
            newer.entity_id == AuditEvent.entity_id,
            newer.id > AuditEvent.id,
        )
        .exists()
    )
    return and_(or_(*clauses), ~created_later)
