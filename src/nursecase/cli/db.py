"""``nursecase db upgrade|check|backup|copy|encrypt|decrypt``: database maintenance.

``db copy`` moves the current database (``--db``) into another one, a
workstation's file into the team server or back: the target is migrated
first, every table is copied in one transaction and its row count checked
(``nursecase.db.maintenance.copy``). A target that holds anything is refused unless
``--merge-by-mrn`` adds only the patients it lacks. After a plain copy the
audit key file is copied beside the target (never over an existing one); a
merge records what it added in the target's own audit trail, in the same
transaction. Either way the target's audit trail is then verified.

``db backup`` of a server database runs pg_dump, or makes a logical copy into
an SQLite file; passwords in URLs are never printed. Every backup is on the
audit trail as an export of the database (``services.backup_audit``): who
made it (``--nurse``, if given, signed in; the system account) and where.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    KeyFileOption,
    SignInPasswordStdinOption,
    conversion_leftovers,
    describe,
    echo,
    exports_folder,
    handled,
    load_settings,
    nurse_option,
    one_line_errors,
    shown,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from nursecase.db.maintenance.copy import CopyReport
    from nursecase.services.clinical_check import ClinicalFinding

db_app = typer.Typer(
    help="Database maintenance: upgrade, check, backup, copy, encrypt, decrypt.",
    no_args_is_help=True,
)


# --- copy ----------------------------------------------------------------------

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


@db_app.command("copy")
@handled()
def db_copy(
    context: typer.Context,
    to: ToOption,
    merge_by_mrn: MergeOption = False,
    db: DbOption = None,
) -> None:
    """Copy the current database into another (a workstation's file into the server, or back)."""
    from nursecase.db.engine import database_url
    from nursecase.db.maintenance.copy import copy_database

    state = CommandState.of(context, db)
    state.require_existing()
    if database_url(state.location) == database_url(to):
        raise CommandError("--to names the database being copied; give another database")
    target_state = CommandState(to)
    new_file = target_state.sqlite_file()
    if new_file is not None and new_file.exists():
        new_file = None  # an existing file is never removed, whatever happens
    # Left in reverse: the target is closed before a failed copy's new file is removed.
    with (
        state.engine() as source,
        _removed_unless_kept(new_file) as keep,
        target_state.engine() as target,
    ):
        merging = " (merge by MRN)" if merge_by_mrn else ""
        echo(f"Copying {state.shown} into {target_state.shown}{merging}")
        report = copy_database(
            source,
            target,
            merge_by_mrn=merge_by_mrn,
            before_commit=_record_merge(target) if merge_by_mrn else None,
        )
        keep()  # the rows are committed: from here the target is the user's
        for line in report.lines():
            echo(line)
        if merge_by_mrn:
            added = sum(1 for entry in report.tables if entry.copied)
            if added:
                echo(f"audit trail: the merge is recorded in the target's trail ({added} events)")
        else:
            _carry_audit_key(source, target)
        _verify_audit(target)


@contextmanager
def _removed_unless_kept(new_file: Path | None) -> Iterator[Callable[[], None]]:
    """Remove ``new_file`` (the empty database this command created) if the block fails
    before it calls ``keep()``: a refused or failed copy leaves nothing behind."""
    kept = False

    def keep() -> None:
        nonlocal kept
        kept = True

    try:
        yield keep
    except BaseException:
        if new_file is not None and not kept:
            from nursecase.db.locations import shared_memory, write_ahead_log

            for path in (new_file, write_ahead_log(new_file), shared_memory(new_file)):
                path.unlink(missing_ok=True)
        raise


#: The changed_fields of a merge's audit events ("merge-by-mrn:<rows>"), as the
#: demo loader writes "bulk-seed:<rows>": one event per table, no values.
MERGE_EVENT_PREFIX = "merge-by-mrn"


def _record_merge(target: Engine) -> Callable[[Connection, CopyReport], None]:
    """A ``before_commit`` that records the merged rows in the target's audit trail.

    A plain copy brings the source's trail itself; a merge writes new patient
    data into a database with a trail of its own, so it appends one "create"
    event per table it added rows to, sealed like the demo loader's bulk
    events, in the same transaction as the rows.
    """
    from sqlalchemy import insert, select
    from sqlmodel import col

    from nursecase.clock import SystemClock
    from nursecase.db.maintenance.copy import AUDIT_TABLE
    from nursecase.db.models import AuditEvent
    from nursecase.domain.codes import AuditAction
    from nursecase.services.audit import GENESIS_HASH, seal, sealing_anchor

    def record(connection: Connection, report: CopyReport) -> None:
        added = [entry for entry in report.tables if entry.copied and entry.table != AUDIT_TABLE]
        if not added:
            return  # nothing written: no event, and no key made for nothing
        anchor = sealing_anchor(connection, target)
        previous_hash = (
            connection.execute(
                select(col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)
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


def _carry_audit_key(source: Engine, target: Engine) -> None:
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


def _verify_audit(target: Engine) -> None:
    from nursecase.clock import SystemClock
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    result = AuditService(ServiceContext(target, SystemClock())).verify()
    if not result.ok:
        raise CommandError(
            f"the rows were copied, but the target's audit trail does not verify: {result.message}"
        )
    echo(f"audit trail: verified in the target ({result.events} events)")


# --- upgrade and check -----------------------------------------------------------


@db_app.command("upgrade")
@handled()
def db_upgrade(context: typer.Context, db: DbOption = None) -> None:
    """Upgrade the database to the current schema (a backup is taken first)."""
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.db.schema import revision_state
    from nursecase.paths import default_paths

    state = CommandState.of(context, db)
    with state.engine(upgrade=False) as engine:
        before = revision_state(engine)
        backup = ensure_schema(engine, backup_folder=default_paths().backups)
    if before.up_to_date:
        echo(f"Already at the current schema ({before.head}).")
        return
    echo(f"Upgraded {state.shown} from {before.current or 'empty'} to {before.head}.")
    if backup:
        echo(f"Backup taken first: {backup}")
    elif before.has_tables and "://" in state.location and not state.location.startswith("sqlite"):
        echo("No backup taken first: pg_dump was not found; the server's own backups hold")


@db_app.command("check")
@handled()
def db_check(
    context: typer.Context,
    db: DbOption = None,
    clinical: Annotated[
        bool,
        typer.Option(
            "--clinical",
            help="Also list clinical contradictions by MRN (risk tier against its score, "
            "safety follow-up, TCM after its period, finished episodes with open work, "
            "care plans ending before their goals, minutes on contacts that reached nobody).",
        ),
    ] = False,
    remove_leftovers: Annotated[
        bool,
        typer.Option(
            "--remove-leftovers",
            help="Remove the copies interrupted encrypt, decrypt and backup commands left"
            " beside the database and in the backups folder (reported as problems otherwise).",
        ),
    ] = False,
) -> None:
    """Check the database's integrity, schema revision, audit chain and leftover copies."""
    from nursecase.clock import SystemClock
    from nursecase.db.engine import integrity_problems
    from nursecase.db.schema import revision_state, unknown_revision
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    state = CommandState.of(context, db, notice=False)
    state.require_existing()
    problems: list[str] = []
    database_file = state.sqlite_file()
    if database_file is not None:
        problems, removed = _leftover_problems(database_file, remove=remove_leftovers)
        for line in removed:
            echo(line)
    findings: list[ClinicalFinding] = []
    with state.engine(upgrade=False) as engine:
        revision = revision_state(engine)
        unknown = unknown_revision(revision)
        if unknown is not None:
            problems.append(unknown)
        elif not revision.up_to_date:
            problems.append(
                f"schema at {revision.current or 'none'}, expected {revision.head}"
                " (run: nursecase db upgrade)"
            )
        with engine.connect() as connection:
            problems.extend(integrity_problems(connection))
        if revision.up_to_date:
            service_context = ServiceContext(engine, SystemClock(), settings=load_settings())
            report = AuditService(service_context).verify()
            if not report.ok:
                problems.append(f"audit trail: {report.message}")
            if clinical and not problems:
                from nursecase.services.clinical_check import ClinicalCheckService

                findings = ClinicalCheckService(service_context).run()
    problems.extend(_leftover_export_problems(state.location))
    if problems:
        for problem in problems:
            echo(f"problem: {problem}", err=True)
        raise typer.Exit(1)
    if findings:
        _print_findings(findings)
        raise typer.Exit(1)
    echo("ok" if not clinical else "ok: no clinical contradiction found")


def _leftover_problems(path: Path, *, remove: bool) -> tuple[list[str], list[str]]:
    """Leftovers of interrupted conversions and backups: (problems, removed lines)."""
    from nursecase.db.locations import backups_folder
    from nursecase.db.maintenance.backup import backup_leftovers
    from nursecase.files import remove_with_companions
    from nursecase.paths import default_paths

    found = [(item.path, item.line()) for item in conversion_leftovers(path)]
    folders = dict.fromkeys([path.parent, backups_folder(path), default_paths().backups])
    for folder in folders:
        found += [
            (item, f"{item} is an unfinished backup left by an interrupted backup")
            for item in backup_leftovers(folder)
        ]
    if not remove:
        hint = f" (remove it with: nursecase db check --db {path} --remove-leftovers)"
        return [line + hint for _, line in found], []
    for item, _ in found:
        remove_with_companions(item)
    return [], [f"removed {item}" for item, _ in found]


def _leftover_export_problems(location: str) -> list[str]:
    """The part files killed exports left in the exports folder: PHI nobody will finish."""
    from nursecase.reports.files import stale_parts

    folder = exports_folder(location, load_settings())
    problems = []
    for part in stale_parts(folder):
        try:
            size = f"{part.stat().st_size:,} bytes"
        except OSError:
            continue
        problems.append(
            f"an interrupted export left {part.name} ({size}) in {folder}:"
            " the next export removes it, or delete it"
        )
    return problems


def _print_findings(findings: list[ClinicalFinding]) -> None:
    """The clinical contradictions under a heading per kind, then their count."""
    kind = None
    for finding in findings:
        if finding.kind != kind:
            kind = finding.kind
            echo(f"{kind.label}:")
        echo(f"  {finding.line()}")
    count = len(findings)
    echo(f"{count} clinical contradiction{'s' if count != 1 else ''} found", err=True)


# --- backup ----------------------------------------------------------------------


@db_app.command("backup")
@handled()
def db_backup(
    context: typer.Context,
    destination: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    db: DbOption = None,
    nurse: Annotated[
        str | None,
        nurse_option(
            "Who makes the backup (username; recorded in the audit trail with the system"
            " account). Optional; with passwords on, asked for their password.",
            metavar="USERNAME",
        ),
    ] = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """Back up the database to DESTINATION (an SQLite file: SQLite's online backup
    API; a server: pg_dump, or a logical copy into an SQLite file). The audit trail
    records who made it and where."""
    from nursecase.db.maintenance.backup import backup_sqlite, remove_backup_leftovers

    state = CommandState.of(context, db, nurse)
    destination = destination.expanduser()
    if destination.parent.is_dir():
        # A killed backup left its temporary file here: the next one clears it.
        for removed in remove_backup_leftovers(destination.parent):
            echo(f"Removed {removed}, left by an interrupted backup", err=True)
    source = state.sqlite_file()
    if source is not None:
        state.require_existing()
    if os.path.lexists(destination):
        raise CommandError(f"{destination} already exists; choose a new file name")
    with recorded_backup(state, destination, password_stdin) as event:
        if source is None:
            backup_server_command(state.location, destination)
        else:
            backup_sqlite(source, destination)
            echo(f"Backed up {source} to {destination}")
    if event.start_id is not None:
        echo(f"The audit trail records the backup: event {event.start_id}")


@dataclass
class BackupEvent:
    """The ``export`` event a backup started with (None: not recorded)."""

    start_id: int | None = None


@contextmanager
def recorded_backup(
    state: CommandState, destination: Path, password_stdin: bool
) -> Iterator[BackupEvent]:
    """Record the backup in the audit trail around the copy: who, where to, how it ended.

    ``--nurse`` (if given) is signed in first, with a password once accounts
    have passwords; nobody need be named (a scheduled backup), the system
    account is recorded either way. A database at an older schema than this
    nursecase cannot take the events (its trail is upgraded by ``db upgrade``,
    which backs it up first): the backup is still taken, and a warning says it
    is not on the trail. An event that cannot be written refuses the backup,
    as it refuses an export: nothing is copied unrecorded.
    """
    from nursecase.clock import SystemClock
    from nursecase.db.schema import revision_state
    from nursecase.services import make_services
    from nursecase.services.backup_audit import BackupAudit

    event = BackupEvent()
    with state.engine(upgrade=False) as engine:
        if not revision_state(engine).up_to_date:
            echo(
                "nursecase: warning: this backup is not on the audit trail: the database's"
                " schema is older than this nursecase (nursecase db upgrade brings it up to"
                " date, taking a backup first)",
                err=True,
            )
            yield event
            return
        services = make_services(engine, SystemClock(), settings=load_settings())
        if state.nurse is not None:
            state.act_as(services, "backing up", password_stdin=password_stdin)
        recorder = BackupAudit(services.context)
        try:
            event.start_id = recorder.started(destination.absolute(), _system_account())
        except Exception as error:
            raise CommandError(
                "the backup was not started: its audit event could not be recorded"
                f" ({describe(error) or type(error).__name__}); nothing was written"
            ) from error
        try:
            yield event
        except BaseException:
            with suppress(Exception):
                recorder.finished(event.start_id, "failed")
            raise
        recorder.finished(event.start_id, "completed")


def _system_account() -> str | None:
    """The operating-system account running the command (None if it cannot be told)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None


def backup_server_command(location: str, destination: Path) -> None:
    """``db backup`` of a server database: pg_dump, or a logical copy into an SQLite file.

    The audit key file is copied beside the backup (``<backup>.audit-key``), as
    for an SQLite backup: without it the backup's trail could not be verified.
    Errors end in one line and exit code 1, also when called on its own.
    """
    from nursecase.db.engine import copy_private_file, database_url
    from nursecase.db.locations import audit_key_file
    from nursecase.db.maintenance.server_backup import backup_server
    from nursecase.services.audit_anchor import anchor_path

    with one_line_errors():
        url = database_url(location)
        destination = destination.expanduser()
        if destination.exists():
            raise CommandError(f"{destination} already exists; choose a new file name")
        key_copy = audit_key_file(destination)
        if key_copy.exists():
            raise CommandError(f"{key_copy} already exists; choose a new file name")
        method = backup_server(url, destination)
        # Only the URL is read: nothing connects to find where the key file lives.
        with CommandState(url).engine(upgrade=False) as engine:
            key = anchor_path(engine)
        if key is not None and key.is_file():
            copy_private_file(key, key_copy)
        echo(f"Backed up {shown(url)} to {destination}: {method}")


# --- encrypt and decrypt ---------------------------------------------------------


def _passphrase(key_file: Path | None, database: Path, *, new: bool) -> str:
    """The passphrase from --key-file, NURSECASE_KEY_FILE, or asked twice (new) / once."""
    import getpass

    from nursecase.db.encryption import MINIMUM_PASSPHRASE, read_key_file
    from nursecase.db.key_source import key_file_source

    source = key_file or key_file_source()
    if source is not None:
        passphrase = read_key_file(source)
    elif not sys.stdin.isatty():
        raise CommandError(
            "no passphrase: give --key-file PATH or NURSECASE_KEY_FILE (no terminal to ask on)"
        )
    else:
        passphrase = getpass.getpass(
            f"New passphrase for {database}: " if new else f"Passphrase for {database}: "
        )
        if new and getpass.getpass("Repeat the passphrase: ") != passphrase:
            raise CommandError("the two passphrases do not match; nothing was changed")
    if new and len(passphrase) < MINIMUM_PASSPHRASE:
        raise CommandError(f"the passphrase must be at least {MINIMUM_PASSPHRASE} characters")
    return passphrase


def _remove_conversion_leftovers(path: Path) -> None:
    """A new conversion first clears what an interrupted one left, and says so."""
    from nursecase.db.maintenance.conversion import remove_conversion_leftovers

    for leftover in remove_conversion_leftovers(path):
        echo(f"Removed {leftover.path}, left by an interrupted {leftover.left_by}", err=True)


def _sqlite_database(context: typer.Context, db: str | None) -> Path:
    path = CommandState.of(context, db, notice=False).sqlite_file()
    if path is None:
        raise CommandError("encryption works on SQLite files only")
    if not path.is_file():
        raise CommandError(f"no database at {path}")
    return path


@db_app.command("encrypt")
@handled()
def db_encrypt(context: typer.Context, db: DbOption = None, key_file: KeyFileOption = None) -> None:
    """Encrypt the database with SQLCipher (the key is stretched from a passphrase)."""
    from nursecase.db.locations import salt_file
    from nursecase.db.maintenance.conversion import encrypt_database

    path = _sqlite_database(context, db)
    _remove_conversion_leftovers(path)
    encrypt_database(path, _passphrase(key_file, path, new=True))
    echo(f"Encrypted {path}; the plain copy was removed.")
    echo(
        f"Its salt is in {salt_file(path)}: keep it with the database."
        " Without the passphrase the data cannot be recovered."
    )


@db_app.command("decrypt")
@handled()
def db_decrypt(context: typer.Context, db: DbOption = None, key_file: KeyFileOption = None) -> None:
    """Turn an encrypted database back into a plain SQLite file."""
    from nursecase.db.encryption import is_encrypted
    from nursecase.db.maintenance.conversion import decrypt_database

    path = _sqlite_database(context, db)
    _remove_conversion_leftovers(path)
    if not is_encrypted(path):
        raise CommandError(f"{path} is not encrypted")
    decrypt_database(path, _passphrase(key_file, path, new=False))
    echo(f"Decrypted {path}: it is now readable without a passphrase.")
