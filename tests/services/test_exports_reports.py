"""The reports' figures on hand-made records: CCM codes, referral turnaround, the
supervisor's thresholds, care plan rows, and CSV injection through real patient data.
And every refusal of ``check_request``, each naming its option."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

import pytest

from nursecase.domain.validation import ValidationError
from nursecase.services.exports import ExportService, Period, check_request


def export(services, report, file_format="json", **choices):
    """The report's bytes, exported to memory."""
    exporter = ExportService(services.context)
    stream = io.BytesIO()
    exporter.run(exporter.prepare(check_request(report, file_format, **choices)), stream)
    return stream.getvalue()


def export_json(services, report, **choices) -> list[dict]:
    return json.loads(export(services, report, "json", **choices))


@pytest.fixture
def patient(services):
    return services.patients.create("MRN-1", "Nguyen", "Linh", birth_date="1948-03-04")


# ----------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"report": "bogus"}, "report", "must be one of: caseload, worklist"),
        ({"report": ""}, "report", "is required"),
        ({"report": "caseload", "file_format": "xlsx"}, "format", "must be one of: csv, json"),
        ({"report": "ccm", "file_format": "fhir"}, "format", "the ccm report has no fhir format"),
        ({"report": "ccm", "month": "2026-13"}, "month", "not a real calendar month"),
        ({"report": "ccm", "month": "2026/11"}, "month", "must be a month as YYYY-MM"),
        ({"report": "ccm", "month": "november"}, "month", "must be a month as YYYY-MM"),
        (
            {"report": "ccm", "month": "2026-11", "date_from": "2026-11-01"},
            "month",
            "either --month or --from/--to",
        ),
        ({"report": "ccm", "date_from": "2026-11-01"}, "to", "is required with --from"),
        ({"report": "ccm", "date_to": "2026-11-01"}, "from", "is required with --to"),
        (
            {"report": "ccm", "date_from": "2026-11-20", "date_to": "2026-11-01"},
            "from",
            "must be on or before --to",
        ),
        ({"report": "ccm", "date_from": "20/11/2026", "date_to": "2026-11-30"}, "from", "YYYY"),
        ({"report": "ccm", "date_from": "2026-02-30", "date_to": "2026-03-01"}, "from", "real"),
        ({"report": "caseload", "month": "2026-11"}, "month", "does not take a period"),
        ({"report": "patient"}, "patient", "needs --patient MRN"),
        ({"report": "patient", "patient_mrn": "MRN 1"}, "patient", "letters, digits and hyphens"),
        ({"report": "patient", "patient_mrn": "A", "all_nurses": True}, "all", "drop --all"),
        ({"report": "supervisor", "patient_mrn": "A"}, "patient", "covers nurses"),
        ({"report": "caseload", "reply_days": 5}, "reply-days", "supervisor report only"),
        ({"report": "supervisor", "reply_days": 0}, "reply-days", "from 1 to 365"),
    ],
)
def test_check_request_refuses_bad_choices_naming_the_option(arguments, field, message):
    with pytest.raises(ValidationError) as caught:
        check_request(**arguments)
    assert caught.value.field == field
    assert message in caught.value.message


def test_check_request_normalises_what_it_accepts():
    options = check_request(" CCM ", "JSON", month="2026-02", patient_mrn=" mrn-1 ")
    assert (options.report, options.file_format, options.patient_mrn) == ("ccm", "json", "MRN-1")
    assert options.period == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert options.period.label == "February 2026"
    assert Period(date(2026, 2, 3), date(2026, 4, 1)).label == "2026-02-03 to 2026-04-01"
    assert Period(date(2026, 11, 20), date(2027, 1, 2)).months() == [
        (2026, 11),
        (2026, 12),
        (2027, 1),
    ]
    assert check_request("supervisor", reply_days="21").reply_days == 21


# --------------------------------------------------------------------- CCM


