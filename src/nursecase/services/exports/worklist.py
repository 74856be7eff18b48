"""The worklist report: today's ranked list with the reason for each patient.

The rows are exactly what the worklist screen shows, in its order: the
ranking is the worklist service's (``WorklistService.today``), so the export
and the screen can never disagree. The assigned nurse is added per patient
(the team view lists several nurses' patients).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Nurse, Patient
from nursecase.domain.codes import RiskTier, words_of
from nursecase.domain.flags import flag_words
from nursecase.reports.tables import Column
from nursecase.services.context import ServiceContext
from nursecase.services.exports.common import ExportScope, Report, chunks, person_name
from nursecase.services.worklist import WorklistService

COLUMNS = (
    # Widths in millimetres of a printed landscape page (243 mm between margins).
    Column("rank", "Rank", 10, "#"),
    Column("mrn", "MRN", 19),
    Column("name", "Name", 30),
    Column("age", "Age", 9),
    Column("risk_tier", "Risk tier", 17, words=words_of(RiskTier)),
    Column("why", "Why", 58),
    Column("days_overdue", "Days overdue", 13, "Days late"),
    Column("first_due", "First due", 21),
    Column("last_contact", "Last contact", 21),
    Column("next_due", "Next due", 21),
    Column("nurse", "Nurse", 22),
    # The flags' codes for machines ("safety tcm") and their words for people.
    Column("flags", "Flag codes", 22, machines_only=True),
    Column("flag_words", "Flags", 22),
)

#: The printed list leaves out the last contact (the reasons say what is late)
#: and the flags' codes (their words are printed).
PRINT_KEYS = tuple(column.key for column in COLUMNS if column.key not in ("last_contact", "flags"))


def _nurse_names(session: Session, patient_ids: list[int]) -> dict[int, str | None]:
    names: dict[int, str | None] = {}
    for chunk in chunks(patient_ids):
        query = (
            select(Patient.id, Nurse.display_name)
            .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
            .where(Patient.id.in_(chunk))
        )
        names.update((patient_id, name) for patient_id, name in session.execute(query))
    return names


def build_worklist(session: Session, scope: ExportScope, context: ServiceContext) -> Report:
    """Today's worklist for the scope's nurse (or every nurse), most pressing first."""
    rows = WorklistService(context).today(scope.nurse_id)
    if scope.patient_id is not None:
        rows = [row for row in rows if row.patient_id == scope.patient_id]
    nurses = _nurse_names(session, [row.patient_id for row in rows])
    report = Report(
        name="worklist",
        title=f"Worklist: {scope.nurse_label}",
        columns=COLUMNS,
        rows=(),
        meta=(*scope.scope_meta(), ("Day", scope.today.isoformat()), ("Patients", str(len(rows)))),
        total=len(rows),
        print_keys=PRINT_KEYS,
    )

    def produce():
        for rank, row in enumerate(rows, start=1):
            report.patients.add(row.patient_id)
            last = row.last_contact_at
            yield (
                rank,
                row.mrn,
                person_name(row.family_name, row.given_name),
                row.age,
                row.risk_tier,
                row.why,
                row.days_overdue,
                row.due_item.due_date,
                last.date() if last is not None else None,
                row.next_contact_due,
                nurses.get(row.patient_id),
                " ".join(row.flags),
                flag_words(row.flags),
            )

    report.rows = produce()
    return report


__all__ = ["COLUMNS", "build_worklist"]
