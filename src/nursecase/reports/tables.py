"""Streaming table writers: CSV, JSON and Markdown from a row iterator, chunk by chunk.

A report that is one table (the caseload, the referral queue, CCM minutes ...)
is a tuple of :class:`Column` and an iterable of row tuples whose cells are
plain values: text, whole numbers, decimals, dates, datetimes, booleans or
None. The writers here turn them into byte chunks without holding the whole
table, so 100,000 rows go to a file (``reports.files.write_atomically``
takes an iterable of chunks) or to stdout in constant memory.

- CSV opens right in Excel: UTF-8 with a byte-order mark, CRLF line ends, every
  text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return gets a leading apostrophe, so a spreadsheet shows it as text rather
  than running it as a formula (CSV injection, OWASP). Numbers are numbers and
  are never touched (a negative number is data, not a formula).
- JSON is one list of objects keyed by :attr:`Column.key`, with ISO 8601 dates
  ("2026-11-27") and datetimes ("2026-11-27T09:00:00"); text is kept as UTF-8.
- Markdown is a title, label/value lines and a GitHub table whose cells are
  escaped like the rest of nursecase's Markdown ("a | b" stays one cell).

Dates print as ISO everywhere; None is an empty cell (JSON null). The module is
pure: no database, no services.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from operator import itemgetter

from nursecase.reports.document import Document
from nursecase.reports.errors import ReportError
from nursecase.reports.markdown import escape_inline, escape_line, render_markdown

#: Rows gathered before a chunk of bytes is handed on: big enough to keep the
#: per-chunk cost (encode, write) negligible, small enough for steady progress.
CHUNK_ROWS = 2000

BYTE_ORDER_MARK = "\ufeff"
#: The first characters a spreadsheet reads as the start of a formula or command.
FORMULA_STARTS = frozenset("=+-@\t\r")
NEUTRALISING_PREFIX = "'"
CSV_LINE_END = "\r\n"
MARKDOWN_EMPTY = "No rows."


@dataclass(frozen=True)
class Column:
    """One column: ``key`` names it in JSON, ``header`` in CSV and Markdown.

    ``width`` is the column's relative width where a writer sizes columns (a
    printed table) and ``short`` a shorter header for such a narrow column; the
    streaming writers here ignore both.

    ``trusted`` says the column only ever holds numbers, dates, datetimes, None
    or text that nursecase itself wrote from a fixed vocabulary (never stored
    free text, never a stored code): the CSV writer then passes its values as
    they are, without looking for a formula start. Leave it False (the default)
    whenever in doubt: it only saves time.
    """

    key: str
    header: str
    width: float = 1.0
    short: str | None = None
    trusted: bool = False
    #: The words of a coded column (code -> label, ``codes.words_of``): Markdown
    #: and PDF show the words in its place; CSV and JSON keep the code and add a
    #: "<header> label" column after it (DESIGN.md "Words on screen").
    words: Callable[[str], str] | None = field(default=None, compare=False)
    #: Only CSV and JSON carry this column: codes whose words another column holds.
    machines_only: bool = False

    @property
    def print_header(self) -> str:
        """The header of a printed table: ``short`` if given, else ``header``."""
        return self.short or self.header


Row = Sequence[object]
"""One row of cells, in column order."""


def for_machines(
    columns: Sequence[Column], rows: Iterable[Row]
) -> tuple[tuple[Column, ...], Iterable[Row]]:
    """The table for CSV and JSON: each coded column keeps its codes, its label column follows.

    The label column is keyed ``<key>_label`` and headed "<header> label"; an
    empty cell stays empty.
    """
    columns = tuple(columns)
    coded = [(position, column.words) for position, column in enumerate(columns) if column.words]
    if not coded:
        return columns, rows
    widened: list[Column] = []
    for column in columns:
        widened.append(column)
        if column.words:
            widened.append(Column(f"{column.key}_label", f"{column.header} label", trusted=True))

    def with_labels(row: Row) -> Row:
        cells = list(row)
        for position, words in reversed(coded):
            code = row[position]
            cells.insert(position + 1, words(code) if code else code)  # type: ignore[arg-type]
        return cells

    return tuple(widened), map(with_labels, rows)


def for_people(
    columns: Sequence[Column], rows: Iterable[Row]
) -> tuple[tuple[Column, ...], Iterable[Row]]:
    """The table for Markdown and PDF: words in the coded columns, machine-only columns left out."""
    columns = tuple(columns)
    kept = [position for position, column in enumerate(columns) if not column.machines_only]
    words = {position: column.words for position, column in enumerate(columns) if column.words}
    if len(kept) == len(columns) and not words:
        return columns, rows

    def in_words(row: Row) -> Row:
        cells = []
        for position in kept:
            value, to_words = row[position], words.get(position)
            cells.append(to_words(value) if to_words and value else value)  # type: ignore[arg-type]
        return cells

    return tuple(columns[position] for position in kept), map(in_words, rows)


def neutralise(text: str) -> str:
    """The text with a leading apostrophe if a spreadsheet would run it as a formula."""
    if text and text[0] in FORMULA_STARTS:
        return NEUTRALISING_PREFIX + text
    return text


def _iso(value: date | datetime) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()


#: Cell types the csv module writes right by itself: str() of them is what a sheet needs.
_CSV_NATIVE = frozenset({int, float, date, datetime})
#: The types a column may hold for the fast check of :func:`_clean_batch`.
_PLAIN_TYPES = frozenset({str, type(None), int, float, date, datetime})
_TEXT_TYPES = frozenset({str, type(None)})
#: A value starting like a formula, in a column's values joined by NUL characters.
_FORMULA_AFTER_NUL = re.compile("\0[" + "".join(map(re.escape, sorted(FORMULA_STARTS))) + "]")


def csv_cell(value: object) -> str | int | float:
    """One CSV cell: text neutralised, dates ISO ("2026-11-27 09:00:00"), None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return _iso(value)
    return neutralise(str(value))


