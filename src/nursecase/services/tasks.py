"""Follow-up tasks: the items of the worklist that are not clocks on the patient.

Open tasks are requested, in-progress or on-hold. ``complete`` and ``cancel``
close a task; ``reopen`` undoes either. ``snooze`` moves the due date to a
later day and needs a reason. The Task table has one free-text reason column,
``snooze_reason``: it holds the reason of the latest snooze or cancellation.

A safety task (``domain.safety_check.is_safety_task``: the urgent follow-up of a
PHQ-9 item 9 above 0) is never completed or snoozed here: only a recorded
safety check completes it (``services.safety_checks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from nursecase.db.models import Nurse, Patient, Task
from nursecase.domain.codes import (
    AuditAction,
    TaskPriority,
    TaskSource,
    TaskStatus,
    parse_code,
    spoken,
)
from nursecase.domain.safety_check import (
    SAFETY_TASK_PRIORITY,
    SAFETY_TASK_REFUSAL,
    SAFETY_TASK_SOURCE,
    is_safety_task,
)
from nursecase.domain.tcm import TCM_TASK_REFUSAL
from nursecase.domain.validation import ValidationError, parse_date, require_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.nurses import nurse_id_for_username
from nursecase.services.patients import OPEN_TASK_STATUSES, display_name, load_patient

_OPEN_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
_CLOSED_CODES = (str(TaskStatus.completed), str(TaskStatus.cancelled))
DESCRIPTION_LENGTH = 400


@dataclass(frozen=True)
class TaskRead:
    """A task as the worklist and the chart show it."""

    id: int
    patient_id: int
    patient_name: str
    description: str
    due_date: date
    status: str
    priority: str
    source: str
    source_id: int | None
    snooze_reason: str | None
    done_at: datetime | None
    nurse_username: str | None
    overdue_days: int
    #: The nurse's display name ("Alice Moreno"): what a person reads.
    nurse_name: str | None = None

    @property
    def is_open(self) -> bool:
        """True while the task still needs doing."""
        return self.status in _OPEN_CODES


def safety_task_condition():
    """The SQL test for a safety task (the one definition, ``domain.safety_check``)."""
    return and_(Task.source == str(SAFETY_TASK_SOURCE), Task.priority == str(SAFETY_TASK_PRIORITY))


def refuse_safety_task(task: Task) -> None:
    """Raise ValidationError("task", ...) for a safety task: a safety check completes it."""
    if is_safety_task(task.source, task.priority):
        raise ValidationError("task", SAFETY_TASK_REFUSAL)


def refuse_tcm_task(task: Task) -> None:
    """Raise ValidationError("task", ...) for a TCM step: the contact or visit meets it."""
    if task.source == TaskSource.transition_clock:
        raise ValidationError("task", TCM_TASK_REFUSAL)


def _select_tasks():
    return (
        select(Task, Patient.family_name, Patient.given_name, Nurse.username, Nurse.display_name)
        .join(Patient, Patient.id == Task.patient_id)
        .outerjoin(Nurse, Nurse.id == Task.nurse_id)
    )


def _task_read(
    task: Task,
    family_name: str,
    given_name: str,
    username: str | None,
    nurse_name: str | None,
    today: date,
):
    overdue = (today - task.due_date).days if task.status in _OPEN_CODES else 0
    return TaskRead(
        id=task.id,
        patient_id=task.patient_id,
        patient_name=display_name(family_name, given_name),
        description=task.description,
        due_date=task.due_date,
        status=task.status,
        priority=task.priority,
        source=task.source,
        source_id=task.source_id,
        snooze_reason=task.snooze_reason,
        done_at=task.done_at,
        nurse_username=username,
        overdue_days=max(0, overdue),
        nurse_name=nurse_name,
    )


def set_task_status(
    session: Session,
    context: ServiceContext,
    task: Task,
    status: TaskStatus,
    reason: str | None,
) -> None:
    """Close (or reopen: ``TaskStatus.requested``) a task in the caller's transaction, audited.

    A closed task gets the time and the reason; a reopened one loses both.
    """
    closing = status is not TaskStatus.requested
    task.status = str(status)
    task.done_at = context.clock.now() if closing else None
    task.snooze_reason = reason if closing else None
    session.flush()
    changed = ["status", "done_at", "snooze_reason"]
    audit.record(session, context, AuditAction.update, "task", task.id, changed)


def create_task(
    session: Session,
    context: ServiceContext,
    patient: Patient,
    description: str,
    due_date: date,
    priority: TaskPriority | str = TaskPriority.routine,
    source: TaskSource | str = TaskSource.manual,
    source_id: int | None = None,
    nurse_id: int | None = None,
) -> Task:
    """Add a task in the caller's transaction (with its audit event).

    The task goes to ``nurse_id``, else the patient's nurse, else the signed-in nurse.
    """
    if nurse_id is None:
        nurse_id = patient.nurse_id if patient.nurse_id is not None else context.nurse_id
    task = Task(
        patient_id=patient.id,
        nurse_id=nurse_id,
        description=description,
        due_date=due_date,
        status=str(TaskStatus.requested),
        priority=str(parse_code(TaskPriority, priority, "priority")),
        source=str(parse_code(TaskSource, source, "source")),
        source_id=source_id,
        created_at=context.clock.now(),
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        context,
        AuditAction.create,
        "task",
        task.id,
        ("patient_id", "nurse_id", "description", "due_date", "status", "priority", "source"),
    )
    return task


class TaskService:
    """Adding, finishing, snoozing and listing follow-up tasks."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def add(
        self,
        patient_id: int,
        description: str,
        due_date: date | str,
        priority: str = "routine",
        source: str = "manual",
        source_id: int | None = None,
        nurse_username: str | None = None,
    ) -> TaskRead:
        """Add a task for a patient; it goes to the patient's nurse unless one is named."""
        text = require_text(description, "description", max_length=DESCRIPTION_LENGTH)
        due = parse_date(due_date, "due_date")
        priority_code = parse_code(TaskPriority, priority, "priority")
        source_code = parse_code(TaskSource, source, "source")
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            nurse_id = (
                nurse_id_for_username(session, nurse_username)
                if nurse_username is not None
                else None
            )
            task = create_task(
                session,
                self.context,
                patient,
                text,
                due,
                priority_code,
                source_code,
                source_id,
                nurse_id,
            )
            return self._read(session, task.id)

    def get(self, task_id: int) -> TaskRead:
        """One task, or NotFoundError."""
        with self.context.read() as session:
            return self._read(session, task_id)

    def complete(self, task_id: int) -> TaskRead:
        """Mark an open task done now.

        A safety task is refused (a safety check completes it), and so is a TCM
        step's task (logging the contact or visit meets it).
        """
        with self.context.write() as session:
            task = self._open_task(session, task_id)
            refuse_safety_task(task)
            refuse_tcm_task(task)
            task.status = str(TaskStatus.completed)
            task.done_at = self.context.clock.now()
            return self._save(session, task, ("status", "done_at"))

    def reopen(self, task_id: int) -> TaskRead:
        """Undo ``complete`` or ``cancel``: the task is open (requested) again."""
        with self.context.write() as session:
            task = self._load(session, task_id)
            if task.status not in _CLOSED_CODES:
                raise ValidationError(
                    "status",
                    "only a completed or cancelled task can be reopened "
                    f"(it is {spoken(TaskStatus(task.status))})",
                )
            task.status = str(TaskStatus.requested)
            task.done_at = None
            return self._save(session, task, ("status", "done_at"))

    def snooze(self, task_id: int, until: date | str, reason: str) -> TaskRead:
        """Move an open task's due date to a later day, with a reason (never a safety task)."""
        day = parse_date(until, "until")
        if day <= self.context.clock.today():
            raise ValidationError("until", "must be after today")
        reason_text = require_text(reason, "reason", max_length=400)
        with self.context.write() as session:
            task = self._open_task(session, task_id)
            refuse_safety_task(task)
            task.due_date = day
            task.snooze_reason = reason_text
            return self._save(session, task, ("due_date", "snooze_reason"))

    def reassign(self, task_id: int, nurse_username: str) -> TaskRead:
        """Give an open task to another nurse."""
        with self.context.write() as session:
            task = self._open_task(session, task_id)
            task.nurse_id = nurse_id_for_username(session, nurse_username)
            return self._save(session, task, ("nurse_id",))

    def cancel(self, task_id: int, reason: str) -> TaskRead:
        """Close an open task without doing it; the reason is kept."""
        reason_text = require_text(reason, "reason", max_length=400)
        with self.context.write() as session:
            task = self._open_task(session, task_id)
            task.status = str(TaskStatus.cancelled)
            task.done_at = self.context.clock.now()
            task.snooze_reason = reason_text
            return self._save(session, task, ("status", "done_at", "snooze_reason"))

    def list_for_patient(self, patient_id: int, include_done: bool = False) -> list[TaskRead]:
        """The patient's tasks by due date; closed ones only with ``include_done``."""
        query = _select_tasks().where(Task.patient_id == patient_id)
        if not include_done:
            query = query.where(Task.status.in_(_OPEN_CODES))
        query = query.order_by(Task.due_date, Task.id)
        today = self.context.clock.today()
        with self.context.read() as session:
            load_patient(session, patient_id)
            return [_task_read(*row, today) for row in session.execute(query)]

    def list_open_for_nurse(
        self, nurse_id: int, due_on_or_before: date | str | None = None
    ) -> list[TaskRead]:
        """A nurse's open tasks by due date, optionally only those due by a day."""
        query = _select_tasks().where(Task.nurse_id == nurse_id, Task.status.in_(_OPEN_CODES))
        if due_on_or_before is not None:
            query = query.where(Task.due_date <= parse_date(due_on_or_before, "due_on_or_before"))
        query = query.order_by(Task.due_date, Task.id)
        today = self.context.clock.today()
        with self.context.read() as session:
            return [_task_read(*row, today) for row in session.execute(query)]

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def _load(session: Session, task_id: int) -> Task:
        # Locked for the rest of the transaction: two nurses closing the same
        # task one after the other see it closed, instead of both closing it.
        task = session.get(Task, task_id, with_for_update=True)
        if task is None:
            raise NotFoundError("task", task_id)
        return task

    def _open_task(self, session: Session, task_id: int) -> Task:
        task = self._load(session, task_id)
        if task.status not in _OPEN_CODES:
            raise ValidationError(
                "status", f"the task is {spoken(TaskStatus(task.status))}; reopen it first"
            )
        return task

    def _save(self, session: Session, task: Task, changed: tuple[str, ...]) -> TaskRead:
        session.flush()
        audit.record(session, self.context, AuditAction.update, "task", task.id, changed)
        return self._read(session, task.id)

    def _read(self, session: Session, task_id: int) -> TaskRead:
        row = session.execute(_select_tasks().where(Task.id == task_id)).first()
        if row is None:
            raise NotFoundError("task", task_id)
        return _task_read(*row, self.context.clock.today())
