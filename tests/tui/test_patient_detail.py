"""The patient detail screen, driven by keys on the real app.

The screen is opened on the app the way the worklist opens it; every tab is
shown on its number key and compared with what the services return for that
patient; every action is a key, its dialog is filled by keys, and the test then
reads the database back through the services and checks what the screen shows
after it read the chart again.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from datetime import date, datetime

import pytest
from rich.text import Text
from sqlalchemy import select
from textual.containers import VerticalScroll
from textual.widgets import ContentSwitcher, DataTable, Input, Select, Static

import nursecase.app
from nursecase.app import make_app
from nursecase.db.engine import make_engine
from nursecase.db.models import Encounter
from nursecase.domain.codes import (
    CarePlanStatus,
    CareTeamRole,
    ConditionClinicalStatus,
    ContactMode,
    ContactOutcome,
    ContactWith,
    EncounterClass,
    EncounterSource,
    EpisodeStatus,
    Instrument,
    MedicationStatus,
    TaskPriority,
    TaskSource,
    TaskStatus,
)
from nursecase.domain.flags import Flag
from nursecase.domain.instruments import get_instrument
from nursecase.screens.assessment_entry import AssessmentEntryScreen, InstrumentPickerScreen
from nursecase.screens.care_plan_editor import CarePlanEditorScreen
from nursecase.screens.care_plan_views import goal_words
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.formatting import FLAG_STYLES, sparkline
from nursecase.screens.patient_detail import PatientDetailScreen
from nursecase.screens.read_view import ReadView
from nursecase.services import make_services
from nursecase.services.encounters import EncounterChange, cancel_admission, record_admission
from nursecase.services.patients import load_patient
from tests.tui.conftest import SIZE, lines_of, settings, settle, text_of
from tests.tui.dialog_keys import choose, focus_field, type_into

TODAY = date(2026, 11, 27)  # the frozen clock's Friday
TOMORROW = date(2026, 11, 28)
#: The pane ids in number-key order (keys 1-7; the Vitals & labs tab, 8, has its own
#: tests in test_vitals_tab.py), and the tab bar's titles.
PANES = ("summary", "contacts", "assessments", "problems", "team", "tasks", "timeline")
TITLES = (
    "Summary",
    "Contacts",
    "Assessments",
    "Problems & meds",
    "Care team",
    "Tasks",
    "Timeline",
    "Vitals & labs",
)
SAFETY_STYLE = "bold white on red"
#: The demo's nurses as the tables name them (initial and surname, never the username).
NURSE_SHORT = {
    "amoreno": "A. Moreno",
    "bokafor": "B. Okafor",
    "cnguyen": "C. Nguyen",
    "dlarsen": "D. Larsen",
    None: "",
}
ROW_ACTION_KEYS = {"e": "edit_contact", "d": "task_done", "s": "task_snooze", "g": "task_reassign"}


# ------------------------------------------------------------------ patients


def flagged_patient_id(services) -> int:
    """The seeded patient of the signed-in nurse with an open PHQ-9 item 9 flag.

    The demo gives them data on every tab: contacts, two instruments, a
    condition, current and stopped medications, a care team member, open and
    done tasks, an open TCM clock, a referral and a care plan.
    """
    mine = [
        flag.patient_id
        for flag in services.assessments.open_safety_flags(None)
        if services.patients.get(flag.patient_id).nurse_id == services.context.nurse_id
    ]
    assert mine, "the seeded caseload has no flagged patient of the demo nurse"
    return mine[0]


def fresh_patient(services, risk_tier: str = "moderate"):
    """A new patient of the signed-in nurse: an active episode and nothing else."""
    return services.patients.create(
        "PD-100", "Detail", "Robin", birth_date=date(1950, 6, 1), risk_tier=risk_tier
    )


def view_events(services, patient_id: int) -> list:
    return [
        event
        for event in services.audit.list_events(entity="patient", entity_id=patient_id)
        if event.action == "view"
    ]


# --------------------------------------------------------------- the screen


async def open_chart(pilot, patient_id: int) -> PatientDetailScreen:
    """Open the patient on the running app as the worklist does, and wait for the chart."""
    await settle(pilot)
    app = pilot.app
    opener = getattr(app, "open_patient", None)
    if opener is not None:
        opener(patient_id)
    else:
        app.push_screen(PatientDetailScreen(patient_id))
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PatientDetailScreen)
    assert screen.patient_id == patient_id
    patient = app.services.patients.get(patient_id)
    assert f"MRN {patient.mrn}" in header_of(screen)  # the chart has arrived
    return screen


@asynccontextmanager
async def patient_screen(services, patient_id: int):
    """The real app with the patient's detail screen open: yields (pilot, screen)."""
    app = make_app(services, settings())
    async with app.run_test(size=SIZE) as pilot:
        yield pilot, await open_chart(pilot, patient_id)


async def press(pilot, *keys: str) -> None:
    """Press keys, then let the workers they started finish."""
    await pilot.press(*keys)
    await settle(pilot)


def flat(text: str) -> str:
    """Text with every run of white space as one space (wrapping does not matter)."""
    return " ".join(text.split())


def header_of(screen) -> str:
    return flat(text_of(screen.query_one("#patient-header", Static)))


def ccm_minutes_shown(screen) -> int:
    """The CCM minutes of this month as the header shows them."""
    found = re.search(r"(\d+) min this month", header_of(screen))
    assert found is not None, header_of(screen)
    return int(found.group(1))


