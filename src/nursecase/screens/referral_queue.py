"""The referral queue: open referrals of the signed-in nurse (or of everyone)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from nursecase.screens.background import run_in_background
from nursecase.screens.formatting import plain
from nursecase.screens.intents import Intent, bindings
from nursecase.widgets.key_footer import KeyFooter

INTENTS = (
    Intent(
        "referrals.open", "enter", "open_patient", "Open patient", "Open the referral's patient"
    ),
    Intent(
        "referrals.everyone",
        "a",
        "toggle_everyone",
        "All nurses",
        "Show every nurse's referrals, or only mine",
    ),
    Intent("referrals.refresh", "f5", "refresh", "Refresh", "Load the queue again"),
)

PRIORITY_STYLES = {"stat": "bold red", "asap": "red", "urgent": "yellow", "routine": ""}


class ReferralQueueScreen(Screen):
    """Every open referral, most urgent and oldest first."""

    CSS_PATH = "referral_queue.tcss"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self) -> None:
        super().__init__()
        self.everyone = False
        self.patient_by_row: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        """Table and status line."""
        yield Header()
        table = DataTable(id="referrals", cursor_type="row", zebra_stripes=True)
        for label, key, width in (
            ("Patient", "patient", 24),
            ("Service", "service", 20),
            ("To", "to", 24),
            ("Priority", "priority", 8),
            ("Status", "status", 12),
            ("Days", "days", 5),
            ("Reply due", "reply", 12),
            ("Age", "aging", 5),
        ):
            table.add_column(label, key=key, width=width)
        yield table
        yield Static("", id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Load the queue."""
        self.query_one("#referrals", DataTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from a patient: the queue may have moved."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the queue again."""
        referrals = self.app.services.referrals
        nurse_id = None if self.everyone else self.app.services.context.nurse_id
        run_in_background(
            self,
            lambda: referrals.list_for_nurse(nurse_id=nurse_id),
            self._show,
            group="referrals",
            exclusive=True,
        )

    def _show(self, referrals) -> None:
        table = self.query_one("#referrals", DataTable)
        cursor = table.cursor_row
        table.clear()
        self.patient_by_row = {}
        for referral in referrals:
            reply = Text("-")
            if referral.expected_reply_date:
                reply = Text(
                    f"{referral.expected_reply_date:%d %b}",
                    style="bold red" if referral.reply_overdue else "",
                )
            table.add_row(
                plain(referral.patient_name),
                plain(referral.service_type),
                plain(referral.receiving_organisation),
                Text(referral.priority, style=PRIORITY_STYLES.get(referral.priority, "")),
                plain(referral.status),
                plain(referral.days_in_status),
                reply,
                plain(referral.aging_bucket),
                key=str(referral.id),
            )
            self.patient_by_row[str(referral.id)] = referral.patient_id
        if referrals:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        whose = "all nurses" if self.everyone else "mine"
        self.query_one("#status", Static).update(
            plain(f"{len(referrals)} open referrals ({whose})")
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter opens the referral's patient."""
        patient_id = self.patient_by_row.get(event.row_key.value)
        if patient_id is not None:
            self.app.open_patient(patient_id)

    def action_open_patient(self) -> None:
        """Open the highlighted referral's patient."""
        table = self.query_one("#referrals", DataTable)
        if table.row_count:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            self.app.open_patient(self.patient_by_row[row_key.value])

    def action_toggle_everyone(self) -> None:
        """Mine or everyone's."""
        self.everyone = not self.everyone
        self.action_refresh()
