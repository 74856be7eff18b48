"""The app driven by keys only, asserting on the screen and on the database."""

from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList, Static

from nursecase.app import make_app
from nursecase.screens.caseload import CaseloadScreen
from nursecase.screens.help import HelpScreen
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.referral_queue import ReferralQueueScreen
from nursecase.screens.sign_in import FirstNurseScreen, NursePickerScreen
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of


def _status(app) -> str:
    return text_of(app.screen.query_one("#status", Static))


async def test_launch_shows_my_caseload_then_quits(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)
        table = app.screen.query_one("#patients", DataTable)
        mine = app_services.patients.count(nurse_id=app_services.context.nurse_id)
        assert table.row_count == mine > 0
        assert app.sub_title.startswith(app_services.context.nurse_name)
        assert "Fri 27 Nov 2026" in app.sub_title
        await pilot.press("down", "down", "up")
        assert table.cursor_row == 1
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_enter_opens_the_patient_and_records_a_view(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#patients", DataTable)
        await pilot.press("down")
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        patient = app_services.patients.get(int(row_key.value))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientDetailScreen)
        header = text_of(app.screen.query_one("#patient-header", Static))
        assert f"MRN {patient.mrn}" in header
        assert patient.family_name in header
        body = text_of(app.screen.query_one("#chart-body", Static))
        assert "Medications" in body and "Referrals" in body
        views = app_services.audit.list_events(entity="patient", entity_id=patient.id)
        assert any(event.action == "view" for event in views)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)


async def test_search_filters_as_you_type_and_escape_clears(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#patients", DataTable)
        everyone_mine = table.row_count
        first = app_services.patients.list_page(nurse_id=app_services.context.nurse_id, limit=1)[0]
        prefix = first.family_name[:3].lower()
        await pilot.press("slash", *prefix)
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == prefix
        expected = app_services.patients.count(
            nurse_id=app_services.context.nurse_id, search=prefix
        )
        assert table.row_count == expected
        assert 0 < expected < everyone_mine
        assert f'matching "{prefix}"' in _status(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == ""
        assert table.row_count == everyone_mine


async def test_a_widens_to_every_nurse(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#patients", DataTable)
        await pilot.press("a")
        await settle(pilot)
        assert table.row_count == app_services.patients.count() == 40
        assert "all nurses" in _status(app)


async def test_referral_mode_lists_open_referrals_and_opens_the_patient(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ReferralQueueScreen)
        table = app.screen.query_one("#referrals", DataTable)
        expected = app_services.referrals.list_for_nurse(nurse_id=app_services.context.nurse_id)
        assert table.row_count == len(expected) > 0
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientDetailScreen)
        assert app.screen.patient_id == expected[0].patient_id
        await pilot.press("escape", "1")
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)


async def test_help_lists_every_key(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app.screen.query_one("#help-body Static"))
        for description in ("Search", "Open", "All nurses", "Worklist", "Referrals", "Help"):
            assert description in text
        await pilot.press("escape")
        assert isinstance(app.screen, CaseloadScreen)


async def test_command_palette_keeps_system_commands_and_runs_intents(app_services):
    app = make_app(app_services, settings())
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
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Quit" in prompt for prompt in prompts)
        await pilot.press("escape")


async def test_keys_are_remapped_from_settings(app_services):
    app = make_app(app_services, settings(keymap={"caseload.everyone": "e"}))
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
        assert isinstance(app.screen, FirstNurseScreen)
        await pilot.press("enter")  # empty username: refused, nothing written
        await settle(pilot)
        await pilot.press(*"Bad Name!")
        # The focus moved to the next field on enter; go back and fix the username.
        assert services.nurses.count() == 0
        app.screen.query_one("#username", Input).focus()
        app.screen.query_one("#username", Input).value = ""
        await pilot.press(*"jlee", "enter", *"Jordan Lee", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)
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
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseloadScreen)
        assert services.context.nurse_id == nurses[1].id
        logins = [event for event in services.audit.list_events() if event.action == "login"]
        assert logins and logins[0].nurse_username == nurses[1].username


async def test_demo_shows_demo_in_the_header(app_services):
    app = make_app(app_services, settings(demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "DEMO" in app.title


async def test_slash_and_a_name_typed_in_one_burst_all_land_in_the_search(app_services):
    """A real terminal delivers "/bai" at once; no letter may go to the table."""
    from textual import events

    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app_services.patients.list_page(nurse_id=app_services.context.nurse_id, limit=1)[0]
        prefix = first.family_name[:3].lower()
        for key, character in [("slash", "/"), *[(letter, letter) for letter in prefix]]:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == prefix
        assert f'matching "{prefix}"' in _status(app)
