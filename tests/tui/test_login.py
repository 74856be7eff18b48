"""The login screen, driven by keys, once the database has accounts with passwords."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from sqlalchemy import text
from textual.widgets import Input, Static

from nursecase.app import make_app
from nursecase.screens.login import LoginScreen
from nursecase.screens.worklist import WorklistScreen
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.test_app import palette_prompts

PASSWORD = "correct horse battery"


def with_passwords(engine, clock):
    """A database with an admin 'root' (password set) and nobody signed in."""
    services = make_services(engine, clock)
    # Cheap hashing parameters: the tests are about the screen, not Argon2's cost.
    services.accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    services.accounts.add("root", "Rita Root", PASSWORD)
    services.context.nurse_id = services.context.nurse_name = None
    return services


def events(engine, action: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM audit_event WHERE action = :action"), {"action": action}
        ).scalar_one()


async def test_the_right_password_opens_the_worklist(engine, clock):
    services = with_passwords(engine, clock)
    app = make_app(services, settings(), login_username="root")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        assert screen.query_one("#login-username", Input).value == "root"
        assert screen.focused is screen.query_one("#login-password", Input)
        await pilot.press(*PASSWORD, "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert services.context.nurse_name == "Rita Root"
    assert events(engine, "login") == 1


async def test_a_wrong_password_is_refused_audited_and_slows_the_next_try(engine, clock):
    services = with_passwords(engine, clock)
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.delays = (3.0, 6.0)
        # The wait is Textual's timer; the test holds it and ends it when it chooses,
        # instead of sleeping the 3 s (RETRY_DELAYS itself: tests/domain/test_sign_in_delay.py).
        timers: list[tuple[float, object]] = []
        app.screen.set_timer = lambda delay, callback, **_options: timers.append((delay, callback))
        await pilot.press(*"root", "enter", *"not the password", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LoginScreen)

        def message() -> str:
            return text_of(screen.query_one("#login-message", Static)).strip()

        # Sentences, with their full stops; never the password typed.
        assert message() == "Wrong username or password. Try again in 3 seconds."
        assert screen.query_one("#login-password", Input).value == ""
        # At once again: refused without even checking (no new audit event).
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert re.fullmatch(r"Wait [1-3] seconds? more before trying again\.", message())
        assert events(engine, "login-failed") == 1
        ((delay, wait_over),) = timers
        assert delay == 3.0
        wait_over()  # the 3 s are over; no key since: the refusal stays, and says so
        await settle(pilot)
        assert message() == "Wrong username or password. You can try again now."
        await pilot.press(PASSWORD[0])  # the next key: it has been read
        await settle(pilot)
        assert message() == ""
        await pilot.press(*PASSWORD[1:], "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
    assert events(engine, "login") == 1


async def test_escape_quits_without_signing_in(engine, clock):
    services = with_passwords(engine, clock)
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        # Nobody signed in: no screenshot (nobody to record it), no worklist, export or lock.
        for command in ("screenshot", "worklist", "export", "lock"):
            await pilot.press("ctrl+p", *command)
            await settle(pilot)
            assert not palette_prompts(app), command
            await pilot.press("escape")
        await pilot.press("escape")
        await settle(pilot)
    assert services.context.nurse_id is None
    assert events(engine, "login") == 0


async def test_without_passwords_there_is_no_login(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
