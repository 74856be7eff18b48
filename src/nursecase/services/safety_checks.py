"""Safety checks: record a C-SSRS screener with its disposition, read them, and the SAFETY signals.

``record`` checks the answers and the disposition through the pure
``domain.safety_check`` (skip rules, the published triage, "high risk needs an
escalation"), writes the SafetyCheck row with its audit event, and in the SAME
transaction completes every open safety task of the patient created at or
before the check (each with its audit event). That is the only way a safety
task is completed: the task service refuses to complete or snooze one, and a
contact never touches it.

A patient's open safety signals (``open_signals``) are the two things SAFETY
means (DESIGN.md): an open safety task (a PHQ-9 item 9 above 0 not yet followed
by a safety check), and a latest safety check that found moderate or high risk
(it stays until a newer check finds low or none: the nurse re-screens).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from nursecase.db.models import Assessment, AssessmentAnswer, Nurse, SafetyCheck, Task
from nursecase.domain.codes import AuditAction, SafetyRisk, TaskStatus
from nursecase.domain.instruments.phq import SAFETY_ITEM
from nursecase.domain.safety_check import (
    SIGNAL_RISKS,
    SafetyAnswers,
    SafetySignalKind,
    describe,
    disposition_words,
    evaluate,
    phq9_signal_words,
    risk_signal_words,
    risk_words,
)
from nursecase.domain.validation import (
    optional_text,
    performed_moment,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import OPEN_TASK_STATUSES, load_patient
from nursecase.services.tasks import safety_task_condition

ENTITY = "safety_check"
NOTE_LENGTH = 2000

_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
_STORED_FIELDS = (
    "patient_id",
    "performed_at",
    "wish_dead",
    "suicidal_thoughts",
    "method",
    "intent",
    "plan",
    "behaviour",
    "behaviour_past_3_months",
    "risk",
    "disposition",
    "note",
)


@dataclass(frozen=True)
class SafetyCheckRead:
    """One recorded safety check (C-SSRS screener and its disposition)."""

    id: int
    patient_id: int
    performed_at: datetime
    answers: SafetyAnswers
    risk: str
    disposition: str
    note: str | None
    author_username: str | None
    created_at: datetime

    @property
    def summary(self) -> str:
        """ "Safety check (C-SSRS): high risk; emergency services or ED"."""
        return describe(self.risk, self.disposition)

    @property
    def risk_words(self) -> str:
        """ "high risk", "no risk identified"."""
        return risk_words(self.risk)

    @property
    def disposition_words(self) -> str:
        """ "crisis line given"."""
        return disposition_words(self.disposition)

    @property
    def keeps_signal(self) -> bool:
        """True when this check (if it is the latest) keeps SAFETY up: moderate or high risk."""
        return self.risk in SIGNAL_RISKS


@dataclass(frozen=True)
class SafetyCheckResult:
    """What recording a safety check did: the row, and the safety tasks it completed."""

    check: SafetyCheckRead
    completed_task_ids: tuple[int, ...]


@dataclass(frozen=True)
class SafetySignal:
    """One open patient-safety signal, in words.

    ``kind`` says which (``SafetySignalKind``): an open safety task (``task_id``,
    its PHQ-9 ``assessment_id`` and ``item9`` answer when known) or the latest
    safety check's moderate/high ``risk`` (``check_id``). ``since`` is when the
    signal began (the PHQ-9 or the check).
    """

    kind: SafetySignalKind
    since: datetime
    task_id: int | None = None
    assessment_id: int | None = None
    assessment_summary: str | None = None
    item9: int | None = None
    check_id: int | None = None
    risk: str | None = None

    @property
    def what(self) -> str:
        """ "PHQ-9 item 9 answered 2 on 5 Dec" / "C-SSRS high risk on 5 Dec"."""
        if self.kind is SafetySignalKind.cssrs_risk:
            return risk_signal_words(self.risk or SafetyRisk.high, self.since.date())
        return phq9_signal_words(self.item9, self.since.date())

    @property
    def action(self) -> str:
        """What clears it: "record a safety check" / "check safety again"."""
        if self.kind is SafetySignalKind.cssrs_risk:
            return "check safety again"
        return "record a safety check"


class SafetyCheckService:
    """Recording and reading safety checks; the patient's open safety signals."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------------ writes

    def record(
        self,
        patient_id: int,
        answers: Mapping[str, bool | None],
        disposition: str,
        note: str | None = None,
        performed_at: datetime | date | str | None = None,
    ) -> SafetyCheckResult:
        """Record a safety check and complete the patient's open safety tasks it follows.

        Refused with a ValidationError naming the field (a question, or
        "disposition": high risk needs crisis line, prescriber/PCP or emergency
        services; "no current risk" contradicts a moderate or high risk), and
        then nothing is written. ``performed_at`` defaults to now and may not
        lie in the future; the tasks completed are those created at or before it.
        """
        screen = evaluate(answers, disposition)
        note_text = optional_text(note, "note", max_length=NOTE_LENGTH)
        moment = self._performed_at(performed_at)
        nurse_id = self.context.require_nurse()
        values = screen.answers.as_dict()
        with self.context.write() as session:
            load_patient(session, patient_id)
            row = SafetyCheck(
                patient_id=patient_id,
                performed_at=moment,
                risk=str(screen.risk),
                disposition=str(screen.disposition),
                note=note_text,
                author_id=nurse_id,
                created_at=self.context.clock.now(),
                **values,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                ENTITY,
                row.id,
                [name for name in _STORED_FIELDS if name != "note" or note_text is not None],
            )
            completed = self._complete_safety_tasks(session, patient_id, moment)
            return SafetyCheckResult(self._read_one(session, row.id), completed)

    # ------------------------------------------------------------------- reads

    def get(self, check_id: int) -> SafetyCheckRead:
        """One safety check, or NotFoundError."""
        with self.context.read() as session:
            return self._read_one(session, check_id)

    def list_for_patient(self, patient_id: int) -> list[SafetyCheckRead]:
        """The patient's safety checks, newest first."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                _select_checks()
                .where(SafetyCheck.patient_id == patient_id)
                .order_by(SafetyCheck.performed_at.desc(), SafetyCheck.id.desc())
            ).all()
            return [_check_read(check, username) for check, username in rows]

    def latest(self, patient_id: int) -> SafetyCheckRead | None:
        """The patient's newest safety check, or None."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            return self._latest(session, patient_id)

    def open_signals(self, patient_id: int) -> tuple[SafetySignal, ...]:
        """The patient's open safety signals: the latest check's risk first, then open tasks.

        Open safety tasks are listed newest first, each with the PHQ-9 item 9
        answer of its assessment when the task came from one.
        """
        with self.context.read() as session:
            load_patient(session, patient_id)
            signals: list[SafetySignal] = []
            latest = self._latest(session, patient_id)
            if latest is not None and latest.keeps_signal:
                signals.append(
                    SafetySignal(
                        SafetySignalKind.cssrs_risk,
                        latest.performed_at,
                        check_id=latest.id,
                        risk=latest.risk,
                    )
                )
            rows = session.execute(
                select(
                    Task.id,
                    Task.created_at,
                    Assessment.id,
                    Assessment.performed_at,
                    Assessment.summary,
                    AssessmentAnswer.value,
                )
                .outerjoin(Assessment, Assessment.id == Task.source_id)
                .outerjoin(
                    AssessmentAnswer,
                    and_(
                        AssessmentAnswer.assessment_id == Assessment.id,
                        AssessmentAnswer.item_code == SAFETY_ITEM,
                    ),
                )
                .where(
                    Task.patient_id == patient_id,
                    safety_task_condition(),
                    Task.status.in_(_OPEN_TASK_CODES),
                )
                .order_by(Task.created_at.desc(), Task.id.desc())
            ).all()
            for task_id, created_at, assessment_id, performed_at, summary, value in rows:
                signals.append(
                    SafetySignal(
                        SafetySignalKind.phq9_item9,
                        performed_at or created_at,
                        task_id=task_id,
                        assessment_id=assessment_id,
                        assessment_summary=summary,
                        item9=value,
                    )
                )
            return tuple(signals)

    # ----------------------------------------------------------------- helpers

    def _performed_at(self, performed_at: datetime | date | str | None) -> datetime:
        """Default to now; a bare date means that day (now, if it is today)."""
        return performed_moment(performed_at, "performed_at", self.context.clock.now())

    def _complete_safety_tasks(
        self, session: Session, patient_id: int, moment: datetime
    ) -> tuple[int, ...]:
        """Complete the patient's open safety tasks created at or before ``moment``."""
        tasks = (
            session.execute(
                select(Task)
                .where(
                    Task.patient_id == patient_id,
                    safety_task_condition(),
                    Task.status.in_(_OPEN_TASK_CODES),
                    Task.created_at <= moment,
                )
                .order_by(Task.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        for task in tasks:
            task.status = str(TaskStatus.completed)
            task.done_at = moment
            session.flush()
            audit.record(
                session, self.context, AuditAction.update, "task", task.id, ("status", "done_at")
            )
        return tuple(task.id for task in tasks)

    @staticmethod
    def _latest(session: Session, patient_id: int) -> SafetyCheckRead | None:
        row = session.execute(
            _select_checks()
            .where(SafetyCheck.patient_id == patient_id)
            .order_by(SafetyCheck.performed_at.desc(), SafetyCheck.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _check_read(*row)

    @staticmethod
    def _read_one(session: Session, check_id: int) -> SafetyCheckRead:
        row = session.execute(_select_checks().where(SafetyCheck.id == check_id)).first()
        if row is None:
            raise NotFoundError(ENTITY, check_id)
        return _check_read(*row)


def _select_checks():
    return select(SafetyCheck, Nurse.username).outerjoin(Nurse, Nurse.id == SafetyCheck.author_id)


def _check_read(check: SafetyCheck, username: str | None) -> SafetyCheckRead:
    return SafetyCheckRead(
        id=check.id,
        patient_id=check.patient_id,
        performed_at=check.performed_at,
        answers=SafetyAnswers(
            wish_dead=check.wish_dead,
            suicidal_thoughts=check.suicidal_thoughts,
            method=check.method,
            intent=check.intent,
            plan=check.plan,
            behaviour=check.behaviour,
            behaviour_past_3_months=check.behaviour_past_3_months,
        ),
        risk=check.risk,
        disposition=check.disposition,
        note=check.note,
        author_username=username,
        created_at=check.created_at,
    )


__all__ = [
    "SafetyCheckRead",
    "SafetyCheckResult",
    "SafetyCheckService",
    "SafetySignal",
]
