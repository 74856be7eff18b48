"""The ``nursecase`` command line (Typer).

Start-up cost matters here (``--help`` and ``--version`` within 0.25 s), so this
module imports only Typer at the top; the database layer, the services and,
above all, Textual are imported inside the commands that need them. The TUI is
loaded only by the commands that launch it.

``--db`` and ``--nurse`` work before the command and after it: the callback
stores the global values and each command's own options take precedence.

Every failure a user can cause ends in one line on stderr, ``nursecase: error:
...``, and a non-zero exit; no traceback reaches the terminal.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from nursecase import __version__
from nursecase.cli_options import (
    DbOption,
    TerminalSafeStream,
    date_value,
    echo,
    month_value,
    unusable_argument,
)

NURSE_HELP = "Sign in as this nurse (username)."

app = typer.Typer(
    name="nursecase",
    help="nursecase: the nurse case manager's workstation. Run without a command to open the app.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(
    help="Database maintenance: upgrade, check, backup, copy, encrypt, decrypt.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
# Imported here (not lazily) because Typer needs the sub-app to list it in
# --help; the module itself imports only Typer at its top.
from nursecase.cli_import import import_app  # noqa: E402

app.add_typer(import_app, name="import")
from nursecase.cli_audit import audit_app  # noqa: E402
from nursecase.cli_users import user_app  # noqa: E402

app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")

from nursecase.cli_copy import db_copy  # noqa: E402

db_app.command("copy")(db_copy)

KEY_FILE_HELP = (
    "A file (mode 0600) whose first line is the passphrase of an encrypted database"
    " (default: NURSECASE_KEY_FILE; otherwise it is asked for on the terminal)."
)
KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help=KEY_FILE_HELP, show_default=False)
]
NurseOption = Annotated[
    str | None,
    typer.Option("--nurse", envvar="NURSECASE_NURSE", help=NURSE_HELP, show_default=False),
]


class CommandError(Exception):
    """A failure to report as one line and exit code 1."""


@dataclass
class GlobalOptions:
    """Options given before the command."""

    db: str | None = None
    nurse: str | None = None


def _globals(context: typer.Context) -> GlobalOptions:
    root = context.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


def _database_location(context: typer.Context, db: str | None, *, notice: bool = True) -> str:
    from nursecase.paths import default_database

    location = db or _globals(context).db or default_database()
    _check_database_files(location, notice=notice)
    return location


# --- files around the database (issue 17 items 2, 3 and 8) -------------------


def _check_database_files(location: str, *, notice: bool) -> None:
    """Before a command touches an SQLite database: its path, its folder, its leftovers.

    A --db that is a link, folder, device, FIFO or socket is refused here, in one
    line, before anything opens or changes it (``database_url`` checks it). The
    data folder holding the default database is tightened to 0700 (refused with
    the reason if it is not ours). With ``notice``, each clear-text or unfinished
    copy an interrupted ``db encrypt``/``db decrypt`` left beside the database is
    named in one line with the command that removes it.
    """
    from nursecase.db.engine import database_url, sqlite_file
    from nursecase.files import private_folder
    from nursecase.paths import data_home

    path = sqlite_file(database_url(location))
    if path is None:
        return
    home = data_home()
    if path.parent == home.resolve() and home.is_dir():
        private_folder(home, tighten=True, what="the data folder")
    if notice:
        for leftover in _conversion_leftovers(path):
            echo(
                f"nursecase: warning: {leftover.line()};"
                f" remove it with: nursecase db check --db {path} --remove-leftovers",
                err=True,
            )


def _conversion_leftovers(path: Path) -> list:
    if not path.parent.is_dir():
        return []
    from nursecase.db.maintenance.conversion import conversion_leftovers

    return conversion_leftovers(path)


def _leftover_problems(path: Path, *, remove: bool) -> tuple[list[str], list[str]]:
    """Leftovers of interrupted conversions and backups: (problems, removed lines)."""
    from nursecase.db.locations import backups_folder
    from nursecase.db.maintenance.backup import backup_leftovers
    from nursecase.files import remove_with_companions
    from nursecase.paths import default_paths

    found = [(item.path, item.line()) for item in _conversion_leftovers(path)]
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


def _nurse(context: typer.Context, nurse: str | None) -> str | None:
    return nurse or _globals(context).nurse


def _version_callback(value: bool) -> None:
    if value:
        echo(f"nursecase {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main_callback(
    context: typer.Context,
    db: DbOption = None,
    nurse: NurseOption = None,
    key_file: KeyFileOption = None,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = None,
) -> None:
    """Open the app on the default database (created on first run)."""
    options = _globals(context)
    options.db = db
    options.nurse = nurse
    # Chosen on every invocation, so that an earlier --key-file in the same
    # process does not carry over; key_source loads nothing of the database.
    from nursecase.cli_options import ask_passphrase
    from nursecase.db.key_source import choose_key_file, choose_prompt

    choose_key_file(key_file)
    choose_prompt(ask_passphrase)
    if context.invoked_subcommand is None:
        _launch(_database_location(context, None), nurse, demo=False)


# --- opening the database -------------------------------------------------


def _open_engine(location: str, *, upgrade: bool = True):
    """The engine for ``location``, upgraded to the current schema (with a backup)."""
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.paths import default_paths

    engine = make_engine(location)
    if upgrade:
        ensure_schema(engine, backup_folder=default_paths().backups)
    return engine


def _settings():
    from nursecase.config import load_settings
    from nursecase.paths import default_paths

    return load_settings(default_paths().config_file)


def _launch(location: str, nurse: str | None, *, demo: bool, clock=None) -> None:
    """Open the Textual app (imported only here) on an upgraded database."""
    from dataclasses import replace

    from nursecase.clock import SystemClock
    from nursecase.services import make_services

    settings = replace(_settings(), demo=demo)
    engine = _open_engine(location)
    try:
        services = make_services(engine, clock or SystemClock(), settings=settings)
        # With passwords on, --nurse only fills in the login screen's username.
        login_username = nurse
        if nurse is not None and not services.accounts.has_passwords():
            services.nurses.sign_in(nurse)
            login_username = None
        from nursecase.app import make_app  # Textual is loaded here and only here

        make_app(services, settings, login_username).run()
    finally:
        from nursecase.db.engine import optimize

        try:
            optimize(engine)  # SQLite's advice: PRAGMA optimize before closing
        finally:
            engine.dispose()


# --- commands ---------------------------------------------------------------


@app.command()
def demo(
    context: typer.Context,
    patients: Annotated[
        int, typer.Option("--patients", min=1, max=200_000, help="How many patients.")
    ] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator.")] = 7,
    db: DbOption = None,
    nurse: NurseOption = None,
) -> None:
    """Open the app on a fresh synthetic caseload (DEMO shows in the header)."""
    import tempfile

    from nursecase.clock import SystemClock

    location = db or _globals(context).db
    with tempfile.TemporaryDirectory(prefix="nursecase-demo-") as folder:
        if location is None:
            location = str(Path(folder) / "demo.db")
        engine = _open_engine(location)
        try:
            from nursecase.demo import SeedStopped, demo_nurse_username, seed_database

            _refuse_non_empty(engine, location)
            try:
                seed_database(engine, SystemClock(), patients=patients, seed=seed)
            except SeedStopped as stopped:
                raise CommandError(str(stopped)) from None
            nurse = _nurse(context, nurse) or demo_nurse_username(engine)
        finally:
            engine.dispose()
        _launch(location, nurse, demo=True)


def _shown(location: str) -> str:
    """The database location fit to print (a URL's password masked)."""
    from nursecase.db.engine import shown_location

    return shown_location(location)


def _refuse_non_empty(engine, location: str, *, add_hint: bool = False) -> None:
    from sqlalchemy import func, select

    from nursecase.db.models import Patient

    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    if count:
        instead = "seed an empty database instead"
        if add_hint:
            instead = "seed an empty database, or give --add to add patients to these"
        raise CommandError(f"{_shown(location)} already holds {count} patients; {instead}")


@app.command()
def seed(
    context: typer.Context,
    patients: Annotated[
        int, typer.Option("--patients", min=1, max=1_000_000, help="How many patients.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator.")] = 7,
    db: DbOption = None,
    nurse: NurseOption = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help="Add the patients to a database that already holds some (such as a seed"
            " that stopped half-way); the same --seed gives new MRNs.",
        ),
    ] = False,
) -> None:
    """Fill an empty database with a synthetic caseload (for trying and benchmarks)."""
    from nursecase.demo import SeedStopped

    location = _database_location(context, db)
    engine = _open_engine(location)
    try:
        if not add:
            _refuse_non_empty(engine, location, add_hint=True)
        try:
            summary = _seed_with_progress(engine, patients, seed)
        except SeedStopped as stopped:
            rest = stopped.requested - stopped.committed
            raise CommandError(
                f"{stopped}; to add the other {rest:,}, run: nursecase seed --add"
                f" --patients {rest} --seed {seed} --db {_shown(location)}"
            ) from None
    finally:
        engine.dispose()
    rows = sum(summary.rows_by_table.values())
    echo(
        f"Seeded {summary.patients} patients for {summary.nurses} nurses"
        f" ({rows} rows) in {summary.seconds:.1f} s into {_shown(location)}"
    )


