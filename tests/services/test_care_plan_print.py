"""CarePlanPrinter: the plan in plain words, written as Markdown or PDF, every export audited."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest
from sqlalchemy import event, func, select

from nursecase.db.models import AuditEvent
from nursecase.reports.document import BulletList, Heading, Paragraph, Table
from nursecase.reports.markdown import render_markdown
from nursecase.services import make_services
from nursecase.services.audit import AuditService
from nursecase.services.care_plan_print import CarePlanPrinter, is_family_owner
from nursecase.services.errors import NoNurseError, NotFoundError, ValidationError


@pytest.fixture
def printer(services) -> CarePlanPrinter:
    return CarePlanPrinter(services.context)


@pytest.fixture
def patient_id(services) -> int:
    patient = services.patients.create("MRN-1", "Nguyen", "Linh", birth_date="1948-03-04")
    services.care_team.add(patient.id, "Dr. Priya Rao", "pcp", "Eastside Clinic", "555-0100")
    services.care_team.add(patient.id, "Minh Nguyen", "caregiver", None, "555-0199")
    return patient.id


@pytest.fixture
def plan_id(services, patient_id) -> int:
    """An active plan with a live Omaha problem, a free-text one and entered-in-error items."""
    plans = services.care_plans
    plan = plans.create(patient_id, "Heart failure plan")
    change = plans.add_problem(plan.id, plan.version, omaha_code="circulation")
    circulation = change.item_id
    change = plans.add_goal(
        circulation,
        change.plan.version,
        "The patient will weigh daily and report a gain over 2 kg",
        target_measure="daily weights logged",
        target_value="7 of 7 days",
        due_date=date(2026, 12, 31),
        lifecycle_status="active",
    )
    weighing_goal = change.item_id
    version = plans.update_goal(
        weighing_goal, change.plan.version, achievement_status="improving"
    ).version
    change = plans.add_goal(circulation, version, "The patient will stop smoking")
    wrong_goal = change.item_id
    change = plans.add_intervention(
        circulation,
        change.plan.version,
        "treatments-procedures",
        "Weigh yourself every morning before breakfast",
        owner="patient",
        frequency="daily",
        due_date=date(2026, 12, 31),
    )
    change = plans.add_intervention(
        circulation,
        change.plan.version,
        "teaching-guidance-counseling",
        "Help plan low-salt meals",
        owner="Caregiver",
        frequency="weekly",
    )
    change = plans.add_intervention(
        circulation,
        change.plan.version,
        "surveillance",
        "Call to review the weight log",
        owner="nurse",
        frequency="weekly",
        due_date=date(2026, 12, 4),
    )
    change = plans.add_intervention(
        circulation,
        change.plan.version,
        "case-management",
        "Book a cardiology visit",
        owner="nurse",
        status="in-progress",
    )
    version = plans.update_intervention(
        change.item_id, change.plan.version, status="completed"
    ).version
    change = plans.add_intervention(
        circulation, version, "surveillance", "Check blood sugar", owner="nurse"
    )
    wrong_intervention = change.item_id
    change = plans.add_problem(
        plan.id, change.plan.version, description="Worried about *falls* [PRN]"
    )
    falls = change.item_id
    change = plans.add_goal(falls, change.plan.version, "The patient will use a walker | cane")
    change = plans.add_problem(plan.id, change.plan.version, description="Wrong patient's problem")
    wrong_problem = change.item_id
    version = plans.set_status(plan.id, change.plan.version, "active").version
    version = plans.remove_item("goal", wrong_goal, version).version
    version = plans.remove_item("intervention", wrong_intervention, version).version
    plans.remove_item("problem", wrong_problem, version)
    return plan.id


def export_events(services, plan_id: int):
    return [
        event
        for event in AuditService(services.context).list_events("care_plan", plan_id)
        if event.action == "export"
    ]


def audit_count(services) -> int:
    with services.context.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


@pytest.fixture
def exports(tmp_path):
    """An empty folder for the printouts (the test database lives elsewhere in tmp_path)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_document_speaks_plain_language(printer, plan_id):
    document = printer.document(plan_id)
    assert document.title == "Care plan for Linh Nguyen"
    assert document.subtitle == "Heart failure plan"
    assert document.meta == (
        ("Date of birth", "March 4, 1948"),
        ("MRN", "MRN-1"),
        ("Plan status", "Active"),
        ("Plan period", "from November 27, 2026"),
        ("Printed on", "November 27, 2026"),
        ("Nurse case manager", "Alice Moreno, RN, CCM"),
    )
    assert document.blocks == (
        Heading("Circulation", 1),
        Heading("Goals", 2),
        BulletList(
            (
                "The patient will weigh daily and report a gain over 2 kg."
                " How it is measured: daily weights logged. Target: 7 of 7 days."
                " By December 31, 2026. Status: in progress. Progress: improving.",
            )
        ),
        Heading("What you and your family will do", 2),
        BulletList(
            (
                "Weigh yourself every morning before breakfast. How often: daily."
                " By December 31, 2026.",
                "Caregiver: Help plan low-salt meals. How often: weekly.",
            )
        ),
        Heading("What your care team will do", 2),
        BulletList(
            (
                "Nurse: Call to review the weight log. How often: weekly. By December 4, 2026.",
                "Nurse: Book a cardiology visit. (Done.)",
            )
        ),
        Heading("Worried about *falls* [PRN]", 1),
        Heading("Goals", 2),
        BulletList(("The patient will use a walker | cane. Status: suggested.",)),
        Heading("Your care team", 1),
        Table(
            ("Role", "Name", "Organisation", "Phone"),
            (
                ("Caregiver", "Minh Nguyen", "", "555-0199"),
                ("Primary care physician", "Dr. Priya Rao", "Eastside Clinic", "555-0100"),
            ),
            widths=(2, 3, 4, 2.5),
        ),
    )


