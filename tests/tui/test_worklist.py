"""The worklist screen driven by keys: views, search, filters, sort, rounds and actions.

Each test asserts on what the screen shows and on what the database holds.
"""

from __future__ import annotations

from datetime import date

import pytest
from textual import events
from textual.widgets import Input, Select, Static

from nursecase.app import make_app
from nursecase.domain.worklist import DueKind
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.worklist import WorklistScreen
from nursecase.services import make_services
from tests.tui.conftest import SIZE, lines_of, settings, settle, text_of


def status(app) -> str:
    return text_of(app.screen.query_one("#status", Static))


def key_of(row) -> int:
    return getattr(row, "patient_id", None) or row.id


@pytest.mark.both_backends
async def test_today_shows_the_ranked_worklist_with_its_why(app_services):
    app = make_app(app_services, settings())
    expected = app_services.worklist.today(app_services.context.nurse_id)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WorklistScreen) and screen.view == "today"
        assert screen.table.row_count == len(expected) > 0
        assert key_of(screen.table.cursor_row) == expected[0].patient_id
        await pilot.press("down")
        assert key_of(screen.table.cursor_row) == expected[1].patient_id
        assert f"Today: {len(expected)} patients" in status(app)
        assert expected[0].reasons[0][:20] in lines_of(screen.table)


async def test_t_switches_to_the_caseload_and_a_widens_it(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        mine = app_services.patients.count(nurse_id=app_services.context.nurse_id)
        assert screen.view == "caseload" and screen.table.row_count == mine
        await pilot.press("a")
        await settle(pilot)
        assert screen.table.row_count == app_services.patients.count() == 40
        assert "all nurses" in status(app)
        await pilot.press("t")
        await settle(pilot)
        assert screen.view == "today"
        assert screen.table.row_count == len(app_services.worklist.today(None))


@pytest.mark.both_backends
async def test_search_from_today_goes_to_the_caseload_and_escape_returns(app_services):
    app = make_app(app_services, settings())
    nurse_id = app_services.context.nurse_id
    first = app_services.patients.list_page(nurse_id=nurse_id, limit=1)[0]
    prefix = first.family_name[:3].lower()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *prefix)
        await settle(pilot)
        screen = app.screen
        assert screen.view == "caseload"
        assert screen.table.row_count == app_services.patients.count(
            nurse_id=nurse_id, search=prefix
        )
        assert f'matching "{prefix}"' in status(app)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == ""
        assert screen.view == "today"


async def test_slash_and_a_name_typed_in_one_burst_all_land_in_the_search(app_services):
    """A real terminal delivers "/bai" at once; no letter may go to the table."""
    app = make_app(app_services, settings())
    first = app_services.patients.list_page(nurse_id=app_services.context.nurse_id, limit=1)[0]
    prefix = first.family_name[:3].lower()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, character in [("slash", "/"), *[(letter, letter) for letter in prefix]]:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == prefix
        assert f'matching "{prefix}"' in status(app)


async def test_down_from_the_search_goes_into_the_results_and_enter_opens_the_highlighted(
    app_services,
):
    """/, a name, down: the first result is highlighted in the list; down, enter opens the next."""
    app = make_app(app_services, settings())
    nurse_id = app_services.context.nurse_id
    prefix = next(
        family[:2].lower()
        for family in (row.family_name for row in app_services.patients.list_page(nurse_id))
        if app_services.patients.count(nurse_id=nurse_id, search=family[:2].lower()) >= 2
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *prefix)
        await settle(pilot)
        screen = app.screen
        first = key_of(screen.table.cursor_row)
        await pilot.press("down")
        await settle(pilot)
        assert screen.focused is screen.table
        assert key_of(screen.table.cursor_row) == first
        await pilot.press("down")
        second = key_of(screen.table.cursor_row)
        assert second != first
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientDetailScreen)
        assert app.screen.patient_id == second


