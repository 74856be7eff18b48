"""The assessment entry dialog and the instrument picker, driven by keys only.

The dialogs are pushed on the real app (the patient detail screen will push
them); every test asserts on what the dialog shows and on what the services
hold afterwards. The snapshot uses a bare host app so that the worklist behind
the dialog cannot change it.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from textual.app import App
from textual.widgets import Input, Static

from nursecase.app import make_app
from nursecase.domain.instruments import INSTRUMENTS
from nursecase.screens.assessment_entry import (
    OPTION_KEYS,
    PHQ9_SAFETY_WARNING,
    AssessmentEntryScreen,
    ConfirmDiscardScreen,
    InstrumentPickerScreen,
    ItemSheet,
)
from nursecase.screens.help import HelpScreen
from nursecase.services.assessments import AssessmentResult
from tests.conftest import FROZEN_NOW
from tests.domain.test_instruments import FULL_ENTRIES
from tests.tui.conftest import SIZE, settings, settle, text_of

PATIENT_NAME = "Entry, Quinn"


@pytest.fixture
def patient(app_services):
    """A fresh patient with no assessments and no tasks."""
    return app_services.patients.create("AE-100", "Entry", "Quinn")


async def press(pilot, *keys: str) -> None:
    """Press keys, then let what they started settle.

    The entry screen moves its cursor once the screen has refreshed (to the
    first item skipped, to the next one): a read straight after Pilot's own
    idle check could come before that (seen in CI, under load).
    """
    await pilot.press(*keys)
    await settle(pilot)


async def open_entry(pilot, services, patient_id: int, code: str) -> list:
    """Push the entry dialog for ``code``; the returned list receives its dismiss value."""
    results: list = []
    await settle(pilot)
    pilot.app.push_screen(
        AssessmentEntryScreen(services, patient_id, PATIENT_NAME, code), results.append
    )
    await settle(pilot)
    assert isinstance(pilot.app.screen, AssessmentEntryScreen)
    return results


def shown(app, widget_id: str) -> str:
    """The plain text of one line of the dialog."""
    return text_of(app.screen.query_one(f"#{widget_id}", Static)).strip()


def visible(app, widget_id: str) -> bool:
    return app.screen.query_one(f"#{widget_id}", Static).display


async def replace_input(pilot, text: str) -> None:
    """Tab to the performed-at field, clear it and type ``text``."""
    await press(pilot, "tab")
    assert isinstance(pilot.app.focused, Input)
    await press(pilot, "home", "ctrl+k", *text)


#: LACE: values differ from keys, so the dialog's key-to-value step shows. Every
#: instrument's keys, values, total and band are the domain's table
#: (tests/domain/test_instruments.py::test_a_full_entry_by_option_keys_scores_every_instrument);
#: the dialog is generic over the definitions, so one instrument drives it here.
BY_KEYS = [entry for entry in FULL_ENTRIES if entry[0] == "lace"]


@pytest.mark.parametrize(
    ("code", "keys", "expected_answers", "total", "band"),
    BY_KEYS,
    ids=[case[0] for case in BY_KEYS],
)
async def test_full_entry_by_keys_saves_answers_total_band_and_variant(
    app_services, patient, code, keys, expected_answers, total, band
):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, code)
        count = len(keys)
        assert shown(app, "entry-total") == f"0 so far, 0 of {count} answered"
        await press(pilot, keys[0])
        first_value = next(iter(expected_answers.values()))
        assert shown(app, "entry-total") == f"{first_value} so far, 1 of {count} answered"
        await press(pilot, *keys[1:])
        assert shown(app, "entry-total") == f"All {count} answered. Total {total}: {band}"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, AssessmentEntryScreen)

    assert len(results) == 1
    result = results[0]
    assert isinstance(result, AssessmentResult)
    assert result.assessment.total == total
    assert result.assessment.band == band
    assert result.assessment.variant == "standard"
    assert dict(result.assessment.answers) == expected_answers
    assert result.safety_task_id is None
    stored = app_services.assessments.list_for_patient(patient.id)
    assert len(stored) == 1
    assert stored[0].instrument == code
    assert (stored[0].total, stored[0].band, stored[0].variant) == (total, band, "standard")
    assert stored[0].answers == tuple(expected_answers.items())
    assert stored[0].performed_at == FROZEN_NOW
    assert app_services.tasks.list_for_patient(patient.id) == []


async def test_phq9_item9_above_0_warns_live_and_creates_the_urgent_safety_task(
    app_services, patient
):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "phq-9")
        assert not visible(app, "entry-warning")
        # Straight to item 9: the warning must not wait for the other items.
        await press(pilot, *["down"] * 8, "1")
        assert shown(app, "entry-total") == "1 so far, 1 of 9 answered"
        assert visible(app, "entry-warning")
        assert shown(app, "entry-warning") == PHQ9_SAFETY_WARNING
        # The last item answered, the cursor goes back to the first one skipped.
        assert app.screen.current == 0
        # Taking the answer back takes the warning away.
        await press(pilot, *["down"] * 8, "backspace")
        assert app.screen.current == 7
        assert not visible(app, "entry-warning")
        assert shown(app, "entry-total") == "0 so far, 0 of 9 answered"
        await press(pilot, *["up"] * 7, *["0"] * 8, "1")
        assert shown(app, "entry-total") == "All 9 answered. Total 1: minimal"
        assert shown(app, "entry-warning") == PHQ9_SAFETY_WARNING
        assert app_services.tasks.list_for_patient(patient.id) == []
        await press(pilot, "ctrl+s")
        await settle(pilot)

    [result] = results
    assert result.safety_task_id is not None
    assert result.assessment.answer("item9") == 1
    [task] = app_services.tasks.list_for_patient(patient.id)
    assert task.id == result.safety_task_id
    assert (task.priority, task.source, task.is_open) == ("urgent", "assessment-trigger", True)
    assert task.source_id == result.assessment.id
    flags = app_services.assessments.open_safety_flags(patient.id)
    assert [flag.id for flag in flags] == [result.assessment.id]


async def test_up_down_and_k_j_change_an_earlier_answer(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "gad-7")
        screen = app.screen
        await press(pilot, *["2"] * 7)
        assert shown(app, "entry-total") == "All 7 answered. Total 14: moderate"
        await press(pilot, "up", "up", "up")
        assert screen.current == 3
        assert shown(app, "current-prompt").startswith("Item 4 of 7")
        await press(pilot, "0")  # item 4 becomes 0; the cursor moves on to item 5
        assert screen.current == 4
        await press(pilot, "k", "k", "k", "k", "3", "j")  # item 1 becomes 3
        assert screen.current == 2
        assert shown(app, "entry-total") == "All 7 answered. Total 13: moderate"
        await press(pilot, "ctrl+s")
        await settle(pilot)

    [result] = results
    assert dict(result.assessment.answers) == {
        "item1": 3,
        "item2": 2,
        "item3": 2,
        "item4": 0,
        "item5": 2,
        "item6": 2,
        "item7": 2,
    }
    [stored] = app_services.assessments.list_for_patient(patient.id)
    assert stored.total == 13 and stored.answer("item4") == 0 and stored.answer("item1") == 3


async def test_backspace_clears_the_current_answer_and_goes_back_one(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "phq-2")
        screen = app.screen
        await press(pilot, "2", "1")
        assert shown(app, "entry-total") == "All 2 answered. Total 3: positive"
        assert shown(app, "entry-suggestions") == "PHQ-2 positive: suggest a PHQ-9"
        await press(pilot, "backspace")  # clears item 2, back on item 1
        assert screen.current == 0
        assert shown(app, "entry-total") == "2 so far, 1 of 2 answered"
        assert not visible(app, "entry-suggestions")
        await press(pilot, "0", "1")
        assert shown(app, "entry-total") == "All 2 answered. Total 1: negative"
        await press(pilot, "ctrl+s")
        await settle(pilot)

    [result] = results
    assert dict(result.assessment.answers) == {"item1": 0, "item2": 1}
    assert result.assessment.band == "negative" and result.suggestions == ()


async def test_a_key_that_is_no_option_of_the_item_is_refused(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await open_entry(pilot, app_services, patient.id, "morse")
        screen = app.screen
        await press(pilot, "2")  # history of falling takes only 0 or 1
        assert screen.answers == {} and screen.current == 0
        assert shown(app, "entry-error") == "2 is not an answer to item 1; use 0 1"
        await press(pilot, "1")
        assert screen.answers == {"history_of_falling": 25}
        assert not visible(app, "entry-error")


async def test_save_with_a_missing_item_names_it_goes_there_and_writes_nothing(
    app_services, patient
):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "phq-9")
        screen = app.screen
        # Skip item 2; after the last item the cursor returns to it.
        await press(pilot, "1", "down", *["1"] * 7)
        assert screen.current == 1
        assert shown(app, "entry-total") == "8 so far, 8 of 9 answered"
        await press(pilot, "up")
        await press(pilot, "tab")  # into the time field, away from the answers
        assert isinstance(app.focused, Input)
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AssessmentEntryScreen)
        assert shown(app, "entry-error") == (
            "Item 2 (Feeling down, depressed, or hopeless) is not answered; nothing was saved"
        )
        assert screen.current == 1
        assert isinstance(app.focused, ItemSheet)
        assert len(screen.answers) == 8
        # Now the keys answer item 2 again, and the save goes through.
        await press(pilot, "0", "ctrl+s")
        await settle(pilot)

    assert results[0].assessment.answer("item2") == 0
    assert len(app_services.assessments.list_for_patient(patient.id)) == 1


async def test_nothing_is_written_while_an_item_is_missing(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "katz-adl")
        await press(pilot, "1", "1", "1", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AssessmentEntryScreen)
        assert "Item 4 (Transferring" in shown(app, "entry-error")
    assert results == []
    assert app_services.assessments.list_for_patient(patient.id) == []


async def test_a_future_performed_at_is_refused_naming_the_field_and_answers_are_kept(
    app_services, patient
):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "phq-2")
        screen = app.screen
        assert screen.query_one("#performed-at", Input).value == "2026-11-27 09:00"
        await press(pilot, "3", "2")
        await replace_input(pilot, "2026-11-28 09:00")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, AssessmentEntryScreen)
        assert shown(app, "entry-error") == "Performed at: must not be in the future"
        assert app.focused is screen.query_one("#performed-at", Input)
        assert screen.answers == {"item1": 3, "item2": 2}
        assert app_services.assessments.list_for_patient(patient.id) == []

        await press(pilot, "home", "ctrl+k", *"yesterday", "ctrl+s")
        await settle(pilot)
        assert shown(app, "entry-error") == (
            "Performed at: must be a date and time as YYYY-MM-DD HH:MM"
        )
        assert app_services.assessments.list_for_patient(patient.id) == []

        await press(pilot, "home", "ctrl+k", *"2026-11-26 14:30", "enter")
        assert isinstance(app.focused, ItemSheet)
        await press(pilot, "ctrl+s")
        await settle(pilot)

    [result] = results
    assert result.assessment.performed_at == datetime(2026, 11, 26, 14, 30)
    [stored] = app_services.assessments.list_for_patient(patient.id)
    assert stored.performed_at == datetime(2026, 11, 26, 14, 30) and stored.total == 5


async def test_escape_after_answers_asks_before_discarding(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "braden")
        entry = app.screen
        await press(pilot, "2", "3")
        await press(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDiscardScreen)
        question = text_of(app.screen.query_one("#discard-question", Static))
        assert "Discard the 2 answers given for Braden?" in question
        await press(pilot, "n")  # keep answering
        await settle(pilot)
        assert app.screen is entry
        assert entry.answers == {"sensory_perception": 2, "moisture": 3}
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "escape")  # escape on the question also keeps the answers
        await settle(pilot)
        assert app.screen is entry and len(entry.answers) == 2
        await press(pilot, "escape")
        await settle(pilot)
        await press(pilot, "y")
        await settle(pilot)
        assert not isinstance(app.screen, AssessmentEntryScreen | ConfirmDiscardScreen)

    assert results == [None]
    assert app_services.assessments.list_for_patient(patient.id) == []
    assert app_services.tasks.list_for_patient(patient.id) == []


async def test_escape_with_no_answers_closes_at_once_and_writes_nothing(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_entry(pilot, app_services, patient.id, "lace")
        await press(pilot, "escape")
        await settle(pilot)
        assert not isinstance(app.screen, AssessmentEntryScreen | ConfirmDiscardScreen)
    assert results == [None]
    assert app_services.assessments.list_for_patient(patient.id) == []


async def test_the_help_lists_the_dialog_keys_by_id(app_services, patient):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await open_entry(pilot, app_services, patient.id, "phq-9")
        await press(pilot, "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        listed = text_of(app.screen.query_one(Static))
        for binding_id in (
            "assessment.previous",
            "assessment.next",
            "assessment.clear",
            "assessment.save",
            "assessment.cancel",
            "assessment.answer_0",
            "assessment.answer_3",
        ):
            assert binding_id in listed
        await press(pilot, "escape")
        await settle(pilot)
        assert isinstance(app.screen, AssessmentEntryScreen)


def test_option_keys_never_collide_with_the_dialog_keys():
    """A new instrument with an option key "j" (say) would silently stop the cursor."""
    answer_keys = set(OPTION_KEYS)
    for binding in AssessmentEntryScreen.BINDINGS:
        if binding.action.startswith("answer("):
            continue
        keys = {key.strip() for key in binding.key.split(",")}
        assert not keys & answer_keys, binding.id
    for definition in INSTRUMENTS.values():
        for item in definition.items:
            keys = [option.key for option in item.options]
            assert len(set(keys)) == len(keys), (definition.code, item.code)


# ------------------------------------------------------------------ the picker


async def open_picker(pilot) -> list:
    results: list = []
    await settle(pilot)
    pilot.app.push_screen(InstrumentPickerScreen(PATIENT_NAME), results.append)
    await settle(pilot)
    assert isinstance(pilot.app.screen, InstrumentPickerScreen)
    return results


async def test_the_picker_lists_seven_instruments_with_their_keys(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot)
        option_list = app.screen.query_one("#instruments")
        prompts = [str(option_list.get_option_at_index(index).prompt) for index in range(7)]
        assert option_list.option_count == 7
        assert prompts[0].startswith("1  LACE") and "LACE index for readmission risk" in prompts[0]
        assert prompts[1].startswith("2  PHQ-9") and "Patient Health Questionnaire-9" in prompts[1]
        assert prompts[6].startswith("7  Katz ADL")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        # "1" and "2" are also app keys; "7" is the last. Every other number picks
        # the same way (the listing test pins which instrument each number is).
        (["1"], "lace"),
        (["2"], "phq-9"),
        (["7"], "katz-adl"),
        (["enter"], "lace"),
        (["down", "down", "down", "enter"], "gad-7"),
        (["escape"], None),
    ],
)
async def test_the_picker_chooses_by_key_or_arrows_and_enter(app_services, keys, expected):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        results = await open_picker(pilot)
        await press(pilot, *keys)
        await settle(pilot)
        assert not isinstance(app.screen, InstrumentPickerScreen)
        # "1" and "2" are app keys (worklist, referrals); the picker must keep them.
        assert app.current_mode == "worklist"
    assert results == [expected]


# ---------------------------------------------------------------- the snapshot


class EntryHost(App[None]):
    """A bare app that opens the entry dialog at once (nothing behind it to change)."""

    def __init__(self, services, patient_id: int) -> None:
        super().__init__()
        self.services = services
        self.patient_id = patient_id

    def on_mount(self) -> None:
        self.push_screen(
            AssessmentEntryScreen(self.services, self.patient_id, PATIENT_NAME, "phq-9")
        )


class TestAssessmentEntry:
    def test_phq9_half_filled(self, app_services, patient, snap_compare):
        async def run_before(pilot):
            await settle(pilot)
            await press(pilot, "1", "2", "0", "3", "1")
            await settle(pilot)

        assert snap_compare(
            EntryHost(app_services, patient.id), terminal_size=SIZE, run_before=run_before
        )
