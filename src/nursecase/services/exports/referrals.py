"""The referrals report: a row per referral, in the queue's order, with its turnaround.

Columns: patient (MRN and name), nurse, service, to (receiving organisation
and contact), priority, status, when it was sent, the expected reply, whether
the reply is overdue, days in the current status and its aging bucket (0-7,
8-14, >14), and the turnaround of each stage in days (requested -> accepted
-> completed, blank until reached).

Every time comes from the status history, never from "last modified"
(DESIGN.md section 2): one grouped subquery gives, per referral, when it
entered its current status and when it first became requested, accepted and
completed. Rows stream from one query, most pressing priority first, then
longest in status, like the referral queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Nurse, Patient, Referral, ReferralStatusHistory
from nursecase.domain.clocks import aging_bucket
from nursecase.domain.codes import ReferralPriority, ReferralStatus, words_of
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    as_date,
    person_name,
    service_label,
    stream,
)
from nursecase.services.referrals import AWAITING_REPLY, PRIORITY_ORDER

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("mrn", "MRN", 18),
    Column("patient", "Patient", 26),
    Column("nurse", "Nurse", 20),
    Column("service", "Service", 21),
    Column("to", "To", 30),
    Column("priority", "Priority", 15, words=words_of(ReferralPriority)),
    Column("status", "Status", 18, words=words_of(ReferralStatus)),
    Column("sent", "Sent", 21),
    Column("expected_reply", "Expected reply", 21),
    Column("reply_overdue", "Reply overdue", 13, "Late"),
    Column("days_in_status", "Days in status", 13, "Days"),
    Column("aging_bucket", "Aging", 12),
    Column("requested_to_accepted", "Days requested to accepted", 15),
    Column("accepted_to_completed", "Days accepted to completed", 15),
    Column("requested_to_completed", "Days requested to completed", 14, "Days to done"),
)

#: The printed queue leaves out the stage turnarounds (the total stays).
PRINT_KEYS = tuple(
    column.key
    for column in COLUMNS
    if column.key not in ("requested_to_accepted", "accepted_to_completed")
)

_AWAITING_CODES = frozenset(str(status) for status in AWAITING_REPLY)


def _first(status: ReferralStatus):
    """When the referral first moved to ``status`` (NULL if it never did)."""
    return func.min(
        case(
            (ReferralStatusHistory.to_status == str(status), ReferralStatusHistory.changed_at),
            else_=None,
        )
    )


def history_times(conditions: list):
    """Per referral (restricted by ``conditions`` on Referral): entered, requested, accepted,
    completed."""
    return (
        select(
            ReferralStatusHistory.referral_id.label("referral_id"),
            func.max(ReferralStatusHistory.changed_at).label("entered_at"),
            _first(ReferralStatus.requested).label("requested_at"),
            _first(ReferralStatus.accepted).label("accepted_at"),
            _first(ReferralStatus.completed).label("completed_at"),
        )
        .join(Referral, Referral.id == ReferralStatusHistory.referral_id)
        .where(*conditions)
        .group_by(ReferralStatusHistory.referral_id)
        .subquery()
    )


def referral_query(scope: ExportScope):
    """The SELECT behind the report, in queue order."""
    # The caseload is the patient's nurse's, as everywhere else (a referral also
    # keeps the nurse who sent it, who may have handed the patient over since).
    if scope.patient_id is not None:
        conditions = [Referral.patient_id == scope.patient_id]
    elif scope.nurse_id is not None:
        caseload = select(Patient.id).where(Patient.nurse_id == scope.nurse_id)
        conditions = [Referral.patient_id.in_(caseload)]
    else:
        conditions = []
    times = history_times(conditions)
    sent_at = func.coalesce(times.c.requested_at, Referral.created_at)
    if scope.period is not None:
        start = datetime.combine(scope.period.start, datetime.min.time())
        end = datetime.combine(scope.period.end + timedelta(days=1), datetime.min.time())
        conditions = [*conditions, sent_at >= start, sent_at < end]
    priority_rank = case(
        *[(Referral.priority == str(level), rank) for rank, level in enumerate(PRIORITY_ORDER)],
        else_=len(PRIORITY_ORDER),
    )
    entered_at = func.coalesce(times.c.entered_at, Referral.status_changed_at)
    return (
        select(
            Referral.patient_id,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            Nurse.display_name,
            Referral.service_type,
            Referral.receiving_organisation,
            Referral.receiving_contact,
            Referral.priority,
            Referral.status,
            sent_at.label("sent_at"),
            Referral.expected_reply_date,
            entered_at.label("entered_at"),
            times.c.requested_at,
            times.c.accepted_at,
            times.c.completed_at,
        )
        .join(Patient, Patient.id == Referral.patient_id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .outerjoin(times, times.c.referral_id == Referral.id)
        .where(*conditions)
        .order_by(priority_rank, entered_at, Referral.id)
    )


def _days(start, end) -> int | None:
    if start is None or end is None:
        return None
    return (as_date(end) - as_date(start)).days


def referral_rows(result, scope: ExportScope, patients: set[int]) -> Iterator[tuple]:
    """The report's rows from the query's rows."""
    today = scope.today
    for (
        patient_id,
        mrn,
        family_name,
        given_name,
        nurse,
        service,
        organisation,
        contact,
        priority,
        status,
        sent_at,
        expected_reply,
        entered_at,
        requested_at,
        accepted_at,
        completed_at,
    ) in result:
        patients.add(patient_id)
        days_in_status = max(0, (today - as_date(entered_at)).days)
        awaiting = status in _AWAITING_CODES
        overdue = awaiting and expected_reply is not None and expected_reply < today
        yield (
            mrn,
            person_name(family_name, given_name),
            nurse,
            service_label(service),
            f"{organisation}; {contact}" if contact else organisation,
            priority,
            status,
            as_date(sent_at),
            expected_reply,
            overdue,
            days_in_status,
            aging_bucket(days_in_status),
            _days(requested_at, accepted_at),
            _days(accepted_at, completed_at),
            _days(requested_at, completed_at),
        )


def build_referrals(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """Every referral of the scope's patients (sent in the period, if one is given)."""
    meta = scope.scope_meta()
    if scope.period is not None:
        meta = (*meta, ("Sent", scope.period.label))
    report = Report(
        name="referrals",
        title=f"Referrals: {scope.nurse_label}",
        columns=COLUMNS,
        rows=(),
        meta=meta,
        print_keys=PRINT_KEYS,
        table_size=8,
    )
    report.rows = referral_rows(stream(session, referral_query(scope)), scope, report.patients)
    return report


__all__ = ["COLUMNS", "build_referrals", "referral_query"]