def _seed_with_progress(engine, patients: int, seed: int):
    """Seed, with a progress bar on a terminal (on stderr, never when piped)."""
    from nursecase.clock import SystemClock
    from nursecase.demo import seed_database

    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("Seeding patients", total=patients)
            return seed_database(
                engine,
                SystemClock(),
                patients=patients,
                seed=seed,
                progress=lambda done: progress.update(task, completed=done),
            )
    return seed_database(engine, SystemClock(), patients=patients, seed=seed)


@app.command()
def paths() -> None:
    """Show where nursecase keeps its data and settings."""
    from nursecase.paths import default_database, default_paths

    folders = default_paths()
    echo(f"data folder:  {folders.home}")
    echo(f"database:     {_shown(default_database())}")
    echo(f"config file:  {folders.config_file}")
    echo(f"backups:      {folders.backups}")
    echo(f"exports:      {folders.exports}")


@db_app.command("upgrade")
def db_upgrade(context: typer.Context, db: DbOption = None) -> None:
    """Upgrade the database to the current schema (a backup is taken first)."""
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.db.schema import revision_state
    from nursecase.paths import default_paths

    location = _database_location(context, db)
    engine = make_engine(location)
    try:
        before = revision_state(engine)
        backup = ensure_schema(engine, backup_folder=default_paths().backups)
    finally:
        engine.dispose()
    if before.up_to_date:
        echo(f"Already at the current schema ({before.head}).")
        return
    echo(f"Upgraded {_shown(location)} from {before.current or 'empty'} to {before.head}.")
    if backup:
        echo(f"Backup taken first: {backup}")
    elif before.has_tables and "://" in location and not location.startswith("sqlite"):
        echo("No backup taken first: pg_dump was not found; the server's own backups hold")


