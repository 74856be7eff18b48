"""``nursecase import fhir PATH...`` and ``nursecase import readings FILE.csv``.

(The module is named ``import_`` because ``import`` is a Python keyword.)
Rich is loaded inside the command, and Textual never.

Each file is checked whole, then written in short transactions of whole
patients (``nursecase.services.fhir_import``), so other workstations keep
saving while a large file imports: a refused file is reported in one line,
``nursecase: error: FILE: PLACE: why``, nothing from it is written, and the
other files are still imported; the command then exits 1. A progress bar is
drawn on a terminal (on stderr, never when piped) and a summary of what was
created, updated, left unchanged and skipped is printed at the end. With
passwords on, the importing nurse's password is asked on the terminal or read
with ``--password-stdin``.

``import readings`` is a thin shell over ``nursecase.services.reading_files``:
one transaction per file, a line for each refused row, exit code 1 when any
row was refused (the good rows are kept) or the file could not be read.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    SignInPasswordStdinOption,
    echo,
    handled,
    load_settings,
    nurse_option,
    shown,
)

if TYPE_CHECKING:
    from nursecase.services.fhir_import import ImportTotals
    from nursecase.services.reading_files import ReadingFileResult

import_app = typer.Typer(
    help="Import patients and their records from other systems.", no_args_is_help=True
)

PathsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH",
        help="Bundle files (.json) or folders (every .json file inside, recursively).",
        show_default=False,
    ),
]

#: Warnings printed in full at the end; the rest are counted.
WARNINGS_SHOWN = 10
#: Refused rows of a readings file printed in full; the rest are counted.
ROW_PROBLEMS_SHOWN = 50


def bundle_files(paths: list[Path]) -> list[Path]:
    """The files to import, in order: files as given, folders' .json files sorted.

    A path that does not exist, or paths that hold no .json file at all, are
    refused before anything is imported.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(item for item in path.rglob("*.json") if item.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise CommandError(f"no such file or folder: {path}")
    if not files:
        raise CommandError("no FHIR bundles (.json files) found in " + ", ".join(map(str, paths)))
    return files


@import_app.command("fhir")
@handled()
def import_fhir(
    context: typer.Context,
    paths: PathsArgument,
    db: DbOption = None,
    nurse: Annotated[
        str | None,
        nurse_option("Sign in as this nurse (username); new patients join their caseload."),
    ] = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """Import FHIR R4 Bundles (transaction, collection, searchset), such as Synthea's.

    Patients (by MRN), conditions, medications, the care team, recent
    discharges, PHQ-9/PHQ-2/GAD-7 scores and care plans. Importing a file again
    changes nothing. Hospital encounters are not logged as contacts.
    """
    from nursecase.services.fhir_import import FhirImportError, FhirImportService, ImportTotals

    files = bundle_files(paths)
    state = CommandState.of(context, db, nurse)
    with state.services(settings=load_settings()) as services:
        started = time.perf_counter()
        totals = ImportTotals()
        state.act_as(services, "importing", password_stdin=password_stdin)
        importer = FhirImportService(services.context)

        def import_one(path: Path, report: Callable[[str], None]) -> None:
            """Import one file; a refusal is counted and reported in one line."""
            try:
                totals.add(importer.import_file(path))
            except FhirImportError as error:
                totals.refuse(error)
                report(f"nursecase: error: {error}")

        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            from nursecase.domain.terminal_text import printable

            console = Console(stderr=True)

            def show(line: str) -> None:
                console.print(printable(line), markup=False, highlight=False, soft_wrap=True)

            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("Importing FHIR bundles", total=len(files))
                for path in files:
                    import_one(path, show)
                    progress.advance(task)
        else:
            for path in files:
                import_one(path, lambda line: echo(line, err=True))
    for line in summary_lines(totals, len(files), time.perf_counter() - started, state.location):
        echo(line)
    if totals.refused:
        raise typer.Exit(1)


def summary_lines(
    totals: ImportTotals, file_count: int, seconds: float, location: str
) -> list[str]:
    """The end-of-run summary: files, what each kind of record did, what was skipped."""
    lines = [
        f"Imported {totals.files} of {file_count} file{'s' if file_count != 1 else ''}"
        f" into {shown(location)} in {seconds:.1f} s"
        + (f"; {len(totals.refused)} refused" if totals.refused else "")
    ]
    width = max(len(kind) for kind in totals.tallies)
    for kind, tally in totals.tallies.items():
        lines.append(
            f"  {kind:<{width}}  {tally.created} created, {tally.updated} updated,"
            f" {tally.unchanged} unchanged"
        )
    if totals.skipped:
        lines.append("Not imported (resources nursecase does not use):")
        skipped_width = max(len(name) for name in totals.skipped)
        for name, count in sorted(totals.skipped.items()):
            lines.append(f"  {name:<{skipped_width}}  {count}")
    if totals.warnings:
        lines.append(f"Left out of imported records: {len(totals.warnings)}")
        lines.extend(f"  {warning}" for warning in totals.warnings[:WARNINGS_SHOWN])
        hidden = len(totals.warnings) - WARNINGS_SHOWN
        if hidden > 0:
            lines.append(f"  and {hidden} more")
    return lines


@import_app.command("readings")
@handled()
def import_readings(
    context: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            help="A readings file: a header naming mrn,code,value,unit,time, one reading a row.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    nurse: Annotated[
        str | None, nurse_option("Sign in as this nurse (username); the audit names them.")
    ] = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """Import a home-monitoring vendor's readings file (CSV), in one transaction.

    The first line names the columns mrn, code, value, unit and time (any
    case, any order; other columns are ignored). code is a LOINC code (body
    weight 29463-7, systolic 8480-6, diastolic 8462-4, glucose 41653-7 ...);
    time is ISO 8601, a date and a time of day (2026-11-27T07:30:00Z): one
    with a zone is converted to this workstation's local time. Each bad row
    is named by its line and left out; the good rows are kept. Readings
    already on file are skipped, so importing a file again changes nothing.

    Exit status: 0 when every row was imported or already on file; 1 when
    any row was refused (the others are kept), or when the file could not be
    read at all (not UTF-8, no header, a missing column: then nothing is
    imported).
    """
    from nursecase.services.reading_files import ReadingFileService

    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    state = CommandState.of(context, db, nurse)
    with state.services(settings=load_settings()) as services:
        started = time.perf_counter()
        state.act_as(services, "importing", password_stdin=password_stdin)
        result = ReadingFileService(services.context, services.readings).import_file(path)
    seconds = time.perf_counter() - started
    for line in readings_summary(result, path, seconds, state.location):
        echo(line)
    if result.refused:
        raise typer.Exit(1)


def _many(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def readings_summary(
    result: ReadingFileResult, path: Path, seconds: float, location: str
) -> list[str]:
    """The words after a readings file: what was added, what was on file, the refused rows."""
    parts = [_many(result.added, "reading") + " added"]
    if result.corrected:
        parts.append(f"{result.corrected:,} corrected")
    parts.append(f"{result.unchanged:,} already on file")
    parts.append(_many(result.alerts_opened, "alert") + " opened")
    if result.alerts_updated:
        parts.append(_many(result.alerts_updated, "alert") + " updated")
    line = f"Imported {path.name} into {shown(location)} in {seconds:.1f} s: " + ", ".join(parts)
    changed = result.added or result.corrected or result.alerts_opened or result.alerts_updated
    if not result.refused:
        lines = [line + "."]
    else:
        lines = [line + f"; {_many(result.refused, 'row')} not imported:"]
        lines.extend(f"  {problem}" for problem in result.problems[:ROW_PROBLEMS_SHOWN])
        hidden = result.refused - min(len(result.problems), ROW_PROBLEMS_SHOWN)
        if hidden > 0:
            lines.append(f"  and {hidden:,} more")
    if not changed:
        if result.unchanged:
            lines.append("Nothing changed: every reading in the file was already on file.")
        else:
            lines.append("Nothing changed: the file holds no reading that could be imported.")
    return lines
