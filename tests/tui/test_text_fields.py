"""Keys that arrive in one burst act in the order they were typed (Textual issue #6605)."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from nursecase.widgets.text_fields import NoteArea, OrderedKeys, TextInput


class TwoFields(OrderedKeys, App):
    """Two one-line fields and a note; ctrl+s records what they hold."""

    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[tuple[str, str, str]] = []

    def compose(self) -> ComposeResult:
        yield TextInput(id="first")
        yield TextInput(id="second")
        yield NoteArea(id="note")

    def action_save(self) -> None:
        self.saved.append(
            (
                self.query_one("#first", TextInput).value,
                self.query_one("#second", TextInput).value,
                self.query_one("#note", NoteArea).text,
            )
        )


def burst(app: App, *keys: str) -> None:
    """Post every key before any is handled, as a fast terminal read delivers them."""
    for key in keys:
        character = key if len(key) == 1 else {"space": " "}.get(key)
        app.post_message(events.Key(key, character))


async def test_backspace_in_a_burst_deletes_the_character_before_it():
    app = TwoFields()
    async with app.run_test() as pilot:
        burst(app, "t", "e", "h", "backspace", "backspace", "h", "e")
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#first", TextInput).value == "the"


async def test_ctrl_u_then_text_in_a_burst_keeps_the_text():
    app = TwoFields()
    async with app.run_test() as pilot:
        burst(app, "o", "l", "d", "ctrl+u", "n", "e", "w")
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#first", TextInput).value == "new"


async def test_tab_in_a_burst_moves_the_rest_to_the_next_field_and_save_sees_it_all():
    app = TwoFields()
    async with app.run_test() as pilot:
        burst(app, "a", "b", "tab", "c", "d", "tab", "x", "y", "ctrl+s")
        for _ in range(4):
            await pilot.pause()
        assert app.saved == [("ab", "cd", "xy")]
        assert app.query_one("#note", NoteArea).has_focus


async def test_editing_keys_in_a_note_keep_their_order():
    app = TwoFields()
    async with app.run_test() as pilot:
        app.query_one("#note", NoteArea).focus()
        await pilot.pause()
        burst(app, "a", "b", "left", "X", "end", "backspace", "c")
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#note", NoteArea).text == "aXc"


class SubmitMovesOn(OrderedKeys, App):
    """Enter in the first field moves to the second through its Submitted message."""

    def compose(self) -> ComposeResult:
        yield TextInput(id="first")
        yield TextInput(id="second")

    def on_input_submitted(self, event: TextInput.Submitted) -> None:
        self.query_one("#second", TextInput).focus()


async def test_keys_after_enter_wait_for_the_focus_its_message_moves():
    app = SubmitMovesOn()
    async with app.run_test() as pilot:
        burst(app, "a", "enter", "b", "c")
        for _ in range(6):
            await pilot.pause()
        assert app.query_one("#first", TextInput).value == "a"
        assert app.query_one("#second", TextInput).value == "bc"


async def test_held_keys_are_let_go_even_when_the_refresh_callback_is_lost(monkeypatch):
    """Textual hands an after-refresh callback to the screen on top; a dialog
    dismissed before it repaints takes the callback with it. The keys held
    behind a binding must still arrive (this froze the keyboard in tmux)."""
    app = TwoFields()
    async with app.run_test() as pilot:
        lost: list[object] = []
        monkeypatch.setattr(app, "call_after_refresh", lambda *arguments: lost.append(arguments))
        burst(app, "a", "tab", "b", "ctrl+s")
        await pilot.pause()
        assert lost, "tab should have held the keys after it"
        await pilot.pause(1.2)
        assert app.query_one("#first", TextInput).value == "a"
        assert app.query_one("#second", TextInput).value == "b"
        assert app.saved == [("a", "b", "")]


async def test_a_dialog_closing_while_keys_are_held_lets_them_go_at_once(monkeypatch):
    """The lost callback's usual cause: the screen it went to was dismissed."""
    from textual.screen import ModalScreen

    app = TwoFields()
    async with app.run_test() as pilot:
        await app.push_screen(ModalScreen())
        original = app.call_after_refresh
        dropped: list[object] = []

        def drop_the_first(*arguments):
            if not dropped:
                dropped.append(arguments)  # as if the dialog took it away
                return True
            return original(*arguments)

        monkeypatch.setattr(app, "call_after_refresh", drop_the_first)
        burst(app, "tab", "b")  # tab acts on the dialog; b waits behind it
        await pilot.pause()
        fields = [
            app.screen_stack[0].query_one(f"#{name}", TextInput) for name in ("first", "second")
        ]
        assert dropped and [field.value for field in fields] == ["", ""]
        app.pop_screen()
        await pilot.pause(0.2)  # well under the one-second last resort
        assert "b" in [field.value for field in fields]


class DeepScreen(Screen):
    """A field inside containers; its Submitted climbs several queues to the screen."""

    def compose(self) -> ComposeResult:
        with Vertical(), Vertical(), Vertical():
            yield TextInput(id="first")
        yield TextInput(id="second")

    def on_input_submitted(self, event: TextInput.Submitted) -> None:
        self.query_one("#second", TextInput).focus()


class DeepSubmit(OrderedKeys, App):
    """Runs ``DeepScreen``."""

    def on_mount(self) -> None:
        self.push_screen(DeepScreen())


async def test_keys_after_enter_wait_for_a_message_that_climbs_to_the_screen():
    """Enter in the search box then enter again (open the patient) lost the
    second key when the first's message was still climbing to the screen."""
    app = DeepSubmit()
    async with app.run_test() as pilot:
        await pilot.pause()
        burst(app, "a", "enter", "b", "c")
        for _ in range(6):
            await pilot.pause()
        assert app.screen.query_one("#first", TextInput).value == "a"
        assert app.screen.query_one("#second", TextInput).value == "bc"
