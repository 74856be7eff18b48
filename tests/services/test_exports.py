"""The export service on a seeded demo caseload with the frozen clock: golden files for
every report and format, the audit event, the file's mode, streaming, and the scopes.

Golden files live in tests/golden/exports/. When a change to a report is meant,
regenerate them with ``NURSECASE_UPDATE_GOLDENS=1 pytest tests/services/test_exports.py``
and review the diff; without the variable any difference fails the test. PDFs are
rendered with the core Helvetica font (no font file), so they do not depend on
the fonts of the machine.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nursecase.db.engine import make_engine
from nursecase.db.models import AuditEvent, Nurse, Patient
from nursecase.domain.validation import ValidationError
from nursecase.services import make_services
from nursecase.services.errors import NoNurseError
from nursecase.services.exports import (
    REPORT_FORMATS,
    ExportService,
    ExportUnavailableError,
    check_request,
)
from nursecase.services.exports.common import Report
from nursecase.services.exports.service import AUDIT_ENTITY
from tests.conftest import FROZEN_NOW
from tests.databases import demo_seeder, private_copy

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "exports"
UPDATE = bool(os.environ.get("NURSECASE_UPDATE_GOLDENS"))
#: No such font: PDFs are set in the core font, the same on every machine.
NO_FONTS = [("/no/such/folder/Sans.ttf", "/no/such/folder/Sans-Bold.ttf")]
DEMO_PATIENTS = 60
DEMO_NURSE = "amoreno"


@pytest.fixture(scope="session")
def demo_template(databases, migrated_template):
    """One seeded demo database per session (frozen clock), copied by each test."""
    return databases.build("demo", demo_seeder(DEMO_PATIENTS, 7), base=migrated_template)


@pytest.fixture
def demo(tmp_path, databases, demo_template, clock):
    """Services on a private copy of the demo database, signed in as the first demo nurse."""
    with private_copy(databases, demo_template, tmp_path / "data" / "demo.db") as location:
        engine = make_engine(location)
        services = make_services(engine, clock, nurse=DEMO_NURSE)
        yield services
        engine.dispose()


def handover_mrn(services) -> str:
    """The patient of the handover golden: the first demo patient with an open safety flag."""
    flags = services.assessments.open_safety_flags(None)
    patient_id = min(flag.patient_id for flag in flags)
    return services.patients.get(patient_id).mrn


def export_events(services) -> list[AuditEvent]:
    with services.context.read() as session:
        return list(
            session.execute(select(AuditEvent).where(AuditEvent.entity == AUDIT_ENTITY)).scalars()
        )


def run_export(services, tmp_path, report, file_format, **choices):
    exporter = ExportService(services.context)
    plan = exporter.prepare(check_request(report, file_format, **choices))
    target = tmp_path / "out" / plan.file_name()
    target.parent.mkdir(exist_ok=True)
    result = exporter.run(plan, target, font_candidates=NO_FONTS)
    return plan, result


def check_golden(name: str, data: bytes) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(data)
    assert golden.exists(), f"no golden file {golden}; run with NURSECASE_UPDATE_GOLDENS=1"
    assert data == golden.read_bytes(), f"{name} differs from its golden file"


# ---------------------------------------------------------------- golden files

GOLDEN_CASES = [
    (report, file_format)
    for report, formats in REPORT_FORMATS.items()
    for file_format in formats
    if file_format != "fhir"
]


@pytest.mark.parametrize(("report", "file_format"), GOLDEN_CASES)
def test_every_report_and_format_matches_its_golden_file(demo, tmp_path, report, file_format):
    choices = {"patient_mrn": handover_mrn(demo)} if report == "patient" else {}
    if report == "supervisor":
        choices["all_nurses"] = True
    plan, result = run_export(demo, tmp_path, report, file_format, **choices)
    data = result.path.read_bytes()
    assert result.rows > 0
    check_golden(f"{report}.{plan.options.suffix.lstrip('.')}", data)


def test_goldens_hold_what_the_formats_promise(demo, tmp_path):
    _, csv_result = run_export(demo, tmp_path, "caseload", "csv")
    _, json_result = run_export(demo, tmp_path, "caseload", "json")
    text = csv_result.path.read_bytes()
    assert text.startswith(b"\xef\xbb\xbfMRN,Name,Birth date,Age,Risk tier,Risk source,Risk basis,")
    assert b"\r\n" in text
    objects = json.loads(json_result.path.read_bytes())
    assert isinstance(objects, list) and len(objects) == csv_result.rows
    first = objects[0]
    assert set(first) == {
        "mrn", "name", "birth_date", "age", "risk_tier", "risk_source", "risk_basis",
        "risk_set_by", "risk_set_at", "episode_status", "nurse", "last_contact", "next_due",
        "open_tasks", "open_referrals", "flags",
    }  # fmt: skip
    assert len(first["birth_date"]) == 10 and first["birth_date"][4] == "-"
    assert isinstance(first["age"], int) and isinstance(first["open_tasks"], int)


def _font_sizes(data: bytes) -> set[bytes]:
    """The font sizes the PDF's pages set (``/F1 8.50 Tf``), from its content streams."""
    sizes = set()
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            sizes.update(re.findall(rb"/F\d+ ([\d.]+) Tf", zlib.decompress(stream)))
        except zlib.error:
            continue
    return sizes


