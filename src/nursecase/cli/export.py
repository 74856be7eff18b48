"""``nursecase export REPORT``: a report as CSV, JSON, Markdown, PDF or FHIR.

Everything asked for is checked before any work (``check_request``, the
destination), then the report is streamed to a file (0600, atomic) or to
standard output and audited (``nursecase.services.exports``). Textual is
never loaded by an export. With passwords on, the exporting nurse's password
is asked on the terminal or read with ``--password-stdin``; a running demo's
database exports into the demo's own folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    SignInPasswordStdinOption,
    TerminalSafeStream,
    date_value,
    echo,
    exports_folder,
    handled,
    load_settings,
    month_value,
    nurse_option,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from nursecase.services import Services

EXPORT_NURSE_HELP = (
    "Who exports (username; recorded in the audit trail). The report covers this nurse's"
    " patients unless --all. Optional when the database has one nurse."
)
#: The CLI option each export field is given with, for one-line errors.
EXPORT_OPTION_NAMES = {
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


@handled(EXPORT_OPTION_NAMES)
def export(
    context: typer.Context,
    report: Annotated[
        str,
        typer.Argument(
            help=(
                "caseload, worklist, referrals, ccm, rpm, tcm, careplans, patient,"
                " supervisor or outcomes."
            ),
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
            help="A month (ccm, rpm, tcm, outcomes, referrals, patient).",
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
    nurse: Annotated[str | None, nurse_option(EXPORT_NURSE_HELP, metavar="USERNAME")] = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """Export a report as CSV, JSON, Markdown, PDF or FHIR (written 0600 and audited)."""
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
    state = CommandState.of(context, db, nurse)
    state.require_existing()
    settings = load_settings()
    with state.services(settings=settings) as services:
        _sign_in_exporter(state, services, password_stdin)
        exporter = services.exports
        plan = exporter.prepare(options)
        folder = exports_folder(state.location, settings)
        if path is None and not to_stdout:
            path = exporter.default_destination(plan, folder)
        destination = _report_stream(plan.file_format) if to_stdout else path
        _remove_stale_exports(folder)
        with export_progress(plan.report) as progress, _terminate_as_interrupt():
            try:
                result = exporter.run(plan, destination, progress, checkpoint=_pause_at())
            except BrokenPipeError as error:
                _silence_stdout()
                raise CommandError("the output was closed before the export finished") from error
    rows = f"{result.rows} row{'' if result.rows == 1 else 's'}"
    patients = f"{result.patients} patient{'' if result.patients == 1 else 's'}"
    where = "stdout" if result.path is None else str(result.path)
    # With --out - the report owns stdout; the summary goes to stderr.
    echo(
        f"Exported {plan.report} ({plan.file_format}): {rows}, {patients} to {where}", err=to_stdout
    )


def _sign_in_exporter(state: CommandState, services: Services, password_stdin: bool) -> None:
    """Sign in the exporting nurse: the one named, else the only nurse there is."""
    username = state.nurse
    if username is None:
        nurses = [item for item in services.nurses.list_nurses() if item.active]
        if len(nurses) != 1:
            raise CommandError(
                "say who is exporting with --nurse USERNAME (or NURSECASE_NURSE);"
                " the audit trail records it"
            )
        username = nurses[0].username
    state.act_as(services, "signing in", actor=username, password_stdin=password_stdin)


#: Test seam (crash tests): the export stage ("started", "written", "renamed")
#: at which ``nursecase export`` stops and waits to be killed.
PAUSE_EXPORT_VARIABLE = "NURSECASE_TEST_PAUSE_EXPORT"


def _pause_at() -> Callable[[str], None] | None:
    """The checkpoint that holds an export at the stage a crash test asked for (else None)."""
    stage = os.environ.get(PAUSE_EXPORT_VARIABLE)
    if not stage:
        return None

    def checkpoint(reached: str) -> None:
        if reached == stage:
            import time

            time.sleep(120)  # until the test kills the process

    return checkpoint


def _remove_stale_exports(folder: Path) -> None:
    """Remove the part files killed exports left in the exports folder (held ones stay)."""
    from nursecase.reports.files import remove_stale_parts

    remove_stale_parts(folder)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While an export runs, SIGTERM (a plain ``kill``) stops it as ctrl+c does.

    Without this, SIGTERM ends the process at once and leaves the part file
    behind; as an interrupt, the part file is removed and the end is recorded.
    """
    import signal

    def interrupt(_signal_number: int, _frame: FrameType | None) -> None:
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


class ExportProgress:
    """A Rich progress bar on stderr, shown only once an export proves long."""

    def __init__(self, report: str) -> None:
        self.report = report
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.progress is None or self.task is None:
            if done == total:
                return  # the last call of an export that never needed a bar
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(f"Exporting {self.report}", total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        """Take the bar off the terminal (if one was drawn)."""
        if self.progress is not None:
            self.progress.stop()


@contextmanager
def export_progress(report: str) -> Iterator[ExportProgress | None]:
    """The progress callback: a bar when stderr is a terminal, nothing when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    progress = ExportProgress(report)
    try:
        yield progress
    finally:
        progress.close()


def _report_stream(file_format: str) -> BinaryIO | TerminalSafeStream:
    """Standard output for ``--out -``: as it is for a pipe or a file, terminal-safe on a terminal.

    A report keeps its stored text; a terminal would obey an ESC in a name
    (``TerminalSafeStream`` shows it instead). A PDF is not text: onto a
    terminal it is refused rather than printed as noise.
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
