"""Rows of words in columns, painted as plain lines: a light stand-in for a DataTable.

A DataTable renders each cell through Rich on its first paint (tens of
milliseconds for a screenful); a tab that must paint within 100 ms after its
key (DESIGN.md section 5; bench/vitals_tab.py) cannot afford two of them.
These widgets lay the cells out in columns themselves and paint each line as
one Text: ``ColumnLines`` for rows nobody moves a cursor in (a heading, or the
rows under it, which scroll in their container), and ``CursorList`` for a
short list the keyboard moves a cursor through.

Columns are as wide as their widest cell; the ``flexible`` ones (words: a
source, a limit) share the width left, the widest narrowed first
(``cut_text.share_width``), and a cell too long for its column is cut at a
word with an ellipsis, never mid-word. When even that does not fit, the last
columns are left out whole. Stored text is shown, never obeyed (control
characters are made visible).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from nursecase.domain.terminal_text import printable
from nursecase.widgets.cut_text import cut_line, share_width

#: Cells between two columns.
GAP = 2


def column_widths(
    labels: Sequence[str], rows: Sequence[Sequence[str]], flexible: Sequence[bool], width: int
) -> list[int]:
    """Each column's width in ``width`` cells (fewer columns when the last ones do not fit)."""
    naturals = [
        max([cell_len(label), *(cell_len(row[index]) for row in rows)])
        for index, label in enumerate(labels)
    ]
    while naturals:
        room = width - GAP * (len(naturals) - 1)
        widths = share_width(naturals, flexible[: len(naturals)], room)
        if sum(widths) <= room or len(naturals) == 1:
            return widths
        naturals = naturals[:-1]
    return []


def column_lines(
    labels: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    flexible: Sequence[bool] = (),
) -> list[Text]:
    """The heading (bold) and the rows as lines of columns in ``width`` cells.

    Without ``flexible``, the last column is the one that takes what is left.
    """
    if not flexible:
        flexible = [index == len(labels) - 1 for index in range(len(labels))]
    widths = column_widths(labels, rows, flexible, width)
    lines = []
    for index, cells in enumerate([labels, *rows]):
        line = Text(style="bold" if index == 0 else "", no_wrap=True, end="")
        for column, column_width in enumerate(widths):
            cell = cut_line(Text(cells[column]), column_width)
            if column < len(widths) - 1:
                cell.pad_right(column_width - cell.cell_len + GAP)
            line.append_text(cell)
        lines.append(line)
    return lines


def shown_rows(rows: Sequence[Sequence[object]]) -> list[tuple[str, ...]]:
    """Cells as the text shown: one line each, control characters visible."""
    return [tuple(printable(str(cell)) for cell in row) for row in rows]


class ColumnLines(Widget):
    """Rows in columns as plain lines, or only their heading (``heading=True``).

    The heading and the rows are two widgets (the rows scroll under the
    heading in their container) that lay their columns out alike, from the
    same rows and width.
    """

    DEFAULT_CSS = """
    ColumnLines {
        height: auto;
    }
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        heading: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.labels = tuple(labels)
        self.heading = heading
        self.rows: list[tuple[str, ...]] = []

    def show(self, rows: Sequence[Sequence[object]]) -> None:
        """Show these rows (the heading lays its columns out for them)."""
        self.rows = shown_rows(rows)
        self.refresh(layout=not self.heading)

    def get_content_height(self, container, viewport, width: int) -> int:
        """One line for the heading; one a row."""
        return 1 if self.heading else len(self.rows)

    def render(self) -> Text:
        """The heading or the rows, in columns fitted to the widget's width."""
        lines = column_lines(self.labels, self.rows, self.size.width)
        return lines[0] if self.heading else Text("\n").join(lines[1:])