def rows_of(screen, table_id: str) -> list[list[str]]:
    """A table's cells as plain strings, row by row."""
    table = screen.query_one(f"#{table_id}", DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def cursor_of(screen, table_id: str) -> int:
    return screen.query_one(f"#{table_id}", DataTable).cursor_row


def active_tab(screen) -> str:
    return screen.query_one("#panes", ContentSwitcher).current


def has_safety_badge(screen) -> bool:
    """Whether the header shows the SAFETY flag (white on red) for a PHQ-9 item 9 answer."""
    content = screen.query_one("#patient-header", Static).content
    assert isinstance(content, Text)
    badge = any(
        str(span.style) == SAFETY_STYLE and "SAFETY" in content.plain[span.start : span.end]
        for span in content.spans
    )
    return badge and "PHQ-9 item 9" in content.plain


# ------------------------------------------------------------ dialog keys


def dialog_of(pilot) -> FormDialog:
    dialog = pilot.app.screen
    assert isinstance(dialog, FormDialog)
    return dialog


def error_of(dialog: FormDialog) -> str:
    return flat(text_of(dialog.query_one("#form-error", Static)))


def title_of(dialog: FormDialog) -> str:
    return flat(text_of(dialog.query_one("#form-title")))


# --------------------------------------------------------- what each tab shows


def expected_instrument_rows(services, patient_id: int) -> list[list[str]]:
    """One row per instrument the patient has, in the instruments' order."""
    grouped: dict[str, list] = {}
    for assessment in services.assessments.list_for_patient(patient_id):  # newest first
        grouped.setdefault(assessment.instrument, []).append(assessment)
    rows = []
    for code in Instrument:
        history = grouped.get(str(code))
        if not history:
            continue
        definition = get_instrument(code)
        latest = history[0]
        totals = [item.total for item in reversed(history[:12])]  # oldest first
        rows.append(
            [
                definition.short_name or definition.name,
                str(latest.total),
                latest.band,
                f"{latest.performed_at:%Y-%m-%d}",
                sparkline(totals, definition.min_total, definition.max_total),
                str(len(history)),
            ]
        )
    return rows


def check_summary(services, patient_id: int, screen) -> None:
    body = flat(text_of(screen.query_one("#summary-body", Static)))
    for title in ("Due next", "Last contacts", "Latest scores", "Active problems"):
        assert title in body
    contacts = services.contacts.list_for_patient(patient_id)
    assert len(contacts) > 3
    for contact in contacts[:3]:
        line = (
            f"{contact.occurred_at:%d %b %H:%M} {ContactMode(contact.mode).label}, "
            f"{ContactWith(contact.with_whom).label.lower()}: "
            f"{ContactOutcome(contact.outcome).label.lower()}, {contact.minutes} min"
        )
        assert line in body
    fourth = contacts[3]
    assert (
        f"{fourth.occurred_at:%d %b %H:%M} {ContactMode(fourth.mode).label}" not in body
    )  # the newest 3 only
    for assessment in services.assessments.latest_by_instrument(patient_id).values():
        assert assessment.summary in body
    for condition in services.conditions.list_for_patient(patient_id):
        if condition.clinical_status == "active":
            assert condition.description in body
    for task in services.tasks.list_for_patient(patient_id):
        if task.is_open and task.source != "transition-clock":
            assert f"task: {flat(task.description)}" in body


def check_contacts(services, patient_id: int, screen) -> None:
    contacts = services.contacts.list_for_patient(patient_id)
    moments = [contact.occurred_at for contact in contacts]
    assert moments == sorted(moments, reverse=True) and len(contacts) > 1
    assert rows_of(screen, "contacts-table") == [
        [
            f"{contact.occurred_at:%Y-%m-%d %H:%M}",
            ContactMode(contact.mode).label,
            ContactWith(contact.with_whom).label,
            ContactOutcome(contact.outcome).label,
            str(contact.minutes),
            contact.note or "",
            NURSE_SHORT[contact.author_username],
        ]
        for contact in contacts
    ]


def check_assessments(services, patient_id: int, screen) -> None:
    expected = expected_instrument_rows(services, patient_id)
    assert len(expected) > 1
    assert rows_of(screen, "instruments-table") == expected
    assert all(row[4] for row in expected)  # a sparkline on every row
    # The history below is the highlighted (first) instrument's, newest first.
    history = flat(text_of(screen.query_one("#assessment-history-body", Static)))
    first = [
        assessment
        for assessment in services.assessments.list_for_patient(patient_id)
        if get_instrument(assessment.instrument).short_name == expected[0][0]
    ]
    for assessment in first:
        assert f"{assessment.performed_at:%Y-%m-%d %H:%M} {assessment.summary}" in history


def check_problems(services, patient_id: int, screen) -> None:
    conditions = services.conditions.list_for_patient(patient_id)
    assert conditions
    assert rows_of(screen, "conditions-table") == [
        [
            condition.description,
            condition.code or "",
            ConditionClinicalStatus(condition.clinical_status).label,
            condition.onset_date.isoformat() if condition.onset_date else "",
        ]
        for condition in conditions
    ]
    medications = services.medications.list_for_patient(patient_id)
    assert medications
    assert rows_of(screen, "medications-table") == [
        [
            medication.name,
            medication.dose or "",
            medication.route or "",
            medication.frequency or "",
            MedicationStatus(medication.status).label,
            medication.last_reconciled.isoformat() if medication.last_reconciled else "never",
        ]
        for medication in medications
    ]
    # The list counts as reconciled by the oldest date of its CURRENT entries;
    # one never reconciled (or a stopped drug's date) does not make it so.
    current = [m for m in medications if m.status in ("active", "on-hold")]
    reconciled = flat(text_of(screen.query_one("#reconciled", Static)))
    if current and all(m.last_reconciled is not None for m in current):
        oldest = min(m.last_reconciled for m in current)
        assert reconciled == (
            f"Last reconciled {oldest:%d %b %Y} ({(TODAY - oldest).days} d ago) · m reconciles"
        )
    else:
        assert reconciled == "Not every current medication is reconciled · m reconciles"


def check_team(services, patient_id: int, screen) -> None:
    members = services.care_team.list_for_patient(patient_id)
    assert members
    assert rows_of(screen, "team-table") == [
        [
            member.name,
            CareTeamRole(member.role).label,
            member.organisation or "",
            member.phone or "",
        ]
        for member in members
    ]


def check_tasks(services, patient_id: int, screen) -> None:
    tasks = services.tasks.list_for_patient(patient_id, include_done=True)
    open_tasks = sorted((t for t in tasks if t.is_open), key=lambda t: (t.due_date, t.id))
    done_tasks = [task for task in tasks if not task.is_open]
    assert open_tasks and done_tasks
    rows = rows_of(screen, "tasks-table")
    assert len(rows) == len(tasks)
    # Open tasks first, soonest first, with their due dates; done ones after them.
    assert [row[1] for row in rows[: len(open_tasks)]] == [t.description for t in open_tasks]
    assert [row[0] for row in rows[: len(open_tasks)]] == [
        f"{t.due_date:%d %b}" for t in open_tasks
    ]
    assert {row[1] for row in rows[len(open_tasks) :]} == {t.description for t in done_tasks}
    by_description = {task.description: task for task in tasks}
    for row in rows:
        task = by_description[row[1]]
        # The status in words ("Requested", "Missed" for a lapsed TCM step).
        status = TaskStatus(task.status).label
        assert row[2:6] == [
            TaskPriority(task.priority).label,
            status,
            TaskSource(task.source).label,
            NURSE_SHORT[task.nurse_username],
        ]


def check_timeline(services, patient_id: int, screen) -> None:
    rows = rows_of(screen, "timeline-table")
    events = services.chart.load(patient_id).timeline
    assert len(rows) == len(events) > 5
    assert [row[1:] for row in rows] == [[event.kind.capitalize(), event.text] for event in events]
    assert [row[0] for row in rows] == sorted((row[0] for row in rows), reverse=True)
    # Every contact and every assessment is on it.
    contacts = [row for row in rows if row[1] == "Contact"]
    assert [row[0] for row in contacts] == [
        f"{contact.occurred_at:%Y-%m-%d %H:%M}"
        for contact in services.contacts.list_for_patient(patient_id)
    ]
    assessments = [row[2] for row in rows if row[1] == "Assessment"]
    assert assessments == [
        assessment.summary for assessment in services.assessments.list_for_patient(patient_id)
    ]


TAB_CHECKS = {
    "summary": (None, check_summary),
    "contacts": ("contacts-table", check_contacts),
    "assessments": ("instruments-table", check_assessments),
    "problems": ("conditions-table", check_problems),
    "team": ("team-table", check_team),
    "tasks": ("tasks-table", check_tasks),
    "timeline": ("timeline-table", check_timeline),
}


# ----------------------------------------------------------------------- tabs


@pytest.mark.parametrize("pane", PANES)
async def test_each_number_key_shows_its_tab_with_the_patients_data(app_services, pane):
    patient_id = flagged_patient_id(app_services)
    key = str(PANES.index(pane) + 1)
    table_id, check = TAB_CHECKS[pane]
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        assert active_tab(screen) == "summary"
        # Away first (the summary is where the screen starts), then the tab's key.
        await press(pilot, "7" if pane == "summary" else "1")
        await press(pilot, key)
        assert active_tab(screen) == pane
        # The tab bar lists every tab with its key and highlights this one.
        tab_bar = screen.query_one("#tab-bar", Static).content
        assert flat(tab_bar.plain) == " ".join(
            f"{number} {title}" for number, title in enumerate(TITLES, start=1)
        )
        highlighted = [
            tab_bar.plain[span.start : span.end].strip()
            for span in tab_bar.spans
            if "reverse" in str(span.style)
        ]
        assert highlighted == [f"{key} {TITLES[PANES.index(pane)]}"]
        if table_id is not None:
            # The keyboard is in the tab's table, on its first row.
            assert screen.focused is screen.query_one(f"#{table_id}", DataTable)
            assert cursor_of(screen, table_id) == 0
        check(app_services, patient_id, screen)


async def test_the_header_shows_who_where_they_stand_and_their_flags_and_clocks(app_services):
    patient_id = flagged_patient_id(app_services)
    patient = app_services.patients.get(patient_id)
    [flag] = app_services.assessments.open_safety_flags(patient_id)
    [transition] = [t for t in app_services.transitions.list_for_patient(patient_id) if t.is_open]
    chart = app_services.chart.load(patient_id)
    minutes = chart.ccm.minutes
    assert patient.risk_basis and patient.age is not None and minutes > 0
    # The demo's flagged patient has a LACE, and a tier that rests on it or on a reason.
    assert patient.risk_source in ("score", "override") and chart.risk.latest_lace is not None
    async with patient_screen(app_services, patient_id) as (_pilot, screen):
        shown = header_of(screen)
        assert shown.startswith(f"{patient.family_name}, {patient.given_name}")
        assert f"MRN {patient.mrn} {patient.age} y" in shown
        described = chart.risk.describe(TODAY)  # the tier in words: "Moderate (LACE 7, 20 Nov)"
        assert f"Risk {described[:1].upper()}{described[1:]} Episode" in shown
        assert "suggests" not in shown  # the demo's tiers agree with their basis
        assert chart.ccm.describe(TODAY) in shown
        assert f"Episode {EpisodeStatus(patient.episode_status).label.lower()}" in shown
        assert f"Next contact {patient.next_contact_due:%d %b}" in shown
        day = f"{flag.performed_at.day} {flag.performed_at:%b}"
        answered = f"answered {flag.answer('item9')} on {day}"
        assert f"⚠ PHQ-9 item 9 {answered}: record a safety check" in shown
        assert has_safety_badge(screen)
        assert flat(transition.clock.describe()) in shown
        assert ccm_minutes_shown(screen) == minutes
        assert screen.sub_title == patient.display_name


async def test_a_patient_with_nothing_recorded_shows_empty_tabs(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        shown = header_of(screen)
        assert "⚠" not in shown and "TCM interactive" not in shown
        assert ccm_minutes_shown(screen) == 0 and "Episode active" in shown
        body = flat(text_of(screen.query_one("#summary-body", Static)))
        assert "No contacts logged" in body and "No assessments" in body
        for key, table_id in (("2", "contacts-table"), ("6", "tasks-table"), ("5", "team-table")):
            await press(pilot, key)
            assert rows_of(screen, table_id) == []
        # No row under the cursor: the row keys do nothing.
        await press(pilot, "2", "e")
        assert app_services.contacts.list_for_patient(patient.id) == []
        assert pilot.app.screen is screen


async def test_the_next_patient_on_the_reused_screen_shows_only_their_own_chart(app_services):
    first_id = flagged_patient_id(app_services)
    second = fresh_patient(app_services)
    async with patient_screen(app_services, first_id) as (pilot, screen):
        await press(pilot, "2")
        assert rows_of(screen, "contacts-table")
        await press(pilot, "escape")
        again = await open_chart(pilot, second.id)
        shown = header_of(again)
        assert shown.startswith("Detail, Robin") and "⚠" not in shown
        assert active_tab(again) == "summary"
        # The keyboard is in the summary, as on the first opening: the first key
        # acts at once, without focusing something first (a repaint of it all).
        assert isinstance(pilot.app.focused, VerticalScroll)
        assert pilot.app.focused in again.query_one("#summary").query(VerticalScroll)
        await press(pilot, "2")
        assert rows_of(again, "contacts-table") == []
        await press(pilot, "6")
        assert rows_of(again, "tasks-table") == []
    assert len(view_events(app_services, second.id)) == 1


async def test_a_chart_that_cannot_be_read_says_so_and_no_key_opens_anything(app_services):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        missing = 999_999
        opener = getattr(app, "open_patient", None)
        if opener is not None:
            opener(missing)
        else:
            app.push_screen(PatientDetailScreen(missing))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientDetailScreen)
        assert header_of(screen) == f"patient {missing} was not found; it may have been removed"
        for key in ("c", "a", "t", "f", "p", "m", "D", "R", "E", "2", "e", "6", "d", "s", "g"):
            await press(pilot, key)
            assert app.screen is screen, key
        assert header_of(screen).startswith(f"patient {missing} was not found")


# -------------------------------------------------------------------- actions


@pytest.mark.both_backends
async def test_c_logs_a_contact_and_the_screen_shows_it(app_services):
    patient_id = flagged_patient_id(app_services)
    before = app_services.contacts.list_for_patient(patient_id)
    minutes_before = app_services.contacts.minutes_in_month(patient_id, 2026, 11)
    name = app_services.patients.get(patient_id).display_name
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "2", "c")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == f"Log a contact with {name}"
        assert dialog.query_one("#field-occurred_at", Input).value == "2026-11-27 09:00"
        assert dialog.query_one("#field-minutes", Input).value == "5"
        await choose(pilot, "with_whom", "Caregiver")
        await type_into(pilot, "minutes", "25")
        await focus_field(pilot, "note")
        await pilot.press(*"[PRN] ok")
        await press(pilot, "ctrl+s")
        # The patient has an open safety flag: the safety check is offered next ("n": later).
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert pilot.app.screen is screen
        after = app_services.contacts.list_for_patient(patient_id)
        assert len(after) == len(before) + 1
        newest = after[0]
        assert (
            f"{newest.occurred_at:%Y-%m-%d %H:%M}",
            newest.mode,
            newest.with_whom,
            newest.outcome,
            newest.minutes,
            newest.note,
        ) == (
            "2026-11-27 09:00",
            "phone",
            "caregiver",
            "reached",
            25,
            "[PRN] ok",
        )
        # The chart was read again: the new contact is on top, the CCM minutes grew.
        assert active_tab(screen) == "contacts"
        assert rows_of(screen, "contacts-table")[0] == [
            "2026-11-27 09:00",
            "Phone",
            "Caregiver",
            "Reached",
            "25",
            "[PRN] ok",
            "A. Moreno",
        ]
        assert len(rows_of(screen, "contacts-table")) == len(after)
        assert ccm_minutes_shown(screen) == minutes_before + 25


