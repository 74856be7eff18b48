"""The referral queue: every referral of the nurse (or of everyone), one key per step.

The table lists the most pressing referrals first (priority, then longest in
status); the pane below it shows the highlighted referral's reason, status
history, turnaround and follow-up calls, and enter opens all of it to read
in full. Every key acts on the highlighted referral: ``x`` moves it along
(only the moves the state machine allows can be chosen), ``f`` logs a
follow-up call, ``p`` opens its patient; ``n`` sends a new referral, ``/``
filters and ``g`` groups; home and end go to the first and last referral.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from nursecase.domain.codes import ReferralStatus
from nursecase.domain.referral_states import is_terminal
from nursecase.screens.background import run_in_background
from nursecase.screens.choice_picker import Picked
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.referral_dialogs import (
    NO_GROUPING,
    PatientPicker,
    ReferralReadView,
    follow_up_dialog,
    grouping_picker,
    needs_form,
    open_referral_form,
    queue_filter_dialog,
    status_picker,
    transition_dialog,
)
from nursecase.screens.referral_views import (
    QUEUE_COLUMNS,
    QueueFilter,
    column_widths,
    detail_pane,
    fitted,
    grouped,
    heading_cells,
    row_cells,
    status_label,
    status_line,
)
from nursecase.screens.workstation import WorkstationScreen
from nursecase.widgets.key_footer import KeyFooter

INTENTS = (
    Intent(
        "referrals.read",
        "enter",
        "read",
        "Read",
        "Read the referral in full: reason, outcome, history and calls",
    ),
    Intent("referrals.open", "p", "open_patient", "Patient", "Open the referral's patient"),
    Intent(
        "referrals.status",
        "x",
        "change_status",
        "Status",
        "Move the referral on (only the moves the rules allow)",
    ),
    Intent(
        "referrals.follow_up",
        "f",
        "follow_up",
        "Follow-up call",
        "Log a call to the receiving service and set the next expected reply",
    ),
    Intent("referrals.new", "n", "new_referral", "New referral", "Send a referral for a patient"),
    Intent(
        "referrals.filter",
        "slash",
        "filter",
        "Filter",
        "Filter by status, priority, service or organisation",
        key_display="/",
    ),
    Intent(
        "referrals.group",
        "g",
        "group",
        "Group",
        "Group by status, priority, service or organisation",
    ),
    Intent(
        "referrals.everyone",
        "a",
        "toggle_everyone",
        "All nurses",
        "Show every nurse's referrals, or only mine",
    ),
    # Off the footer (the queue reloads itself after every change and on
    # return), so that the footer has room for the keys that act on a referral.
    Intent("referrals.refresh", "f5", "refresh", "Refresh", "Load the queue again", show=False),
    Intent("referrals.down", "j", "cursor(1)", "Down", "Next referral", show=False),
    Intent("referrals.up", "k", "cursor(-1)", "Up", "Previous referral", show=False),
    # Priority: the table would take home and end for its own sideways scroll.
    Intent(
        "referrals.first",
        "home",
        "cursor_end(-1)",
        "First",
        "First referral of the list",
        show=False,
        priority=True,
    ),
    Intent(
        "referrals.last",
        "end",
        "cursor_end(1)",
        "Last",
        "Last referral of the list",
        show=False,
        priority=True,
    ),
)

#: Cells the table keeps beside the columns: a vertical scrollbar (when the
#: list is long) and one space each side of every cell.
SCROLLBAR_WIDTH = 2
CELL_PADDING = 1

#: Row keys of group headings start with this (referral rows are their ids).
HEADING_PREFIX = "group:"


class ReferralQueueScreen(WorkstationScreen, Screen):
    """Every referral that needs chasing, most urgent and oldest first."""

    CSS_PATH = "referral_queue.tcss"
    AUTO_FOCUS = "#referrals"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self) -> None:
        super().__init__()
        self.queue_filter = QueueFilter()
        self.referrals: dict[str, object] = {}
        self.shown_detail: str | None = None
        self.last_row = 0
        # The last page read, kept to lay the table out again when the terminal resizes.
        self.page = None

    def compose(self) -> ComposeResult:
        """Filter line, table, detail pane, status line."""
        yield Header()
        yield Static("", id="queue-filter")
        table: DataTable[Text] = DataTable(
            id="referrals", cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING
        )
        for column in QUEUE_COLUMNS:
            table.add_column(column.label, key=column.key)
        yield table
        with VerticalScroll(id="referral-detail-scroll"):
            yield Static("", id="referral-detail")
        yield Static("", id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Load the queue."""
        self.query_one("#referrals", DataTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a patient or a dialog: the queue may have moved."""
        self.action_refresh()

    # -------------------------------------------------------------- loading

    def action_refresh(self) -> None:
        """Read the queue again."""
        referrals = self.services.referrals
        query = self.queue_filter.query(self.services.context.nurse_id)
        self.query_one("#queue-filter", Static).update(
            Text(f"Referrals: {self.queue_filter.describe()}", style="bold")
        )
        run_in_background(
            self,
            lambda: referrals.queue(**query),
            self._show,
            group="referrals",
            exclusive=True,
        )

    def on_resize(self) -> None:
        """A wider or narrower terminal: share the new width among the columns."""
        if self.page is not None:
            self._show(self.page)

    def _room_for_cells(self) -> int:
        """The table's width less the scrollbar and the padding around each cell."""
        table = self.query_one("#referrals", DataTable)
        width = table.size.width or self.size.width or self.app.size.width
        return width - SCROLLBAR_WIDTH - 2 * CELL_PADDING * len(QUEUE_COLUMNS)

    def _show(self, page) -> None:
        self.page = page
        table = self.query_one("#referrals", DataTable)
        keep = self.highlighted_key()
        rows: list[tuple[str, tuple[Text, ...]]] = []
        self.referrals = {}
        for heading, members in grouped(page.referrals, self.queue_filter.group_by):
            if heading is not None:
                cells = heading_cells(heading, len(members), len(QUEUE_COLUMNS))
                rows.append((f"{HEADING_PREFIX}{heading}", cells))
            for referral in members:
                rows.append((str(referral.id), row_cells(referral)))
                self.referrals[str(referral.id)] = referral
        widths = column_widths((cells for _, cells in rows), self._room_for_cells())
        table.clear(columns=True)
        for column, width in zip(QUEUE_COLUMNS, widths, strict=True):
            table.add_column(column.label, key=column.key, width=width)
        for key, cells in rows:
            table.add_row(*fitted(cells, widths), key=key)
        overdue = sum(referral.reply_overdue for referral in page.referrals)
        self.query_one("#status", Static).update(
            Text(status_line(len(page.referrals), page.total, overdue))
        )
        if not self.referrals:
            self.shown_detail = None
            self.query_one("#referral-detail", Static).update(
                Text("No referral matches. / changes the filter; a shows all nurses.", style="dim")
            )
            return
        row = 0
        if keep in self.referrals:
            row = table.get_row_index(keep)
        else:
            row = min(self.last_row, table.row_count - 1)
        table.move_cursor(row=self._referral_row(row, 1))
        self._show_detail(force=True)

    def _referral_row(self, row: int, step: int) -> int:
        """The nearest referral row from ``row`` going ``step`` (headings are skipped)."""
        table = self.query_one("#referrals", DataTable)
        keys = [row_key.value for row_key in table.rows]
        index = row
        while 0 <= index < len(keys) and keys[index] not in self.referrals:
            index += step
        if not 0 <= index < len(keys):
            index = row
            while 0 <= index < len(keys) and keys[index] not in self.referrals:
                index -= step
        return max(0, min(index, len(keys) - 1))

    def highlighted_key(self) -> str | None:
        """The row key under the cursor (a referral id or a heading)."""
        table = self.query_one("#referrals", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def highlighted(self):
        """The referral under the cursor, or None."""
        return self.referrals.get(self.highlighted_key() or "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Skip group headings; show the highlighted referral below the table."""
        row = event.cursor_row
        if row != event.data_table.cursor_row:
            # Posted before the cursor moved on (a reload puts it on the first
            # row, then on the referral it kept): acting on it would pull the
            # cursor away from the referral the nurse is looking at.
            return
        if event.row_key.value not in self.referrals and self.referrals:
            step = 1 if row >= self.last_row else -1
            target = self._referral_row(row, step)
            if target != row:
                event.data_table.move_cursor(row=target)
                return
        self.last_row = row
        self._show_detail()

    def _show_detail(self, force: bool = False) -> None:
        referral = self.highlighted()
        if referral is None:
            return
        key = str(referral.id)
        if key == self.shown_detail and not force:
            return
        self.shown_detail = key
        referrals = self.services.referrals
        today = self.services.clock.today()
        run_in_background(
            self,
            lambda: referrals.details(referral.id),
            lambda details: self._detail_loaded(key, details, today),
            group="referral-detail",
            exclusive=True,
        )

    def _detail_loaded(self, key: str, details, today) -> None:
        if key != self.shown_detail:
            return  # the cursor moved on while it loaded
        self.query_one("#referral-detail", Static).update(detail_pane(details, today))

    # -------------------------------------------------------------- actions

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter opens the referral to read in full."""
        self.action_read()

    def action_read(self) -> None:
        """Open the highlighted referral in full: reason, outcome, history, calls."""
        referral = self.highlighted()
        if referral is None:
            return
        referrals = self.services.referrals
        today = self.services.clock.today()

        def closed(answer: str | None) -> None:
            if answer == ReferralReadView.OPEN_PATIENT:
                self.workstation.open_patient(referral.patient_id)

        run_in_background(
            self,
            lambda: referrals.details(referral.id),
            lambda details: self.app.push_screen(ReferralReadView(details, today), closed),
            group="referral-read",
            exclusive=True,
        )

    def action_open_patient(self) -> None:
        """Open the highlighted referral's patient."""
        referral = self.highlighted()
        if referral is not None:
            self.workstation.open_patient(referral.patient_id)

    def action_cursor(self, step: int) -> None:
        """j and k move like the arrows (headings are skipped)."""
        table = self.query_one("#referrals", DataTable)
        (table.action_cursor_down if step > 0 else table.action_cursor_up)()

    def action_cursor_end(self, step: int) -> None:
        """Home (-1) and end (1): the first or the last referral (never a heading)."""
        table = self.query_one("#referrals", DataTable)
        if not self.referrals:
            return
        end = table.row_count - 1 if step > 0 else 0
        table.move_cursor(row=self._referral_row(end, -step))

    def action_toggle_everyone(self) -> None:
        """Mine or everyone's."""
        self.queue_filter = self.queue_filter.with_changes(everyone=not self.queue_filter.everyone)
        self.action_refresh()

    def action_change_status(self) -> None:
        """Offer the moves the state machine allows; ask for what the move needs."""
        referral = self.highlighted()
        if referral is None:
            return

        def picked(answer: Picked | None) -> None:
            if answer is None or answer.value is None:
                return
            target = answer.value
            done = f"Referral {status_label(target).lower()}"
            if needs_form(target):
                self.app.push_screen(
                    transition_dialog(self.services, referral, target),
                    lambda result: self._after(result, done),
                )
                return
            referrals = self.services.referrals
            run_in_background(
                self,
                lambda: referrals.transition(referral.id, target, referral.version),
                lambda result: self._after(result, done),
            )

        self.app.push_screen(status_picker(referral), picked)

    def action_follow_up(self) -> None:
        """Log a follow-up call on the highlighted referral."""
        referral = self.highlighted()
        if referral is None:
            return
        if referral.status == ReferralStatus.draft or is_terminal(referral.status):
            self.notify(
                f"A {status_label(referral.status).lower()} referral is not waiting for a reply."
            )
            return
        self.app.push_screen(
            follow_up_dialog(self.services, referral),
            lambda result: self._after(result, "Follow-up call logged"),
        )

    def action_new_referral(self) -> None:
        """Pick a patient, then send them a referral."""

        def patient_chosen(answer: tuple[int, str] | None) -> None:
            if answer is not None:
                open_referral_form(self, *answer, on_sent=lambda r: self._after(r, "Referral sent"))

        self.app.push_screen(PatientPicker(self.services), patient_chosen)

    def action_filter(self) -> None:
        """Filter by status, priority, service, organisation; choose the grouping."""
        referrals = self.services.referrals

        def ask(organisations: list[str]) -> None:
            self.app.push_screen(
                queue_filter_dialog(self.queue_filter, organisations), self._filter_chosen
            )

        run_in_background(self, referrals.organisations, ask)

    def _filter_chosen(self, chosen: QueueFilter | None) -> None:
        if chosen is not None:
            self.queue_filter = chosen
            self.action_refresh()

    def action_group(self) -> None:
        """Group by status, priority, service or organisation."""

        def picked(answer: Picked | None) -> None:
            if answer is not None and answer.value is not None:
                group_by = "" if answer.value == NO_GROUPING else answer.value
                self._filter_chosen(self.queue_filter.with_changes(group_by=group_by))

        self.app.push_screen(grouping_picker(self.queue_filter.group_by), picked)

    def _after(self, result, message: str) -> None:
        """A dialog or a move finished: say so and read the queue again."""
        if result is None:
            return
        self.notify(message)
        self.action_refresh()
