"""The caseload report: a row per patient, streamed straight from one query.

Columns: MRN, name, birth date, age, risk tier and its basis (the source code,
"score" or "override", the basis, who set it and when), episode status,
assigned nurse, last contact, next contact due, open tasks, open referrals and
the patient's flags (domain.flags: codes such as "safety tcm" in CSV and JSON,
the words "SAFETY · TCM" in print). Sorted by name, like the caseload.
The printed caseload says the risk in the patient header's words ("high (LACE
12, 18 Nov)", "high, set by A. Moreno: lives alone; LACE 9"), with the latest
LACE of each patient read for the page.

Speed matters here (100,000 patients within 2.5 x a raw sqlite3 + csv loop,
DESIGN.md section 5): one SELECT of plain columns walks the name index, the
open-task count is a correlated subquery on the (patient_id, status) index,
the rows come back as Core tuples a batch at a time, and each becomes the
output tuple in one step. No ORM object is made per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from nursecase.db.models import Assessment, Nurse, Patient, Task
from nursecase.domain.codes import EpisodeStatus, Instrument, RiskSource, RiskTier, words_of
from nursecase.domain.flags import Flag, flag_words
from nursecase.domain.risk import LaceScore, risk_standing
from nursecase.reports.document import Document, Paragraph, Table
from nursecase.reports.tables import Column, plain_text
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import ExportScope, Report, chunks, stream
from nursecase.services.patients import OPEN_TASK_STATUSES, age_on
from nursecase.services.worklist import PatientIds, WorklistService

COLUMNS = (
    Column("mrn", "MRN"),
    Column("name", "Name"),
    # Dates come as stored text (see as_stored), so they are checked like text.
    Column("birth_date", "Birth date"),
    # Numbers and the flags this module writes: no free text, no stored code.
    Column("age", "Age", trusted=True),
    Column("risk_tier", "Risk tier", words=words_of(RiskTier)),
    Column("risk_source", "Risk source", words=words_of(RiskSource)),
    Column("risk_basis", "Risk basis"),
    Column("risk_set_by", "Risk set by"),
    Column("risk_set_at", "Risk set at"),
    Column("episode_status", "Episode status", words=words_of(EpisodeStatus)),
    Column("nurse", "Nurse"),
    Column("last_contact", "Last contact"),
    Column("next_due", "Next due"),
    Column("open_tasks", "Open tasks", trusted=True),
    Column("open_referrals", "Open referrals", trusted=True),
    Column("flags", "Flags", trusted=True, words=lambda codes: flag_words(codes.split())),
)

#: The printed caseload, for rounds: fewer, fuller columns across a landscape page.
PRINT_COLUMNS = (
    ("MRN", 19),
    ("Patient", 38),
    ("Risk", 38),
    ("Episode", 16),
    ("Nurse", 25),
    ("Last contact", 21),
    ("Next due", 21),
    ("Open tasks", 12),
    ("Open referrals", 19),
    ("Flags", 26),
)

_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)


def as_stored(column):
    """The column's value as the driver hands it over, without SQLAlchemy's date parsing.

    SQLite stores dates as ISO text ("1948-03-04", "2026-11-25 10:00:00.000000"):
    parsing 300,000 of them into date objects only to print them as the same text
    again costs about a sixth of a 100,000-patient export. The rows below accept
    either form (PostgreSQL's driver hands over date objects whatever the type).
    The SQL is unchanged.
    """
    return type_coerce(column, String).label(column.key)


def _day(value: date | str | None) -> date | None:
    """A stored date (text or date) as a date, for the few computations that need one."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


#: The nurse who set a patient's risk basis (a second join on the nurse table).
RiskSetter = aliased(Nurse, name="risk_setter")


def caseload_query(scope: ExportScope):
    """The one SELECT behind the report (the benchmark runs the same SQL raw)."""
    open_tasks = (
        select(func.count())
        .select_from(Task)
        .where(Task.patient_id == Patient.id, Task.status.in_(_OPEN_TASK_CODES))
        .correlate(Patient)
        .scalar_subquery()
    )
    return (
        select(
            Patient.id,
            Patient.mrn,
            Patient.family_name,
            Patient.given_name,
            as_stored(Patient.birth_date),
            Patient.risk_tier,
            Patient.risk_source,
            Patient.risk_basis,
            RiskSetter.display_name.label("risk_set_by"),
            Patient.risk_set_at,
            Patient.episode_status,
            Nurse.display_name,
            as_stored(Patient.last_contact_at),
            as_stored(Patient.next_contact_due),
            open_tasks.label("open_tasks"),
            Patient.open_referral_count,
        )
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .outerjoin(RiskSetter, RiskSetter.id == Patient.risk_set_by)
        .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
        .order_by(Patient.family_key, Patient.given_key, Patient.id)
    )


def count_query(scope: ExportScope):
    """How many rows the report will have (for the progress bar)."""
    return (
        select(func.count())
        .select_from(Patient)
        .where(*scope.patient_filter(Patient.id, Patient.nurse_id))
    )


def _last_day(value: datetime | str | None) -> date | str | None:
    """The day of a stored timestamp: its first ten characters, or its date()."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:10]
    return value.date()


def caseload_rows(
    result,
    today: date,
    patients: set[int],
    flags: Mapping[int, tuple[Flag, ...]] | None = None,
) -> Iterator[tuple]:
    """The report's rows from the query's rows; records each patient id in ``patients``.

    ``flags`` holds the flagged patients' flags (``WorklistService.flags_in_session``);
    a row shows their codes, space-separated. Age depends only on the birth
    date, which repeats a lot over a large caseload: it is computed once per
    distinct value and looked up after that. Dates pass through as stored (see
    :func:`as_stored`); the last contact keeps its day only.
    """
    seen = patients.add
    ages: dict[date | None, int | None] = {}
    flag_codes = {
        patient_id: " ".join(patient_flags) for patient_id, patient_flags in (flags or {}).items()
    }
    no_flags = ""
    for (
        patient_id,
        mrn,
        family_name,
        given_name,
        birth_date,
        risk_tier,
        risk_source,
        risk_basis,
        risk_set_by,
        risk_set_at,
        episode_status,
        nurse,
        last_contact_at,
        next_due,
        open_tasks,
        open_referrals,
    ) in result:
        seen(patient_id)
        try:
            age = ages[birth_date]
        except KeyError:
            age = ages[birth_date] = age_on(_day(birth_date), today)
        yield (
            mrn,
            f"{family_name}, {given_name}",
            birth_date,
            age,
            risk_tier,
            risk_source,
            risk_basis,
            risk_set_by,
            risk_set_at,
            episode_status,
            nurse,
            _last_day(last_contact_at),
            next_due,
            open_tasks,
            open_referrals,
            flag_codes.get(patient_id, no_flags),
        )


def latest_laces(session: Session, mrns: list[str]) -> dict[str, LaceScore]:
    """Each patient's newest LACE, by MRN (read a slice of MRNs at a time)."""
    latest: dict[str, LaceScore] = {}
    for some in chunks(mrns):
        rows = session.execute(
            select(Patient.mrn, Assessment.total, Assessment.summary, Assessment.performed_at)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Assessment.instrument == str(Instrument.lace), Patient.mrn.in_(some))
            .order_by(Assessment.performed_at.desc(), Assessment.id.desc())
        )
        for mrn, total, summary, performed_at in rows:
            if mrn not in latest:
                latest[mrn] = LaceScore(total, summary, performed_at.date())
    return latest


