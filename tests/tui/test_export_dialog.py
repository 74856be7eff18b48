"""Exporting from the app by keys: X anywhere, the palette, and the files it writes."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pytest

from nursecase.app import make_app
from nursecase.domain.validation import ValidationError
from nursecase.screens.form_dialog import FormDialog, typed_path
from nursecase.screens.worklist import WorklistScreen
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.dialog_keys import choose, type_into
from tests.tui.test_patient_detail import flagged_patient_id, open_chart


def exports(services, action: str = "export") -> list:
    """The exports on the audit trail (one each), or how they ended ("export-finished")."""
    return [event for event in services.audit.list_events("export") if event.action == action]


async def test_x_exports_my_caseload_as_csv_into_the_exports_folder(
    app_services, tmp_path, demo_nurse
):
    folder = tmp_path / "exports"
    app = make_app(app_services, settings(exports_folder=folder))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, WorklistScreen)
        [toast] = [n.message for n in app._notifications if n.message.startswith("Exported")]
    [written] = list(folder.iterdir())
    assert written.name == "caseload-2026-11-27.csv"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    text = written.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    mine = app_services.patients.count(nurse_id=app_services.context.nurse_id)
    assert len(rows) == mine
    assert toast == f"Exported caseload ({mine} rows) to {written}"
    [event] = exports(app_services)
    assert event.nurse_username == demo_nurse
    assert "report:caseload" in event.changed_fields
    [end] = exports(app_services, "export-finished")
    assert {"outcome:completed", f"rows:{mine}"} <= set(end.changed_fields)


async def test_on_a_patient_x_proposes_their_handover_as_pdf(app_services, tmp_path):
    folder = tmp_path / "exports"
    patient_id = flagged_patient_id(app_services)
    mrn = app_services.patients.get(patient_id).mrn
    app = make_app(app_services, settings(exports_folder=folder))
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, patient_id)
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        assert dialog.values()["report"] == "patient"
        assert dialog.values()["patient"] == mrn
        await pilot.press("ctrl+s")
        await settle(pilot)
    [written] = list(folder.iterdir())
    assert written.name == f"patient-{mrn}-2026-11-27.pdf"
    assert written.read_bytes().startswith(b"%PDF")
    [event] = exports(app_services)
    assert event.entity_id == patient_id


async def test_a_bad_choice_is_named_and_nothing_is_written(app_services, tmp_path):
    folder = tmp_path / "exports"
    app = make_app(app_services, settings(exports_folder=folder))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        await choose(pilot, "report", "CCM minutes and billing codes")
        await type_into(pilot, "month", "2026-13")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert text_of(dialog.query_one("#form-error")).startswith(
            "Month is not a real calendar month"
        )
        assert dialog.focused is dialog.query_one("#field-month")
        await type_into(pilot, "month", "2026-11")
        await choose(pilot, "format", "FHIR R4 bundle")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "The ccm report has no fhir format" in text_of(dialog.query_one("#form-error"))
        await pilot.press("escape")
        await settle(pilot)
    assert not folder.exists() or not list(folder.iterdir())
    assert exports(app_services) == []


async def test_the_palette_offers_the_export(app_services, tmp_path):
    app = make_app(app_services, settings(exports_folder=tmp_path / "exports"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"export")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FormDialog)
        assert text_of(app.screen.query_one("#form-title")).strip() == "Export a report"


def test_a_typed_home_of_no_user_is_named_on_its_field():
    with pytest.raises(ValidationError) as refused:
        typed_path("out", "~nobody-at-all/caseload.csv")
    assert (refused.value.field, refused.value.message) == (
        "out",
        "~nobody-at-all: there is no such user on this computer",
    )
    assert typed_path("out", "~/caseload.csv") == Path.home() / "caseload.csv"