async def choose(pilot, select_id: str, label: str) -> None:
    """Pick ``label`` in a compact Select by keys: focus, open, type to jump, enter."""
    select = pilot.app.screen.query_one(f"#{select_id}", Select)
    select.focus()
    await pilot.press("enter")
    await pilot.pause()
    for _ in range(12):
        if str(pilot.app.screen.query_one(f"#{select_id}", Select).selection or "") == label:
            break
        current = select.query_one("SelectOverlay")
        highlighted = current.highlighted
        option = current.get_option_at_index(highlighted) if highlighted is not None else None
        if option is not None and str(option.prompt) == label:
            await pilot.press("enter")
            await pilot.pause()
            return
        await pilot.press("down")
        await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_filter_by_risk_tier_from_the_keyboard(app_services):
    app = make_app(app_services, settings())
    nurse_id = app_services.context.nurse_id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        await choose(pilot, "field-risk_tier", "High")
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = app.screen
        assert screen.view == "caseload"
        expected = app_services.patients.count(nurse_id=nurse_id, risk_tier="high")
        assert screen.table.row_count == expected > 0
        assert screen.table.cursor_row.risk_tier == "high"
        assert "filters: high risk" in status(app)
        await pilot.press("x")
        await settle(pilot)
        assert screen.table.row_count == app_services.patients.count(nurse_id=nurse_id)


async def test_sort_by_age_and_reverse(app_services):
    app = make_app(app_services, settings())
    nurse_id = app_services.context.nurse_id
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # Name, MRN, Age
        await settle(pilot)
        screen = app.screen
        youngest = app_services.patients.list_page(nurse_id=nurse_id, sort="age", limit=1)[0]
        assert screen.table.cursor_row.id == youngest.id
        assert "sorted by Age ▲" in status(app)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("enter")  # the current column again: reverse
        await settle(pilot)
        oldest = app_services.patients.list_page(
            nurse_id=nurse_id, sort="age", descending=True, limit=1
        )[0]
        assert screen.table.cursor_row.id == oldest.id
        assert "sorted by Age ▼" in status(app)


async def test_rounds_step_through_today_with_the_card(app_services):
    app = make_app(app_services, settings())
    expected = app_services.worklist.today(app_services.context.nurse_id)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        screen = app.screen
        assert screen.rounds and screen.card_visible
        card = text_of(screen.query_one("#card-body", Static))
        assert expected[0].mrn in card and "Problems" in card
        assert "rounds: patient 1 of" in status(app)
        await pilot.press("n")
        await pilot.pause(0.3)
        await settle(pilot)
        assert key_of(screen.table.cursor_row) == expected[1].patient_id
        assert expected[1].mrn in text_of(screen.query_one("#card-body", Static))
        await pilot.press("p")
        await settle(pilot)
        assert key_of(screen.table.cursor_row) == expected[0].patient_id
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.rounds and not screen.card_visible


