"""The caseload screen: the signed-in nurse's patients, searchable as you type.

Rows come from ``services.patients.list_page`` a page at a time (keyset
pagination), loaded in a worker; moving the cursor to the last loaded row
fetches the next page. Enter opens the patient.
"""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from nursecase.screens.background import run_in_background
from nursecase.screens.formatting import days_ago, due_text, plain, risk_badge
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.patient_detail import PatientDetailScreen

PAGE_SIZE = 200

INTENTS = (
    # A priority binding runs before the keys typed after it are dispatched,
    # so "/smi" typed in one burst lands "smi" in the search box.
    Intent(
        "caseload.search",
        "slash",
        "search",
        "Search",
        "Find by name, MRN or phone",
        key_display="/",
        priority=True,
    ),
    Intent(
        "caseload.clear",
        "escape",
        "clear_search",
        "Clear",
        "Clear the search and return to the list",
    ),
    Intent("caseload.open", "enter", "open_patient", "Open", "Open the patient under the cursor"),
    Intent(
        "caseload.everyone",
        "a",
        "toggle_everyone",
        "All nurses",
        "Show every nurse's patients, or only mine",
    ),
    Intent("caseload.refresh", "f5", "refresh", "Refresh", "Load the list again"),
)


class CaseloadScreen(Screen):
    """Every patient of the current nurse (or of all nurses), in name order."""

    CSS_PATH = "caseload.tcss"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self) -> None:
        super().__init__()
        self.everyone = False
        self.search_text = ""
        self.last_sort_key = None
        self.exhausted = False
        self.loading_more = False
        self.total = 0

    def compose(self) -> ComposeResult:
        """Search box, table, status line."""
        yield Header()
        yield Input(
            placeholder="/ to search: family or given name, MRN, phone", id="search", compact=True
        )
        table = DataTable(id="patients", cursor_type="row", zebra_stripes=True)
        table.add_column("Name", key="name", width=26)
        table.add_column("MRN", key="mrn", width=11)
        table.add_column("Age", key="age", width=4)
        table.add_column("Risk", key="risk", width=9)
        table.add_column("Last contact", key="last", width=12)
        table.add_column("Next due", key="due", width=18)
        table.add_column("Referrals", key="referrals", width=9)
        table.add_column("Flags", key="flags")
        yield table
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        """Load the first page."""
        self.query_one("#patients", DataTable).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        """Coming back from a patient: refresh, since contacts may have changed."""
        self.reload(keep_cursor=True)

    # --- loading ----------------------------------------------------------

    @property
    def services(self):
        """The app's services."""
        return self.app.services

    def _nurse_filter(self) -> int | None:
        return None if self.everyone else self.services.context.nurse_id

    def reload(self, keep_cursor: bool = False) -> None:
        """Fetch the first page for the current filters."""
        nurse_id, search = self._nurse_filter(), self.search_text
        patients = self.services.patients

        def load():
            rows = patients.list_page(nurse_id=nurse_id, search=search, limit=PAGE_SIZE)
            return rows, patients.count(nurse_id=nurse_id, search=search)

        run_in_background(
            self,
            load,
            partial(self._show_first_page, keep_cursor),
            group="caseload",
            exclusive=True,
        )

    def _show_first_page(self, keep_cursor: bool, result) -> None:
        rows, total = result
        table = self.query_one("#patients", DataTable)
        cursor = table.cursor_row if keep_cursor else 0
        table.clear()
        self.total = total
        self.exhausted = len(rows) < PAGE_SIZE
        self._add_rows(rows)
        if rows:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._update_status()

    def _add_rows(self, rows) -> None:
        table = self.query_one("#patients", DataTable)
        today = self.services.clock.today()
        for row in rows:
            table.add_row(
                plain(f"{row.family_name}, {row.given_name}"),
                plain(row.mrn),
                plain(row.age if row.age is not None else "-"),
                risk_badge(row.risk_tier),
                plain(days_ago(row.last_contact_at, today)),
                due_text(row.next_contact_due, today),
                plain(row.open_referral_count or ""),
                plain(row.flags),
                key=str(row.id),
            )
        if rows:
            self.last_sort_key = rows[-1].sort_key

    def _update_status(self) -> None:
        table = self.query_one("#patients", DataTable)
        whose = "all nurses" if self.everyone else "my caseload"
        search = f' matching "{self.search_text}"' if self.search_text else ""
        self.query_one("#status", Static).update(
            plain(f"{table.row_count} of {self.total} patients shown, {whose}{search}")
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Near the end of what is loaded: fetch the next page."""
        table = event.data_table
        if self.exhausted or self.loading_more or event.cursor_row < table.row_count - 5:
            return
        self.loading_more = True
        nurse_id, search, after = self._nurse_filter(), self.search_text, self.last_sort_key
        patients = self.services.patients
        run_in_background(
            self,
            lambda: patients.list_page(
                nurse_id=nurse_id, search=search, after=after, limit=PAGE_SIZE
            ),
            self._show_next_page,
            group="caseload-more",
        )

    def _show_next_page(self, rows) -> None:
        self.loading_more = False
        self.exhausted = len(rows) < PAGE_SIZE
        self._add_rows(rows)
        self._update_status()

    # --- actions ----------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        """Search as the nurse types."""
        self.search_text = event.value.strip()
        self.reload()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        """Enter in the search box goes to the list."""
        self.query_one("#patients", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens the patient."""
        self.app.push_screen(PatientDetailScreen(int(event.row_key.value)))

    def action_search(self) -> None:
        """Focus the search box."""
        # Focus now, not on the next idle (Widget.focus defers): a nurse who
        # types "/smi" in one burst must not lose the "smi" to the table.
        self.set_focus(self.query_one("#search", Input))

    def action_clear_search(self) -> None:
        """Clear the search and go back to the list."""
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        self.query_one("#patients", DataTable).focus()

    def action_open_patient(self) -> None:
        """Open the highlighted patient."""
        table = self.query_one("#patients", DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.app.push_screen(PatientDetailScreen(int(row_key.value)))

    def action_toggle_everyone(self) -> None:
        """Switch between my caseload and every nurse's."""
        self.everyone = not self.everyone
        self.reload()

    def action_refresh(self) -> None:
        """Load the list again."""
        self.reload(keep_cursor=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Open needs a row under the cursor."""
        if action == "open_patient":
            tables = self.query("#patients").results(DataTable)
            return any(table.row_count > 0 for table in tables)
        return True
