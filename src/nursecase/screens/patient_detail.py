"""Patient detail: the whole patient on one screen (read-only for now).

Everything is fetched in one background call (``load_chart``) and painted at
once; opening the chart records a "view" audit event, since reading a chart
is an access to health information.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from nursecase.screens.background import run_in_background
from nursecase.screens.formatting import due_text, plain, risk_badge
from nursecase.screens.intents import Intent, bindings

INTENTS = (
    Intent("patient.back", "escape", "back", "Back", "Return to the list"),
    Intent("patient.refresh", "f5", "refresh", "Refresh", "Load the chart again"),
)


@dataclass(frozen=True)
class Chart:
    """Everything the detail screen shows, read in one go."""

    patient: object
    contacts: list
    conditions: list
    medications: list
    care_team: list
    assessments: list
    tasks: list
    referrals: list


def load_chart(services, patient_id: int) -> Chart:
    """Read the whole chart (runs in a worker thread)."""
    services.patients.record_view(patient_id)
    return Chart(
        patient=services.patients.get(patient_id),
        contacts=services.contacts.list_for_patient(patient_id, limit=10),
        conditions=services.conditions.list_for_patient(patient_id),
        medications=services.medications.list_for_patient(patient_id),
        care_team=services.care_team.list_for_patient(patient_id),
        assessments=list(services.assessments.latest_by_instrument(patient_id).values()),
        tasks=services.tasks.list_for_patient(patient_id),
        referrals=services.referrals.list_for_patient(patient_id),
    )


def _section(title: str, columns: list[str], rows: list[list[object]], empty: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[value if isinstance(value, Text) else plain(value) for value in row])
    if not rows:
        table.add_row(Text(empty, style="dim"), *[""] * (len(columns) - 1))
    return table


class PatientDetailScreen(Screen):
    """One patient: header, problems, medications, team, contacts, scores, tasks, referrals."""

    CSS_PATH = "patient_detail.tcss"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        self.patient_id = patient_id

    def compose(self) -> ComposeResult:
        """Header line and a scrolling body."""
        yield Header()
        yield Static("Loading…", id="patient-header")
        with VerticalScroll(id="chart"):
            yield Static("", id="chart-body")
        yield Footer()

    def on_mount(self) -> None:
        """Load the chart."""
        self.action_refresh()

    def action_refresh(self) -> None:
        """Read the chart again."""
        services, patient_id = self.app.services, self.patient_id
        run_in_background(self, lambda: load_chart(services, patient_id), self._show)

    def action_back(self) -> None:
        """Back to where the nurse came from."""
        self.app.pop_screen()

    def _show(self, chart: Chart) -> None:
        today = self.app.services.clock.today()
        patient = chart.patient
        header = Text()
        header.append(f"{patient.family_name}, {patient.given_name}", style="bold")
        header.append(f"   MRN {patient.mrn}   ")
        header.append(f"{patient.age if patient.age is not None else '?'} y  {patient.sex}   ")
        header.append(f"☎ {patient.phone or '-'}   {patient.preferred_language or ''}\n")
        header.append("Risk ")
        header.append_text(risk_badge(patient.risk_tier))
        if patient.risk_basis:
            header.append(f" ({patient.risk_basis})")
        header.append(f"   Episode {patient.episode_status or 'none'}   Next contact ")
        header.append_text(due_text(patient.next_contact_due, today))
        header.append(f"   Nurse {patient.nurse_display_name or '-'}")
        self.query_one("#patient-header", Static).update(header)

        sections = [
            _section(
                "Problems",
                ["Condition", "Code", "Status"],
                [[c.description, c.code or "", c.clinical_status] for c in chart.conditions],
                "No conditions recorded",
            ),
            _section(
                "Medications",
                ["Name", "Dose", "Route", "Frequency", "Status", "Reconciled"],
                [
                    [
                        m.name,
                        m.dose or "",
                        m.route or "",
                        m.frequency or "",
                        m.status,
                        m.last_reconciled or "never",
                    ]
                    for m in chart.medications
                ],
                "No medications recorded",
            ),
            _section(
                "Care team",
                ["Name", "Role", "Organisation", "Phone"],
                [[m.name, m.role, m.organisation or "", m.phone or ""] for m in chart.care_team],
                "No care team recorded",
            ),
            _section(
                "Latest contacts",
                ["When", "Mode", "With", "Outcome", "Min", "Note"],
                [
                    [
                        f"{c.occurred_at:%d %b %H:%M}",
                        c.mode,
                        c.with_whom,
                        c.outcome,
                        c.minutes,
                        c.note or "",
                    ]
                    for c in chart.contacts
                ],
                "No contacts logged",
            ),
            _section(
                "Latest scores",
                ["Instrument", "Score", "When"],
                [
                    [a.instrument, a.summary, f"{a.performed_at:%d %b %Y}"]
                    for a in chart.assessments
                ],
                "No assessments",
            ),
            _section(
                "Open tasks",
                ["Due", "Task", "Priority"],
                [[due_text(t.due_date, today), t.description, t.priority] for t in chart.tasks],
                "No open tasks",
            ),
            _section(
                "Referrals",
                ["Service", "To", "Status", "Days in status", "Priority"],
                [
                    [
                        r.service_type,
                        r.receiving_organisation,
                        r.status,
                        r.days_in_status,
                        r.priority,
                    ]
                    for r in chart.referrals
                ],
                "No referrals",
            ),
        ]
        self.query_one("#chart-body", Static).update(Group(*sections))