def test_rpm_days_minutes_and_codes_per_month(services, patient, clock):
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from nursecase.db.models import Contact
    from nursecase.domain.codes import ReadingSource
    from nursecase.services.readings import NewReading

    other = services.patients.create("MRN-2", "Okafor", "Ada")
    services.readings.enrol(patient.id, "weight", "daily", started_on=date(2026, 11, 1))
    services.readings.enrol(patient.id, "blood-pressure", "daily", started_on=date(2026, 11, 1))
    # Two weighings on 3 Nov count one day; 16 days in all reach 99454.
    moments = [datetime(2026, 11, day, 7) for day in range(1, 17)] + [datetime(2026, 11, 3, 19)]
    # A keyed reading is not a device day; October's are another month.
    with services.context.write() as session:
        services.readings.store(
            session,
            [NewReading(patient.id, "29463-7", 80.0, "kg", moment) for moment in moments],
            ReadingSource.device,
        )
        services.readings.store(
            session,
            [
                NewReading(other.id, "29463-7", 70.0, "kg", datetime(2026, 10, day, 7))
                for day in (1, 2)
            ],
            ReadingSource.device,
        )
    services.readings.key(other.id, {"weight": ("70", "kg")}, taken_at=datetime(2026, 11, 20, 8))
    monitoring = services.contacts.log(
        patient.id, datetime(2026, 11, 20, 10), "phone", "patient", "reached", 25
    )
    services.contacts.log(patient.id, datetime(2026, 11, 21, 10), "phone", "patient", "reached", 30)
    with Session(services.context.engine) as session, session.begin():
        session.execute(
            update(Contact).where(Contact.id == monitoring.id).values(for_monitoring=True)
        )

    [row] = export_json(services, "rpm")

    assert (row["mrn"], row["month"]) == ("MRN-1", "2026-11")
    assert (row["measures"], row["measures_label"]) == (
        "blood-pressure;weight",
        "Weight, Blood pressure",
    )
    # Only the monitoring contact's minutes: the 30-minute call is CCM time.
    assert (row["days_with_readings"], row["monitoring_minutes"]) == (16, 25)
    assert row["codes"] == "99454, 99457"
    assert row["to_next_code"] == "15 more min to 99458"
    october = export_json(services, "rpm", month="2026-10")
    assert [(row["mrn"], row["days_with_readings"], row["codes"]) for row in october] == [
        ("MRN-2", 2, "99445")
    ]


def test_ccm_minutes_contacts_and_codes_per_month(services, patient, clock):
    other = services.patients.create("MRN-2", "Okafor", "Ada")
    third = services.patients.create("MRN-3", "Park", "Min")
    services.patients.set_ccm_enrolment(patient.id, "standard", date(2026, 10, 1))
    services.patients.set_ccm_enrolment(other.id, "complex", date(2026, 11, 5))
    for day, minutes in ((3, 25), (20, 20)):
        services.contacts.log(
            patient.id, datetime(2026, 11, day, 10), "phone", "patient", "reached", minutes
        )
    for day, minutes in ((2, 60), (9, 35), (10, 60)):
        services.contacts.log(
            other.id, datetime(2026, 11, day, 10), "phone", "patient", "reached", minutes
        )
    services.contacts.log(third.id, datetime(2026, 11, 4, 10), "phone", "patient", "reached", 45)
    services.contacts.log(patient.id, datetime(2026, 10, 30, 10), "phone", "patient", "reached", 15)
    rows = export_json(services, "ccm")
    assert [(row["mrn"], row["month"]) for row in rows] == [
        ("MRN-1", "2026-11"),
        ("MRN-2", "2026-11"),
        ("MRN-3", "2026-11"),
    ]
    linh, ada, min_ = rows
    # Standard CCM: 45 min reach 99490 and one 99439; no complex code at all.
    assert (linh["minutes"], linh["contacts"], linh["ccm_minutes"]) == (45, 2, 45)
    assert (linh["programme"], linh["programme_label"]) == ("standard", "Standard CCM")
    assert linh["codes"] == "99490, 99439"
    assert (linh["first_code"], linh["first_code_units"]) == ("99490", 1)
    assert (linh["addon_code"], linh["addon_units"]) == ("99439", 1)
    assert linh["to_next_code"] == "15 min to a second 99439"
    # Complex CCM from 5 November: the 60 minutes of the 2nd do not count.
    assert (ada["minutes"], ada["contacts"], ada["ccm_minutes"]) == (155, 3, 95)
    assert (ada["programme_label"], ada["ccm_start"]) == ("Complex CCM", "2026-11-05")
    assert ada["codes"] == "99487, 99489"
    assert (ada["first_code"], ada["addon_code"], ada["addon_units"]) == ("99487", "99489", 1)
    assert ada["to_next_code"] == "25 min to a second 99489"
    # Not enrolled: minutes, never a code.
    assert (min_["minutes"], min_["programme_label"]) == (45, "not enrolled in CCM")
    assert min_["programme"] is None and min_["ccm_minutes"] is None
    assert (min_["codes"], min_["first_code"], min_["addon_units"], min_["to_next_code"]) == (
        "",
        None,
        None,
        "",
    )
    spanning = export_json(services, "ccm", date_from="2026-10-15", date_to="2026-11-10")
    assert [
        (row["mrn"], row["month"], row["minutes"], row["programme_label"]) for row in spanning
    ] == [
        ("MRN-1", "2026-10", 15, "Standard CCM"),
        ("MRN-1", "2026-11", 25, "Standard CCM"),
        ("MRN-2", "2026-11", 155, "Complex CCM"),
        ("MRN-3", "2026-11", 45, "not enrolled in CCM"),
    ]
    # A month before the enrolment began reads as not enrolled.
    october = export_json(services, "ccm", month="2026-10")
    assert [(row["mrn"], row["programme_label"]) for row in october] == [("MRN-1", "Standard CCM")]
    assert export_json(services, "ccm", month="2026-09") == []


