"""The lock screen: an opaque screen over everything, until the nurse comes back.

It is a full screen, not a dimmed dialog: nothing of the chart underneath
shows through. The app pushes it after the configured idle minutes or on
ctrl+l, and refuses every other action while it is up (``NursecaseApp``).
With passwords on, it takes the signed-in nurse's password; without, enter.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.login import RETRY_DELAYS, RetryAfterRefusal, sentence
from nursecase.services import Services
from nursecase.services.accounts import LoginFailedError
from nursecase.widgets.text_fields import TextInput


class LockScreen(RetryAfterRefusal, Screen[None]):
    """Locked: the nurse's name and a password field; dismisses once unlocked."""

    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    LockScreen #lock { width: 60; height: auto; padding: 1 2; border: round $primary; }
    LockScreen #lock-title { text-style: bold; margin-bottom: 1; }
    LockScreen TextInput { margin-bottom: 1; }
    LockScreen #lock-message { color: $error; height: auto; }
    LockScreen #lock-keys { color: $text-muted; margin-top: 1; }
    """
    AUTO_FOCUS = "#lock-password"

    def __init__(
        self, services: Services, passwords_on: bool, delays: Sequence[float] = RETRY_DELAYS
    ) -> None:
        super().__init__()
        self.services = services
        self.passwords_on = passwords_on
        self.delays = tuple(delays)
        self.checking = False

    def compose(self) -> ComposeResult:
        """Who is signed in, the password field, the message line."""
        name = self.services.context.nurse_name or ""
        with Vertical(id="lock"):
            yield Label(Text(f"Locked: {name}"), id="lock-title")
            if self.passwords_on:
                yield TextInput(placeholder="password", password=True, id="lock-password")
                keys = "type your password and enter to unlock · ctrl+q quits"
            else:
                yield TextInput(placeholder="press enter", password=True, id="lock-password")
                keys = "no account has a password here: enter unlocks · ctrl+q quits"
            yield Static("", id="lock-message")
            yield Static(keys, id="lock-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter tries to unlock."""
        event.stop()
        if self.checking:
            return
        if self.waiting:
            self.refuse_early()
            return
        self.checking = True
        password = event.value
        accounts = self.services.accounts
        run_in_background(
            self, lambda: accounts.unlock(password), self._unlocked, self._refused, group="lock"
        )

    def _unlocked(self, _result) -> None:
        self.checking = False
        self.dismiss(None)

    def _refused(self, error: BaseException) -> None:
        self.checking = False
        self.query_one("#lock-password", Input).value = ""
        if not isinstance(error, LoginFailedError):
            self.show(sentence(user_message(error)))
            return
        self.refuse(str(error))

    def _say(self, message: str) -> None:
        self.query_one("#lock-message", Static).update(Text(message))