async def test_e_on_the_contacts_tab_corrects_the_highlighted_contact(app_services):
    patient_id = flagged_patient_id(app_services)
    contacts = app_services.contacts.list_for_patient(patient_id)
    target = contacts[1]
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "2", "down")
        assert cursor_of(screen, "contacts-table") == 1
        await press(pilot, "e")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == "Correct a contact"
        assert dialog.query_one("#field-minutes", Input).value == str(target.minutes)
        await choose(pilot, "outcome", "Left message")
        await type_into(pilot, "minutes", "30")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        corrected = app_services.contacts.get(target.id)
        assert (corrected.outcome, corrected.minutes) == ("left-message", 30)
        assert (corrected.occurred_at, corrected.mode, corrected.with_whom, corrected.note) == (
            target.occurred_at,
            target.mode,
            target.with_whom,
            target.note,
        )
        # Only that contact changed; the cursor is still on it and the row shows it.
        after = app_services.contacts.list_for_patient(patient_id)
        assert [c for c in after if c.id != target.id] == [c for c in contacts if c.id != target.id]
        assert cursor_of(screen, "contacts-table") == 1
        assert rows_of(screen, "contacts-table")[1][3:5] == ["Left message", "30"]


#: A note longer than its column at 120 columns (the list cuts it, enter reads it whole).
LONG_NOTE = (
    "Daughter says the walker came but is too tall; she will call the supplier to swap it"
    " for a shorter one before Friday's visit.\nShe will also bring the medication list."
)
LONG_TASK = (
    "Confirm with the supplier that the shorter walker is delivered before the home visit,"
    " and that the daughter knows how to adjust its height"
)