class CursorList(Widget, can_focus=True):
    """A heading and a few rows in columns, with a cursor the arrow keys move.

    Each row has a key; ``Highlighted`` says which row the cursor is on when
    the nurse moves it. At most ``rows_shown`` rows show; the others scroll
    into view with the cursor.
    """

    COMPONENT_CLASSES = {"cursor-list--cursor"}
    DEFAULT_CSS = """
    CursorList {
        height: auto;
    }
    CursorList > .cursor-list--cursor {
        background: $block-cursor-blurred-background;
    }
    CursorList:focus > .cursor-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="list.up", tooltip="The row above"),
        Binding("down", "cursor(1)", "Down", show=False, id="list.down", tooltip="The row below"),
        Binding("home", "cursor_to(0)", "First", show=False, id="list.first", tooltip="The first"),
        Binding("end", "cursor_to(-1)", "Last", show=False, id="list.last", tooltip="The last"),
    ]

    class Highlighted(Message):
        """The cursor moved onto the row of ``key``."""

        def __init__(self, cursor_list: CursorList, key: str) -> None:
            super().__init__()
            self.cursor_list = cursor_list
            self.key = key

        @property
        def control(self) -> CursorList:
            """The list the cursor moved in."""
            return self.cursor_list

    def __init__(
        self,
        labels: Sequence[str],
        flexible: Sequence[str] = (),
        *,
        rows_shown: int = 7,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.labels = tuple(labels)
        self.flexible = [label in flexible for label in self.labels]
        self.rows_shown = rows_shown
        self.rows: list[tuple[str, ...]] = []
        self.keys: list[str] = []
        self.cursor = 0
        #: The first row shown (the rows above it scrolled out of view).
        self.top = 0

    @property
    def highlighted_key(self) -> str | None:
        """The key of the row under the cursor, None without rows."""
        return self.keys[self.cursor] if self.keys else None

    def show_rows(
        self, rows: Sequence[Sequence[object]], keys: Sequence[str], at: str | None = None
    ) -> None:
        """Replace the rows; the cursor goes to the key ``at``, else stays on its key (or place).

        No ``Highlighted`` is posted: the caller knows what it shows.
        """
        wanted = at if at is not None else self.highlighted_key
        self.rows, self.keys = shown_rows(rows), [str(key) for key in keys]
        if wanted in self.keys:
            self.cursor = self.keys.index(wanted)
        self.cursor = min(self.cursor, max(len(self.rows) - 1, 0))
        self._keep_cursor_in_view()
        self.refresh(layout=True)

    def move_to(self, row: int) -> None:
        """Put the cursor on ``row`` (counted from the first; -1 is the last)."""
        if not self.rows:
            return
        row = len(self.rows) - 1 if row < 0 else min(row, len(self.rows) - 1)
        if row != self.cursor:
            self.cursor = row
            self._keep_cursor_in_view()
            self.refresh()
            self.post_message(self.Highlighted(self, self.keys[row]))

    def action_cursor(self, step: int) -> None:
        """Move the cursor ``step`` rows down (up when negative)."""
        self.move_to(max(0, self.cursor + step))

    def action_cursor_to(self, row: int) -> None:
        """Move the cursor to the first (0) or the last (-1) row."""
        self.move_to(row)

    def on_click(self, event: events.Click) -> None:
        """A click on a row puts the cursor there."""
        if event.y >= 1:
            self.move_to(self.top + event.y - 1)

    def _keep_cursor_in_view(self) -> None:
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.rows_shown:
            self.top = self.cursor - self.rows_shown + 1
        self.top = max(0, min(self.top, max(len(self.rows) - self.rows_shown, 0)))

    def get_content_height(self, container, viewport, width: int) -> int:
        """The heading and the rows shown."""
        return 1 + min(len(self.rows), self.rows_shown)

    def render(self) -> Text:
        """The heading and the rows in view, the cursor's row highlighted."""
        lines = column_lines(self.labels, self.rows, self.size.width, self.flexible)
        heading, body = lines[0], lines[1:]
        shown = body[self.top : self.top + self.rows_shown]
        cursor = self.cursor - self.top
        if 0 <= cursor < len(shown):
            style: Style = self.get_component_rich_style("cursor-list--cursor")
            shown[cursor].pad_right(max(0, self.size.width - shown[cursor].cell_len))
            shown[cursor].stylize(style)
        return Text("\n").join([heading, *shown])


__all__ = ["ColumnLines", "CursorList", "column_lines", "column_widths"]