# --------------------------------------------------------------------- TCM


def test_tcm_report_a_row_per_discharge_with_steps_and_billing(services, patient):
    linh = patient.id
    ada = services.patients.create("MRN-2", "Okafor", "Ada").id
    bo = services.patients.create("MRN-3", "Berg", "Bo").id
    cy = services.patients.create("MRN-4", "Cole", "Cy").id
    log = services.contacts.log
    # Linh: high complexity, contact the next day, home visit on day 4: 99496;
    # then readmitted, discharged again on the 20th, inside the billed period.
    services.transitions.record_discharge(linh, "2026-11-02", "General", high_complexity=True)
    log(linh, "2026-11-03 10:00", "phone", "patient", "reached", 15)
    log(linh, "2026-11-06 10:00", "home-visit", "patient", "reached", 45)
    services.transitions.record_discharge(linh, "2026-11-20", "General")
    log(linh, "2026-11-23 10:00", "phone", "patient", "reached", 15)
    log(linh, "2026-11-24 10:00", "clinic-visit", "patient", "reached", 30)
    # Ada: two unanswered calls, then a clinic visit on day 14: 99495.
    services.transitions.record_discharge(ada, "2026-11-03", "Mercy")
    log(ada, "2026-11-03 16:00", "phone", "patient", "no-answer", 1)
    log(ada, "2026-11-04 09:00", "phone", "caregiver", "left-message", 2)
    log(ada, "2026-11-17 10:00", "clinic-visit", "patient", "reached", 30)
    # Bo: nothing done. Cy: discharged two days ago, the contact still due.
    services.transitions.record_discharge(bo, "2026-11-04")
    services.transitions.record_discharge(cy, "2026-11-25", high_complexity=True)

    rows = export_json(services, "tcm")

    assert [(row["mrn"], str(row["discharged"])) for row in rows] == [
        ("MRN-1", "2026-11-02"),
        ("MRN-2", "2026-11-03"),
        ("MRN-3", "2026-11-04"),
        ("MRN-1", "2026-11-20"),
        ("MRN-4", "2026-11-25"),
    ]
    first, attempts, nothing, readmission, recent = rows
    assert first == {
        "mrn": "MRN-1",
        "patient": "Nguyen, Linh",
        "nurse": "Alice Moreno",
        "discharged": "2026-11-02",
        "facility": "General",
        "complexity": "High",
        "interactive_status": "met",
        "interactive": "Met Tue 3 Nov",
        "interactive_due": "2026-11-04",
        "face_to_face_status": "met",
        "face_to_face": "Met Fri 6 Nov",
        "face_to_face_due": "2026-11-09",
        "readmission": "discharged again Fri 20 Nov",
        "billing_status": "billable",
        "billable_code": "99496",
        "billing_reason": "interactive contact met; visit 4 days after discharge (within 7); "
        "high complexity",
    }
    assert (attempts["interactive_status"], attempts["interactive"]) == (
        "met-by-attempts",
        "Met by two attempts: Tue 3 Nov, Wed 4 Nov",
    )
    assert (attempts["billable_code"], attempts["complexity"]) == ("99495", "Moderate")
    assert (nothing["interactive"], nothing["interactive_due"]) == ("Missed", "2026-11-06")
    assert (nothing["face_to_face"], nothing["face_to_face_due"]) == ("Missed", "2026-11-18")
    assert nothing["billable_code"] == "not billable"
    assert nothing["billing_reason"] == (
        "no interactive contact and no two attempts within 2 business days (due Fri 6 Nov)"
    )
    assert readmission["billable_code"] == "not billable"
    assert readmission["billing_reason"] == (
        "TCM already billable for the discharge of Mon 2 Nov: once per patient in 30 days"
    )
    assert (recent["interactive"], recent["billable_code"]) == (
        "Due (day 2 of 2 business days)",
        "not billable yet",
    )
    assert recent["billing_reason"] == "interactive contact due by Fri 27 Nov"
    assert export_json(services, "tcm", month="2026-10") == []
    assert [row["mrn"] for row in export_json(services, "tcm", patient_mrn="MRN-2")] == ["MRN-2"]
    markdown = export(services, "tcm", "md").decode()
    assert "| Interactive contact |" in markdown and "Met by two attempts" in markdown
    assert "met-by-attempts" not in markdown and "CMS MLN908628" in markdown
    assert b"met-by-attempts" in export(services, "tcm", "csv")


