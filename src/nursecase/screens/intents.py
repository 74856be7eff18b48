"""User intents: each action is declared once, with its key, words and tooltip.

A screen lists its ``Intent`` objects; its ``BINDINGS`` (and so the footer),
the help screen and the command palette are all derived from that one list,
so a key, a description and a palette entry can never drift apart. Binding ids
make every key remappable from ``config.toml`` (``[keymap]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Intent:
    """One thing a nurse can do, and the key that does it."""

    id: str
    key: str
    action: str
    description: str
    tooltip: str
    show: bool = True
    key_display: str | None = None
    priority: bool = False

    def binding(self) -> Binding:
        """The Textual binding for this intent."""
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            key_display=self.key_display,
            priority=self.priority,
            tooltip=self.tooltip,
            id=self.id,
        )


def bindings(intents: Iterable[Intent]) -> list[BindingType]:
    """Bindings for a list of intents (typed as Textual's ``BINDINGS`` lists are)."""
    return [intent.binding() for intent in intents]