async def test_enter_reads_a_note_and_a_task_whole_where_the_list_cuts_them_at_a_word(
    app_services,
):
    patient = fresh_patient(app_services)
    app_services.contacts.log(
        patient.id, "2026-11-26 10:30", "home-visit", "caregiver", "reached", 40, LONG_NOTE
    )
    app_services.tasks.add(patient.id, LONG_TASK, "2026-12-02", priority="urgent")
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "2")
        # The note takes the free width and ends with "…" after a whole word.
        table = screen.query_one("#contacts-table", DataTable)
        drawn = table.render_line(1).text
        words = LONG_NOTE.split()
        shown_note = drawn[drawn.index("Daughter") : drawn.index("…") + 1]
        kept = shown_note[:-1].split()
        assert 5 < len(kept) < len(words) and kept == words[: len(kept)]
        assert drawn.endswith("A. Moreno ")  # the author's column is still there
        # Enter reads it whole: what it was in words, the note wrapped; escape closes.
        await press(pilot, "enter")
        view = pilot.app.screen
        assert isinstance(view, ReadView)
        assert flat(text_of(view.query_one("#read-heading", Static))) == (
            "Contact on 26 Nov 2026 10:30 · Home visit with caregiver · Reached · 40 min"
            " · by Alice Moreno"
        )
        # The whole note, its line break kept (the view wraps it to its width).
        assert view.query_one("#read-text", Static).content.plain == LONG_NOTE
        await press(pilot, "escape")
        assert pilot.app.screen is screen
        # A task too; editing keys stay where they were (e edits contacts only).
        await press(pilot, "6")
        assert "…" in screen.query_one("#tasks-table", DataTable).render_line(1).text
        await press(pilot, "enter")
        view = pilot.app.screen
        assert isinstance(view, ReadView)
        assert flat(text_of(view.query_one("#read-heading", Static))) == (
            "Task due 02 Dec 2026 · Requested · Urgent priority · source: added by a nurse"
            " · for Alice Moreno"
        )
        assert view.query_one("#read-text", Static).content.plain == LONG_TASK
        await press(pilot, "escape")
        assert pilot.app.screen is screen


async def test_a_then_a_number_scores_a_phq9_by_keys(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "a")
        assert isinstance(pilot.app.screen, InstrumentPickerScreen)
        await press(pilot, "2")
        entry = pilot.app.screen
        assert isinstance(entry, AssessmentEntryScreen)
        assert entry.definition.code is Instrument.phq_9
        assert entry.patient_id == patient.id and entry.patient_name == "Detail, Robin"
        await pilot.press("1", "2", "0", "3", "1", "2", "1", "0", "0")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [stored] = app_services.assessments.list_for_patient(patient.id)
        assert (stored.instrument, stored.total, stored.band) == ("phq-9", 10, "moderate")
        assert stored.answer("item4") == 3 and stored.answer("item9") == 0
        assert app_services.tasks.list_for_patient(patient.id) == []  # item 9 was 0
        body = flat(text_of(screen.query_one("#summary-body", Static)))
        assert "PHQ-9 PHQ-9 10 moderate (27 Nov 2026)" in body
        assert not has_safety_badge(screen)


async def test_the_instrument_picker_names_the_patient(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, _screen):
        await press(pilot, "a")
        picker = pilot.app.screen
        assert isinstance(picker, InstrumentPickerScreen)
        # The nurse sees whose assessment this is before choosing the instrument.
        title = flat(text_of(picker.query_one("#picker-title")))
        assert title == "New assessment for Detail, Robin"


async def test_t_adds_a_task(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "6", "t")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == "New task for Detail, Robin"
        assert dialog.query_one("#field-due_date", Input).value == TOMORROW.isoformat()
        await type_into(pilot, "description", "Call pharmacy")
        await type_into(pilot, "due_date", "2026-12-02")
        await choose(pilot, "priority", "Urgent")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [task] = app_services.tasks.list_for_patient(patient.id)
        assert (task.description, task.due_date, task.priority, task.nurse_username) == (
            "Call pharmacy",
            date(2026, 12, 2),
            "urgent",
            "amoreno",
        )
        assert rows_of(screen, "tasks-table") == [
            ["02 Dec", task.description, "Urgent", "Requested", "Added by a nurse", "A. Moreno", ""]
        ]


def highlighted_task(services, screen):
    """The task on the Tasks tab's highlighted row (rows are told apart by description)."""
    description = rows_of(screen, "tasks-table")[cursor_of(screen, "tasks-table")][1]
    tasks = services.tasks.list_for_patient(screen.patient_id, include_done=True)
    [task] = [task for task in tasks if task.description == description]
    return task


async def move_to_task(pilot, screen, wanted) -> object:
    """Press down on the Tasks tab until the highlighted task is ``wanted(task)``."""
    services = pilot.app.services
    for _ in range(screen.query_one("#tasks-table", DataTable).row_count):
        task = highlighted_task(services, screen)
        if wanted(task):
            return task
        await press(pilot, "down")
    raise AssertionError("no such task on the Tasks tab")