# --------------------------------------------------------------- referrals


def test_referral_turnaround_comes_from_the_status_history(services, patient, clock):
    sent = services.referrals.create(
        patient.id, "physical-therapy", "Riverside PT", "Balance", receiving_contact="Intake"
    )
    waiting = services.referrals.create(
        patient.id, "social-work", "County SW", "Housing", priority="urgent"
    )
    clock.advance(days=2)
    accepted = services.referrals.transition(sent.id, "accepted", sent.version)
    clock.advance(days=1)
    started = services.referrals.transition(sent.id, "in-progress", accepted.version)
    clock.advance(days=4)
    services.referrals.transition(sent.id, "completed", started.version, outcome="Seen twice")
    clock.advance(days=3)
    rows = {row["service"]: row for row in export_json(services, "referrals")}
    done = rows["Physical therapy"]
    assert done["to"] == "Riverside PT; Intake"
    assert (done["status"], done["sent"]) == ("completed", "2026-11-27")
    assert (
        done["requested_to_accepted"],
        done["accepted_to_completed"],
        done["requested_to_completed"],
    ) == (2, 5, 7)
    assert (done["days_in_status"], done["aging_bucket"], done["reply_overdue"]) == (
        3,
        "0-7",
        False,
    )
    open_one = rows["Social work"]
    assert open_one["priority"] == "urgent" and open_one["status"] == "requested"
    assert open_one["days_in_status"] == 10 and open_one["aging_bucket"] == "8-14"
    assert open_one["reply_overdue"] is True
    assert open_one["requested_to_accepted"] is None
    # The urgent one comes first: the queue's order.
    assert [row["service"] for row in export_json(services, "referrals")][0] == "Social work"
    assert waiting.id != sent.id
    in_november = export_json(services, "referrals", month="2026-11")
    assert len(in_november) == 2
    assert export_json(services, "referrals", month="2026-10") == []


# -------------------------------------------------------------- supervisor


def test_supervisor_lists_referrals_without_reply_after_n_days(services, patient, clock):
    services.referrals.create(patient.id, "home-health", "Home Health Co", "Wound care")
    clock.advance(days=15)
    rows = export_json(services, "supervisor")
    referrals = [row for row in rows if row["section"] == "referral no reply"]
    assert [(row["mrn"], row["days"], row["date"]) for row in referrals] == [
        ("MRN-1", 15, "2026-11-27")
    ]
    assert referrals[0]["nurse"] == "Alice Moreno"
    assert [
        row
        for row in export_json(services, "supervisor", reply_days=16)
        if row["section"] == "referral no reply"
    ] == []
    contacts = [row for row in rows if row["section"] == "overdue contact"]
    assert [row["mrn"] for row in contacts] == ["MRN-1"]  # 14 days for moderate risk: due on 12-11


def test_supervisor_goals_and_interventions_past_due(services, patient, clock):
    plan = services.care_plans.create(patient.id, "Heart failure")
    change = services.care_plans.add_problem(plan.id, plan.version, omaha_code="circulation")
    problem_id = change.item_id
    change = services.care_plans.add_goal(
        problem_id,
        change.plan.version,
        "The patient will weigh daily",
        due_date="2026-11-20",
        lifecycle_status="active",
    )
    services.care_plans.add_intervention(
        problem_id,
        change.plan.version,
        "teaching-guidance-counseling",
        "Teach low-salt diet",
        due_date="2026-11-25",
    )
    sections = {
        (row["section"], row["item"], row["days"]) for row in export_json(services, "supervisor")
    }
    assert ("goal past due", "The patient will weigh daily", 7) in sections
    assert ("overdue intervention", "Teach low-salt diet", 2) in sections
    markdown = export(services, "supervisor", "md").decode()
    assert "## Overdue items per nurse" in markdown
    assert "| Alice Moreno | 0 | 0 | 1 | 1 | 0 | 2 |" in markdown


# -------------------------------------------------------------- care plans


