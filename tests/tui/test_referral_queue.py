"""The referral queue driven by keys, checked against the database afterwards."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from datetime import date, datetime

import pytest
from textual.widgets import DataTable, Input, OptionList

from nursecase.app import make_app
from nursecase.clock import FrozenClock
from nursecase.domain.codes import ReferralStatus
from nursecase.domain.referral_states import allowed_next
from nursecase.screens.choice_picker import ChoicePicker
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.referral_dialogs import (
    PatientPicker,
    ReferralForm,
    ReferralReadView,
    needs_form,
    transition_dialog,
)
from nursecase.screens.referral_queue import ReferralQueueScreen
from nursecase.screens.worklist import WorklistScreen
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.dialog_keys import choices_of, choose, focus_field, type_into

#: Service calls that walk a new referral to each status (the machine's own moves).
PATHS: dict[str, tuple[str, ...]] = {
    "draft": (),
    "requested": (),
    "received": ("received",),
    "accepted": ("accepted",),
    "ready": ("ready",),
    "in-progress": ("accepted", "in-progress"),
    "on-hold": ("accepted", "in-progress", "on-hold"),
    "completed": ("accepted", "in-progress", "completed"),
    "failed": ("accepted", "in-progress", "failed"),
    "cancelled": ("cancelled",),
    "rejected": ("rejected",),
    "entered-in-error": ("entered-in-error",),
}


def new_patient(services, mrn: str = "RQ-1", family: str = "Queue"):
    return services.patients.create(mrn, family, "Robin", birth_date=date(1950, 5, 6))


def referral_in(services, patient_id: int, status: str, organisation: str = "Valley PT"):
    """A physical therapy referral walked to ``status`` through the service."""
    referral = services.referrals.create(
        patient_id,
        "physical-therapy",
        organisation,
        "Gait training after a fall",
        send=status not in ("draft", "ready"),
    )
    for step in PATHS[status]:
        referral = services.referrals.transition(
            referral.id, step, referral.version, reason="set-up", outcome="set-up"
        )
    assert referral.status == status
    return referral


@asynccontextmanager
async def queue(services):
    """The real app on the referral queue: yields (pilot, screen)."""
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReferralQueueScreen)
        yield pilot, screen


def table_of(screen) -> DataTable:
    return screen.query_one("#referrals", DataTable)


def row_keys(screen) -> list[str]:
    return [key.value for key in table_of(screen).rows]


async def move_to(pilot, screen, referral_id: int) -> None:
    """Arrow keys until the cursor is on the referral's row."""
    table = table_of(screen)
    target = table.get_row_index(str(referral_id))
    for _ in range(table.row_count):
        if table.cursor_row == target:
            await settle(pilot)
            return
        await pilot.press("down" if table.cursor_row < target else "up")
    raise AssertionError(f"never reached referral {referral_id}")


def cell_texts(screen, referral_id: int) -> list[str]:
    return [str(cell) for cell in table_of(screen).get_row(str(referral_id))]


def picker_options(picker: ChoicePicker) -> list[tuple[str, bool]]:
    """(option id, enabled) in the order the picker shows them."""
    options = picker.query_one(OptionList)
    return [
        (options.get_option_at_index(index).id, not options.get_option_at_index(index).disabled)
        for index in range(options.option_count)
    ]


# ------------------------------------------------------------ status moves

#: What the form asks for on the way to each status, typed by the test.
FORM_ENTRIES = {
    "rejected": {"reason": "No capacity until January"},
    "cancelled": {"reason": "Patient declined"},
    "completed": {"outcome": "Six sessions done; walks with a cane"},
    "accepted": {"appointment_date": "2026-12-03"},
    "in-progress": {"appointment_date": "2026-12-04"},
    "on-hold": {"reason": "In hospital"},
    "failed": {"reason": "Three missed visits"},
    "entered-in-error": {"reason": "Wrong patient"},
}


#: Every legal move of the machine, (from, to).
LEGAL_MOVES = [
    (str(source), str(target)) for source in ReferralStatus for target in allowed_next(source)
]
#: The form's fields for each target, by name, in order (none: the move is made at once).
FORM_FIELDS = {
    "rejected": ["reason"],
    "cancelled": ["reason"],
    "completed": ["outcome"],
    "accepted": ["appointment_date", "reason"],
    "in-progress": ["appointment_date", "reason"],
    "on-hold": ["reason"],
    "failed": ["reason"],
    "entered-in-error": ["reason"],
}


