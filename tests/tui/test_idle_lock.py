"""The idle lock: after the configured minutes (a fake clock here), or at once on ctrl+l."""

from __future__ import annotations

import html
import re

from sqlalchemy import text
from textual.widgets import Input

from nursecase.app import make_app
from nursecase.screens.lock import LockScreen
from nursecase.screens.worklist import WorklistScreen
from tests.tui.conftest import SIZE, settings, settle
from tests.tui.test_login import PASSWORD, with_passwords


class FakeIdleClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def audit_actions(engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT action FROM audit_event ORDER BY id")).fetchall()
    return [action for (action,) in rows]


def screen_text(app) -> str:
    """Everything the terminal shows, as text (the screenshot without its SVG markup)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_idle_minutes_lock_the_screen_and_hide_every_patient(app_services, seeded_engine):
    clock = FakeIdleClock()
    patient = app_services.patients.list_page(nurse_id=app_services.context.nurse_id, limit=1)[0]
    app = make_app(app_services, settings(idle_lock_minutes=10))
    app.idle_clock = clock
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.last_input = clock()
        assert patient.family_name in screen_text(app)
        clock.seconds += 9 * 60
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)  # nine minutes: not yet
        await pilot.press("down")  # the nurse is back: the idle time starts again
        clock.seconds += 9 * 60
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        clock.seconds += 60
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        shown = screen_text(app)
        assert patient.family_name not in shown and patient.mrn not in shown
        assert "Locked: Alice Moreno" in shown
        # Nothing else works while locked: modes, export, the palette.
        await pilot.press("2", "X", "ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        # No password on this database: enter unlocks.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert patient.family_name in screen_text(app)
    assert audit_actions(seeded_engine)[-2:] == ["lock", "unlock"]


async def test_ctrl_l_locks_at_once_and_only_the_password_unlocks(engine, clock):
    services = with_passwords(engine, clock)
    app = make_app(services, settings(), login_username="root")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*PASSWORD, "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        await pilot.press("slash", "a")  # even while typing in the search box
        await pilot.press("ctrl+l")
        await settle(pilot)
        lock = app.screen
        assert isinstance(lock, LockScreen)
        lock.delays = (0.2,)
        await pilot.press(*"guess", "enter")
        await settle(pilot)
        assert app.screen is lock
        assert lock.query_one("#lock-password", Input).value == ""
        await pilot.pause(0.3)
        await pilot.press(*PASSWORD, "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
    assert audit_actions(engine)[-3:] == ["lock", "login-failed", "unlock"]
