"""Patient detail: the whole patient on one screen, every action one key away.

The chart is read in one background call (``services.chart.open``, which
records the "view" audit event) and painted at once; after an action the chart
is read again (``load``) and repainted in place, keeping the tab and the rows
under the cursors. Tabs are on the number keys 1-8.

Actions open dialogs (one dialog, one service call, one transaction). What an
assessment triggers is followed up here: an urgent safety task is announced
and flagged, a LACE whose band differs from the tier offers the change of
tier for the nurse to confirm, and a positive PHQ-2 offers a PHQ-9. Only a
safety check (S) clears a safety flag: a contact on a flagged patient says so
and offers one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult, RenderResult
from textual.containers import Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.types import NoActiveAppError
from textual.widgets import ContentSwitcher, DataTable, Header, Static

from nursecase.domain.codes import TaskSource
from nursecase.domain.risk import lace_offer
from nursecase.domain.safety_check import SAFETY_TASK_REFUSAL, is_safety_task
from nursecase.screens import chart_views
from nursecase.screens.assessment_entry import AssessmentEntryScreen, InstrumentPickerScreen
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.care_plan_editor import CarePlanEditorScreen
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.contact_dialog import edit_contact_dialog, log_contact_with_safety
from nursecase.screens.formatting import safe_cell, shown
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.patient_actions import (
    add_task_dialog,
    ccm_enrolment_dialog,
    change_episode_status_dialog,
    change_risk_tier_dialog,
    reassign_task_dialog,
    reconcile_medications_dialog,
    record_discharge_dialog,
    snooze_task_dialog,
    start_episode_dialog,
)
from nursecase.screens.read_view import ReadView
from nursecase.screens.reading_dialogs import open_limits, open_monitoring, open_reading_form
from nursecase.screens.referral_dialogs import open_referral_form
from nursecase.screens.safety_check_dialog import open_safety_check, saved_message
from nursecase.screens.vitals_pane import (
    VITALS_ACTIONS,
    VITALS_INTENTS,
    VITALS_PANE,
    VITALS_TITLE,
    VitalsPane,
)
from nursecase.screens.workstation import WorkstationScreen
from nursecase.widgets.cut_text import CutLines
from nursecase.widgets.fitted_table import FittedTable
from nursecase.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from nursecase.services.chart import Chart

#: The tabs, in number-key order: (pane id, title).
TABS = (
    ("summary", "Summary"),
    ("contacts", "Contacts"),
    ("assessments", "Assessments"),
    ("problems", "Problems & meds"),
    ("team", "Care team"),
    ("tasks", "Tasks"),
    ("timeline", "Timeline"),
    (VITALS_PANE, VITALS_TITLE),
)

INTENTS = (
    Intent("patient.back", "escape", "back", "Back", "Return to the list"),
    Intent("patient.contact", "c", "log_contact", "Contact", "Log a contact"),
    Intent("patient.assess", "a", "assess", "Assess", "Score a new assessment"),
    Intent("patient.task", "t", "add_task", "Task", "Add a task"),
    Intent("patient.referral", "f", "new_referral", "Referral", "Send a new referral"),
    Intent("patient.plan", "p", "care_plan", "Plan", "Open the care plan"),
    Intent(
        "patient.safety_check",
        "S",
        "safety_check",
        "Safety check",
        "Screen for suicide risk (C-SSRS) with a disposition; the only way to clear a safety flag",
    ),
    Intent(
        "patient.edit_contact",
        "e",
        "edit_contact",
        "Edit",
        "Correct the highlighted contact",
        show=False,
    ),
    Intent(
        "patient.read",
        "enter",
        "read",
        "Read",
        "Read the highlighted contact's note or task in full",
        show=False,
    ),
    Intent("patient.task_done", "d", "task_done", "Done", "Mark the task done", show=False),
    Intent("patient.task_snooze", "s", "task_snooze", "Snooze", "Snooze the task", show=False),
    Intent(
        "patient.task_reassign",
        "g",
        "task_reassign",
        "Reassign",
        "Give the task to another nurse",
        show=False,
    ),
    Intent(
        "patient.reconcile", "m", "reconcile", "Reconcile", "Reconcile the medications", show=False
    ),
    Intent(
        "patient.discharge",
        "D",
        "discharge",
        "Discharge",
        "Record a discharge or transition (starts the TCM clocks)",
        show=False,
    ),
    Intent(
        "patient.risk", "R", "risk_tier", "Risk", "Change the risk tier (with a reason)", show=False
    ),
    Intent(
        "patient.ccm",
        "C",
        "ccm",
        "CCM",
        "Enrol in chronic care management (standard or complex) or end it",
        show=False,
    ),
    Intent(
        "patient.episode",
        "E",
        "episode",
        "Episode",
        "Change the episode status, close it, or start a new one",
        show=False,
    ),
    Intent(
        "patient.readings",
        "v",
        "key_readings",
        "Readings",
        "Type readings: weight, blood pressure and what else the patient is monitored for",
        show=False,
    ),
    Intent(
        "patient.limits",
        "L",
        "limits",
        "Limits",
        "Give the patient their own limit for a reading (with a reason), or go back to the "
        "clinic's",
        show=False,
    ),
    Intent(
        "patient.monitoring",
        "M",
        "monitoring",
        "Monitoring",
        "Enrol the patient for remote monitoring of a measure, or stop it",
        show=False,
    ),
    Intent("patient.refresh", "f5", "refresh", "Refresh", "Load the chart again", show=False),
    *VITALS_INTENTS,
    *(
        Intent(
            f"patient.tab.{pane}",
            str(number),
            f"show_tab('{pane}')",
            title,
            f"Show the {title} tab",
            show=False,
        )
        for number, (pane, title) in enumerate(TABS, start=1)
    ),
)

#: Seconds after the chart is painted before the Vitals & labs tab is read ahead (so that
#: the read never delays that paint).
READ_AHEAD_SECONDS = 0.05

#: Actions that act on the highlighted row of one tab.
TAB_ACTIONS = {
    "edit_contact": "contacts",
    "task_done": "tasks",
    "task_snooze": "tasks",
    "task_reassign": "tasks",
}


class PatientDetailScreen(WorkstationScreen, Screen):
    """One patient: header with flags and clocks, eight tabs, every action on a key."""

    CSS_PATH = "patient_detail.tcss"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self, patient_id: int | None = None) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.chart: Chart | None = None
        self.filled_tabs: set[str] = set()
        self.binding_state: tuple = ()
        self.mounted = False
        #: The app's styles this screen was last shown with (see ``on_screen_resume``).
        self.styled_for: tuple | None = None
        #: The chart was read for the screen's next showing (no second read then).
        self.read_for_showing = False
        self.pending_chart = None
        self.pending_error: str | None = None
        self.when_read: Callable[[], None] | None = None
        self.opening = False
        #: The tab last asked for (a tab whose read is under way is not shown yet).
        self.coming_tab = "summary"
        # The read starts now, while Textual builds and styles the screen, so
        # that the first frame with data comes one read sooner.
        if patient_id is not None:
            with contextlib.suppress(NoActiveAppError):
                self._open_chart()

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header, the tabs, the footer."""
        yield Header()
        yield CutLinesStatic("Loading…", id="patient-header")
        yield Static(tab_bar("summary"), id="tab-bar")
        # One light container per tab; a tab's widgets are mounted the first
        # time it is shown. Seven tabs of tables composed up front (or Textual's
        # TabbedContent, a widget per tab label) cost more than the chart read.
        with ContentSwitcher(id="panes", initial="summary"):
            for pane, _title in TABS:
                with Vertical(id=pane, classes="pane"):
                    if pane == "summary":
                        yield from self._pane(pane)
        yield KeyFooter()

    def _pane(self, pane: str) -> ComposeResult:
        # Each table names its free-text columns: they share the width the
        # short values leave, and a text that still does not fit is cut at a
        # word (enter reads a contact's note or a task whole).
        if pane == "summary":
            with VerticalScroll():
                yield OneLayoutStatic("", id="summary-body")
        elif pane == "contacts":
            yield _table(
                "contacts-table",
                ("When", "Mode", "With", "Outcome", "Min", "Note", "By"),
                text=("Note",),
            )
        elif pane == "assessments":
            yield _table("instruments-table", ("Instrument", "Total", "Band", "When", "Trend", "N"))
            # Built as arguments, not with "with": this pane is mounted after
            # compose, where a context-manager container has no parent to join.
            yield VerticalScroll(Static("", id="assessment-history-body"), id="assessment-history")
        elif pane == "problems":
            yield Static("Problems", classes="section-title")
            yield _table(
                "conditions-table", ("Condition", "Code", "Status", "Onset"), text=("Condition",)
            )
            yield Static("", id="reconciled")
            yield _table(
                "medications-table",
                ("Medication", "Dose", "Route", "Frequency", "Status", "Reconciled"),
                text=("Medication", "Frequency"),
            )
        elif pane == "team":
            yield _table(
                "team-table",
                ("Name", "Role", "Organisation", "Phone"),
                text=("Name", "Organisation"),
            )
        elif pane == "tasks":
            yield _table(
                "tasks-table",
                ("Due", "Task", "Priority", "Status", "Source", "Nurse", "Note"),
                text=("Task", "Note"),
            )
        elif pane == VITALS_PANE:
            yield VitalsPane(id="vitals-pane")
        else:
            yield _table("timeline-table", ("When", "What", "Event"), text=("Event",))

    # --- loading ------------------------------------------------------------

    def _open_chart(self) -> None:
        """Start reading the chart (an audited view)."""
        self.opening = True
        chart = self.services.chart
        patient_id = self.patient_id
        assert patient_id is not None  # the screen opens a chart only once it has a patient
        run_in_background(self.app, lambda: chart.open(patient_id), self._arrived, self._failed)

    def show_patient(self, patient_id: int, when_read: Callable[[], None] | None = None) -> None:
        """Show another patient on this (reused) screen: forget the last one, read the new one.

        The app keeps one detail screen and reuses it, so that opening a
        patient does not build and style its widgets again each time.
        ``when_read`` is called once the chart has arrived (or failed), which
        lets the app show the screen with the chart already in place.
        """
        self.when_read = when_read
        self.patient_id = patient_id
        self.chart = None
        self.pending_chart = None
        if self.mounted:
            self.query_one("#patient-header", Static).update("Loading…", layout=False)
            self.filled_tabs = set()
            for table in self.query(DataTable):
                if table.row_count:
                    table.clear()
            for vitals in self.query(VitalsPane):
                vitals.forget()
            self.query_one("#summary-body", Static).update("")
            if self.coming_tab != "summary":
                self._switch_to("summary")
        self._open_chart()

    def on_mount(self) -> None:
        """Show the chart if it arrived before the widgets were ready."""
        self.mounted = True
        if not self.opening and self.patient_id is not None:
            self._open_chart()
        if self.pending_chart is not None:
            chart, self.pending_chart = self.pending_chart, None
            self._show(chart)
        elif self.pending_error is not None:
            self.query_one("#patient-header", Static).update(self.pending_error)
            self.pending_error = None

    def _arrived(self, chart) -> None:
        if chart.patient.id != self.patient_id:
            return  # the nurse has moved on to another patient
        if self.mounted:
            self._show(chart)
        else:
            self.pending_chart = chart
        # Read for a screen about to be shown: showing it need not read it again.
        self.read_for_showing = not self.is_current
        self._call_when_read()

    def action_refresh(self) -> None:
        """Read the chart again (after a change, or on f5)."""
        chart = self.services.chart
        patient_id = self.patient_id
        if patient_id is None:
            return  # no patient yet: nothing to read
        run_in_background(
            self,
            lambda: chart.load(patient_id),
            self._show,
            self._failed,
            group="chart",
            exclusive=True,
        )

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Shown again: restyle only if the app's styles changed; show what may have changed.

        Textual (8.2, pinned) restyles the whole screen each time it is shown,
        in case the app's CSS, theme or own state (focus, dark) changed while
        it was hidden; a change of a widget's classes restyles it at once,
        shown or not. For this screen, reused for every patient opened, that
        restyle was a large share of the time to open a chart
        (bench/results.md), and it catches nothing unless what is compared
        here has changed. This
        runs before Textual's own handler (handlers run down the class
        hierarchy, one per class).

        Back from the care plan or a dialog, the chart is read again; opened
        from a list, it was read just before the screen was shown.
        """
        app = self.app
        styled_for = (app._css_update_count, app.theme, frozenset(app.get_pseudo_classes()))
        if self.styled_for == styled_for:
            event.refresh_styles = False
        self.styled_for = styled_for
        if self.read_for_showing:
            self.read_for_showing = False
        elif self.chart is not None and self.chart.patient.id == self.patient_id:
            self.action_refresh()

    def _failed(self, error: BaseException) -> None:
        if self.mounted:
            self.query_one("#patient-header", Static).update(user_message(error))
        else:
            self.pending_error = user_message(error)
        self._call_when_read()

    def _call_when_read(self) -> None:
        callback, self.when_read = self.when_read, None
        if callback is not None:
            callback()

    def _show(self, chart) -> None:
        if chart.patient.id != self.patient_id:
            return  # a read for the previous patient of this reused screen
        self.chart = chart
        today = self.services.clock.today()
        self.sub_title = shown(chart.patient.display_name)
        # The header has a fixed height: a repaint, not a layout of the screen.
        self.query_one("#patient-header", Static).update(
            chart_views.header(chart, today), layout=False
        )
        # Only the tab in view is filled now; the others when they are shown.
        # Filling all eight (hundreds of table rows) would triple the time to
        # the first paint, for tabs the nurse may not open.
        self.filled_tabs = set()
        self._fill_tab(self._active_tab())
        self._refresh_bindings_if_changed()
        # The Vitals & labs tab is read once this paint is done, in the background:
        # its key then only shows it (DESIGN.md section 5: a tab opens in 100 ms).
        self.set_timer(READ_AHEAD_SECONDS, self._read_ahead)

    def _read_ahead(self) -> None:
        """Fill the Vitals & labs tab, hidden, unless it is filled (or its read is under way)."""
        if self.chart is not None and VITALS_PANE not in self.filled_tabs:
            self._fill_tab(VITALS_PANE)

    def _fill_tab(self, pane: str) -> None:
        chart = self.chart
        if chart is None or pane in self.filled_tabs:
            return
        self.filled_tabs.add(pane)
        container = self.query_one(f"#{pane}", Vertical)
        if not container.children:
            container.mount_all(list(self._pane(pane)))
        today = self.services.clock.today()
        if pane == "summary":
            self.query_one("#summary-body", Static).update(chart_views.summary(chart, today))
        elif pane == "contacts":
            contact_ids = [contact.id for contact in chart.contacts]
            _fill(self, "contacts-table", chart_views.contact_rows(chart), contact_ids)
        elif pane == "assessments":
            _fill(
                self,
                "instruments-table",
                chart_views.instrument_rows(chart),
                [history.instrument for history in chart.instruments],
            )
            self._show_assessment_history()
        elif pane == "problems":
            _fill(self, "conditions-table", chart_views.condition_rows(chart), None)
            self.query_one("#reconciled", Static).update(
                chart_views.reconciliation_line(chart, today)
            )
            _fill(self, "medications-table", chart_views.medication_rows(chart), None)
        elif pane == "team":
            _fill(self, "team-table", chart_views.care_team_rows(chart), None)
        elif pane == VITALS_PANE:
            shown = self._active_tab() == pane  # read again in place, or shown when read
            self.query_one(VitalsPane).load(
                self.services,
                self.workstation.settings,
                chart.patient.id,
                None if shown else lambda: self._show_read_tab(pane),
            )
        elif pane == "tasks":
            task_ids = [task.id for task in chart.tasks]
            _fill(self, "tasks-table", chart_views.task_rows(chart, today), task_ids)
        else:
            _fill(self, "timeline-table", chart_views.timeline_rows(chart), None)

    def _binding_state(self) -> tuple:
        """Everything check_action depends on."""
        if self.chart is None:
            return (None,)
        tab = self._active_tab()
        row = None
        if tab == "tasks":
            task = self._highlighted_task()
            row = task is not None and task.is_open
        elif tab == "contacts":
            row = self._highlighted_contact() is not None
        return (tab, row)

    def _refresh_bindings_if_changed(self) -> None:
        # Each refresh rebuilds the footer (tens of milliseconds): only on a change.
        state = self._binding_state()
        if state != self.binding_state:
            self.binding_state = state
            self.refresh_bindings()

    def _show_assessment_history(self) -> None:
        bodies = self.query("#assessment-history-body").results(Static)
        body = next(iter(bodies), None)
        if body is None:
            return
        history = self._highlighted_instrument()
        body.update(chart_views.assessment_history(history) if history else "No assessments yet.")

    def _highlighted_instrument(self):
        if self.chart is None or not self.chart.instruments:
            return None
        table = self.query_one("#instruments-table", DataTable)
        index = min(max(table.cursor_row, 0), len(self.chart.instruments) - 1)
        return self.chart.instruments[index]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The instrument under the cursor shows its history; keys follow the row."""
        if event.data_table.id == "instruments-table":
            self._show_assessment_history()
        self._refresh_bindings_if_changed()

    # --- tabs and keys --------------------------------------------------------

    def action_show_tab(self, pane: str) -> None:
        """Show a tab and put the keyboard in its table."""
        self._switch_to(pane)

    def _switch_to(self, pane: str) -> None:
        self.coming_tab = pane
        if pane == VITALS_PANE and self.chart is not None:
            # Its readings are read in the background (``_read_ahead``): the tab is shown
            # when they are in place (``_show_read_tab``), in one paint, not empty first.
            # The tab bar waits for that paint too: a frame of the tab bar alone would
            # hold the main thread while the read needs it (bench/vitals_tab.py).
            self._fill_tab(pane)
            if self.query_one(VitalsPane).reading:
                return
        self._show_tab(pane)

    def _show_tab(self, pane: str) -> None:
        self.query_one("#tab-bar", Static).update(tab_bar(pane), layout=False)
        self.query_one("#panes", ContentSwitcher).current = pane
        self._fill_tab(pane)
        self._focus_tab(pane)

    def _show_read_tab(self, pane: str) -> None:
        """A tab's background read is in place: show it, unless another tab was asked for since."""
        if self.coming_tab == pane:
            self._show_tab(pane)

    def _focus_tab(self, pane: str) -> None:
        container = self.query_one(f"#{pane}", Vertical)
        tables = container.query(DataTable)
        if tables:
            tables.first().focus()
        elif pane == "summary":
            # The summary's scroll, as on the screen's first opening. Without it a
            # reused screen opens with nothing focused (its last tab's list was
            # hidden), and the first key would focus something first: a repaint
            # of the whole screen before the key acts (bench/vitals_tab.py).
            for scroll in container.query(VerticalScroll):
                scroll.focus()
                break
        self._refresh_bindings_if_changed()

    def _active_tab(self) -> str:
        if not self.mounted:
            return "summary"
        return self.query_one("#panes", ContentSwitcher).current or "summary"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Row actions need their tab and a row.

        The other actions stay enabled while a chart loads (they do nothing
        until it is there): disabling them for that moment would redraw the
        footer twice per opened patient.
        """
        if action == "read":
            return self.chart is not None and self._highlighted_row(self._active_tab()) is not None
        if action in VITALS_ACTIONS:
            return self._active_tab() == VITALS_PANE
        tab = TAB_ACTIONS.get(action)
        if tab is not None:
            if self.chart is None:
                return False
            if self._active_tab() != tab:
                return False
            if tab == "tasks":
                task = self._highlighted_task()
                return task is not None and task.is_open
            return self._highlighted_contact() is not None
        return True

    def _row_key(self, table_id: str):
        table = self.query_one(f"#{table_id}", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    def _highlighted_task(self):
        key = self._row_key("tasks-table")
        tasks = self.chart.tasks if self.chart is not None else []
        return next((task for task in tasks if str(task.id) == key), None)

    def _highlighted_contact(self):
        key = self._row_key("contacts-table")
        contacts = self.chart.contacts if self.chart is not None else []
        return next((item for item in contacts if str(item.id) == key), None)

    def _highlighted_row(self, tab: str):
        """The contact or task under the cursor of its tab; None on another tab."""
        if tab == "contacts":
            return self._highlighted_contact()
        if tab == "tasks":
            return self._highlighted_task()
        return None

    # --- actions ----------------------------------------------------------------

    def action_vitals_window(self) -> None:
        """Chart and list the next window of days (7, 30, 90) on the Vitals & labs tab."""
        if self._active_tab() == VITALS_PANE:
            self.query_one(VitalsPane).next_window()

    def action_back(self) -> None:
        """Back to where the nurse came from."""
        self.app.pop_screen()

    def _patient_name(self) -> str:
        """The name for dialogs' titles and wording, control characters shown."""
        assert self.chart is not None  # asked only by actions, which wait for the chart
        return shown(self.chart.patient.display_name)

    def _after_action(self, result, message: str | None = None) -> None:
        """A dialog closed: on a save, say so and read the chart again."""
        if result is None:
            return
        if message:
            self.notify(message)
        self.action_refresh()

    def action_log_contact(self) -> None:
        """Log a contact (the minutes default to 5; the rounds timer lives on the worklist)."""
        if self.chart is None:
            return  # still loading
        patient = self.chart.patient
        log_contact_with_safety(
            self,
            self.services,
            patient.id,
            self._patient_name(),
            patient.risk_tier,
            5,
            lambda result: self._after_action(result, "Contact logged"),
            self._safety_checked,
            safety_signals=self.chart.safety_flags,
        )

    def action_safety_check(self) -> None:
        """Record a safety check (C-SSRS screener and disposition); it clears the safety flag."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        open_safety_check(
            self, self.services, self.patient_id, self._patient_name(), self._safety_checked
        )

    def _safety_checked(self, result) -> None:
        self.notify(saved_message(result), timeout=8)
        self.action_refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a contact or a task reads it in full."""
        if event.data_table.id in ("contacts-table", "tasks-table"):
            event.stop()
            self.action_read()

    def action_read(self) -> None:
        """Show the highlighted contact's note or task whole (the list cuts them to fit)."""
        if self.chart is None:
            return  # still loading
        tab = self._active_tab()
        row = self._highlighted_row(tab)
        if row is None:
            return
        if tab == "contacts":
            heading, body = chart_views.contact_reading(row)
        else:
            heading, body = chart_views.task_reading(row)
        self.app.push_screen(ReadView(heading, body))

    def action_edit_contact(self) -> None:
        """Correct the highlighted contact."""
        if self.chart is None:
            return  # still loading
        contact = self._highlighted_contact()
        if contact is not None:
            self.app.push_screen(
                edit_contact_dialog(self.services, contact),
                lambda result: self._after_action(result, "Contact corrected"),
            )

    def action_assess(self) -> None:
        """Pick an instrument, then score it item by item."""
        if self.chart is None:
            return  # still loading
        self.app.push_screen(InstrumentPickerScreen(self._patient_name()), self._instrument_picked)

    def _instrument_picked(self, instrument: str | None) -> None:
        if instrument is not None:
            self._enter_assessment(instrument)

    def _enter_assessment(self, instrument: str) -> None:
        assert self.patient_id is not None  # assessing waits for the chart
        screen = AssessmentEntryScreen(
            self.services, self.patient_id, self._patient_name(), instrument
        )
        self.app.push_screen(screen, self._assessment_saved)

    def _assessment_saved(self, result) -> None:
        if result is None:
            return
        assessment = result.assessment
        if result.safety_task_id is not None:
            self.notify(
                f"{assessment.summary}: urgent safety follow-up task created",
                severity="error",
                timeout=10,
            )
        else:
            self.notify(f"Saved: {assessment.summary}")
        self.action_refresh()
        if result.risk_offer is not None:
            self._offer_risk_from_score(assessment.id, result.risk_offer.question)
        for suggestion in result.suggestions:
            if "PHQ-9" in suggestion and assessment.instrument == "phq-2":
                self.app.push_screen(
                    ConfirmDialog(f"{assessment.summary}: {suggestion}. Start a PHQ-9 now?"),
                    lambda yes: self._enter_assessment("phq-9") if yes else None,
                )

    def _offer_risk_from_score(
        self, assessment_id: int, question: str, otherwise: Callable[[], None] | None = None
    ) -> None:
        """Ask the LACE's question; yes sets the tier from it, no changes nothing.

        ``otherwise`` runs on no (the risk key then opens the nurse's override).
        """

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_risk_from_score(assessment_id)
            elif otherwise is not None:
                otherwise()

        no = "leave the tier as it is" if otherwise is None else "give a reason instead"
        self.app.push_screen(ConfirmDialog(question, no=no), answered)

    def _set_risk_from_score(self, assessment_id: int) -> None:
        patients = self.services.patients
        patient_id = self.patient_id
        assert patient_id is not None  # the offer follows an assessment of this patient
        run_in_background(
            self,
            lambda: patients.set_risk_from_score(patient_id, assessment_id),
            lambda patient: self._after_action(
                patient, f"Risk tier {patient.risk_tier}, from {patient.risk_basis}"
            ),
            lambda error: self.notify(user_message(error), severity="error"),
        )

    def action_add_task(self) -> None:
        """Add a task for this patient."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        self.app.push_screen(
            add_task_dialog(self.services, self.patient_id, self._patient_name()),
            lambda result: self._after_action(result, "Task added"),
        )

    def action_task_done(self) -> None:
        """Mark the highlighted task done."""
        if self.chart is None:
            return  # still loading
        task = self._highlighted_task()
        if task is None:
            return
        if is_safety_task(task.source, task.priority):
            # Only a safety check completes a safety follow-up: open one.
            self.action_safety_check()
            return
        if task.source == TaskSource.transition_clock:
            # The TCM clock is met by the contact itself, not by ticking its task.
            self.notify(
                "A TCM step is done when its contact or visit is logged: press c to log it.",
                severity="warning",
            )
            return
        tasks = self.services.tasks
        run_in_background(
            self,
            lambda: tasks.complete(task.id),
            lambda done: self._after_action(done, f"Done: {done.description}"),
            lambda error: self.notify(user_message(error), severity="error"),
        )

    def action_task_snooze(self) -> None:
        """Snooze the highlighted task to a date, with a reason."""
        if self.chart is None:
            return  # still loading
        task = self._highlighted_task()
        if task is not None and is_safety_task(task.source, task.priority):
            self.notify(f"This task {SAFETY_TASK_REFUSAL}.", severity="warning")
            return
        if task is not None:
            self.app.push_screen(
                snooze_task_dialog(self.services, task),
                lambda result: self._after_action(result, "Task snoozed"),
            )

    def action_task_reassign(self) -> None:
        """Give the highlighted task to another nurse."""
        if self.chart is None:
            return  # still loading
        task = self._highlighted_task()
        if task is None:
            return
        nurses = self.services.nurses

        def ask(roster) -> None:
            self.app.push_screen(
                reassign_task_dialog(self.services, task, roster),
                lambda result: self._after_action(result, "Task reassigned"),
            )

        run_in_background(self, nurses.list_nurses, ask)

    def action_new_referral(self) -> None:
        """Send a referral for this patient."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        open_referral_form(
            self,
            self.patient_id,
            self._patient_name(),
            lambda result: self._after_action(result, "Referral sent"),
        )

    def action_care_plan(self) -> None:
        """Open the patient's care plans."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        self.app.push_screen(CarePlanEditorScreen(self.patient_id, self._patient_name()))

    def action_reconcile(self) -> None:
        """Reconcile the medication list today."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        self.app.push_screen(
            reconcile_medications_dialog(
                self.services,
                self.patient_id,
                self._patient_name(),
                len(self.chart.current_medications),
            ),
            lambda result: self._after_action(result, "Medications reconciled"),
        )

    def action_discharge(self) -> None:
        """Record a discharge: starts the TCM clocks and their tasks."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        self.app.push_screen(
            record_discharge_dialog(self.services, self.patient_id, self._patient_name()),
            lambda result: self._after_action(result, "Discharge recorded; TCM clocks started"),
        )

    def action_risk_tier(self) -> None:
        """Change the risk tier: from the latest LACE when it says otherwise, else with a reason.

        When the header shows a LACE that contradicts the tier, the nurse is
        first asked whether to set the tier from it; no opens the override form
        (keep or change the tier, with a reason).
        """
        if self.chart is None:
            return  # still loading
        chart = self.chart
        risk = chart.risk

        def override() -> None:
            self.app.push_screen(
                change_risk_tier_dialog(self.services, chart.patient, standing=risk),
                lambda result: self._after_action(result, "Risk tier changed"),
            )

        lace = self._latest_lace()
        offer = None
        if lace is not None and risk.suggested_tier is not None:
            offer = lace_offer(risk.tier, risk.source, lace.total, lace.summary)
        if offer is not None:
            self._offer_risk_from_score(lace.id, offer.question, otherwise=override)
            return
        override()

    def _latest_lace(self):
        """The patient's newest LACE assessment, or None."""
        instruments = self.chart.instruments if self.chart is not None else []
        history = next((item for item in instruments if item.instrument == "lace"), None)
        return history.latest if history is not None else None

    def action_ccm(self) -> None:
        """Enrol the patient in standard or complex CCM, change the programme, or end it."""
        if self.chart is None:
            return  # still loading
        self.app.push_screen(
            ccm_enrolment_dialog(self.services, self.chart.patient),
            lambda result: self._after_action(result, "CCM enrolment saved"),
        )

    def action_episode(self) -> None:
        """Change or close the episode, or start a new one when it is closed."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        episode = self.chart.episode
        if episode is None or not episode.is_open:
            dialog = start_episode_dialog(self.services, self.patient_id, self._patient_name())
        else:
            dialog = change_episode_status_dialog(self.services, episode, self._patient_name())
        self.app.push_screen(dialog, lambda result: self._after_action(result, "Episode updated"))

    def action_key_readings(self) -> None:
        """Type readings (one transaction); a breach puts the patient on Today."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        open_reading_form(self, self.patient_id, self._patient_name(), self._after_action)

    def action_limits(self) -> None:
        """The patient's own limit for a threshold rule, or back to the clinic's."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        open_limits(self, self.patient_id, self._patient_name(), self._changed)

    def action_monitoring(self) -> None:
        """Enrol the patient for remote monitoring of a measure, or stop one."""
        if self.chart is None or self.patient_id is None:
            return  # still loading
        open_monitoring(self, self.patient_id, self._patient_name(), self._changed)

    def _changed(self, message: str) -> None:
        self._after_action(message, message)


class OneLayoutStatic(Static):
    """A Static that takes its new size in one layout pass, not two.

    After a layout Textual stores each resized widget's virtual size and, for
    that, asks for a second layout of the screen on the next frame (about
    16 ms later), which places every widget where the first one did: this
    text scrolls in its container, not by itself, so its virtual size moves
    nothing. The patient's summary changes height with every patient; without
    this each opening waited for that second pass before its frame was done.
    """

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class CutLinesStatic(Static):
    """A Static whose lines are each cut at a word to its width, never wrapped (the header)."""

    def render(self) -> RenderResult:
        """The text's lines, each cut at a word to the width it is drawn in."""
        content = self.content
        if isinstance(content, Text):
            return CutLines(content)
        return super().render()


def tab_bar(active: str) -> Text:
    """The tab labels with their number keys, the active one highlighted."""
    line = Text()
    for number, (pane, title) in enumerate(TABS, start=1):
        style = "bold reverse" if pane == active else ""
        line.append(f" {number} {title} ", style=style)
        line.append(" ")
    return line


def _table(table_id: str, labels: tuple[str, ...], text: tuple[str, ...] = ()) -> FittedTable:
    """A row-cursor table; the ``text`` columns share the free width, cut at a word."""
    return FittedTable(labels, text, id=table_id)


def _fill(screen: Screen, table_id: str, rows: list[tuple], keys: list | None) -> None:
    """Replace a table's rows, keeping the cursor on the same key (or index)."""
    table = screen.query_one(f"#{table_id}", FittedTable)
    # Stored text is shown, never obeyed.
    table.show_rows([tuple(safe_cell(cell) for cell in row) for row in rows], keys)
