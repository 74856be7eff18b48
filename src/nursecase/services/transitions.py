"""Transitions of care (discharges) and the TCM steps they start.

The rules are ``nursecase.domain.tcm`` (CMS MLN908628, "Transitional Care
Management Services"); this module stores and reads them:

- Recording a discharge creates two follow-up tasks (source "transition-clock",
  source_id the transition): the interactive contact due 2 business days after
  discharge (configured holidays excluded) and the face-to-face visit due 7
  (high complexity) or 14 days after. Logging a contact that meets a step marks
  the transition and closes its task (see ``nursecase.services.contacts``).
- A discharge recorded inside an earlier discharge's period (a readmission)
  ends that period, in the same transaction: the earlier transition's
  ``superseded_on`` is set and its open TCM tasks are closed (cancelled, or
  failed when a step was already missed), each audited.
- ``TransitionService.close_lapsed`` is the sweep the app runs before Today is
  read (once a day, ``close_lapsed_today``): open TCM tasks whose step is
  settled and off Today are closed (missed: failed, shown as "Missed"; ended
  by readmission: cancelled; met: completed).
  Today itself never depends on the sweep: the worklist applies the same domain
  rule when it reads.

The TCM period is the discharge day and the 29 days after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, Patient, Task, Transition
from nursecase.domain.codes import AuditAction, TaskPriority, TaskSource, TaskStatus
from nursecase.domain.tcm import (
    TCM_ATTEMPT_OUTCOMES,
    TCM_CONTACT_WITH,
    TCM_INTERACTIVE_BUSINESS_DAYS,
    TCM_PERIOD_DAYS,
    TcmBilling,
    TcmFacts,
    TcmStatus,
    TcmStep,
    face_to_face_window_days,
    interactive_deadline,
    tally_attempts,
    tcm_billing,
    tcm_status,
)
from nursecase.domain.tcm import period_end as tcm_period_end
from nursecase.domain.validation import (
    ValidationError,
    not_in_future,
    optional_text,
    parse_date,
    require_int_range,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.patients import OPEN_TASK_STATUSES, load_patient
from nursecase.services.tasks import create_task, set_task_status

INTERACTIVE_TASK_DESCRIPTION = "TCM interactive contact"
FACE_TO_FACE_TASK_DESCRIPTION = "TCM face-to-face visit"
#: The task description of each TCM step, and back.
STEP_TASK_DESCRIPTIONS = {
    TcmStep.interactive_contact: INTERACTIVE_TASK_DESCRIPTION,
    TcmStep.face_to_face_visit: FACE_TO_FACE_TASK_DESCRIPTION,
}
_TASK_STEPS = {description: step for step, description in STEP_TASK_DESCRIPTIONS.items()}
#: Days after the discharge day that still belong to the TCM service period.
DAYS_AFTER_DISCHARGE = TCM_PERIOD_DAYS - 1
#: A discharge older than this is past its TCM period and is not recorded here.
MAXIMUM_DISCHARGE_AGE_DAYS = 30
#: The reason kept on a TCM task cancelled because a readmission ended its period.
READMISSION_REASON = "ended by readmission"
#: The reason kept on the TCM tasks of a discharge the hospital cancelled (HL7 A13).
DISCHARGE_CANCELLED_REASON = "discharge cancelled by the hospital"
#: The earliest a step can have lapsed: its deadline is at least 2 days after discharge
#: and its one day on Today at least the day after that.
_EARLIEST_LAPSE_DAYS = 3
#: A missed step with nothing recorded stays open on its one day on Today (at least
#: the day after its deadline), so it closes 2 calendar days after the deadline at the earliest.
_DAYS_KEPT_AFTER_DEADLINE = 2

_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
_CLOCK_SOURCE = str(TaskSource.transition_clock)
_ATTEMPT_CODES = tuple(sorted(str(outcome) for outcome in TCM_ATTEMPT_OUTCOMES))
_CONTACT_WITH_CODES = tuple(sorted(str(person) for person in TCM_CONTACT_WITH))


def task_step(description: str) -> TcmStep | None:
    """The TCM step a transition-clock task stands for, from its description."""
    return _TASK_STEPS.get(description)


@dataclass(frozen=True)
class TransitionRead:
    """A recorded discharge with its TCM steps as of today (``clock``) and its billing."""

    id: int
    patient_id: int
    discharged_on: date
    facility: str | None
    high_complexity: bool
    length_of_stay_days: int | None
    interactive_contact_on: date | None
    face_to_face_on: date | None
    interactive_due: date
    face_to_face_due: date
    period_end: date
    created_at: datetime
    clock: TcmStatus
    interactive_attempts: int = 0
    attempts_met_on: date | None = None
    #: The day of the readmission's discharge that ended this period.
    superseded_on: date | None = None
    #: 99495 / 99496 / not billable, with the reason (None where not worked out).
    billing: TcmBilling | None = None

    @property
    def is_open(self) -> bool:
        """True while something of this discharge is on Today (a step due, or missed today)."""
        return self.clock.is_open


def period_end(discharged_on: date) -> date:
    """The last day of the TCM service period that starts on ``discharged_on``."""
    return tcm_period_end(discharged_on)


def facts_of(transition: Transition, attempt_dates: tuple[date, ...] = ()) -> TcmFacts:
    """The domain facts of a transition row."""
    return TcmFacts(
        discharged_on=transition.discharged_on,
        high_complexity=bool(transition.high_complexity),
        interactive_contact_on=transition.interactive_contact_on,
        interactive_attempts=transition.interactive_attempts or 0,
        attempts_met_on=transition.attempts_met_on,
        face_to_face_on=transition.face_to_face_on,
        superseded_on=transition.superseded_on,
        attempt_dates=attempt_dates,
    )


#: The transition columns ``row_facts`` reads, for queries that select them beside others.
FACT_COLUMNS = (
    Transition.discharged_on,
    Transition.high_complexity,
    Transition.interactive_contact_on,
    Transition.interactive_attempts,
    Transition.attempts_met_on,
    Transition.face_to_face_on,
    Transition.superseded_on,
)


def row_facts(row) -> TcmFacts:
    """The domain facts from a result row holding the ``FACT_COLUMNS``."""
    return TcmFacts(
        discharged_on=row.discharged_on,
        high_complexity=bool(row.high_complexity),
        interactive_contact_on=row.interactive_contact_on,
        interactive_attempts=row.interactive_attempts or 0,
        attempts_met_on=row.attempts_met_on,
        face_to_face_on=row.face_to_face_on,
        superseded_on=row.superseded_on,
    )


def transition_status(context: ServiceContext, transition: Transition) -> TcmStatus:
    """The transition's TCM status as of today, with the configured holidays."""
    return tcm_status(facts_of(transition), context.clock.today(), context.settings.holidays)


