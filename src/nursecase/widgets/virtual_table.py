"""A virtual table for very long lists (100,000 patients) that pages rows on demand.

The widget never holds the whole list. It keeps a bounded *window* of loaded rows
(at most ``max_pages`` pages), renders only the visible lines through the Line
API, and asks a `RowSource` for the next or previous page (keyset pagination) in
a thread worker when the cursor or the viewport nears the edge of the window.
Rows at the far side of the window are dropped, so memory stays bounded however
far the nurse scrolls.

The absolute index of the window's first row is known when the window was
reached from the start (0) or from the end (count - loaded); after a reload
around a key it may be unknown until either end is reached, and the position
indicator then shows an estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from nursecase.widgets.cut_text import cut_line, cut_plain, one_line

Row = TypeVar("Row")

# Line breaks and tabs in patient text would break a one-line row: each becomes
# one space. Every other control character (ESC, BEL, a bidi override) must not
# reach the terminal: it is shown as one visible character (domain.terminal_text),
# so spans stay valid (``cut_text.one_line``).
_one_line = one_line

#: The stretching column is never narrowed below this (or its own width if smaller).
STRETCH_MINIMUM = 10


_LOADING = "loading…"
#: A reload slower than this shows "loading…" below the rows it still shows.
SLOW_RELOAD_SECONDS = 0.15
_FAILED = "Could not load rows."


class RowSource(Protocol[Row]):
    """Where a `VirtualTable` gets its rows (keyset pagination, display order).

    Every method except `key_of` is called in a thread worker, never on the UI
    thread. `key_of` is called on the UI thread and must be pure and cheap (no I/O).
    """

    def count(self) -> int:
        """How many rows the list has."""
        ...

    def first_page(self, limit: int) -> list[Row]:
        """The first `limit` rows."""
        ...

    def page_after(self, row: Row, limit: int) -> list[Row]:
        """Up to `limit` rows that follow `row`, in display order."""
        ...

    def page_before(self, row: Row, limit: int) -> list[Row]:
        """Up to `limit` rows just before `row`, in display order."""
        ...

    def last_page(self, limit: int) -> list[Row]:
        """The last `limit` rows, in display order."""
        ...

    def key_of(self, row: Row) -> Hashable:
        """The stable identity of a row (for example the patient id)."""
        ...


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: a header label, a width in cells and how to render a row's cell.

    `render` returns a Rich `Text` or a plain `str`; strings are never parsed as
    markup. A cell too long for its column is cut at a word, ending with "…".
    The column marked `stretch` (the widest text, such as why a patient is on
    the list) takes the free width, or gives up some down to `STRETCH_MINIMUM`
    when the table is narrow; with none marked, the last column does.
    """

    key: str
    label: str
    width: int
    render: Callable[[Row], Text | str]
    sortable: bool = True
    stretch: bool = False


LoadKind = Literal["first", "last", "around", "after", "before"]


@dataclass(frozen=True)
class _LoadResult(Generic[Row]):
    """What a worker fetched, tagged so that stale results can be recognised."""

    generation: int
    kind: LoadKind
    rows: list[Row]
    count: int | None = None
    anchor: Any = None
    before_length: int = 0
    keep_key: Hashable | None = None
    limit: int = 0
    source: Any = None


