"""The patient report: one patient's summary for a handover to another nurse or service.

Who the patient is and how to reach them, their risk and episode, then what
the next nurse needs: open safety flags, open reading alerts (issue 20),
active conditions, current medications, the care team, the latest score of
each instrument, the latest vital signs and labs with their change
(``.vitals``), the open care plan (problems, goals, interventions), open
tasks and referrals, open
transitional-care clocks, and the contact log of the period (default: the
last 90 days).

Everything is read through the services' own read models, so the handover
says exactly what the chart says. The report is one list of rows (section,
item, status, date, detail) for CSV and JSON; Markdown and PDF lay the same
rows out as the patient's details followed by a table per section, each
with its own column names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from nursecase.domain.care_plan_rules import ENTERED_IN_ERROR
from nursecase.domain.ccm import NOT_ENROLLED
from nursecase.domain.codes import (
    CarePlanStatus,
    CareTeamRole,
    CcmProgramme,
    ConditionClinicalStatus,
    ContactMode,
    ContactOutcome,
    ContactWith,
    EpisodeStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    Instrument,
    InterventionStatus,
    MedicationStatus,
    ReferralPriority,
    ReferralStatus,
    RiskTier,
    Sex,
    TaskPriority,
    TaskStatus,
    label_of,
    words_of,
)
from nursecase.domain.safety_check import SafetySignalKind, risk_words
from nursecase.reports.document import Block, Document, Heading, Paragraph, Table
from nursecase.reports.tables import Column, plain_text
from nursecase.services.assessments import AssessmentService
from nursecase.services.care_plans import CarePlanService
from nursecase.services.care_team import CareTeamService
from nursecase.services.chart import patient_risk
from nursecase.services.conditions import ConditionService
from nursecase.services.contacts import ContactService
from nursecase.services.context import ServiceContext
from nursecase.services.exports.care_plans import problem_name
from nursecase.services.exports.common import ExportScope, Report, service_label
from nursecase.services.exports.vitals import READING_ALERT, VITALS, alert_rows, vitals_rows
from nursecase.services.medications import CURRENT_STATUSES, MedicationService
from nursecase.services.patients import PatientService
from nursecase.services.referrals import ReferralService
from nursecase.services.safety_checks import SafetyCheckService
from nursecase.services.tasks import TaskService
from nursecase.services.transitions import TransitionService

#: The status column holds the codes of each section's records; people read these words.
STATUS_WORDS = words_of(
    TaskStatus,
    ReferralStatus,
    ConditionClinicalStatus,
    MedicationStatus,
    GoalLifecycleStatus,
    InterventionStatus,
    ContactOutcome,
)

COLUMNS = (
    Column("section", "Section", 1.2),
    Column("item", "Item", 3.0),
    Column("status", "Status", 1.2, words=STATUS_WORDS),
    Column("date", "Date", 1.2),
    Column("detail", "Detail", 3.0),
)

#: What an open safety flag means (PHQ-9 item 9 above 0, its urgent follow-up still open).
SAFETY_DETAIL = "PHQ-9 item 9 above 0: urgent safety follow-up open"
#: What the other safety flag means: the latest safety check found moderate or high risk.
RISK_DETAIL = "Latest safety check (C-SSRS) found {risk}: check safety again"
#: The status of an open safety flag.
OPEN = "Open"
#: The most contacts the handover lists (newest first).
CONTACT_LIMIT = 10_000

PATIENT = "Patient"
SAFETY = "Safety flag"
CONDITION = "Condition"
MEDICATION = "Medication"
CARE_TEAM = "Care team"
ASSESSMENT = "Assessment"
CARE_PLAN = "Care plan"
TASK = "Task"
REFERRAL = "Referral"
TRANSITION = "Transition"
CONTACT = "Contact"


@dataclass(frozen=True)
class Section:
    """How one section is printed: its heading and the names of its four columns."""

    heading: str
    item: str
    status: str
    date: str
    detail: str
    #: What the section says when it has no rows.
    empty: str = "None recorded."


#: The sections after the patient's details, in print order.
SECTIONS: dict[str, Section] = {
    SAFETY: Section("Open safety flags", "Flag", "Status", "Assessed", "Detail", "None open."),
    READING_ALERT: Section(
        "Open reading alerts", "Alert", "Urgency", "Reading taken", "Measure", "None open."
    ),
    CONDITION: Section("Active conditions", "Condition", "Status", "Onset", "Code"),
    MEDICATION: Section(
        "Current medications", "Medication", "Status", "Last reconciled", "Dose, route, frequency"
    ),
    CARE_TEAM: Section("Care team", "Name", "Role", "", "Organisation, phone"),
    ASSESSMENT: Section("Latest assessments", "Instrument", "Band", "Assessed", "Score"),
    VITALS: Section("Vitals & labs", "Measure", "Latest", "Taken", "Change"),
    CARE_PLAN: Section("Care plan", "Problem, goal or intervention", "Status", "Due", "Detail"),
    TASK: Section("Open tasks", "Task", "Status", "Due", "Priority", "None open."),
    REFERRAL: Section(
        "Open referrals", "Referral", "Status", "Expected reply", "Detail", "None open."
    ),
    TRANSITION: Section(
        "Transitional care", "Discharge", "Clock", "Discharged", "Next step", "None open."
    ),
    CONTACT: Section("Contacts", "Contact", "Outcome", "When", "Minutes and note"),
}

_OPEN_PLAN_CODES = frozenset(
    str(status) for status in (CarePlanStatus.draft, CarePlanStatus.active, CarePlanStatus.on_hold)
)


def _joined(*parts: object, separator: str = ", ") -> str:
    return separator.join(str(part) for part in parts if part not in (None, ""))


def patient_rows(context: ServiceContext, scope: ExportScope) -> list[tuple]:
    """Every row of the handover, section by section (read through the services)."""
    patient_id = scope.patient_id
    if patient_id is None:
        raise ValueError("the patient report needs a patient")
    patient = PatientService(context).get(patient_id)
    rows: list[tuple] = []

    def add(section: str, item: object, status: object, day: object, detail: object) -> None:
        rows.append((section, item, status, day, detail))

    nurse = _joined(
        patient.nurse_display_name,
        patient.nurse_username and f"({patient.nurse_username})",
        separator=" ",
    )
    last_contact = patient.last_contact_at
    assessments = AssessmentService(context)
    # The tier with its basis, in the header's words ("high, set by A. Moreno: lives alone").
    risk = patient_risk(patient, assessments.list_for_patient(patient_id, Instrument.lace))
    if patient.ccm_programme and patient.ccm_start:
        ccm = f"{CcmProgramme(patient.ccm_programme).label} since {patient.ccm_start.isoformat()}"
    else:
        ccm = NOT_ENROLLED
    for label, value in (
        ("MRN", patient.mrn),
        ("Name", f"{patient.given_name} {patient.family_name}"),
        ("Birth date", plain_text(patient.birth_date)),
        ("Age", plain_text(patient.age)),
        ("Sex", label_of(Sex, patient.sex)),
        ("Phone", patient.phone),
        ("Address", patient.address),
        ("Preferred language", patient.preferred_language),
        ("Nurse", nurse),
        ("Risk tier", label_of(RiskTier, patient.risk_tier)),
        ("Risk basis", risk.basis_text(scope.today)),
        ("CCM", ccm),
        ("Episode status", label_of(EpisodeStatus, patient.episode_status)),
        ("Next contact due", plain_text(patient.next_contact_due)),
        ("Last contact", plain_text(last_contact.date() if last_contact else None)),
        ("Open tasks", str(patient.open_task_count)),
        ("Open referrals", str(patient.open_referral_count)),
    ):
        add(PATIENT, label, None, None, value or "")

    # Both safety signals: an open safety task (PHQ-9 item 9 above 0) and a latest
    # safety check of moderate or high risk; only a safety check clears either.
    for signal in SafetyCheckService(context).open_signals(patient_id):
        day = signal.since.date()
        if signal.kind is SafetySignalKind.cssrs_risk:
            risk = risk_words(signal.risk or "high")
            add(SAFETY, f"C-SSRS {risk}", OPEN, day, RISK_DETAIL.format(risk=risk))
        else:
            add(SAFETY, signal.assessment_summary or signal.what, OPEN, day, SAFETY_DETAIL)
    rows.extend(alert_rows(context, patient_id))
    for condition in ConditionService(context).list_for_patient(patient_id):
        if condition.clinical_status in ("inactive", "remission", "resolved"):
            continue
        code = _joined(
            condition.code_system and condition.code_system.upper(), condition.code, separator=" "
        )
        add(CONDITION, condition.description, condition.clinical_status, condition.onset_date, code)
    for medication in MedicationService(context).list_for_patient(patient_id):
        if medication.status not in CURRENT_STATUSES:
            continue
        detail = _joined(medication.dose, medication.route, medication.frequency)
        add(MEDICATION, medication.name, medication.status, medication.last_reconciled, detail)
    for member in CareTeamService(context).list_for_patient(patient_id):
        add(
            CARE_TEAM,
            member.name,
            label_of(CareTeamRole, member.role),
            None,
            _joined(member.organisation, member.phone),
        )
    latest = assessments.latest_by_instrument(patient_id)
    for instrument in sorted(latest):
        read = latest[instrument]
        add(
            ASSESSMENT,
            label_of(Instrument, instrument),
            read.band,
            read.performed_at.date(),
            read.summary,
        )
    rows.extend(vitals_rows(context, patient_id))
    for plan in CarePlanService(context).for_patient(patient_id):
        if plan.status not in _OPEN_PLAN_CODES:
            continue
        for problem in plan.problems:
            if problem.status == ENTERED_IN_ERROR:
                continue
            name = problem_name(problem.omaha_code, problem.description)
            add(
                CARE_PLAN,
                f"Problem: {name}",
                problem.status,
                None,
                _joined(plan.title, label_of(GoalPriority, problem.priority)),
            )
            for goal in problem.goals:
                if goal.lifecycle_status == ENTERED_IN_ERROR:
                    continue
                target = _joined(goal.target_measure, goal.target_value, separator=": ")
                add(
                    CARE_PLAN,
                    f"Goal: {goal.description}",
                    _joined(
                        label_of(GoalLifecycleStatus, goal.lifecycle_status),
                        label_of(GoalAchievementStatus, goal.achievement_status),
                    ),
                    goal.due_date,
                    target,
                )
            for intervention in problem.interventions:
                if intervention.status == ENTERED_IN_ERROR:
                    continue
                add(
                    CARE_PLAN,
                    f"Intervention: {intervention.description}",
                    intervention.status,
                    intervention.due_date,
                    _joined(intervention.owner, intervention.frequency),
                )
    for task in TaskService(context).list_for_patient(patient_id):
        add(
            TASK,
            task.description,
            task.status,
            task.due_date,
            label_of(TaskPriority, task.priority),
        )
    for referral in ReferralService(context).list_for_patient(patient_id, open_only=True):
        to = _joined(referral.receiving_organisation, referral.receiving_contact)
        detail = _joined(
            label_of(ReferralPriority, referral.priority),
            f"{referral.days_in_status} days in status",
        )
        add(
            REFERRAL,
            f"{service_label(referral.service_type)} to {to}",
            referral.status,
            referral.expected_reply_date,
            detail,
        )
    for transition in TransitionService(context).list_for_patient(patient_id):
        if not transition.is_open:
            continue
        add(
            TRANSITION,
            _joined(transition.facility, "high complexity" if transition.high_complexity else ""),
            transition.clock.short_label(),
            transition.discharged_on,
            transition.clock.describe(),
        )
    period = scope.period
    for contact in ContactService(context).list_for_patient(patient_id, limit=CONTACT_LIMIT):
        day = contact.occurred_at.date()
        if period is not None and not period.start <= day <= period.end:
            continue
        minutes = f"{contact.minutes} min"
        add(
            CONTACT,
            f"{label_of(ContactMode, contact.mode)} with "
            f"{(label_of(ContactWith, contact.with_whom) or '').lower()}",
            contact.outcome,
            contact.occurred_at,
            _joined(minutes, contact.note, separator=": "),
        )
    return rows


def _cell(value: object, position: int) -> str:
    """One printed cell; the status (position 1) in words."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if position == 1 and isinstance(value, str) and value:
        return STATUS_WORDS(value)
    return plain_text(value)