def transition_read(
    context: ServiceContext,
    transition: Transition,
    billing: TcmBilling | None = None,
    attempt_dates: tuple[date, ...] = (),
) -> TransitionRead:
    """The read model of a transition row, with its TCM status as of today."""
    status = tcm_status(
        facts_of(transition, attempt_dates), context.clock.today(), context.settings.holidays
    )
    return TransitionRead(
        id=transition.id,
        patient_id=transition.patient_id,
        discharged_on=transition.discharged_on,
        facility=transition.facility,
        high_complexity=transition.high_complexity,
        length_of_stay_days=transition.length_of_stay_days,
        interactive_contact_on=transition.interactive_contact_on,
        face_to_face_on=transition.face_to_face_on,
        interactive_due=status.interactive.deadline,
        face_to_face_due=status.face_to_face.deadline,
        period_end=status.period_end,
        created_at=transition.created_at,
        clock=status,
        interactive_attempts=transition.interactive_attempts or 0,
        attempts_met_on=transition.attempts_met_on,
        superseded_on=transition.superseded_on,
        billing=billing,
    )


def transitions_in_period(session: Session, patient_id: int, day: date) -> list[Transition]:
    """The patient's transitions whose TCM period contains ``day`` and was not ended before it."""
    return list(
        session.execute(
            select(Transition)
            .where(
                Transition.patient_id == patient_id,
                Transition.discharged_on <= day,
                Transition.discharged_on >= day - timedelta(days=DAYS_AFTER_DISCHARGE),
                or_(Transition.superseded_on.is_(None), Transition.superseded_on > day),
            )
            .order_by(Transition.discharged_on, Transition.id)
        ).scalars()
    )


