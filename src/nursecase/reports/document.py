"""A small document model that every writer renders the same way.

A :class:`Document` is a title, an optional subtitle, label/value lines under
the title (``meta``) and a sequence of blocks: :class:`Heading`,
:class:`Paragraph`, :class:`BulletList` and :class:`Table`. Report builders
make one; the Markdown and PDF writers turn it into bytes. Everything is a
frozen dataclass of strings and tuples, so a document is cheap to compare in
tests and safe to hand between threads.

Text is plain text, never markup: a writer escapes or draws it literally, so a
patient called "*Bob*" or a note saying "[PRN]" prints as typed.

The constructors accept lists where tuples are declared (they are stored as
tuples) and check the shape: a table row with the wrong number of cells or a
heading level outside 1-3 raises :class:`~nursecase.reports.errors.ReportError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nursecase.reports.errors import ReportError

HEADING_LEVELS = (1, 2, 3)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ReportError(f"{what} must be text")
    return value


def _texts(values: Iterable[object], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        # A lone string would otherwise become one item per character.
        raise ReportError(f"{what} must be a sequence of texts, not one text")
    return tuple(_text(value, what) for value in values)


def _cell(value: object) -> str:
    """A table cell as text: None is an empty cell, numbers and dates print as str()."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Heading:
    """A section heading; level 1 is a main section, 2 and 3 are nested under it."""

    text: str
    level: int = 1

    def __post_init__(self) -> None:
        _text(self.text, "a heading")
        if self.level not in HEADING_LEVELS:
            raise ReportError("a heading level must be 1, 2 or 3")


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text; a line break in the text starts a new line."""

    text: str

    def __post_init__(self) -> None:
        _text(self.text, "a paragraph")


@dataclass(frozen=True)
class BulletList:
    """An unordered list; each item is plain text."""

    items: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _texts(self.items, "a list item"))


@dataclass(frozen=True)
class Table:
    """A table with a header row; ``widths`` are optional relative column widths.

    Cells are stored as text (None becomes an empty cell, other values their
    ``str()``), so an export builder may pass numbers and dates as they are.
    ``widths`` such as ``(1, 3)`` give the second column three times the room of
    the first; writers that cannot size columns (Markdown) ignore them.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    widths: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        columns = _texts(self.columns, "a column name")
        if not columns:
            raise ReportError("a table needs at least one column")
        rows = tuple(tuple(_cell(cell) for cell in row) for row in self.rows)
        for number, row in enumerate(rows, start=1):
            if len(row) != len(columns):
                raise ReportError(
                    f"table row {number} has {len(row)} cells for {len(columns)} columns"
                )
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)
        if self.widths is not None:
            widths = tuple(self.widths)
            if len(widths) != len(columns):
                raise ReportError("a table needs one width per column")
            if any(
                isinstance(width, bool) or not isinstance(width, int | float) or not width > 0
                for width in widths
            ):
                raise ReportError("table column widths must be positive numbers")
            object.__setattr__(self, "widths", tuple(float(width) for width in widths))


Block = Heading | Paragraph | BulletList | Table
"""One building block of a document's body."""

BLOCK_TYPES = (Heading, Paragraph, BulletList, Table)


@dataclass(frozen=True)
class Document:
    """A whole report: title, optional subtitle, label/value lines, then the blocks."""

    title: str
    subtitle: str | None = None
    meta: tuple[tuple[str, str], ...] = ()
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        _text(self.title, "the title")
        if self.subtitle is not None:
            _text(self.subtitle, "the subtitle")
        meta = []
        for line in self.meta:
            label, value = line
            meta.append((_text(label, "a meta label"), _text(value, "a meta value")))
        object.__setattr__(self, "meta", tuple(meta))
        blocks = tuple(self.blocks)
        for block in blocks:
            if not isinstance(block, BLOCK_TYPES):
                raise ReportError(
                    "a document block must be a Heading, Paragraph, BulletList or Table"
                )
        object.__setattr__(self, "blocks", blocks)


__all__ = ["Block", "BulletList", "Document", "Heading", "Paragraph", "Table"]
