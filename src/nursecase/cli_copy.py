"""``nursecase db copy --to URL`` and the backup of a server database.

Command functions registered in ``nursecase.cli``'s ``db`` group by that
module. Like the rest of the CLI this module imports only Typer at the top;
the database layer and the services are loaded inside the commands.

``db copy`` moves the current database (``--db``) into another one, a
workstation's file into the team server or back: the target is migrated
first, every table is copied in one transaction and its row count checked
(``nursecase.db.maintenance.copy``). A target that holds anything is refused unless
``--merge-by-mrn`` adds only the patients it lacks. After a plain copy the
audit key file is copied beside the target (never over an existing one); a
merge records what it added in the target's own audit trail, in the same
transaction. Either way the target's audit trail is then verified.

Passwords in URLs are never printed. Errors are one line,
``nursecase: error: ...``, and exit code 1, also when these commands run
outside ``nursecase.cli.main``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nursecase.cli_options import DbOption, echo

# The same option as nursecase.cli's (which registers these commands, so it
# cannot be imported from here at import time).
ToOption = Annotated[
    str,
    typer.Option(
        "--to",
        metavar="URL",
        help="The database to copy into: an SQLAlchemy URL (postgresql+psycopg://user@host/db)"
        " or a file path. It is created or upgraded to the current schema first.",
        show_default=False,
    ),
]
MergeOption = Annotated[
    bool,
    typer.Option(
        "--merge-by-mrn",
        help="Copy into a database that already holds patients: add only those whose MRN it"
        " lacks, with new ids (nurses matched by username). The audit trail is not merged.",
    ),
]


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Known failures as one line on stderr and exit code 1 (registered or not)."""
    from nursecase.cli import _describe, _known_errors
    from nursecase.db.maintenance.copy import CopyError
    from nursecase.db.maintenance.server_backup import BackupError

    try:
        yield
    except (CopyError, BackupError, *_known_errors()) as error:
        echo(f"nursecase: error: {_describe(error)}", err=True)
        raise typer.Exit(1) from error


def db_copy(
    context: typer.Context,
    to: ToOption,
    merge_by_mrn: MergeOption = False,
    db: DbOption = None,
) -> None:
    """Copy the current database into another (a workstation's file into the server, or back)."""
    with _one_line_errors():
        _copy(context, to, merge_by_mrn, db)


def _copy(context: typer.Context, to: str, merge_by_mrn: bool, db: str | None) -> None:
    from nursecase.cli import (
        CommandError,
        _database_location,
        _open_engine,
        _require_existing,
        _shown,
    )
    from nursecase.db.engine import database_url, sqlite_file
    from nursecase.db.locations import shared_memory, write_ahead_log
    from nursecase.db.maintenance.copy import copy_database

    location = _database_location(context, db)
    _require_existing(location)
    source_url, target_url = database_url(location), database_url(to)
    if source_url == target_url:
        raise CommandError("--to names the database being copied; give another database")
    new_file = sqlite_file(target_url)
    if new_file is not None and new_file.exists():
        new_file = None  # an existing file is never removed, whatever happens
    source = _open_engine(location)
    target = None
    try:
        target = _open_engine(to)
        merging = " (merge by MRN)" if merge_by_mrn else ""
        echo(f"Copying {_shown(location)} into {_shown(to)}{merging}")
        report = copy_database(
            source,
            target,
            merge_by_mrn=merge_by_mrn,
            before_commit=_record_merge(target) if merge_by_mrn else None,
        )
    except BaseException:
        if target is not None:
            target.dispose()
        if new_file is not None:
            # Only the empty file this command created: leave nothing behind.
            for path in (new_file, write_ahead_log(new_file), shared_memory(new_file)):
                path.unlink(missing_ok=True)
        source.dispose()
        raise
    try:
        for line in report.lines():
            echo(line)
        if merge_by_mrn:
            added = sum(1 for entry in report.tables if entry.copied)
            if added:
                echo(f"audit trail: the merge is recorded in the target's trail ({added} events)")
        else:
            _carry_audit_key(source, target)
        _verify_audit(target)
    finally:
        target.dispose()
        source.dispose()