def test_entered_in_error_items_are_left_out(printer, plan_id):
    text = render_markdown(printer.document(plan_id))
    for wrong in ("stop smoking", "Check blood sugar", "Wrong patient"):
        assert wrong not in text


def test_a_new_draft_plan_says_so(services, printer, patient_id):
    plan = services.care_plans.create(patient_id, "First plan")
    document = printer.document(plan.id)
    assert dict(document.meta)["Plan status"] == "Draft (not final yet)"
    assert dict(document.meta)["Plan period"] == "not started yet"
    assert document.blocks[0] == Paragraph("No problems have been added to this plan yet.")


def test_a_resolved_problem_and_an_empty_one_are_explained(services, printer, patient_id):
    plans = services.care_plans
    plan = plans.create(patient_id)
    change = plans.add_problem(plan.id, plan.version, omaha_code="pain", description="Knee pain")
    plans.update_problem(change.item_id, change.plan.version, status="resolved")
    blocks = printer.document(plan.id).blocks
    assert blocks[:3] == (
        Heading("Knee pain (Pain)", 1),
        Paragraph("This problem is resolved."),
        Paragraph("Nothing is planned for this problem yet."),
    )


@pytest.mark.parametrize(
    ("owner", "family"),
    [
        ("patient", True),
        ("Caregiver", True),
        ("patient and family", True),
        ("patient/caregiver", True),
        ("nurse", False),
        ("family physician", False),
        ("pharmacist", False),
        ("  ", False),
    ],
)
def test_who_does_an_intervention(owner, family):
    assert is_family_owner(owner) is family


def test_write_markdown(services, printer, plan_id, exports):
    target = exports / "care-plan.md"
    assert printer.write(plan_id, "markdown", target) == target
    text = target.read_text(encoding="utf-8")
    assert text == render_markdown(printer.document(plan_id))
    assert text.startswith("# Care plan for Linh Nguyen\n")
    # Patient text prints literally, not as Markdown.
    assert "## Worried about \\*falls\\* \\[PRN\\]" in text
    assert "walker \\| cane" in text
    assert mode_of(target) == 0o600
    events = export_events(services, plan_id)
    assert len(events) == 1
    assert events[0].changed_fields == ("format:markdown",)
    assert events[0].nurse_username == "alice"
    assert AuditService(services.context).verify_chain() is None


def test_a_printout_is_recorded_before_it_appears_and_ends_recorded(
    services, printer, plan_id, exports
):
    seen = []

    def on_commit(_connection) -> None:
        # Each transaction of the printout, as it commits: is the file there yet?
        seen.append(sorted(item.name.endswith(".part") for item in exports.iterdir()))

    engine = services.context.engine
    event.listen(engine, "commit", on_commit)
    try:
        printer.write(plan_id, "markdown", exports / "care-plan.md")
    finally:
        event.remove(engine, "commit", on_commit)
    # (The reads before saw no file at all.) The export event: only the hidden part
    # file exists; its end: the file itself.
    assert [state for state in seen if state] == [[True], [False]]
    ends = [
        event
        for event in AuditService(services.context).list_events("care_plan", plan_id)
        if event.action == "export-finished"
    ]
    assert [event.changed_fields for event in ends] == [("outcome:completed",)]


