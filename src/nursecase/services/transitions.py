"""Transitions of care (discharges) and the TCM clocks they start.

Recording a discharge creates two follow-up tasks (source "transition-clock",
source_id the transition): the interactive contact due 2 business days after
discharge (configured holidays excluded) and the face-to-face visit due 7
(high complexity) or 14 days after. Logging a contact that meets a step marks
the transition and completes its task (see ``nursecase.services.contacts``).

The TCM service period is the discharge day and the 29 days after it; a
transition is *open* while either step is still to do inside that period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import Transition
from nursecase.domain.clocks import TcmClock, tcm_clock
from nursecase.domain.codes import AuditAction, TaskPriority, TaskSource
from nursecase.domain.validation import (
    ValidationError,
    not_in_future,
    optional_text,
    parse_date,
    require_int_range,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.patients import load_patient
from nursecase.services.tasks import create_task

INTERACTIVE_TASK_DESCRIPTION = "TCM interactive contact"
FACE_TO_FACE_TASK_DESCRIPTION = "TCM face-to-face visit"
#: Days after the discharge day that still belong to the TCM service period.
TCM_PERIOD_DAYS = 29
#: A discharge older than this is past its TCM period and is not recorded here.
MAXIMUM_DISCHARGE_AGE_DAYS = 30


@dataclass(frozen=True)
class TransitionRead:
    """A recorded discharge with its TCM deadlines."""

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
    clock: TcmClock

    @property
    def is_open(self) -> bool:
        """True while a TCM step is still to do, whatever the date."""
        return self.interactive_contact_on is None or self.face_to_face_on is None


def period_end(discharged_on: date) -> date:
    """The last day of the TCM service period that starts on ``discharged_on``."""
    return discharged_on + timedelta(days=TCM_PERIOD_DAYS)


def transition_read(context: ServiceContext, transition: Transition) -> TransitionRead:
    """The read model of a transition row, with its TCM clock as of today."""
    clock = tcm_clock(
        transition.discharged_on,
        transition.high_complexity,
        context.clock.today(),
        context.settings.holidays,
        transition.interactive_contact_on,
        transition.face_to_face_on,
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
        interactive_due=clock.interactive_deadline,
        face_to_face_due=clock.face_to_face_deadline,
        period_end=period_end(transition.discharged_on),
        created_at=transition.created_at,
        clock=clock,
    )


def transitions_in_period(session: Session, patient_id: int, day: date) -> list[Transition]:
    """The patient's transitions whose TCM period contains ``day``."""
    return list(
        session.execute(
            select(Transition)
            .where(
                Transition.patient_id == patient_id,
                Transition.discharged_on <= day,
                Transition.discharged_on >= day - timedelta(days=TCM_PERIOD_DAYS),
            )
            .order_by(Transition.discharged_on, Transition.id)
        ).scalars()
    )


class TransitionService:
    """Recording discharges and reading their TCM state."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def record_discharge(
        self,
        patient_id: int,
        discharged_on: date | str,
        facility: str | None = None,
        high_complexity: bool = False,
        length_of_stay_days: int | None = None,
    ) -> TransitionRead:
        """Record a discharge and create its two TCM follow-up tasks."""
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
            already = session.execute(
                select(Transition.id).where(
                    Transition.patient_id == patient.id, Transition.discharged_on == day
                )
            ).first()
            if already is not None:
                raise ValidationError(
                    "discharged_on", f"a discharge on {day.isoformat()} is already recorded"
                )
            transition = Transition(
                patient_id=patient.id,
                discharged_on=day,
                facility=facility_text,
                high_complexity=high_complexity,
                length_of_stay_days=stay,
                created_at=self.context.clock.now(),
            )
            session.add(transition)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "transition",
                transition.id,
                [
                    name
                    for name, value in (
                        ("patient_id", patient.id),
                        ("discharged_on", day),
                        ("facility", facility_text),
                        ("high_complexity", high_complexity),
                        ("length_of_stay_days", stay),
                    )
                    if value is not None
                ],
            )
            read = transition_read(self.context, transition)
            create_task(
                session,
                self.context,
                patient,
                INTERACTIVE_TASK_DESCRIPTION,
                read.interactive_due,
                TaskPriority.urgent,
                TaskSource.transition_clock,
                transition.id,
            )
            create_task(
                session,
                self.context,
                patient,
                FACE_TO_FACE_TASK_DESCRIPTION,
                read.face_to_face_due,
                TaskPriority.routine,
                TaskSource.transition_clock,
                transition.id,
            )
            return read

    def list_for_patient(self, patient_id: int) -> list[TransitionRead]:
        """The patient's transitions, newest discharge first."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(Transition)
                .where(Transition.patient_id == patient_id)
                .order_by(Transition.discharged_on.desc(), Transition.id.desc())
            ).scalars()
            return [transition_read(self.context, row) for row in rows]

    def open_for_patient(self, patient_id: int) -> list[TransitionRead]:
        """Transitions still inside their TCM period with a step still to do."""
        today = self.context.clock.today()
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = transitions_in_period(session, patient_id, today)
            reads = [transition_read(self.context, row) for row in rows]
        return [read for read in reads if read.is_open]