def a_manual_open_task(task) -> bool:
    return task.is_open and task.source in ("manual", "contact")


async def test_d_on_the_tasks_tab_completes_the_highlighted_task(app_services):
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "6")
        task = await move_to_task(pilot, screen, a_manual_open_task)
        others = {
            t.id: t for t in app_services.tasks.list_for_patient(patient_id, include_done=True)
        }
        await press(pilot, "d")
        done = app_services.tasks.get(task.id)
        assert (done.status, done.done_at) == ("completed", pilot.app.services.clock.now())
        after = app_services.tasks.list_for_patient(patient_id, include_done=True)
        assert [t for t in after if t.id != task.id] == [
            t for t in others.values() if t.id != task.id
        ]
        # The row went down with the done tasks; the cursor followed it, and
        # d on a done task does nothing.
        [row] = [row for row in rows_of(screen, "tasks-table") if row[1] == task.description]
        assert row[3] == "Completed"
        assert highlighted_task(app_services, screen).id == task.id
        assert screen.check_action("task_done", ()) is False
        await press(pilot, "d")
        assert app_services.tasks.get(task.id) == done


async def test_d_does_not_tick_a_tcm_step_it_asks_for_the_contact(app_services):
    # The flagged patient has an open TCM clock; its task closes with the contact.
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "6")
        task = await move_to_task(
            pilot, screen, lambda task: task.is_open and task.source == "transition-clock"
        )
        await press(pilot, "d")
        assert app_services.tasks.get(task.id).status == task.status
        assert any("press c to log it" in str(note.message) for note in pilot.app._notifications)


async def test_s_on_the_tasks_tab_snoozes_with_a_reason(app_services):
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "6")
        task = await move_to_task(pilot, screen, a_manual_open_task)
        await press(pilot, "s")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == f"Snooze: {task.description}"
        await type_into(pilot, "until", "2026-12-20")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        assert error_of(dialog) == "Reason is required"
        assert app_services.tasks.get(task.id).due_date == task.due_date
        await type_into(pilot, "reason", "pharmacy shut")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        snoozed = app_services.tasks.get(task.id)
        assert (snoozed.due_date, snoozed.snooze_reason, snoozed.is_open) == (
            date(2026, 12, 20),
            "pharmacy shut",
            True,
        )
        [row] = [row for row in rows_of(screen, "tasks-table") if row[1] == task.description]
        assert (row[0], row[6]) == ("20 Dec", "pharmacy shut")


async def test_g_on_the_tasks_tab_gives_the_task_to_another_nurse(app_services):
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "6")
        task = await move_to_task(pilot, screen, a_manual_open_task)
        assert task.nurse_username == "amoreno"
        await press(pilot, "g")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == f"Reassign: {task.description}"
        labels = [label for label, _code in dialog.fields[0].choices]
        assert "Alice Moreno (amoreno)" not in labels and "Ben Okafor (bokafor)" in labels
        await choose(pilot, "nurse_username", "Ben Okafor (bokafor)")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        assert app_services.tasks.get(task.id).nurse_username == "bokafor"
        [row] = [row for row in rows_of(screen, "tasks-table") if row[1] == task.description]
        assert row[5] == "B. Okafor"


async def test_f_sends_a_referral_for_this_patient(app_services):
    patient_id = flagged_patient_id(app_services)
    name = app_services.patients.get(patient_id).display_name
    before = {referral.id for referral in app_services.referrals.list_for_patient(patient_id)}
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "f")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == f"Refer {name}"
        await choose(pilot, "service_type", "Social work")
        await type_into(pilot, "receiving_organisation", "County SW")
        await focus_field(pilot, "reason")
        await pilot.press(*"Transport")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [referral] = [
            referral
            for referral in app_services.referrals.list_for_patient(patient_id)
            if referral.id not in before
        ]
        assert (
            referral.patient_id,
            referral.service_type,
            referral.receiving_organisation,
            referral.reason,
            referral.status,
            referral.priority,
        ) == (
            patient_id,
            "social-work",
            "County SW",
            "Transport",
            "requested",
            "routine",
        )
        body = flat(text_of(screen.query_one("#summary-body", Static)))
        assert "Social work to County SW: requested 0 d" in body


async def test_shift_d_records_a_discharge_and_the_header_shows_the_tcm_clock(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        assert "TCM interactive" not in header_of(screen)
        await press(pilot, "D")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == "Discharge of Detail, Robin"
        assert dialog.query_one("#field-discharged_on", Input).value == TODAY.isoformat()
        await type_into(pilot, "discharged_on", "2026-11-26")
        await type_into(pilot, "facility", "Riverside")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [transition] = app_services.transitions.list_for_patient(patient.id)
        assert (transition.discharged_on, transition.facility, transition.high_complexity) == (
            date(2026, 11, 26),
            "Riverside",
            False,
        )
        tasks = sorted(
            app_services.tasks.list_for_patient(patient.id), key=lambda task: task.due_date
        )
        assert [(t.description, t.source, t.source_id) for t in tasks] == [
            ("TCM interactive contact", "transition-clock", transition.id),
            ("TCM face-to-face visit", "transition-clock", transition.id),
        ]
        shown = header_of(screen)
        assert transition.clock.describe() == ("TCM: contact day 1 of 2; visit day 1 of 14")
        assert flat(transition.clock.describe()) in shown


async def test_shift_r_changes_the_risk_tier_with_a_reason(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "R")
        dialog = dialog_of(pilot)
        assert dialog.query_one("#field-risk_tier", Select).value == "moderate"
        await choose(pilot, "risk_tier", "High")
        await type_into(pilot, "reason", "2 ED visits")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        changed = app_services.patients.get(patient.id)
        assert (changed.risk_tier, changed.risk_source, changed.risk_basis) == (
            "high",
            "override",
            "2 ED visits",
        )
        assert "Risk High, set by A. Moreno: 2 ED visits" in header_of(screen)


async def test_shift_e_changes_closes_and_restarts_the_episode(app_services):
    patient = fresh_patient(app_services)
    first = app_services.episodes.current(patient.id)
    assert first.status == "active"
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "E")
        await choose(pilot, "status", "On hold")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        assert app_services.episodes.current(patient.id).status == "onhold"
        assert "Episode on hold" in header_of(screen)

        await press(pilot, "E")
        dialog = dialog_of(pilot)
        await choose(pilot, "status", "Finished")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog  # closing needs a reason
        assert error_of(dialog) == "Reason is required to mark an episode finished"
        assert app_services.episodes.current(patient.id).status == "onhold"
        await type_into(pilot, "reason", "goals met")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        closed = app_services.episodes.current(patient.id)
        assert (closed.id, closed.status, closed.end, closed.closure_reason) == (
            first.id,
            "finished",
            TODAY,
            "goals met",
        )
        assert [(h.from_status, h.to_status) for h in closed.history][-2:] == [
            ("active", "onhold"),
            ("onhold", "finished"),
        ]
        assert "Episode finished" in header_of(screen)

        # On a closed episode, E starts a new one.
        await press(pilot, "E")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == "New episode for Detail, Robin"
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        new = app_services.episodes.current(patient.id)
        assert new.id != first.id and (new.status, new.start, new.end) == ("active", TODAY, None)
        assert len(app_services.episodes.list_for_patient(patient.id)) == 2
        assert "Episode active" in header_of(screen)