def test_a_link_or_a_pipe_is_refused_and_left_alone(services, printer, plan_id, exports):
    real = exports / "real.md"
    real.write_text("kept")
    os.symlink(real, exports / "link.md")
    os.mkfifo(exports / "pipe.md")
    before = audit_count(services)
    for name in ("link.md", "pipe.md"):
        with pytest.raises(ValidationError) as raised:
            printer.write(plan_id, "markdown", exports / name)
        assert raised.value.field == "path" and "not a regular file" in raised.value.message
    assert audit_count(services) == before
    assert (exports / "link.md").is_symlink() and real.read_text() == "kept"


def test_write_pdf_from_a_text_path(services, printer, plan_id, exports):
    target = exports / "care-plan.PDF"
    assert printer.write(plan_id, " PDF ", str(target)) == target
    data = target.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/CreationDate (D:20261127090000" in data
    assert mode_of(target) == 0o600
    assert [event.changed_fields for event in export_events(services, plan_id)] == [("format:pdf",)]


def test_writing_again_replaces_the_file_and_audits_again(services, printer, plan_id, exports):
    target = exports / "care-plan.md"
    target.write_text("an older printout")
    printer.write(plan_id, "markdown", target)
    printer.write(plan_id, "markdown", target)
    assert target.read_text(encoding="utf-8").startswith("# Care plan for Linh Nguyen")
    assert sorted(os.listdir(exports)) == ["care-plan.md"]
    assert len(export_events(services, plan_id)) == 2


@pytest.mark.parametrize(
    ("file_format", "name", "field", "message"),
    [
        ("docx", "plan.docx", "format", "must be one of: markdown, pdf"),
        ("", "plan.md", "format", "is required; one of: markdown, pdf"),
        ("pdf", "plan.md", "path", "must end with .pdf for a PDF file"),
        ("markdown", "plan.pdf", "path", "must end with .md for a Markdown file"),
        ("markdown", "plan", "path", "must end with .md for a Markdown file"),
    ],
)
def test_bad_format_or_suffix_names_the_field(
    services, printer, plan_id, exports, file_format, name, field, message
):
    before = audit_count(services)
    with pytest.raises(ValidationError) as raised:
        printer.write(plan_id, file_format, exports / name)
    assert (raised.value.field, raised.value.message) == (field, message)
    assert audit_count(services) == before
    assert os.listdir(exports) == []


def test_a_blank_path_is_required(services, printer, plan_id):
    with pytest.raises(ValidationError) as raised:
        printer.write(plan_id, "pdf", "  ")
    assert (raised.value.field, raised.value.message) == ("path", "is required")


def test_a_missing_folder_is_refused_and_not_audited(services, printer, plan_id, exports):
    before = audit_count(services)
    folder = exports / "no-such-folder"
    with pytest.raises(ValidationError) as raised:
        printer.write(plan_id, "pdf", folder / "plan.pdf")
    assert raised.value.field == "path"
    assert raised.value.message == f"the folder {folder} does not exist"
    assert audit_count(services) == before
    assert export_events(services, plan_id) == []
    assert os.listdir(exports) == []


def test_a_folder_named_like_a_file_is_refused(services, printer, plan_id, exports):
    folder = exports / "plan.md"
    folder.mkdir()
    before = audit_count(services)
    with pytest.raises(ValidationError) as raised:
        printer.write(plan_id, "markdown", folder)
    assert raised.value.field == "path"
    assert raised.value.message == f"{folder} is a folder; give a file name inside it"
    assert audit_count(services) == before


def test_an_unknown_plan_writes_nothing(services, printer, exports):
    before = audit_count(services)
    with pytest.raises(NotFoundError):
        printer.write(9999, "markdown", exports / "plan.md")
    assert audit_count(services) == before
    assert os.listdir(exports) == []


def test_an_export_needs_a_signed_in_nurse(engine, clock, services, plan_id, exports):
    nobody = make_services(engine, clock)
    before = audit_count(services)
    with pytest.raises(NoNurseError):
        CarePlanPrinter(nobody.context).write(plan_id, "markdown", exports / "plan.md")
    assert audit_count(services) == before
    assert os.listdir(exports) == []
