"""``nursecase audit verify`` and ``nursecase audit show``, through a stand-in root app."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from nursecase.cli.audit import audit_app
from nursecase.domain.codes import AuditAction
from nursecase.services.audit_anchor import anchor_path
from tests.databases import attacker, query

runner = CliRunner()


def command_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Stands in for the nursecase app."""

    app.add_typer(audit_app, name="audit")
    return app


def invoke(*arguments: str):
    return runner.invoke(command_app(), ["audit", *arguments])


@pytest.fixture
def trail(services, database_path, monkeypatch, tmp_path):
    """A database with two patients, one edited and one chart opened, by two nurses."""
    monkeypatch.setenv("NURSECASE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    first = services.patients.create("MRN-1", "Nguyen", "Linh")
    services.patients.update(first.id, first.version, phone="555 123 4567")
    services.nurses.create("bruno", "Bruno Diaz", "RN")
    services.nurses.sign_in("bruno")
    second = services.patients.create("MRN-2", "Okafor", "Ada")
    services.chart.open(second.id)
    return database_path


def test_verify_says_ok_on_an_intact_trail(trail):
    result = invoke("verify", "--db", str(trail))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ") and result.stdout.endswith(" events verified\n")


def test_verify_names_the_first_edited_event_and_exits_1(trail, engine):
    with attacker(engine) as connection:
        connection.execute("UPDATE audit_event SET action = 'view' WHERE id = 3")
    result = invoke("verify", "--db", str(trail))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "nursecase: error: the audit trail does not verify: event 3 was edited:"
        " its contents do not match its seal\n"
    )


def test_verify_reports_truncation(trail, engine):
    newest = query(str(trail), "SELECT max(id) FROM audit_event")[0][0]
    with attacker(engine) as connection:
        connection.execute("DELETE FROM audit_event WHERE id = ?", (newest,))
    result = invoke("verify", "--db", str(trail))
    assert result.exit_code == 1
    assert "the audit trail does not verify: the newest events were deleted" in result.stderr
    assert f"the anchor records event {newest}" in result.stderr


def test_verify_without_the_key_file_says_so(trail, engine):
    key_file = anchor_path(engine)
    key_file.unlink()
    result = invoke("verify", "--db", str(trail))
    assert result.exit_code == 1
    assert (
        f"the audit trail does not verify: the audit key file {key_file} is missing"
        in result.stderr
    )


def event_lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def words_of(lines: list[str]) -> list[str]:
    """Each event line from its action on (after id, date, time and account), spaces folded."""
    return [" ".join(line.split()[4:]) for line in lines]