async def test_m_reconciles_the_current_medications(app_services):
    patient_id = flagged_patient_id(app_services)
    medications = app_services.medications.list_for_patient(patient_id)
    current = [m for m in medications if m.status in ("active", "on-hold")]
    assert current and len(current) < len(medications)  # a stopped one too
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "4", "m")
        dialog = dialog_of(pilot)
        intro = flat(text_of(dialog.query_one("#form-intro", Static)))
        # The dialog counts what it will mark: the active and on-hold ones only.
        assert intro.startswith(f"Mark the {len(current)} active or on-hold medications")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        after = {m.id: m for m in app_services.medications.list_for_patient(patient_id)}
        for medication in medications:
            expected = TODAY if medication in current else medication.last_reconciled
            assert after[medication.id].last_reconciled == expected
        reconciled = flat(text_of(screen.query_one("#reconciled", Static)))
        assert reconciled == "Last reconciled 27 Nov 2026 (today) · m reconciles"
        shown = {row[0]: row[5] for row in rows_of(screen, "medications-table")}
        assert all(shown[m.name] == "2026-11-27" for m in current)


async def test_p_opens_the_care_plan_and_escape_returns(app_services):
    patient_id = flagged_patient_id(app_services)
    [plan] = app_services.care_plans.for_patient(patient_id)
    assert plan.problems and plan.problems[0].goals
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "5", "p")
        await settle(pilot)
        view = pilot.app.screen
        assert isinstance(view, CarePlanEditorScreen)
        tree = view.query_one("#plan-tree")
        assert tree.root.label.plain.startswith(
            f"{plan.title} · {CarePlanStatus(plan.status).label}"
        )
        problems = tree.root.children
        assert [node.label.plain.split("  ")[0] for node in problems] == [
            problem.description for problem in plan.problems
        ]
        for node, problem in zip(problems, plan.problems, strict=True):
            goal_lines = [child.label.plain for child in node.children if child.data[0] == "goal"]
            assert len(goal_lines) == len(problem.goals)
            for line, goal in zip(goal_lines, problem.goals, strict=True):
                assert line[2:].startswith(goal_words(goal.description)[:30])
        await press(pilot, "escape")
        assert pilot.app.screen is screen
        assert active_tab(screen) == "team" and screen.patient_id == patient_id


async def test_escape_goes_back_to_the_worklist(app_services):
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "escape")
        assert pilot.app.screen is not screen
        assert pilot.app.current_mode == "worklist"


async def test_a_theme_changed_while_the_chart_was_closed_shows_on_the_next_patient(
    app_services,
):
    """The reused screen skips Textual's restyle when shown again unless the
    app's styles changed meanwhile: a new theme must reach it."""
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        rule = screen.query_one("#patient-header").styles.border_bottom
        await press(pilot, "escape")
        pilot.app.theme = "nord"  # dark too: only the theme tells
        await settle(pilot)
        assert (await open_chart(pilot, patient_id)) is screen
        new_primary = pilot.app.current_theme.primary
        assert screen.query_one("#patient-header").styles.border_bottom != rule
        assert screen.query_one("#patient-header").styles.border_bottom[1].hex == new_primary


async def test_opening_reads_the_chart_once_and_coming_back_from_a_dialog_reads_it_again(
    app_services, monkeypatch
):
    patient_id = flagged_patient_id(app_services)
    reads: list[int] = []
    chart = app_services.chart
    load = chart.load
    monkeypatch.setattr(chart, "load", lambda patient: reads.append(patient) or load(patient))
    # Shown once the chart is read, as on a nurse's machine (not on a timer
    # that a busy test machine may reach first).
    monkeypatch.setattr(nursecase.app, "CHART_WAIT_SECONDS", 30.0)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        assert reads == [patient_id]  # not read again when the screen is shown
        await press(pilot, "t")  # the new task dialog
        assert pilot.app.screen is not screen
        await press(pilot, "escape")
        assert pilot.app.screen is screen
        assert reads == [patient_id, patient_id]


# ------------------------------------------------------------ row actions


def snapshot_of(services, patient_id: int) -> tuple:
    """Everything a row action could change."""
    return (
        services.contacts.list_for_patient(patient_id),
        services.tasks.list_for_patient(patient_id, include_done=True),
        services.patients.get(patient_id),
    )


@pytest.mark.parametrize("pane", ["summary", "problems", "team", "timeline"])
async def test_row_keys_do_nothing_on_tabs_without_their_rows(app_services, pane):
    patient_id = flagged_patient_id(app_services)
    before = snapshot_of(app_services, patient_id)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, str(PANES.index(pane) + 1))
        for key, action in ROW_ACTION_KEYS.items():
            assert screen.check_action(action, ()) is False, action
            await press(pilot, key)
            assert pilot.app.screen is screen, key
        assert active_tab(screen) == pane
    assert snapshot_of(app_services, patient_id) == before


async def test_row_keys_act_only_on_their_own_tab_and_an_open_task(app_services):
    patient_id = flagged_patient_id(app_services)
    before = snapshot_of(app_services, patient_id)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "2")  # contacts: e only
        assert screen.check_action("edit_contact", ()) is True
        for key in "dsg":
            assert screen.check_action(ROW_ACTION_KEYS[key], ()) is False
            await press(pilot, key)
            assert pilot.app.screen is screen, key
        await press(pilot, "6")  # tasks: d, s and g, not e
        assert screen.check_action("edit_contact", ()) is False
        await press(pilot, "e")
        assert pilot.app.screen is screen
        for action in ("task_done", "task_snooze", "task_reassign"):
            assert screen.check_action(action, ()) is True
        # On a done task, none of them.
        await move_to_task(pilot, screen, lambda task: not task.is_open)
        for key in "dsg":
            assert screen.check_action(ROW_ACTION_KEYS[key], ()) is False
            await press(pilot, key)
            assert pilot.app.screen is screen, key
    assert snapshot_of(app_services, patient_id) == before


# ------------------------------------------------------------------- triggers


