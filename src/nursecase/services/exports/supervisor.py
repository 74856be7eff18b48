"""The supervisor report: what is overdue, nurse by nurse, as of today.

Three questions a supervisor asks, in one report:

1. What is overdue per nurse: contacts past their due date (while the
   episode's contact clock runs), open tasks past due, open interventions of
   open plans past due;
2. which referrals have had no reply after N days (``--reply-days``, default
   14): still requested or received, N or more days after they were sent;
3. which goals of open plans are past due;
4. how the month went in hospital (Markdown and PDF): the outcomes report's
   figures for the month of the report's date, short (``.outcomes``).

The "nurse" is the patient's assigned nurse, as on the worklist. CSV and JSON
get one flat list (a row per item, with its section); Markdown and PDF get a
per-nurse summary table and one table per section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from nursecase.db.models import (
    CarePlan,
    Goal,
    Intervention,
    Nurse,
    Patient,
    Problem,
    Referral,
    ReferralStatusHistory,
    Task,
)
from nursecase.domain.care_plan_rules import OPEN_GOAL_STATUSES, OPEN_INTERVENTION_STATUSES
from nursecase.domain.codes import CarePlanStatus, EpisodeStatus, ReferralStatus
from nursecase.domain.risk import risk_words
from nursecase.reports.document import Block, Document, Heading, Paragraph, Table
from nursecase.reports.tables import Column, plain_text
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    as_date,
    person_name,
    service_label,
    stream,
)
from nursecase.services.exports.outcomes import (
    OutcomesOfMonth,
    figures,
    figures_table,
    gather_outcomes,
    report_month,
    status_words,
)
from nursecase.services.patients import OPEN_TASK_STATUSES
from nursecase.services.referrals import AWAITING_REPLY

COLUMNS = (
    Column("nurse", "Nurse", 1.4),
    Column("section", "Section", 1.3),
    Column("mrn", "MRN", 1.1),
    Column("patient", "Patient", 1.6),
    Column("item", "Item", 2.6),
    Column("date", "Due or sent", 1.1),
    Column("days", "Days overdue or waiting", 0.9),
    Column("detail", "Detail", 2.0),
)

OVERDUE_CONTACT = "overdue contact"
OVERDUE_TASK = "overdue task"
OVERDUE_INTERVENTION = "overdue intervention"
REFERRAL_NO_REPLY = "referral no reply"
GOAL_PAST_DUE = "goal past due"
#: Sections in the order they are listed for each nurse.
SECTIONS = (
    OVERDUE_CONTACT,
    OVERDUE_TASK,
    OVERDUE_INTERVENTION,
    GOAL_PAST_DUE,
    REFERRAL_NO_REPLY,
)
_SECTION_ORDER = {section: position for position, section in enumerate(SECTIONS)}
UNASSIGNED = "Unassigned"

_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
_OPEN_PLAN_CODES = tuple(
    str(status) for status in (CarePlanStatus.draft, CarePlanStatus.active, CarePlanStatus.on_hold)
)
_CLOSED_EPISODE_CODES = (str(EpisodeStatus.finished), str(EpisodeStatus.cancelled))
_AWAITING_CODES = tuple(str(status) for status in AWAITING_REPLY)

_PATIENT_COLUMNS = (
    Nurse.display_name,
    Patient.id,
    Patient.mrn,
    Patient.family_name,
    Patient.given_name,
)


def _with_patient(query, scope: ExportScope, patient_id_column):
    return (
        query.join(Patient, Patient.id == patient_id_column)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
    )


def _contacts(scope: ExportScope):
    return (
        select(*_PATIENT_COLUMNS, Patient.next_contact_due, Patient.risk_tier)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(
            Patient.next_contact_due < scope.today,
            or_(
                Patient.episode_status.is_(None),
                Patient.episode_status.not_in(_CLOSED_EPISODE_CODES),
            ),
            *scope.patient_filter(Patient.id, Patient.nurse_id),
        )
    )


def _tasks(scope: ExportScope):
    query = select(*_PATIENT_COLUMNS, Task.description, Task.due_date, Task.priority).where(
        Task.status.in_(_OPEN_TASK_CODES), Task.due_date < scope.today
    )
    return _with_patient(query.select_from(Task), scope, Task.patient_id)


def _plan_items(model, scope: ExportScope, *columns):
    query = (
        select(*_PATIENT_COLUMNS, *columns)
        .select_from(model)
        .join(Problem, Problem.id == model.problem_id)
        .join(CarePlan, CarePlan.id == Problem.care_plan_id)
        .where(CarePlan.status.in_(_OPEN_PLAN_CODES), model.due_date < scope.today)
    )
    return _with_patient(query, scope, CarePlan.patient_id)


def _interventions(scope: ExportScope):
    return _plan_items(
        Intervention,
        scope,
        Intervention.description,
        Intervention.due_date,
        Intervention.status,
        Intervention.owner,
    ).where(Intervention.status.in_(OPEN_INTERVENTION_STATUSES))


def _goals(scope: ExportScope):
    return _plan_items(
        Goal,
        scope,
        Goal.description,
        Goal.due_date,
        Goal.lifecycle_status,
        Goal.achievement_status,
    ).where(Goal.lifecycle_status.in_(OPEN_GOAL_STATUSES))


def _referrals(scope: ExportScope):
    requested = (
        select(
            ReferralStatusHistory.referral_id.label("referral_id"),
            func.min(ReferralStatusHistory.changed_at).label("requested_at"),
        )
        .join(Referral, Referral.id == ReferralStatusHistory.referral_id)
        .where(
            ReferralStatusHistory.to_status == str(ReferralStatus.requested),
            Referral.status.in_(_AWAITING_CODES),
        )
        .group_by(ReferralStatusHistory.referral_id)
        .subquery()
    )
    sent_at = func.coalesce(requested.c.requested_at, Referral.created_at)
    # Sent on or before this day: N or more days without a reply today.
    latest = datetime.combine(
        scope.today - timedelta(days=scope.reply_days - 1), datetime.min.time()
    )
    query = (
        select(
            *_PATIENT_COLUMNS,
            Referral.service_type,
            Referral.receiving_organisation,
            Referral.status,
            Referral.priority,
            sent_at.label("sent_at"),
        )
        .select_from(Referral)
        .outerjoin(requested, requested.c.referral_id == Referral.id)
        .where(Referral.status.in_(_AWAITING_CODES), sent_at < latest)
    )
    return _with_patient(query, scope, Referral.patient_id)


def _items(session: Session, scope: ExportScope) -> Iterator[tuple]:
    """(nurse, section, mrn, patient, item, date, days, detail, patient id) per item."""
    today = scope.today

    def head(row) -> tuple:
        return (
            row.display_name or UNASSIGNED,
            row.mrn,
            person_name(row.family_name, row.given_name),
        )

    def late(day: date) -> int:
        return (today - day).days

    for row in stream(session, _contacts(scope)):
        nurse, mrn, patient = head(row)
        due = row.next_contact_due
        detail = risk_words(row.risk_tier)
        yield nurse, OVERDUE_CONTACT, mrn, patient, "Next contact", due, late(due), detail, row.id
    for row in stream(session, _tasks(scope)):
        nurse, mrn, patient = head(row)
        due = row.due_date
        yield (
            nurse,
            OVERDUE_TASK,
            mrn,
            patient,
            row.description,
            due,
            late(due),
            row.priority,
            row.id,
        )
    for row in stream(session, _interventions(scope)):
        nurse, mrn, patient = head(row)
        due = row.due_date
        detail = f"{row.status}, {row.owner}"
        yield (
            nurse,
            OVERDUE_INTERVENTION,
            mrn,
            patient,
            row.description,
            due,
            late(due),
            detail,
            row.id,
        )
    for row in stream(session, _goals(scope)):
        nurse, mrn, patient = head(row)
        due = row.due_date
        detail = ", ".join(filter(None, (row.lifecycle_status, row.achievement_status)))
        yield nurse, GOAL_PAST_DUE, mrn, patient, row.description, due, late(due), detail, row.id
    for row in stream(session, _referrals(scope)):
        nurse, mrn, patient = head(row)
        sent = as_date(row.sent_at)
        item = f"Referral to {service_label(row.service_type)}"
        detail = f"{row.receiving_organisation}; {row.status}, {row.priority}"
        yield nurse, REFERRAL_NO_REPLY, mrn, patient, item, sent, late(sent), detail, row.id


def _sort_key(item: tuple) -> tuple:
    nurse, section, _, patient, _, day, _, _, _ = item
    return (nurse == UNASSIGNED, nurse.casefold(), _SECTION_ORDER[section], day, patient.casefold())


def _section_table(rows: list[tuple], date_header: str, days_header: str) -> Block:
    if not rows:
        return Paragraph("None.")
    return Table(
        columns=("Nurse", "Patient", "Item", date_header, days_header, "Detail"),
        rows=tuple(
            (
                nurse,
                f"{patient}\n{mrn}",
                item,
                plain_text(day),
                str(days),
                detail,
            )
            for nurse, _, mrn, patient, item, day, days, detail in rows
        ),
        widths=(1.4, 1.8, 3.0, 1.1, 0.8, 2.0),
    )


def supervisor_document(
    scope: ExportScope,
    title: str,
    meta,
    rows: list[tuple],
    outcomes: OutcomesOfMonth | None = None,
) -> Document:
    """The laid-out report: a summary per nurse, a table per section, then the month's outcomes."""
    counts: dict[str, Counter] = {}
    for nurse, section, *_ in rows:
        counts.setdefault(nurse, Counter())[section] += 1
    summary_columns = (
        "Nurse",
        "Overdue contacts",
        "Overdue tasks",
        "Overdue interventions",
        "Goals past due",
        f"Referrals, no reply {scope.reply_days}+ days",
        "Total",
    )
    summary_rows = tuple(
        (
            nurse,
            *(str(counter[section]) for section in SECTIONS),
            str(sum(counter.values())),
        )
        for nurse, counter in counts.items()
    )
    blocks: list[Block] = [Heading("Overdue items per nurse")]
    if summary_rows:
        blocks.append(
            Table(columns=summary_columns, rows=summary_rows, widths=(2, 1, 1, 1, 1, 1.2, 0.8))
        )
    else:
        blocks.append(Paragraph("Nothing is overdue."))
    by_section: dict[str, list[tuple]] = {section: [] for section in SECTIONS}
    for row in rows:
        by_section[row[1]].append(row)
    blocks.append(Heading(f"Referrals with no reply after {scope.reply_days} days"))
    blocks.append(_section_table(by_section[REFERRAL_NO_REPLY], "Sent", "Days waiting"))
    blocks.append(Heading("Goals past due"))
    blocks.append(_section_table(by_section[GOAL_PAST_DUE], "Due", "Days overdue"))
    blocks.append(Heading("Overdue contacts, tasks and interventions"))
    overdue = sorted(
        by_section[OVERDUE_CONTACT] + by_section[OVERDUE_TASK] + by_section[OVERDUE_INTERVENTION],
        key=lambda row: (row[0] == UNASSIGNED, row[0].casefold(), row[5], row[3].casefold()),
    )
    blocks.append(_section_table(overdue, "Due", "Days overdue"))
    if outcomes is not None:
        blocks.extend(outcomes_section(outcomes))
    return Document(title=title, meta=meta, blocks=tuple(blocks))