def attempt_days(session: Session, patient_id: int, first: date, last: date) -> list[date]:
    """Days of the unsuccessful attempts to reach the patient or caregiver in ``first..last``."""
    moments = session.execute(
        select(Contact.occurred_at).where(
            Contact.patient_id == patient_id,
            Contact.outcome.in_(_ATTEMPT_CODES),
            Contact.with_whom.in_(_CONTACT_WITH_CODES),
            Contact.occurred_at >= datetime.combine(first, datetime.min.time()),
            Contact.occurred_at < datetime.combine(last + timedelta(days=1), datetime.min.time()),
        )
    ).scalars()
    return [moment.date() for moment in moments]


def close_step_task(
    session: Session,
    context: ServiceContext,
    transition: Transition,
    step: TcmStep,
    status: TaskStatus,
) -> None:
    """Close the open task of one TCM step with ``status`` (audited); nothing if none is open."""
    tasks = session.execute(
        select(Task).where(
            Task.patient_id == transition.patient_id,
            Task.source == _CLOCK_SOURCE,
            Task.source_id == transition.id,
            Task.description == STEP_TASK_DESCRIPTIONS[step],
            Task.status.in_(_OPEN_TASK_CODES),
        )
    ).scalars()
    for task in tasks:
        task.status = str(status)
        task.done_at = context.clock.now()
        changed = ["status", "done_at"]
        if status is TaskStatus.cancelled:
            task.snooze_reason = READMISSION_REASON
            changed.append("snooze_reason")
        session.flush()
        audit.record(session, context, AuditAction.update, "task", task.id, changed)


def settle_step_tasks(session: Session, context: ServiceContext, transition: Transition) -> None:
    """Close the open tasks of the steps the transition's TCM status has settled today."""
    status = transition_status(context, transition)
    for step in TcmStep:
        closing = status.closing_status(step)
        if closing is not None:
            close_step_task(session, context, transition, step, closing)


def start_period(
    session: Session, context: ServiceContext, patient: Patient, transition: Transition
) -> None:
    """A new discharge's TCM period: end the period it falls in, then create its two tasks.

    An earlier discharge whose period contains this one's day (a readmission)
    gets ``superseded_on`` and its open TCM tasks are closed. A discharge
    entered after a later one that falls in its period is ended by that one at
    once, and gets no tasks.
    """
    day = transition.discharged_on
    earlier = session.execute(
        select(Transition).where(
            Transition.patient_id == patient.id,
            Transition.id != transition.id,
            Transition.discharged_on < day,
            Transition.discharged_on >= day - timedelta(days=DAYS_AFTER_DISCHARGE),
            or_(Transition.superseded_on.is_(None), Transition.superseded_on > day),
        )
    ).scalars()
    for previous in earlier:
        previous.superseded_on = day
        session.flush()
        audit.record(
            session, context, AuditAction.update, "transition", previous.id, ["superseded_on"]
        )
        settle_step_tasks(session, context, previous)
    later = session.execute(
        select(Transition.discharged_on)
        .where(
            Transition.patient_id == patient.id,
            Transition.id != transition.id,
            Transition.discharged_on > day,
            Transition.discharged_on <= period_end(day),
        )
        .order_by(Transition.discharged_on)
        .limit(1)
    ).scalar()
    if later is not None:
        transition.superseded_on = later
        session.flush()
        audit.record(
            session, context, AuditAction.update, "transition", transition.id, ["superseded_on"]
        )
        return
    status = transition_status(context, transition)
    create_task(
        session,
        context,
        patient,
        INTERACTIVE_TASK_DESCRIPTION,
        status.interactive.deadline,
        TaskPriority.urgent,
        TaskSource.transition_clock,
        transition.id,
    )
    create_task(
        session,
        context,
        patient,
        FACE_TO_FACE_TASK_DESCRIPTION,
        status.face_to_face.deadline,
        TaskPriority.routine,
        TaskSource.transition_clock,
        transition.id,
    )


def discharge_on_day(session: Session, patient_id: int, day: date) -> Transition | None:
    """The patient's recorded discharge of that day, if there is one."""
    return session.execute(
        select(Transition).where(
            Transition.patient_id == patient_id, Transition.discharged_on == day
        )
    ).scalar()


