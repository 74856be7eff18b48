"""The CCM report: chronic care management minutes per patient per calendar month.

For each month of the period (default: this month) and each patient with
contacts in it: the minutes logged, the number of contacts, and the billable
codes those minutes reach, both ways (DESIGN.md section 2, "Clocks"):

- standard CCM: 20 minutes reach 99490, each further 20 minutes one 99439
  (at most 2);
- complex CCM: 60 minutes reach 99487, each further 30 minutes one 99489.

nursecase does not record which patients are enrolled in complex CCM, so the
report gives both sets of units and the biller applies the right one; the
codes come from ``domain.clocks.ccm_codes``. "To next code" says how many
minutes the standard track still needs this month ("15 min to 99439").

A period that cuts a month counts only the contacts inside the period. The
grouping is done per month with a date range on ``contact.occurred_at`` (one
grouped query per month), which runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, Nurse, Patient
from nursecase.domain.clocks import (
    CCM_COMPLEX_ADDON_CODE,
    CCM_COMPLEX_FIRST_CODE,
    CCM_STANDARD_ADDON_CODE,
    CCM_STANDARD_FIRST_CODE,
    ccm_codes,
    ccm_progress,
)
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import ExportScope, Report, person_name, stream
from nursecase.services.exports.options import Period, month_period

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("month", "Month", 16),
    Column("mrn", "MRN", 19),
    Column("patient", "Patient", 34),
    Column("nurse", "Nurse", 28),
    Column("minutes", "Minutes", 16),
    Column("contacts", "Contacts", 18),
    Column("cpt_99490", CCM_STANDARD_FIRST_CODE, 15),
    Column("cpt_99439_units", f"{CCM_STANDARD_ADDON_CODE} units", 16),
    Column("cpt_99487", f"{CCM_COMPLEX_FIRST_CODE} (complex)", 19),
    Column("cpt_99489_units", f"{CCM_COMPLEX_ADDON_CODE} units (complex)", 19),
    Column("to_next_code", "To next code", 30),
)


def _month_range(year: int, month: int, period: Period) -> tuple[datetime, datetime]:
    """The month clipped to the period, as [start, end) datetimes."""
    whole = month_period(year, month)
    first: date = max(whole.start, period.start)
    last: date = min(whole.end, period.end)
    start = datetime.combine(first, datetime.min.time())
    end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    return start, end


def month_query(scope: ExportScope, start: datetime, end: datetime):
    """Minutes and contacts per patient in [start, end), with the patient's columns."""
    totals = (
        select(
            Contact.patient_id.label("patient_id"),
            func.sum(Contact.minutes).label("minutes"),
            func.count().label("contacts"),
        )
        .where(Contact.occurred_at >= start, Contact.occurred_at < end)
        .group_by(Contact.patient_id)
        .subquery()
    )
    return (
        select(
            Patient.id,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            Nurse.display_name,
            totals.c.minutes,
            totals.c.contacts,
        )
        .join(totals, totals.c.patient_id == Patient.id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
        .order_by(Patient.family_key, Patient.given_key, Patient.id)
    )


def billing_units(minutes: int) -> tuple[int, int, int, int]:
    """(99490, 99439 units, 99487, 99489 units) reached by a month's minutes."""
    standard = dict(ccm_codes(minutes))
    complex_care = dict(ccm_codes(minutes, complex_care=True))
    return (
        standard.get(CCM_STANDARD_FIRST_CODE, 0),
        standard.get(CCM_STANDARD_ADDON_CODE, 0),
        complex_care.get(CCM_COMPLEX_FIRST_CODE, 0),
        complex_care.get(CCM_COMPLEX_ADDON_CODE, 0),
    )


def to_next_code(minutes: int) -> str:
    """ "15 min to 99439"; "" once the standard track can bill nothing more this month."""
    progress = ccm_progress(minutes)
    if progress.next_code is None:
        return ""
    return f"{progress.minutes_to_next} min to {progress.next_code}"


def _rows(
    session: Session, scope: ExportScope, period: Period, patients: set[int]
) -> Iterator[tuple]:
    for year, month in period.months():
        start, end = _month_range(year, month, period)
        label = f"{year:04d}-{month:02d}"
        for patient_id, mrn, family, given, nurse, minutes, contacts in stream(
            session, month_query(scope, start, end)
        ):
            patients.add(patient_id)
            minutes = int(minutes or 0)
            yield (
                label,
                mrn,
                person_name(family, given),
                nurse,
                minutes,
                contacts,
                *billing_units(minutes),
                to_next_code(minutes),
            )


def build_ccm(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """CCM minutes and codes per patient per month of the scope's period."""
    if scope.period is None:  # the service always sets one; this keeps the builder total
        scope = replace(scope, period=month_period(scope.today.year, scope.today.month))
    report = Report(
        name="ccm",
        title=f"CCM minutes: {scope.nurse_label}",
        columns=COLUMNS,
        rows=(),
        meta=(*scope.scope_meta(), ("Period", scope.period.label)),
    )
    report.rows = _rows(session, scope, scope.period, report.patients)
    return report


__all__ = ["COLUMNS", "billing_units", "build_ccm", "month_query", "to_next_code"]
