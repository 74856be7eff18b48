"""The contact log: every call, visit and message, with the minutes it took.

Logging a contact also keeps the patient's clocks current, in the same
transaction:

- ``last_contact_at`` becomes the contact's time when it is the newest one
  (attempts such as no-answer count: they are contacts the nurse made).
- ``next_contact_due`` becomes the date given; if none is given and the
  contact was interactive (reached, agreed-to-visit, declined) and is the
  newest, it becomes the contact's date plus the risk tier's cadence. An
  unanswered attempt leaves the due date alone: the patient is still due.
- TCM: an interactive contact with the patient or a caregiver inside an open
  transition's period marks its interactive contact; a home or clinic visit
  where the patient was reached also marks its face-to-face visit; a call with
  no answer or a message left counts as an attempt, and two inside the window
  meet the interactive step. The matching "transition-clock" task is closed:
  completed when the step is met, failed ("Missed") when the contact came late.
- An emergency visit's follow-up (issue 21): the same kind of conversation
  with the patient or a caregiver, on the day of the visit or within the 7
  days after it (HEDIS FMC, ``domain.encounters.ED_FOLLOW_UP_DAYS``),
  completes the visit's open follow-up task. A later one leaves it open.

Readings (issue 20): a contact closes the open reading alerts the nurse says it
addressed (``addresses``: their ids), in the contact's transaction, through
``ReadingsService.close_with_contact``; a routine call never closes one by
itself. A contact logged ``for_monitoring`` is remote-monitoring work: its
minutes count toward RPM (``ReadingsService.month``) and never also toward CCM,
so every CCM minute sum leaves it out (``minutes_in_month`` here, the rounds
card, the CCM report).

A contact never completes a safety task (the follow-up of a PHQ-9 item 9 above
0), however the call went: only a recorded safety check does
(``services.safety_checks``).

Editing or deleting a contact recomputes ``last_contact_at`` from the log
(leaving out follow-up calls to a referral's service, which are not contacts
with the patient); TCM
marks already made stay (a nurse unmarks them through the transition).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Contact, Encounter, Nurse, Patient, Task, Transition
from nursecase.domain.codes import (
    AuditAction,
    ContactMode,
    ContactOutcome,
    ContactWith,
    EncounterClass,
    TaskSource,
    TaskStatus,
    is_interactive,
    parse_code,
)
from nursecase.domain.encounters import ed_follow_up_by
from nursecase.domain.tcm import (
    interactive_deadline,
    is_face_to_face_visit,
    is_interactive_contact,
    is_unsuccessful_attempt,
    tally_attempts,
)
from nursecase.domain.validation import (
    ValidationError,
    not_in_future,
    optional_date,
    optional_text,
    require_int_range,
)
from nursecase.domain.validation import (
    minutes as parse_minutes,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import OPEN_TASK_STATUSES, cadence_due_date, load_patient, touch
from nursecase.services.readings import ReadingsService
from nursecase.services.transitions import (
    attempt_days,
    settle_step_tasks,
    transitions_in_period,
)

NOTE_LENGTH = 4000
EDITABLE_FIELDS = frozenset({"occurred_at", "mode", "with_whom", "outcome", "minutes", "note"})
_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)


@dataclass(frozen=True)
class ContactRead:
    """One contact-log entry."""

    id: int
    patient_id: int
    occurred_at: datetime
    mode: str
    with_whom: str
    outcome: str
    minutes: int
    note: str | None
    author_username: str | None
    created_at: datetime
    #: The referral this contact chased, if it was a follow-up call.
    referral_id: int | None = None
    #: The author's display name ("Alice Moreno"): what a person reads.
    author_name: str | None = None
    #: The minutes were remote-monitoring work: RPM's, never CCM's.
    for_monitoring: bool = False

    @property
    def interactive(self) -> bool:
        """True when a real two-way conversation took place."""
        return is_interactive(self.outcome)


def parse_moment(value: object, field: str) -> datetime:
    """A wall-clock datetime from a datetime or an ISO "YYYY-MM-DD HH:MM" string."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValidationError(field, "must be a local time without a time zone")
        return value.replace(microsecond=0)
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, "must be a date and time as YYYY-MM-DD HH:MM") from None
        if moment.tzinfo is not None:
            raise ValidationError(field, "must be a local time without a time zone")
        return moment.replace(microsecond=0)
    if value is None or isinstance(value, str):
        raise ValidationError(field, "is required")
    raise ValidationError(field, "must be a date and time as YYYY-MM-DD HH:MM")


