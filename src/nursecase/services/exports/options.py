"""What an export asks for, checked before anything is read or written.

:func:`check_request` turns the raw choices (from the CLI's options or the
app's dialog) into an :class:`ExportOptions`: a known report, a format that
report comes in, a period that report takes, and so on. Every refusal is a
``ValidationError`` naming the option ("month", "from", "format" ...) with a
message fit for one line, so bad input stops here and nothing is written.

Nothing here touches the database: who the nurse is and which patient an MRN
names are resolved by the export service, inside its own session.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from nursecase.domain.validation import (
    ValidationError,
    normalize_mrn,
    optional_date,
    require_int_range,
)

#: Reports, in the order ``--help`` lists them, with a one-line description.
REPORTS: dict[str, str] = {
    "caseload": "a row per patient: risk, episode, nurse, last contact, next due, open work",
    "worklist": "today's ranked worklist with the reason for each patient",
    "referrals": "a row per referral: service, receiver, status, age and turnaround",
    "ccm": "chronic care management minutes and billable codes per patient per month",
    "rpm": "remote monitoring per patient per month: days with readings, minutes, codes",
    "tcm": "a row per discharge in the month: TCM steps met or missed, 99495/99496 or not",
    "careplans": "problems, goals and interventions with their statuses and due dates",
    "patient": "one patient's summary for a handover (needs --patient MRN)",
    "supervisor": "overdue items per nurse, referrals with no reply, goals past due",
    "outcomes": "a month's 30-day readmissions, ED visits and transitions-of-care rates",
}

#: File formats, with the suffix of their files.
FORMATS: dict[str, str] = {
    "csv": ".csv",
    "json": ".json",
    "md": ".md",
    "pdf": ".pdf",
    "fhir": ".fhir.json",
}

#: The formats each report comes in. FHIR carries clinical records, not
#: queues or billing tallies, so only the caseload and one patient export it.
REPORT_FORMATS: dict[str, tuple[str, ...]] = {
    "caseload": ("csv", "json", "md", "pdf", "fhir"),
    "worklist": ("csv", "json", "md", "pdf"),
    "referrals": ("csv", "json", "md", "pdf"),
    "ccm": ("csv", "json", "md", "pdf"),
    "rpm": ("csv", "json", "md", "pdf"),
    "tcm": ("csv", "json", "md", "pdf"),
    "careplans": ("csv", "json", "md", "pdf"),
    "patient": ("csv", "json", "md", "pdf", "fhir"),
    "supervisor": ("csv", "json", "md", "pdf"),
    "outcomes": ("csv", "json", "md", "pdf"),
}

#: Reports that read a period (--month or --from/--to), and what it selects.
PERIOD_REPORTS: dict[str, str] = {
    "referrals": "referrals sent in the period",
    "ccm": "contact minutes in the period, month by month (default: this month)",
    "rpm": "device days and monitoring minutes, month by month (default: this month)",
    "tcm": "discharges in the period (default: this month)",
    "patient": "contacts in the period (default: the last 90 days)",
    "outcomes": "one calendar month, --month only (default: this month)",
}

#: Reports that read one whole calendar month (--month), not any span of days.
MONTH_REPORTS = frozenset({"outcomes"})

#: Reports that cannot be narrowed to one patient (they are about the team).
TEAM_REPORTS = frozenset({"supervisor", "outcomes"})

#: Default days after which a referral with no reply is listed on the supervisor report.
DEFAULT_REPLY_DAYS = 14
MAX_REPLY_DAYS = 365
#: The patient report's contact log covers this many days when no period is given.
PATIENT_CONTACT_DAYS = 90

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """A span of calendar days, both ends included."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """ "November 2026" for a whole month, else "2026-11-01 to 2026-11-15"."""
        whole_month = (
            self.start.day == 1
            and self.start.year == self.end.year
            and self.start.month == self.end.month
            and self.end.day == calendar.monthrange(self.end.year, self.end.month)[1]
        )
        if whole_month:
            return f"{self.start:%B} {self.start.year}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def months(self) -> list[tuple[int, int]]:
        """The (year, month) pairs the period touches, in order."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def month_period(year: int, month: int) -> Period:
    """The whole calendar month."""
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ExportOptions:
    """A checked export request; the nurse and the patient are still names here."""

    report: str
    file_format: str
    #: Username whose patients the report covers; None: the signed-in nurse's.
    nurse_username: str | None = None
    #: Every nurse's patients (the team view) instead of one nurse's.
    all_nurses: bool = False
    #: The period asked for; None: the report's default (see ``PERIOD_REPORTS``).
    period: Period | None = None
    #: One patient (normalised MRN); required by the patient report.
    patient_mrn: str | None = None
    #: Supervisor report: days after which a referral with no reply is listed.
    reply_days: int = DEFAULT_REPLY_DAYS

    @property
    def suffix(self) -> str:
        """The file suffix of the format (".csv")."""
        return FORMATS[self.file_format]


