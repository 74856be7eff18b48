"""The login screen: once a database has accounts with passwords, nobody works unnamed.

Opaque (a full screen, not a dialog over a chart): at launch there is nothing
behind it to see, and the idle lock can reuse the same idea. The username may
come preselected (``--nurse``); the password is never shown. Each refusal is
audited by the account service and makes the next try wait a little longer
(1, 2, 4 ... 30 seconds), which stops guessing at typing speed.
"""

from __future__ import annotations

import math
import time
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


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop at the end.

    The services word their refusals as clauses ("wrong username or
    password"); a screen that shows one alone makes it a sentence.
    """
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def seconds_text(seconds: float) -> str:
    """Whole seconds in words, rounded up: "1 second", "4 seconds"."""
    whole = max(1, math.ceil(seconds))
    return "1 second" if whole == 1 else f"{whole} seconds"


class ClearsOnNextKey:
    """A screen whose message stays until the nurse's next key.

    The app tells it of every key as the key arrives, before the key goes
    anywhere (``NursecaseApp.on_event``): the fields and lists take keys
    before a screen would see them, and a binding may never pass one on.
    """

    @abstractmethod
    def next_key(self) -> None:
        """A key was pressed on this screen: clear the message, if one is shown."""


class RetryAfterRefusal(ClearsOnNextKey, _MixedIntoScreen):
    """For a password screen: refusals that stay, and a longer wait after each one.

    A refusal is shown as sentences ("Wrong password. Try again in 2
    seconds.") and stays until the nurse's next key, whether or not the wait
    is over: when it ends with the message still there, the message says so.
    The screen calls ``refuse`` when a password is refused, ``show`` for any
    other message, and checks ``waiting`` before trying again (``refuse_early``
    says how long is left); it provides ``_say(message)``. The wait is the
    screen's; the account service also waits out, before checking, whatever
    the account's refusals in the database still ask for.
    """

    delays: tuple[float, ...] = RETRY_DELAYS
    refusals = 0
    waiting = False
    #: When the wait ends (``time.monotonic``).
    wait_ends = 0.0
    #: The last refusal, as a sentence.
    last_refusal = ""
    #: Whether a message is on screen (a key clears it).
    showing = False
    #: Whether the message on screen is about a refusal (the end of the wait updates it).
    about_refusal = False

    def refuse(self, reason: str) -> float:
        """Show why a try was refused and start the wait before the next; its seconds."""
        delay = self.delays[min(self.refusals, len(self.delays) - 1)]
        self.refusals += 1
        self.waiting = True
        self.wait_ends = time.monotonic() + delay
        self.set_timer(delay, self._may_retry)
        self.last_refusal = sentence(reason)
        self.show(f"{self.last_refusal} Try again in {seconds_text(delay)}.", refusal=True)
        return delay

    def refuse_early(self) -> None:
        """A try during the wait: say how long is left (nothing is checked)."""
        left = seconds_text(self.wait_ends - time.monotonic())
        self.show(f"Wait {left} more before trying again.", refusal=True)

    def show(self, message: str, *, refusal: bool = False) -> None:
        """Show ``message`` (sentences) until the next key."""
        self.showing = True
        self.about_refusal = refusal
        self._say(message)

    def _may_retry(self) -> None:
        self.waiting = False
        if self.showing and self.about_refusal:  # no key since: still being read
            self.show(f"{self.last_refusal} You can try again now.")

    def next_key(self) -> None:
        """The nurse pressed a key: the message has been read."""
        if self.showing:
            self.showing = False
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
            self.refuse_early()
            return
        username = self.query_one("#login-username", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        if not username or not password:
            self.show("Type your username and password.")
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
            self.show(sentence(user_message(error)))
            return
        self.refuse(str(error))

    def _say(self, message: str) -> None:
        self.query_one("#login-message", Static).update(Text(message))

    def action_quit(self) -> None:
        """Leave the app without signing in."""
        self.dismiss(False)