def outcomes_section(outcomes: OutcomesOfMonth) -> tuple[Block, ...]:
    """The month's hospital outcomes, short: the figures and whether they are final.

    The detail rows (which discharge met what) are the outcomes report's
    (``nursecase export outcomes --month YYYY-MM``).
    """
    return (
        Heading(f"Hospital outcomes, {outcomes.month:%B %Y}"),
        Paragraph(
            f"{status_words(outcomes)}. The discharges behind each figure:"
            f" nursecase export outcomes --month {outcomes.month:%Y-%m}."
        ),
        figures_table(figures(outcomes.outcomes)),
    )


def build_supervisor(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """Overdue items per nurse, unanswered referrals and goals past due, as of today."""
    items = sorted(_items(session, scope), key=_sort_key)
    outcomes = gather_outcomes(session, scope, context, report_month(scope))
    title = f"Supervisor report: {scope.nurse_label}"
    meta = (
        *scope.scope_meta(),
        ("As of", scope.today.isoformat()),
        ("Referral reply after", f"{scope.reply_days} days"),
    )
    report = Report(
        name="supervisor",
        title=title,
        columns=COLUMNS,
        rows=(),
        meta=meta,
        total=len(items),
        markdown_from_document=True,
        landscape=True,
    )

    def produce() -> Iterator[tuple]:
        for item in items:
            report.patients.add(item[-1])
            yield item[:-1]

    report.rows = produce()
    report.document = lambda: supervisor_document(scope, title, meta, list(report.rows), outcomes)
    return report


__all__ = ["COLUMNS", "SECTIONS", "build_supervisor", "outcomes_section", "supervisor_document"]
