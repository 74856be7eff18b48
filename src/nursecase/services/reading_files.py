"""Readings files: a home-monitoring vendor's CSV export, ``mrn,code,value,unit,time``.

The first line names the columns (matched without case or surrounding
spaces, in any order; other columns are ignored). Each row is one reading:
the patient's MRN (found with or without its punctuation, as the patient
service finds one), a LOINC code nursecase reads (``domain.measures``), the
value and its unit as the device sent them, and the time in ISO 8601 (a date
and a time of day; one with a zone offset or "Z" becomes the workstation's
wall-clock time, as nursecase stores every time; one without is local).

A bad row is one line naming the line number and the problem in words
("line 7: unit "mg" is not a unit for weight"); the good rows are kept. The
whole file is one transaction: its good rows are stored together or not at
all, through ``ReadingsService.store`` in chunks of ``CHUNK_ROWS`` so that a
file of a million rows is streamed and never held in memory. A row already
on file (same patient, code and moment) changes nothing, so importing a file
again changes nothing.

A file that cannot be read at all (not UTF-8 text, no header, a header that
lacks a column, a line no CSV reader can parse) is refused in one line and
nothing of it is written, even when the bad line comes after good ones.

The transaction holds the database's write lock while the file imports (a
million rows take two or three minutes): other workstations cannot save
meanwhile, so a large file is best imported out of hours.
"""

from __future__ import annotations

import csv
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import BinaryIO, NamedTuple

from sqlalchemy.orm import Session

from nursecase.db.bulk import bulk_cache
from nursecase.domain.codes import ReadingSource
from nursecase.domain.measures import (
    BLOOD_PRESSURE_PANELS,
    check_plausible,
    measure_of,
    to_measure_unit,
)
from nursecase.domain.validation import MRN_MAX_LENGTH, ValidationError
from nursecase.domain.wording import cut_at_word
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError
from nursecase.services.patients import find_ids_by_mrn
from nursecase.services.readings import NewReading, ReadingsService, StoreResult

#: The columns a readings file must name, in the order they are described.
REQUIRED_COLUMNS = ("mrn", "code", "value", "unit", "time")
#: Rows handed to ``ReadingsService.store`` at a time (memory stays bounded).
CHUNK_ROWS = 20_000
#: Problem lines kept for the summary; the rest are counted.
PROBLEMS_KEPT = 50
#: The longest piece of a cell a message quotes (a cell may hold anything).
CELL_SHOWN = 40
#: A longer line is no readings file (and reading it whole would take the memory).
MAX_LINE_BYTES = 65_536
#: MRNs remembered between chunks (a file names a caseload's patients over and over).
MRN_CACHE = 50_000
#: SQLite's page cache while a file imports, in KiB. A vendor's file in time
#: order adds each reading beside the same patient's and measure's earlier ones,
#: all over both reading indexes: with the default 2 MB cache the pages of the
#: one long transaction are spilled to the WAL and written again and again.
IMPORT_CACHE_KIB = 81_920
#: Readings before this year are refused as typing or device-clock errors.
FIRST_YEAR = 1900

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_ONLY = re.compile(r"\d{4}-?\d{2}-?\d{2}")
_TIME_EXAMPLE = "2026-11-27T07:30:00Z"


class ReadingFileError(ServiceError):
    """A file refused whole; nothing from it was written. ``str()`` is "file: why"."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}; nothing was imported")


@dataclass(frozen=True)
class ReadingFileResult:
    """What importing one readings file did."""

    #: Rows read (blank lines aside).
    rows: int = 0
    added: int = 0
    corrected: int = 0
    #: Rows whose reading was already on file (or earlier in the same file).
    unchanged: int = 0
    alerts_opened: int = 0
    alerts_updated: int = 0
    #: Rows refused, and the first ``PROBLEMS_KEPT`` of their lines ("line 7: ...").
    refused: int = 0
    problems: tuple[str, ...] = ()


@dataclass
class _Tally:
    """The running totals of one file."""

    rows: int = 0
    refused: int = 0
    problems: list[str] = field(default_factory=list)
    stored: list[StoreResult] = field(default_factory=list)

    def result(self) -> ReadingFileResult:
        def total(name: str) -> int:
            return sum(getattr(result, name) for result in self.stored)

        return ReadingFileResult(
            rows=self.rows,
            added=total("added"),
            corrected=total("corrected"),
            unchanged=total("unchanged"),
            alerts_opened=total("alerts_opened"),
            alerts_updated=total("alerts_updated"),
            refused=self.refused,
            problems=tuple(self.problems),
        )


class RowProblem(Exception):
    """Why one row is refused (words, without the line number)."""


class _Row(NamedTuple):
    """One row's line and the cells of the required columns."""

    line: int
    mrn: str
    code: str
    value: str
    unit: str
    time: str