def test_the_printed_caseload_is_landscape_with_a_smaller_table(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "caseload", "pdf")
    data = result.path.read_bytes()
    assert data.startswith(b"%PDF-")
    # US Letter on its side: 792 x 612 points.
    assert b"/MediaBox [0 0 792.00 612.00]" in data
    # Title 18 pt, body 11 pt, the table 8.5 pt so that its columns fit.
    assert _font_sizes(data) == {b"18.00", b"11.00", b"8.50"}


def test_the_handover_prints_portrait(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "patient", "pdf", patient_mrn=handover_mrn(demo))
    assert b"/MediaBox [0 0 612.00 792.00]" in result.path.read_bytes()


# ------------------------------------------------------- audit, file, stream


def test_an_export_is_audited_once_after_the_file_is_complete(demo, tmp_path):
    assert export_events(demo) == []
    _, result = run_export(demo, tmp_path, "caseload", "csv")
    events = export_events(demo)
    assert len(events) == 1
    event = events[0]
    assert event.action == "export"
    assert event.nurse_id == demo.context.nurse_id
    assert event.entity_id is None
    assert event.occurred_at == FROZEN_NOW
    fields = set(event.changed_fields.split(","))
    assert {"report:caseload", "format:csv", f"rows:{result.rows}"} <= fields
    assert f"patients:{result.patients}" in fields
    assert f"scope:nurse-{demo.context.nurse_id}" in fields
    assert demo.audit.verify_chain() is None


def test_a_patient_export_is_audited_against_the_patient(demo, tmp_path):
    mrn = handover_mrn(demo)
    run_export(demo, tmp_path, "patient", "md", patient_mrn=mrn)
    (event,) = export_events(demo)
    assert event.entity_id == demo.patients.get_by_mrn(mrn).id
    assert {"report:patient", "patients:1", "scope:patient"} <= set(event.changed_fields.split(","))


def test_the_file_is_private(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "caseload", "csv")
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert [item.name for item in result.path.parent.iterdir()] == [result.path.name]


def test_the_default_destination_is_private_and_never_replaces_a_file(demo, tmp_path):
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "md"))
    folder = tmp_path / "exports"
    first = exporter.default_destination(plan, folder)
    assert first == folder / "caseload-2026-11-27.md"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    exporter.run(plan, first)
    second = exporter.default_destination(plan, folder)
    assert second == folder / "caseload-2026-11-27-2.md"


def test_default_names_carry_the_patient(demo):
    mrn = handover_mrn(demo)
    plan = ExportService(demo.context).prepare(check_request("patient", "pdf", patient_mrn=mrn))
    assert plan.file_name() == f"patient-{mrn}-2026-11-27.pdf"


def test_streaming_to_stdout_gives_the_same_bytes(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "referrals", "csv")
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("referrals", "csv"))
    stream = io.BytesIO()
    streamed = exporter.run(plan, stream)
    assert streamed.path is None
    assert streamed.rows == result.rows
    assert stream.getvalue() == result.path.read_bytes()
    assert len(export_events(demo)) == 2


class _ClosedPipe(io.BytesIO):
    def write(self, data):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_goes_away_still_leaves_an_audit_trail(demo):
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "csv"))
    with pytest.raises(BrokenPipeError):
        exporter.run(plan, _ClosedPipe())
    (event,) = export_events(demo)
    assert "partial" in event.changed_fields.split(",")


def _failing_builder(session, scope, report):
    """A FHIR builder that fails halfway through its bytes."""

    def body():
        yield b'{"resourceType": "Bundle", "entry": ['
        raise RuntimeError("halfway")

    return Report(name=report, title="t", columns=(), rows=(), body=body())