@db_app.command("check")
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
    from nursecase.db.engine import database_url, integrity_problems, make_engine, sqlite_file
    from nursecase.db.schema import revision_state, unknown_revision
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    location = _database_location(context, db, notice=False)
    _require_existing(location)
    problems: list[str] = []
    database_file = sqlite_file(database_url(location))
    if database_file is not None:
        problems, removed = _leftover_problems(database_file, remove=remove_leftovers)
        for line in removed:
            echo(line)
    engine = make_engine(location)
    findings = []
    try:
        state = revision_state(engine)
        if unknown_revision(state) is not None:
            problems.append(unknown_revision(state))
        elif not state.up_to_date:
            problems.append(
                f"schema at {state.current or 'none'}, expected {state.head}"
                " (run: nursecase db upgrade)"
            )
        with engine.connect() as connection:
            problems.extend(integrity_problems(connection))
        if state.up_to_date:
            service_context = ServiceContext(engine, SystemClock(), settings=_settings())
            report = AuditService(service_context).verify()
            if not report.ok:
                problems.append(f"audit trail: {report.message}")
            if clinical and not problems:
                from nursecase.services.clinical_check import ClinicalCheckService

                findings = ClinicalCheckService(service_context).run()
    finally:
        engine.dispose()
    problems.extend(_leftover_export_problems())
    if problems:
        for problem in problems:
            echo(f"problem: {problem}", err=True)
        raise typer.Exit(1)
    if findings:
        _print_findings(findings)
        raise typer.Exit(1)
    echo("ok" if not clinical else "ok: no clinical contradiction found")


def _leftover_export_problems() -> list[str]:
    """The part files killed exports left in the exports folder: PHI nobody will finish."""
    from nursecase.paths import default_paths
    from nursecase.reports.files import stale_parts

    folder = _settings().exports_folder or default_paths().exports
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


def _print_findings(findings) -> None:
    """The clinical contradictions under a heading per kind, then their count."""
    kind = None
    for finding in findings:
        if finding.kind != kind:
            kind = finding.kind
            echo(f"{kind.label}:")
        echo(f"  {finding.line()}")
    count = len(findings)
    echo(f"{count} clinical contradiction{'s' if count != 1 else ''} found", err=True)