def assert_moved(services, referral_id: int, source: str, target: str) -> None:
    """The referral is at ``target``, its history says from where, and kept what was typed."""
    saved = services.referrals.get(referral_id)
    assert saved.status == target, (source, target)
    last = services.referrals.history(referral_id)[-1]
    assert (last.from_status, last.to_status) == (source, target)
    entries = FORM_ENTRIES.get(target, {})
    if "reason" in entries:
        assert last.reason == entries["reason"]
    if "outcome" in entries:
        assert saved.outcome == entries["outcome"]
    if "appointment_date" in entries:
        assert saved.appointment_date == date.fromisoformat(entries["appointment_date"])


@pytest.mark.parametrize(
    ("source", "target"), LEGAL_MOVES, ids=[f"{a}->{b}" for a, b in LEGAL_MOVES]
)
def test_every_legal_move_asks_its_form_and_saves_what_it_asked(services, source, target):
    """Each move's form (the screen's own table), submitted as the dialog submits it.

    Which moves are legal, and in what order the picker lists them, is the
    domain's table (tests/domain/test_referral_states.py::test_every_transition
    and ::test_allowed_next_order_and_contents); each legal move through the
    service is tests/services/test_referrals.py::test_every_legal_transition_succeeds.
    The keys that choose and fill a move are driven once below (Pilot).
    """
    referral = referral_in(services, new_patient(services).id, source)
    wanted = FORM_FIELDS.get(target, [])
    assert needs_form(target) == bool(wanted)
    dialog = transition_dialog(services, referral, target)
    assert [field.name for field in dialog.fields] == wanted
    dialog.submit({name: FORM_ENTRIES[target].get(name, "") for name in wanted})
    assert_moved(services, referral.id, source, target)


async def test_a_legal_move_by_keys_with_and_without_a_form(services):
    """From "requested": received (no form) and rejected (a reason), made with x and a number."""
    patient = new_patient(services)
    targets = [str(target) for target in allowed_next("requested")]
    referrals = {target: referral_in(services, patient.id, "requested") for target in targets}
    async with queue(services) as (pilot, screen):
        for target in ("received", "rejected"):
            referral = referrals[target]
            await move_to(pilot, screen, referral.id)
            await pilot.press("x")
            await settle(pilot)
            picker = pilot.app.screen
            assert isinstance(picker, ChoicePicker)
            enabled = [value for value, is_enabled in picker_options(picker) if is_enabled]
            assert enabled == targets
            await pilot.press(str(targets.index(target) + 1))
            await settle(pilot)
            entries = FORM_ENTRIES.get(target)
            if entries:
                dialog = pilot.app.screen
                assert isinstance(dialog, FormDialog)
                for name, text in entries.items():
                    await type_into(pilot, name, text)
                await pilot.press("ctrl+s")
                await settle(pilot)
            assert pilot.app.screen is screen
            assert_moved(services, referral.id, "requested", target)


async def test_entered_in_error_is_final_and_offers_nothing(services):
    patient = new_patient(services)
    referral = referral_in(services, patient.id, "entered-in-error")
    async with queue(services) as (pilot, screen):
        await show_every_status(pilot, screen)
        await move_to(pilot, screen, referral.id)
        await pilot.press("x")
        await settle(pilot)
        picker = pilot.app.screen
        assert "This status is final." in text_of(picker.query_one("#picker-intro"))
        assert not [value for value, enabled in picker_options(picker) if enabled]
        await pilot.press("1", "enter")
        await settle(pilot)
        assert pilot.app.screen is picker
    assert services.referrals.get(referral.id).status == "entered-in-error"


async def show_every_status(pilot, screen) -> None:
    """/ and choose "Every status": closed referrals come into the list."""
    await pilot.press("slash")
    await settle(pilot)
    await choose(pilot, "status", "Every status")
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert screen.queue_filter.status == "all"