async def test_phq9_item9_from_the_screen_raises_the_flag_and_a_routine_call_keeps_it(
    app_services,
):
    """Issue 16: a reached call about refills does not clear the flag; it offers a check."""
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        assert not has_safety_badge(screen)
        await press(pilot, "a", "2")
        await pilot.press(*["0"] * 8, "2")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [assessment] = app_services.assessments.list_for_patient(patient.id)
        assert assessment.answer("item9") == 2
        [task] = app_services.tasks.list_for_patient(patient.id)
        assert (task.priority, task.source, task.source_id, task.due_date) == (
            "urgent",
            "assessment-trigger",
            assessment.id,
            TODAY,
        )
        assert [flag.id for flag in app_services.assessments.open_safety_flags(patient.id)] == [
            assessment.id
        ]
        assert has_safety_badge(screen)
        assert "⚠ PHQ-9 item 9 answered 2 on 27 Nov: record a safety check" in header_of(screen)
        await press(pilot, "6")
        assert rows_of(screen, "tasks-table")[0][1:4] == [task.description, "Urgent", "Requested"]

        # A reached routine call, logged by keys: the dialog says a call does not clear it.
        await press(pilot, "c")
        dialog = dialog_of(pilot)
        assert flat(text_of(dialog.query_one("#form-intro", Static))) == (
            "⚠ Safety flag open: PHQ-9 item 9 answered 2 on 27 Nov. "
            "A call does not clear it; record a safety check."
        )
        assert dialog.query_one("#field-outcome", Select).value == "reached"
        await focus_field(pilot, "note")
        await pilot.press(*"Called about refills")
        await press(pilot, "ctrl+s")
        # Saved; the safety check is offered next. "n": later.
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert pilot.app.screen is screen
        [contact] = app_services.contacts.list_for_patient(patient.id)
        assert (contact.outcome, contact.note) == ("reached", "Called about refills")
        stored = app_services.tasks.get(task.id)
        assert (stored.status, stored.done_at) == ("requested", None)
        assert [flag.id for flag in app_services.assessments.open_safety_flags(patient.id)] == [
            assessment.id
        ]
        assert has_safety_badge(screen)
        assert "PHQ-9 item 9 answered 2 on 27 Nov" in header_of(screen)
        assert rows_of(screen, "tasks-table")[0][3] == "Requested"


async def test_two_unanswered_calls_meet_the_tcm_contact_and_today_moves_on(app_services):
    patient = fresh_patient(app_services)
    # Discharged Thu 26 Nov: the interactive contact is due Mon 30 Nov.
    app_services.transitions.record_discharge(patient.id, "2026-11-26")
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        assert "TCM: contact day 1 of 2; visit day 1 of 14" in header_of(screen)
        for _attempt in range(2):
            await press(pilot, "c")
            await choose(pilot, "outcome", "No answer")
            await press(pilot, "ctrl+s")
            assert pilot.app.screen is screen
        [transition] = app_services.transitions.list_for_patient(patient.id)
        assert (transition.interactive_attempts, transition.attempts_met_on) == (2, TODAY)
        statuses = {
            task.description: task.status
            for task in app_services.tasks.list_for_patient(patient.id, include_done=True)
        }
        assert statuses == {
            "TCM interactive contact": "completed",
            "TCM face-to-face visit": "requested",
        }
        assert "contact met by two attempts (Fri 27 Nov, Fri 27 Nov)" in header_of(screen)
        # Today: the contact is off the list, the visit stays.
        [row] = [
            row
            for row in app_services.worklist.today(app_services.context.nurse_id)
            if row.patient_id == patient.id
        ]
        assert row.reasons == ("TCM visit day 1 of 14",)
        await press(pilot, "escape")
        table = pilot.app.screen.table
        assert any(
            "Detail, Robin" in line and "TCM visit day 1 of 14" in line
            for line in lines_of(table).splitlines()
        )


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_a_lace_of_another_band_offers_the_tier(app_services, answer):
    patient = fresh_patient(app_services, risk_tier="low")
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "a", "1")
        entry = pilot.app.screen
        assert isinstance(entry, AssessmentEntryScreen) and entry.definition.code is Instrument.lace
        await pilot.press("5", "1", "2", "4")  # L5 A3 C2 E4
        await press(pilot, "ctrl+s")
        [lace] = app_services.assessments.list_for_patient(patient.id)
        assert (lace.total, lace.summary) == (14, "LACE 14 = L5 A3 C2 E4")
        question = pilot.app.screen
        assert isinstance(question, ConfirmDialog)
        assert flat(text_of(question.query_one("#confirm-question"))) == (
            "LACE 14 = L5 A3 C2 E4: high risk; the tier is low. Set it to high?"
        )
        # Nothing changes until the nurse decides.
        assert app_services.patients.get(patient.id).risk_tier == "low"
        await press(pilot, answer)
        assert pilot.app.screen is screen
        now = app_services.patients.get(patient.id)
        if answer == "y":
            assert (now.risk_tier, now.risk_source, now.risk_basis) == (
                "high",
                "score",
                "LACE 14 = L5 A3 C2 E4",
            )
            assert (now.risk_set_by_name, now.risk_set_at) == ("Alice Moreno", lace.performed_at)
            assert "Risk High (LACE 14, 27 Nov) Episode" in header_of(screen)
        else:
            assert (now.risk_tier, now.risk_source, now.version) == ("low", None, patient.version)
            # Declined: the header says what the LACE suggests, never a bare contradiction.
            assert (
                "Risk Low, no score or reason yet; LACE 14 on 27 Nov suggests high: R to decide"
                in header_of(screen)
            )
            # R then offers the score's tier first; no opens the nurse's override.
            await press(pilot, "R")
            assert isinstance(pilot.app.screen, ConfirmDialog)
            await press(pilot, "n")
            dialog = dialog_of(pilot)
            assert title_of(dialog) == "Risk tier of Detail, Robin"
            await type_into(pilot, "reason", "lives with daughter")
            await press(pilot, "ctrl+s")
            kept = app_services.patients.get(patient.id)
            assert (kept.risk_tier, kept.risk_source, kept.risk_basis) == (
                "low",
                "override",
                "lives with daughter",
            )
            assert "Risk Low, set by A. Moreno: lives with daughter; LACE 14" in header_of(screen)


async def test_a_lace_of_the_tiers_own_band_offers_nothing(app_services):
    patient = fresh_patient(app_services, risk_tier="moderate")
    app_services.patients.change_risk_tier(patient.id, "moderate", "daughter helps daily")
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "a", "1")
        await pilot.press("4", "0", "1", "0")  # L4 A0 C1 E0: LACE 5, moderate
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        assert app_services.assessments.list_for_patient(patient.id)[0].total == 5
        assert app_services.patients.get(patient.id).risk_tier == "moderate"
        assert "Risk Moderate, set by A. Moreno: daughter helps daily; LACE 5" in header_of(screen)


