"""Signing in: pick a nurse, or, on a new database, create the first one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from nursecase.screens.form_dialog import FormDialog, FormField
from nursecase.services import Services


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


def first_nurse_dialog(services: Services) -> FormDialog:
    """A new database: ask the nurse's username, name and credentials once."""
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
        intro="You are asked once; the next time nursecase opens as you.",
    )