def _contact_read(
    contact: Contact, username: str | None, author_name: str | None = None
) -> ContactRead:
    return ContactRead(
        id=contact.id,
        patient_id=contact.patient_id,
        occurred_at=contact.occurred_at,
        mode=contact.mode,
        with_whom=contact.with_whom,
        outcome=contact.outcome,
        minutes=contact.minutes,
        note=contact.note,
        author_username=username,
        created_at=contact.created_at,
        referral_id=contact.referral_id,
        author_name=author_name,
        for_monitoring=bool(contact.for_monitoring),
    )


class ContactService:
    """Logging, correcting and summing contacts."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def log(
        self,
        patient_id: int,
        occurred_at: datetime | str,
        mode: str,
        with_whom: str,
        outcome: str,
        minutes: int | str,
        note: str | None = None,
        next_contact_due: date | str | None = None,
        addresses: Sequence[int] = (),
        for_monitoring: bool = False,
    ) -> ContactRead:
        """Log a contact and update the patient's contact and TCM clocks.

        ``addresses`` are the ids of the patient's open reading alerts this
        contact addressed: they are closed with it, in the same transaction (an
        alert of another patient, or one already addressed, refuses the whole
        contact). ``for_monitoring`` says the minutes were remote-monitoring
        work: they count toward RPM, not CCM.
        """
        author_id = self.context.require_nurse()
        alert_ids = _alert_ids(addresses)
        if not isinstance(for_monitoring, bool):
            raise ValidationError("for_monitoring", "must be yes or no")
        values = self._validate(
            {
                "occurred_at": occurred_at,
                "mode": mode,
                "with_whom": with_whom,
                "outcome": outcome,
                "minutes": minutes,
                "note": note,
            }
        )
        due = optional_date(next_contact_due, "next_contact_due")
        if due is not None and due < self.context.clock.today():
            raise ValidationError("next_contact_due", "must not be in the past")
        moment: datetime = values["occurred_at"]
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            contact = Contact(
                patient_id=patient.id,
                author_id=author_id,
                created_at=self.context.clock.now(),
                for_monitoring=for_monitoring,
                **values,
            )
            session.add(contact)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "contact",
                contact.id,
                [name for name, value in values.items() if value is not None]
                + ["patient_id"]
                + (["for_monitoring"] if for_monitoring else []),
            )
            if alert_ids:
                ReadingsService(self.context).close_with_contact(
                    session, patient.id, alert_ids, contact
                )
            newest = patient.last_contact_at is None or moment >= patient.last_contact_at
            patient_changes = []
            if newest:
                patient.last_contact_at = moment
                patient_changes.append("last_contact_at")
            if due is None and newest and is_interactive(contact.outcome):
                due = cadence_due_date(self.context, patient.risk_tier, moment.date())
            if due is not None and due != patient.next_contact_due:
                patient.next_contact_due = due
                patient_changes.append("next_contact_due")
            if patient_changes:
                touch(patient, self.context)
                session.flush()
                audit.record(
                    session,
                    self.context,
                    AuditAction.update,
                    "patient",
                    patient.id,
                    patient_changes,
                )
            self._mark_transitions(session, contact)
            self._follow_up_emergency_visits(session, contact)
            return self._read(session, contact.id)

    def update(self, contact_id: int, **changes: object) -> ContactRead:
        """Correct a logged contact (only the fields given)."""
        for field in changes:
            if field not in EDITABLE_FIELDS:
                raise ValidationError(field, "is not a contact field that can be edited")
        values = self._validate(changes)
        with self.context.write() as session:
            contact = self._load(session, contact_id)
            changed = [name for name, value in values.items() if getattr(contact, name) != value]
            if not changed:
                return self._read(session, contact.id)
            for name in changed:
                setattr(contact, name, values[name])
            session.flush()
            audit.record(session, self.context, AuditAction.update, "contact", contact.id, changed)
            if "occurred_at" in changed:
                self._refresh_last_contact(session, contact.patient_id)
            return self._read(session, contact.id)

    def delete(self, contact_id: int) -> None:
        """Remove a contact entered in error."""
        with self.context.write() as session:
            contact = self._load(session, contact_id)
            patient_id = contact.patient_id
            session.delete(contact)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, "contact", contact_id)
            self._refresh_last_contact(session, patient_id)

    def get(self, contact_id: int) -> ContactRead:
        """One contact, or NotFoundError."""
        with self.context.read() as session:
            return self._read(session, contact_id)

    def list_for_patient(self, patient_id: int, limit: int = 200) -> list[ContactRead]:
        """The patient's contacts, newest first."""
        limit = require_int_range(limit, "limit", 1, 10_000)
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(Contact, Nurse.username, Nurse.display_name)
                .outerjoin(Nurse, Nurse.id == Contact.author_id)
                .where(Contact.patient_id == patient_id)
                .order_by(Contact.occurred_at.desc(), Contact.id.desc())
                .limit(limit)
            ).all()
            return [_contact_read(*row) for row in rows]

    def minutes_in_month(
        self, patient_id: int, year: int, month: int, since: date | None = None
    ) -> int:
        """Total contact minutes for the patient in one calendar month (for CCM).

        ``since`` (a CCM enrolment start) leaves out the contacts before that
        day: only minutes on or after it count toward the programme's codes.
        Contacts logged for remote monitoring are left out: their minutes are RPM's.
        """
        year = require_int_range(year, "year", 1900, 9999)
        month = require_int_range(month, "month", 1, 12)
        first = datetime(year, month, 1)
        following = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
        if since is not None:
            first = max(first, datetime.combine(since, time()))
        with self.context.read() as session:
            load_patient(session, patient_id)
            total = session.execute(
                select(func.coalesce(func.sum(Contact.minutes), 0)).where(
                    Contact.patient_id == patient_id,
                    Contact.occurred_at >= first,
                    Contact.occurred_at < following,
                    Contact.for_monitoring.is_(False),
                )
            ).scalar_one()
            return int(total)

    # ----------------------------------------------------------------- helpers

    def _validate(self, raw: dict[str, object]) -> dict[str, object]:
        """Clean each given field; the error names the first bad one."""
        values: dict[str, object] = {}
        if "occurred_at" in raw:
            moment = parse_moment(raw["occurred_at"], "occurred_at")
            values["occurred_at"] = not_in_future(moment, "occurred_at", self.context.clock.now())
        if "mode" in raw:
            values["mode"] = str(parse_code(ContactMode, raw["mode"], "mode"))
        if "with_whom" in raw:
            values["with_whom"] = str(parse_code(ContactWith, raw["with_whom"], "with_whom"))
        if "outcome" in raw:
            values["outcome"] = str(parse_code(ContactOutcome, raw["outcome"], "outcome"))
        if "minutes" in raw:
            values["minutes"] = parse_minutes(raw["minutes"])
        if "note" in raw:
            values["note"] = optional_text(raw["note"], "note", max_length=NOTE_LENGTH)
        return values

    @staticmethod
    def _load(session: Session, contact_id: int) -> Contact:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise NotFoundError("contact", contact_id)
        return contact

    def _read(self, session: Session, contact_id: int) -> ContactRead:
        row = session.execute(
            select(Contact, Nurse.username, Nurse.display_name)
            .outerjoin(Nurse, Nurse.id == Contact.author_id)
            .where(Contact.id == contact_id)
        ).first()
        if row is None:
            raise NotFoundError("contact", contact_id)
        return _contact_read(*row)

    def _refresh_last_contact(self, session: Session, patient_id: int) -> None:
        """Recompute the denormalised last contact time from the log."""
        patient: Patient = load_patient(session, patient_id)
        # A follow-up call to a referral's service was not a contact with the
        # patient (ReferralService.log_follow_up leaves the clock alone too).
        latest = session.execute(
            select(func.max(Contact.occurred_at)).where(
                Contact.patient_id == patient_id, Contact.referral_id.is_(None)
            )
        ).scalar()
        if latest != patient.last_contact_at:
            patient.last_contact_at = latest
            touch(patient, self.context)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                "patient",
                patient_id,
                ["last_contact_at"],
            )

    def _mark_transitions(self, session: Session, contact: Contact) -> None:
        """Mark the TCM steps this contact meets, count attempts, close the tasks it settles.

        The rules are ``nursecase.domain.tcm`` (CMS MLN908628): a conversation
        with the patient or caregiver is the interactive contact (on time or
        late: the domain says which); a reached home or clinic visit is the
        face-to-face visit; no answer / message left with the patient or
        caregiver is an attempt, and the second attempt inside the window meets
        the interactive step. Only periods that contain the contact's day and
        were not ended by a readmission before it are marked.
        """
        interactive = is_interactive_contact(contact.with_whom, contact.outcome)
        attempt = is_unsuccessful_attempt(contact.with_whom, contact.outcome)
        face_to_face = is_face_to_face_visit(contact.mode, contact.outcome)
        if not (interactive or attempt or face_to_face):
            return
        day = contact.occurred_at.date()
        for transition in transitions_in_period(session, contact.patient_id, day):
            changed = []
            if interactive and transition.interactive_contact_on is None:
                transition.interactive_contact_on = day
                changed.append("interactive_contact_on")
            if face_to_face and transition.face_to_face_on is None:
                transition.face_to_face_on = day
                changed.append("face_to_face_on")
            if attempt:
                changed.extend(self._count_attempts(session, transition))
            if changed:
                session.flush()
                audit.record(
                    session, self.context, AuditAction.update, "transition", transition.id, changed
                )
                settle_step_tasks(session, self.context, transition)

    def _follow_up_emergency_visits(self, session: Session, contact: Contact) -> None:
        """Complete the open ED follow-up tasks this contact meets (HEDIS FMC).

        HEDIS FMC ("Follow-Up After Emergency Department Visit for People With
        Multiple High-Risk Chronic Conditions") counts a follow-up on the day of
        the visit or within the 7 days after it (8 days in all): a conversation
        with the patient or a caregiver (as the TCM interactive contact: reached,
        agreed to a visit, declined) on one of those days completes the task
        ``services.encounters.record_emergency_visit`` put on Today. A voicemail
        is not a follow-up; a visit that became a stay has no follow-up task
        left (its admission closed it).
        """
        if not is_interactive_contact(contact.with_whom, contact.outcome):
            return
        day = contact.occurred_at.date()
        rows = session.execute(
            select(Task, Encounter.admitted_at)
            .join(Encounter, Encounter.id == Task.source_id)
            .where(
                Task.patient_id == contact.patient_id,
                Task.source == str(TaskSource.encounter),
                Task.status.in_(_OPEN_TASK_CODES),
                Encounter.patient_id == contact.patient_id,
                Encounter.encounter_class == str(EncounterClass.emergency),
            )
        ).all()
        for task, admitted_at in rows:
            visit = admitted_at.date()
            if visit <= day <= ed_follow_up_by(visit):
                self._complete_task(session, task)

    def _count_attempts(self, session: Session, transition: Transition) -> list[str]:
        """Recount the attempts inside the interactive window from the log; the fields changed.

        Counted from the log rather than added one by one, so a call entered
        late (backdated) lands in the right order: the step is met on the day
        of the second attempt. Nothing is counted once a conversation on time
        has met the step.
        """
        holidays = self.context.settings.holidays
        deadline = interactive_deadline(transition.discharged_on, holidays)
        contact_on = transition.interactive_contact_on
        if contact_on is not None and contact_on <= deadline:
            return []
        days = attempt_days(session, transition.patient_id, transition.discharged_on, deadline)
        tally = tally_attempts(transition.discharged_on, days, holidays, transition.superseded_on)
        changed = []
        if tally.count != transition.interactive_attempts:
            transition.interactive_attempts = tally.count
            changed.append("interactive_attempts")
        if tally.met_on != transition.attempts_met_on:
            transition.attempts_met_on = tally.met_on
            changed.append("attempts_met_on")
        return changed

    def _complete_task(self, session: Session, task: Task) -> None:
        task.status = str(TaskStatus.completed)
        task.done_at = self.context.clock.now()
        session.flush()
        audit.record(
            session, self.context, AuditAction.update, "task", task.id, ("status", "done_at")
        )


def _alert_ids(addresses: object) -> tuple[int, ...]:
    """The reading alert ids a contact addresses, or ValidationError on "addresses"."""
    if isinstance(addresses, str | bytes) or not isinstance(addresses, Sequence | set | frozenset):
        raise ValidationError("addresses", "must be a list of reading alert ids")
    ids = []
    for alert_id in addresses:
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            raise ValidationError("addresses", "must be a list of reading alert ids")
        ids.append(alert_id)
    return tuple(dict.fromkeys(ids))