def risk_words(row: tuple, latest_lace: LaceScore | None, today: date) -> str:
    """The risk cell of the printed caseload: the tier with its basis, as the header says it."""
    _, _, _, _, risk_tier, risk_source, risk_basis, risk_set_by, risk_set_at, *_ = row
    standing = risk_standing(
        risk_tier, risk_source, risk_basis, risk_set_by, risk_set_at, latest_lace
    )
    if not standing.assessed:
        # "not assessed" (and what a LACE suggests): the tier says it all itself.
        return standing.basis_text(today)
    return f"{standing.tier}\n{standing.basis_text(today)}"


def _print_row(row: tuple, risk: str) -> tuple[str, ...]:
    """One report row as the printed caseload's cells (two-line cells where it helps)."""
    (
        mrn,
        name,
        birth_date,
        age,
        _risk_tier,
        _risk_source,
        _risk_basis,
        _risk_set_by,
        _risk_set_at,
        episode_status,
        nurse,
        last_contact,
        next_due,
        open_tasks,
        open_referrals,
        flags,
    ) = row
    born = plain_text(birth_date)
    if age is not None:
        born = f"{born} ({age})"
    patient = f"{name}\n{born}" if born else name
    return (
        mrn,
        patient,
        risk,
        plain_text(episode_status),
        plain_text(nurse),
        plain_text(last_contact),
        plain_text(next_due),
        plain_text(open_tasks),
        plain_text(open_referrals),
        flag_words(Flag(code) for code in flags.split()),
    )


def build_caseload(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """The caseload report for the scope's patients (rows stream from the session)."""
    flag_scope = scope.nurse_id if scope.patient_id is None else PatientIds((scope.patient_id,))
    flags = WorklistService(context).flags_in_session(session, flag_scope, scope.today)
    total = session.execute(count_query(scope)).scalar_one()
    title = f"Caseload: {scope.nurse_label}"
    meta = (*scope.scope_meta(), ("Patients", str(total)))
    report = Report(
        name="caseload",
        title=title,
        columns=COLUMNS,
        rows=(),
        meta=meta,
        total=total,
        landscape=True,
    )
    report.rows = caseload_rows(
        stream(session, caseload_query(scope)), scope.today, report.patients, flags
    )

    def document() -> Document:
        stored = tuple(report.rows)
        laces = latest_laces(session, [row[0] for row in stored])
        rows = tuple(
            _print_row(row, risk_words(row, laces.get(row[0]), scope.today)) for row in stored
        )
        if not rows:
            return Document(title=title, meta=meta, blocks=(Paragraph("No patients."),))
        table = Table(
            columns=tuple(header for header, _ in PRINT_COLUMNS),
            rows=rows,
            widths=tuple(width for _, width in PRINT_COLUMNS),
        )
        return Document(title=title, meta=meta, blocks=(table,))

    report.document = document
    return report


__all__ = [
    "COLUMNS",
    "build_caseload",
    "caseload_query",
    "caseload_rows",
    "latest_laces",
    "risk_words",
]
