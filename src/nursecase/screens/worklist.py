"""The worklist screen: "Today" (ranked, with the why) and the whole caseload.

The home of the app. One virtual table shows either view; ``t`` switches.
Today comes ranked from ``services.worklist.today``; the caseload pages from
``services.patients`` with keyset cursors, sorted and filtered in SQL. Rounds
(``r``) step through Today with the patient's card beside the list; ``c``
logs a contact, ``s`` snoozes and ``d`` completes the row's most pressing
item, and ``u`` undoes the last done or snooze for a few seconds. ``S``
records a safety check for the highlighted patient; on a safety row ``d``
opens it too, because only a safety check clears a safety flag. On a reading
alert ("BP 184/121 high") ``d`` asks what was done and closes it with that
note; a monitoring gap ("no weight for 3 d") is cleared by a reading, not by
``d``, and an alert is never snoozed.

Every service call runs in a worker (directly, or inside the table).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from nursecase.domain.codes import AdtMessageStatus, EpisodeStatus, RiskTier
from nursecase.domain.flags import flag_words
from nursecase.domain.worklist import PATIENT_SAFETY_KINDS, DueKind
from nursecase.screens.background import run_in_background
from nursecase.screens.contact_dialog import (
    alert_note_dialog,
    log_contact_with_safety,
    snooze_dialog,
)
from nursecase.screens.form_dialog import FormDialog, FormField
from nursecase.screens.formatting import days_ago, due_short, due_text, plain, risk_badge, shown
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.patient_card import render_summary
from nursecase.screens.patient_dialog import new_patient_dialog
from nursecase.screens.reading_dialogs import open_reading_form
from nursecase.screens.safety_check_dialog import open_safety_check, saved_message
from nursecase.screens.sort_dialog import SortDialog
from nursecase.screens.worklist_sources import (
    SORT_COLUMNS,
    CaseloadQuery,
    CaseloadSource,
    TodaySource,
)
from nursecase.screens.workstation import EarlyRead, WorkstationApp, WorkstationScreen
from nursecase.services import Services
from nursecase.widgets.key_footer import KeyFooter
from nursecase.widgets.text_fields import TextInput
from nursecase.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from nursecase.services.patients import PatientRow
    from nursecase.services.worklist import UndoToken

#: Why s does nothing on a safety row.
SAFETY_FLAG_NOT_SNOOZED = "A safety flag is not snoozed: only a safety check clears it (press S)."
#: Why s does nothing on a reading alert, and d nothing on a monitoring gap.
ALERT_NOT_SNOOZED = (
    "An out-of-range reading is not snoozed: log the contact that addresses it (c) "
    "or close it with a note (d)."
)
GAP_NOT_DONE = (
    "A reading clears a monitoring gap: type it (v), or if none is coming, "
    "snooze the gap (s) with a reason."
)
#: How long a done or snooze can be undone.
UNDO_SECONDS = 10.0
#: Kinds whose "done" is handled on the worklist (goals and interventions are
#: completed in the care plan).
DONE_KINDS = frozenset(
    {
        DueKind.safety,
        DueKind.safety_risk,
        DueKind.tcm,
        DueKind.task,
        DueKind.contact,
        DueKind.referral_reply,
        DueKind.stuck_referral,
        DueKind.reading,
        # Not done, but d says why (a reading clears it).
        DueKind.reading_gap,
    }
)

INTENTS: tuple[Intent, ...] = (
    Intent(
        "worklist.view",
        "t",
        "toggle_view",
        "Today/Caseload",
        "Switch between today's worklist and the whole caseload",
    ),
    # A priority binding runs before the keys typed after it are dispatched,
    # so "/smi" typed in one burst lands "smi" in the search box.
    Intent(
        "worklist.search",
        "slash",
        "search",
        "Search",
        "Find by name, MRN or phone in the caseload",
        key_display="/",
        priority=True,
    ),
    # Down in the search box goes to the results (the table keeps its own down).
    Intent(
        "worklist.results",
        "down",
        "to_results",
        "To results",
        "From the search box down into the results, the first one highlighted",
    ),
    Intent("worklist.clear", "escape", "clear", "Clear", "Clear the search, or end rounds"),
    Intent("worklist.open", "enter", "open_patient", "Open", "Open the patient's detail"),
    Intent(
        "worklist.rounds",
        "r",
        "start_rounds",
        "Rounds",
        "Step through today's worklist with the patient card",
    ),
    Intent("worklist.next", "n", "next_patient", "Next", "Next patient in rounds"),
    Intent("worklist.previous", "p", "previous_patient", "Previous", "Previous patient in rounds"),
    Intent(
        "worklist.contact",
        "c",
        "log_contact",
        "Log contact",
        "Log a call or visit for this patient",
    ),
    Intent("worklist.done", "d", "done", "Done", "Mark the row's most pressing item done"),
    Intent(
        "worklist.readings",
        "v",
        "key_readings",
        "Readings",
        "Type readings for this patient: weight, blood pressure and what they are monitored for",
    ),
    Intent(
        "worklist.safety_check",
        "S",
        "safety_check",
        "Safety check",
        "Screen the patient for suicide risk (C-SSRS); the only way to clear a safety flag",
    ),
    Intent(
        "worklist.snooze",
        "s",
        "snooze",
        "Snooze",
        "Move the row's most pressing item to a later date, with a reason",
    ),
    Intent(
        "worklist.undo", "u", "undo", "Undo", "Undo the last done or snooze (for a few seconds)"
    ),
    Intent("worklist.card", "i", "toggle_card", "Card", "Show or hide the patient card"),
    Intent(
        "worklist.everyone",
        "a",
        "toggle_everyone",
        "All nurses",
        "Show every nurse's patients, or only mine",
    ),
    Intent(
        "worklist.sort", "o", "sort", "Sort", "Sort the caseload by a column (again to reverse)"
    ),
    Intent(
        "worklist.filter",
        "f",
        "filter",
        "Filter",
        "Filter the caseload by risk, overdue, referral, episode",
    ),
    Intent("worklist.unfilter", "x", "clear_filters", "No filters", "Remove every caseload filter"),
    Intent(
        "worklist.new_patient",
        "ctrl+n",
        "new_patient",
        "New patient",
        "Enrol a patient on my caseload",
    ),
    Intent("worklist.refresh", "f5", "refresh", "Refresh", "Load the list again"),
)

#: The keys of a round, shown in the footer. Every other key is in the help
#: (?) and the command palette; fewer footer keys also make the footer cheaper
#: to rebuild, which it does whenever what applies changes.
FOOTER_INTENTS = frozenset(
    {
        "worklist.view",
        "worklist.search",
        "worklist.rounds",
        "worklist.next",
        "worklist.previous",
        "worklist.contact",
        "worklist.done",
        "worklist.snooze",
        "worklist.undo",
    }
)
INTENTS = tuple(replace(intent, show=intent.id in FOOTER_INTENTS) for intent in INTENTS)

#: Room for the flags' words: "REFERRAL LATE · TCM" whole on Today; more
#: flags than fit end in "+1" (never a word cut in two).
TODAY_FLAGS_WIDTH = 20
CASELOAD_FLAGS_WIDTH = 22
#: The risk column: "Not assessed" (a patient nobody has scored) is its longest word.
RISK_WIDTH = 12

# Cells are plain strings where they carry no style: the table draws those
# directly, without laying out a Text (see VirtualTable._cell_segments).
CASELOAD_COLUMNS: list[Column[PatientRow]] = [
    Column("name", "Name", 24, lambda row: f"{row.family_name}, {row.given_name}", stretch=True),
    Column("mrn", "MRN", 10, lambda row: row.mrn),
    Column("age", "Age", 4, lambda row: "-" if row.age is None else str(row.age)),
    # Wide enough for "Not assessed" whole.
    Column("risk", "Risk", RISK_WIDTH, lambda row: risk_badge(row.risk_tier)),
]


def _caseload_columns(today_function) -> list[Column]:
    return [
        *CASELOAD_COLUMNS,
        Column(
            "last_contact",
            "Last",
            7,
            lambda row: days_ago(row.last_contact_at, today_function()),
        ),
        Column(
            "next_due", "Next due", 17, lambda row: due_text(row.next_contact_due, today_function())
        ),
        Column("referrals", "Refs", 5, lambda row: str(row.open_referral_count or "")),
        Column(
            "flags",
            "Flags",
            CASELOAD_FLAGS_WIDTH,
            lambda row: flag_words(row.flags, CASELOAD_FLAGS_WIDTH),
            sortable=False,
        ),
    ]


def _today_columns(today_function) -> list[Column]:
    return [
        Column(
            "name",
            "Name",
            20,
            lambda row: f"{row.family_name}, {row.given_name}",
            sortable=False,
        ),
        # Why is the longest text: it takes the free width (the flags keep theirs).
        Column("why", "Why", 31, _why_text, sortable=False, stretch=True),
        Column("risk", "Risk", RISK_WIDTH, lambda row: risk_badge(row.risk_tier), sortable=False),
        Column(
            "age",
            "Age",
            4,
            lambda row: "-" if row.age is None else str(row.age),
            sortable=False,
        ),
        Column("mrn", "MRN", 9, lambda row: row.mrn, sortable=False),
        Column(
            "last_contact",
            "Last",
            7,
            lambda row: days_ago(row.last_contact_at, today_function()),
            sortable=False,
        ),
        Column(
            "next_due",
            "Due",
            7,
            lambda row: due_short(row.next_contact_due, today_function()),
            sortable=False,
        ),
        # No referral count here: a late referral is a reason (and REFERRAL LATE
        # a flag), and the flags need the room to be read whole.
        Column(
            "flags",
            "Flags",
            TODAY_FLAGS_WIDTH,
            lambda row: flag_words(row.flags, TODAY_FLAGS_WIDTH),
            sortable=False,
        ),
    ]


def _why_text(row) -> Text:
    style = "bold red" if row.group == 0 else ("yellow" if row.group == 1 else "")
    return Text(row.why, style=style)


class WorklistScreen(WorkstationScreen, Screen):
    """Today's ranked worklist and the caseload, with rounds."""

    CSS_PATH = "worklist.tcss"
    # Keys typed before the list took the focus (a slow start, a detached
    # terminal) go to the list, never into the search box above it.
    AUTO_FOCUS = "#rows"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self) -> None:
        super().__init__()
        self.view = "today"
        self.shown_kind = ""
        self.binding_state: tuple = ()
        self.everyone = False
        self.query_state = CaseloadQuery(nurse_id=None)
        self.search_returns_to_today = False
        self.rounds = False
        self.card_visible = False
        self.today_rows: list = []
        self.next_due = None
        self.undo_token: UndoToken | None = None
        self.undo_deadline = 0.0
        self.timer_patient_id: int | None = None
        self.timer_started = time.monotonic()
        self.card_timer: Timer | None = None
        self.card_generation = 0
        self.rows_table: VirtualTable | None = None
        #: How many hospital messages wait for a nurse (read after each Today).
        self.hospital_waiting = 0

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """View line, search, table and card, status line."""
        yield Header()
        yield Static("", id="view-line")
        yield TextInput(
            placeholder="/ to search the caseload: family or given name, MRN, phone",
            id="search",
            compact=True,
        )
        with Horizontal(id="body"):
            yield VirtualTable(
                _today_columns(self._today),
                page_size=100,
                empty_message="Loading…",
                zebra_stripes=True,
                id="rows",
            )
            with VerticalScroll(id="card"):
                yield Static("", id="card-body")
        yield Static("", id="status")
        yield KeyFooter()

    @property
    def table(self) -> VirtualTable:
        """The one table."""
        return self.rows_table or self.query_one("#rows", VirtualTable)

    def _today(self):
        return self.services.clock.today()

    def on_mount(self) -> None:
        """Start on Today."""
        self.rows_table = self.query_one("#rows", VirtualTable)
        self.query_state = CaseloadQuery(nurse_id=self.services.context.nurse_id)
        self.query_one("#card").display = False
        self.table.focus()
        early = self.workstation.early_today
        self.workstation.early_today = None  # one launch, one use
        self.load_first_today(early)

    def on_screen_resume(self) -> None:
        """Back from a patient or a dialog: the data may have changed.

        Keys go back to the list unless the nurse was searching: a key meant
        for the list ("d", "n") must never land in the search box.
        """
        if not self.is_mounted:
            return
        if not self.query_one("#search", Input).value:
            self.table.focus()
        if self.table.source is not None:
            self.action_refresh()

    # --- loading ------------------------------------------------------------

    def _nurse_filter(self) -> int | None:
        return None if self.everyone else self.services.context.nurse_id

    def load_today(self, keep_key: int | None = None, keep_index: int | None = None) -> None:
        """Rank today's worklist in a worker, then show it."""
        run_in_background(
            self,
            partial(read_today, self.services, self._nurse_filter()),
            partial(self._show_today, keep_key, keep_index),
            group="today",
            exclusive=True,
        )

    def load_first_today(self, early: EarlyRead | None) -> None:
        """The first Today of the session: use the read the app started at launch.

        The app starts reading Today while Textual builds this screen; when
        that read is for the list shown here, it is shown without a second one.
        """
        if early is not None and early.nurse_id == self._nurse_filter():
            early.deliver(partial(self._show_today, None, None), self.load_today)
        else:
            self.load_today()

    def _show_today(self, keep_key, keep_index, result) -> None:
        rows, next_due = result
        if self.view != "today":
            return
        self.today_rows, self.next_due = rows, next_due
        table = self.table
        if next_due is not None:
            table.empty_message = (
                f"Nothing due today. Next due: {next_due:%a %d %b}. Press t for the whole caseload."
            )
        else:
            table.empty_message = self._no_patients_message()
        if keep_index is not None and rows:
            # After an action the cursor keeps its place in the list: the
            # patient acted on may move down or leave Today, and the next
            # patient comes up under the cursor.
            keep_key = rows[min(keep_index, len(rows) - 1)].patient_id
        table.sort_key = None
        if self.shown_kind == "today" and isinstance(table.source, TodaySource):
            source = TodaySource(rows, previous_positions=table.source.positions())
            table.set_source(source, keep_cursor_key=keep_key)
        else:
            table.replace_source(TodaySource(rows), _today_columns(self._today), keep_key)
        self.shown_kind = "today"
        self._update_status()
        # After the rows are painted: the first count loads the ADT reader.
        self.call_after_refresh(self._count_hospital_messages)

    def _count_hospital_messages(self) -> None:
        run_in_background(
            self,
            partial(hospital_messages_waiting, self.services),
            self._hospital_counted,
            group="hospital-count",
            exclusive=True,
        )

    def _hospital_counted(self, waiting: int) -> None:
        if waiting != self.hospital_waiting:
            self.hospital_waiting = waiting
            self._update_status()

    def _no_patients_message(self) -> str:
        return (
            "Nothing due today, and no patients on this caseload yet. "
            "Press ctrl+n to enrol a patient, or run `nursecase demo` to try nursecase "
            "on a synthetic caseload."
        )

    def load_caseload(self, keep_key: int | None = None) -> None:
        """Point the table at the caseload query; it pages in its own workers."""
        self.query_state = replace(self.query_state, nurse_id=self._nurse_filter())
        table = self.table
        table.sort_key = self.query_state.sort
        table.sort_reverse = self.query_state.descending
        if self.query_state.search or self.query_state.describe():
            table.empty_message = (
                "No patient matches. Press escape to clear the search, x the filters."
            )
        else:
            table.empty_message = (
                "No patients yet. Press ctrl+n to enrol one, or run `nursecase demo` "
                "to try nursecase on a synthetic caseload."
            )
        source = CaseloadSource(self.services.patients, self.query_state, self.services.worklist)
        same_query = isinstance(table.source, CaseloadSource) and (
            table.source.query == self.query_state
        )
        if self.shown_kind == "caseload" and same_query:
            # Same rows, fresher values: reload around the cursor, keeping its place.
            table.set_source(source, keep_cursor_key=keep_key)
        elif self.shown_kind == "caseload":
            # Another search, filter or sort: the old rows stay on screen until
            # the new first page replaces them (no flash of "Loading…" per key).
            table.set_source(source)
        else:
            table.replace_source(source, _caseload_columns(self._today), keep_key)
        self.shown_kind = "caseload"
        self._update_status()

    def on_virtual_table_loaded(self, _event: VirtualTable.Loaded) -> None:
        """Counts are known: update the status line."""
        self._update_status()

    def on_virtual_table_load_failed(self, event: VirtualTable.LoadFailed) -> None:
        """A page could not be read: say so, keep what is shown."""
        from nursecase.screens.background import user_message

        self.notify(user_message(event.error), severity="error")

    def _binding_state(self) -> tuple:
        """Everything check_action depends on; bindings are refreshed only when it changes."""
        row = self.table.cursor_row
        today_row = self._worklist_row()
        return (
            self.view,
            self.rounds,
            row is not None,
            today_row is not None and today_row.due_item.kind in DONE_KINDS,
            today_row is not None,
            self._undo_available(),
        )

    def _refresh_bindings_if_changed(self) -> None:
        # Refreshing the bindings makes the footer rebuild every key (tens of
        # milliseconds); do it only when what applies has really changed.
        state = self._binding_state()
        if state != self.binding_state:
            self.binding_state = state
            self.refresh_bindings()

    def _update_status(self) -> None:
        self._refresh_bindings_if_changed()
        table = self.table
        whose = "all nurses" if self.everyone else "mine"
        if self.view == "today":
            line = f"Today: {_patients(table.row_count)} with something due ({whose})"
            if self.rounds and table.cursor_index is not None:
                line += f" · rounds: patient {table.cursor_index + 1} of {table.row_count}"
        else:
            arrow = "▼" if self.query_state.descending else "▲"
            line = (
                f"Caseload: {_patients(table.row_count)} ({whose})"
                f" · sorted by {SORT_COLUMNS[self.query_state.sort]} {arrow}"
            )
            if self.query_state.search:
                line += f' · matching "{self.query_state.search}"'
            filters = self.query_state.describe()
            if filters:
                line += f" · filters: {filters}"
        if self.hospital_waiting:
            line += f" · {hospital_words(self.hospital_waiting)}"
        if self._undo_available():
            line += " · u to undo"
        # One line of fixed height: a repaint, not a layout of the whole screen.
        self.query_one("#status", Static).update(plain(line), layout=False)
        today_label = Text("Today", style="bold reverse" if self.view == "today" else "dim")
        caseload_label = Text(
            "Caseload", style="bold reverse" if self.view == "caseload" else "dim"
        )
        view_line = Text(" ")
        view_line.append_text(today_label)
        view_line.append("  ")
        view_line.append_text(caseload_label)
        view_line.append(
            "   t switches · r rounds · / search · f filter · o sort · 2 referrals · ? keys",
            style="dim",
        )
        self.query_one("#view-line", Static).update(view_line, layout=False)

    # --- the highlighted patient: timer and card -----------------------------

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        """Restart the contact timer and refresh the card for the new patient."""
        patient_id = self._patient_id(event.row)
        self._refresh_bindings_if_changed()
        if patient_id != self.timer_patient_id:
            self.timer_patient_id = patient_id
            self.timer_started = time.monotonic()
        if self.rounds:
            self._update_status()
        if self.card_visible and patient_id is not None:
            if self.card_timer is not None:
                self.card_timer.stop()
            # Wait for the cursor to rest: holding "down" must not queue a
            # summary read per row passed.
            self.card_timer = self.set_timer(0.12, partial(self._load_card, patient_id))

    def _load_card(self, patient_id: int) -> None:
        self.card_generation += 1
        generation = self.card_generation
        worklist = self.services.worklist
        run_in_background(
            self,
            lambda: worklist.summary(patient_id),
            partial(self._show_card, generation),
            group="card",
        )

    def _show_card(self, generation: int, summary) -> None:
        if generation != self.card_generation or not self.card_visible:
            return
        self.query_one("#card-body", Static).update(
            render_summary(summary, self._today(), self._elapsed_minutes())
        )

    def _elapsed_minutes(self) -> int:
        return max(1, math.ceil((time.monotonic() - self.timer_started) / 60))

    @staticmethod
    def _patient_id(row) -> int | None:
        if row is None:
            return None
        return getattr(row, "patient_id", None) or getattr(row, "id", None)

    def _show_card_panel(self, visible: bool) -> None:
        self.card_visible = visible
        self.query_one("#card").display = visible
        patient_id = self._patient_id(self.table.cursor_row)
        if visible and patient_id is not None:
            self._load_card(patient_id)

    # --- views, search, filters, sort ----------------------------------------

    def action_toggle_view(self) -> None:
        """Today <-> Caseload."""
        self.rounds = False
        if self.view == "today":
            self.view = "caseload"
            self.load_caseload()
        else:
            self.view = "today"
            self.load_today()

    def action_search(self) -> None:
        """Focus the search box (searching always covers the caseload)."""
        self.set_focus(self.query_one("#search", Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        """Search as the nurse types."""
        text = event.value.strip()
        if text == self.query_state.search:
            return
        if text and self.view == "today":
            self.search_returns_to_today = True
            self.rounds = False
            self.view = "caseload"
        self.query_state = replace(self.query_state, search=text)
        if self.view == "caseload":
            self.load_caseload()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        """Enter in the search box goes to the results."""
        self.table.focus()

    def action_to_results(self) -> None:
        """Down in the search box: into the results, where one enter opens the highlighted."""
        self.table.focus()

    def action_clear(self) -> None:
        """Clear the search (back to where the nurse was), else end rounds."""
        search = self.query_one("#search", Input)
        if search.value or self.query_state.search:
            search.value = ""
            self.query_state = replace(self.query_state, search="")
            self.table.focus()
            if self.search_returns_to_today:
                self.search_returns_to_today = False
                self.view = "today"
                self.load_today()
            else:
                self.load_caseload()
            return
        if self.rounds:
            self.rounds = False
            self._show_card_panel(False)
            self._update_status()
        self.table.focus()

    def action_toggle_everyone(self) -> None:
        """Mine <-> every nurse's."""
        self.everyone = not self.everyone
        if self.view == "today":
            self.load_today()
        else:
            self.load_caseload()

    def action_sort(self) -> None:
        """Choose the sort column."""
        self.app.push_screen(
            SortDialog(self.query_state.sort, self.query_state.descending), self._sorted
        )

    def _sorted(self, column: str | None) -> None:
        if column is None:
            return
        if column == self.query_state.sort:
            self.query_state = replace(self.query_state, descending=not self.query_state.descending)
        else:
            self.query_state = replace(self.query_state, sort=column, descending=False)
        self.load_caseload()

    def on_virtual_table_sort_requested(self, event: VirtualTable.SortRequested) -> None:
        """A click on a caseload header sorts by that column."""
        if self.view == "caseload" and event.column_key in SORT_COLUMNS:
            self._sorted(event.column_key)

    def action_filter(self) -> None:
        """Filter the caseload by risk tier, overdue, open referral, episode status."""
        state = self.query_state
        yes_no = (("any", ""), ("only these", "yes"))
        fields = [
            FormField(
                "risk_tier",
                "Risk tier",
                "choice",
                state.risk_tier or "",
                choices=(("any", ""), *((tier.label, tier.value) for tier in RiskTier)),
            ),
            FormField(
                "overdue",
                "Contact overdue",
                "choice",
                "yes" if state.overdue else "",
                choices=yes_no,
            ),
            FormField(
                "open_referral",
                "Has an open referral",
                "choice",
                "yes" if state.open_referral else "",
                choices=yes_no,
            ),
            FormField(
                "episode_status",
                "Episode status",
                "choice",
                state.episode_status or "",
                choices=(("any", ""), *((status.label, status.value) for status in EpisodeStatus)),
            ),
        ]

        def submit(values: dict[str, str]) -> dict[str, str]:
            return values

        self.app.push_screen(
            FormDialog("Filter the caseload", fields, submit, submit_label="Apply"),
            self._filtered,
        )

    def _filtered(self, values: dict[str, str] | None) -> None:
        if values is None:
            return
        self.query_state = replace(
            self.query_state,
            risk_tier=values["risk_tier"] or None,
            overdue=values["overdue"] == "yes",
            open_referral=values["open_referral"] == "yes",
            episode_status=values["episode_status"] or None,
        )
        self.view = "caseload"
        self.rounds = False
        self.load_caseload()

    def action_clear_filters(self) -> None:
        """Remove every filter."""
        self.query_state = replace(
            self.query_state,
            risk_tier=None,
            overdue=False,
            open_referral=False,
            episode_status=None,
        )
        self.load_caseload()

    def action_refresh(self) -> None:
        """Load the current view again, keeping the cursor's place."""
        if self.view == "caseload" and self.table.is_reloading:
            # Already reading afresh (the sort or search just changed); the rows
            # on screen meanwhile are the old query's and must not anchor a reload.
            return
        key = self._patient_id(self.table.cursor_row)
        if self.view == "today":
            self.load_today(keep_key=key)
        else:
            self.load_caseload(keep_key=key)

    # --- patient actions -------------------------------------------------------

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        """Enter opens the patient."""
        self._open(event.row)

    def action_open_patient(self) -> None:
        """Open the highlighted patient."""
        self._open(self.table.cursor_row)

    def _open(self, row) -> None:
        patient_id = self._patient_id(row)
        if patient_id is not None:
            self.workstation.open_patient(patient_id)

    def action_start_rounds(self) -> None:
        """Step through Today from the top, with the card."""
        self.rounds = True
        self.query_one("#search", Input).value = ""
        self.query_state = replace(self.query_state, search="")
        self.search_returns_to_today = False
        self._show_card_panel(True)
        if self.view != "today":
            self.view = "today"
            self.load_today()
        else:
            self.table.action_first_row()
        self.timer_patient_id = None
        self.table.focus()
        self._update_status()

    def action_next_patient(self) -> None:
        """Next patient in rounds."""
        self.table.action_cursor_down()

    def action_previous_patient(self) -> None:
        """Previous patient in rounds."""
        self.table.action_cursor_up()

    def action_toggle_card(self) -> None:
        """Show or hide the patient card."""
        self._show_card_panel(not self.card_visible)

    def action_log_contact(self) -> None:
        """Open the log-contact dialog for the highlighted patient."""
        row = self.table.cursor_row
        patient_id = self._patient_id(row)
        if row is None or patient_id is None:
            return
        log_contact_with_safety(
            self,
            self.services,
            patient_id,
            shown(f"{row.given_name} {row.family_name}"),
            row.risk_tier,
            self._elapsed_minutes(),
            partial(self._contact_logged, patient_id),
            partial(self._safety_checked, patient_id),
        )

    def action_safety_check(self) -> None:
        """Record a safety check (C-SSRS screener) for the highlighted patient."""
        row = self.table.cursor_row
        patient_id = self._patient_id(row)
        if row is None or patient_id is None:
            return
        open_safety_check(
            self,
            self.services,
            patient_id,
            shown(f"{row.given_name} {row.family_name}"),
            partial(self._safety_checked, patient_id),
        )

    def action_key_readings(self) -> None:
        """Type readings for the highlighted patient; a breach puts them on Today."""
        row = self.table.cursor_row
        patient_id = self._patient_id(row)
        if row is None or patient_id is None:
            return
        open_reading_form(
            self,
            patient_id,
            shown(f"{row.given_name} {row.family_name}"),
            lambda _readings: self._reload_after_action(patient_id),
        )

    def _safety_checked(self, patient_id: int, result) -> None:
        self.notify(saved_message(result), timeout=8)
        self._reload_after_action(patient_id)

    def _contact_logged(self, patient_id: int, contact) -> None:
        if contact is None:
            return
        self.notify(f"Contact logged: {contact.mode}, {contact.outcome}, {contact.minutes} min")
        self.timer_patient_id = None
        self._reload_after_action(patient_id)

    def _reload_after_action(self, patient_id: int) -> None:
        if self.view == "today":
            self.load_today(keep_index=self.table.cursor_index or 0)
        else:
            self.load_caseload(keep_key=patient_id)
        if self.card_visible:
            self._load_card(patient_id)

    def action_done(self) -> None:
        """Complete the row's most pressing item (one transaction)."""
        row = self._worklist_row()
        if row is None:
            return
        item = row.due_item
        if item.kind in PATIENT_SAFETY_KINDS:
            # A safety flag is cleared only by a safety check: d opens one.
            self.action_safety_check()
            return
        if item.kind is DueKind.tcm and not item.missed:
            # An open TCM step is met by the contact or visit itself: d logs it.
            self.action_log_contact()
            return
        if item.kind is DueKind.reading_gap:
            self.notify(GAP_NOT_DONE, severity="warning")
            return
        if item.kind is DueKind.reading:
            self._close_alert(row, item)
            return
        # A missed TCM step is noted as missed; anything else is done.
        verb = "Noted as missed" if item.kind is DueKind.tcm else "Done"
        worklist = self.services.worklist
        run_in_background(
            self,
            lambda: worklist.done(row.patient_id, item),
            partial(self._acted, row.patient_id, f"{verb}: {row.reasons[0]}"),
        )

    def _close_alert(self, row, item) -> None:
        """Ask what was done about the reading alert; close it with that note."""
        worklist = self.services.worklist
        why = row.reasons[0]

        def submit(note: str):
            return worklist.close_alert(row.patient_id, item, note)

        self.app.push_screen(
            alert_note_dialog(why, submit), partial(self._alert_closed, row.patient_id, why)
        )

    def _alert_closed(self, patient_id: int, why: str, token) -> None:
        if token is not None:
            self._acted(patient_id, f"Closed: {why}", token)

    def action_snooze(self) -> None:
        """Move the row's most pressing item to a later date, with a reason."""
        row = self._worklist_row()
        if row is None:
            return
        item = row.due_item
        if item.kind in PATIENT_SAFETY_KINDS:
            self.notify(SAFETY_FLAG_NOT_SNOOZED, severity="warning")
            return
        if item.kind is DueKind.reading:
            self.notify(ALERT_NOT_SNOOZED, severity="warning")
            return
        worklist = self.services.worklist
        default_until = self._today().fromordinal(self._today().toordinal() + 1)

        def submit(until, reason):
            return worklist.snooze(row.patient_id, item, until, reason)

        self.app.push_screen(
            snooze_dialog(row.reasons[0], default_until, submit),
            partial(self._snoozed, row.patient_id, row.reasons[0]),
        )

    def _snoozed(self, patient_id: int, reason_text: str, token) -> None:
        if token is not None:
            self._acted(patient_id, f"Snoozed: {reason_text}", token)

    def _acted(self, patient_id: int, message: str, token) -> None:
        self.undo_token = token
        self.undo_deadline = time.monotonic() + UNDO_SECONDS
        self.notify(f"{message} (u to undo)", timeout=UNDO_SECONDS)
        self.set_timer(UNDO_SECONDS + 0.1, self._update_status)
        self._reload_after_action(patient_id)

    def _undo_available(self) -> bool:
        return self.undo_token is not None and time.monotonic() < self.undo_deadline

    def action_undo(self) -> None:
        """Undo the last done or snooze."""
        if not self._undo_available():
            return
        token, self.undo_token = self.undo_token, None
        assert token is not None  # _undo_available checked it
        worklist = self.services.worklist
        run_in_background(
            self,
            lambda: worklist.undo(token),
            lambda _result: self._undone(token.patient_id),
        )

    def _undone(self, patient_id: int) -> None:
        self.notify("Undone")
        self._reload_after_action(patient_id)

    def action_new_patient(self) -> None:
        """Enrol a patient; then show them in the caseload."""
        self.app.push_screen(new_patient_dialog(self.services), self._enrolled)

    def _enrolled(self, patient) -> None:
        if patient is None:
            return
        self.notify(shown(f"Enrolled {patient.given_name} {patient.family_name}"))
        self.rounds = False
        self.view = "caseload"
        self.search_returns_to_today = False
        self.query_one("#search", Input).value = patient.mrn
        self.query_state = replace(self.query_state, search=patient.mrn)
        self.load_caseload(keep_key=patient.id)

    def _worklist_row(self):
        """The row under the cursor when it is a Today row (it has a due item)."""
        table = self.rows_table
        row = table.cursor_row if table is not None else None
        return row if hasattr(row, "due_item") else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what applies to the current view and row."""
        # Called for every key on every footer or help refresh: no DOM query here.
        table = self.rows_table
        if table is None:
            return True
        row = table.cursor_row
        if action == "to_results":
            # Only from the search box; everywhere else down is the list's own.
            return isinstance(self.focused, Input)
        if action in ("next_patient", "previous_patient"):
            return self.rounds
        if action in ("open_patient", "log_contact", "safety_check", "key_readings"):
            return row is not None
        if action == "done":
            today_row = self._worklist_row()
            return today_row is not None and today_row.due_item.kind in DONE_KINDS
        if action == "snooze":
            return self._worklist_row() is not None
        if action == "undo":
            return self._undo_available()
        if action in ("sort", "clear_filters"):
            return self.view == "caseload"
        return True


def read_today(services: Services, nurse_id: int | None) -> tuple[list, object]:
    """Today's ranked rows, and the next due date when nothing is due (runs in a worker).

    First, once a day, the TCM sweep closes the clock tasks that lapsed (a
    missed step after its one day on Today, a period that ended); it only
    writes when something lapsed. Today does not depend on it: it keeps the
    task lists honest.
    """
    services.transitions.close_lapsed_today()
    rows = services.worklist.today(nurse_id)
    next_due = None if rows else services.worklist.next_due_date(nurse_id)
    return rows, next_due


def hospital_messages_waiting(services: Services) -> int:
    """How many hospital messages wait for a nurse: unmatched or unreadable (runs in a worker)."""
    counts = services.adt.counts()
    return counts.of(AdtMessageStatus.unmatched) + counts.of(AdtMessageStatus.error)


def hospital_words(waiting: int) -> str:
    """ "3 hospital messages wait (H)": the status line's note."""
    if waiting == 1:
        return "1 hospital message waits (H)"
    return f"{waiting:,} hospital messages wait (H)"


class TodayRead:
    """A read of Today started before the worklist screen exists (at launch).

    ``deliver`` hands the result to the screen now if it has arrived, or when
    it arrives; if the read failed, the screen reads again (and shows why).
    """

    def __init__(self, app: WorkstationApp, nurse_id: int | None) -> None:
        self.nurse_id = nurse_id
        self.result: tuple | None = None
        self.failed = False
        self.waiting: tuple[Callable, Callable] | None = None
        run_in_background(
            app, partial(read_today, app.services, nurse_id), self._arrived, self._failed
        )

    def _arrived(self, result: tuple) -> None:
        self.result = result
        if self.waiting is not None:
            (show, _again), self.waiting = self.waiting, None
            show(result)

    def _failed(self, _error: BaseException) -> None:
        self.failed = True
        if self.waiting is not None:
            (_show, again), self.waiting = self.waiting, None
            again()

    def deliver(self, show: Callable, again: Callable) -> None:
        """``show(result)`` once the read is there, or ``again()`` if it failed."""
        if self.result is not None:
            show(self.result)
        elif self.failed:
            again()
        else:
            self.waiting = (show, again)


def _patients(count: int) -> str:
    """ "1 patient", "1,204 patients"."""
    return f"{count:,} patient" + ("" if count == 1 else "s")
