"""The app shell driven by keys: sign-in, modes, help, palette, keymap, header."""

from __future__ import annotations

import stat

from sqlalchemy import text
from textual.widgets import OptionList

from nursecase.app import make_app
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.help import HelpScreen
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.referral_queue import ReferralQueueScreen
from nursecase.screens.sign_in import NursePickerScreen
from nursecase.screens.worklist import WorklistScreen
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of


async def test_launch_shows_today_then_quits(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert app.screen.view == "today"
        assert app.sub_title.startswith(app_services.context.nurse_name)
        assert "Fri 27 Nov 2026" in app.sub_title
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_referral_mode_lists_open_referrals_and_opens_the_patient(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ReferralQueueScreen)
        from textual.widgets import DataTable

        table = app.screen.query_one("#referrals", DataTable)
        expected = app_services.referrals.list_for_nurse(nurse_id=app_services.context.nurse_id)
        assert table.row_count == len(expected) > 0
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PatientDetailScreen)
        assert app.screen.patient_id == expected[0].patient_id
        await pilot.press("escape", "1")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)


async def test_help_lists_every_key_with_its_id(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app.screen.query_one("#help-body Static"))
        for description in ("Search", "Rounds", "Log contact", "Snooze", "Referrals", "Help"):
            assert description in text
        assert "worklist.rounds" in text
        assert "Id (for [keymap])" in text  # the heading keeps its brackets (no markup)
        await pilot.press("escape")
        assert isinstance(app.screen, WorklistScreen)


async def test_command_palette_keeps_system_commands_and_runs_intents(app_services, tmp_path):
    exports = tmp_path / "exports"
    app = make_app(app_services, settings(exports_folder=exports))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"all nurses")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.everyone is True
        await pilot.press("ctrl+p", *"quit")
        await settle(pilot)
        # Textual's own "Quit the application" is still offered.
        assert any("Quit" in prompt for prompt in palette_prompts(app))
        await pilot.press("escape")
        # Textual's key panel is not: "Help" (?) lists every key.
        await pilot.press("ctrl+p", *"keys")
        await settle(pilot)
        assert not any(prompt.startswith("Keys") for prompt in palette_prompts(app))
        await pilot.press("escape")
        # The screenshot: into the exports folder, private, on the audit trail.
        await pilot.press("ctrl+p", *"screenshot")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        (picture,) = exports.iterdir()
        assert picture.name == "screenshot-2026-11-27-090000.svg"
        assert stat.S_IMODE(picture.stat().st_mode) == 0o600
        assert stat.S_IMODE(exports.stat().st_mode) == 0o700
        svg = picture.read_text()
        assert svg.startswith("<svg") and "Today" in svg
        assert "Search for commands" not in svg  # the worklist, not the palette over it
        (toast,) = app._notifications
        assert str(picture) in toast.message
    start, end = app_services.audit.list_events(entity="screenshot")[::-1]
    assert (start.action, end.action) == ("export", "export-finished")
    assert start.changed_fields == ("format:svg", "screen:worklist", "to:file")
    assert "outcome:completed" in end.changed_fields


def palette_prompts(app) -> list[str]:
    """The commands the open palette offers, as text (not its "No matches found")."""
    options = app.screen.query_one(OptionList)
    offered = [options.get_option_at_index(i) for i in range(options.option_count)]
    return [str(option.prompt) for option in offered if not option.disabled]


async def test_keys_are_remapped_from_settings(app_services):
    app = make_app(app_services, settings(keymap={"worklist.everyone": "e"}))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert app.screen.everyone is True


async def test_first_run_asks_for_the_nurse_once(engine, clock):
    services = make_services(engine, clock)
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        # Passwords are off, and the welcome says how an admin turns them on.
        intro = " ".join(text_of(app.screen.query_one("#form-intro")).split())
        assert "Passwords are off until an admin account is added." in intro
        assert 'nursecase user add USERNAME --name "Full Name"' in intro
        await pilot.press("enter", "enter", "enter")  # empty username: refused, nothing written
        await settle(pilot)
        assert services.nurses.count() == 0
        assert "Username is required" in text_of(app.screen.query_one("#form-error"))
        assert app.screen.focused is app.screen.query_one("#field-username")
        await pilot.press(*"jlee", "enter", *"Jordan Lee", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        nurses = services.nurses.list_nurses()
        assert [(nurse.username, nurse.display_name) for nurse in nurses] == [
            ("jlee", "Jordan Lee")
        ]
        assert services.context.nurse_name == "Jordan Lee"


async def test_several_nurses_are_offered_a_picker(seeded_engine, clock):
    services = make_services(seeded_engine, clock)
    nurses = services.nurses.list_nurses()
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NursePickerScreen)
        message = app.screen.query_one("#sign-in-message")
        # Disabled meanwhile (another workstation): refused by name, until the next key.
        with seeded_engine.begin() as connection:
            connection.execute(
                text("UPDATE nurse SET active = 0 WHERE id = :id"), {"id": nurses[0].id}
            )
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NursePickerScreen)
        assert services.context.nurse_id is None
        expected = f"{nurses[0].display_name} can no longer sign in here. Choose another nurse."
        assert text_of(message).strip() == expected
        await pilot.press("down")
        await settle(pilot)
        assert not message.display
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert services.context.nurse_id == nurses[1].id
        logins = [event for event in services.audit.list_events() if event.action == "login"]
        assert logins and logins[0].nurse_username == nurses[1].username


async def test_demo_shows_demo_in_the_header(app_services):
    app = make_app(app_services, settings(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.title == "nursecase DEMO · no passwords"


async def test_a_demo_with_passwords_does_not_say_it_has_none(app_services):
    from argon2 import PasswordHasher

    app_services.accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    app_services.accounts.add("root", "Rita Root", "correct horse battery")
    app = make_app(app_services, settings(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.title == "nursecase DEMO"
