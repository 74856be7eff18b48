"""The login screen: once a database has accounts with passwords, nobody works unnamed.

Opaque (a full screen, not a dialog over a chart): at launch there is nothing
behind it to see, and the idle lock can reuse the same idea. The username may
come preselected (``--nurse``); the password is never shown. Each refusal is
audited by the account service and makes the next try wait a little longer
(1, 2, 4 ... 30 seconds), which stops guessing at typing speed.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from nursecase.screens.background import run_in_background, user_message
from nursecase.services import Services
from nursecase.services.accounts import LoginFailedError
from nursecase.widgets.text_fields import TextInput

if TYPE_CHECKING:
    # Type-checked as the Screen it is mixed into; at run time the mixin has no base.
    _MixedIntoScreen = Screen[Any]
else:
    _MixedIntoScreen = object

#: Seconds to wait after the 1st, 2nd, 3rd ... refused attempt (the last one repeats).
RETRY_DELAYS: tuple[float, ...] = (1, 2, 4, 8, 16, 30)


class RetryAfterRefusal(_MixedIntoScreen):
    """For a password screen: each refusal makes the next try wait longer.

    The screen calls ``wait_after_refusal`` when a password is refused and
    checks ``waiting`` before trying again; it provides ``_say(message)``.
    """

    delays: tuple[float, ...] = RETRY_DELAYS
    refusals = 0
    waiting = False

    def wait_after_refusal(self) -> float:
        """Start the wait after a refusal; returns its length in seconds."""
        delay = self.delays[min(self.refusals, len(self.delays) - 1)]
        self.refusals += 1
        self.waiting = True
        self.set_timer(delay, self._may_retry)
        return delay

    def _may_retry(self) -> None:
        self.waiting = False
        self._say("")

    @abstractmethod
    def _say(self, message: str) -> None:
        """Show ``message`` under the password (each screen says where)."""


class LoginScreen(RetryAfterRefusal, Screen[bool]):
    """Username and password; dismisses with True once signed in, False to quit."""

    DEFAULT_CSS = """
    LoginScreen { align: center middle; background: $background; }
    LoginScreen #login { width: 60; height: auto; padding: 1 2; border: round $primary; }
    LoginScreen #login-title { text-style: bold; margin-bottom: 1; }
    LoginScreen TextInput { margin-bottom: 1; }
    LoginScreen #login-message { color: $error; height: auto; }
    LoginScreen #login-keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "quit", "Quit", tooltip="Leave without signing in", id="login.quit")
    ]
    AUTO_FOCUS = "#login-username"

    def __init__(
        self,
        services: Services,
        username: str | None = None,
        delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        super().__init__()
        self.services = services
        self.preselected = username or ""
        self.delays = tuple(delays)
        self.checking = False

    def compose(self) -> ComposeResult:
        """The two fields, the message line and the keys."""
        with Vertical(id="login"):
            yield Label("nursecase: sign in", id="login-title")
            yield TextInput(self.preselected, placeholder="username", id="login-username")
            yield TextInput(placeholder="password", password=True, id="login-password")
            yield Static("", id="login-message")
            yield Static("enter signs in · esc quits", id="login-keys")

    def on_mount(self) -> None:
        """Start in the password when the username is known."""
        if self.preselected:
            self.set_focus(self.query_one("#login-password", Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the username moves on; enter in the password signs in."""
        event.stop()
        if event.input.id == "login-username":
            self.set_focus(self.query_one("#login-password", Input))
            return
        self._sign_in()

    def _sign_in(self) -> None:
        if self.checking:
            return
        if self.waiting:
            self._say("Wait a moment before trying again.")
            return
        username = self.query_one("#login-username", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if not username or not password:
            self._say("Type your username and password.")
            return
        self.checking = True
        accounts = self.services.accounts
        run_in_background(
            self,
            lambda: accounts.verify_login(username, password),
            self._signed_in,
            self._refused,
            group="login",
        )

    def _signed_in(self, _account) -> None:
        self.checking = False
        self.dismiss(True)

    def _refused(self, error: BaseException) -> None:
        self.checking = False
        password = self.query_one("#login-password", Input)
        password.value = ""
        self.set_focus(password)
        if not isinstance(error, LoginFailedError):
            self._say(user_message(error))
            return
        delay = self.wait_after_refusal()
        self._say(f"{error} Try again in {delay:g} s.")

    def _say(self, message: str) -> None:
        self.query_one("#login-message", Static).update(Text(message))

    def action_quit(self) -> None:
        """Leave the app without signing in."""
        self.dismiss(False)