async def test_illegal_moves_are_shown_disabled_and_cannot_be_chosen(services):
    patient = new_patient(services)
    referral = referral_in(services, patient.id, "requested")
    async with queue(services) as (pilot, screen):
        await move_to(pilot, screen, referral.id)
        await pilot.press("x")
        await settle(pilot)
        picker = pilot.app.screen
        options = picker_options(picker)
        legal = ["received", "accepted", "rejected", "cancelled", "entered-in-error"]
        assert [value for value, enabled in options if enabled] == legal
        disabled = [value for value, enabled in options if not enabled]
        assert set(disabled) == {"draft", "ready", "in-progress", "on-hold", "failed", "completed"}
        assert "not from requested" in str(
            picker.query_one(OptionList).get_option(disabled[0]).prompt
        )
        # Number 6 would be the first disabled entry: nothing happens.
        await pilot.press("6")
        await settle(pilot)
        assert pilot.app.screen is picker
        # Arrows pass over the disabled entries: the last enabled one stays the end.
        await pilot.press(*["down"] * 12, "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, FormDialog)  # entered-in-error asks why
        await pilot.press("escape")
        await settle(pilot)
    assert services.referrals.get(referral.id).status == "requested"


@pytest.mark.both_backends
async def test_a_move_over_a_stale_copy_is_refused_in_the_form(services, engine, clock):
    patient = new_patient(services)
    referral = referral_in(services, patient.id, "requested")
    async with queue(services) as (pilot, screen):
        await move_to(pilot, screen, referral.id)
        # A colleague at another workstation accepts it meanwhile.
        other = make_services(engine, clock)
        other.nurses.create("blee", "Bo Lee")
        other.nurses.sign_in("blee")
        other.referrals.transition(referral.id, "received", referral.version)
        await pilot.press("x", "4")  # cancelled
        await settle(pilot)
        await type_into(pilot, "reason", "Not needed")
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, FormDialog)
        assert "Bo Lee" in text_of(dialog.query_one("#form-error"))
    assert services.referrals.get(referral.id).status == "received"


async def test_a_required_reason_is_named_and_nothing_is_written(services):
    patient = new_patient(services)
    referral = referral_in(services, patient.id, "requested")
    async with queue(services) as (pilot, screen):
        await move_to(pilot, screen, referral.id)
        await pilot.press("x", "3")  # rejected
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, FormDialog)
        assert text_of(dialog.query_one("#form-error")).startswith("Reason is required")
    assert services.referrals.get(referral.id).status == "requested"
    assert len(services.referrals.history(referral.id)) == 2


# ------------------------------------------------------ the highlighted row


async def test_home_end_and_every_key_act_on_the_highlighted_referral(services):
    """After a move the cursor stays with the moved referral; the next key acts where it is.

    Grouped by status, a move carries the referral into another group: the
    cursor follows it there (a reload once pulled it back to the first row),
    and a follow-up call made after moving the cursor on lands on the
    referral now under the cursor, as the database shows.
    """
    patient = new_patient(services)
    first = referral_in(services, patient.id, "requested", organisation="Alder PT")
    middle = referral_in(services, patient.id, "requested", organisation="Birch PT")
    last = referral_in(services, patient.id, "accepted", organisation="Cedar PT")
    async with queue(services) as (pilot, screen):
        await pilot.press("g", "2")  # group by status: headings between the referrals
        await settle(pilot)
        assert row_keys(screen) == [
            "group:Requested",
            str(first.id),
            str(middle.id),
            "group:Accepted",
            str(last.id),
        ]
        await pilot.press("end")
        await settle(pilot)
        assert screen.highlighted().id == last.id
        await pilot.press("home")  # the first referral, never the heading above it
        await settle(pilot)
        assert screen.highlighted().id == first.id
        await pilot.press("down", "x", "1")  # middle: requested -> received
        await settle(pilot)
        assert services.referrals.get(middle.id).status == "received"
        assert row_keys(screen) == [
            "group:Requested",
            str(first.id),
            "group:Received",
            str(middle.id),
            "group:Accepted",
            str(last.id),
        ]
        assert screen.highlighted().id == middle.id
        assert "Birch PT" in text_of(screen.query_one("#referral-detail"))
        await pilot.press("down", "f")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, FormDialog) and "Cedar PT" in dialog.intro
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
    called = {
        contact.referral_id
        for contact in services.contacts.list_for_patient(patient.id)
        if contact.referral_id is not None
    }
    assert called == {last.id}


# ------------------------------------------------------ aging and turnaround