def add_discharge(
    session: Session,
    context: ServiceContext,
    patient: Patient,
    day: date,
    facility: str | None = None,
    high_complexity: bool = False,
    length_of_stay_days: int | None = None,
) -> Transition:
    """Record a discharge in the caller's transaction (audited) and start its TCM period.

    The discharge form and the hospital feed (``services.adt_inbox``) both
    record discharges so; the caller has checked the day and that no discharge
    of that day is recorded yet.
    """
    transition = Transition(
        patient_id=patient.id,
        discharged_on=day,
        facility=facility,
        high_complexity=high_complexity,
        length_of_stay_days=length_of_stay_days,
        created_at=context.clock.now(),
    )
    session.add(transition)
    session.flush()
    audit.record(
        session,
        context,
        AuditAction.create,
        "transition",
        transition.id,
        [
            name
            for name, value in (
                ("patient_id", patient.id),
                ("discharged_on", day),
                ("facility", facility),
                ("high_complexity", high_complexity),
                ("length_of_stay_days", length_of_stay_days),
            )
            if value is not None
        ],
    )
    start_period(session, context, patient, transition)
    return transition


def remove_discharge(session: Session, context: ServiceContext, transition_id: int) -> None:
    """Take back a recorded discharge that did not happen (the hospital's A13), audited.

    Its open TCM tasks are cancelled with the reason; a period it had ended (it
    was a readmission) is given back, unless a later discharge still ends it,
    and the tasks that ending closed are open again while their step is still
    due (``settle_step_tasks`` closes the rest); then the discharge is deleted.
    """
    transition = session.get(Transition, transition_id)
    if transition is None:
        return
    for task in session.execute(
        select(Task).where(
            Task.source == _CLOCK_SOURCE,
            Task.source_id == transition.id,
            Task.status.in_(_OPEN_TASK_CODES),
        )
    ).scalars():
        set_task_status(session, context, task, TaskStatus.cancelled, DISCHARGE_CANCELLED_REASON)
    day = transition.discharged_on
    ended = session.execute(
        select(Transition).where(
            Transition.patient_id == transition.patient_id,
            Transition.id != transition.id,
            Transition.superseded_on == day,
        )
    ).scalars()
    for previous in list(ended):
        later = session.execute(
            select(Transition.discharged_on)
            .where(
                Transition.patient_id == transition.patient_id,
                Transition.id.not_in((previous.id, transition.id)),
                Transition.discharged_on > previous.discharged_on,
                Transition.discharged_on <= period_end(previous.discharged_on),
            )
            .order_by(Transition.discharged_on)
            .limit(1)
        ).scalar()
        previous.superseded_on = later
        session.flush()
        audit.record(
            session, context, AuditAction.update, "transition", previous.id, ["superseded_on"]
        )
        if later is None:
            for task in session.execute(
                select(Task).where(
                    Task.source == _CLOCK_SOURCE,
                    Task.source_id == previous.id,
                    Task.status == str(TaskStatus.cancelled),
                    Task.snooze_reason == READMISSION_REASON,
                )
            ).scalars():
                set_task_status(session, context, task, TaskStatus.requested, None)
            settle_step_tasks(session, context, previous)
    session.delete(transition)
    session.flush()
    audit.record(session, context, AuditAction.delete, "transition", transition_id)


