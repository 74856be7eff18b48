"""The help screen: every key of the screen beneath it, as it is bound now."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists every active binding of ``screen`` (after keymap changes)."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding(
            "escape,question_mark,q", "dismiss", "Close", tooltip="Close the help", id="help.close"
        )
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.beneath = screen

    def compose(self) -> ComposeResult:
        """A table of keys and what they do."""
        table = Table(title="Keys", expand=True, show_edge=False)
        table.add_column("Key", style="bold", no_wrap=True)
        table.add_column("Does")
        table.add_column("Available", no_wrap=True)
        # A Text, not a string: Rich would read "[keymap]" as a markup tag and drop it.
        table.add_column(Text("Id (for [keymap])"), no_wrap=True, style="dim")
        seen: set[tuple[str, str]] = set()
        for active in self.beneath.active_bindings.values():
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            display = self.app.get_key_display(binding)
            detail = binding.description
            if binding.tooltip:
                detail = f"{binding.description}: {binding.tooltip}"
            table.add_row(
                Text(display),
                Text(detail),
                "yes" if active.enabled else "not here",
                Text(binding.id or ""),
            )
        with VerticalScroll(id="help-body"):
            yield Static(table)
            yield Static(
                Text(
                    "Every action is also in the command palette (ctrl+p). Keys can be remapped"
                    " in config.toml under [keymap] by their id."
                )
            )