def test_show_lists_newest_first_and_filters_by_patient(trail, services):
    everything = event_lines(invoke("show", "--db", str(trail)))
    ids = [int(line.split()[0]) for line in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 6
    lines = event_lines(invoke("show", "--db", str(trail), "--patient", "mrn-2"))
    episode = services.episodes.list_for_patient(services.patients.get_by_mrn("MRN-2").id)[0]
    # Actions by their labels, the patient by MRN, and the patient's episode too.
    assert [line.split(" [")[0] for line in words_of(lines)] == [
        f"{AuditAction.view.label} patient MRN-2",
        f"{AuditAction.create.label} episode {episode.id} of patient MRN-2",
        f"{AuditAction.create.label} patient MRN-2",
    ]
    assert all(line.split()[3] == "bruno" for line in lines)
    # Field names are shown in words, never values.
    first = event_lines(invoke("show", "--db", str(trail), "--patient", "MRN-1"))
    assert words_of(first)[0] == f"{AuditAction.update.label} patient MRN-1 [phone]"
    assert "555" not in "\n".join(first)


def test_show_names_records_by_their_patients_mrn_and_says_what_is_gone(trail, services):
    """Never an internal patient id; a deleted record (its id since reused) is said to be gone."""
    first = services.patients.get_by_mrn("MRN-1")
    call = services.contacts.log(first.id, "2026-11-27 09:00", "phone", "patient", "no-answer", 2)
    services.nurses.sign_in("alice")
    gone = services.patients.create("MRN-9", "Gone", "Soon")
    services.chart.open(gone.id)
    services.patients.delete(gone.id)
    reused = services.patients.create("MRN-10", "Next", "Patient")
    # SQLite gives the newest deleted row's id to the next row (the case this
    # guards); a PostgreSQL sequence never does, and the lines must read the same.
    assert reused.id == gone.id or services.context.engine.dialect.name == "postgresql"
    lines = event_lines(invoke("show", "--db", str(trail), "--limit", "20"))
    shown = "\n".join(words_of(lines))
    assert f"{AuditAction.create.label} patient MRN-10 [family name, given name, mrn," in shown
    assert f"{AuditAction.delete.label} a patient no longer on file" in shown
    assert f"{AuditAction.view.label} a patient no longer on file" in shown
    assert f"{AuditAction.create.label} contact {call.id} of patient MRN-1 [" in shown
    assert f"{AuditAction.login.label} account alice" in shown
    assert f"patient {gone.id}" not in shown and "last_contact_at" not in shown
    # --patient keeps the records of theirs, not the earlier patient under the same id.
    newest = words_of(event_lines(invoke("show", "--db", str(trail), "--patient", "MRN-10")))
    assert newest[-1].startswith(f"{AuditAction.create.label} patient MRN-10 [")
    assert not any("no longer on file" in line for line in newest)
    theirs = words_of(event_lines(invoke("show", "--db", str(trail), "--patient", "MRN-1")))
    assert any(f"contact {call.id} of patient MRN-1" in line for line in theirs)


def test_show_filters_by_nurse_and_date(trail):
    brunos = event_lines(invoke("show", "--db", str(trail), "--nurse", "bruno"))
    assert brunos and {line.split()[3] for line in brunos} == {"bruno"}
    alices = event_lines(invoke("show", "--db", str(trail), "--nurse", "alice"))
    assert alices and {line.split()[3] for line in alices} == {"alice"}
    # The services wrote with the frozen clock (2026-11-27).
    assert event_lines(invoke("show", "--db", str(trail), "--since", "2026-11-28")) == [
        "no audit events match"
    ]
    since = event_lines(invoke("show", "--db", str(trail), "--since", "2026-11-27"))
    assert since == event_lines(invoke("show", "--db", str(trail)))
    # The key marker and the first nurse were written before anyone signed in: "-".
    assert len(since) == len(brunos) + len(alices) + 2 and since[-1].split()[3] == "-"


def test_show_refuses_a_bad_date_and_an_unknown_patient(trail):
    bad_date = invoke("show", "--db", str(trail), "--since", "next week")
    assert bad_date.exit_code == 2
    assert "--since" in bad_date.stderr and "is not a date" in bad_date.stderr
    unknown = invoke("show", "--db", str(trail), "--patient", "MRN-404")
    assert unknown.exit_code == 1
    assert unknown.stderr == "nursecase: error: --patient: no patient with MRN MRN-404\n"


def test_anchor_writes_a_private_file_that_verify_checks(trail, tmp_path):
    anchor_file = tmp_path / "supervisor-anchor.json"
    written = invoke("anchor", "--out", str(anchor_file), "--db", str(trail))
    assert written.exit_code == 0, written.output
    assert written.stdout.startswith("Anchored ") and str(anchor_file) in written.stdout
    assert oct(anchor_file.stat().st_mode & 0o777) == "0o600"
    checked = invoke("verify", "--db", str(trail), "--anchor", str(anchor_file))
    assert checked.exit_code == 0, checked.output
    assert "note: the trail still holds the" in checked.stdout
    not_an_anchor = tmp_path / "notes.txt"
    not_an_anchor.write_text("hello")
    refused = invoke("verify", "--db", str(trail), "--anchor", str(not_an_anchor))
    assert refused.exit_code == 1
    assert refused.stderr == (
        "nursecase: error: the audit trail does not verify: the audit anchor file"
        f" {not_an_anchor} is damaged or not an audit anchor\n"
    )
    onto_a_folder = invoke("anchor", "--out", str(tmp_path), "--db", str(trail))
    assert onto_a_folder.exit_code == 1
    assert onto_a_folder.stderr == f"nursecase: error: --out: {tmp_path} is not a regular file\n"