def _lapse_candidates_statement():
    """The query of ``_lapse_candidates``; its days are parameters bound when it runs.

    It reads an open TCM task only where the domain rule
    (``TcmStatus.closing_status``; CMS MLN908628, as ``nursecase.domain.tcm``
    reads it) can close it today, and leaves out the rest, most of them steps
    still due. A step can close when something is recorded for it: a contact
    or two attempts (the contact step), a visit (the visit step), on time (met)
    or late (missed); or a readmission (``superseded_on``: ended, or settled as
    missed). With nothing recorded it closes only once missed and off Today:
    after its one day there (``missed_shown_on``: the first business day after
    the deadline, so at least the next calendar day) or after the period. So it
    stays open for at least 2 calendar days after its deadline, which is at
    least 2 calendar days after the discharge for the contact (2 business days)
    and 7 (high complexity) or 14 for the visit: each ``*_cutoff`` is today
    minus those days (weekends and holidays only move the days later). The rule
    itself still decides on each row read. ``earliest_cutoff`` is the bound the
    sweep always had (a discharge 3 days old, or ended by a readmission).
    """
    interactive_can_close = and_(
        Task.description == INTERACTIVE_TASK_DESCRIPTION,
        or_(
            Transition.interactive_contact_on.is_not(None),
            Transition.attempts_met_on.is_not(None),
            Transition.discharged_on <= bindparam("interactive_cutoff", type_=Date),
        ),
    )
    visit_can_close = and_(
        Task.description == FACE_TO_FACE_TASK_DESCRIPTION,
        or_(
            Transition.face_to_face_on.is_not(None),
            and_(
                Transition.high_complexity.is_(True),
                Transition.discharged_on <= bindparam("high_visit_cutoff", type_=Date),
            ),
            Transition.discharged_on <= bindparam("moderate_visit_cutoff", type_=Date),
        ),
    )
    return (
        select(Task.id, Task.description, *FACT_COLUMNS)
        .join(
            Task,
            (Task.patient_id == Transition.patient_id)
            & (Task.source_id == Transition.id)
            & (Task.source == _CLOCK_SOURCE),
        )
        .where(
            Task.status.in_(_OPEN_TASK_CODES),
            or_(
                Transition.discharged_on <= bindparam("earliest_cutoff", type_=Date),
                Transition.superseded_on.is_not(None),
            ),
            or_(
                Transition.superseded_on.is_not(None),
                interactive_can_close,
                visit_can_close,
            ),
        )
    )


_LAPSE_CANDIDATES = _lapse_candidates_statement()


def _lapse_cutoffs(today: date) -> dict[str, date]:
    """The days bound into the ``_lapse_candidates`` query on ``today``."""
    return {
        "earliest_cutoff": today - timedelta(days=_EARLIEST_LAPSE_DAYS),
        "interactive_cutoff": today
        - timedelta(days=TCM_INTERACTIVE_BUSINESS_DAYS + _DAYS_KEPT_AFTER_DEADLINE),
        "high_visit_cutoff": today
        - timedelta(days=face_to_face_window_days(True) + _DAYS_KEPT_AFTER_DEADLINE),
        "moderate_visit_cutoff": today
        - timedelta(days=face_to_face_window_days(False) + _DAYS_KEPT_AFTER_DEADLINE),
    }


def _lapse_candidates(session: Session, today: date) -> list:
    """Open TCM tasks of discharges where the domain rule can close a step today.

    A superset of what ``_closings`` closes (see ``_lapse_candidates_statement``).
    """
    return list(session.connection().execute(_LAPSE_CANDIDATES, _lapse_cutoffs(today)))