class VirtualTable(Widget, Generic[Row], can_focus=True):
    """A keyboard-driven table over a `RowSource` that renders only visible lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up,k",
            "cursor_up",
            "Up",
            show=False,
            id="virtual_table.cursor_up",
            tooltip="Move the cursor to the previous row",
        ),
        Binding(
            "down,j",
            "cursor_down",
            "Down",
            show=False,
            id="virtual_table.cursor_down",
            tooltip="Move the cursor to the next row",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id="virtual_table.page_up",
            tooltip="Move the cursor up one screen of rows",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="virtual_table.page_down",
            tooltip="Move the cursor down one screen of rows",
        ),
        Binding(
            "home,ctrl+home",
            "first_row",
            "First row",
            show=False,
            id="virtual_table.first_row",
            tooltip="Jump to the first row of the list",
        ),
        Binding(
            "end,ctrl+end",
            "last_row",
            "Last row",
            show=False,
            id="virtual_table.last_row",
            tooltip="Jump to the last row of the list",
        ),
        Binding(
            "enter",
            "select_row",
            "Select",
            show=False,
            id="virtual_table.select_row",
            tooltip="Select the row under the cursor",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--even-row",
        "virtual-table--loading",
        "virtual-table--empty",
        "virtual-table--scrollbar",
        "virtual-table--scrollbar-thumb",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow: hidden hidden;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .virtual-table--header {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .virtual-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .virtual-table--loading {
            color: $text-muted;
            text-style: italic;
        }
        & > .virtual-table--empty {
            color: $text-muted;
        }
        & > .virtual-table--scrollbar {
            color: $foreground 15%;
        }
        & > .virtual-table--scrollbar-thumb {
            color: $primary;
        }
    }
    """

    empty_message: reactive[str] = reactive("No rows.")
    """Shown centred when the source has no rows."""

    sort_key: reactive[str | None] = reactive(None)
    """The key of the column the source is sorted by (its header shows ▲ or ▼)."""

    sort_reverse: reactive[bool] = reactive(False)
    """True when the sort column is descending (▼)."""

    zebra_stripes: reactive[bool] = reactive(False)
    """Shade every other row."""

    class TableMessage(Message):
        """A message from a VirtualTable; ``control`` is the table that posted it."""

        def __init__(self, virtual_table: VirtualTable[Any]) -> None:
            self.virtual_table = virtual_table
            super().__init__()

        @property
        def control(self) -> VirtualTable[Any]:
            """The table that posted the message."""
            return self.virtual_table

    class RowHighlighted(TableMessage):
        """The cursor moved onto a row (or the row under it was reloaded)."""

        def __init__(self, virtual_table: VirtualTable[Any], row: Any) -> None:
            self.row = row
            super().__init__(virtual_table)

    class RowSelected(TableMessage):
        """Enter (or a double click) selected the row under the cursor."""

        def __init__(self, virtual_table: VirtualTable[Any], row: Any) -> None:
            self.row = row
            super().__init__(virtual_table)

    class Loaded(TableMessage):
        """A reload (`set_source` or `refresh_rows`) has painted its first rows."""

        def __init__(self, virtual_table: VirtualTable[Any], count: int) -> None:
            self.count = count
            super().__init__(virtual_table)

    class LoadFailed(TableMessage):
        """The source raised while loading rows; the table shows what it has."""

        def __init__(self, virtual_table: VirtualTable[Any], error: Exception) -> None:
            self.error = error
            super().__init__(virtual_table)

    class SortRequested(TableMessage):
        """A sortable column's header was clicked; the screen decides the new source."""

        def __init__(self, virtual_table: VirtualTable[Any], column_key: str) -> None:
            self.column_key = column_key
            super().__init__(virtual_table)

    class _Fetched(Message, bubble=False):
        """A worker's result, delivered to the UI thread (private)."""

        def __init__(self, result: _LoadResult[Any]) -> None:
            self.result = result
            super().__init__()

    class _Failed(Message, bubble=False):
        """A worker's error, delivered to the UI thread (private)."""

        def __init__(self, generation: int, error: Exception) -> None:
            self.generation = generation
            self.error = error
            super().__init__()

    def __init__(
        self,
        columns: list[Column[Row]],
        *,
        page_size: int = 100,
        max_pages: int = 4,
        empty_message: str = "No rows.",
        zebra_stripes: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create the table; rows arrive after `set_source`.

        Args:
            columns: The columns, left to right.
            page_size: Rows fetched per page (raised to the visible height if smaller).
            max_pages: Pages kept loaded at most (at least 3, so a page can be
                appended while the viewport sits in the middle).
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        if page_size < 1:
            raise ValueError("page_size: must be at least 1")
        self.columns: list[Column[Row]] = list(columns)
        self.page_size = page_size
        self.max_pages = max(3, max_pages)
        self.set_reactive(VirtualTable.empty_message, empty_message)
        self.set_reactive(VirtualTable.zebra_stripes, zebra_stripes)
        self._source: RowSource[Row] | None = None
        self._rows_source: RowSource[Row] | None = None
        self._generation = 0
        self._rows: list[Row] = []
        self._start: int | None = None
        self._estimated_start = 0
        self._at_start = False
        self._at_end = False
        self._count: int | None = None
        self._cursor = 0
        self._top = 0
        self._pending = 0
        self._loaded = False
        self._reloading = False
        self._reload_wanted: tuple[LoadKind, Any, Hashable | None] | None = None
        self._moved_during_reload = False
        self._post_loaded = False
        self._loading_after = False
        self._loading_before = False
        self._failure: Exception | None = None
        self._mount_done = False
        self._last_highlighted_key: object = _NOTHING
        self._strip_cache: dict[Hashable, tuple[Row, list[Segment]]] = {}
        self._strip_cache_width = -1
        self._frame: _Frame | None = None
        self._slow_reload_timer: Timer | None = None
        self._signature_before_load: tuple = ()

    # ------------------------------------------------------------------ API

    @property
    def source(self) -> RowSource[Row] | None:
        """The current row source."""
        return self._source

    @property
    def cursor_row(self) -> Row | None:
        """The row under the cursor, or None when nothing is loaded."""
        if not self._rows:
            return None
        return self._rows[self._cursor]

    @property
    def cursor_index(self) -> int | None:
        """The absolute index of the cursor row in the list, when it is known."""
        if not self._rows or self._start is None:
            return None
        return self._start + self._cursor

    @property
    def row_count(self) -> int:
        """How many rows the source has (from `count()`; 0 until loaded)."""
        return self._count or 0

    @property
    def loaded_row_count(self) -> int:
        """How many rows the table holds right now (bounded by max_pages pages)."""
        return len(self._rows)

    @property
    def visible_row_count(self) -> int:
        """How many data lines fit under the header."""
        return max(1, self.size.height - 1)

    @property
    def is_reloading(self) -> bool:
        """True while the rows of the current source are being read afresh."""
        return self._reloading

    @property
    def is_loading(self) -> bool:
        """True while a reload or a page load is in flight."""
        return self._reloading or self._loading_after or self._loading_before

    @property
    def page_limit(self) -> int:
        """Rows per page actually requested (never fewer than one screen)."""
        return max(self.page_size, self.visible_row_count + 1)

    def set_source(self, source: RowSource[Row], keep_cursor_key: Hashable | None = None) -> None:
        """Show a new source: count + first page, or the rows around `keep_cursor_key`.

        With `keep_cursor_key`, the window is reloaded around the loaded row that
        has this key (or the cursor row) so the list updates in place, and the
        cursor stays on that key when the source still has it.
        """
        self._source = source
        # Rows shown from another source (a previous search) cannot anchor a
        # reload of this one: their positions belong to the other query.
        if keep_cursor_key is None or not self._rows or self._rows_source != source:
            self._request_reload("first", None, keep_cursor_key)
            return
        anchor = self._loaded_row_with_key(keep_cursor_key)
        if anchor is None:
            anchor = self._rows[self._cursor]
        self._request_reload("around", anchor, keep_cursor_key)

    def replace_source(
        self,
        source: RowSource[Row],
        columns: list[Column[Row]],
        keep_cursor_key: Hashable | None = None,
    ) -> None:
        """Show a different kind of rows: new columns, and the old rows dropped at once.

        Unlike `set_source`, nothing of the previous source is kept on screen
        while the first page loads, so the new columns never render old rows.
        """
        self.columns = list(columns)
        self._strip_cache.clear()
        self._rows = []
        self._count = None
        self._start = None
        self._cursor = self._top = 0
        self._source = source
        self._request_reload("first", None, keep_cursor_key)
        self.refresh()

    def refresh_rows(self) -> None:
        """Reload from the same source, keeping the cursor on its row (or its place)."""
        if self._source is None:
            return
        if not self._rows:
            self._request_reload("first", None, None)
            return
        anchor = self._rows[self._cursor]
        self._request_reload("around", anchor, self._key_of(anchor))

    def move_cursor_to_key(self, key: Hashable) -> bool:
        """Put the cursor on the loaded row with `key`; False when it is not loaded."""
        for index, row in enumerate(self._rows):
            if self._key_of(row) == key:
                self._pending = 0
                self._place_cursor(index)
                return True
        return False

    def set_columns(self, columns: list[Column[Row]]) -> None:
        """Replace the columns (the rows stay)."""
        self.columns = list(columns)
        self._strip_cache.clear()
        self.refresh()

    # -------------------------------------------------------------- actions

    def action_cursor_up(self) -> None:
        """Move the cursor up one row."""
        self._move(-1)

    def action_cursor_down(self) -> None:
        """Move the cursor down one row."""
        self._move(1)

    def action_page_up(self) -> None:
        """Move the cursor (and the view) up one screen."""
        self._move(-self.visible_row_count, keep_line=True)

    def action_page_down(self) -> None:
        """Move the cursor (and the view) down one screen."""
        self._move(self.visible_row_count, keep_line=True)

    def action_first_row(self) -> None:
        """Jump to the first row: in the window when loaded, else one page load."""
        if self._source is None:
            return
        if self._at_start and self._rows and not self._reloading:
            self._pending = 0
            self._place_cursor(0)
            return
        self._request_reload("first", None, None, announce=False)

    def action_last_row(self) -> None:
        """Jump to the last row: in the window when loaded, else one page load."""
        if self._source is None:
            return
        if self._at_end and self._rows and not self._reloading:
            self._pending = 0
            self._place_cursor(len(self._rows) - 1)
            return
        self._request_reload("last", None, None, announce=False)

    def action_select_row(self) -> None:
        """Post RowSelected for the row under the cursor."""
        row = self.cursor_row
        if row is not None:
            self.post_message(self.RowSelected(self, row))

    # ------------------------------------------------------------- movement

    def _move(self, delta: int, *, keep_line: bool = False) -> None:
        """Move the cursor; a move past an edge that is still loading waits for the page."""
        if not self._rows:
            return
        if self._reloading:
            self._moved_during_reload = True
        last = len(self._rows) - 1
        target = self._cursor + delta
        leftover = 0
        if target > last:
            if not self._at_end:
                leftover = target - last
            target = last
        elif target < 0:
            if not self._at_start:
                leftover = target
            target = 0
        if leftover and self._pending and (leftover > 0) == (self._pending > 0):
            # Repeated presses at an edge that is still loading add up, so three
            # quick page-downs still move three screens once the rows arrive.
            leftover += self._pending
        self._pending = leftover
        self._place_cursor(target, keep_line=keep_line)

    def _place_cursor(self, index: int, *, keep_line: bool = False) -> None:
        """Put the cursor on a window index and scroll just enough to show it."""
        if not self._rows:
            self._cursor = self._top = 0
            self.refresh()
            return
        previous_cursor = self._cursor
        self._cursor = max(0, min(index, len(self._rows) - 1))
        if keep_line:
            self._top += self._cursor - previous_cursor
        self._clamp_view()
        self.refresh()
        self._announce_highlight()
        self._ensure_margin()

    def _clamp_view(self) -> None:
        """Keep the cursor inside the window and the viewport, and the viewport on rows."""
        if not self._rows:
            self._cursor = self._top = 0
            return
        visible = self.visible_row_count
        self._cursor = max(0, min(self._cursor, len(self._rows) - 1))
        if self._cursor < self._top:
            self._top = self._cursor
        elif self._cursor >= self._top + visible:
            self._top = self._cursor - visible + 1
        self._top = max(0, min(self._top, len(self._rows) - visible))

    def _scroll_view(self, lines: int) -> None:
        """Scroll the viewport (mouse wheel); the cursor is dragged along to stay visible."""
        if not self._rows:
            return
        visible = self.visible_row_count
        self._top = max(0, min(self._top + lines, len(self._rows) - visible))
        cursor = max(self._top, min(self._cursor, self._top + visible - 1))
        self._pending = 0
        self._place_cursor(cursor)

    def _announce_highlight(self, *, force: bool = False) -> None:
        """Post RowHighlighted when the cursor is on a different row (or forced)."""
        row = self.cursor_row
        if row is None:
            self._last_highlighted_key = _NOTHING
            return
        key = self._key_of(row)
        if force or key != self._last_highlighted_key:
            self._last_highlighted_key = key
            self.post_message(self.RowHighlighted(self, row))

    # -------------------------------------------------------------- loading

    def _key_of(self, row: Row) -> Hashable:
        # Loaded rows are keyed by the source that produced them: a new source may
        # be set while the previous source's rows are still on screen.
        source = self._rows_source or self._source
        assert source is not None
        return source.key_of(row)

    def _loaded_row_with_key(self, key: Hashable) -> Row | None:
        for row in self._rows:
            if self._key_of(row) == key:
                return row
        return None

    def _request_reload(
        self,
        kind: LoadKind,
        anchor: Row | None,
        keep_key: Hashable | None,
        *,
        announce: bool = True,
    ) -> None:
        """Start a reload; anything still in flight is superseded by the new generation."""
        self._generation += 1
        self._reloading = True
        self._moved_during_reload = False
        self._loading_after = self._loading_before = False
        self._failure = None
        self._post_loaded = announce or self._post_loaded
        if not self._mount_done:
            self._reload_wanted = (kind, anchor, keep_key)
            self.refresh()
            return
        self._start_reload(kind, anchor, keep_key)

    def _start_reload(self, kind: LoadKind, anchor: Row | None, keep_key: Hashable | None) -> None:
        source = self._source
        assert source is not None
        generation = self._generation
        limit = self.page_limit
        if kind == "first" and keep_key is None and self.size.height > 1:
            # A first page needs only one screen to paint (a search keystroke
            # pays for every row it reads); the rest of the page follows as the
            # usual next-page load once the screen is painted.
            limit = self.visible_row_count + 1

        def fetch() -> _LoadResult[Row]:
            # The count runs beside the page read (SQLite releases the GIL while
            # it counts), so a reload costs the slower of the two, not their sum.
            counting = _counting_pool().submit(source.count)
            if kind == "last":
                rows = source.last_page(limit)
                return _LoadResult(
                    generation, kind, rows, counting.result(), limit=limit, source=source
                )
            if kind == "around" and anchor is not None:
                before = source.page_before(anchor, limit)
                # Re-read from the row before the anchor so the anchor row itself
                # comes back with its current values (or its place, if it went).
                if before:
                    after = source.page_after(before[-1], limit + 1)
                else:
                    after = source.first_page(limit + 1)
                return _LoadResult(
                    generation,
                    kind,
                    before + after,
                    counting.result(),
                    anchor=anchor,
                    before_length=len(before),
                    keep_key=keep_key,
                    limit=limit,
                    source=source,
                )
            rows = source.first_page(limit)
            return _LoadResult(
                generation,
                "first",
                rows,
                counting.result(),
                keep_key=keep_key,
                limit=limit,
                source=source,
            )

        self._run(generation, fetch, f"virtual-table {kind}")
        self._stop_slow_reload_timer()
        if self._rows:
            # The old rows stay on screen meanwhile; repaint (to show "loading…"
            # past them) only if the reload is slow, so that a search keystroke
            # costs one paint, not two.
            self._slow_reload_timer = self.set_timer(SLOW_RELOAD_SECONDS, self.refresh)
        else:
            self.refresh()

    def _stop_slow_reload_timer(self) -> None:
        if self._slow_reload_timer is not None:
            self._slow_reload_timer.stop()
            self._slow_reload_timer = None

    def _run(self, generation: int, fetch: Callable[[], _LoadResult[Row]], name: str) -> None:
        """Run `fetch` in a thread worker and deliver the result as a message."""

        def work() -> None:
            try:
                result = fetch()
            except Exception as error:  # the UI shows "could not load", the app keeps running
                self.post_message(self._Failed(generation, error))
                return
            self.post_message(self._Fetched(result))

        self.run_worker(work, name=name, group="virtual-table", thread=True, exit_on_error=False)

    def _ensure_margin(self) -> None:
        """Fetch the next or previous page when the cursor or viewport nears an edge."""
        if self._source is None or not self._rows or self._reloading or self._failure:
            return
        if not self._mount_done:
            return
        limit = self.page_limit
        threshold = max(1, limit // 2)
        visible = self.visible_row_count
        bottom = max(self._cursor + 1, self._top + visible)
        if not self._at_end and not self._loading_after and len(self._rows) - bottom < threshold:
            self._loading_after = True
            self._load_edge("after", self._rows[-1], limit)
        top = min(self._cursor, self._top)
        if not self._at_start and not self._loading_before and top < threshold:
            self._loading_before = True
            self._load_edge("before", self._rows[0], limit)

    def _load_edge(self, kind: Literal["after", "before"], anchor: Row, limit: int) -> None:
        source = self._source
        assert source is not None
        generation = self._generation

        def fetch() -> _LoadResult[Row]:
            if kind == "after":
                rows = source.page_after(anchor, limit)
            else:
                rows = source.page_before(anchor, limit)
            return _LoadResult(generation, kind, rows, anchor=anchor, limit=limit)

        self._run(generation, fetch, f"virtual-table {kind}")

    @on(_Fetched)
    def _on_fetched(self, message: _Fetched) -> None:
        message.stop()
        result = message.result
        if result.generation != self._generation:
            return  # superseded by a newer reload
        self._signature_before_load = self._view_signature()
        if result.kind == "after":
            self._apply_after(result)
        elif result.kind == "before":
            self._apply_before(result)
        else:
            self._apply_reload(result)

    @on(_Failed)
    def _on_failed(self, message: _Failed) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self._stop_slow_reload_timer()
        self._reloading = self._loading_after = self._loading_before = False
        self._pending = 0
        self._failure = message.error
        self.refresh()
        self.post_message(self.LoadFailed(self, message.error))

    def _apply_reload(self, result: _LoadResult[Row]) -> None:
        rows = list(result.rows)
        limit = result.limit
        previous_line = self._cursor - self._top
        previous_absolute = self._absolute_estimate(self._cursor)
        keep_key = result.keep_key
        if self._moved_during_reload and self._rows:
            # The nurse moved while the reload ran: follow where they are now.
            keep_key = self._key_of(self._rows[self._cursor])
        self._stop_slow_reload_timer()
        self._reloading = False
        self._failure = None
        self._pending = 0
        self._strip_cache.clear()
        self._count = result.count
        self._rows = rows
        self._rows_source = result.source
        if result.kind == "last":
            self._at_end = True
            self._at_start = len(rows) < limit
            self._start = max(0, (result.count or len(rows)) - len(rows))
            cursor = len(rows) - 1
            self._top = cursor
        elif result.kind == "around":
            self._at_start = result.before_length < limit
            self._at_end = len(rows) - result.before_length < limit + 1
            kept = self._index_of_key(keep_key, prefer_from=result.before_length)
            cursor = result.before_length if kept is None else kept
            self._top = cursor - previous_line
            if self._at_start:
                self._start = 0
            elif self._at_end and result.count is not None:
                self._start = max(0, result.count - len(rows))
            else:
                self._start = None
                self._estimated_start = max(0, previous_absolute - cursor)
        else:
            self._at_start = True
            self._at_end = len(rows) < limit
            self._start = 0
            cursor = self._index_of_key(keep_key, prefer_from=0) or 0
            self._top = 0
        if self._at_start and self._at_end:
            self._count = len(rows)
        self._cursor = max(0, min(cursor, len(rows) - 1)) if rows else 0
        self._loaded = True
        self._clamp_view()
        self._trim_to_bound()
        self.refresh()
        self._announce_highlight(force=True)
        if self._post_loaded:
            self._post_loaded = False
            loaded = self.Loaded(self, self.row_count)
            self.call_after_refresh(self.post_message, loaded)
        # Read the margin after this paint, not in competition with it.
        self.call_after_refresh(self._ensure_margin)

    def _apply_after(self, result: _LoadResult[Row]) -> None:
        self._loading_after = False
        if not self._rows or self._rows[-1] is not result.anchor:
            self._ensure_margin()  # the window changed under the load; ask again
            return
        page = list(result.rows)
        at_end = len(page) < result.limit
        excess = len(self._rows) + len(page) - self.max_pages * result.limit
        if excess > 0:
            # Drop rows above the viewport first; if the viewport is too close to
            # the top for that, keep fewer of the new rows instead.
            drop = min(excess, self._top)
            if drop:
                del self._rows[:drop]
                self._cursor -= drop
                self._top -= drop
                self._at_start = False
                if self._start is not None:
                    self._start += drop
                self._estimated_start += drop
            cut = excess - drop
            if cut:
                page = page[: len(page) - cut]
                at_end = False
        self._rows.extend(page)
        self._at_end = at_end
        if at_end and self._count is not None:
            if self._start is None:
                self._start = max(0, self._count - len(self._rows))
            else:
                self._count = self._start + len(self._rows)
        self._after_edge_load(moving_down=True)

    def _apply_before(self, result: _LoadResult[Row]) -> None:
        self._loading_before = False
        if not self._rows or self._rows[0] is not result.anchor:
            self._ensure_margin()
            return
        page = list(result.rows)
        at_start = len(page) < result.limit
        visible = self.visible_row_count
        excess = len(self._rows) + len(page) - self.max_pages * result.limit
        if excess > 0:
            below_view = max(0, len(self._rows) - (self._top + visible))
            drop = min(excess, below_view)
            if drop:
                del self._rows[len(self._rows) - drop :]
                self._at_end = False
            cut = excess - drop
            if cut:
                page = page[cut:]
                at_start = False
        self._rows[:0] = page
        self._cursor += len(page)
        self._top += len(page)
        if self._start is not None:
            self._start -= len(page)
        self._estimated_start = max(0, self._estimated_start - len(page))
        self._at_start = at_start
        if at_start:
            self._start = 0
        self._after_edge_load(moving_down=False)

    def _after_edge_load(self, *, moving_down: bool) -> None:
        pending = self._pending
        if pending and (pending > 0) == moving_down:
            self._pending = 0
            self._move(pending, keep_line=True)
        else:
            self._clamp_view()
            # A page that lands out of sight (the usual case) changes no painted
            # line: skip the repaint, which would cost as much as a full one.
            if self._view_signature() != self._signature_before_load:
                self.refresh()
            self._ensure_margin()

    def _trim_to_bound(self) -> None:
        """Keep a reloaded window within the bound (a reload loads at most ~2 pages)."""
        bound = self.max_pages * self.page_limit
        excess = len(self._rows) - bound
        if excess > 0:
            del self._rows[len(self._rows) - excess :]
            self._at_end = False
            self._clamp_view()

    def _index_of_key(self, key: Hashable | None, *, prefer_from: int) -> int | None:
        if key is None:
            return None
        order = [*range(prefer_from, len(self._rows)), *range(0, prefer_from)]
        for index in order:
            if self._key_of(self._rows[index]) == key:
                return index
        return None

    def _absolute_estimate(self, window_index: int) -> int:
        start = self._start if self._start is not None else self._estimated_start
        return start + window_index

    # ------------------------------------------------------------ lifecycle

    def _on_mount(self, event: events.Mount) -> None:
        # Textual calls Widget._on_mount too (each class's handler in turn).
        self._mount_done = True
        if self._reload_wanted is not None:
            kind, anchor, keep_key = self._reload_wanted
            self._reload_wanted = None
            self._start_reload(kind, anchor, keep_key)

    def _on_resize(self, event: events.Resize) -> None:
        self._strip_cache.clear()
        self._clamp_view()
        self.refresh()
        self._ensure_margin()

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """The wheel scrolls three lines."""
        event.stop()
        self._scroll_view(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """The wheel scrolls three lines."""
        event.stop()
        self._scroll_view(-3)

    def on_click(self, event: events.Click) -> None:
        """A click on a row moves the cursor there; a double click selects it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None and column.sortable:
                self.post_message(self.SortRequested(self, column.key))
            return
        index = self._top + offset.y - 1
        if 0 <= index < len(self._rows):
            self._pending = 0
            self._place_cursor(index)
            if event.chain >= 2:
                self.action_select_row()

    # ------------------------------------------------------------ rendering

    def _column_widths(self, width: int) -> list[int]:
        """Column widths for a row area `width` cells wide (the stretching one takes the rest)."""
        widths = [max(1, column.width) for column in self.columns]
        if widths:
            used = 1 + sum(widths) + (len(widths) - 1)  # leading space + separators
            stretch = next(
                (index for index, column in enumerate(self.columns) if column.stretch),
                len(widths) - 1,
            )
            own = widths[stretch]
            widths[stretch] = max(min(own, STRETCH_MINIMUM), own + width - used)
        return widths

    def _column_at(self, x: int) -> Column[Row] | None:
        position = 1
        for column, width in zip(
            self.columns, self._column_widths(self.size.width - 1), strict=True
        ):
            if position <= x < position + width:
                return column
            position += width + 1
        return None

    def _compose_line(self, cells: list[Text], widths: list[int]) -> Text:
        line = Text(" ", no_wrap=True, end="")
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            if index:
                line.append(" ")
            cell = cut_line(cell.copy(), width)
            cell.truncate(width, pad=True)
            line.append_text(cell)
        return line

    def _row_segments(self, row: Row, width: int) -> list[Segment]:
        """The row's cells as unstyled segments exactly `width` cells wide (cached by row key)."""
        if width != self._strip_cache_width:
            self._strip_cache.clear()
            self._strip_cache_width = width
        key = self._key_of(row)
        cached = self._strip_cache.get(key)
        # A newer copy of the row (same key, maybe new values) must be rendered afresh.
        if cached is not None and cached[0] is row:
            return cached[1]
        segments: list[Segment] = [Segment(" ")]
        for index, (column, cell_width) in enumerate(
            zip(self.columns, self._column_widths(width), strict=True)
        ):
            if index:
                segments.append(Segment(" "))
            segments.extend(self._cell_segments(column.render(row), cell_width))
        # Plain cells and their separators merge into one segment: every later
        # step of a paint (styles, filters, cropping) costs per segment.
        line = Segment.adjust_line_length(list(Segment.simplify(segments)), width)
        # A few screens' worth of rows is plenty; drop the oldest beyond that.
        if len(self._strip_cache) >= 4 * self.visible_row_count + 16:
            del self._strip_cache[next(iter(self._strip_cache))]
        self._strip_cache[key] = (row, line)
        return line

    def _cell_segments(self, cell: str | Text, width: int) -> list[Segment]:
        """One cell fitted to ``width`` cells: cut at a word with an ellipsis, or padded.

        Most cells are plain words; they become one Segment directly, which is
        several times cheaper than laying out a Text (this runs for every
        visible row after each search keystroke). Styled text goes through Rich.
        """
        if isinstance(cell, Text) and not cell.spans and not cell.style:
            cell = cell.plain
        if isinstance(cell, str):
            text = _one_line(cell)
            length = cell_len(text)
            if length > width:
                text = cut_plain(text, width)
                length = cell_len(text)
            if length < width:
                text += " " * (width - length)
            return [Segment(text)]
        styled = cut_line(cell.copy(), width)
        styled.truncate(width, pad=True)
        console = self.app.console
        # Text.render applies the spans only; the text's own style goes underneath.
        base = console.get_style(styled.style, default=Style.null())
        return list(Segment.apply_style(styled.render(console), base))

    def _header_text(self, width: int) -> Text:
        cells = []
        for column in self.columns:
            label = column.label
            if column.key == self.sort_key:
                label = f"{label} {'▼' if self.sort_reverse else '▲'}"
            cells.append(Text(label))
        return self._compose_line(cells, self._column_widths(width))

    def _strip_from_text(self, text: Text, width: int, style: Style) -> Strip:
        segments = Segment.apply_style(text.render(self.app.console), style)
        return Strip(list(segments)).crop_extend(0, width, style)

    def _message_strip(self, message: str, width: int, style: Style) -> Strip:
        text = Text(message, no_wrap=True, end="")
        padding = max(0, (width - text.cell_len) // 2)
        return self._strip_from_text(Text(" " * padding, end="") + text, width, style)

    def _thumb(self) -> tuple[int, int]:
        """The lines of the position indicator's thumb: (first, past the last)."""
        visible = self.visible_row_count
        count = self.row_count
        if not self._rows or count <= visible:
            return 0, 0
        thumb_size = max(1, visible * visible // count)
        span = max(1, count - visible)
        fraction = min(1.0, self._absolute_estimate(self._top) / span)
        thumb_start = round((visible - thumb_size) * fraction)
        return thumb_start, thumb_start + thumb_size

    def _view_signature(self) -> tuple:
        """Everything the painted lines depend on, to skip repaints that change nothing."""
        shown = self._rows[self._top : self._top + self.visible_row_count]
        return (
            tuple(map(id, shown)),
            self._cursor - self._top,
            self._absolute_estimate(self._top) % 2,
            self._thumb(),
            self._at_end,
            self._reloading,
            self._failure is None,
        )

    def _make_frame(self) -> _Frame:
        """Styles and the position indicator, computed once per paint."""
        base = self.rich_style
        cursor = self.get_component_rich_style("virtual-table--cursor")
        thumb_start, thumb_end = self._thumb()
        return _Frame(
            base=base,
            header=self.get_component_rich_style("virtual-table--header"),
            cursor=cursor,
            # The cursor's background wins over cell backgrounds so the line reads as one.
            cursor_on_top=Style(bgcolor=cursor.bgcolor),
            even_row=self.get_component_rich_style("virtual-table--even-row"),
            loading=self.get_component_rich_style("virtual-table--loading"),
            empty=self.get_component_rich_style("virtual-table--empty"),
            track=base + self.get_component_rich_style("virtual-table--scrollbar"),
            thumb=base + self.get_component_rich_style("virtual-table--scrollbar-thumb"),
            thumb_start=thumb_start,
            thumb_end=thumb_end,
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        """Render the visible lines, sharing one set of styles across them."""
        self._frame = self._make_frame()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        """Render line `y` of the widget: the header, a row, or a placeholder."""
        width = self.size.width
        if width <= 0:
            return Strip.blank(0)
        frame = self._frame or self._make_frame()
        data_width = max(0, width - 1)
        if y == 0:
            return self._strip_from_text(self._header_text(data_width), width, frame.header)
        line = y - 1
        if frame.thumb_start <= line < frame.thumb_end:
            indicator = Segment("┃", frame.thumb)
        elif frame.thumb_end:
            indicator = Segment("│", frame.track)
        else:
            indicator = Segment(" ", frame.base)
        index = self._top + line
        if index < len(self._rows):
            # A row line is built as ONE strip from cached segments: a paint
            # after a search keystroke draws every line afresh, and each
            # intermediate Strip (crop, style, join) would cost as much again.
            segments = self._row_segments(self._rows[index], data_width)
            if index == self._cursor:
                styled = Segment.apply_style(segments, frame.cursor, frame.cursor_on_top)
            elif self.zebra_stripes and self._absolute_estimate(index) % 2 == 0:
                styled = Segment.apply_style(segments, frame.even_row)
            else:
                styled = Segment.apply_style(segments, frame.base)
            return Strip([*styled, indicator], width)
        return Strip.join(
            [self._placeholder_strip(line, index, data_width, frame), Strip([indicator], 1)]
        )

    def _placeholder_strip(self, line: int, index: int, width: int, frame: _Frame) -> Strip:
        """A line below the rows: the empty message, a failure, loading, or blank."""
        if self._loaded and not self._rows and self._at_end and not self._reloading:
            if line == (self.visible_row_count - 1) // 2:
                return self._message_strip(self.empty_message, width, frame.empty)
            return Strip.blank(width, frame.base)
        if self._failure is not None:
            if index == len(self._rows):
                return self._message_strip(_FAILED, width, frame.loading)
            return Strip.blank(width, frame.base)
        if self._source is not None and (not self._at_end or self._reloading or not self._loaded):
            return self._strip_from_text(Text(f" {_LOADING}", end=""), width, frame.loading)
        return Strip.blank(width, frame.base)


_COUNTING_POOL: ThreadPoolExecutor | None = None


def _counting_pool() -> ThreadPoolExecutor:
    """The threads that count rows beside page reads (made on first use, not at import)."""
    global _COUNTING_POOL
    if _COUNTING_POOL is None:
        _COUNTING_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="virtual-table-count")
    return _COUNTING_POOL


@dataclass(frozen=True)
class _Frame:
    """The styles of one paint, so each line does not recompute them."""

    base: Style
    header: Style
    cursor: Style
    cursor_on_top: Style
    even_row: Style
    loading: Style
    empty: Style
    track: Style
    thumb: Style
    thumb_start: int
    thumb_end: int


class _Nothing:
    """A marker that equals no row key (not even None)."""

    def __repr__(self) -> str:
        return "<nothing>"


_NOTHING = _Nothing()
