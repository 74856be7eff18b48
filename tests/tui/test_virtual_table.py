"""VirtualTable driven by keys over a 100,000-row in-memory source.

The test source holds the whole list (it stands in for the database); the widget
must only ever hold a bounded window of it.
"""

from __future__ import annotations

import bisect
import threading
from typing import Any

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult

from nursecase.widgets.virtual_table import Column, VirtualTable

SIZE = (100, 30)
PAGE_SIZE = 100
TOTAL = 100_000
VISIBLE = SIZE[1] - 1  # the header takes one line

# A row is (sort value, patient id, label): sorted by (sort value, id), keyed by id.
PatientRow = tuple[int, int, str]


def _position(row: PatientRow) -> tuple[int, int]:
    return (row[0], row[1])


class ListSource:
    """A keyset-paginated source over a sorted list, recording which calls it served."""

    def __init__(self, rows: list[PatientRow]) -> None:
        self.rows = rows
        self.calls: list[str] = []
        self.page_after_gate: threading.Event | None = None
        self.first_page_gate: threading.Event | None = None
        self.first_page_limits: list[int] = []

    def insert(self, row: PatientRow) -> None:
        bisect.insort(self.rows, row, key=_position)

    def count(self) -> int:
        self.calls.append("count")
        return len(self.rows)

    def first_page(self, limit: int) -> list[PatientRow]:
        self.calls.append("first_page")
        self.first_page_limits.append(limit)
        if self.first_page_gate is not None:
            self.first_page_gate.wait(timeout=10)
        return self.rows[:limit]

    def page_after(self, row: PatientRow, limit: int) -> list[PatientRow]:
        self.calls.append("page_after")
        if self.page_after_gate is not None:
            self.page_after_gate.wait(timeout=10)
        index = bisect.bisect_right(self.rows, _position(row), key=_position)
        return self.rows[index : index + limit]

    def page_before(self, row: PatientRow, limit: int) -> list[PatientRow]:
        self.calls.append("page_before")
        index = bisect.bisect_left(self.rows, _position(row), key=_position)
        return self.rows[max(0, index - limit) : index]

    def last_page(self, limit: int) -> list[PatientRow]:
        self.calls.append("last_page")
        return self.rows[-limit:]

    def key_of(self, row: PatientRow) -> Any:
        return row[1]


def patient_rows(total: int = TOTAL) -> list[PatientRow]:
    return [(number * 10, number, f"patient {number:06d}") for number in range(total)]


COLUMNS: list[Column[PatientRow]] = [
    Column("id", "Id", 8, lambda row: str(row[1])),
    Column("name", "Name", 30, lambda row: Text(row[2], style="bold")),
    Column("sort", "Sort value", 12, lambda row: str(row[0]), sortable=False),
]


class TableApp(App[None]):
    """Mounts one VirtualTable and records what it posts."""

    def __init__(self, source: ListSource | None, **table_options: Any) -> None:
        super().__init__()
        self.source = source
        self.table_options = table_options
        self.selected: list[PatientRow] = []
        self.highlighted: list[PatientRow] = []
        self.loaded: list[int] = []
        self.sort_requests: list[str] = []
        self.failures: list[Exception] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, page_size=PAGE_SIZE, id="table", **self.table_options)

    def on_mount(self) -> None:
        table = self.query_one(VirtualTable)
        if self.source is not None:
            table.set_source(self.source)
        table.focus()

    def on_virtual_table_row_selected(self, message: VirtualTable.RowSelected) -> None:
        self.selected.append(message.row)

    def on_virtual_table_row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        self.highlighted.append(message.row)

    def on_virtual_table_loaded(self, message: VirtualTable.Loaded) -> None:
        self.loaded.append(message.count)

    def on_virtual_table_sort_requested(self, message: VirtualTable.SortRequested) -> None:
        self.sort_requests.append(message.column_key)

    def on_virtual_table_load_failed(self, message: VirtualTable.LoadFailed) -> None:
        self.failures.append(message.error)


async def settle(pilot) -> None:
    """Let page loads finish and their results be applied (loads may chain)."""
    for _ in range(6):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def table_of(app: App[Any]) -> VirtualTable[PatientRow]:
    return app.query_one(VirtualTable)


def line(table: VirtualTable[PatientRow], y: int) -> str:
    return table.render_line(y).text