def test_a_failure_halfway_writes_nothing_and_records_nothing(demo, tmp_path):
    exporter = ExportService(demo.context, fhir_builder=_failing_builder)
    plan = exporter.prepare(check_request("caseload", "fhir"))
    target = tmp_path / "caseload.fhir.json"
    target.write_bytes(b"the earlier export")
    with pytest.raises(RuntimeError):
        exporter.run(plan, target)
    assert target.read_bytes() == b"the earlier export"
    # Only the earlier file, beside the database's folder (SQLite) and the data folder.
    assert sorted(item.name for item in tmp_path.iterdir()) in (
        ["caseload.fhir.json", "data"],
        ["caseload.fhir.json", "data", "home"],
        ["caseload.fhir.json", "home"],
    )
    assert export_events(demo) == []


def test_a_plugged_in_fhir_builder_is_used_and_audited(demo, tmp_path):
    def builder(session, scope, report):
        built = Report(name=report, title="t", columns=(), rows=(), body=[b"{}", b"\n"])
        built.patients.update({1, 2})
        return built

    exporter = ExportService(demo.context, fhir_builder=builder)
    plan = exporter.prepare(check_request("caseload", "fhir"))
    result = exporter.run(plan, tmp_path / plan.file_name())
    assert result.path.read_bytes() == b"{}\n"
    assert result.patients == 2
    assert plan.file_name() == "caseload-2026-11-27.fhir.json"


def test_a_service_without_a_fhir_builder_says_so_in_one_line(demo):
    with pytest.raises(ExportUnavailableError, match="^fhir export is not built yet$"):
        ExportService(demo.context).prepare(check_request("caseload", "fhir"))


def test_progress_is_reported_with_the_total(demo, tmp_path):
    calls = []
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "csv", all_nurses=True))
    exporter.run(plan, tmp_path / "all.csv", lambda done, total: calls.append((done, total)))
    assert calls[-1] == (DEMO_PATIENTS, DEMO_PATIENTS)


def test_an_export_needs_a_signed_in_nurse(engine, clock):
    services = make_services(engine, clock)
    with pytest.raises(NoNurseError):
        ExportService(services.context).prepare(check_request("caseload", "csv"))


def test_a_destination_that_cannot_be_written_is_refused_first(demo, tmp_path):
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "csv"))
    (tmp_path / "a-file").write_text("x")
    for path, message in [
        (tmp_path / "missing" / "x.csv", "does not exist"),
        (tmp_path, "is a folder"),
        (tmp_path / "a-file" / "x.csv", "does not exist"),
    ]:
        with pytest.raises(ValidationError, match=message) as caught:
            exporter.run(plan, path)
        assert caught.value.field == "out"
    assert export_events(demo) == []


# ------------------------------------------------------------------- scopes


def _nurse_ids(services) -> dict[str, int]:
    with services.context.read() as session:
        return {
            name: nurse_id for name, nurse_id in session.execute(select(Nurse.username, Nurse.id))
        }


def test_scopes_one_nurse_every_nurse_another_nurse_one_patient(demo, tmp_path):
    with demo.context.read() as session:
        query = (
            select(Nurse.username, func.count(Patient.id))
            .join(Patient, Patient.nurse_id == Nurse.id)
            .group_by(Nurse.username)
        )
        counts = {name: count for name, count in session.execute(query)}
    _, mine = run_export(demo, tmp_path, "caseload", "json")
    assert mine.rows == counts[DEMO_NURSE]
    _, everyone = run_export(demo, tmp_path, "caseload", "json", all_nurses=True)
    assert everyone.rows == DEMO_PATIENTS
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "json", nurse_username="bokafor"))
    assert plan.scope.nurse_id == _nurse_ids(demo)["bokafor"]
    assert plan.scope.nurse_label.startswith("Ben Okafor")
    mrn = handover_mrn(demo)
    _, one = run_export(demo, tmp_path, "caseload", "json", patient_mrn=mrn.lower())
    rows = json.loads(one.path.read_bytes())
    assert [row["mrn"] for row in rows] == [mrn]


def test_unknown_nurse_and_unknown_mrn_name_their_option(demo):
    exporter = ExportService(demo.context)
    with pytest.raises(ValidationError, match="no nurse with username 'nobody'") as caught:
        exporter.prepare(check_request("caseload", "csv", nurse_username="nobody"))
    assert caught.value.field == "nurse"
    with pytest.raises(ValidationError, match="no patient with MRN NOPE-1") as caught:
        exporter.prepare(check_request("patient", "md", patient_mrn="nope-1"))
    assert caught.value.field == "patient"


def test_the_worklist_report_is_the_worklist(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "worklist", "json")
    rows = json.loads(result.path.read_bytes())
    worklist = demo.worklist.today(demo.context.nurse_id)
    assert [row["mrn"] for row in rows] == [row.mrn for row in worklist]
    assert [row["why"] for row in rows] == [row.why for row in worklist]
    assert [row["rank"] for row in rows] == list(range(1, len(worklist) + 1))
