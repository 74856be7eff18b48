"""A row-cursor DataTable whose text columns share the free width, cut at a word.

Textual's DataTable sizes a column to its widest cell, or to a fixed width
that cuts a long note mid-word with no mark. Here the columns of short values
(dates, statuses, numbers) keep their width, the text columns (a note, a task,
a name) share what is left of the table's width (``cut_text.share_width``: the
widest text first), and a text too long for its column ends with "…" at a word
(``cut_text.CutAtWord``). When the table is resized the widths are worked out
again, and the rows are added again if they changed (the DataTable has no
public way to change a column's width in place).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from nursecase.widgets.cut_text import CutAtWord, one_line, share_width


def _cell_width(cell: object) -> int:
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    return cell_len(one_line(plain))


class FittedTable(DataTable[Any]):
    """A zebra-striped row-cursor table; the ``text`` columns take the free width."""

    def __init__(self, labels: Sequence[str], text: Sequence[str] = (), *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.labels = tuple(labels)
        #: Which columns hold free text (shared room, cut at a word).
        self.flexible = tuple(label in text for label in self.labels)
        self.shown_rows: list[tuple] = []
        self.shown_keys: list[str] | None = None
        self.naturals = [cell_len(label) for label in self.labels]
        #: The widths the columns were last laid out with.
        self.widths: list[int] = []
        self._lay_out(self.naturals)

    def show_rows(self, rows: list[tuple], keys: Sequence[Hashable] | None) -> None:
        """Replace the rows, keeping the cursor on the same key (or the same place)."""
        previous_row = self.cursor_row
        previous_key = None
        if self.shown_keys is not None and self.row_count:
            previous_key = self.coordinate_to_cell_key(Coordinate(previous_row, 0)).row_key.value
        self.shown_rows = list(rows)
        self.shown_keys = [str(key) for key in keys] if keys is not None else None
        naturals = [cell_len(label) for label in self.labels]
        for row in self.shown_rows:
            for index, cell in enumerate(row):
                naturals[index] = max(naturals[index], _cell_width(cell))
        self.naturals = naturals
        target = previous_row
        if previous_key is not None and self.shown_keys is not None:
            target = next(
                (index for index, key in enumerate(self.shown_keys) if key == previous_key),
                previous_row,
            )
        self._lay_out(self._fitted_widths(), target)

    def _fitted_widths(self) -> list[int]:
        """The widths for the table's present size (the natural ones before it has a size)."""
        width = self.size.width
        if width <= 0:
            return list(self.naturals)
        if len(self.shown_rows) + 1 > self.size.height:  # the vertical scrollbar shows
            width -= self.styles.scrollbar_size_vertical
        room = width - 2 * self.cell_padding * len(self.labels)
        return share_width(self.naturals, self.flexible, room)

    def _lay_out(self, widths: list[int], cursor_row: int = 0) -> None:
        """Columns of these widths, then the rows, then the cursor back in its place."""
        self.widths = widths
        self.clear(columns=True)
        for label, width in zip(self.labels, widths, strict=True):
            self.add_column(label, width=width)
        flexible = self.flexible
        keys = self.shown_keys
        for row_index, row in enumerate(self.shown_rows):
            cells = [
                CutAtWord(cell) if flexible[index] and isinstance(cell, Text | str) else cell
                for index, cell in enumerate(row)
            ]
            self.add_row(*cells, key=keys[row_index] if keys is not None else None)
        if self.shown_rows:
            self.move_cursor(row=min(max(cursor_row, 0), len(self.shown_rows) - 1))

    def on_resize(self, event: events.Resize) -> None:
        """A new width shares the room again (only when the widths change)."""
        widths = self._fitted_widths()
        if widths != self.widths:
            self._lay_out(widths, self.cursor_row)


__all__ = ["FittedTable"]