@db_app.command("backup")
def db_backup(
    context: typer.Context,
    destination: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    db: DbOption = None,
) -> None:
    """Back up the database to DESTINATION (an SQLite file: SQLite's online backup
    API; a server: pg_dump, or a logical copy into an SQLite file)."""
    from nursecase.db.engine import database_url, sqlite_file
    from nursecase.db.maintenance.backup import backup_sqlite, remove_backup_leftovers

    location = _database_location(context, db)
    destination = destination.expanduser()
    if destination.parent.is_dir():
        # A killed backup left its temporary file here: the next one clears it.
        for removed in remove_backup_leftovers(destination.parent):
            echo(f"Removed {removed}, left by an interrupted backup", err=True)
    source = sqlite_file(database_url(location))
    if source is None:
        from nursecase.cli_copy import backup_server_command

        backup_server_command(location, destination)
        return
    _require_existing(location)
    if os.path.lexists(destination):
        raise CommandError(f"{destination} already exists; choose a new file name")
    backup_sqlite(source, destination)
    echo(f"Backed up {source} to {destination}")


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
    from nursecase.db.engine import database_url, sqlite_file

    location = _database_location(context, db, notice=False)
    path = sqlite_file(database_url(location))
    if path is None:
        raise CommandError("encryption works on SQLite files only")
    if not path.is_file():
        raise CommandError(f"no database at {path}")
    return path


@db_app.command("encrypt")
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


def _require_existing(location: str) -> None:
    from nursecase.db.engine import database_url, sqlite_file

    path = sqlite_file(database_url(location))
    if path is not None and not path.exists():
        raise CommandError(f"no database at {path}")


# --- export -----------------------------------------------------------------

EXPORT_NURSE_HELP = (
    "Who exports (username; recorded in the audit trail). The report covers this nurse's"
    " patients unless --all. Optional when the database has one nurse."
)
#: The CLI option each export field is given with, for one-line errors.
_EXPORT_OPTION_NAMES = {
    "report": "REPORT",
    "format": "--format",
    "out": "--out",
    "all": "--all",
    "month": "--month",
    "from": "--from",
    "to": "--to",
    "patient": "--patient",
    "reply-days": "--reply-days",
    "nurse": "--nurse",
}


