"""The footer of key bindings, rebuilt only when what it shows has changed.

Textual's Footer rebuilds all its key widgets whenever the screen's bindings
are refreshed, which happens on every focus change, screen push and
``refresh_bindings`` call, several times per opened screen; each rebuild
mounts and styles a widget per key (tens of milliseconds on a small machine).
This footer compares what it would show (keys, words, enabled states) with
what it shows, and rebuilds once per change, however many refreshes arrive.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that skips rebuilds which would show the same keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple | None = None
        self._rebuild_pending = False

    def _signature(self) -> tuple:
        """What the footer shows, as comparable values."""
        screen = self.screen
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for (_node, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        ) + (self.app.ENABLE_COMMAND_PALETTE,)

    def bindings_changed(self, screen: Screen) -> None:
        """Schedule one rebuild after the pending refresh, if none is scheduled."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_pending = False
        if not self.is_attached:
            return
        signature = self._signature()
        if signature == self._shown:
            return
        self._shown = signature
        await self.recompose()