async def test_c_logs_a_contact_in_one_transaction(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.screen.table.cursor_row
        before = app_services.contacts.list_for_patient(row.patient_id)
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        assert dialog.query_one("#field-minutes", Input).value == "1"
        dialog.query_one("#field-minutes", Input).value = ""
        dialog.query_one("#field-minutes", Input).focus()
        await pilot.press(*"25")
        dialog.query_one("#field-note").focus()
        await pilot.press(*"Reviewed [PRN] doses")
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Today's first patient has an open safety flag: a safety check is offered next.
        assert row.group == 0 and isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        after = app_services.contacts.list_for_patient(row.patient_id)
        assert len(after) == len(before) + 1
        newest = after[0]
        assert (newest.minutes, newest.note, newest.mode, newest.outcome) == (
            25,
            "Reviewed [PRN] doses",
            "phone",
            "reached",
        )


async def test_contact_dialog_refuses_bad_minutes_and_keeps_what_was_typed(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.screen.table.cursor_row
        before = len(app_services.contacts.list_for_patient(row.patient_id))
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#field-minutes", Input).value = "0"
        dialog.query_one("#field-note").focus()
        await pilot.press(*"kept")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "Minutes must be a whole number" in text_of(dialog.query_one("#form-error", Static))
        assert dialog.focused is dialog.query_one("#field-minutes")
        assert dialog.query_one("#field-note").text == "kept"
        assert len(app_services.contacts.list_for_patient(row.patient_id)) == before
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)


def _task_state(services, task_id):
    return services.tasks.get(task_id)


async def _move_to_kind(pilot, kinds, patient_id: int | None = None) -> object:
    screen = pilot.app.screen
    for _ in range(screen.table.row_count):
        row = screen.table.cursor_row
        if row.due_item.kind in kinds and patient_id in (None, row.patient_id):
            return row
        await pilot.press("down")
        await settle(pilot)
    raise AssertionError(f"no row with a {kinds} item")


async def test_d_completes_the_due_task_and_u_undoes_it(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Not a safety row: only a safety check completes those (tests/tui/test_safety_check.py).
        row = await _move_to_kind(pilot, {DueKind.task, DueKind.tcm})
        task_id = row.due_item.item_id
        assert _task_state(app_services, task_id).status != "completed"
        place = app.screen.table.cursor_index
        await pilot.press("d")
        await settle(pilot)
        assert _task_state(app_services, task_id).status == "completed"
        assert app.screen.table.cursor_index == place  # the cursor kept its place
        assert "u to undo" in status(app)
        await pilot.press("u")
        await settle(pilot)
        assert _task_state(app_services, task_id).status != "completed"


async def test_d_on_a_contact_due_moves_the_next_contact_by_the_cadence(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = await _move_to_kind(pilot, {DueKind.contact})
        await pilot.press("d")
        await settle(pilot)
        patient = app_services.patients.get(row.patient_id)
        assert patient.next_contact_due > date(2026, 11, 27)


async def test_s_snoozes_with_a_required_reason(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = await _move_to_kind(pilot, {DueKind.contact})
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await pilot.press("ctrl+s")  # no reason yet
        await settle(pilot)
        assert app.screen is dialog
        assert "Reason is required" in text_of(dialog.query_one("#form-error", Static))
        assert app_services.patients.get(row.patient_id).next_contact_due == row.next_contact_due
        dialog.query_one("#field-until", Input).value = "2026-12-04"
        dialog.query_one("#field-reason", Input).focus()
        await pilot.press(*"in hospital", "enter")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert app_services.patients.get(row.patient_id).next_contact_due == date(2026, 12, 4)
        snoozes = app_services.worklist.snoozes(row.patient_id)
        assert snoozes[0].reason == "in hospital"


async def test_enter_opens_the_patient_detail(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.screen.table.cursor_row
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PatientDetailScreen)
        assert app.screen.patient_id == row.patient_id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)


async def test_ctrl_n_enrols_a_patient_and_shows_them(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await pilot.press(*"A-9001", "enter", *"Nguyen", "enter", *"Lan", "enter")
        await pilot.press(*"1948-02-29", "enter")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        patient = app_services.patients.get_by_mrn("A-9001")
        assert patient is not None and patient.family_name == "Nguyen"
        assert patient.nurse_username == app_services.nurses.current().username
        assert app.screen.view == "caseload"
        assert app.screen.table.cursor_row.id == patient.id


async def test_new_patient_with_a_taken_mrn_is_refused(app_services):
    taken = app_services.patients.list_page(limit=1)[0].mrn
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press(*taken, "enter", *"Other", "enter", *"Person", "enter", "ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        assert "mrn" in text_of(dialog.query_one("#form-error", Static)).lower()
        assert app_services.patients.count() == 40


async def test_empty_caseload_says_how_to_start(engine, clock):
    services = make_services(engine, clock)
    services.nurses.create("jlee", "Jordan Lee", "RN")
    services.nurses.sign_in("jlee")
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = lines_of(app.screen.table)
        assert "no patients" in shown.lower() and "nursecase demo" in shown
        assert "ctrl+n" in shown


async def test_nothing_due_today_shows_the_next_due_date(engine, clock):
    services = make_services(engine, clock)
    services.nurses.create("jlee", "Jordan Lee", "RN")
    services.nurses.sign_in("jlee")
    services.patients.create("B-1", "Quiet", "Pat", next_contact_due=date(2026, 12, 1))
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = lines_of(app.screen.table)
        assert "Nothing due today" in shown and "Tue 01 Dec" in shown


async def test_a_note_typed_in_a_burst_then_ctrl_s_keeps_every_character(app_services):
    """ctrl+s must wait for the keys typed before it to reach the note."""
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.screen.table.cursor_row
        await pilot.press("c")
        await settle(pilot)
        app.screen.query_one("#field-note").focus()
        await pilot.pause()
        for character in "fast":
            app.post_message(events.Key(character, character))
        app.post_message(events.Key("ctrl+s", None))
        await settle(pilot)
        # The first patient has an open safety flag: "n" declines the offered safety check.
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        assert app_services.contacts.list_for_patient(row.patient_id)[0].note == "fast"


async def test_keys_before_the_list_has_the_focus_go_to_the_list_not_the_search(app_services):
    """A slow start or a detached terminal: the first key finds nothing focused."""
    from nursecase.screens.referral_queue import ReferralQueueScreen

    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.set_focus(None)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, ReferralQueueScreen)
        app.screen.set_focus(None)
        await pilot.press("1")
        await settle(pilot)
        worklist = app.screen
        assert isinstance(worklist, WorklistScreen)
        assert worklist.query_one("#search", Input).value == ""


async def test_a_reading_alert_is_closed_by_a_note_on_d_and_by_a_contact_that_addresses_it(
    app_services, seeded_engine
):
    """Issue 20: an out-of-range reading puts its patient on Today with the why and
    OUT OF RANGE; d asks for a note and closes it; a contact whose "Addresses" box is
    ticked closes another, in the contact's transaction."""
    from sqlalchemy.orm import Session
    from textual.widgets import Checkbox

    from nursecase.db.models import ReadingAlert

    nurse_id = app_services.context.nurse_id
    mine = [row.id for row in app_services.patients.list_page(nurse_id=nurse_id, limit=40)]
    flags = app_services.worklist.flags_for(mine)
    patient_id = next(patient for patient in mine if not flags[patient])
    when = "2026-11-27 08:00"
    app_services.readings.key(patient_id, {"glucose": (340, "mg/dL")}, when)
    app_services.readings.key(
        patient_id, {"systolic": (184, "mm[Hg]"), "diastolic": (121, "mm[Hg]")}, when
    )
    glucose, pressure = sorted(
        app_services.readings.alerts(patient_id, open_only=True), key=lambda alert: alert.id
    )
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = await _move_to_kind(pilot, {DueKind.reading}, patient_id)
        shown = lines_of(app.screen.table)
        assert glucose.why in shown and "OUT OF RANGE" in shown

        await pilot.press("d")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog) and glucose.why in dialog.form_title
        await pilot.press(*"Called: sugar 180 now, snack taken")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        with Session(seeded_engine) as session:
            closed = session.get(ReadingAlert, glucose.id)
            assert (closed.status, closed.note) == ("closed", "Called: sugar 180 now, snack taken")
        row = app.screen.table.cursor_row
        assert row.patient_id == patient_id and glucose.why not in row.why

        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        box = dialog.query_one(f"#field-addresses-{pressure.id}", Checkbox)
        assert not box.value  # a routine call never closes an alert by itself
        box.focus()
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        [contact] = app_services.contacts.list_for_patient(patient_id, limit=1)
        with Session(seeded_engine) as session:
            addressed = session.get(ReadingAlert, pressure.id)
            assert (addressed.status, addressed.contact_id) == ("closed", contact.id)
        assert all(
            row.patient_id != patient_id or DueKind.reading not in {i.kind for i in row.items}
            for row in app_services.worklist.today(nurse_id)
        )
