"""Signing in: pick a nurse, or, on a new database, create the first one.

Both are for a database without passwords (the login screen takes over once
an account has one). The picker signs the chosen nurse in itself, so a refusal
(a nurse disabled meanwhile, a database that cannot be written) stays on the
picker, as sentences, until the next key, instead of leaving an empty screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from nursecase.domain.validation import ValidationError
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.form_dialog import FormDialog, FormField
from nursecase.screens.login import ClearsOnNextKey, sentence
from nursecase.services import Services

#: The command that turns passwords on (``nursecase user add``, cli/users.py).
ADD_ADMIN_COMMAND = 'nursecase user add USERNAME --name "Full Name"'
#: The command an admin gives a nurse a password with (``nursecase user passwd``).
SET_PASSWORD_COMMAND = "nursecase user passwd USERNAME --nurse ADMIN"


class NursePickerScreen(ClearsOnNextKey, ModalScreen[str | None]):
    """Choose who is working: enter signs in, escape quits; dismisses with the username."""

    CSS_PATH = "sign_in.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Quit", tooltip="Leave without signing in", id="sign_in.cancel")
    ]

    def __init__(self, services: Services, nurses, message: str = "") -> None:
        super().__init__()
        self.services = services
        self.nurses = [nurse for nurse in nurses if nurse.active]
        #: A refusal to show from the start (a sign-in tried before the picker).
        self.first_message = message
        self.signing_in = False

    def compose(self) -> ComposeResult:
        """A list of nurses, by name, and a line for a refusal."""
        with Vertical(id="sign-in"):
            yield Label("Who is working today?")
            yield OptionList(
                *[
                    Option(Text(f"{nurse.display_name}, {nurse.credentials}"), id=nurse.username)
                    for nurse in self.nurses
                ],
                id="nurses",
            )
            message = Static(Text(self.first_message), id="sign-in-message")
            message.display = bool(self.first_message)
            yield message

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Sign in as the chosen nurse (in a worker); a refusal stays here."""
        chosen = next(nurse for nurse in self.nurses if nurse.username == event.option.id)
        if self.signing_in:
            return
        self.signing_in = True
        nurses = self.services.nurses
        run_in_background(
            self,
            lambda: nurses.sign_in(chosen.username),
            lambda _nurse: self.dismiss(chosen.username),
            lambda error: self._refused(chosen, error),
            group="sign-in",
        )

    def _refused(self, nurse, error: BaseException) -> None:
        self.signing_in = False
        self._say(refusal_message(nurse, error))

    def next_key(self) -> None:
        """The next key: the refusal has been read."""
        self._say("")

    def _say(self, message: str) -> None:
        line = self.query_one("#sign-in-message", Static)
        line.update(Text(message))
        line.display = bool(message)

    def action_cancel(self) -> None:
        """Leave the app."""
        self.dismiss(None)


def refusal_message(nurse, error: BaseException) -> str:
    """Why ``nurse`` could not be signed in, in sentences that name her, not her username."""
    if isinstance(error, ValidationError) and error.field == "nurse":
        # Disabled or removed since the list was read (another workstation, the CLI).
        return f"{nurse.display_name} can no longer sign in here. Choose another nurse."
    return sentence(user_message(error))


def first_nurse_dialog(services: Services) -> FormDialog:
    """A new database: ask the nurse's username, name and credentials once.

    The intro says that passwords are off and how an admin turns them on.
    """
    fields = [
        FormField("username", "Username", placeholder="e.g. amoreno"),
        FormField("display_name", "Your name", placeholder="e.g. Alice Moreno"),
        FormField("credentials", "Credentials", value="RN", placeholder="e.g. RN, CCM"),
    ]

    def create_and_sign_in(values: dict[str, str]) -> str:
        username = values["username"].strip().lower()
        services.nurses.create(username, values["display_name"], values["credentials"])
        services.nurses.sign_in(username)
        return username

    return FormDialog(
        "Welcome to nursecase. Who are you?",
        fields,
        create_and_sign_in,
        submit_label="Start",
        intro=(
            "You are asked once; the next time nursecase opens as you.\n\n"
            "Passwords are off until an admin account is added. To add one, run in a terminal:\n"
            f"  {ADD_ADMIN_COMMAND}\n"
            "It asks for the admin's password. From then on nursecase opens on a login"
            " screen, and the admin gives each nurse a password with:\n"
            f"  {SET_PASSWORD_COMMAND}"
        ),
    )
