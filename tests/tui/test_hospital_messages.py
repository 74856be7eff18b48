"""The Hospital messages screen driven by keys, checked against the database afterwards.

One app session walks the screen as a nurse does: Today says messages wait,
H opens them, m matches one to a patient through the picker (it and the later
message with the same identifier are applied), x refuses an empty reason and
dismisses with one, escape goes back. A snapshot shows the demo's two waiting
messages with the frozen clock.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.app import make_app
from nursecase.db.models import AdtMessage, Encounter, ExternalIdentifier
from nursecase.demo_encounters import Visit, adt_message, at, seed_hospital_events
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.hospital_messages import NOTHING_WAITS, HospitalMessagesScreen
from nursecase.screens.referral_dialogs import PatientPicker
from nursecase.screens.worklist import WorklistScreen
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.dialog_keys import type_into

STRANGER_MRN = "H-55012"


def waiting_messages(services) -> None:
    """An admission and a discharge for an MRN nobody has, and a message that cannot be read."""
    today = services.clock.today()
    admitted = at(today - timedelta(days=3), 10, 15)
    stay = Visit(
        mrn=STRANGER_MRN,
        family_name="Halvorsen",
        given_name="Ingrid",
        birth_date=date(1949, 4, 2),
        patient_class="I",
        visit_number="V-TEST-1",
        admitted_at=admitted,
    )
    discharge = Visit(**{**stay.__dict__, "discharged_at": at(today, 8, 0), "disposition": "01"})
    inbox = services.adt
    inbox.receive(adt_message("A01", "TEST-1", admitted, stay))
    inbox.receive(adt_message("A03", "TEST-2", at(today, 8, 5), discharge))
    inbox.receive("MSH|^~\\&|EPICADT|MERCY|NURSECASE|CLINIC")
    inbox.apply_pending()


def rows_of(engine, model, **where):
    with Session(engine) as session:
        return list(session.execute(select(model).filter_by(**where)).scalars())


async def test_match_then_dismiss_by_keys(app_services, seeded_engine):
    waiting_messages(app_services)
    nurse_id = app_services.context.nurse_id
    [patient] = app_services.patients.list_page(nurse_id=nurse_id, limit=1)
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        today = app.screen
        assert isinstance(today, WorklistScreen)
        assert "3 hospital messages wait (H)" in text_of(today.query_one("#status"))

        await pilot.press("H")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HospitalMessagesScreen)
        assert len(screen.messages) == 3
        assert "Halvorsen, Ingrid" in text_of(screen.query_one("#message-detail"))

        # m: the picker, its title naming what the hospital sent; the MRN finds her.
        await pilot.press("m")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, PatientPicker)
        assert "born 02 Apr 1949" in picker.picker_title
        await pilot.press(*patient.mrn)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        [kept] = rows_of(seeded_engine, ExternalIdentifier, patient_id=patient.id)
        assert (kept.system, kept.value) == ("MERCY", STRANGER_MRN)
        [stay] = rows_of(seeded_engine, Encounter, patient_id=patient.id)
        assert (stay.encounter_class, stay.status) == ("IMP", "finished")
        applied = rows_of(seeded_engine, AdtMessage, mrn=STRANGER_MRN)
        assert {message.status for message in applied} == {"applied"}
        assert len(screen.messages) == 1  # the unreadable one is left

        # x: an empty reason is refused naming the field; a reason dismisses it.
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "Reason is required" in text_of(dialog.query_one("#form-error"))
        await type_into(pilot, "reason", "test message from the interface team")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and not screen.messages
        assert text_of(screen.query_one("#message-detail")).strip() == NOTHING_WAITS
        statuses = {message.status for message in rows_of(seeded_engine, AdtMessage)}
        assert statuses == {"applied", "dismissed"}

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is today
        assert "hospital message" not in text_of(today.query_one("#status"))


def on_messages(seeded_engine, clock):
    """A run_before: the demo's hospital events, then H."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HospitalMessagesScreen)
        assert len(pilot.app.screen.messages) == 2

    seed_hospital_events(seeded_engine, clock)
    return run_before


def test_the_demo_messages_snapshot(app_services, seeded_engine, clock, snap_compare):
    run_before = on_messages(seeded_engine, clock)
    app = make_app(app_services, settings())
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_short_reasons_are_the_inbox_reasons():
    from nursecase.screens.hospital_messages import SHORT_REASONS
    from nursecase.services.adt_inbox import OTHER_BIRTH_DATE, UNKNOWN_PATIENT

    assert set(SHORT_REASONS) == {UNKNOWN_PATIENT, OTHER_BIRTH_DATE}