def services_on(engine, day: datetime):
    """Alice's services with the clock stopped at ``day`` (to build a past)."""
    earlier = make_services(engine, FrozenClock(day))
    earlier.nurses.sign_in("alice")
    return earlier


async def test_days_in_status_aging_and_turnaround_from_the_history(services, engine):
    patient = new_patient(services)
    sent = services_on(engine, datetime(2026, 11, 2, 10, 0)).referrals.create(
        patient.id, "home-health", "Sunrise Home Health", "Wound care", priority="urgent"
    )
    accepted = services_on(engine, datetime(2026, 11, 6, 15, 0)).referrals.transition(
        sent.id, "accepted", sent.version
    )
    services_on(engine, datetime(2026, 11, 18, 9, 0)).referrals.transition(
        accepted.id, "in-progress", accepted.version
    )
    fresh = services_on(engine, datetime(2026, 11, 23, 9, 0)).referrals.create(
        patient.id, "nutrition", "Food Bank", "Meals", expected_reply_date="2026-11-25"
    )
    async with queue(services) as (pilot, screen):
        home_health = cell_texts(screen, sent.id)
        assert home_health[4:] == ["In progress", "9", "05 Nov", "8-14"]
        nutrition = cell_texts(screen, fresh.id)
        assert nutrition[4:] == ["Requested", "4", "25 Nov late", "0-7"]
        await move_to(pilot, screen, sent.id)
        pane = text_of(screen.query_one("#referral-detail"))
        assert "In progress for 9 days" in pane
        assert "requested → accepted 4 days" in pane
        assert "accepted → completed -" in pane
        assert "06 Nov 2026 15:00  Requested  Accepted" in pane
        await move_to(pilot, screen, fresh.id)
        pane = text_of(screen.query_one("#referral-detail"))
        assert "(2 days overdue)" in pane
        status = text_of(screen.query_one("#status"))
        assert status.startswith("2 referrals · 1 reply overdue")


# --------------------------------------------------------------- follow-up


@pytest.mark.both_backends
async def test_an_overdue_reply_is_on_the_worklist_until_a_follow_up_call(services, engine):
    patient = new_patient(services)
    services.patients.set_next_contact_due(patient.id, date(2027, 1, 4))
    referral = services_on(engine, datetime(2026, 11, 10, 9, 0)).referrals.create(
        patient.id,
        "social-work",
        "County Social Services",
        "Housing",
        receiving_contact="Intake 555-0100",
    )
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        worklist = app.screen
        assert isinstance(worklist, WorklistScreen)
        today = services.worklist.today(services.context.nurse_id)
        [row] = [row for row in today if row.patient_id == patient.id]
        assert [item.kind for item in row.items] == ["referral-reply"]
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        await move_to(pilot, screen, referral.id)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        assert dialog.query_one("#field-next_expected_reply", Input).value == "2026-12-07"
        await choose(pilot, "outcome", "Left message")
        await type_into(pilot, "minutes", "4")
        await focus_field(pilot, "note")
        await pilot.press(*"Asked for a call back")
        await type_into(pilot, "next_expected_reply", "2026-12-01")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        pane = text_of(screen.query_one("#referral-detail"))
        assert "Follow-up calls (1): 27 Nov left message, 4 min: Asked for a call back" in pane
    chased = services.referrals.get(referral.id)
    assert chased.expected_reply_date == date(2026, 12, 1)
    assert chased.status == "requested"
    [call] = [
        contact
        for contact in services.contacts.list_for_patient(patient.id)
        if contact.referral_id == referral.id
    ]
    assert (call.with_whom, call.mode, call.outcome, call.minutes) == (
        "provider",
        "phone",
        "left-message",
        4,
    )
    assert not [row for row in services.worklist.today(None) if row.patient_id == patient.id]


async def test_follow_up_on_a_closed_referral_is_not_offered(services):
    patient = new_patient(services)
    referral = referral_in(services, patient.id, "completed")
    async with queue(services) as (pilot, screen):
        await show_every_status(pilot, screen)
        await move_to(pilot, screen, referral.id)
        await pilot.press("f")
        await settle(pilot)
        assert pilot.app.screen is screen
    assert services.contacts.list_for_patient(patient.id) == []


# ------------------------------------------------------------ new referral