async def test_first_rows_are_painted_under_the_header():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert table.visible_row_count == VISIBLE
        assert app.loaded == [TOTAL]
        assert table.row_count == TOTAL
        assert table.cursor_row == source.rows[0]
        assert table.cursor_index == 0
        header = line(table, 0)
        assert "Id" in header and "Name" in header and "Sort value" in header
        assert "patient 000000" in line(table, 1)
        assert "patient 000028" in line(table, VISIBLE)
        assert app.highlighted[-1] == source.rows[0]
        # The position indicator sits at the top.
        assert line(table, 1).endswith("┃")
        assert line(table, VISIBLE).endswith("│")


async def test_keys_move_the_cursor_to_the_right_absolute_rows():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        rows = source.rows

        async def expect(*keys: str, index: int) -> None:
            await pilot.press(*keys)
            await settle(pilot)
            assert table.cursor_index == index, keys
            assert table.cursor_row == rows[index], keys

        await expect("down", "down", "down", index=3)
        await expect("up", index=2)
        await expect("j", "j", index=4)
        await expect("k", index=3)
        await expect("pagedown", index=3 + VISIBLE)
        await expect("pagedown", index=3 + 2 * VISIBLE)
        await expect("pageup", index=3 + VISIBLE)
        await expect("end", index=TOTAL - 1)
        assert "patient 099999" in line(table, VISIBLE)
        assert line(table, VISIBLE).endswith("┃")
        await expect("up", index=TOTAL - 2)
        await expect("pageup", index=TOTAL - 2 - VISIBLE)
        await expect("down", index=TOTAL - 1 - VISIBLE)
        await expect("home", index=0)
        await expect("up", index=0)
        await expect("ctrl+end", index=TOTAL - 1)
        await expect("down", index=TOTAL - 1)
        await expect("pagedown", index=TOTAL - 1)
        await expect("ctrl+home", index=0)
        assert app.highlighted[-1] == rows[0]


async def test_end_and_home_each_take_one_page_load():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        source.calls.clear()
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == source.rows[-1]
        assert "last_page" in source.calls
        assert "page_after" not in source.calls
        source.calls.clear()
        await pilot.press("home")
        await settle(pilot)
        assert table.cursor_row == source.rows[0]
        assert "first_page" in source.calls
        assert "page_before" not in source.calls
        assert "patient 000000" in line(table, 1)


async def test_fifty_page_downs_keep_memory_bounded():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        for _ in range(25):
            await pilot.press("pagedown")
            await pilot.pause()
            assert table.loaded_row_count <= 4 * PAGE_SIZE
        # A burst without waiting: moves past the loaded edge wait for their page.
        await pilot.press(*["pagedown"] * 25)
        await settle(pilot)
        assert table.loaded_row_count <= 4 * PAGE_SIZE
        assert table.cursor_index == 50 * VISIBLE
        assert table.cursor_row == source.rows[50 * VISIBLE]
        assert f"patient {50 * VISIBLE:06d}" in line(table, 1)
        for _ in range(50):
            await pilot.press("pageup")
        await settle(pilot)
        assert table.cursor_index == 0
        assert table.loaded_row_count <= 4 * PAGE_SIZE


async def test_enter_selects_the_row_under_the_cursor():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "down", "enter")
        await pilot.pause()
        assert app.selected == [source.rows[5]]
        await pilot.press("end")
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [source.rows[5], source.rows[-1]]


async def test_refresh_keeps_the_cursor_on_its_row_after_inserts_before_it():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press(*["down"] * 10)
        await settle(pilot)
        assert table.cursor_row == (100, 10, "patient 000010")
        for number in range(7):
            source.insert((number * 10 + 5, 200_000 + number, f"new patient {number}"))
        table.refresh_rows()
        await settle(pilot)
        assert table.cursor_row == (100, 10, "patient 000010")
        assert table.cursor_index == 17
        assert table.row_count == TOTAL + 7
        assert app.loaded == [TOTAL, TOTAL + 7]
        # The cursor kept its line on screen too.
        assert "patient 000010" in line(table, 11)
        await pilot.press("home")
        await settle(pilot)
        assert table.cursor_row == (0, 0, "patient 000000")
        await pilot.press("down")
        assert table.cursor_row == (5, 200_000, "new patient 0")