#: The changed_fields of a merge's audit events ("merge-by-mrn:<rows>"), as the
#: demo loader writes "bulk-seed:<rows>": one event per table, no values.
MERGE_EVENT_PREFIX = "merge-by-mrn"


def _record_merge(target):
    """A ``before_commit`` that records the merged rows in the target's audit trail.

    A plain copy brings the source's trail itself; a merge writes new patient
    data into a database with a trail of its own, so it appends one "create"
    event per table it added rows to, sealed like the demo loader's bulk
    events, in the same transaction as the rows.
    """
    from sqlalchemy import insert, select

    from nursecase.clock import SystemClock
    from nursecase.db.maintenance.copy import AUDIT_TABLE
    from nursecase.db.models import AuditEvent
    from nursecase.domain.codes import AuditAction
    from nursecase.services.audit import GENESIS_HASH, seal, sealing_anchor

    def record(connection, report) -> None:
        added = [entry for entry in report.tables if entry.copied and entry.table != AUDIT_TABLE]
        if not added:
            return  # nothing written: no event, and no key made for nothing
        anchor = sealing_anchor(connection, target)
        previous_hash = (
            connection.execute(
                select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
            ).scalar()
            or GENESIS_HASH
        )
        now = SystemClock().now()
        action = str(AuditAction.create)
        for entry in added:
            fields = f"{MERGE_EVENT_PREFIX}:{entry.copied}"
            digest = seal(anchor, previous_hash, now, None, action, entry.table, None, fields)
            connection.execute(
                insert(AuditEvent).values(
                    occurred_at=now,
                    nurse_id=None,
                    action=action,
                    entity=entry.table,
                    entity_id=None,
                    changed_fields=fields,
                    previous_hash=previous_hash,
                    hash=digest,
                )
            )
            previous_hash = digest

    return record


def _carry_audit_key(source, target) -> None:
    """Copy the source's audit key file to the target's place, never over an existing one.

    Without it the copied trail's HMAC seals could not be checked in the target.
    """
    from nursecase.db.engine import copy_private_file
    from nursecase.services.audit_anchor import anchor_path

    source_key, target_key = anchor_path(source), anchor_path(target)
    if source_key is None or target_key is None or not source_key.is_file():
        return
    if target_key.exists() or target_key.resolve() == source_key.resolve():
        if target_key.resolve() != source_key.resolve():
            echo(f"audit key: {target_key} already exists; it was left as it was")
        return
    copy_private_file(source_key, target_key)
    echo(f"audit key: copied to {target_key}")


def _verify_audit(target) -> None:
    from nursecase.cli import CommandError
    from nursecase.clock import SystemClock
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    result = AuditService(ServiceContext(target, SystemClock())).verify()
    if not result.ok:
        raise CommandError(
            f"the rows were copied, but the target's audit trail does not verify: {result.message}"
        )
    echo(f"audit trail: verified in the target ({result.events} events)")


def backup_server_command(location: str, destination: Path) -> None:
    """``db backup`` of a server database: pg_dump, or a logical copy into an SQLite file.

    The audit key file is copied beside the backup (``<backup>.audit-key``), as
    for an SQLite backup: without it the backup's trail could not be verified.
    """
    from nursecase.cli import CommandError, _shown
    from nursecase.db.engine import copy_private_file, database_url
    from nursecase.db.locations import audit_key_file
    from nursecase.db.maintenance.server_backup import backup_server

    with _one_line_errors():
        url = database_url(location)
        destination = destination.expanduser()
        if destination.exists():
            raise CommandError(f"{destination} already exists; choose a new file name")
        key_copy = audit_key_file(destination)
        if key_copy.exists():
            raise CommandError(f"{key_copy} already exists; choose a new file name")
        method = backup_server(url, destination)
        key = _server_key(url)
        if key is not None and key.is_file():
            copy_private_file(key, key_copy)
        echo(f"Backed up {_shown(url)} to {destination}: {method}")


def _server_key(url: str) -> Path | None:
    from nursecase.db.engine import make_engine
    from nursecase.services.audit_anchor import anchor_path

    engine = make_engine(url)  # nothing connects: only the URL is read
    try:
        return anchor_path(engine)
    finally:
        engine.dispose()
