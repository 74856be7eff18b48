"""A care plan's history: who changed what, and when (newest first).

Read from the plan's revision log, which keeps the old and new value of every
field each save changed. Escape closes it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from nursecase.screens.background import run_in_background
from nursecase.screens.workstation import WorkstationScreen


def history_text(revisions) -> Text:
    """The revisions as lines: when, who, what, and each field's old -> new value."""
    text = Text()
    if not revisions:
        return Text("No changes recorded.", style="dim")
    for revision in revisions:
        text.append(f"{revision.changed_at:%d %b %Y %H:%M}  ", style="bold")
        text.append(f"{revision.nurse_name or 'unknown'}  ", style="cyan")
        text.append(revision.headline)
        text.append(f"  v{revision.version}\n", style="dim")
        for change in revision.changes:
            text.append(f"    {change.label}: ", style="dim")
            text.append(change.old_words or "(none)")
            text.append(" → ", style="dim")
            text.append(f"{change.new_words or '(none)'}\n")
    return text


class CarePlanHistoryScreen(WorkstationScreen, ModalScreen[None]):
    """Every change to one plan, newest first."""

    DEFAULT_CSS = """
    CarePlanHistoryScreen { align: center middle; }
    CarePlanHistoryScreen > Vertical {
        width: 96%; height: 90%; padding: 1 2;
        border: round $primary; background: $surface;
    }
    CarePlanHistoryScreen #history-title { text-style: bold; margin-bottom: 1; }
    CarePlanHistoryScreen #history-keys { color: $text-muted; margin-top: 1; }
    """
    AUTO_FOCUS = "#history-scroll"
    BINDINGS = [
        Binding(
            "escape,h", "close", "Close", tooltip="Back to the plan", id="care_plan_history.close"
        ),
    ]

    def __init__(self, care_plan_id: int, title: str) -> None:
        super().__init__()
        self.care_plan_id = care_plan_id
        self.plan_title = title

    def compose(self) -> ComposeResult:
        """Title, the changes (scrolling), the keys."""
        with Vertical():
            yield Label(Text(f"History of {self.plan_title}"), id="history-title")
            with VerticalScroll(id="history-scroll"):
                yield Static("Loading…", id="history-body")
            yield Static("↑↓ scroll · esc close", id="history-keys")

    def on_mount(self) -> None:
        """Read the history."""
        care_plans = self.services.care_plans
        plan_id = self.care_plan_id
        run_in_background(self, lambda: care_plans.history(plan_id), self._show)

    def _show(self, revisions) -> None:
        self.query_one("#history-body", Static).update(history_text(revisions))

    def action_close(self) -> None:
        """Back to the plan."""
        self.dismiss(None)
