"""The export service: resolve who and what, record the export, stream it out.

``ExportService.prepare(options)`` resolves the nurse and the patient an
export names (inside a read session) and fixes "today": after it, the only
things that can still fail are the destination and the disk. ``run(plan,
destination)`` builds the report inside one read session and streams it to
the destination:

- a path: written atomically with mode 0600 (``reports.files``): a reader
  sees the old file or the whole new one, and a failure leaves nothing (not
  even the hidden part file); part files that killed exports left in the
  folder are removed first. Only a regular file is ever replaced: a folder,
  a symbolic link, a pipe or a device is refused before anything is touched;
- a binary stream (stdout): written chunk by chunk as the rows arrive.

Every export is audited, or it did not happen (DESIGN.md section 4): an
``export`` event (report, format, scope, where to, how many rows are
expected; no PHI) is committed in its own transaction BEFORE the first byte
leaves. If it cannot be, nothing is written and ExportNotRecordedError says
why in one line. After the last byte an ``export-finished`` event records how
it ended (completed, partial, failed) with the rows and patients written. So
an export killed halfway still has its ``export`` event, and counting
``export`` events counts every export once.

The FHIR format is plugged in: ``ExportService(context, fhir_builder=...)``
takes a function ``(session, scope, report) -> Report`` that returns a report
with ``body`` set to the bundle's bytes. Without one, a FHIR export says in
one line that it is not available yet.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from nursecase.db.models import Nurse
from nursecase.domain.codes import AuditAction, Role
from nursecase.domain.validation import ValidationError
from nursecase.files import kind_of
from nursecase.reports.errors import ReportError
from nursecase.reports.files import atomic_file, remove_stale_parts
from nursecase.reports.markdown import render_markdown
from nursecase.reports.pdf import FONT_CANDIDATES, FontPair, render_pdf
from nursecase.reports.tables import (
    csv_chunks,
    for_machines,
    for_people,
    json_chunks,
    markdown_chunks,
)
from nursecase.services import audit
from nursecase.services.accounts import require_role
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError
from nursecase.services.exports.common import ExportScope, Report, table_document
from nursecase.services.exports.options import ExportOptions, default_period
from nursecase.services.exports.registry import BUILDERS
from nursecase.services.patients import find_by_mrn

#: The audit event's entity for an export of a report.
AUDIT_ENTITY = "export"
#: How often (in rows) the progress callback is told.
PROGRESS_EVERY = 1000
FOLDER_MODE = 0o700

Progress = Callable[[int, int | None], None]
"""Called with (rows done, rows expected or None) while an export runs."""


class ExportUnavailableError(ServiceError):
    """The report cannot be produced in this format (yet); the message says so in one line."""


class ExportNotRecordedError(ServiceError):
    """The audit trail could not record an export's start (nothing left) or its end."""


class FhirBuilder(Protocol):
    """Builds the FHIR form of a report: a Report whose ``body`` yields the bundle's bytes."""

    def __call__(self, session: Session, scope: ExportScope, report: str) -> Report:
        """The FHIR bundle of ``report`` ("caseload" or "patient") for the scope."""
        ...


@dataclass(frozen=True)
class ExportPlan:
    """A checked export with its nurse and patient resolved; ready to run."""

    options: ExportOptions
    scope: ExportScope
    #: The patient's MRN when the export is about one patient (for the file name).
    patient_mrn: str | None = None

    @property
    def report(self) -> str:
        """The report's name."""
        return self.options.report

    @property
    def file_format(self) -> str:
        """The format's code ("csv")."""
        return self.options.file_format

    def file_name(self) -> str:
        """The default file name: "caseload-2026-11-27.csv", "patient-MRN1-2026-11-27.pdf"."""
        stem = self.report
        if self.patient_mrn is not None:
            stem = f"{stem}-{self.patient_mrn}"
        return f"{stem}-{self.scope.today.isoformat()}{self.options.suffix}"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    report: str
    file_format: str
    rows: int
    patients: int
    #: The file written; None when the export went to a stream (stdout).
    path: Path | None


class _Counter:
    """Counts rows as a writer pulls them, and reports progress now and then."""

    def __init__(self, progress: Progress | None, total: int | None) -> None:
        self.rows = 0
        self.progress = progress
        self.total = total

    def count(self, rows: Iterable) -> Iterator:
        """``rows`` as they are pulled, counted in ``self.rows`` (up to date at every row)."""
        progress = self.progress
        for row in rows:
            self.rows += 1
            if progress is not None and self.rows % PROGRESS_EVERY == 0:
                progress(self.rows, self.total)
            yield row
        if progress is not None:
            progress(self.rows, self.total)


