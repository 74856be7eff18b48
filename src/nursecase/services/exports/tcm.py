"""The TCM report: one row per discharge in the month, its two steps and what can be billed.

The rules are ``nursecase.domain.tcm`` (CMS MLN908628, "Transitional Care
Management Services"): the interactive contact within 2 business days (or two
documented unsuccessful attempts), the face-to-face visit within 7 days (high
complexity, 99496) or 14 (99495), and TCM billed once per patient in 30 days.
Each row says how each step went (met on a day, met by two attempts on their
days, missed with its due date, made late, ended by a readmission) and the
billable code (99496, 99495, not billable, not billable yet) with the reason in
words, as of the day of the export.

CSV and JSON keep the state codes (``interactive_status``, ``face_to_face_status``,
``billing_status``) beside the words; the printed table and Markdown show the
words only.

"Once per 30 days" needs the patient's earlier discharges too: every discharge
up to the month's end of the patients discharged in the month is read (one
query), so a readmission in the month after a billable discharge in the month
before is said to be not billable again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, Nurse, Patient, Transition
from nursecase.domain.tcm import (
    TCM_ATTEMPT_OUTCOMES,
    TCM_CONTACT_WITH,
    TcmStatus,
    TcmStepState,
    TcmStepStatus,
    complexity_label,
    day_text,
    tally_attempts,
    tcm_billing,
    tcm_status,
)
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    as_date,
    person_name,
    table_document,
)
from nursecase.services.exports.options import month_period
from nursecase.services.transitions import FACT_COLUMNS, row_facts

COLUMNS = (
    # Widths are weights across a printed landscape page.
    Column("mrn", "MRN", 17),
    Column("patient", "Patient", 27),
    Column("nurse", "Nurse", 21),
    Column("discharged", "Discharged", 18),
    Column("facility", "Facility", 22),
    Column("complexity", "Complexity", 16),
    Column("interactive_status", "Interactive contact status"),
    Column("interactive", "Interactive contact", 34),
    Column("interactive_due", "Contact due", 18),
    Column("face_to_face_status", "Face-to-face visit status"),
    Column("face_to_face", "Face-to-face visit", 28),
    Column("face_to_face_due", "Visit due", 18),
    Column("readmission", "Readmission", 24),
    Column("billing_status", "Billing status"),
    Column("billable_code", "Billable code", 18, "Code"),
    Column("billing_reason", "Reason", 52),
)

#: The printed table and Markdown leave out the state codes (their words are there).
PRINT_KEYS = tuple(
    column.key
    for column in COLUMNS
    if column.key not in ("interactive_status", "face_to_face_status", "billing_status")
)

RULE = (
    "CMS MLN908628: interactive contact within 2 business days (or two documented "
    "attempts); face-to-face visit within 7 days (99496, high complexity) or 14 (99495); "
    "once per patient in 30 days"
)

_ATTEMPT_CODES = tuple(sorted(str(outcome) for outcome in TCM_ATTEMPT_OUTCOMES))
_CONTACT_WITH_CODES = tuple(sorted(str(person) for person in TCM_CONTACT_WITH))
#: The attempts of a discharge late in the month fall in the next days.
_ATTEMPT_DAYS_AFTER = 10


def step_words(step: TcmStepStatus) -> str:
    """How a step went, in words: "Met Thu 26 Nov", "Missed (made late Fri 27 Nov)"."""
    state = step.state
    if state is TcmStepState.met and step.met_on is not None:
        return f"Met {day_text(step.met_on)}"
    if state is TcmStepState.met_by_attempts:
        days = tuple(day for day in step.attempt_dates if step.met_on and day <= step.met_on)
        days = days or ((step.met_on,) if step.met_on else ())
        listed = ", ".join(day_text(day) for day in days)
        return f"{state.label}: {listed}" if listed else state.label
    if state is TcmStepState.missed and step.late_on is not None:
        return f"Missed (made late {day_text(step.late_on)})"
    if state is TcmStepState.due:
        unit = "business days" if step.noun == "contact" else "days"
        return f"Due (day {step.day} of {step.window} {unit})"
    return state.label


def discharges_query(scope: ExportScope, start: date, end: date):
    """Every discharge up to ``end`` of the scope's patients discharged in ``start..end``."""
    in_month = select(Transition.patient_id).where(
        Transition.discharged_on >= start, Transition.discharged_on <= end
    )
    return (
        select(
            Transition.id,
            Transition.patient_id,
            Transition.facility,
            *FACT_COLUMNS,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            Nurse.display_name,
        )
        .join(Patient, Patient.id == Transition.patient_id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(
            Transition.patient_id.in_(in_month),
            Transition.discharged_on <= end,
            *scope.patient_filter(Patient.id, Patient.nurse_id),
        )
        .order_by(Transition.patient_id, Transition.discharged_on, Transition.id)
    )


def _attempt_days(session: Session, patient_ids: list[int], start: date, end: date) -> dict:
    """Days of unsuccessful attempts per patient, from ``start`` to a few days after ``end``."""
    days: dict[int, list[date]] = defaultdict(list)
    first = datetime.combine(start, datetime.min.time())
    last = datetime.combine(end + timedelta(days=_ATTEMPT_DAYS_AFTER), datetime.min.time())
    for offset in range(0, len(patient_ids), 900):
        chunk = patient_ids[offset : offset + 900]
        rows = session.execute(
            select(Contact.patient_id, Contact.occurred_at).where(
                Contact.patient_id.in_(chunk),
                Contact.outcome.in_(_ATTEMPT_CODES),
                Contact.with_whom.in_(_CONTACT_WITH_CODES),
                Contact.occurred_at >= first,
                Contact.occurred_at < last,
            )
        )
        for patient_id, moment in rows:
            days[patient_id].append(as_date(moment))
    return days


def tcm_rows(
    session: Session, scope: ExportScope, start: date, end: date, holidays, patients: set[int]
) -> Iterator[tuple]:
    """The report's rows: the month's discharges in discharge order, then by patient."""
    rows = list(session.execute(discharges_query(scope, start, end)))
    with_attempts = sorted({row.patient_id for row in rows if row.interactive_attempts})
    attempts = _attempt_days(session, with_attempts, start, end) if with_attempts else {}
    by_patient: dict[int, list] = defaultdict(list)
    for row in rows:
        by_patient[row.patient_id].append(row)
    output = []
    for patient_rows in by_patient.values():
        statuses: list[TcmStatus] = []
        for row in patient_rows:
            facts = row_facts(row)
            if row.interactive_attempts:
                tally = tally_attempts(
                    facts.discharged_on, attempts.get(row.patient_id, ()), holidays,
                    facts.superseded_on,
                )  # fmt: skip
                facts = replace(facts, attempt_dates=tally.days)
            statuses.append(tcm_status(facts, scope.today, holidays))
        for row, status, billing in zip(patient_rows, statuses, tcm_billing(statuses), strict=True):
            if not start <= row.discharged_on <= end:
                continue
            patients.add(row.patient_id)
            readmission = (
                f"discharged again {day_text(row.superseded_on)}" if row.superseded_on else ""
            )
            output.append(
                (
                    (row.discharged_on, row.family_name, row.given_name, row.id),
                    (
                        row.mrn,
                        person_name(row.family_name, row.given_name),
                        row.display_name,
                        row.discharged_on,
                        row.facility,
                        complexity_label(bool(row.high_complexity)),
                        str(status.interactive.state),
                        step_words(status.interactive),
                        status.interactive.deadline,
                        str(status.face_to_face.state),
                        step_words(status.face_to_face),
                        status.face_to_face.deadline,
                        readmission,
                        str(billing.state),
                        billing.code_text,
                        billing.reason,
                    ),
                )
            )
    output.sort(key=lambda item: item[0])
    for _key, values in output:
        yield values


def build_tcm(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """The discharges of the scope's patients in the period (default: this month)."""
    if scope.period is None:  # the service always sets one; this keeps the builder total
        scope = replace(scope, period=month_period(scope.today.year, scope.today.month))
    period = scope.period
    report = Report(
        name="tcm",
        title=f"TCM discharges: {scope.nurse_label}",
        columns=COLUMNS,
        rows=(),
        meta=(*scope.scope_meta(), ("Discharged", period.label), ("Rule", RULE)),
        print_keys=PRINT_KEYS,
        table_size=7.5,
        markdown_from_document=True,
    )
    report.rows = tcm_rows(
        session, scope, period.start, period.end, context.settings.holidays, report.patients
    )
    report.document = lambda: table_document(report)
    return report


__all__ = ["COLUMNS", "build_tcm", "discharges_query", "step_words", "tcm_rows"]
