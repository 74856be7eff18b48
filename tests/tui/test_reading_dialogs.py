"""Readings by keys (issue 20): the reading form (v), a patient's own limit, monitoring.

Each test drives the real app by keys and reads the database back through the
services: what was refused wrote nothing, what was saved is there with the
signed-in nurse, and a breach opened its alert.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from textual.widgets import Input, Static

from nursecase.app import make_app
from nursecase.config import Settings
from nursecase.db.models import Reading
from nursecase.domain.codes import Measure
from nursecase.domain.validation import ValidationError
from nursecase.screens.choice_picker import ChoicePicker
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.reading_dialogs import (
    SmallForm,
    display_unit,
    form_measures,
    refusal_in_words,
    sent_unit,
)
from nursecase.services.readings import EnrolmentRead
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.dialog_keys import type_into
from tests.tui.test_patient_detail import fresh_patient, patient_screen, press

YESTERDAY_MORNING = datetime(2026, 11, 26, 7, 30)  # the frozen clock is 27 Nov, 09:00


def readings_of(services, patient_id: int) -> int:
    with Session(services.context.engine) as session:
        return session.scalar(
            select(func.count()).select_from(Reading).where(Reading.patient_id == patient_id)
        )


def form_of(pilot) -> SmallForm:
    dialog = pilot.app.screen
    assert isinstance(dialog, SmallForm)
    return dialog


def error_of(dialog) -> str:
    return " ".join(text_of(dialog.query_one("#form-error", Static)).split())


async def test_v_keys_a_weight_that_crosses_the_threshold_and_refuses_an_impossible_one(
    app_services,
):
    patient = fresh_patient(app_services)
    app_services.readings.key(patient.id, {"weight": ("80.0", "kg")}, YESTERDAY_MORNING)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        await press(pilot, "v")
        dialog = form_of(pilot)
        # Not enrolled: the usual readings, blood pressure as its two parts, units beside.
        assert [field.label for field in dialog.fields] == [
            "Weight (kg)",
            "Systolic pressure (mmHg)",
            "Diastolic pressure (mmHg)",
            "Heart rate (bpm)",
            "Oxygen saturation (%)",
            "Glucose (mg/dL)",
            "Taken (date time)",
        ]
        # Refused: an impossible weight is named in words, kept, and nothing is written.
        await type_into(pilot, "weight", "8120")
        await type_into(pilot, "heart-rate", "88")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        assert error_of(dialog) == "Weight 8120 kg is not possible (expected 0.5 to 400 kg)"
        assert dialog.query_one("#field-weight", Input).value == "8120"
        assert dialog.focused is dialog.query_one("#field-weight", Input)
        assert readings_of(app_services, patient.id) == 1
        # Accepted: 81.2 kg is 1.2 kg over yesterday's weight, in one transaction with the pulse.
        await type_into(pilot, "weight", "81.2")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
    [weight] = [
        reading
        for reading in app_services.readings.series(patient.id, "weight")
        if reading.source == "keyed" and reading.entered_by == "Alice Moreno"
        if reading.taken_at == app_services.clock.now()
    ]
    assert (weight.value, weight.unit) == (81.2, "kg")
    [pulse] = app_services.readings.series(patient.id, "heart-rate")
    assert (pulse.value, pulse.unit, pulse.entered_by) == (88, "/min", "Alice Moreno")
    [alert] = app_services.readings.alerts(patient.id, open_only=True)
    assert (alert.measure, alert.why) == ("weight", "weight +1.2 kg in 1 d")


async def test_an_own_limit_needs_a_reason_goes_back_to_the_clinics_and_monitoring_by_keys(
    app_services,
):
    patient = fresh_patient(app_services)
    async with patient_screen(app_services, patient.id) as (pilot, screen):
        # L: the rules in words; the sixth is oxygen saturation.
        await press(pilot, "L")
        picker = pilot.app.screen
        assert isinstance(picker, ChoicePicker)
        shown = {choice.label: choice.hint for choice in picker.choices}
        assert shown["Oxygen saturation low"] == "oxygen saturation under 90 %"
        assert shown["Weight gain in a week"] == "weight gain over 2.3 kg in a week"
        await press(pilot, "6")
        dialog = form_of(pilot)
        assert dialog.query_one("#field-limit", Input).value == "90"
        await type_into(pilot, "limit", "88")
        # Refused: no reason, nothing written.
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is dialog
        assert error_of(dialog) == "Reason is required"
        assert not any(limit.reason for limit in app_services.readings.limits(patient.id))
        # Accepted, kept with the nurse's name; the list then says so, like a risk override.
        await type_into(pilot, "reason", "COPD, retains CO2")
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [own] = [limit for limit in app_services.readings.limits(patient.id) if limit.reason]
        assert (own.rule, own.limit, own.reason, own.set_by) == (
            "oxygen-low",
            88,
            "COPD, retains CO2",
            "Alice Moreno",
        )
        await press(pilot, "L")
        hints = {choice.value: choice.hint for choice in pilot.app.screen.choices}
        assert hints["oxygen-low"] == (
            "oxygen saturation under 88 %, own limit set by Alice Moreno: COPD, retains CO2"
        )
        # The entry after it goes back to the clinic's limit, once confirmed.
        await press(pilot, "7")
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert pilot.app.screen is screen
        assert not any(limit.reason for limit in app_services.readings.limits(patient.id))

        # M: enrol for weight, daily, with the clinic's gap.
        await press(pilot, "M")
        await press(pilot, "1")
        dialog = form_of(pilot)
        assert dialog.query_one("#field-gap_days", Input).value == "3"
        await press(pilot, "ctrl+s")
        assert pilot.app.screen is screen
        [enrolment] = app_services.readings.enrolments(patient.id)
        assert (enrolment.measure, enrolment.frequency, enrolment.gap_days) == (
            "weight",
            "daily",
            3,
        )


async def test_v_in_rounds_keys_readings_for_the_highlighted_patient_and_the_card_shows_them(
    app_services,
):
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "r")
        await pilot.pause(0.3)
        await settle(pilot)
        screen = app.screen
        row = screen.table.cursor_row
        # The form asks for the measures a patient is monitored for; this one
        # is monitored for none, so it asks for the usual ones.
        for enrolment in app_services.readings.enrolments(row.patient_id):
            app_services.readings.end_enrolment(enrolment.id)
        app_services.readings.key(row.patient_id, {"weight": ("80.0", "kg")}, YESTERDAY_MORNING)
        await press(pilot, "v")
        dialog = form_of(pilot)
        assert dialog.form_title == f"Readings for {row.given_name} {row.family_name}"
        await type_into(pilot, "weight", "80.4")
        await type_into(pilot, "systolic", "148")
        await type_into(pilot, "diastolic", "92")
        await press(pilot, "ctrl+s")
        assert app.screen is screen
        card = text_of(screen.query_one("#card-body", Static))
        assert "wt 80.4 kg +0.4 kg/1 d ▲, BP 148/92" in card
    keyed = [
        reading
        for reading in app_services.readings.series(row.patient_id, "blood-pressure")
        if reading.source == "keyed"
    ]
    assert sorted(reading.value for reading in keyed) == [92.0, 148.0]


def test_the_form_asks_for_the_enrolled_measures_in_the_clinics_units():
    enrolled = [
        EnrolmentRead(1, 1, "weight", "daily", 3, date(2026, 11, 1), None),
        EnrolmentRead(2, 1, "blood-pressure", "twice-daily", 3, date(2026, 11, 1), None),
    ]
    measures = form_measures(enrolled)
    assert measures == [Measure.weight, Measure.systolic, Measure.diastolic]
    clinic = Settings(weight_unit="lb", glucose_unit="mmol/L")
    assert [display_unit(measure, clinic) for measure in (Measure.weight, Measure.glucose)] == [
        "lb",
        "mmol/L",
    ]
    # Sent as typed, in UCUM: pounds are "[lb_av]", a pulse "/min".
    assert sent_unit(Measure.weight, "lb") == "[lb_av]"
    assert sent_unit(Measure.heart_rate, "bpm") == "/min"
    assert sent_unit(Measure.glucose, "mmol/L") == "mmol/L"


def test_a_refused_reading_is_said_in_the_unit_it_was_typed_in():
    refused = ValidationError("weight", "2000 kg is not a possible weight (expected 0.5 to 400 kg)")
    said = refusal_in_words(refused, {Measure.weight: "lb"}, {"weight": "4409"})
    assert (said.field, str(said)) == (
        "weight",
        "Weight 4409 lb is not possible (expected 1.1 to 881.8 lb)",
    )
    refused = ValidationError("systolic", 'must be a number, not "high"')
    said = refusal_in_words(refused, {Measure.systolic: "mmHg"}, {"systolic": "high"})
    assert str(said) == 'Systolic pressure must be a number, not "high"'
