"""``nursecase export``: where the file goes, what it says it did, stdout streaming, the
audit event, the progress bar only on a terminal, and one clear line for every error.

The figures of the reports themselves are checked against golden files in
tests/services/test_exports.py (frozen clock); here the CLI runs with the real
clock on a seeded demo database, as a nurse would run it.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from nursecase.cli import main
from nursecase.cli.export import export_progress
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from tests.databases import demo_seeder, private_copy, query

NURSE = "amoreno"


def run(*arguments: str) -> subprocess.CompletedProcess:
    """The real ``python -m nursecase`` in a subprocess (NURSECASE_HOME from the fixture)."""
    return subprocess.run(
        [sys.executable, "-m", "nursecase", *arguments],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )


@pytest.fixture(scope="session")
def demo_template(databases, migrated_template):
    """One seeded demo database (4 nurses, 40 patients) per session, copied by each test."""
    return databases.build("cli_demo", demo_seeder(40, 11), base=migrated_template)


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    return folder


@pytest.fixture
def database(tmp_path, databases, demo_template):
    with private_copy(databases, demo_template, tmp_path / "data" / "demo.db") as location:
        yield location


def cli(capsysbinary, *arguments: str) -> tuple[int, bytes, str]:
    """Run ``nursecase ARGUMENTS`` in this process: (exit code, stdout bytes, stderr text)."""
    try:
        main(list(arguments))
        code = 0
    except SystemExit as exit_request:
        code = exit_request.code or 0
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def export_events(database, action: str = "export") -> list[tuple]:
    """The exports on the audit trail (one each, before it starts), or their ends."""
    return query(
        database,
        "SELECT nurse_id, entity_id, changed_fields FROM audit_event"
        " WHERE action = :action ORDER BY id",
        action=action,
    )


def patient_count(database, nurse: str | None = NURSE) -> int:
    if nurse is None:
        return query(database, "SELECT count(*) FROM patient")[0][0]
    return query(
        database,
        "SELECT count(*) FROM patient JOIN nurse ON nurse.id = patient.nurse_id"
        " WHERE nurse.username = :nurse",
        nurse=nurse,
    )[0][0]


def a_patient_mrn(database) -> str:
    return query(database, "SELECT mrn FROM patient ORDER BY id LIMIT 1")[0][0]


# ------------------------------------------------------------------ success


def test_default_file_in_the_private_exports_folder(home, database, capsysbinary):
    code, out, err = cli(
        capsysbinary, "export", "caseload", "--db", str(database), "--nurse", NURSE
    )
    assert code == 0, err
    expected = home / "exports" / f"caseload-{date.today().isoformat()}.csv"
    count = patient_count(database)
    assert out.decode() == (
        f"Exported caseload (csv): {count} rows, {count} patients to {expected}\n"
    )
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert stat.S_IMODE(expected.parent.stat().st_mode) == 0o700
    assert expected.read_bytes().startswith(b"\xef\xbb\xbfMRN,Name,")
    ((nurse_id, entity_id, fields),) = export_events(database)
    assert nurse_id is not None and entity_id is None
    assert {"report:caseload", "format:csv", "to:file", f"expected-rows:{count}"} <= set(
        fields.split(",")
    )
    ((_, _, fields),) = export_events(database, "export-finished")
    assert {"outcome:completed", f"rows:{count}", f"patients:{count}"} <= set(fields.split(","))
    again = cli(capsysbinary, "export", "caseload", "--db", str(database), "--nurse", NURSE)
    assert again[0] == 0
    assert f"caseload-{date.today().isoformat()}-2.csv" in again[1].decode()


def test_out_path_and_every_format(home, database, tmp_path, capsysbinary):
    mrn = a_patient_mrn(database)
    for report, file_format, extra in [
        ("caseload", "pdf", ()),
        ("worklist", "md", ()),
        ("referrals", "json", ("--all",)),
        ("ccm", "csv", ("--month", "2026-11")),
        ("tcm", "pdf", ("--month", "2026-11")),
        ("careplans", "md", ()),
        ("patient", "pdf", ("--patient", mrn)),
        ("supervisor", "md", ("--all", "--reply-days", "7")),
        ("outcomes", "csv", ("--month", "2026-11", "--all")),
    ]:
        target = tmp_path / f"{report}.{file_format}"
        code, out, err = cli(
            capsysbinary,
            *("export", report, "-f", file_format, "-o", str(target)),
            *extra,
            *("--db", str(database), "--nurse", NURSE),
        )
        assert code == 0, err
        assert out.decode().startswith(f"Exported {report} ({file_format}): ")
        assert out.decode().endswith(f" to {target}\n")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (home / "exports").exists()
    assert len(export_events(database)) == 9
    # The month's six figures come first, each with its rate in words.
    outcomes = (tmp_path / "outcomes.csv").read_text("utf-8-sig").splitlines()
    assert outcomes[0].startswith("Month,Row,Measure,Measure label,Numerator,Denominator,Rate,")
    assert [line.split(",")[2] for line in outcomes[1:7]] == [
        "readmissions-30-day",
        "ed-visits",
        "admission-notification",
        "discharge-information",
        "patient-engagement",
        "medication-reconciliation",
    ]


def test_out_dash_streams_to_stdout(home, database, capsysbinary):
    code, out, err = cli(
        capsysbinary,
        "export",
        "caseload",
        "--all",
        "--out",
        "-",
        "--db",
        str(database),
        "--nurse",
        NURSE,
    )
    assert code == 0, err
    text = out.decode("utf-8")
    assert text.startswith("\ufeffMRN,Name,Birth date,")
    assert text.count("\r\n") == patient_count(database, None) + 1
    count = patient_count(database, None)
    assert err == f"Exported caseload (csv): {count} rows, {count} patients to stdout\n"
    assert not (home / "exports").exists()
    assert len(export_events(database)) == 1


def test_tcm_report_of_a_month_lists_its_discharges(home, database, capsysbinary):
    # The demo's newest discharge falls in the month asked for.
    newest = date.fromisoformat(
        str(query(database, "SELECT max(discharged_on) FROM transition")[0][0])
    )
    month = f"{newest:%Y-%m}"
    code, out, err = cli(
        capsysbinary,
        *("export", "tcm", "--month", month, "--all", "--out", "-"),
        *("--db", str(database), "--nurse", NURSE),
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"), newline="")))
    first = newest.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    discharges = query(
        database,
        "SELECT count(*) FROM transition WHERE discharged_on >= :first AND discharged_on < :next",
        first=first,
        next=following,
    )[0][0]
    assert len(rows) == discharges > 0
    assert list(rows[0])[:6] == ["MRN", "Patient", "Nurse", "Discharged", "Facility", "Complexity"]
    assert {row["Billable code"] for row in rows} <= {
        "99496",
        "99495",
        "not billable",
        "not billable yet",
    }
    assert all(row["Reason"] for row in rows)
    assert err.startswith(f"Exported tcm (csv): {discharges} rows, ")


def test_one_nurse_needs_no_nurse_option(home, database_path, capsysbinary):
    from nursecase.clock import SystemClock
    from nursecase.services import make_services

    engine = make_engine(database_path)
    services = make_services(engine, SystemClock())
    services.nurses.create("alice", "Alice Moreno")
    services.nurses.sign_in("alice")
    services.patients.create("MRN-1", "Nguyen", "Linh")
    engine.dispose()
    code, out, err = cli(
        capsysbinary, "export", "caseload", "-f", "json", "-o", "-", "--db", str(database_path)
    )
    assert code == 0, err
    assert b'"mrn": "MRN-1"' in out


def test_nurse_from_the_environment_and_before_the_command(
    home, database, monkeypatch, capsysbinary
):
    monkeypatch.setenv("NURSECASE_NURSE", NURSE)
    code, _, err = cli(capsysbinary, "export", "worklist", "-o", "-", "--db", str(database))
    assert code == 0, err
    monkeypatch.delenv("NURSECASE_NURSE")
    code, _, err = cli(
        capsysbinary, "--nurse", NURSE, "--db", str(database), "export", "worklist", "-o", "-"
    )
    assert code == 0, err


# ------------------------------------------------------------------- errors

ERRORS = [
    (["export", "bogus"], "unknown report 'bogus'; choose one of: caseload, worklist"),
    (
        ["export", "caseload", "--format", "xlsx"],
        "--format: must be one of: csv, json, md, pdf, fhir",
    ),
    (["export", "ccm", "--format", "fhir"], "--format: the ccm report has no fhir format"),
    (["export", "ccm", "--month", "2026-13"], "--month: is not a real calendar month"),
    (["export", "ccm", "--month", "Nov 2026"], "--month: must be a month as YYYY-MM"),
    (["export", "outcomes", "--month", "2026-13"], "--month: is not a real calendar month"),
    (
        ["export", "outcomes", "--from", "2026-11-01", "--to", "2026-11-30"],
        "--from: the outcomes report covers one month; give --month YYYY-MM",
    ),
    (
        ["export", "ccm", "--from", "2026-11-20", "--to", "2026-11-01"],
        "--from: must be on or before --to",
    ),
    (["export", "ccm", "--from", "2026-11-20"], "--to: is required with --from"),
    (
        ["export", "ccm", "--from", "yesterday", "--to", "2026-11-01"],
        "--from: must be a date as YYYY-MM-DD",
    ),
    (
        ["export", "caseload", "--month", "2026-11"],
        "--month: the caseload report does not take a period",
    ),
    (["export", "patient"], "--patient: the patient report needs --patient MRN"),
    (["export", "patient", "--patient", "NOPE-9"], "--patient: no patient with MRN NOPE-9"),
    (["export", "patient", "--patient", "no such"], "--patient: may contain only letters"),
    (
        ["export", "supervisor", "--patient", "X-1"],
        "--patient: the supervisor report covers nurses",
    ),
    (
        ["export", "caseload", "--reply-days", "3"],
        "--reply-days: applies to the supervisor report only",
    ),
    (["export", "supervisor", "--reply-days", "0"], "--reply-days"),
    (["export", "caseload", "--nurse", "nobody"], "--nurse: no nurse with username 'nobody'"),
    (["export", "caseload", "--out", "{tmp}/missing/x.csv"], "--out: the folder"),
    (["export", "caseload", "--out", "{tmp}"], "is a folder; give a file name inside it"),
    (["export", "caseload", "--out", "{database}/x.csv"], "does not exist"),
    # Even root cannot create a file in /proc: the write itself fails, cleanly.
    (["export", "caseload", "--out", "/proc/nursecase-export.csv"], "--out: cannot write in /proc"),
]


@pytest.mark.parametrize(("arguments", "fragment"), ERRORS)
def test_every_error_is_one_clear_line_and_writes_nothing(
    home, database, tmp_path, capsysbinary, arguments, fragment
):
    arguments = [item.format(tmp=tmp_path, database=database) for item in arguments]
    if "--nurse" not in arguments:
        arguments += ["--nurse", NURSE]
    code, out, err = cli(capsysbinary, *arguments, "--db", str(database))
    assert code != 0
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nursecase: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert out == b""
    assert not (home / "exports").exists()
    # The database's folder and a server database's audit key file aside, nothing.
    written = [
        item
        for item in tmp_path.rglob("*")
        if item.is_file()
        and item.parent != tmp_path / "data"
        and not item.name.startswith("audit-postgresql-")
    ]
    assert written == []
    assert export_events(database) == []


def test_several_nurses_and_none_named_is_refused(home, database, capsysbinary):
    code, _, err = cli(capsysbinary, "export", "caseload", "--db", str(database))
    assert code == 1
    assert err == (
        "nursecase: error: say who is exporting with --nurse USERNAME (or NURSECASE_NURSE);"
        " the audit trail records it\n"
    )
    assert export_events(database) == []


def test_a_missing_database_is_not_created(home, tmp_path, capsysbinary):
    missing = tmp_path / "none.db"
    code, _, err = cli(capsysbinary, "export", "caseload", "--db", str(missing), "--nurse", NURSE)
    assert code == 1
    assert err == f"nursecase: error: no database at {missing}\n"
    assert not missing.exists()


# -------------------------------------------------------- real processes


def test_piped_export_in_a_real_process(home, database):
    result = subprocess.run(
        [sys.executable, "-m", "nursecase", "export", "careplans", "--all", "-f", "csv", "-o", "-"]
        + ["--db", str(database), "--nurse", NURSE],
        capture_output=True,
        env={**os.environ, "NURSECASE_HOME": str(home)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\xef\xbb\xbfMRN,Patient,Nurse,Plan,")
    # Piped: no progress bar, no escape codes; only the one summary line.
    assert b"\x1b" not in result.stderr
    assert result.stderr.decode().startswith("Exported careplans (csv): ")
    assert result.stderr.count(b"\n") == 1


def test_an_error_in_a_real_process_is_one_line(home, database):
    result = run("export", "ccm", "--month", "2026-00", "--db", str(database), "--nurse", NURSE)
    assert result.returncode == 1
    assert result.stderr == "nursecase: error: --month: is not a real calendar month\n"
    assert result.stdout == ""


def test_the_export_command_never_loads_textual(home, database):
    arguments = ["export", "caseload", "-o", "-", "--db", str(database), "--nurse", NURSE]
    code = (
        "import sys\n"
        "from nursecase.cli import app\n"
        f"app(args={arguments!r}, standalone_mode=False)\n"
        "loaded = any(name.split('.')[0] == 'textual' for name in sys.modules)\n"
        "print('TEXTUAL', loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "NURSECASE_HOME": str(home)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "TEXTUAL False" in result.stderr


def test_help_lists_the_options(capsysbinary):
    code, out, _ = cli(capsysbinary, "export", "--help")
    assert code == 0
    shown = out.decode()
    for option in (
        "--format",
        "--out",
        "--all",
        "--month",
        "--from",
        "--to",
        "--patient",
        "--reply-days",
        "--nurse",
    ):
        assert option in shown


# ---------------------------------------------------------------- progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with export_progress("caseload") as progress:
        assert progress is None
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with export_progress("caseload") as progress:
        assert progress is not None
        progress(1000, 4000)
        progress(4000, 4000)
    assert "Exporting caseload" in terminal.getvalue()


def test_a_short_export_on_a_terminal_shows_no_bar(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with export_progress("caseload") as progress:
        # The service reports every 1000 rows and once at the end: a short export
        # only makes that last call, which must not flash a bar.
        progress(19, 19)
    assert terminal.getvalue() == ""


def test_with_passwords_on_the_exporter_must_give_their_password(
    tmp_path, cheap_password_hashing, virtual_waits
):
    """A supervisor's username alone must not export everyone's caseload."""
    from typer.testing import CliRunner

    from nursecase.clock import SystemClock
    from nursecase.services import make_services

    database = tmp_path / "team.db"
    engine = make_engine(database)
    ensure_schema(engine)
    services = make_services(engine, SystemClock())
    services.accounts.add("root", "Rita Root", "correct horse battery")
    services.patients.create("T-1", "Quinn", "Harper")
    engine.dispose()
    out = tmp_path / "all.csv"

    def export(password: str) -> tuple[int, str]:
        """The export in this process, the password typed at its hidden prompt."""
        arguments = ["--db", str(database), "--nurse", "root"]
        arguments += ["export", "caseload", "--all", "--out", str(out)]
        with CliRunner().isolation(input=f"{password}\n") as (_, err, _):
            try:
                main(arguments)
                code = 0
            except SystemExit as exit_request:
                code = exit_request.code or 0
            return code, err.getvalue().decode()

    code, err = export("not her password")
    assert code != 0
    # The test runner's hidden prompt ends no line: the error follows it on stderr.
    assert err.startswith("Password for root:")
    assert err.endswith("nursecase: error: wrong username or password\n")
    assert virtual_waits.take() == [1.0]  # a refusal is answered after the first delay
    assert not out.exists()
    code, err = export("correct horse battery")
    assert code == 0, err
    assert "Quinn" in out.read_text(encoding="utf-8-sig")


# ------------------------------------------- killed exports, unrecorded exports


def _paused_export(home, database, target, stage: str) -> subprocess.Popen:
    """A real export held at ``stage`` (the CLI's test seam), ready to be killed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nursecase", "export", "caseload", "--all", "-o", str(target)]
        + ["--db", str(database), "--nurse", NURSE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "NURSECASE_HOME": str(home), "NURSECASE_TEST_PAUSE_EXPORT": stage},
    )
    return process


