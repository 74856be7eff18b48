"""Text fields whose keys act in the order they were typed.

Textual forwards each key to the focused widget's own message queue. An Input
(or TextArea) inserts a typed character there at once, but its editing keys
(backspace, arrows, ctrl+u, delete) and the screen's keys (tab to the next
field, ctrl+s to save, escape) are bindings, run only after the key has
bubbled back up to the app. When keys arrive in a burst (a fast typist on a
busy machine, a paste through tmux, a scanner) the characters typed after a
backspace land before it ("teh", backspace, "e" gives "tee"), and characters
typed after a tab land in the field being left. Textual issue #6605 describes
it; its fix (pull request #6631) covers the field's own keys and is not
released.

``OrderedKeys`` (mixed into the app) handles each key at once, in the app's
own queue, in arrival order: a character for a ``TextInput`` or ``NoteArea``
is inserted; any other key runs its bindings (the focused widget's, then the
screen's and the app's, exactly as Textual would after bubbling), so a tab
has moved the focus before the next key is routed. Keys with no binding, and
every key for a widget that types in its own queue (the command palette's
search box), go Textual's usual way. In Textual 8 the built-in widgets act on
keys only through bindings, apart from typing, so nothing is skipped; screens
here use bindings, not ``on_key``. A key that finds no widget focused first
gives the screen its AUTO_FOCUS widget, as Textual does when the terminal has
focus. Actions run where Textual runs them anyway (in the app's task), so
nothing new can wait on itself.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from textual import events
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea

if TYPE_CHECKING:
    from textual.app import App

    # Type-checked as the App it is mixed into; at run time the mixin has no base.
    _MixedIntoApp = App[Any]
else:
    _MixedIntoApp = object

#: The longest a key waits for the effects of the key before it (see ``_hold``):
#: a last resort, far longer than any refresh, that only matters if Textual
#: loses both after-refresh callbacks.
HOLD_LIMIT_SECONDS = 1.0


def _editing_key(field, event: events.Key) -> bool:
    """Whether the key is typed, or is one of the field's own bindings (backspace, arrows)."""
    if event.is_printable:
        return True
    return any(event.key in binding.key.split(",") for binding in field.BINDINGS)


class TextInput(Input):
    """A one-line field; with ``OrderedKeys`` its keys keep their typed order."""

    def types(self, event: events.Key) -> bool:
        """Whether the key inserts text here (rather than being a binding)."""
        return event.is_printable

    async def type_key(self, event: events.Key) -> None:
        """Insert the key's text, as the field does when the key reaches it."""
        await Input._on_key(self, event)

    def acts_alone(self, event: events.Key) -> bool:
        """Whether the key only edits this field (no message, no focus change follows)."""
        return event.key != "enter" and _editing_key(self, event)

    def _watch_value(self, value: str) -> None:
        """Input's own watcher, without laying out the whole screen on every key.

        Input (Textual 8.2) keeps its scroll region, ``virtual_size``, as wide
        as its text, and ``virtual_size`` is a reactive that lays out the
        screen whenever it changes: a layout of every widget per key typed
        (a search keystroke's largest cost after the table's paint). The
        layout changes nothing else for a one-line field whose size does not
        follow its text: it only brings the field's scroll position within
        the new region. So the region is set here, without the layout, and
        the scroll position brought within it as the layout would; Input's
        watcher then finds it already set. A field of automatic size still
        gets its layout.
        """
        if not self.styles.auto_dimensions:
            region = Size(self.content_width, 1)
            if region != self.virtual_size:
                self.set_reactive(Widget.virtual_size, region)
                self._scroll_update(region)
        super()._watch_value(value)


class NoteArea(TextArea):
    """A several-line field; with ``OrderedKeys`` its keys keep their typed order."""

    def types(self, event: events.Key) -> bool:
        """Whether the key inserts text here (rather than being a binding)."""
        inserts = ("enter", "tab") if self.tab_behavior == "indent" else ("enter",)
        return not self.read_only and (event.is_printable or event.key in inserts)

    async def type_key(self, event: events.Key) -> None:
        """Insert the key's text, as the field does when the key reaches it."""
        await TextArea._on_key(self, event)

    def acts_alone(self, event: events.Key) -> bool:
        """Whether the key only edits this field (no message, no focus change follows)."""
        return self.types(event) or _editing_key(self, event)


