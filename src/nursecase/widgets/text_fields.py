"""Text fields that keep the keys in the order they were typed.

Textual's Input and TextArea insert a typed character the moment it reaches
them, but their editing keys (backspace, arrows, ctrl+u, delete) and the
screen's keys (tab to the next field, ctrl+s to save, escape) are bindings,
run only after the key has bubbled up to the app. When keys arrive in a
burst (a fast typist on a busy machine, a barcode scanner, a paste through
tmux) the characters typed after a backspace can land before it: "teh",
backspace, "e" becomes "tee" instead of "te" + "e". Textual issue #6605
describes it; its fix (pull request #6631) is not released.

These fields run the bindings for a key at the place the key holds in their
own queue, so every key acts in turn. A key that reaches a field after an
earlier key of the same burst moved the focus away (tab, a closed dialog) is
passed on to the widget that now has the focus, where the nurse meant it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea


async def _passed_on(widget, event: events.Key) -> bool:
    """Give the key to the focused widget when an earlier key moved the focus away."""
    focused = widget.app.focused
    if focused is None or focused is widget:
        return False
    event.stop()
    event.prevent_default()
    focused.post_message(events.Key(event.key, event.character))
    return True


async def _run_bindings_now(widget, event: events.Key) -> None:
    """Run the key's bindings (this field's, then the screen's and the app's) now."""
    # App._check_bindings is what Textual runs once the key has bubbled up;
    # running it here keeps the key's turn. Priority bindings ran before the
    # key reached the field, as always. (Textual is pinned exactly.)
    if await widget.app._check_bindings(event.key):
        event.stop()
        event.prevent_default()


class TextInput(Input):
    """A one-line field whose editing keys keep their typed order."""

    async def _on_key(self, event: events.Key) -> None:
        if await _passed_on(self, event):
            return
        await super()._on_key(event)
        if not event.is_printable:
            await _run_bindings_now(self, event)


class NoteArea(TextArea):
    """A several-line field whose editing keys keep their typed order."""

    async def _on_key(self, event: events.Key) -> None:
        if await _passed_on(self, event):
            return
        await super()._on_key(event)
        inserts = ("enter", "tab") if self.tab_behavior == "indent" else ("enter",)
        if not (event.is_printable or event.key in inserts):
            await _run_bindings_now(self, event)
