"""Choose the caseload's sort column; choosing the current one reverses it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from nursecase.screens.worklist_sources import SORT_COLUMNS


class SortDialog(ModalScreen[str | None]):
    """A list of columns; enter picks one, escape keeps the current order."""

    CSS_PATH = "sort_dialog.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Keep the current order", id="sort.cancel")
    ]

    def __init__(self, current: str, descending: bool) -> None:
        super().__init__()
        self.current = current
        self.descending = descending

    def compose(self) -> ComposeResult:
        """The columns, the current one marked with its direction."""
        options = []
        for key, label in SORT_COLUMNS.items():
            if key == self.current:
                arrow = "▼" if self.descending else "▲"
                label = f"{label} {arrow} (again to reverse)"
            options.append(Option(label, id=key))
        with Vertical(id="sort"):
            yield Label("Sort the caseload by")
            option_list = OptionList(*options, id="sort-columns")
            yield option_list

    def on_mount(self) -> None:
        """Start on the current column."""
        option_list = self.query_one(OptionList)
        option_list.highlighted = list(SORT_COLUMNS).index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Return the chosen column's key."""
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Keep the order."""
        self.dismiss(None)