def _choice(value: object, field: str, choices: dict[str, str] | tuple[str, ...]) -> str:
    allowed = ", ".join(choices)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, f"is required; one of: {allowed}")
    code = value.strip().lower()
    if code not in choices:
        raise ValidationError(field, f"must be one of: {allowed}")
    return code


def parse_month(value: object) -> Period:
    """A "YYYY-MM" month as the period of its days; ValidationError("month") otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    match = _MONTH.fullmatch(text)
    if match is None:
        raise ValidationError("month", "must be a month as YYYY-MM, like 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationError("month", "is not a real calendar month")
    return month_period(year, month)


def _period(month: object, date_from: object, date_to: object) -> Period | None:
    has_month = month is not None and not (isinstance(month, str) and not month.strip())
    start = optional_date(date_from, "from")
    end = optional_date(date_to, "to")
    if has_month and (start is not None or end is not None):
        raise ValidationError("month", "give either --month or --from/--to, not both")
    if has_month:
        return parse_month(month)
    if start is None and end is None:
        return None
    if start is None:
        raise ValidationError("from", "is required with --to")
    if end is None:
        raise ValidationError("to", "is required with --from")
    if start > end:
        raise ValidationError("from", "must be on or before --to")
    return Period(start, end)


def check_request(
    report: object,
    file_format: object = "csv",
    *,
    nurse_username: str | None = None,
    all_nurses: bool = False,
    month: object = None,
    date_from: object = None,
    date_to: object = None,
    patient_mrn: object = None,
    reply_days: object = None,
) -> ExportOptions:
    """Check the raw choices of an export; the first problem raises ValidationError."""
    name = _choice(report, "report", tuple(REPORTS))
    code = _choice(file_format, "format", tuple(FORMATS))
    if code not in REPORT_FORMATS[name]:
        others = ", ".join(REPORT_FORMATS[name])
        raise ValidationError("format", f"the {name} report has no {code} format; use {others}")
    if all_nurses and name == "patient":
        raise ValidationError("all", "the patient report is about one patient; drop --all")
    period = _period(month, date_from, date_to)
    if period is not None and name not in PERIOD_REPORTS:
        takers = ", ".join(PERIOD_REPORTS)
        raise ValidationError(
            "month" if month is not None else "from",
            f"the {name} report does not take a period (only {takers} do)",
        )
    if period is not None and name in MONTH_REPORTS and month is None:
        raise ValidationError("from", f"the {name} report covers one month; give --month YYYY-MM")
    mrn = None
    if patient_mrn is not None and not (isinstance(patient_mrn, str) and not patient_mrn.strip()):
        try:
            mrn = normalize_mrn(patient_mrn)
        except ValidationError as error:
            raise ValidationError("patient", error.message) from None
        if name in TEAM_REPORTS:
            raise ValidationError("patient", f"the {name} report covers nurses, not one patient")
    elif name == "patient":
        raise ValidationError("patient", "the patient report needs --patient MRN")
    days = DEFAULT_REPLY_DAYS
    if reply_days is not None:
        if name != "supervisor":
            raise ValidationError("reply-days", "applies to the supervisor report only")
        days = require_int_range(reply_days, "reply-days", 1, MAX_REPLY_DAYS)
    return ExportOptions(
        report=name,
        file_format=code,
        nurse_username=nurse_username,
        all_nurses=bool(all_nurses),
        period=period,
        patient_mrn=mrn,
        reply_days=days,
    )


def default_period(options: ExportOptions, today: date) -> Period | None:
    """The period a report covers when none was asked for (None: no period)."""
    if options.period is not None:
        return options.period
    if options.report in ("ccm", "rpm", "tcm", "outcomes"):
        return month_period(today.year, today.month)
    if options.report == "patient":
        return Period(today - timedelta(days=PATIENT_CONTACT_DAYS - 1), today)
    return None


__all__ = [
    "DEFAULT_REPLY_DAYS",
    "FORMATS",
    "MONTH_REPORTS",
    "PERIOD_REPORTS",
    "REPORTS",
    "REPORT_FORMATS",
    "ExportOptions",
    "Period",
    "check_request",
    "default_period",
    "month_period",
    "parse_month",
]