async def test_new_referral_from_the_queue_remembers_the_organisation(services, monkeypatch):
    search = services.patients.list_page

    def slow_search(*arguments, **options):
        # A search slower than the typing, as on a large caseload.
        if options.get("search"):
            time.sleep(0.3)
        return search(*arguments, **options)

    monkeypatch.setattr(services.patients, "list_page", slow_search)
    patient = new_patient(services, "RQ-7", "Okafor")
    namesake = services.patients.create("RQ-9", "Okafor", "Ada", birth_date=date(1961, 2, 3))
    other = new_patient(services, "RQ-8", "Lindqvist")
    referral_in(services, other.id, "requested", organisation="Valley PT")
    services.referrals.create(other.id, "nutrition", "Meals on Wheels", "Meals")
    async with queue(services) as (pilot, screen):
        await pilot.press("n")
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, PatientPicker)
        # Typed and entered in one burst, faster than the search: neither the
        # first of the list shown before (Lindqvist) nor silently the first of
        # the two Okafors is taken; the picker asks which one.
        await pilot.press(*"okaf", "enter")
        await settle(pilot)
        assert pilot.app.screen is picker
        assert "2 patients match" in text_of(picker.query_one("#picker-keys"))
        options = picker.query_one(OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(2)] == [
            "Okafor, Ada  MRN RQ-9  born 03 Feb 1961",
            "Okafor, Robin  MRN RQ-7  born 06 May 1950",
        ]
        # Enter takes the highlighted one: the second, after one down.
        await pilot.press("down", "enter")
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, ReferralForm)
        assert form.form_title == "Refer Okafor, Robin"
        # Priorities in FHIR order (routine < urgent < asap < stat), each with its meaning.
        assert "(Routine 10 d, Urgent 3 d, ASAP 2 d, STAT 1 d)" in text_of(
            form.query_one("#form-intro")
        )
        assert list(choices_of(form, "priority")) == [
            "Routine: normal priority",
            "Urgent: act promptly, before routine",
            "ASAP: as soon as possible, sooner than urgent",
            "STAT: at once, the highest (an emergency)",
        ]
        await choose(pilot, "service_type", "Physical therapy")
        await settle(pilot)
        # The organisation last used for physical therapy is filled in.
        assert form.query_one("#field-receiving_organisation", Input).value == "Valley PT"
        await choose(pilot, "priority", "ASAP: as soon as possible, sooner than urgent")
        assert form.query_one("#field-expected_reply_date", Input).value == "2026-11-29"
        await focus_field(pilot, "reason")
        await pilot.press(*"Balance after stroke")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        [sent] = services.referrals.list_for_patient(patient.id)
        # The queue shows the priority's word, not its code.
        assert cell_texts(screen, sent.id)[3] == "ASAP"
    assert (sent.service_type, sent.receiving_organisation, sent.priority, sent.status) == (
        "physical-therapy",
        "Valley PT",
        "asap",
        "requested",
    )
    assert sent.expected_reply_date == date(2026, 11, 29)
    assert services.referrals.list_for_patient(namesake.id) == []


async def test_organisation_picked_from_the_list_or_typed_new(services):
    patient = new_patient(services)
    services.referrals.create(patient.id, "nutrition", "Meals on Wheels", "Meals")
    services.referrals.create(patient.id, "home-health", "Sunrise Home Health", "Wounds")
    async with queue(services) as (pilot, screen):
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")  # the first of my patients
        await settle(pilot)
        form = pilot.app.screen
        await choose(pilot, "service_type", "Nutrition")
        await focus_field(pilot, "receiving_organisation")
        await pilot.press("ctrl+u", "ctrl+o")
        await settle(pilot)
        picker = pilot.app.screen
        assert isinstance(picker, ChoicePicker)
        assert [value for value, _ in picker_options(picker)] == [
            "Meals on Wheels",
            "Sunrise Home Health",
        ]
        await pilot.press(*"sunr", "enter")
        await settle(pilot)
        assert form.query_one("#field-receiving_organisation", Input).value == (
            "Sunrise Home Health"
        )
        await pilot.press("ctrl+o")
        await settle(pilot)
        await pilot.press(*"Harbor Dietitians", "enter")
        await settle(pilot)
        assert form.query_one("#field-receiving_organisation", Input).value == ("Harbor Dietitians")
        await focus_field(pilot, "reason")
        await pilot.press(*"Weight loss")
        await pilot.press("ctrl+s")
        await settle(pilot)
    names = {r.receiving_organisation for r in services.referrals.list_for_patient(patient.id)}
    assert "Harbor Dietitians" in names


