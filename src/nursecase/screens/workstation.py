"""The app as screens see it, typed: its services, its settings, opening a patient.

Screens cannot import the app (it sits above them, DESIGN.md section 3), yet
they run inside it and use its services. ``WorkstationApp`` names what they
use; ``NursecaseApp`` (app.py) is built on it. Screens and dialogs reach it
through ``WorkstationScreen.workstation`` and ``.services`` (typed), never
through an untyped ``self.app.services``. Dialogs that a test hosts in a bare
App take their services as an argument instead.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.screen import Screen

from nursecase.config import Settings
from nursecase.services import Services


class EarlyRead(Protocol):
    """A read of Today started at sign-in, before the worklist exists (``worklist.TodayRead``)."""

    nurse_id: int | None

    def deliver(self, show: Callable[[Any], None], again: Callable[[], None]) -> None:
        """``show(result)`` once the read is there, or ``again()`` if it failed."""


class WorkstationApp(App[None]):
    """The nursecase app, as far as screens use it (``NursecaseApp`` in app.py builds it)."""

    #: The services every screen's reads and writes go through.
    services: Services
    #: config.toml's settings (theme, bands, keymap, ...).
    settings: Settings
    #: Today's first read, started at sign-in; the worklist takes it once.
    early_today: EarlyRead | None

    @abstractmethod
    def open_patient(self, patient_id: int) -> None:
        """Show a patient's detail screen (``NursecaseApp`` pushes the detail screen)."""


if TYPE_CHECKING:
    # Type-checked as the Screen it is mixed into; at run time the mixin has no base.
    _MixedIntoScreen = Screen[Any]
else:
    _MixedIntoScreen = object


class WorkstationScreen(_MixedIntoScreen):
    """Mixin for screens and dialogs: the app they run in, and its services, typed."""

    @property
    def workstation(self) -> WorkstationApp:
        """The nursecase app this screen runs in."""
        app = self.app
        if not isinstance(app, WorkstationApp):
            raise TypeError(f"{type(self).__name__} runs inside the nursecase app only")
        return app

    @property
    def services(self) -> Services:
        """The app's services."""
        return self.workstation.services