def _wait_for(condition, process: subprocess.Popen) -> None:
    """Poll the files until ``condition()`` holds (the export got that far)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the export never got there"
        time.sleep(0.05)


def _parts(folder) -> list:
    return sorted(item for item in folder.iterdir() if item.name.endswith(".part"))


@pytest.mark.parametrize("stage", ["started", "written", "renamed"])
def test_a_killed_export_is_on_the_trail_and_its_part_file_is_found_and_removed(
    home, database, capsysbinary, stage
):
    folder = home / "exports"
    folder.mkdir(parents=True, mode=0o700)
    target = folder / "caseload.csv"
    process = _paused_export(home, database, target, stage)
    try:
        if stage == "renamed":
            _wait_for(target.exists, process)
        else:
            # The part file appears before the export is recorded: wait for the record too.
            _wait_for(lambda: _parts(folder) and export_events(database), process)
            if stage == "written":
                _wait_for(lambda: _parts(folder)[0].stat().st_size > 1000, process)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    # Recorded before its first byte, though it never said how it ended.
    ((_, _, fields),) = export_events(database)
    assert {"report:caseload", "format:csv", "scope:all", "to:file"} <= set(fields.split(","))
    assert export_events(database, "export-finished") == []
    left = _parts(folder)
    assert len(left) == (0 if stage == "renamed" else 1)
    code, _, err = cli(capsysbinary, "db", "check", "--db", str(database))
    if left:
        (part,) = left
        assert code == 1
        assert f"problem: an interrupted export left {part.name} (" in err
        # The next export (anywhere: here to stdout) removes it.
        code, _, err = cli(capsysbinary, "export", "worklist", "-o", "-", "--db", str(database),
                           "--nurse", NURSE)  # fmt: skip
        assert code == 0, err
        assert _parts(folder) == []
    code, out, err = cli(capsysbinary, "db", "check", "--db", str(database))
    assert (code, out, err) == (0, b"ok\n", "")


def test_a_running_export_s_part_file_is_neither_removed_nor_reported(home, database, capsysbinary):
    folder = home / "exports"
    folder.mkdir(parents=True, mode=0o700)
    process = _paused_export(home, database, folder / "caseload.csv", "written")
    try:
        _wait_for(lambda: _parts(folder) and export_events(database), process)
        part = _parts(folder)[0]
        code, out, err = cli(capsysbinary, "db", "check", "--db", str(database))
        assert (code, out) == (0, b"ok\n"), err
        code, _, err = cli(capsysbinary, "export", "worklist", "-o", "-", "--db", str(database),
                           "--nurse", NURSE)  # fmt: skip
        assert code == 0, err
        assert part.exists()
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def test_a_terminated_export_leaves_no_part_file(home, database):
    folder = home / "exports"
    folder.mkdir(parents=True, mode=0o700)
    process = _paused_export(home, database, folder / "caseload.csv", "written")
    try:
        _wait_for(lambda: _parts(folder) and export_events(database), process)
        _wait_for(lambda: _parts(folder)[0].stat().st_size > 1000, process)
        process.terminate()
        # Stopped as ctrl+c stops it (exit 130, as Typer ends an interrupted command).
        assert process.wait(timeout=60) == 130
        assert b"Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert list(folder.iterdir()) == []
    ((_, _, fields),) = export_events(database, "export-finished")
    assert "outcome:failed" in fields.split(",")


def test_out_onto_a_pipe_or_a_link_is_refused_in_one_line(home, database, tmp_path, capsysbinary):
    real = tmp_path / "real.csv"
    real.write_bytes(b"kept")
    os.symlink(real, tmp_path / "link.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    for name, kind in [("link.csv", "a symbolic link"), ("pipe.csv", "a FIFO (named pipe)")]:
        code, out, err = cli(capsysbinary, "export", "caseload", "-o", str(tmp_path / name),
                             "--db", str(database), "--nurse", NURSE)  # fmt: skip
        assert code == 1
        assert err == (
            f"nursecase: error: --out: {tmp_path / name} is {kind}, not a regular file;"
            " give a file's path (or --out - to write to standard output)\n"
        )
    assert (tmp_path / "link.csv").is_symlink() and real.read_bytes() == b"kept"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.csv").st_mode)
    assert export_events(database) == []
