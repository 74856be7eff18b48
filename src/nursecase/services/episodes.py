"""Episodes of case management (FHIR EpisodeOfCare) and their status history.

A patient has at most one open episode (planned, waitlist, active, onhold) at a
time. Finishing or cancelling an episode needs a reason, sets its end date and
closes it for good: a patient who comes back starts a new episode, so each
enrolment keeps its own dates. Every status change is appended to the history.

The patient row keeps a copy of the current (latest) episode's status for the
caseload's filter, updated in the same transaction as the episode by an UPDATE
statement, so the patient's version (an open chart edit) is not disturbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nursecase.db.models import Episode, EpisodeStatusHistory, Nurse, Patient
from nursecase.domain.codes import AuditAction, EpisodeStatus, parse_code, spoken
from nursecase.domain.validation import ValidationError, optional_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import load_patient

#: Statuses that close an episode; they need a reason and set its end date.
CLOSED_STATUSES = frozenset({EpisodeStatus.finished, EpisodeStatus.cancelled})
_CLOSED_CODES = tuple(str(status) for status in CLOSED_STATUSES)


@dataclass(frozen=True)
class EpisodeStatusChange:
    """One entry of an episode's status history."""

    from_status: str | None
    to_status: str
    changed_at: datetime
    nurse_username: str | None
    reason: str | None


@dataclass(frozen=True)
class EpisodeRead:
    """An episode with its status history, oldest change first."""

    id: int
    patient_id: int
    status: str
    start: date
    end: date | None
    closure_reason: str | None
    created_at: datetime
    history: tuple[EpisodeStatusChange, ...]

    @property
    def is_open(self) -> bool:
        """True until the episode is finished or cancelled."""
        return self.status not in _CLOSED_CODES


def sync_episode_status(session: Session, patient_id: int) -> None:
    """Copy the patient's current episode status onto the patient row (caller's transaction).

    The current episode is the latest by start date, then id (as the chart
    header shows it); None when the patient has no episode.
    """
    status = session.execute(
        select(Episode.status)
        .where(Episode.patient_id == patient_id)
        .order_by(Episode.start.desc(), Episode.id.desc())
        .limit(1)
    ).scalar()
    session.execute(update(Patient).where(Patient.id == patient_id).values(episode_status=status))


def _episode_read(session: Session, episode: Episode) -> EpisodeRead:
    changes = session.execute(
        select(EpisodeStatusHistory, Nurse.username)
        .outerjoin(Nurse, Nurse.id == EpisodeStatusHistory.nurse_id)
        .where(EpisodeStatusHistory.episode_id == episode.id)
        .order_by(EpisodeStatusHistory.changed_at, EpisodeStatusHistory.id)
    ).all()
    return EpisodeRead(
        id=episode.id,
        patient_id=episode.patient_id,
        status=episode.status,
        start=episode.start,
        end=episode.end,
        closure_reason=episode.closure_reason,
        created_at=episode.created_at,
        history=tuple(
            EpisodeStatusChange(
                from_status=change.from_status,
                to_status=change.to_status,
                changed_at=change.changed_at,
                nurse_username=username,
                reason=change.reason,
            )
            for change, username in changes
        ),
    )


class EpisodeService:
    """Starting episodes and moving them through their statuses."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def list_for_patient(self, patient_id: int) -> list[EpisodeRead]:
        """The patient's episodes, newest first."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            episodes = session.execute(
                select(Episode)
                .where(Episode.patient_id == patient_id)
                .order_by(Episode.start.desc(), Episode.id.desc())
            ).scalars()
            return [_episode_read(session, episode) for episode in episodes]

    def current(self, patient_id: int) -> EpisodeRead | None:
        """The patient's latest episode (open or not), or None if they never had one."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            episode = session.execute(
                select(Episode)
                .where(Episode.patient_id == patient_id)
                .order_by(Episode.start.desc(), Episode.id.desc())
                .limit(1)
            ).scalar()
            return _episode_read(session, episode) if episode is not None else None

    def start(self, patient_id: int, status: str = "active") -> EpisodeRead:
        """Start a new episode today; refused while the patient has an open one."""
        code = parse_code(EpisodeStatus, status, "status")
        if code in CLOSED_STATUSES:
            raise ValidationError(
                "status", "a new episode must start planned, on the waiting list, active or on hold"
            )
        now = self.context.clock.now()
        with self.context.write() as session:
            load_patient(session, patient_id)
            open_status = session.execute(
                select(Episode.status).where(
                    Episode.patient_id == patient_id, Episode.status.not_in(_CLOSED_CODES)
                )
            ).scalar()
            if open_status is not None:
                raise ValidationError(
                    "episode",
                    "the patient already has an open episode "
                    f"({spoken(EpisodeStatus(open_status))}); finish or cancel it first",
                )
            episode = Episode(
                patient_id=patient_id, status=str(code), start=now.date(), created_at=now
            )
            session.add(episode)
            session.flush()
            session.add(
                EpisodeStatusHistory(
                    episode_id=episode.id,
                    from_status=None,
                    to_status=str(code),
                    changed_at=now,
                    nurse_id=self.context.nurse_id,
                )
            )
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "episode",
                episode.id,
                ("patient_id", "status", "start"),
            )
            session.flush()
            sync_episode_status(session, patient_id)
            return _episode_read(session, episode)

    def change_status(
        self, episode_id: int, to_status: str, reason: str | None = None
    ) -> EpisodeRead:
        """Move an open episode to another status; finished/cancelled need a reason."""
        code = parse_code(EpisodeStatus, to_status, "status")
        reason_text = optional_text(reason, "reason", max_length=400)
        if code in CLOSED_STATUSES and reason_text is None:
            raise ValidationError("reason", f"is required to mark an episode {spoken(code)}")
        now = self.context.clock.now()
        with self.context.write() as session:
            episode = session.get(Episode, episode_id)
            if episode is None:
                raise NotFoundError("episode", episode_id)
            if episode.status in _CLOSED_CODES:
                raise ValidationError(
                    "status",
                    f"the episode is {spoken(EpisodeStatus(episode.status))}; "
                    "start a new episode instead",
                )
            if episode.status == code:
                raise ValidationError("status", f"the episode is already {spoken(code)}")
            previous = episode.status
            changed = ["status"]
            episode.status = str(code)
            if code in CLOSED_STATUSES:
                episode.end = now.date()
                episode.closure_reason = reason_text
                changed += ["end", "closure_reason"]
            session.add(
                EpisodeStatusHistory(
                    episode_id=episode.id,
                    from_status=previous,
                    to_status=str(code),
                    changed_at=now,
                    nurse_id=self.context.nurse_id,
                    reason=reason_text,
                )
            )
            session.flush()
            sync_episode_status(session, episode.patient_id)
            audit.record(session, self.context, AuditAction.update, "episode", episode.id, changed)
            return _episode_read(session, episode)