def render(
    report: Report,
    file_format: str,
    *,
    created: datetime,
    font_candidates: tuple[FontPair, ...] | list[FontPair] = FONT_CANDIDATES,
) -> Iterable[bytes]:
    """The report's bytes in ``file_format``, as an iterable of chunks (streamed where it can).

    ``created`` is the moment a PDF says it was printed.
    """
    if report.body is not None:
        return report.body
    if file_format == "csv":
        return csv_chunks(*for_machines(report.columns, report.rows))
    if file_format == "json":
        return json_chunks(*for_machines(report.columns, report.rows))
    if file_format == "md":
        if report.document is not None and report.markdown_from_document:
            return _lazily(lambda: render_markdown(report.document()).encode("utf-8"))
        columns, rows = for_people(report.columns, report.rows)
        return markdown_chunks(columns, rows, title=report.title, meta=report.meta)
    if file_format == "pdf":
        document = report.document or (lambda: table_document(report))
        return _lazily(
            lambda: render_pdf(
                document(),
                created=created,
                font_candidates=font_candidates,
                landscape=report.landscape,
                table_size=report.table_size,
            )
        )
    raise ExportUnavailableError(f"the {report.name} report has no {file_format} format")


def _lazily(make: Callable[[], bytes]) -> Iterator[bytes]:
    """One chunk made only when the writer asks for it (inside the read session)."""
    yield make()