def _closings(rows: Iterable, today: date, holidays) -> dict[TaskStatus, list[int]]:
    """Task ids to close, by the status each closes with (per the domain rule)."""
    closings: dict[TaskStatus, list[int]] = defaultdict(list)
    for row in rows:
        step = task_step(row.description)
        if step is None:
            continue
        closing = tcm_status(row_facts(row), today, holidays).closing_status(step)
        if closing is not None:
            closings[closing].append(row.id)
    return closings


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class TransitionService:
    """Recording discharges, reading their TCM state and closing the steps that lapsed."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        #: The day ``close_lapsed_today`` last swept (per process).
        self._swept_on: date | None = None

    def record_discharge(
        self,
        patient_id: int,
        discharged_on: date | str,
        facility: str | None = None,
        high_complexity: bool = False,
        length_of_stay_days: int | None = None,
    ) -> TransitionRead:
        """Record a discharge, end the period it readmits into, and create its two TCM tasks."""
        today = self.context.clock.today()
        day = not_in_future(parse_date(discharged_on, "discharged_on"), "discharged_on", today)
        if (today - day).days > MAXIMUM_DISCHARGE_AGE_DAYS:
            raise ValidationError(
                "discharged_on",
                f"must be within the last {MAXIMUM_DISCHARGE_AGE_DAYS} days (TCM period)",
            )
        facility_text = optional_text(facility, "facility", max_length=200)
        if not isinstance(high_complexity, bool):
            raise ValidationError("high_complexity", "must be yes or no")
        stay = (
            None
            if length_of_stay_days is None
            else require_int_range(length_of_stay_days, "length_of_stay_days", 0, 3650)
        )
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            # Writers are serialised (nursecase.db.locking), so this check sees
            # a colleague's discharge committed a moment ago: no second pair
            # of TCM tasks for the same stay.
            if discharge_on_day(session, patient.id, day) is not None:
                raise ValidationError(
                    "discharged_on", f"a discharge on {day.isoformat()} is already recorded"
                )
            transition = add_discharge(
                session, self.context, patient, day, facility_text, high_complexity, stay
            )
            return transition_read(self.context, transition)

    def list_for_patient(self, patient_id: int) -> list[TransitionRead]:
        """The patient's transitions, newest discharge first, each with its billing."""
        holidays = self.context.settings.holidays
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = list(
                session.execute(
                    select(Transition)
                    .where(Transition.patient_id == patient_id)
                    .order_by(Transition.discharged_on.desc(), Transition.id.desc())
                ).scalars()
            )
            attempts: list[date] = []
            if any(row.interactive_attempts for row in rows):
                first = min(row.discharged_on for row in rows)
                last = max(interactive_deadline(row.discharged_on, holidays) for row in rows)
                attempts = attempt_days(session, patient_id, first, last)
            dates = [
                tally_attempts(row.discharged_on, attempts, holidays, row.superseded_on).days
                if row.interactive_attempts
                else ()
                for row in rows
            ]
            today = self.context.clock.today()
            billings = tcm_billing(
                [
                    tcm_status(facts_of(row, row_dates), today, holidays)
                    for row, row_dates in zip(rows, dates, strict=True)
                ]
            )
            return [
                transition_read(self.context, row, billing, row_dates)
                for row, billing, row_dates in zip(rows, billings, dates, strict=True)
            ]

    def open_for_patient(self, patient_id: int) -> list[TransitionRead]:
        """Transitions with something on Today: a step due, or missed and shown today."""
        today = self.context.clock.today()
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = transitions_in_period(session, patient_id, today)
            reads = [transition_read(self.context, row) for row in rows]
        return [read for read in reads if read.is_open]

    def close_lapsed_today(self) -> int:
        """``close_lapsed`` once a day: what the app runs before it reads Today.

        Within one day nothing more can lapse: a step lapses when the date
        moves on, and a contact or a readmission closes the tasks it settles
        in its own transaction. So Today's many refreshes cost no sweep.
        """
        today = self.context.clock.today()
        if self._swept_on == today:
            return 0
        closed = self.close_lapsed()
        self._swept_on = today
        return closed

    def close_lapsed(self) -> int:
        """Close every open TCM task whose step is settled and off Today; how many were closed.

        Missed steps (their one day on Today has passed, or a readmission or
        the end of the period took them off it) become failed ("Missed"); steps
        ended by a readmission, cancelled; steps met, completed. One
        transaction for the whole sweep, one UPDATE per closing status, one
        audit event per task. A read first: when nothing lapsed (the usual
        case) no write lock is taken.
        """
        today = self.context.clock.today()
        holidays = self.context.settings.holidays
        with self.context.read() as session:
            if not _closings(_lapse_candidates(session, today), today, holidays):
                return 0
        closed = 0
        now = self.context.clock.now()
        with self.context.write() as session:
            closings = _closings(_lapse_candidates(session, today), today, holidays)
            for status, task_ids in sorted(closings.items()):
                values: dict[str, object] = {"status": str(status), "done_at": now}
                changed = ["status", "done_at"]
                if status is TaskStatus.cancelled:
                    values["snooze_reason"] = READMISSION_REASON
                    changed.append("snooze_reason")
                for chunk in _chunks(sorted(task_ids)):
                    session.execute(
                        update(Task)
                        .where(Task.id.in_(chunk), Task.status.in_(_OPEN_TASK_CODES))
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
                for task_id in sorted(task_ids):
                    audit.record(
                        session, self.context, AuditAction.update, "task", task_id, changed
                    )
                closed += len(task_ids)
        return closed
