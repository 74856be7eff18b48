"""The read view: one stored text shown whole, wrapped and scrollable; escape closes.

Lists cut a long note or task to their column (at a word, with "…"); enter on
the row opens this view, which shows all of it with what it is about on one
line above ("Contact on 29 Nov 2026 15:00 · Phone with the patient ·
Reached · 20 min · by Alice Moreno"). It only reads: editing stays on its own
key (``e``) where the list has one. Any list can use it: ``ReadView(heading,
body)``, both plain stored text (shown as typed, never as markup, control
characters made visible).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nursecase.domain.terminal_text import printable
from nursecase.screens.intents import Intent, bindings

INTENTS = (
    Intent("read.close", "escape", "close", "Close", "Close the text and go back to the list"),
)

#: Shown in place of a body that is empty.
NO_TEXT = "(nothing written)"


class ReadView(ModalScreen[None]):
    """A heading line and a body text, the body wrapped and scrollable by keys."""

    CSS_PATH = "read_view.tcss"
    BINDINGS = bindings(INTENTS)

    def __init__(self, heading: str, body: str) -> None:
        super().__init__()
        self.heading = heading
        self.body = body

    def compose(self) -> ComposeResult:
        """The heading, the text in a scrolling box, the keys."""
        body = printable(self.body.strip("\n"), multiline=True) if self.body.strip() else NO_TEXT
        with Vertical(id="read-view"):
            yield Static(Text(printable(self.heading)), id="read-heading")
            with VerticalScroll(id="read-body"):
                yield Static(Text(body), id="read-text")
            yield Static("↑ ↓ PgUp PgDn scroll · esc closes", id="read-keys")

    def on_mount(self) -> None:
        """The keys scroll the text at once."""
        self.query_one("#read-body", VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)