def _check_columns(columns: Sequence[Column]) -> tuple[Column, ...]:
    columns = tuple(columns)
    if not columns:
        raise ReportError("a table needs at least one column")
    if not all(isinstance(column, Column) for column in columns):
        raise ReportError("table columns must be Column values")
    return columns


def _check_width(row: Row, width: int, number: int) -> None:
    if len(row) != width:
        raise ReportError(f"table row {number} has {len(row)} cells for {width} columns")


def csv_chunks(
    columns: Sequence[Column], rows: Iterable[Row], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The table as CSV bytes for Excel: a BOM, the header row, then the rows in chunks.

    This loop is the hot path of a 100,000-row export, so it leans on the csv
    module: it writes None as an empty cell and numbers, dates and datetimes
    with ``str()`` (which is ISO 8601 for them). Here only the cells of
    columns that are not ``trusted`` are looked at: text gets its apostrophe
    if it starts like a formula, other types (booleans, anything unusual) go
    through :func:`csv_cell`.
    """
    columns = _check_columns(columns)
    width = len(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
    buffer.write(BYTE_ORDER_MARK)
    writer.writerow([neutralise(column.header) for column in columns])
    checked = [position for position, column in enumerate(columns) if not column.trusted]
    iterator = iter(rows)
    number = 0
    while batch := list(islice(iterator, chunk_rows)):
        if set(map(len, batch)) != {width}:
            for offset, row in enumerate(batch, start=number + 1):
                _check_width(row, width, offset)
        number += len(batch)
        writer.writerows(_clean_batch(batch, checked))
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_value(value: object) -> object:
    """One cell for csv.writer: text neutralised, native types as they are, others converted."""
    if value.__class__ is str:
        return neutralise(value)  # type: ignore[arg-type]
    if value is None or value.__class__ in _CSV_NATIVE:
        return value
    return csv_cell(value)


def _clean_batch(batch: list[Row], checked: list[int]) -> list[Row]:
    """The batch with every cell of the ``checked`` columns safe for a spreadsheet.

    Column by column, and almost all of it in C: the column's types must be
    plain (text, numbers, dates, None) and no value may start like a formula,
    which one regular expression finds in the column's values joined by NUL.
    Only a column that fails that test is walked value by value (a false
    alarm, such as a negative number or a NUL inside a note, costs only time).
    """
    fixed: dict[int, list[object]] = {}
    for position in checked:
        column = list(map(itemgetter(position), batch))
        kinds = set(map(type, column))
        if kinds <= _TEXT_TYPES:
            # Only text and None: join the non-empty texts as they are, no str() calls.
            joined = "\0".join(filter(None, column))
        elif kinds <= _PLAIN_TYPES:
            joined = "\0".join(map(str, column))
        else:
            joined = None
        if joined is not None and not _FORMULA_AFTER_NUL.search("\0" + joined):
            continue
        for index, value in enumerate(column):
            cleaned = _csv_value(value)
            if cleaned is not value:
                fixed.setdefault(index, list(batch[index]))[position] = cleaned
    if not fixed:
        return batch
    return [fixed.get(index, row) for index, row in enumerate(batch)]


def json_value(value: object) -> object:
    """One JSON value: dates and datetimes as ISO 8601 text, the rest as they are."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def json_chunks(
    columns: Sequence[Column], rows: Iterable[Row], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The table as a JSON list of objects (one per row, keyed by column key), in chunks."""
    columns = _check_columns(columns)
    keys = [column.key for column in columns]
    if len(set(keys)) != len(keys):
        raise ReportError("table column keys must be unique")
    width = len(keys)
    encode = json.JSONEncoder(ensure_ascii=False, default=json_value).encode
    parts: list[str] = ["["]
    separator = "\n  "
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            _check_width(row, width, number)
        values = [
            value.isoformat() if isinstance(value, date) else value for value in row
        ]  # datetime is a date: isoformat() gives "2026-11-27T09:00:00"
        parts.append(separator + encode(dict(zip(keys, values, strict=True))))
        separator = ",\n  "
        if len(parts) >= chunk_rows:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("\n]\n" if separator != "\n  " else "]\n")
    yield "".join(parts).encode("utf-8")


def markdown_text(value: object) -> str:
    """One value as Markdown cell text: ISO dates, "yes"/"no", escaped, line breaks as <br>."""
    text = plain_text(value)
    # As the document writer: control characters dropped, each line on its own, joined by <br>.
    printable = "".join(
        character
        for character in text.replace("\t", " ")
        if character == "\n" or unicodedata.category(character) != "Cc"
    )
    lines = (" ".join(line.split()) for line in printable.splitlines())
    return "<br>".join(escape_inline(line) for line in lines if line)


def plain_text(value: object) -> str:
    """One value as plain text for a printed table: ISO dates, "yes"/"no", None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return _iso(value)
    return str(value)


def _markdown_row(cells: Iterable[object]) -> str:
    return "| " + " | ".join(markdown_text(cell) for cell in cells) + " |\n"


def markdown_header(
    title: str,
    meta: Sequence[tuple[str, str]] = (),
    subtitle: str | None = None,
) -> str:
    """The title, optional subtitle and label/value lines, exactly as the document writer does."""
    return render_markdown(Document(title=title, subtitle=subtitle, meta=tuple(meta)))


def markdown_chunks(
    columns: Sequence[Column],
    rows: Iterable[Row],
    *,
    title: str,
    meta: Sequence[tuple[str, str]] = (),
    subtitle: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[bytes]:
    """A Markdown document: the header, then the table (or "No rows."), in chunks."""
    columns = _check_columns(columns)
    width = len(columns)
    header = markdown_header(title, meta, subtitle) + "\n"
    parts: list[str] = [header]
    started = False
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            _check_width(row, width, number)
        if not started:
            parts.append(_markdown_row(column.header for column in columns))
            parts.append("| " + " | ".join("---" for _ in columns) + " |\n")
            started = True
        parts.append(_markdown_row(row))
        if len(parts) >= chunk_rows:
            yield "".join(parts).encode("utf-8")
            parts = []
    if not started:
        parts.append(escape_line(MARKDOWN_EMPTY) + "\n")
    yield "".join(parts).encode("utf-8")


__all__ = [
    "BYTE_ORDER_MARK",
    "CHUNK_ROWS",
    "FORMULA_STARTS",
    "Column",
    "Row",
    "csv_cell",
    "csv_chunks",
    "for_machines",
    "for_people",
    "json_chunks",
    "json_value",
    "markdown_chunks",
    "markdown_header",
    "markdown_text",
    "neutralise",
    "plain_text",
]