async def test_ccm_enrolment_by_keys(app_services):
    patient = fresh_patient(app_services)
    app_services.contacts.log(patient.id, "2026-11-02 10:00", "phone", "patient", "reached", 30)
    app_services.contacts.log(patient.id, "2026-11-20 10:00", "phone", "patient", "reached", 47)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        assert "Not enrolled in CCM · 77 min this month" in header_of(screen)
        await press(pilot, "C")
        dialog = dialog_of(pilot)
        assert title_of(dialog) == "CCM enrolment of Detail, Robin"
        assert dialog.query_one("#field-ccm_start", Input).value == "2026-11-27"
        await choose(pilot, "ccm_programme", "Standard CCM")
        # Refused: a start in the future names the field and writes nothing.
        await type_into(pilot, "ccm_start", "2026-12-01")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        assert error_of(dialog) == "CCM start must not be in the future"
        assert app_services.patients.get(patient.id).ccm_programme is None
        # Accepted: from 10 November, so the call of the 2nd does not count.
        await type_into(pilot, "ccm_start", "2026-11-10")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        enrolled = app_services.patients.get(patient.id)
        assert (enrolled.ccm_programme, enrolled.ccm_start) == ("standard", date(2026, 11, 10))
        assert (
            "Standard CCM since 10 Nov · 47 min this month: 99490, 99439 · "
            "13 min to a second 99439" in header_of(screen)
        )


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_a_positive_phq2_asks_to_start_a_phq9(app_services, answer):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "a", "3")
        await pilot.press("2", "1")
        await press(pilot, "ctrl+s")
        [phq2] = app_services.assessments.list_for_patient(patient.id)
        assert (phq2.instrument, phq2.total, phq2.band) == ("phq-2", 3, "positive")
        question = pilot.app.screen
        assert isinstance(question, ConfirmDialog)
        assert "Start a PHQ-9 now?" in flat(text_of(question.query_one("#confirm-question")))
        await press(pilot, answer)
        if answer == "y":
            entry = pilot.app.screen
            assert isinstance(entry, AssessmentEntryScreen)
            assert entry.definition.code is Instrument.phq_9 and entry.patient_id == patient.id
            assert entry.answers == {}
        else:
            assert pilot.app.screen is screen
        assert len(app_services.assessments.list_for_patient(patient.id)) == 1


# ----------------------------------------------------------------- validation


#: Bad values for the contact dialog, one after the other in one dialog.
BAD_CONTACTS = [
    ("occurred_at", "2026-11-28 09:00", "Contact time must not be in the future"),
    ("occurred_at", "", "Contact time is required"),
    ("minutes", "0", "Minutes must be a whole number from 1 to 480"),
    ("minutes", "481", "Minutes must be a whole number from 1 to 480"),
]


async def test_a_bad_contact_is_refused_naming_the_field_and_nothing_is_written(app_services):
    patient_id = flagged_patient_id(app_services)
    before = snapshot_of(app_services, patient_id)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "c")
        dialog = dialog_of(pilot)
        await focus_field(pilot, "note")
        await pilot.press(*"kept")
        for field, typed, message in BAD_CONTACTS:
            good = dialog.query_one(f"#field-{field}", Input).value
            await type_into(pilot, field, typed)
            await press(pilot, "ctrl+s")
            assert pilot.app.screen is dialog, typed
            assert error_of(dialog) == message
            assert dialog.focused is dialog.query_one(f"#field-{field}")
            assert dialog.query_one("#field-note").text == "kept"
            assert snapshot_of(app_services, patient_id) == before, typed
            await type_into(pilot, field, good)
        await press(pilot, "escape")
        assert pilot.app.screen is screen
    assert snapshot_of(app_services, patient_id) == before


async def test_a_task_without_a_description_is_refused(app_services):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, _screen):
        await press(pilot, "t")
        dialog = dialog_of(pilot)
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        assert error_of(dialog) == "Description is required"
        assert dialog.focused is dialog.query_one("#field-description")
    assert app_services.tasks.list_for_patient(patient.id, include_done=True) == []


async def test_a_stale_risk_tier_save_says_who_changed_it_and_when(app_services, seeded_engine):
    patient_id = flagged_patient_id(app_services)
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        await press(pilot, "R")
        dialog = dialog_of(pilot)
        await choose(pilot, "risk_tier", "High")
        await type_into(pilot, "reason", "fell at home")
        # Meanwhile a colleague changes the patient from another terminal.
        engine = make_engine(seeded_engine.url.render_as_string(hide_password=False))
        try:
            colleague = make_services(engine, pilot.app.services.clock, nurse="bokafor")
            colleague.patients.change_risk_tier(patient_id, "moderate", "huddle")
        finally:
            engine.dispose()
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        message = error_of(dialog)
        assert "changed by Ben Okafor at 2026-11-27 09:00" in message and "reload" in message
        assert dialog.query_one("#field-reason", Input).value == "fell at home"
        await press(pilot, "escape")
        assert pilot.app.screen is screen
        # Back on the screen, the chart is read again and shows the colleague's change.
        assert "Risk Moderate, set by B. Okafor: huddle" in header_of(screen)
    kept = app_services.patients.get(patient_id)
    assert (kept.risk_tier, kept.risk_basis) == ("moderate", "huddle")


# ---------------------------------------------------------------------- audit


async def test_opening_the_screen_records_exactly_one_view(app_services):
    patient_id = flagged_patient_id(app_services)
    before = len(view_events(app_services, patient_id))
    async with patient_screen(app_services, patient_id) as (pilot, screen):
        views = view_events(app_services, patient_id)
        assert len(views) == before + 1
        assert (views[0].nurse_username, views[0].changed_fields) == ("amoreno", ())
        # Tabs, a reload (f5) and an action read the chart again: no new view.
        await press(pilot, "2", "6", "5", "f5")
        await press(pilot, "t")
        await type_into(pilot, "description", "Scales")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        assert len(view_events(app_services, patient_id)) == before + 1
        # Leaving and opening the chart again is a second access.
        await press(pilot, "escape")
        await open_chart(pilot, patient_id)
        assert len(view_events(app_services, patient_id)) == before + 2


async def test_a_patient_in_hospital_shows_where_she_is_and_not_once_the_stay_is_cancelled(
    app_services,
):
    patient = fresh_patient(app_services)
    admitted = datetime(2026, 11, 25, 14, 30)
    change = EncounterChange(
        EncounterClass.inpatient,
        EncounterSource.adt,
        "V-PD-1",
        admitted,
        facility="Mercy General",
        diagnoses=(("Heart failure, unspecified", "I50.9", "I10"),),
    )
    with app_services.context.write() as session:
        record_admission(session, app_services.context, load_patient(session, patient.id), change)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        shown = header_of(screen)
        assert "IN HOSPITAL In hospital since 25 Nov, Mercy General" in shown
        assert "Next contact" in shown and "paused" in shown
        content = screen.query_one("#patient-header", Static).content
        assert any(
            str(span.style) == FLAG_STYLES[Flag.in_hospital]
            and content.plain[span.start : span.end] == "IN HOSPITAL"
            for span in content.spans
        )
        body = flat(text_of(screen.query_one("#summary-body", Static)))
        assert "In hospital since 25 Nov, Mercy General (inpatient stay)" in body
        assert "Heart failure, unspecified" in body
        await press(pilot, "7")
        assert ["2026-11-25 14:30", "Hospital", "Admitted to Mercy General (inpatient stay)"] in (
            rows_of(screen, "timeline-table")
        )
        await press(pilot, "escape")
        # The hospital cancels the admission (A11): she is at home again, and nothing says so.
        with app_services.context.write() as session:
            [stay] = session.execute(
                select(Encounter).where(Encounter.patient_id == patient.id)
            ).scalars()
            cancel_admission(session, app_services.context, stay)
        again = await open_chart(pilot, patient.id)
        shown = header_of(again)
        assert "IN HOSPITAL" not in shown and "In hospital" not in shown
        assert "paused" not in shown
        await press(pilot, "7")
        assert not any(row[1] == "Hospital" for row in rows_of(again, "timeline-table"))
