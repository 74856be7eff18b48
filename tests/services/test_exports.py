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
import sqlite3
import stat
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.models import AuditEvent, Nurse, Patient
from nursecase.domain.codes import ReadingSource
from nursecase.domain.validation import ValidationError
from nursecase.services import make_services
from nursecase.services.errors import NoNurseError
from nursecase.services.exports import (
    REPORT_FORMATS,
    ExportNotRecordedError,
    ExportService,
    ExportUnavailableError,
    check_destination,
    check_request,
)
from nursecase.services.exports.common import Report
from nursecase.services.exports.service import AUDIT_ENTITY
from nursecase.services.readings import NewReading
from tests.conftest import FROZEN_NOW
from tests.databases import demo_seeder, private_copy

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "exports"
UPDATE = bool(os.environ.get("NURSECASE_UPDATE_GOLDENS"))
#: No such font: PDFs are set in the core font, the same on every machine.
NO_FONTS = [("/no/such/folder/Sans.ttf", "/no/such/folder/Sans-Bold.ttf")]
DEMO_PATIENTS = 60
DEMO_NURSE = "amoreno"


#: Readings of the handover patient (issue 20): a weight gain over five days (an open
#: alert), two blood pressure pairs and one HbA1c, so the "Vitals & labs" section and
#: the open alerts are printed with content.
HANDOVER_READINGS = (
    ("29463-7", 80.0, "kg", datetime(2026, 11, 21, 7, 30)),
    ("29463-7", 82.6, "kg", datetime(2026, 11, 26, 7, 30)),
    ("8480-6", 140, "mmHg", datetime(2026, 11, 19, 10, 0)),
    ("8462-4", 88, "mmHg", datetime(2026, 11, 19, 10, 0)),
    ("8480-6", 148, "mmHg", datetime(2026, 11, 26, 7, 35)),
    ("8462-4", 92, "mmHg", datetime(2026, 11, 26, 7, 35)),
    ("4548-4", 7.9, "%", datetime(2026, 10, 15, 9, 0)),
)


def demo_with_readings(patients: int, seed: int):
    """The demo caseload, and the handover patient's readings from a home device."""
    fill_demo = demo_seeder(patients, seed)

    def fill(location: str) -> None:
        fill_demo(location)
        engine = make_engine(location)
        services = make_services(engine, FrozenClock(FROZEN_NOW))
        patient_id = services.patients.get_by_mrn(handover_mrn(services)).id
        with services.context.write() as session:
            services.readings.store(
                session,
                [NewReading(patient_id, *reading) for reading in HANDOVER_READINGS],
                ReadingSource.device,
            )
        engine.dispose()

    return fill


@pytest.fixture(scope="session")
def demo_template(databases, migrated_template):
    """One seeded demo database per session (frozen clock), copied by each test."""
    return databases.build("demo", demo_with_readings(DEMO_PATIENTS, 7), base=migrated_template)


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