class ExportService:
    """Reports out of nursecase: CSV, JSON, Markdown, PDF (and FHIR when plugged in)."""

    def __init__(self, context: ServiceContext, fhir_builder: FhirBuilder | None = None) -> None:
        self.context = context
        self.fhir_builder = fhir_builder

    # --------------------------------------------------------------- planning

    def prepare(self, options: ExportOptions) -> ExportPlan:
        """Resolve the nurse and patient of ``options``; ValidationError names what is wrong.

        The signed-in nurse is who exports (NoNurseError without one). The report
        covers ``options.nurse_username``'s patients, else the signed-in nurse's,
        or every nurse's with ``all_nurses``; ``patient_mrn`` narrows it to one
        patient, whoever's caseload they are on. Every nurse's patients and the
        supervisor report need a supervisor (or admin) once accounts have
        passwords (PermissionDeniedError).
        """
        self.context.require_nurse()
        if options.file_format == "fhir" and self.fhir_builder is None:
            raise ExportUnavailableError("fhir export is not built yet")
        clock = self.context.clock
        today = clock.today()
        with self.context.read() as session:
            # Across nurses is a supervisor's view (a no-op on an open database).
            if options.report == "supervisor":
                require_role(session, self.context, Role.supervisor, "the supervisor report")
            elif options.all_nurses:
                require_role(
                    session, self.context, Role.supervisor, "exporting every nurse's patients"
                )
            if options.all_nurses:
                nurse_id, nurse_label = None, "every nurse"
            else:
                nurse_id, nurse_label = self._nurse(session, options.nurse_username)
            patient_id = None
            if options.patient_mrn is not None:
                # By key: the MRN written with or without its punctuation.
                patient = find_by_mrn(session, options.patient_mrn)
                patient_id = patient.id if patient is not None else None
                if patient_id is None:
                    raise ValidationError("patient", f"no patient with MRN {options.patient_mrn}")
        scope = ExportScope(
            today=today,
            now=clock.now(),
            nurse_id=nurse_id,
            nurse_label=nurse_label,
            patient_id=patient_id,
            period=default_period(options, today),
            reply_days=options.reply_days,
        )
        return ExportPlan(options=options, scope=scope, patient_mrn=options.patient_mrn)

    def _nurse(self, session: Session, username: str | None) -> tuple[int, str]:
        if username is None:
            nurse = session.get(Nurse, self.context.require_nurse())
        else:
            name = username.strip().lower()
            nurse = session.execute(select(Nurse).where(Nurse.username == name)).scalar()
            if nurse is None:
                raise ValidationError("nurse", f"no nurse with username '{name}'")
        if nurse is None:  # the signed-in nurse was removed meanwhile
            raise ValidationError("nurse", "the signed-in nurse no longer exists")
        label = ", ".join(filter(None, (nurse.display_name, nurse.credentials)))
        return nurse.id, label

    def default_destination(self, plan: ExportPlan, folder: Path) -> Path:
        """A new file in ``folder`` (0700: created so, or tightened) named for the report and day.

        An export of the same report the same day gets "-2", "-3" ...: a default
        name never replaces an earlier file.
        """
        from nursecase.files import UnsafePathError, private_folder

        try:
            # nursecase's own exports folder: 0700, tightened if it was wider.
            private_folder(folder, tighten=True, what="the exports folder")
        except UnsafePathError as error:
            raise ValidationError("out", str(error)) from error
        name = plan.file_name()
        suffix = plan.options.suffix
        stem = name[: -len(suffix)]
        candidate = folder / name
        number = 2
        while candidate.exists():
            candidate = folder / f"{stem}-{number}{suffix}"
            number += 1
        return candidate

    # ---------------------------------------------------------------- running

    def run(
        self,
        plan: ExportPlan,
        destination: Path | BinaryIO,
        progress: Progress | None = None,
        *,
        font_candidates: tuple[FontPair, ...] | list[FontPair] = FONT_CANDIDATES,
        checkpoint: Checkpoint | None = None,
    ) -> ExportResult:
        """Write the report to a file path (atomically, 0600) or a binary stream; audit it.

        The ``export`` event is committed before the first byte leaves (if it
        cannot be, ExportNotRecordedError and nothing is written); an
        ``export-finished`` event says how it ended. Part files that killed
        exports left in the destination folder are removed first.
        ``checkpoint`` is told each stage reached (see ``STAGES``).
        """
        path = Path(destination) if isinstance(destination, str | os.PathLike) else None
        if path is not None:
            check_destination(path)
            remove_stale_parts(path.parent)
        run = _Run(plan, checkpoint)
        try:
            with self.context.read() as session:
                report = self._build(session, plan)
                counter = _Counter(progress, report.total)
                run.report, run.counter = report, counter
                if report.body is None:
                    # In place: a report's document() reads report.rows when it runs.
                    report.rows = counter.count(report.rows)
                chunks = render(
                    report,
                    plan.file_format,
                    created=plan.scope.now,
                    font_candidates=font_candidates,
                )
                if report.body is not None:
                    chunks = counter.count(chunks)
                if path is not None:
                    self._write_file(run, path, chunks)
                else:
                    self._write_stream(run, cast(BinaryIO, destination), chunks)
        except BaseException as failure:
            # Recorded after the read session ends (a writer never waits on our own reader).
            self._finish_after_failure(run, failure)
            raise
        result = self._result(plan, counter, report, path)
        try:
            self._finish(run, "completed", result.rows)
        except ExportNotRecordedError as error:
            if path is None:
                raise
            # The start is on the trail, its end could not be: take the file back,
            # as a killed export's would be, rather than leave it unaccounted for.
            path.unlink(missing_ok=True)
            raise ExportNotRecordedError(f"{error}; {path} was removed") from error
        return result

    def _write_file(self, run: _Run, path: Path, chunks: Iterable[bytes]) -> None:
        """The report into a new part file, renamed over ``path`` once whole."""
        try:
            with atomic_file(path) as handle:
                # The part file exists (the folder takes it) and is still empty.
                self._start(run, "file")
                run.reached("started")
                for chunk in chunks:
                    handle.write(chunk)
                run.reached("written")
        except ReportError as error:
            raise ValidationError("out", str(error)) from error
        run.delivered = True
        run.reached("renamed")

    def _write_stream(self, run: _Run, stream: BinaryIO, chunks: Iterable[bytes]) -> None:
        """The report onto ``stream`` chunk by chunk, once its start is recorded."""
        self._start(run, "stream")
        run.reached("started")
        for chunk in chunks:
            stream.write(chunk)
            run.sent = True
        stream.flush()
        run.delivered = True
        run.reached("written")

    @staticmethod
    def _result(
        plan: ExportPlan, counter: _Counter, report: Report, path: Path | None
    ) -> ExportResult:
        return ExportResult(
            report=plan.report,
            file_format=plan.file_format,
            rows=counter.rows,
            patients=len(report.patients),
            path=path,
        )

    def _build(self, session: Session, plan: ExportPlan) -> Report:
        if plan.file_format == "fhir":
            if self.fhir_builder is None:
                raise ExportUnavailableError("fhir export is not built yet")
            return self.fhir_builder(session, plan.scope, plan.report)
        return BUILDERS[plan.report](session, plan.scope, self.context)

    # ------------------------------------------------------------------ audit

    def _start(self, run: _Run, destination_kind: str) -> None:
        """Commit the ``export`` event (no PHI: what, how, whose, where to) as ``run.start_id``.

        Its own short write transaction, on another connection than the
        export's read: on SQLite (WAL) a reader never blocks a writer, and on a
        server the read takes no lock, so this never waits on the export itself.
        """
        plan, report = run.plan, run.report
        assert report is not None
        fields = [
            f"report:{plan.report}",
            f"format:{plan.file_format}",
            _scope_field(plan.scope),
            f"to:{destination_kind}",
        ]
        if report.total is not None:
            fields.append(f"expected-rows:{report.total}")
        try:
            with self.context.write() as session:
                # Known before the commit: an interrupt after it still finds the start.
                run.start_id = audit.record(
                    session,
                    self.context,
                    AuditAction.export,
                    AUDIT_ENTITY,
                    plan.scope.patient_id,
                    fields,
                )
        except BaseException as error:
            run.start_id = None  # rolled back (or never known to have committed)
            if not isinstance(error, Exception):
                raise
            raise ExportNotRecordedError(
                "the export was not started: its audit event could not be recorded"
                f" ({_reason(error)}); nothing was written"
            ) from error

    def _finish(self, run: _Run, outcome: str, rows: int) -> None:
        """Record how the export ended; a lock held by another writer is waited out.

        ExportNotRecordedError if it cannot be recorded after ``FINISH_ATTEMPTS``.
        """
        assert run.start_id is not None and run.report is not None
        counts = [f"rows:{rows}", f"patients:{len(run.report.patients)}"]
        for attempt in range(1, FINISH_ATTEMPTS + 1):
            try:
                audit.record_export_finished(
                    self.context,
                    AUDIT_ENTITY,
                    run.plan.scope.patient_id,
                    run.start_id,
                    outcome,
                    counts,
                )
                return
            except OperationalError as error:
                if attempt < FINISH_ATTEMPTS and _is_busy(error):
                    continue  # each attempt already waited the busy timeout
                raise ExportNotRecordedError(
                    f"the end of export {run.start_id} could not be recorded ({_reason(error)})"
                ) from error
            except Exception as error:
                raise ExportNotRecordedError(
                    f"the end of export {run.start_id} could not be recorded ({_reason(error)})"
                ) from error

    def _finish_after_failure(self, run: _Run, failure: BaseException) -> None:
        """Record a started export's failed (or partial) end; never hide ``failure``."""
        if run.start_id is None:
            return  # not started: nothing left, nothing to record
        if run.delivered:
            outcome, rows = "completed", run.counter.rows if run.counter else 0
        elif run.sent:
            # Part of it left on the stream (a reader that closed the pipe early).
            outcome, rows = "partial", run.counter.rows if run.counter else 0
        else:
            outcome, rows = "failed", 0
        with contextlib.suppress(Exception):
            self._finish(run, outcome, rows)