@app.command()
def export(
    context: typer.Context,
    report: Annotated[
        str,
        typer.Argument(
            help="caseload, worklist, referrals, ccm, tcm, careplans, patient or supervisor.",
            metavar="REPORT",
            show_default=False,
        ),
    ],
    file_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="csv, json, md, pdf or fhir.")
    ] = "csv",
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="PATH|-",
            help="The file to write, or - for stdout. Default: a new file in the exports folder.",
            show_default=False,
        ),
    ] = None,
    all_nurses: Annotated[
        bool, typer.Option("--all", help="Every nurse's patients, not only the nurse's own.")
    ] = False,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            metavar="YYYY-MM",
            callback=month_value,
            help="A month (ccm, tcm, referrals, patient).",
            show_default=False,
        ),
    ] = None,
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="First day (YYYY-MM-DD), with --to.",
            show_default=False,
            callback=date_value,
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DATE",
            help="Last day (YYYY-MM-DD), with --from.",
            show_default=False,
            callback=date_value,
        ),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient",
            metavar="MRN",
            help="One patient's MRN (required by the patient report).",
            show_default=False,
        ),
    ] = None,
    reply_days: Annotated[
        int | None,
        typer.Option(
            "--reply-days",
            metavar="DAYS",
            min=1,
            max=365,
            help="Supervisor report: list referrals with no reply after this many days [14].",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    nurse: Annotated[
        str | None,
        typer.Option(
            "--nurse",
            envvar="NURSECASE_NURSE",
            metavar="USERNAME",
            help=EXPORT_NURSE_HELP,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export a report as CSV, JSON, Markdown, PDF or FHIR (written 0600 and audited)."""
    from nursecase.domain.validation import ValidationError

    try:
        _export(
            context,
            report=report,
            file_format=file_format,
            out=out,
            all_nurses=all_nurses,
            month=month,
            date_from=date_from,
            date_to=date_to,
            patient=patient,
            reply_days=reply_days,
            db=db,
            nurse=nurse,
        )
    except ValidationError as error:
        option = _EXPORT_OPTION_NAMES.get(error.field, error.field)
        raise CommandError(f"{option}: {error.message}") from error


def _export(
    context: typer.Context,
    *,
    report: str,
    file_format: str,
    out: str | None,
    all_nurses: bool,
    month: str | None,
    date_from: str | None,
    date_to: str | None,
    patient: str | None,
    reply_days: int | None,
    db: str | None,
    nurse: str | None,
) -> None:
    """The export command: check everything, then stream the report out and audit it."""
    from nursecase.services.exports import REPORTS, check_destination, check_request

    if report.strip().lower() not in REPORTS:
        raise CommandError(f"unknown report {report!r}; choose one of: {', '.join(REPORTS)}")
    options = check_request(
        report,
        file_format,
        all_nurses=all_nurses,
        month=month,
        date_from=date_from,
        date_to=date_to,
        patient_mrn=patient,
        reply_days=reply_days,
    )
    to_stdout = out == "-"
    path = None
    if out is not None and not to_stdout:
        path = Path(out).expanduser()
        check_destination(path)  # before any work: a bad path wastes nobody's time
    location = _database_location(context, db)
    _require_existing(location)
    settings = _settings()
    engine = _open_engine(location)
    try:
        from nursecase.clock import SystemClock
        from nursecase.services import make_services

        services = make_services(engine, SystemClock(), settings=settings)
        _sign_in_exporter(services, _nurse(context, nurse))
        exporter = services.exports
        plan = exporter.prepare(options)
        if path is None and not to_stdout:
            from nursecase.paths import default_paths

            path = exporter.default_destination(
                plan, settings.exports_folder or default_paths().exports
            )
        destination = _report_stream(plan.file_format) if to_stdout else path
        _remove_stale_exports(settings)
        with _export_progress(plan.report) as progress, _terminate_as_interrupt():
            try:
                result = exporter.run(plan, destination, progress, checkpoint=_pause_at())
            except BrokenPipeError as error:
                _silence_stdout()
                raise CommandError("the output was closed before the export finished") from error
    finally:
        engine.dispose()
    rows = f"{result.rows} row{'' if result.rows == 1 else 's'}"
    patients = f"{result.patients} patient{'' if result.patients == 1 else 's'}"
    where = "stdout" if result.path is None else str(result.path)
    # With --out - the report owns stdout; the summary goes to stderr.
    echo(
        f"Exported {plan.report} ({plan.file_format}): {rows}, {patients} to {where}", err=to_stdout
    )


#: Test seam (crash tests): the export stage ("started", "written", "renamed")
#: at which ``nursecase export`` stops and waits to be killed.
PAUSE_EXPORT_VARIABLE = "NURSECASE_TEST_PAUSE_EXPORT"


def _pause_at():
    """The checkpoint that holds an export at the stage a crash test asked for (else None)."""
    stage = os.environ.get(PAUSE_EXPORT_VARIABLE)
    if not stage:
        return None

    def checkpoint(reached: str) -> None:
        if reached == stage:
            import time

            time.sleep(120)  # until the test kills the process

    return checkpoint


def _remove_stale_exports(settings) -> None:
    """Remove the part files killed exports left in the exports folder (held ones stay)."""
    from nursecase.paths import default_paths
    from nursecase.reports.files import remove_stale_parts

    remove_stale_parts(settings.exports_folder or default_paths().exports)


@contextmanager
def _terminate_as_interrupt():
    """While an export runs, SIGTERM (a plain ``kill``) stops it as ctrl+c does.

    Without this, SIGTERM ends the process at once and leaves the part file
    behind; as an interrupt, the part file is removed and the end is recorded.
    """
    import signal

    def interrupt(_signal_number, _frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sign_in_exporter(services, username: str | None) -> None:
    """Sign in the exporting nurse: the one named, else the only nurse there is."""
    if username is None:
        nurses = [item for item in services.nurses.list_nurses() if item.active]
        if len(nurses) != 1:
            raise CommandError(
                "say who is exporting with --nurse USERNAME (or NURSECASE_NURSE);"
                " the audit trail records it"
            )
        username = nurses[0].username
    sign_in_command_user(services, username)


def sign_in_command_user(services, username: str) -> None:
    """Sign in whoever runs a command that acts as someone (export, import).

    Once accounts have passwords a role is never taken on a username's word:
    the password is asked, hidden, on stderr (so that `--out -` keeps
    standard output for the report alone), and checked like a login.
    """
    from nursecase.cli_users import PasswordSource, sign_in_actor

    # With passwords on, an unknown username is answered like a wrong password
    # (by the sign-in, after its delay): saying "no nurse" would list the accounts.
    enforced = services.accounts.has_passwords()
    if not enforced and services.nurses.get_by_username(username) is None:
        raise CommandError(f"--nurse: no nurse with username {username.strip().lower()!r}")
    passwords = PasswordSource(from_stdin=False, prompt_on_stderr=True)
    sign_in_actor(services, username, passwords, "signing in")


class _ExportProgress:
    """A Rich progress bar on stderr, shown only once an export proves long."""

    def __init__(self, report: str) -> None:
        self.report = report
        self.progress = None
        self.task = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.progress is None:
            if done == total:
                return  # the last call of an export that never needed a bar
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(f"Exporting {self.report}", total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@contextmanager
def _export_progress(report: str):
    """The progress callback: a bar when stderr is a terminal, nothing when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    progress = _ExportProgress(report)
    try:
        yield progress
    finally:
        progress.close()


def _report_stream(file_format: str):
    """Standard output for ``--out -``: as it is for a pipe or a file, terminal-safe on a terminal.

    A report keeps its stored text; a terminal would obey an ESC in a name
    (``cli_options.TerminalSafeStream`` shows it instead). A PDF is not text:
    onto a terminal it is refused rather than printed as noise.
    """
    stream = typer.get_binary_stream("stdout")
    if not sys.stdout.isatty():
        return stream
    if file_format == "pdf":
        raise CommandError(
            "--out -: standard output is a terminal and a PDF is not text;"
            " give --out FILE, or pipe it into a file or a viewer"
        )
    return TerminalSafeStream(stream)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: its reader is gone, and flushing at exit must not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


# --- entry point ------------------------------------------------------------


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message is fit for the user; imported only when one happened."""
    from sqlalchemy.exc import DatabaseError, OperationalError

    from nursecase.config import ConfigError
    from nursecase.db.damaged import DRIVER_ERRORS
    from nursecase.db.locations import DatabaseLocationError
    from nursecase.db.schema import MigrationError
    from nursecase.domain.validation import ValidationError
    from nursecase.files import UnsafePathError
    from nursecase.services.errors import ServiceError

    return (
        UnsafePathError,
        CommandError,
        DatabaseError,
        *DRIVER_ERRORS,
        UnicodeError,
        ConfigError,
        DatabaseLocationError,
        MigrationError,
        ValidationError,
        ServiceError,
        OperationalError,
        OSError,
    )


def _describe(error: BaseException) -> str:
    from sqlalchemy.exc import DatabaseError

    from nursecase.db.damaged import damage_described

    damage = damage_described(error)
    if damage is not None:
        return damage
    if isinstance(error, UnicodeError):
        # Bytes that are not UTF-8 in a file name, a variable or standard input.
        return f"text that is not UTF-8 ({error.reason}); use UTF-8 names and input"
    if isinstance(error, DatabaseError):
        # The driver's first line says what is wrong ("unable to open database
        # file", "database is locked"); the SQL and parameters are not shown.
        return f"database: {(str(error.orig).splitlines() or [type(error.orig).__name__])[0]}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)


#: Files and folders nursecase creates are its user's alone (DESIGN.md section 4).
PRIVATE_UMASK = 0o077


def use_private_umask() -> None:
    """Make everything this process creates readable by its user only.

    The database, its -wal/-shm files and exports are already created 0600
    explicitly; the umask covers the rest (SQLite's temporary files, Alembic
    and fpdf2 output, config and backup folders) without listing them.
    """
    os.umask(PRIVATE_UMASK)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: one clear line and a non-zero exit on any error."""
    use_private_umask()
    problem = unusable_argument(sys.argv[1:] if argv is None else argv, os.environ)
    if problem is not None:
        echo(f"nursecase: error: {problem}", err=True)
        sys.exit(2)
    try:
        result = app(args=argv, prog_name="nursecase", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        echo("nursecase: aborted", err=True)
        sys.exit(130)
    except typer.Exit as exit_request:
        sys.exit(exit_request.exit_code)
    except typer.TyperException as error:  # usage errors: bad option values, unknown commands
        echo(f"nursecase: error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except Exception as error:
        if isinstance(error, _known_errors()):
            echo(f"nursecase: error: {_describe(error)}", err=True)
            sys.exit(1)
        if os.environ.get("NURSECASE_DEBUG"):
            raise
        echo(
            f"nursecase: error: unexpected {type(error).__name__}; run with NURSECASE_DEBUG=1"
            " for details",
            err=True,
        )
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)
