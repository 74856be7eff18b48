"""The Textual application: modes, header, sign-in, help and the command palette.

``make_app(services, settings)`` is the only way the CLI and the tests build
the app. Top-level areas (worklist/caseload, referral queue) are App modes;
patient detail is a pushed screen; dialogs are ``ModalScreen``s.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import events
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen, Screen

from nursecase.config import Settings
from nursecase.domain.terminal_text import printable
from nursecase.screens.background import run_in_background
from nursecase.screens.care_plan_print import default_folder
from nursecase.screens.export_dialog import export_dialog, exported_message
from nursecase.screens.help import HelpScreen
from nursecase.screens.hospital_messages import HospitalMessagesScreen
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.lock import LockScreen
from nursecase.screens.login import ClearsOnNextKey, LoginScreen
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.referral_queue import ReferralQueueScreen
from nursecase.screens.sign_in import NursePickerScreen, first_nurse_dialog, refusal_message
from nursecase.screens.worklist import TodayRead, WorklistScreen
from nursecase.screens.workstation import WorkstationApp
from nursecase.services import Services
from nursecase.widgets.text_fields import OrderedKeys

#: How often Python switches threads while the app runs (see ``on_mount``).
WORKER_SWITCH_INTERVAL_SECONDS = 0.0005

#: The name of the installed, reused patient detail screen.
PATIENT_SCREEN = "patient"
#: How long opening a patient waits for the chart before showing "Loading…".
CHART_WAIT_SECONDS = 0.25

APP_INTENTS = (
    Intent(
        "app.worklist",
        "1",
        "app.switch_mode('worklist')",
        "Worklist",
        "Show the worklist and caseload",
    ),
    Intent(
        "app.referrals",
        "2",
        "app.switch_mode('referrals')",
        "Referrals",
        "Show the referral queue",
    ),
    Intent(
        "app.hospital_messages",
        "H",
        "app.hospital_messages",
        "Hospital messages",
        "The hospital's messages waiting for a nurse: match each to a patient or dismiss it",
        show=False,  # the footers are full; Today's status line says when any wait
    ),
    Intent(
        "app.export",
        "X",
        "app.export",
        "Export",
        "Export a report (CSV, JSON, Markdown, PDF, FHIR) to a file",
        show=False,  # the footers are full; ? and the palette list it
    ),
    Intent("app.help", "question_mark", "app.help", "Help", "List every key", key_display="?"),
    # A priority binding: it locks even while the focus is in a field.
    Intent(
        "app.lock",
        "ctrl+l",
        "app.lock",
        "Lock",
        "Hide everything until your password is typed again",
        show=False,
        priority=True,
    ),
)

#: Input that shows the nurse is at the keyboard (resets the idle lock).
PRESENCE_EVENTS = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)
DEMO_TITLE = "nursecase DEMO"
#: How often the app looks at how long it has been idle.
IDLE_CHECK_SECONDS = 5.0
#: What a locked app still does: unlocking happens on the lock screen, quitting hides all.
ACTIONS_WHILE_LOCKED = frozenset({"quit", "lock"})
#: Textual's system commands left out of the palette. "Keys" docks Textual's key
#: panel, which stays until the palette hides it again; "Help" (?) lists every
#: key and closes with escape. "Screenshot" is replaced by an audited one.
HIDDEN_SYSTEM_COMMANDS = frozenset({"Keys", "Screenshot"})
#: The palette's help line for the system commands kept, in a nurse's words.
SYSTEM_COMMAND_HELP = {
    "Theme": "Change the colours for this session ([app] theme in config.toml keeps one)",
    "Quit": "Leave nursecase (ctrl+q)",
}


def _allowed(node, action: str) -> bool:
    """Whether ``node`` would run ``action`` now (check_action not False)."""
    _destination, name, parameters = parse_action(action)
    return node.check_action(name, parameters) is not False


class IntentCommands(Provider):
    """Every intent of the current screen and of the app, in the command palette."""

    def _available(self) -> Iterable[tuple[Intent, object]]:
        screen = self.screen
        for intent in getattr(screen, "INTENTS", ()):
            if _allowed(screen, intent.action):
                yield intent, screen
        for intent in APP_INTENTS:
            # Before sign-in, the modes and the export are not offered.
            if _allowed(self.app, intent.action):
                yield intent, self.app

    async def _run(self, intent: Intent, node) -> None:
        await node.run_action(intent.action)

    async def discover(self) -> Hits:
        """All available intents, before anything is typed."""
        for intent, node in self._available():
            yield DiscoveryHit(
                intent.description, partial(self._run, intent, node), help=intent.tooltip
            )

    async def search(self, query: str) -> Hits:
        """Intents whose description matches what was typed."""
        matcher = self.matcher(query)
        for intent, node in self._available():
            score = matcher.match(intent.description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(intent.description),
                    partial(self._run, intent, node),
                    help=intent.tooltip,
                )


class NursecaseApp(OrderedKeys, WorkstationApp):
    """The nurse case manager's workstation."""

    TITLE = "nursecase"
    CSS_PATH = "app.tcss"
    MODES = {"worklist": WorklistScreen, "referrals": ReferralQueueScreen}
    INTENTS = APP_INTENTS
    BINDINGS = bindings(APP_INTENTS)
    COMMANDS = App.COMMANDS | {IntentCommands}

    def __init__(
        self, services: Services, settings: Settings, login_username: str | None = None
    ) -> None:
        super().__init__()
        #: The username the login screen starts with (``--nurse``), when passwords are on.
        self.login_username = login_username
        #: Seconds, for the idle lock (tests give a fake one).
        self.idle_clock: Callable[[], float] = time.monotonic
        self.last_input = self.idle_clock()
        self.locked = False
        self.previous_switch_interval = sys.getswitchinterval()
        self.patient_screen: PatientDetailScreen | None = None
        self.early_today: TodayRead | None = None
        self.services = services
        self.settings = settings
        if settings.demo:
            self.title = DEMO_TITLE

    def on_mount(self) -> None:
        """Apply the settings, then sign in (asking only when needed)."""
        # Database reads run in worker threads, and SQLite hands the GIL back at
        # every row it steps. With Python's default 5 ms switch interval, each
        # hand-back waits up to 5 ms while the UI thread paints, which made a
        # 12 ms page read take 60 ms during typing. 0.5 ms keeps both responsive.
        self.previous_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(WORKER_SWITCH_INTERVAL_SECONDS)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.notify(f"Unknown theme {self.settings.theme!r} in config.toml; using the default")
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.set_interval(IDLE_CHECK_SECONDS, self.lock_if_idle)
        if self.services.context.nurse_id is not None:
            self._signed_in()
        else:
            run_in_background(self, self._how_to_sign_in, self._sign_in_by)

    def _how_to_sign_in(self):
        """(passwords on?, the nurses): read in a worker."""
        return self.services.accounts.has_passwords(), self.services.nurses.list_nurses()

    def _sign_in_by(self, answer) -> None:
        passwords_on, nurses = answer
        if passwords_on:
            self.push_screen(LoginScreen(self.services, self.login_username), self._logged_in)
        else:
            self._choose_nurse(nurses)

    def _logged_in(self, signed_in: bool | None) -> None:
        if not signed_in or self.services.context.nurse_id is None:
            self.exit()
            return
        self._signed_in()

    def _choose_nurse(self, nurses) -> None:
        active = [nurse for nurse in nurses if nurse.active]
        if len(active) == 1:
            run_in_background(
                self,
                partial(self.services.nurses.sign_in, active[0].username),
                self._after_sign_in,
                partial(self._sign_in_refused, nurses, active[0]),
            )
        elif active:
            self.push_screen(NursePickerScreen(self.services, nurses), self._picked)
        else:
            self.push_screen(first_nurse_dialog(self.services), self._after_sign_in)

    def _sign_in_refused(self, nurses, nurse, error: BaseException) -> None:
        """The only nurse could not be signed in: the picker says why, until the next key."""
        message = refusal_message(nurse, error)
        self.push_screen(NursePickerScreen(self.services, nurses, message), self._picked)

    def _picked(self, username: str | None) -> None:
        """The picker signed the nurse in (or was left: quit)."""
        self._after_sign_in()

    def _after_sign_in(self, _result=None) -> None:
        if self.services.context.nurse_id is None:
            self.exit()
            return
        self._signed_in()

    def _signed_in(self) -> None:
        today = self.services.clock.today()
        self.sub_title = f"{self.services.context.nurse_name} · {today:%a %d %b %Y}"
        # Read Today while Textual builds the worklist screen, not after.
        self.early_today = TodayRead(self, self.services.context.nurse_id)
        self.switch_mode("worklist")
        if self.settings.demo:
            run_in_background(self, self.services.accounts.has_passwords, self._demo_title)

    def _demo_title(self, passwords_on: bool) -> None:
        """A demo database without passwords says so in the header."""
        if not passwords_on:
            self.title = f"{DEMO_TITLE} · no passwords"

    def on_unmount(self) -> None:
        """Give the process back its thread switch interval."""
        sys.setswitchinterval(self.previous_switch_interval)

    def open_patient(self, patient_id: int) -> None:
        """Show a patient's detail screen.

        One detail screen is built once and reused (an installed screen):
        building and styling its widgets costs more than reading the chart.
        """
        screen = self.patient_screen
        if screen is None:
            screen = self.patient_screen = PatientDetailScreen()
            self.install_screen(screen, name=PATIENT_SCREEN)
        elif self.screen is screen:
            screen.show_patient(patient_id)
            return
        elif any(screen in stack for stack in self._screen_stacks.values()):
            # Still open under another mode's screens: open this one on its own.
            self.push_screen(PatientDetailScreen(patient_id))
            return
        # Show the screen once the chart is read (a few tens of milliseconds),
        # so that it appears with the patient in place: one paint instead of
        # "Loading…" then the chart, and the read does not compete with the
        # screen's styling for the interpreter. A slow read shows it anyway.
        pushed = False

        def push() -> None:
            nonlocal pushed
            timer.stop()
            if not pushed:
                pushed = True
                self.push_screen(PATIENT_SCREEN)

        timer = self.set_timer(CHART_WAIT_SECONDS, push)
        screen.show_patient(patient_id, when_read=push)

    async def on_event(self, event: events.Event) -> None:
        """Any key, click, scroll or paste counts as the nurse being here.

        A key also tells a screen that keeps a message until the next key.
        """
        if isinstance(event, PRESENCE_EVENTS):
            self.last_input = self.idle_clock()
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and isinstance(self.screen, ClearsOnNextKey)
        ):
            self.screen.next_key()
        await super().on_event(event)

    def lock_if_idle(self) -> None:
        """Lock once the configured minutes have passed without input."""
        idle_seconds = self.idle_clock() - self.last_input
        if idle_seconds >= self.settings.idle_lock_minutes * 60:
            self.action_lock()

    def action_lock(self) -> None:
        """Hide every screen behind the lock screen (audited); the password unlocks."""
        if self.locked or self.services.context.nurse_id is None:
            return
        self.locked = True
        self.clear_notifications()  # a toast may name a patient
        accounts = self.services.accounts

        def record_lock() -> bool:
            """Audit the lock; say whether a password will be needed to unlock."""
            accounts.lock()
            return accounts.has_passwords()

        def show(passwords_on: bool) -> None:
            self.push_screen(LockScreen(self.services, passwords_on), self._unlocked)

        run_in_background(self, record_lock, show)

    def _unlocked(self, _result=None) -> None:
        self.locked = False
        self.last_input = self.idle_clock()

    def notify(self, message: str, **options) -> None:
        """No toast while locked: it would show over the lock screen.

        Every toast passes here, and may quote stored text (a name, a path):
        shown literally (no markup) with its control characters visible.
        """
        if self.locked:
            return
        options.setdefault("markup", False)
        super().notify(printable(message, multiline=True), **options)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Modes, exports and locking need a nurse signed in; a locked app only unlocks or quits."""
        if self.locked and action not in ACTIONS_WHILE_LOCKED:
            return False
        if action in ("switch_mode", "export", "lock", "hospital_messages"):
            return self.services.context.nurse_id is not None
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's system commands a nurse would expect, and the audited screenshot."""
        for command in super().get_system_commands(screen):
            if command.title in HIDDEN_SYSTEM_COMMANDS:
                continue
            help_text = SYSTEM_COMMAND_HELP.get(command.title, command.help)
            yield command._replace(help=help_text)
        if self.services.context.nurse_id is not None and not self.locked:
            yield SystemCommand(
                "Screenshot",
                "Save a picture of this screen (SVG) in the exports folder;"
                " it shows patients, so it is recorded like an export",
                self.action_screenshot,
            )

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save a picture of the screen (SVG) in the exports folder, audited as an export.

        Textual's own version writes to ``path`` (or Downloads) with the
        default file mode and records nothing; the screens show patients, so
        here ``filename`` and ``path`` are not used: the file goes where exports
        go, 0600, written atomically, on the audit trail.
        """
        if self.services.context.nurse_id is None or self.locked:
            return
        if isinstance(self.screen, CommandPalette):
            # Chosen from the palette: picture the screen once the palette is gone.
            self.call_after_refresh(self.action_screenshot)
            return
        svg = self.export_screenshot()
        screen = _screen_name(self.screen)
        patient_id = self._pictured_patient()
        folder = default_folder(self.settings)
        screenshots = self.services.screenshots
        run_in_background(
            self,
            partial(screenshots.save, svg, folder, screen=screen, patient_id=patient_id),
            self._screenshot_saved,
        )

    def _screenshot_saved(self, path: Path) -> None:
        self.notify(f"Saved a picture of this screen in {path}", title="Screenshot", timeout=8)

    def _pictured_patient(self) -> int | None:
        """The patient whose chart the screen shows (under any dialog), or None."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PatientDetailScreen):
                return screen.patient_id
            if not isinstance(screen, ModalScreen):
                return None
        return None

    def copy_to_clipboard(self, text: str) -> None:
        """Copy only when the configuration allows it: the screens show PHI.

        Every copy goes through here (selected screen text, ctrl+c in a
        field), so one check covers them all.
        """
        if not self.settings.allow_clipboard:
            self.notify(
                "Copying to the clipboard is off for patient data"
                " (config.toml: [privacy] allow_clipboard = true turns it on).",
                severity="warning",
            )
            return
        super().copy_to_clipboard(text)

    def action_export(self) -> None:
        """Export a report; on a patient's screen the patient report is proposed."""
        if isinstance(self.screen, ModalScreen):
            return  # not over a form or a picker
        chart = getattr(self.screen, "chart", None)
        patient = getattr(chart, "patient", None)
        mrn = patient.mrn if isinstance(self.screen, PatientDetailScreen) and patient else None

        def exported(result) -> None:
            if result is not None:
                self.notify(exported_message(result), timeout=8)

        self.push_screen(export_dialog(self.services, self.settings, mrn), exported)

    def action_hospital_messages(self) -> None:
        """Show the hospital's messages waiting for a nurse (not over a dialog, not twice)."""
        if isinstance(self.screen, CommandPalette):
            # Chosen from the palette: open once the palette is gone.
            self.call_after_refresh(self.action_hospital_messages)
            return
        if isinstance(self.screen, ModalScreen | HospitalMessagesScreen):
            return
        self.push_screen(HospitalMessagesScreen())

    def action_help(self) -> None:
        """Show every key of the current screen."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def _screen_name(screen: Screen) -> str:
    """A screen's name for the audit trail: WorklistScreen -> "worklist"."""
    name = type(screen).__name__.removesuffix("Screen") or "screen"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def make_app(
    services: Services, settings: Settings | None = None, login_username: str | None = None
) -> NursecaseApp:
    """Build the app around ready services (the CLI and the tests both call this)."""
    return NursecaseApp(services, settings or services.context.settings, login_username)