# ---------------------------------------------------------- filter and group


async def test_filter_group_and_everyone(services, engine, clock):
    patient = new_patient(services)
    urgent = services.referrals.create(patient.id, "specialist", "Heart Clinic", "EF", "urgent")
    routine = referral_in(services, patient.id, "accepted")
    colleague = make_services(engine, clock)
    colleague.nurses.create("blee", "Bo Lee")
    colleague.nurses.sign_in("blee")
    theirs = colleague.referrals.create(patient.id, "nutrition", "Food Bank", "Meals")
    async with queue(services) as (pilot, screen):
        assert set(screen.referrals) == {str(urgent.id), str(routine.id)}
        await pilot.press("a")
        await settle(pilot)
        assert set(screen.referrals) == {str(urgent.id), str(routine.id), str(theirs.id)}
        assert "all nurses" in text_of(screen.query_one("#queue-filter"))
        await pilot.press("slash")
        await settle(pilot)
        await choose(pilot, "priority", "Urgent: act promptly, before routine")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert set(screen.referrals) == {str(urgent.id)}
        await pilot.press("slash")
        await settle(pilot)
        await choose(pilot, "priority", "Any")
        await choose(pilot, "organisation", "Food Bank")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert set(screen.referrals) == {str(theirs.id)}
        await pilot.press("slash")
        await settle(pilot)
        await choose(pilot, "organisation", "Any")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("2")  # status
        await settle(pilot)
        assert row_keys(screen) == [
            "group:Requested",
            str(urgent.id),
            str(theirs.id),
            "group:Accepted",
            str(routine.id),
        ]
        # The cursor stays on the referral it was on (the Food Bank one, the
        # only one the last filter showed) and never rests on a heading: down
        # from the last requested skips one.
        table = table_of(screen)
        assert row_keys(screen)[table.cursor_row] == str(theirs.id)
        await pilot.press("down")
        await settle(pilot)
        assert row_keys(screen)[table.cursor_row] == str(routine.id)
        await pilot.press("up", "up")
        await settle(pilot)
        assert row_keys(screen)[table.cursor_row] == str(urgent.id)
        assert text_of(screen.query_one("#queue-filter")).strip().endswith("grouped by status")


# ---------------------------------------------------------- reading in full

LONG_REASON = (
    "Gait training after a fall at home on the stairs; she now uses a rollator indoors, "
    "is afraid of falling again, lives alone on the second floor without a lift, and her "
    "daughter can visit only at weekends, so sessions at home are preferred over the clinic"
)
LONG_ORGANISATION = "Riverside Community Physical Therapy and Rehabilitation Associates"


async def test_enter_reads_the_referral_in_full_and_p_opens_the_patient(services):
    patient = new_patient(services)
    referral = services.referrals.create(
        patient.id, "hospice-palliative", LONG_ORGANISATION, LONG_REASON, "stat"
    )
    services.referrals.transition(referral.id, "received", referral.version)
    async with queue(services) as (pilot, screen):
        cells = cell_texts(screen, referral.id)
        # The service shows whole; the organisation takes the free width and,
        # cut, ends at a whole word with "…".
        assert cells[1] == "Hospice / palliative care"
        assert cells[2].endswith("…") and len(cells[2]) > len("Riverside Community")
        assert LONG_ORGANISATION.startswith(cells[2][:-1] + " ")
        assert (cells[3], cells[4]) == ("STAT", "Received")
        await pilot.press("enter")
        await settle(pilot)
        view = pilot.app.screen
        assert isinstance(view, ReferralReadView)
        text = " ".join(text_of(view.query_one("#read-body")).split())
        assert f"Reason: {LONG_REASON}" in text
        assert f"to {LONG_ORGANISATION}" in text
        assert "Received since today: the service has it and is deciding" in text
        assert "STAT priority" in text
        # History names the nurse as people read her name, never her username.
        assert "Requested Received Alice Moreno" in text
        assert "alice" not in text.replace("Alice", "")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PatientDetailScreen)
        assert pilot.app.screen.patient_id == patient.id