class ReadingFileService:
    """Importing a home-monitoring vendor's readings file in one transaction."""

    def __init__(
        self,
        context: ServiceContext,
        readings: ReadingsService,
        *,
        chunk_rows: int = CHUNK_ROWS,
        problems_kept: int = PROBLEMS_KEPT,
        zone: tzinfo | None = None,
    ) -> None:
        """``zone`` is the wall clock times are stored in: None is the workstation's."""
        self.context = context
        self.readings = readings
        self.chunk_rows = chunk_rows
        self.problems_kept = problems_kept
        self.zone = zone
        self._patients: dict[str, int | ValidationError | None] = {}

    def import_file(self, path: Path) -> ReadingFileResult:
        """Import the readings file at ``path`` (see the module docstring)."""
        with path.open("rb") as stream:
            return self.import_stream(stream, str(path))

    def import_stream(self, stream: BinaryIO, source: str) -> ReadingFileResult:
        """Import a readings file from a binary stream; ``source`` names it in messages."""
        self._patients = {}
        now = self.context.clock.now()
        tally = _Tally()
        with (
            self.context.write() as session,
            bulk_cache(session.connection(), IMPORT_CACHE_KIB),
        ):
            records = _records(stream, source)
            columns = _columns(records, source)
            width = max(columns) + 1
            pick = operator.itemgetter(*columns)
            chunk: list[_Row] = []
            for line, cells in records:
                if len(cells) < width:
                    if not "".join(cells).strip():
                        continue  # a blank line, or one of bare commas
                    cells = cells + [""] * (width - len(cells))
                tally.rows += 1
                chunk.append(_Row(line, *pick(cells)))
                if len(chunk) >= self.chunk_rows:
                    self._store(session, chunk, now, tally)
                    chunk = []
            self._store(session, chunk, now, tally)
        return tally.result()

    def _store(self, session: Session, chunk: list[_Row], now: datetime, tally: _Tally) -> None:
        """Check one chunk's rows, note the bad ones, store the good ones."""
        if not chunk:
            return
        self._find_patients(session, {row.mrn for row in chunk})
        good: list[NewReading] = []
        for row in chunk:
            try:
                good.append(self._reading(row, now))
            except RowProblem as problem:
                tally.refused += 1
                if len(tally.problems) < self.problems_kept:
                    tally.problems.append(f"line {row.line}: {problem}")
        if good:
            tally.stored.append(self.readings.store(session, good, ReadingSource.device))

    def _find_patients(self, session: Session, mrns: set[str]) -> None:
        """Look up the chunk's MRNs not met before (the cache is emptied when full)."""
        unknown = {mrn for mrn in mrns if mrn not in self._patients}
        if not unknown:
            return
        if len(self._patients) + len(unknown) > MRN_CACHE:
            self._patients = {}
        found = find_ids_by_mrn(session, unknown)
        for mrn in unknown:
            self._patients[mrn] = found.get(mrn)

    def _reading(self, row: _Row, now: datetime) -> NewReading:
        """The row as a reading, or RowProblem saying what is wrong with it."""
        patient_id = self._patient(row.mrn)
        code = row.code.strip()
        if not code:
            raise RowProblem("no code")
        measure = measure_of(code)
        if measure is None:
            if code in BLOOD_PRESSURE_PANELS:
                raise RowProblem(
                    f"code {code} is a blood pressure panel: send systolic (8480-6) and"
                    " diastolic (8462-4) as rows of their own"
                )
            raise RowProblem(f"code {_quoted(code)} is not a LOINC code nursecase reads")
        value = _value(row.value)
        unit = row.unit.strip()
        if not unit:
            raise RowProblem("no unit")
        try:
            converted = to_measure_unit(measure, value, unit)
        except ValidationError as error:
            if len(unit) > CELL_SHOWN:
                raise RowProblem(
                    f"unit {_quoted(unit)} is not a unit for {measure.label.lower()}"
                ) from None
            raise RowProblem(f"unit {error.message}") from None
        try:
            check_plausible(measure, converted)
        except ValidationError as error:
            raise RowProblem(f"value {error.message}") from None
        taken_at = self._time(row.time, now)
        return NewReading(patient_id, code, value, unit, taken_at)

    def _patient(self, mrn: str) -> int:
        if not mrn.strip():
            raise RowProblem("no MRN")
        found = self._patients.get(mrn)
        if isinstance(found, ValidationError):
            raise RowProblem(f"MRN {_shown(mrn)} {found.message}")
        if found is None or len(mrn.strip()) > MRN_MAX_LENGTH:
            raise RowProblem(f"no patient with MRN {_shown(mrn)}")
        return found

    def _time(self, text: str, now: datetime) -> datetime:
        """The cell's moment as the workstation's naive wall-clock time, to the second."""
        stripped = text.strip()
        if not stripped:
            raise RowProblem("no time")
        if _DATE_ONLY.fullmatch(stripped):
            raise RowProblem(
                f"time {_quoted(stripped)} has no time of day (such as {_TIME_EXAMPLE})"
            )
        try:
            moment = datetime.fromisoformat(stripped)
            if moment.tzinfo is not None:
                moment = moment.astimezone(self.zone).replace(tzinfo=None)
        except (ValueError, OverflowError):
            raise RowProblem(
                f"time {_quoted(stripped)} is not a date and time (such as {_TIME_EXAMPLE})"
            ) from None
        moment = moment.replace(microsecond=0)
        if moment > now:
            raise RowProblem(f"time {_quoted(stripped)} is in the future")
        if moment.year < FIRST_YEAR:
            raise RowProblem(f"time {_quoted(stripped)} is before {FIRST_YEAR}")
        return moment