#: Stages an export reaches, in order, as told to a ``checkpoint``: its start
#: recorded (nothing written yet), every byte written (a file: still the part
#: file), and (a file) renamed to its name, before its end is recorded.
STAGES = ("started", "written", "renamed")
#: How often the end of an export is tried while other writers hold the lock.
FINISH_ATTEMPTS = 3

Checkpoint = Callable[[str], None]
"""Told each stage an export reaches (a test seam: a crash test pauses there)."""


@dataclass
class _Run:
    """One export as it goes: what it has recorded and delivered so far."""

    plan: ExportPlan
    checkpoint: Checkpoint | None
    report: Report | None = None
    counter: _Counter | None = None
    #: The id of its ``export`` event, once committed.
    start_id: int | None = None
    #: Some bytes went onto the stream (they cannot be taken back).
    sent: bool = False
    #: The whole report was delivered (the file renamed, the stream flushed).
    delivered: bool = False

    def reached(self, stage: str) -> None:
        if self.checkpoint is not None:
            self.checkpoint(stage)


def _scope_field(scope: ExportScope) -> str:
    if scope.patient_id is not None:
        return "scope:patient"
    if scope.nurse_id is None:
        return "scope:all"
    return f"scope:nurse-{scope.nurse_id}"


def _is_busy(error: OperationalError) -> bool:
    text = str(error.orig).lower()
    return "locked" in text or "busy" in text


def _reason(error: BaseException) -> str:
    """The first line of what went wrong (a driver's message without its SQL)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def check_destination(path: Path) -> None:
    """Refuse, before any work, a path that cannot take the file (ValidationError "out").

    Only a regular file is replaced: a folder, a symbolic link, a named pipe,
    a device or a socket at ``path`` is named and refused (to write to a pipe
    or a device, use ``--out -`` and redirect), so nothing is ever put in
    place of one.
    """
    if path.name in ("", ".", ".."):
        raise ValidationError("out", f"{path} is not a file name")
    kind = kind_of(path)
    if kind == "a folder":
        raise ValidationError("out", f"{path} is a folder; give a file name inside it")
    if kind is not None:
        raise ValidationError(
            "out",
            f"{path} is {kind}, not a regular file; give a file's path"
            " (or --out - to write to standard output)",
        )
    folder = path.parent
    if not folder.is_dir():
        raise ValidationError("out", f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValidationError("out", f"cannot write in {folder}: permission denied")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValidationError("out", f"cannot replace {path}: permission denied")


__all__ = [
    "AUDIT_ENTITY",
    "STAGES",
    "Checkpoint",
    "ExportNotRecordedError",
    "ExportPlan",
    "ExportResult",
    "ExportService",
    "ExportUnavailableError",
    "FhirBuilder",
    "Progress",
    "check_destination",
    "render",
]