def test_care_plan_rows_follow_the_plan(services, patient):
    plan = services.care_plans.create(patient.id, "Heart failure")
    change = services.care_plans.add_problem(
        plan.id, plan.version, omaha_code="circulation", description="Swollen ankles"
    )
    problem_id = change.item_id
    change = services.care_plans.add_goal(
        problem_id, change.plan.version, "The patient will weigh daily", due_date="2026-12-20"
    )
    services.care_plans.add_intervention(
        problem_id,
        change.plan.version,
        "surveillance",
        "Check weight log",
        owner="caregiver",
        frequency="weekly",
    )
    rows = export_json(services, "careplans")
    assert [(row["item"], row["description"]) for row in rows] == [
        ("problem", "Swollen ankles (Circulation)"),
        ("goal", "The patient will weigh daily"),
        ("intervention", "Check weight log"),
    ]
    assert {row["problem"] for row in rows} == {"Swollen ankles (Circulation)"}
    assert rows[1]["due"] == "2026-12-20" and rows[1]["status"] == "proposed"
    assert (rows[2]["owner"], rows[2]["frequency"]) == ("caregiver", "weekly")
    assert rows[0]["plan"] == "Heart failure" and rows[0]["mrn"] == "MRN-1"


# ----------------------------------------------------------- CSV injection


def test_patient_text_cannot_become_a_formula_in_the_caseload_csv(services):
    created = services.patients.create("MRN-9", '=HYPERLINK("http://evil")', "@Bob")
    services.patients.change_risk_tier(created.id, "high", "+1 readmission, -2 weeks")
    data = export(services, "caseload", "csv")
    (row,) = [
        row
        for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        if row["MRN"] == "MRN-9"
    ]
    assert row["Name"] == '\'=HYPERLINK("http://evil"), @Bob'
    assert (row["Risk source"], row["Risk source label"]) == ("override", "Set by a nurse")
    assert (row["Risk basis"], row["Risk set by"]) == ("'+1 readmission, -2 weeks", "Alice Moreno")
    # The same text in JSON and Markdown stays as typed (escaped for Markdown only).
    (item,) = [item for item in export_json(services, "caseload") if item["mrn"] == "MRN-9"]
    assert item["name"] == '=HYPERLINK("http://evil"), @Bob'
    assert "\\[" not in item["name"]


def test_a_nurse_name_that_starts_like_a_formula_is_neutralised(services, patient):
    services.nurses.create("mallory", "=cmd|' /C calc'!A0", "RN")
    services.patients.update(patient.id, patient.version, nurse_username="mallory")
    data = export(services, "caseload", "csv", all_nurses=True).decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(data)))
    assert row["Nurse"] == "'=cmd|' /C calc'!A0"


def test_empty_reports_are_still_well_formed(services):
    assert export_json(services, "caseload") == []
    assert export(services, "caseload", "csv").decode("utf-8-sig") == (
        "MRN,Name,Birth date,Age,Risk tier,Risk tier label,Risk source,Risk source label,"
        "Risk basis,Risk set by,Risk set at,Episode status,Episode status label,Nurse,"
        "Last contact,Next due,Open tasks,Open referrals,Flags,Flags label\r\n"
    )
    assert export(services, "worklist", "md").decode().endswith("No rows.\n")
    assert export(services, "caseload", "pdf").startswith(b"%PDF-")


def test_the_patient_report_reads_the_chart(services, patient, clock):
    services.conditions.add(patient.id, "Heart failure", code="I50.9", code_system="icd-10")
    services.contacts.log(
        patient.id,
        datetime(2026, 11, 26, 10),
        "phone",
        "patient",
        "reached",
        12,
        note="Feels better",
    )
    services.contacts.log(
        patient.id, clock.now() - timedelta(days=120), "phone", "patient", "reached", 5
    )
    rows = export_json(services, "patient", patient_mrn="MRN-1")
    sections = {}
    for row in rows:
        sections.setdefault(row["section"], []).append(row)
    details = {row["item"]: row["detail"] for row in sections["Patient"]}
    assert details["MRN"] == "MRN-1" and details["Name"] == "Linh Nguyen"
    assert details["Nurse"] == "Alice Moreno (alice)"
    assert [row["item"] for row in sections["Condition"]] == ["Heart failure"]
    assert sections["Condition"][0]["detail"] == "ICD-10 I50.9"
    # The contact log covers the last 90 days unless a period is given.
    assert [row["detail"] for row in sections["Contact"]] == ["12 min: Feels better"]
    everything = export_json(
        services, "patient", patient_mrn="MRN-1", date_from="2026-01-01", date_to="2026-11-27"
    )
    assert len([row for row in everything if row["section"] == "Contact"]) == 2
    markdown = export(services, "patient", "md", patient_mrn="MRN-1").decode()
    assert markdown.startswith("# Handover summary: Linh Nguyen\n")
    assert "## Active conditions" in markdown and "## Open tasks\n\nNone open." in markdown