def export_events(services, action: str = "export") -> list[AuditEvent]:
    """The export events (one per export, recorded before it starts), or their ends."""
    with services.context.read() as session:
        return list(
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == AUDIT_ENTITY, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def fields_of(event: AuditEvent) -> set[str]:
    return set(event.changed_fields.split(","))


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
    # The demo has no hospital encounters: outcomes has its own month and goldens
    # (tests/services/test_exports_outcomes.py).
    if file_format != "fhir" and report != "outcomes"
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
    assert text.startswith(
        b"\xef\xbb\xbfMRN,Name,Birth date,Age,Risk tier,Risk tier label,Risk source,"
    )
    assert b"\r\n" in text
    objects = json.loads(json_result.path.read_bytes())
    assert isinstance(objects, list) and len(objects) == csv_result.rows
    first = objects[0]
    assert set(first) == {
        "mrn", "name", "birth_date", "age", "risk_tier", "risk_source", "risk_basis",
        "risk_set_by", "risk_set_at", "episode_status", "nurse", "last_contact", "next_due",
        "open_tasks", "open_referrals", "flags",
        # Each code column keeps its code; its words follow for a person reading the file.
        "risk_tier_label", "risk_source_label", "episode_status_label", "flags_label",
    }  # fmt: skip
    assert (first["risk_tier"], first["risk_tier_label"]) in {
        ("high", "High"),
        ("moderate", "Moderate"),
        ("low", "Low"),
    }
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


def test_an_export_is_recorded_before_it_starts_and_how_it_ended(demo, tmp_path):
    assert export_events(demo) == []
    _, result = run_export(demo, tmp_path, "caseload", "csv")
    (event,) = export_events(demo)
    assert event.nurse_id == demo.context.nurse_id
    assert event.entity_id is None
    assert event.occurred_at == FROZEN_NOW
    assert fields_of(event) == {
        "report:caseload",
        "format:csv",
        f"scope:nurse-{demo.context.nurse_id}",
        "to:file",
        f"expected-rows:{result.rows}",
    }
    (end,) = export_events(demo, "export-finished")
    assert end.id > event.id and end.entity_id is None
    assert fields_of(end) == {
        "outcome:completed",
        f"rows:{result.rows}",
        f"patients:{result.patients}",
        f"start:{event.id}",
    }
    assert demo.audit.verify_chain() is None


def test_a_patient_export_is_audited_against_the_patient(demo, tmp_path):
    mrn = handover_mrn(demo)
    run_export(demo, tmp_path, "patient", "md", patient_mrn=mrn)
    (event,) = export_events(demo)
    (end,) = export_events(demo, "export-finished")
    patient_id = demo.patients.get_by_mrn(mrn).id
    assert event.entity_id == end.entity_id == patient_id
    assert {"report:patient", "scope:patient"} <= fields_of(event)
    assert "patients:1" in fields_of(end)


def _peeking_builder(look):
    """A FHIR builder whose first chunk first calls ``look()`` (the bytes are not out yet)."""

    def builder(session, scope, report):
        def body():
            look()
            yield b"{}"

        return Report(name=report, title="t", columns=(), rows=(), body=body())

    return builder


def committed_exports(services) -> int:
    """The export events another connection sees committed (as a next process would)."""
    other = make_engine(services.context.engine.url.render_as_string(hide_password=False))
    try:
        with other.connect() as connection:
            query = select(func.count()).select_from(AuditEvent)
            return connection.execute(query.where(AuditEvent.action == "export")).scalar_one()
    finally:
        other.dispose()


def test_the_export_is_committed_before_the_first_byte_leaves(demo, tmp_path):
    seen: list[int] = []
    exporter = ExportService(
        demo.context, fhir_builder=_peeking_builder(lambda: seen.append(committed_exports(demo)))
    )
    for destination in (tmp_path / "a.json", io.BytesIO()):
        plan = exporter.prepare(check_request("caseload", "fhir"))
        exporter.run(plan, destination)
    assert seen == [1, 2]


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


class _ClosingPipe(io.BytesIO):
    """A pipe whose reader goes away after ``taken`` chunks."""

    def __init__(self, taken: int) -> None:
        super().__init__()
        self.taken = taken

    def write(self, data):
        if self.taken == 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.taken -= 1
        return super().write(data)


def test_a_reader_that_goes_away_still_leaves_an_audit_trail(demo):
    exporter = ExportService(demo.context)
    for taken, outcome in ((1, "outcome:partial"), (0, "outcome:failed")):
        plan = exporter.prepare(check_request("caseload", "csv"))
        with pytest.raises(BrokenPipeError):
            exporter.run(plan, _ClosingPipe(taken))
        assert "to:stream" in fields_of(export_events(demo)[-1])
        assert outcome in fields_of(export_events(demo, "export-finished")[-1])
    assert len(export_events(demo)) == 2


def _failing_builder(error: BaseException):
    """A FHIR builder that fails halfway through its bytes with ``error``."""

    def builder(session, scope, report):
        def body():
            yield b'{"resourceType": "Bundle", "entry": ['
            raise error

        return Report(name=report, title="t", columns=(), rows=(), body=body())

    return builder


@pytest.mark.parametrize("error", [RuntimeError("halfway"), KeyboardInterrupt()])
def test_a_failure_halfway_writes_nothing_and_says_it_failed(demo, tmp_path, error):
    exporter = ExportService(demo.context, fhir_builder=_failing_builder(error))
    plan = exporter.prepare(check_request("caseload", "fhir"))
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "caseload.fhir.json"
    target.write_bytes(b"the earlier export")
    with pytest.raises(type(error)):
        exporter.run(plan, target)
    assert target.read_bytes() == b"the earlier export"
    # The earlier file alone: no hidden part file left beside it.
    assert [item.name for item in folder.iterdir()] == ["caseload.fhir.json"]
    (event,) = export_events(demo)
    (end,) = export_events(demo, "export-finished")
    assert {"outcome:failed", "rows:0", f"start:{event.id}"} <= fields_of(end)


def _locked_out(demo):
    """Services on the demo database whose writers give up after 0.2 s (not 5 s)."""
    engine = make_engine(demo.context.engine.url.render_as_string(hide_password=False))

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    return engine, make_services(engine, demo.context.clock, nurse=DEMO_NURSE)


@pytest.mark.sqlite_only  # holds SQLite's write lock
def test_an_export_whose_start_cannot_be_recorded_writes_nothing(demo, tmp_path):
    engine, services = _locked_out(demo)
    exporter = ExportService(services.context)
    plan = exporter.prepare(check_request("caseload", "csv"))
    holder = sqlite3.connect(demo.context.engine.url.database)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
        stream = io.BytesIO()
        with pytest.raises(ExportNotRecordedError, match="database is locked"):
            exporter.run(plan, stream)
        assert stream.getvalue() == b""
        folder = tmp_path / "out"
        folder.mkdir()
        with pytest.raises(ExportNotRecordedError) as caught:
            exporter.run(plan, folder / "caseload.csv")
        assert list(folder.iterdir()) == []
        assert str(caught.value).splitlines() == [
            "the export was not started: its audit event could not be recorded"
            " (database is locked); nothing was written"
        ]
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert export_events(demo) == []


@pytest.mark.sqlite_only  # SQLite's readers and writer
def test_a_long_reader_elsewhere_never_locks_the_export_out(demo, tmp_path):
    engine, services = _locked_out(demo)
    reader = sqlite3.connect(demo.context.engine.url.database)
    try:
        # Another export's read transaction, open from before until after this one.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM patient").fetchone()
        _, result = run_export(services, tmp_path, "caseload", "csv")
    finally:
        reader.rollback()
        reader.close()
        engine.dispose()
    assert result.path.exists()
    assert len(export_events(demo)) == len(export_events(demo, "export-finished")) == 1


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


def test_only_a_regular_file_is_ever_replaced(demo, tmp_path):
    exporter = ExportService(demo.context)
    plan = exporter.prepare(check_request("caseload", "csv"))
    real = tmp_path / "real.csv"
    real.write_bytes(b"someone else's file")
    os.symlink(real, tmp_path / "link.csv")
    os.symlink(tmp_path, tmp_path / "link-to-folder")
    os.mkfifo(tmp_path / "pipe.csv")
    for name, kind in [
        ("link.csv", "a symbolic link"),
        ("link-to-folder", "a symbolic link"),
        ("pipe.csv", "a FIFO (named pipe)"),
    ]:
        with pytest.raises(ValidationError) as caught:
            exporter.run(plan, tmp_path / name)
        assert caught.value.field == "out"
        assert caught.value.message == (
            f"{tmp_path / name} is {kind}, not a regular file; give a file's path"
            " (or --out - to write to standard output)"
        )
    assert (tmp_path / "link.csv").is_symlink() and real.read_bytes() == b"someone else's file"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.csv").st_mode)
    assert not [item for item in tmp_path.iterdir() if item.name.endswith(".part")]
    assert export_events(demo) == []


def test_a_device_is_refused_before_anything_is_touched():
    # Only the check runs: as root, writing would replace the real /dev/null.
    with pytest.raises(ValidationError, match="/dev/null is a character device, not a regular"):
        check_destination(Path("/dev/null"))


def test_an_export_removes_the_part_files_killed_exports_left(demo, tmp_path, dead_pid):
    folder = tmp_path / "out"
    folder.mkdir()
    stale = folder / f".caseload-2026-11-26.csv.{dead_pid}-abcd1234.part"
    stale.write_bytes(b"MRN,Name\n")
    stale.chmod(0o600)
    kept = folder / ".notes.part"  # not named like ours: never touched
    kept.write_bytes(b"x")
    run_export_to = folder / "caseload.csv"
    exporter = ExportService(demo.context)
    exporter.run(exporter.prepare(check_request("caseload", "csv")), run_export_to)
    assert sorted(item.name for item in folder.iterdir()) == [".notes.part", "caseload.csv"]


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
    with pytest.raises(ValidationError, match="No nurse with username 'nobody'") as caught:
        exporter.prepare(check_request("caseload", "csv", nurse_username="nobody"))
    assert caught.value.field == "nurse"
    with pytest.raises(ValidationError, match="No patient with MRN NOPE-1") as caught:
        exporter.prepare(check_request("patient", "md", patient_mrn="nope-1"))
    assert caught.value.field == "patient"


def test_the_worklist_report_is_the_worklist(demo, tmp_path):
    _, result = run_export(demo, tmp_path, "worklist", "json")
    rows = json.loads(result.path.read_bytes())
    worklist = demo.worklist.today(demo.context.nurse_id)
    assert [row["mrn"] for row in rows] == [row.mrn for row in worklist]
    assert [row["why"] for row in rows] == [row.why for row in worklist]
    assert [row["rank"] for row in rows] == list(range(1, len(worklist) + 1))
