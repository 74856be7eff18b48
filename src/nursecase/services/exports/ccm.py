"""The CCM report: chronic care management minutes per patient per calendar month.

For each month of the period (default: this month) and each patient with
contacts in it: the minutes logged and the number of contacts, then the
patient's CCM programme and only that programme's codes (CMS MLN909188;
DESIGN.md section 2, "Clocks"), never both families:

- standard CCM: 20 minutes reach 99490, each further 20 minutes one 99439
  (at most 2);
- complex CCM: 60 minutes reach 99487, each further 30 minutes one 99489.

Only the minutes on or after the enrolment start count toward the codes
("CCM minutes"). Contacts logged for remote monitoring are not in this report
at all (neither their minutes nor their count): their minutes are RPM's
(issue 20), never also CCM's. A patient not enrolled (or enrolled only after the month)
shows "not enrolled in CCM" and no code at all, whatever the minutes. "To
next code" is in the words of the patient header ("13 min to a second
99439", "99439 limit reached"). CSV and JSON keep the programme's code and
the units per code for billing; the printed and Markdown reports show the words.

The enrolment is the patient's current one (nursecase keeps no history of
enrolments), so a past month is read against today's programme and start.

A period that cuts a month counts only the contacts inside the period. The
grouping is done per month with a date range on ``contact.occurred_at`` (one
grouped query per month), which runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, Nurse, Patient
from nursecase.domain.ccm import NOT_ENROLLED, PROGRAMME_CODES, ccm_progress
from nursecase.domain.codes import CcmProgramme
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import (
    ExportScope,
    Report,
    as_date,
    person_name,
    stream,
    table_document,
)
from nursecase.services.exports.options import Period, month_period

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("month", "Month", 15),
    Column("mrn", "MRN", 19),
    Column("patient", "Patient", 30),
    Column("nurse", "Nurse", 24),
    Column("minutes", "Minutes", 14),
    Column("contacts", "Contacts", 15),
    Column("programme", "Programme code"),
    Column("programme_label", "CCM programme", 26, trusted=True),
    Column("ccm_start", "Enrolled from", 18),
    Column("ccm_minutes", "CCM minutes", 16),
    Column("codes", "Codes reached", 24, trusted=True),
    Column("first_code", "First code", trusted=True),
    Column("first_code_units", "First code units"),
    Column("addon_code", "Add-on code", trusted=True),
    Column("addon_units", "Add-on units"),
    Column("to_next_code", "To next code", 38, trusted=True),
)

#: What the printed report shows: words, not the billing columns.
PRINT_KEYS = (
    "month",
    "mrn",
    "patient",
    "nurse",
    "minutes",
    "contacts",
    "programme_label",
    "ccm_start",
    "ccm_minutes",
    "codes",
    "to_next_code",
)


def month_range(year: int, month: int, period: Period) -> tuple[datetime, datetime]:
    """The month clipped to the period, as [start, end) datetimes."""
    whole = month_period(year, month)
    first: date = max(whole.start, period.start)
    last: date = min(whole.end, period.end)
    start = datetime.combine(first, datetime.min.time())
    end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    return start, end


def month_query(scope: ExportScope, start: datetime, end: datetime):
    """Minutes, contacts and minutes from the enrolment start per patient in [start, end)."""
    # A timestamp on or after the start DATE: midnight of that day counts (on
    # SQLite the ISO texts compare the same way, "2026-11-03 10:00" >= "2026-11-03").
    from_enrolment = case(
        (Contact.occurred_at >= Patient.ccm_start, Contact.minutes),
        else_=0,
    )
    totals = (
        select(
            Contact.patient_id.label("patient_id"),
            func.sum(Contact.minutes).label("minutes"),
            func.count().label("contacts"),
            func.sum(from_enrolment).label("ccm_minutes"),
        )
        .join(Patient, Patient.id == Contact.patient_id)
        .where(
            Contact.occurred_at >= start,
            Contact.occurred_at < end,
            # Remote-monitoring minutes count toward RPM, never also toward CCM.
            Contact.for_monitoring.is_(False),
        )
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
            Patient.ccm_programme,
            Patient.ccm_start,
            totals.c.minutes,
            totals.c.contacts,
            totals.c.ccm_minutes,
        )
        .join(totals, totals.c.patient_id == Patient.id)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
        .order_by(Patient.family_key, Patient.given_key, Patient.id)
    )


def programme_cells(
    programme: str | None, start: date | None, ccm_minutes: int, month_end: date
) -> tuple:
    """The cells from "Programme code" to "To next code" for one patient and month.

    Not enrolled (or enrolled only after the month): "not enrolled in CCM" and
    no code, no unit, no minutes toward a code.
    """
    if programme is None or start is None or start > month_end:
        return (None, NOT_ENROLLED, None, None, "", None, None, None, None, "")
    code = CcmProgramme(programme)
    rule = PROGRAMME_CODES[code]
    progress = ccm_progress(ccm_minutes, code)
    units = dict(progress.codes)
    return (
        str(code),
        code.label,
        start,
        ccm_minutes,
        progress.reached_words,
        rule.first_code,
        units.get(rule.first_code, 0),
        rule.addon_code,
        units.get(rule.addon_code, 0),
        progress.next_words,
    )


def _rows(
    session: Session, scope: ExportScope, period: Period, patients: set[int]
) -> Iterator[tuple]:
    for year, month in period.months():
        start, end = month_range(year, month, period)
        label = f"{year:04d}-{month:02d}"
        month_end = (end - timedelta(days=1)).date()
        for (
            patient_id,
            mrn,
            family,
            given,
            nurse,
            programme,
            ccm_start,
            minutes,
            contacts,
            ccm_minutes,
        ) in stream(session, month_query(scope, start, end)):
            patients.add(patient_id)
            yield (
                label,
                mrn,
                person_name(family, given),
                nurse,
                int(minutes or 0),
                contacts,
                *programme_cells(programme, as_date(ccm_start), int(ccm_minutes or 0), month_end),
            )


def monthly_report(
    scope: ExportScope,
    name: str,
    title: str,
    columns: tuple[Column, ...],
    print_keys: tuple[str, ...],
    rows: Callable[[Period, set[int]], Iterator[tuple]],
) -> Report:
    """A report of rows per patient per month of the scope's period (CCM, RPM).

    ``rows(period, patients)`` yields the rows and adds each patient it lists.
    """
    if scope.period is None:  # the service always sets one; this keeps the builder total
        scope = replace(scope, period=month_period(scope.today.year, scope.today.month))
    period = scope.period
    report = Report(
        name=name,
        title=f"{title}: {scope.nurse_label}",
        columns=columns,
        rows=(),
        meta=(*scope.scope_meta(), ("Period", period.label)),
        print_keys=print_keys,
        # Markdown is read by people too: the printed table's words, not the billing columns.
        markdown_from_document=True,
    )
    report.rows = rows(period, report.patients)
    report.document = lambda: table_document(report)
    return report


def build_ccm(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """CCM minutes and codes per patient per month of the scope's period."""
    return monthly_report(
        scope,
        "ccm",
        "CCM minutes",
        COLUMNS,
        PRINT_KEYS,
        lambda period, patients: _rows(session, scope, period, patients),
    )


__all__ = [
    "COLUMNS",
    "PRINT_KEYS",
    "build_ccm",
    "month_query",
    "month_range",
    "monthly_report",
    "programme_cells",
]
