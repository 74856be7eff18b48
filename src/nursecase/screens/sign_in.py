"""Signing in: pick a nurse, or, on a new database, create the first one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from nursecase.screens.background import run_in_background, user_message


class NursePickerScreen(ModalScreen[str | None]):
    """Choose who is working: enter signs in, escape quits."""

    CSS_PATH = "sign_in.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Quit", tooltip="Leave without signing in", id="sign_in.cancel")
    ]

    def __init__(self, nurses) -> None:
        super().__init__()
        self.nurses = nurses

    def compose(self) -> ComposeResult:
        """A list of nurses."""
        with Vertical(id="sign-in"):
            yield Label("Who is working today?")
            yield OptionList(
                *[
                    Option(
                        Text(f"{nurse.display_name}, {nurse.credentials}  ({nurse.username})"),
                        id=nurse.username,
                    )
                    for nurse in self.nurses
                ],
                id="nurses",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Sign in as the chosen nurse."""
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Leave the app."""
        self.dismiss(None)


class FirstNurseScreen(ModalScreen[str | None]):
    """A new database: ask the nurse's username, name and credentials once."""

    CSS_PATH = "sign_in.tcss"
    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Quit",
            tooltip="Leave without creating a nurse",
            id="first_nurse.cancel",
        )
    ]

    def compose(self) -> ComposeResult:
        """The three fields and a button."""
        with Vertical(id="sign-in"):
            yield Label("Welcome to nursecase. Who are you?")
            yield Input(placeholder="username, e.g. amoreno", id="username")
            yield Input(placeholder="your name, e.g. Alice Moreno", id="display_name")
            yield Input(value="RN", placeholder="credentials, e.g. RN, CCM", id="credentials")
            yield Static("", id="error")
            yield Button("Start", variant="primary", id="start")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the last field submits; in others it moves on."""
        if event.input.id == "credentials":
            self._submit()
        else:
            self.focus_next()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        """The Start button submits."""
        self._submit()

    def _submit(self) -> None:
        values = {
            name: self.query_one(f"#{name}", Input).value
            for name in ("username", "display_name", "credentials")
        }
        services = self.app.services

        def create_and_sign_in() -> str:
            services.nurses.create(
                values["username"].strip().lower(), values["display_name"], values["credentials"]
            )
            services.nurses.sign_in(values["username"].strip().lower())
            return values["username"].strip().lower()

        run_in_background(self, create_and_sign_in, self.dismiss, self._show_error)

    def _show_error(self, error: BaseException) -> None:
        self.query_one("#error", Static).update(Text(user_message(error)))

    def action_cancel(self) -> None:
        """Leave the app."""
        self.dismiss(None)
