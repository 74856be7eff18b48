"""The RPM report: remote monitoring per patient per calendar month, counted like CCM.

For each month of the period (default: this month) and each patient who was
enrolled in remote monitoring during it, or sent device readings, or had
monitoring minutes logged: the measures monitored, the days with at least one
reading from a home device, the nurse's monitoring minutes (contacts marked as
remote-monitoring work, never also CCM minutes), the codes those counts reach
under the clinic's billing table (``domain.rpm``, replaceable in config.toml)
and how far the next code is.

A period that cuts a month counts only the days and minutes inside the period.
One grouped query per month for the device days, one for the minutes, one for
the enrolments; the same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, MonitoringEnrolment, Nurse, Patient, Reading
from nursecase.domain.codes import Measure, ReadingSource, label_of
from nursecase.domain.rpm import rpm_month
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.ccm import month_range, monthly_report
from nursecase.services.exports.common import ExportScope, Report, person_name
from nursecase.services.exports.options import Period

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("month", "Month", 15),
    Column("mrn", "MRN", 19),
    Column("patient", "Patient", 32),
    Column("nurse", "Nurse", 26),
    Column("measures", "Measures monitored", machines_only=True),
    Column("measures_label", "Monitored", 36, trusted=True),
    Column("days_with_readings", "Days with readings", 20),
    Column("monitoring_minutes", "Monitoring minutes", 20),
    Column("codes", "Codes reached", 30, trusted=True),
    Column("to_next_code", "To next code", 45, trusted=True),
)

PRINT_KEYS = (
    "month",
    "mrn",
    "patient",
    "nurse",
    "measures_label",
    "days_with_readings",
    "monitoring_minutes",
    "codes",
    "to_next_code",
)


def _month_counts(
    session: Session, scope: ExportScope, start: datetime, end: datetime
) -> tuple[dict[int, int], dict[int, int], dict[int, list[str]]]:
    """Device days, monitoring minutes and measures enrolled, per patient, in [start, end)."""
    in_scope = scope.patient_filter(Patient.id, Patient.nurse_id)
    days = dict(
        session.execute(
            select(Reading.patient_id, func.count(func.distinct(func.date(Reading.taken_at))))
            .join(Patient, Patient.id == Reading.patient_id)
            .where(
                Reading.source == ReadingSource.device.value,
                Reading.taken_at >= start,
                Reading.taken_at < end,
                *in_scope,
            )
            .group_by(Reading.patient_id)
        ).all()
    )
    minutes = dict(
        session.execute(
            select(Contact.patient_id, func.sum(Contact.minutes))
            .join(Patient, Patient.id == Contact.patient_id)
            .where(
                Contact.for_monitoring.is_(True),
                Contact.occurred_at >= start,
                Contact.occurred_at < end,
                *in_scope,
            )
            .group_by(Contact.patient_id)
        ).all()
    )
    measures: dict[int, list[str]] = defaultdict(list)
    for patient_id, measure in session.execute(
        select(MonitoringEnrolment.patient_id, MonitoringEnrolment.measure)
        .join(Patient, Patient.id == MonitoringEnrolment.patient_id)
        .where(
            MonitoringEnrolment.started_on < end.date(),
            or_(
                MonitoringEnrolment.ended_on.is_(None),
                MonitoringEnrolment.ended_on >= start.date(),
            ),
            *in_scope,
        )
    ):
        measures[patient_id].append(measure)
    return days, {key: int(value or 0) for key, value in minutes.items()}, measures


def _patients(session: Session, patient_ids: set[int]) -> dict[int, tuple]:
    """MRN, name and nurse of each patient, in the report's order."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(Patient.id, Patient.mrn, Patient.family_name, Patient.given_name, Nurse.display_name)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(and_(Patient.id.in_(sorted(patient_ids))))
        .order_by(Patient.family_key, Patient.given_key, Patient.id)
    ).all()
    return {row[0]: row[1:] for row in rows}


def _measure_words(measures: list[str]) -> str:
    order = {measure.value: position for position, measure in enumerate(Measure)}
    ordered = sorted(set(measures), key=lambda code: order.get(code, len(order)))
    return ", ".join(label_of(Measure, code) for code in ordered)


def _rows(
    session: Session,
    scope: ExportScope,
    context: ServiceContext,
    period: Period,
    patients: set[int],
) -> Iterator[tuple]:
    rules = context.settings.billing_rules
    for year, month in period.months():
        start, end = month_range(year, month, period)
        label = f"{year:04d}-{month:02d}"
        days, minutes, measures = _month_counts(session, scope, start, end)
        ids = set(days) | set(minutes) | set(measures)
        for patient_id, (mrn, family, given, nurse) in _patients(session, ids).items():
            patients.add(patient_id)
            month_counts = rpm_month(days.get(patient_id, 0), minutes.get(patient_id, 0), rules)
            reached = ", ".join(
                code if units == 1 else f"{code} x{units}" for code, units in month_counts.codes
            )
            yield (
                label,
                mrn,
                person_name(family, given),
                nurse,
                ";".join(sorted(set(measures.get(patient_id, [])))),
                _measure_words(measures.get(patient_id, [])) or "not enrolled",
                month_counts.days_with_readings,
                month_counts.review_minutes,
                reached or "none yet",
                month_counts.next_step,
            )


def build_rpm(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """Remote-monitoring days, minutes and codes per patient per month of the scope's period."""
    return monthly_report(
        scope,
        "rpm",
        "Remote monitoring",
        COLUMNS,
        PRINT_KEYS,
        lambda period, patients: _rows(session, scope, context, period, patients),
    )


__all__ = ["COLUMNS", "PRINT_KEYS", "build_rpm"]