def _value(text: str) -> float:
    stripped = text.strip()
    if not stripped:
        raise RowProblem("no value")
    if not _NUMBER.fullmatch(stripped):
        raise RowProblem(f"value {_quoted(stripped)} is not a number (write it as 82.4)")
    return float(stripped)


def _shown(text: str) -> str:
    """A cell fit to quote in a message: on one line, at most ``CELL_SHOWN`` characters."""
    return cut_at_word(text.strip(), CELL_SHOWN)


def _quoted(text: str) -> str:
    return f'"{_shown(text)}"'


def _lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """The file's lines as text, each checked to be UTF-8 (a byte-order mark is dropped)."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise ReadingFileError(
                source,
                f"line {number} is longer than {MAX_LINE_BYTES:,} bytes: not a readings file",
            )
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise ReadingFileError(
                source, f"line {number} is not UTF-8 text (save the file as UTF-8)"
            ) from None


def _records(stream: BinaryIO, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on."""
    reader = csv.reader(_lines(stream, source))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ReadingFileError(
                source, f"line {reader.line_num or line}: not CSV that can be read ({error})"
            ) from None
        yield line, cells


def _columns(records: Iterator[tuple[int, list[str]]], source: str) -> tuple[int, ...]:
    """The position of each required column, read from the header (the first record)."""
    for _line, cells in records:
        if any(cell.strip() for cell in cells):
            break
    else:
        raise ReadingFileError(
            source,
            "the file is empty (its first line must name the columns mrn,code,value,unit,time)",
        )
    names = [cell.strip().lower() for cell in cells]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        listed = " or ".join(f'"{name}"' for name in missing)
        raise ReadingFileError(
            source,
            f"no {listed} column (the first line must name the columns"
            f" {','.join(REQUIRED_COLUMNS)}, in any order)",
        )
    for name in REQUIRED_COLUMNS:
        if names.count(name) > 1:
            raise ReadingFileError(source, f'the column "{name}" is named twice in the first line')
    return tuple(names.index(name) for name in REQUIRED_COLUMNS)


__all__ = [
    "CHUNK_ROWS",
    "REQUIRED_COLUMNS",
    "ReadingFileError",
    "ReadingFileResult",
    "ReadingFileService",
]