class OrderedKeys(_MixedIntoApp):
    """App mixin: each key is handled, bindings and all, before the next is routed."""

    #: Keys waiting for the effects of a key before them (see ``_hold``).
    _held_keys: list[events.Key] | None = None
    #: Counts holds, so a late release of an old hold leaves a newer one alone.
    _hold_number = 0
    _watching_screens = False

    async def on_event(self, event: events.Event) -> None:
        """Take keys here when their order can be kept; everything else as Textual does."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is not None:
                self._held_keys.append(event)
                return
            await self._route_key(event)
            return
        await super().on_event(event)

    async def _route_key(self, event: events.Key) -> None:
        if self.focused is None:
            self._auto_focus()
        focused = self.focused
        if not await self._take_key(focused, event):
            await super().on_event(event)
        elif not (isinstance(focused, TextInput | NoteArea) and focused.acts_alone(event)):
            self._hold(focused)

    def _hold(self, focused: Widget | None) -> None:
        """Keep the next keys until the screen has caught up with this one.

        A binding may act through messages (enter in a field posts Submitted,
        whose handler moves the focus; enter on a tree opens a form): the keys
        typed after it belong where those messages lead, so they wait until
        those messages have been handled and the screen refreshed.
        """
        self._held_keys = []
        self._hold_number += 1
        number = self._hold_number
        if focused is None or not focused.call_later(self._climb, focused, number):
            self.call_after_refresh(self._release_held_keys, number)
        # Textual gives an app's after-refresh callback to the screen on top
        # when it is handled; if that screen is dismissed first (ctrl+s saves
        # and closes a form), the callback goes with it. So a change of screen
        # asks again, on the new screen; and, should both be lost, the timer
        # lets the keys go anyway: nothing typed is ever held for good.
        if not self._watching_screens:
            self._watching_screens = True
            self.screen_change_signal.subscribe(self, self._screen_changed, immediate=True)
        self.set_timer(HOLD_LIMIT_SECONDS, partial(self._release_held_keys, number))

    def _climb(self, node: Widget, number: int) -> None:
        """Follow the key's messages up, one message queue at a time.

        A message bubbles from the focused widget to its parent's queue, then
        the next parent's, up to the screen: each widget has its own queue,
        so a refresh of the screen can come while Submitted is still climbing
        (the search box's second enter went to the box, not the list). A
        callback queued behind the message at each step runs only once the
        message has been handled there and passed on; at the screen, the
        usual after-refresh callback lets the keys go.
        """
        parent = node.parent
        if isinstance(node, Screen) or not isinstance(parent, Widget):
            parent = None  # at the top: the screen handles its messages before it refreshes
        if parent is None or not parent.call_later(self._climb, parent, number):
            self.call_after_refresh(self._release_held_keys, number)

    def _screen_changed(self, _screen) -> None:
        if self._held_keys is not None:
            self.call_after_refresh(self._release_held_keys, self._hold_number)

    async def _release_held_keys(self, number: int) -> None:
        if number != self._hold_number or self._held_keys is None:
            return  # that hold is over (released by its other callback, or replaced)
        held, self._held_keys = self._held_keys, None
        for index, key in enumerate(held):
            if self._held_keys is not None:  # a released key started a new hold
                self._held_keys.extend(held[index:])
                return
            await self._route_key(key)

    def _auto_focus(self) -> None:
        """Focus the screen's first AUTO_FOCUS widget, as Textual does when a screen opens.

        Textual skips that while the terminal window does not have the focus
        (a detached tmux session, a nurse in another window when a dialog
        opens); the first key typed would then reach no field at all.
        """
        screen = self.screen
        selector = screen.AUTO_FOCUS if screen.AUTO_FOCUS is not None else self.AUTO_FOCUS
        if not selector:
            return
        for widget in screen.query(selector):
            if widget.focusable:
                screen.set_focus(widget)
                return

    async def _take_key(self, focused, event: events.Key) -> bool:
        """Handle the key now; False leaves it to Textual's usual routing."""
        ours = isinstance(focused, TextInput | NoteArea)
        if not ours and focused is not None and focused.check_consume_key("a", "a"):
            # A widget typing in its own queue (the command palette's search
            # box, a Select's type-to-search list): running its bindings here
            # would overtake characters still queued for it.
            return False
        self.app_focus = True
        # App._check_bindings is what Textual itself runs for a key: priority
        # bindings before the key reaches the widget, the rest after it has
        # bubbled up. Textual is pinned exactly (pyproject.toml).
        if await self._check_bindings(event.key, priority=True):
            return True
        if ours and focused.types(event):
            await focused.type_key(event)
            return True
        if focused is not None and focused.check_consume_key(event.key, event.character):
            return False
        return await self._check_bindings(event.key)