async def test_refresh_far_down_keeps_the_key_shows_new_values_and_keeps_the_place():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press(*["pagedown"] * 20)
        await settle(pilot)
        index = 20 * VISIBLE
        assert table.cursor_index == index
        source.rows[index] = (index * 10, index, "renamed patient")
        for number in range(3):
            source.insert((number * 10 + 5, 300_000 + number, f"new patient {number}"))
        table.refresh_rows()
        await settle(pilot)
        assert table.cursor_row == (index * 10, index, "renamed patient")
        assert table.loaded_row_count <= 4 * PAGE_SIZE
        # Far from both ends the absolute index is not known until an end is reached.
        assert table.cursor_index is None
        await pilot.press("down")
        await settle(pilot)
        assert table.cursor_row == source.rows[index + 3 + 1]
        # The cursor's row disappears: the cursor stays in its place (the next row).
        removed = source.rows.pop(index + 3 + 1)
        table.refresh_rows()
        await settle(pilot)
        assert table.cursor_row == source.rows[index + 3 + 1] != removed
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_index == TOTAL + 3 - 1 - 1
        assert table.cursor_row == source.rows[-1]


async def test_set_source_with_a_key_keeps_the_cursor_on_that_row():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press(*["down"] * 40)
        await settle(pilot)
        key = table.source.key_of(table.cursor_row)
        changed = ListSource([(sort, number, label.upper()) for sort, number, label in source.rows])
        table.set_source(changed, keep_cursor_key=key)
        await settle(pilot)
        assert table.source is changed
        assert table.cursor_row == (400, 40, "PATIENT 000040")
        assert table.cursor_index == 40
        assert table.move_cursor_to_key(45) is True
        assert table.cursor_index == 45
        assert table.move_cursor_to_key(99_000) is False
        assert table.cursor_index == 45
        # Without a key a new source starts from its first row.
        table.set_source(ListSource(patient_rows(500)))
        await settle(pilot)
        assert table.cursor_index == 0
        assert table.row_count == 500
        assert app.loaded == [TOTAL, TOTAL, 500]


