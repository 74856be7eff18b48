"""What every report builder shares: the scope it covers and the report it returns.

A builder takes a read session and an :class:`ExportScope` (whose patients,
which period, as of when) and returns a :class:`Report`: a title, label/value
lines, columns and a ONE-PASS iterator of row tuples. The rows are produced
while the writer consumes them, inside the builder's session, so a report of
100,000 rows never sits in memory. As rows go by, the builder adds each row's
patient id to ``Report.patients``: the audit event records how many patients
left the system.

A report that prints better as a laid-out document (one patient's summary,
the supervisor's sections, the caseload on paper) also gives ``document``: it
builds a :class:`~nursecase.reports.document.Document` for Markdown and PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from nursecase.domain.codes import ServiceType, label_of
from nursecase.reports.document import Block, Document, Paragraph, Table
from nursecase.reports.tables import Column, Row, for_people, plain_text
from nursecase.services.exports.options import Period

#: SQLite allows 999 bound parameters per statement; IN lists stay below that.
ID_CHUNK_SIZE = 900
#: Rows fetched from the database per round trip while streaming.
FETCH_ROWS = 2000
#: Point size of printed report tables: a dozen columns fit a landscape page.
TABLE_SIZE = 8.5


@dataclass(frozen=True)
class ExportScope:
    """Whose records a report covers, and as of when."""

    today: date
    now: datetime
    #: One nurse's patients; None: every nurse's.
    nurse_id: int | None
    #: "Alice Moreno, RN" or "every nurse".
    nurse_label: str
    #: One patient (the patient report, or --patient); None: the nurse scope.
    patient_id: int | None = None
    #: The period the report reads, when it reads one.
    period: Period | None = None
    #: Supervisor report: days after which an unanswered referral is listed.
    reply_days: int = 14

    @property
    def exported_on(self) -> str:
        """The moment of the export as printed in reports: "2026-11-27 09:00"."""
        return f"{self.now:%Y-%m-%d %H:%M}"

    def patient_filter(self, patient_id_column: Any, nurse_id_column: Any) -> list:
        """WHERE conditions: the one patient, else the nurse's patients (nothing for all)."""
        if self.patient_id is not None:
            return [patient_id_column == self.patient_id]
        if self.nurse_id is not None:
            return [nurse_id_column == self.nurse_id]
        return []

    def scope_meta(self) -> tuple[tuple[str, str], ...]:
        """The label/value lines saying whose records these are."""
        return (("Nurse", self.nurse_label), ("Exported", self.exported_on))


@dataclass
class Report:
    """One report, ready for a writer: columns, streamed rows, and how to lay it out."""

    name: str
    title: str
    columns: tuple[Column, ...]
    #: The rows, one pass only, produced while the writer consumes them.
    rows: Iterable[Row]
    meta: tuple[tuple[str, str], ...] = ()
    #: How many rows to expect, for a progress bar (None: unknown).
    total: int | None = None
    #: Patient ids seen so far; complete once ``rows`` (or ``document``) is used up.
    patients: set[int] = field(default_factory=set)
    #: A laid-out document for Markdown and PDF (it consumes ``rows`` if it needs them).
    document: Callable[[], Document] | None = None
    #: Markdown uses ``document`` too (otherwise the table is streamed).
    markdown_from_document: bool = False
    #: Print across the page: for tables with many columns.
    landscape: bool = True
    #: Point size of printed table text (the body text stays 11 pt).
    table_size: float = TABLE_SIZE
    #: The column keys a printed table shows (None: all); a page has less room than a sheet.
    print_keys: tuple[str, ...] | None = None
    #: Ready-made bytes for a format with its own writer (FHIR); replaces the rows.
    body: Iterable[bytes] | None = None


def table_document(report: Report) -> Document:
    """The report as one printed table: the default PDF layout of a tabular report."""
    all_columns, all_rows = for_people(report.columns, report.rows)
    positions = [
        position
        for position, column in enumerate(all_columns)
        if report.print_keys is None or column.key in report.print_keys
    ]
    columns = [all_columns[position] for position in positions]
    rows = tuple(tuple(plain_text(row[position]) for position in positions) for row in all_rows)
    blocks: tuple[Block, ...] = (
        Table(
            columns=tuple(column.print_header for column in columns),
            rows=rows,
            widths=tuple(column.width for column in columns),
        ),
    )
    if not rows:
        blocks = (Paragraph("Nothing to report."),)
    return Document(title=report.title, meta=report.meta, blocks=blocks)


def person_name(family_name: str, given_name: str) -> str:
    """ "Family, Given", as the caseload shows it."""
    return f"{family_name}, {given_name}"


def service_label(code: str) -> str:
    """ "Physical therapy" for physical-therapy; an unknown stored code as it is."""
    return label_of(ServiceType, code)


def as_date(value: datetime | date | str | None) -> date | None:
    """A timestamp as a date (SQLite may hand an aggregate back as text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp (SQLite may hand an aggregate back as text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def chunks(ids: Sequence[int], size: int = ID_CHUNK_SIZE) -> Iterator[Sequence[int]]:
    """``ids`` in slices small enough for one IN list."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def stream(session: Session, query: Any) -> Any:
    """Run a column query as plain Core rows, fetched a batch at a time.

    Core rows on the session's connection: no ORM object and no identity-map
    bookkeeping per row, which for 100,000 rows would cost more than the query.
    """
    return session.connection().execute(query).yield_per(FETCH_ROWS)


__all__ = [
    "ExportScope",
    "Report",
    "as_date",
    "as_datetime",
    "chunks",
    "person_name",
    "service_label",
    "stream",
    "table_document",
]