def patient_document(title: str, meta: tuple[tuple[str, str], ...], rows: list[tuple]) -> Document:
    """The handover laid out: the patient's details, then a table per section."""
    details = tuple(
        (item, detail) for section, item, _, _, detail in rows if section == PATIENT and detail
    )
    grouped: dict[str, list[tuple]] = {name: [] for name in SECTIONS}
    for row in rows:
        if row[0] in grouped:
            grouped[row[0]].append(row)
    blocks: list[Block] = []
    for name, section in SECTIONS.items():
        blocks.append(Heading(section.heading))
        section_rows = grouped[name]
        if not section_rows:
            blocks.append(Paragraph(section.empty))
            continue
        headers = (section.item, section.status, section.date, section.detail)
        # A column no row uses (the care team has no dates) is left out of the table.
        used = [
            position
            for position in range(4)
            if any(row[position + 1] not in (None, "") for row in section_rows)
        ] or [0]
        blocks.append(
            Table(
                columns=tuple(headers[position] or "-" for position in used),
                rows=tuple(
                    tuple(_cell(row[position + 1], position) for position in used)
                    for row in section_rows
                ),
                widths=tuple((3.0, 1.3, 1.3, 3.0)[position] for position in used),
            )
        )
    return Document(title=title, meta=(*details, *meta), blocks=tuple(blocks))


def build_patient(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """One patient's handover summary."""
    rows = patient_rows(context, scope)
    name = next((row[4] for row in rows if row[0] == PATIENT and row[1] == "Name"), "")
    title = f"Handover summary: {name}"
    meta: tuple[tuple[str, str], ...] = (("Exported", scope.exported_on),)
    if scope.period is not None:
        meta = (*meta, ("Contacts", scope.period.label))
    report = Report(
        name="patient",
        title=title,
        columns=COLUMNS,
        rows=(),
        meta=meta,
        total=len(rows),
        markdown_from_document=True,
        landscape=False,
        table_size=10,
    )
    report.patients.add(scope.patient_id)

    def produce() -> Iterator[tuple]:
        yield from rows

    report.rows = produce()
    report.document = lambda: patient_document(title, meta, list(report.rows))
    return report


__all__ = ["COLUMNS", "SECTIONS", "build_patient", "patient_document", "patient_rows"]