async def test_an_empty_source_shows_the_empty_message():
    source = ListSource([])
    app = TableApp(source, empty_message="No patients on this caseload.")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert app.loaded == [0]
        assert table.row_count == 0
        assert table.cursor_row is None
        assert table.cursor_index is None
        middle = line(table, 1 + (VISIBLE - 1) // 2)
        assert middle.strip() == "No patients on this caseload."
        assert middle.index("No patients") > 20  # centred, not left-aligned
        assert "loading" not in "".join(line(table, y) for y in range(SIZE[1]))
        table.empty_message = "No patient matches “zz”."
        await pilot.pause()
        assert "No patient matches “zz”." in line(table, 1 + (VISIBLE - 1) // 2)
        await pilot.press("down", "pagedown", "end", "home", "enter")
        await settle(pilot)
        assert app.selected == []


async def test_a_slow_page_load_does_not_block_the_keys():
    source = ListSource(patient_rows())
    gate = threading.Event()
    app = TableApp(source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            table = table_of(app)
            source.page_after_gate = gate
            await pilot.press("pagedown", "pagedown")  # near the edge: page_after starts
            await pilot.pause()
            assert table.is_loading
            assert "page_after" in source.calls
            await pilot.press("down", "down", "down")
            assert table.cursor_index == 2 * VISIBLE + 3
            await pilot.press("up")
            assert table.cursor_index == 2 * VISIBLE + 2
            # Past the loaded rows the cursor waits on the last loaded row...
            await pilot.press("pagedown", "pagedown")
            assert table.cursor_index == PAGE_SIZE - 1
            assert table.loaded_row_count == PAGE_SIZE
            assert "patient 000099" in line(table, VISIBLE)
            # ...and finishes the move when the page arrives.
            gate.set()
            await settle(pilot)
            assert table.cursor_index == 4 * VISIBLE + 2
            assert table.cursor_row == source.rows[4 * VISIBLE + 2]
    finally:
        gate.set()


async def test_a_new_source_paints_one_screenful_first_then_reads_the_margin():
    # Each search keystroke sets a new source: its first read is one screen of
    # rows, and the rest of the page follows once that screen is painted.
    source = ListSource(patient_rows())
    app = TableApp(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        table.set_source(source)
        await settle(pilot)
        assert source.first_page_limits == [VISIBLE + 1]
        assert "page_after" in source.calls
        assert table.loaded_row_count == VISIBLE + 1 + PAGE_SIZE
        await pilot.press("pagedown", "pagedown", "pagedown")
        await settle(pilot)
        assert table.cursor_row == source.rows[3 * VISIBLE]


async def test_a_superseded_load_is_ignored():
    slow = ListSource(patient_rows(1_000))
    gate = threading.Event()
    slow.first_page_gate = gate
    fast = ListSource(patient_rows(300))
    app = TableApp(None)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = table_of(app)
            table.set_source(slow)
            await pilot.pause()
            assert "loading…" in line(table, 1)
            table.set_source(fast)
            await pilot.pause()
            for _ in range(50):
                if table.row_count:
                    break
                await pilot.pause(0.01)
            assert table.row_count == 300
            gate.set()
            await settle(pilot)
            assert table.row_count == 300
            assert table.source is fast
            assert app.loaded == [300]
    finally:
        gate.set()


async def test_row_text_is_never_markup_and_the_header_shows_the_sort():
    rows = [(0, 1, "[bold]Ann[/bold] [PRN]"), (10, 2, "line one\nline two")]
    app = TableApp(ListSource(rows))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert "[bold]Ann[/bold] [PRN]" in line(table, 1)
        assert "line one line two" in line(table, 2)
        assert "▲" not in line(table, 0)
        table.sort_key = "name"
        await pilot.pause()
        assert "Name ▲" in line(table, 0)
        table.sort_reverse = True
        await pilot.pause()
        assert "Name ▼" in line(table, 0)


async def test_mouse_clicks_move_select_and_ask_to_sort():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.click("#table", offset=(12, 4))
        assert table.cursor_index == 3
        assert app.selected == []
        await pilot.double_click("#table", offset=(12, 6))
        await pilot.pause()
        assert table.cursor_index == 5
        assert app.selected[-1] == source.rows[5]
        await pilot.click("#table", offset=(12, 0))  # the Name header
        await pilot.click("#table", offset=(50, 0))  # "Sort value" is not sortable
        await pilot.pause()
        assert app.sort_requests == ["name"]


async def test_the_mouse_wheel_scrolls_and_keeps_the_cursor_in_view():
    source = ListSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        for _ in range(4):
            table.post_message(events.MouseScrollDown(table, 5, 5, 0, 1, 0, False, False, False))
        await settle(pilot)
        assert "patient 000012" in line(table, 1)
        assert table.cursor_index == 12  # dragged along to the top visible row
        table.post_message(events.MouseScrollUp(table, 5, 5, 0, -1, 0, False, False, False))
        await settle(pilot)
        assert "patient 000009" in line(table, 1)
        assert table.cursor_index == 12


class FailingSource(ListSource):
    """Fails every page_after until told otherwise (a database that went away)."""

    failing = True

    def page_after(self, row: PatientRow, limit: int) -> list[PatientRow]:
        if self.failing:
            raise OSError("disk I/O error")
        return super().page_after(row, limit)


async def test_a_failing_source_is_reported_and_the_table_keeps_working():
    source = FailingSource(patient_rows())
    app = TableApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        await settle(pilot)
        assert [type(error) for error in app.failures] == [OSError]
        assert table.cursor_index == PAGE_SIZE - 1
        assert "Could not load rows." not in line(table, VISIBLE)  # the view stays on rows
        await pilot.press("up")
        assert table.cursor_index == PAGE_SIZE - 2
        source.failing = False
        table.refresh_rows()
        await settle(pilot)
        await pilot.press("pagedown")
        await settle(pilot)
        assert table.cursor_index == PAGE_SIZE - 2 + VISIBLE
        assert len(app.failures) == 1


async def test_the_stretching_column_takes_the_free_width_and_long_text_is_cut_at_a_word():
    why = "Chase the reply from home health about the walker"
    app = TableApp(ListSource([(0, 7, why)]))
    async with app.run_test(size=(60, 10)) as pilot:
        await settle(pilot)
        table = table_of(app)
        table.set_columns(
            [
                Column("why", "Why", 20, lambda row: Text(row[2], style="bold"), stretch=True),
                Column("plain", "Plain", 20, lambda row: row[2]),
                Column("id", "Id", 4, lambda row: str(row[1])),
            ]
        )
        await pilot.pause()
        # 59 cells of rows: the 12 left over by the fixed columns go to "Why" (32 cells).
        shown = f" {'Chase the reply from home…':32} {'Chase the reply…':20} {'7':4}"
        assert line(table, 1)[:59] == shown
        # Narrower than the columns: the stretching one gives way, still cut at a word.
        await pilot.resize_terminal(40, 10)
        await settle(pilot)
        assert line(table, 1).startswith(" Chase the…   Chase the reply…")
