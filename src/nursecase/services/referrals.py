"""Referrals: send a request for a service and chase it until it is delivered.

Every status change goes through ``domain.referral_states.check_transition``;
nothing here writes a status without it. Each change appends a row to the
status history (from, to, when, who, reason): the queue's age ("days in
status") and the turnaround come from that history, never from "last modified".
A referral is an editable aggregate with a version column, so a transition
saved from a stale copy is refused with who changed it and when.

The patient's denormalised ``open_referral_count`` (the caseload sorts and
filters on it) moves with every create and status change, in the same
transaction, through an UPDATE statement rather than the ORM: the patient's
version is not bumped, so a referral change never makes an open edit of the
patient's chart stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from nursecase.db.models import TEXT, Contact, Nurse, Patient, Referral, ReferralStatusHistory
from nursecase.domain.clocks import aging_bucket, default_expected_reply
from nursecase.domain.codes import (
    AuditAction,
    ContactMode,
    ContactOutcome,
    ContactWith,
    ReferralPriority,
    ReferralStatus,
    ServiceType,
    parse_code,
)
from nursecase.domain.referral_states import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    Turnaround,
    allowed_next,
    check_transition,
    median_days,
    turnaround,
)
from nursecase.domain.validation import (
    ValidationError,
    optional_date,
    optional_text,
    require_text,
)
from nursecase.domain.validation import (
    minutes as parse_minutes,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.editing import check_version, guard_concurrent_save
from nursecase.services.errors import NotFoundError

ENTITY = "referral"
ORGANISATION_MAX_LENGTH = 200
CONTACT_MAX_LENGTH = 200
REASON_MAX_LENGTH = TEXT
MAX_LIST_LIMIT = 10_000

#: Queue order: the most pressing priority first (FHIR: stat > asap > urgent > routine).
PRIORITY_ORDER = (
    ReferralPriority.stat,
    ReferralPriority.asap,
    ReferralPriority.urgent,
    ReferralPriority.routine,
)

#: Priorities whose overdue reply is a safety flag on the worklist.
PRESSING_PRIORITIES = (ReferralPriority.stat, ReferralPriority.asap, ReferralPriority.urgent)

#: Statuses in which the receiving organisation has not yet answered the request.
AWAITING_REPLY = (ReferralStatus.requested, ReferralStatus.received)


@dataclass(frozen=True)
class ReferralRead:
    """One referral as the queue and the patient screen show it."""

    id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    nurse_username: str | None
    service_type: str
    receiving_organisation: str
    receiving_contact: str | None
    reason: str
    priority: str
    status: str
    status_changed_at: datetime
    days_in_status: int
    expected_reply_date: date | None
    reply_overdue: bool
    aging_bucket: str
    appointment_date: date | None
    outcome: str | None
    version: int
    allowed_next: tuple[str, ...]


@dataclass(frozen=True)
class TurnaroundSummary:
    """Median days per stage over completed referrals (None: no referral reached it)."""

    completed: int
    requested_to_accepted: float | None
    accepted_to_completed: float | None
    requested_to_completed: float | None


@dataclass(frozen=True)
class StatusChangeRead:
    """One row of a referral's status history."""

    from_status: str | None
    to_status: str
    changed_at: datetime
    nurse_username: str | None
    reason: str | None
    #: Who made the change, as people read it ("Alice Moreno"); None when unknown.
    nurse_name: str | None = None


@dataclass(frozen=True)
class QueuePage:
    """The first rows of the queue and how many referrals match in all."""

    referrals: tuple[ReferralRead, ...]
    total: int


@dataclass(frozen=True)
class FollowUpRead:
    """One follow-up call made to the receiving service about a referral."""

    occurred_at: datetime
    outcome: str
    minutes: int
    note: str | None
    nurse_username: str | None
    #: Who made the call, as people read it ("Alice Moreno"); None when unknown.
    nurse_name: str | None = None


@dataclass(frozen=True)
class ReferralDetails:
    """Everything the queue's detail pane shows about one referral."""

    referral: ReferralRead
    history: tuple[StatusChangeRead, ...]
    turnaround: Turnaround
    follow_ups: tuple[FollowUpRead, ...]


class ReferralService:
    """Creating referrals, moving them through the Task state machine, and the queue."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------------ writes

    def create(
        self,
        patient_id: int,
        service_type: ServiceType | str,
        receiving_organisation: str,
        reason: str,
        priority: ReferralPriority | str = "routine",
        expected_reply_date: date | str | None = None,
        receiving_contact: str | None = None,
        send: bool = True,
    ) -> ReferralRead:
        """Create a referral: sent ("requested") by default, or kept as a draft.

        The expected-reply date defaults from the priority (domain clocks). The
        history starts with a row from nothing to draft; a sent referral gets a
        second row, draft to requested, checked by the state machine like any move.
        """
        service = parse_code(ServiceType, service_type, "service_type")
        organisation = require_text(
            receiving_organisation, "receiving_organisation", max_length=ORGANISATION_MAX_LENGTH
        )
        clean_reason = require_text(reason, "reason", max_length=REASON_MAX_LENGTH)
        level = parse_code(ReferralPriority, priority, "priority")
        contact = optional_text(
            receiving_contact, "receiving_contact", max_length=CONTACT_MAX_LENGTH
        )
        today = self.context.clock.today()
        reply_date = optional_date(expected_reply_date, "expected_reply_date")
        if reply_date is None:
            reply_date = default_expected_reply(level, today)
        elif reply_date < today:
            raise ValidationError("expected_reply_date", "must not be in the past")
        if not isinstance(send, bool):
            raise ValidationError("send", "must be yes or no")
        # Sending is the draft -> requested move, checked by the machine like any other.
        status = (
            check_transition(ReferralStatus.draft, ReferralStatus.requested)
            if send
            else ReferralStatus.draft
        )
        nurse_id = self.context.require_nurse()
        now = self.context.clock.now()
        with self.context.write() as session:
            if session.get(Patient, patient_id) is None:
                raise NotFoundError("patient", patient_id)
            referral = Referral(
                patient_id=patient_id,
                nurse_id=nurse_id,
                service_type=str(service),
                receiving_organisation=organisation,
                receiving_contact=contact,
                reason=clean_reason,
                priority=str(level),
                status=str(status),
                status_changed_at=now,
                expected_reply_date=reply_date,
                created_at=now,
                updated_at=now,
                updated_by=nurse_id,
            )
            session.add(referral)
            session.flush()
            if status not in TERMINAL_STATUSES:
                _adjust_open_referral_count(session, patient_id, 1)
            self._append_history(session, referral.id, None, ReferralStatus.draft, None)
            if status is not ReferralStatus.draft:
                self._append_history(session, referral.id, ReferralStatus.draft, status, None)
            session.flush()
            fields = [
                "service_type",
                "receiving_organisation",
                "reason",
                "priority",
                "status",
                "expected_reply_date",
            ]
            fields += ["receiving_contact"] if contact else []
            audit.record(session, self.context, AuditAction.create, ENTITY, referral.id, fields)
            return self._read_one(session, referral.id)

    def transition(
        self,
        referral_id: int,
        to_status: ReferralStatus | str,
        expected_version: int,
        reason: str | None = None,
        outcome: str | None = None,
        appointment_date: date | str | None = None,
    ) -> ReferralRead:
        """Move a referral to ``to_status`` through the state machine.

        The version is checked first (a stale copy must be reloaded whatever the
        move), then the move itself: illegal moves and a missing reason
        (rejected, cancelled) or outcome (completed) raise TransitionError, a
        ValidationError, and nothing is written.
        """
        clean_reason = optional_text(reason, "reason", max_length=REASON_MAX_LENGTH)
        clean_outcome = optional_text(outcome, "outcome", max_length=TEXT)
        appointment = optional_date(appointment_date, "appointment_date")
        nurse_id = self.context.require_nurse()
        with self.context.write() as session:
            # The row lock makes a colleague's move that committed first visible
            # here, so the check below names them instead of a bare conflict.
            referral = session.get(Referral, referral_id, with_for_update=True)
            if referral is None:
                raise NotFoundError(ENTITY, referral_id)
            check_version(session, ENTITY, referral, expected_version)
            current = referral.status
            target = check_transition(current, to_status, clean_reason, clean_outcome)
            changed = ["status", "status_changed_at"]
            referral.status = str(target)
            referral.status_changed_at = self.context.clock.now()
            if clean_outcome is not None:
                referral.outcome = clean_outcome
                changed.append("outcome")
            if appointment is not None:
                referral.appointment_date = appointment
                changed.append("appointment_date")
            referral.updated_at = self.context.clock.now()
            referral.updated_by = nurse_id
            with guard_concurrent_save(ENTITY):
                session.flush()
            # Open -> terminal closes it; terminal -> entered-in-error changes nothing.
            change = _is_open(target) - _is_open(current)
            if change:
                _adjust_open_referral_count(session, referral.patient_id, change)
            self._append_history(session, referral.id, current, target, clean_reason)
            session.flush()
            audit.record(session, self.context, AuditAction.update, ENTITY, referral.id, changed)
            return self._read_one(session, referral.id)

    # ------------------------------------------------------------------- reads

    def log_follow_up(
        self,
        referral_id: int,
        expected_version: int,
        outcome: ContactOutcome | str,
        minutes: int | str,
        note: str | None = None,
        next_expected_reply: date | str | None = None,
    ) -> ReferralRead:
        """Log a follow-up call to the receiving service and set the next expected reply.

        One transaction: a phone contact with the provider, linked to the
        referral (its minutes count toward the month's care management time),
        and the referral's expected-reply date moved on, by default by its
        priority from today. The patient's own contact clock does not move: the
        patient was not the one called. Only an open referral can be chased.
        """
        outcome_code = str(parse_code(ContactOutcome, outcome, "outcome"))
        minute_count = parse_minutes(minutes)
        clean_note = optional_text(note, "note", max_length=TEXT)
        next_reply = optional_date(next_expected_reply, "next_expected_reply")
        today = self.context.clock.today()
        if next_reply is not None and next_reply < today:
            raise ValidationError("next_expected_reply", "must not be in the past")
        nurse_id = self.context.require_nurse()
        now = self.context.clock.now()
        with self.context.write() as session:
            referral = session.get(Referral, referral_id)
            if referral is None:
                raise NotFoundError(ENTITY, referral_id)
            check_version(session, ENTITY, referral, expected_version)
            if referral.status in TERMINAL_STATUSES or referral.status == ReferralStatus.draft:
                raise ValidationError(
                    "status", f"a {referral.status} referral is not waiting for a reply"
                )
            contact = Contact(
                patient_id=referral.patient_id,
                occurred_at=now,
                mode=str(ContactMode.phone),
                with_whom=str(ContactWith.provider),
                outcome=outcome_code,
                minutes=minute_count,
                note=clean_note,
                author_id=nurse_id,
                created_at=now,
                referral_id=referral.id,
            )
            session.add(contact)
            referral.expected_reply_date = next_reply or default_expected_reply(
                referral.priority, today
            )
            referral.updated_at = now
            referral.updated_by = nurse_id
            with guard_concurrent_save(ENTITY):
                session.flush()
            contact_fields = ["occurred_at", "mode", "with_whom", "outcome", "minutes"]
            contact_fields += ["note"] if clean_note else []
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "contact",
                contact.id,
                [*contact_fields, "patient_id", "referral_id"],
            )
            audit.record(
                session,
                self.context,
                AuditAction.update,
                ENTITY,
                referral.id,
                ["expected_reply_date"],
            )
            return self._read_one(session, referral.id)

    def get(self, referral_id: int) -> ReferralRead:
        """One referral, or NotFoundError."""
        with self.context.read() as session:
            return self._read_one(session, referral_id)

    def history(self, referral_id: int) -> list[StatusChangeRead]:
        """The referral's status changes, oldest first."""
        query = _history_query().where(ReferralStatusHistory.referral_id == referral_id)
        with self.context.read() as session:
            if session.get(Referral, referral_id) is None:
                raise NotFoundError(ENTITY, referral_id)
            return [_status_change(*columns) for columns in session.execute(query)]

    def histories_for_patient(self, patient_id: int) -> dict[int, list[StatusChangeRead]]:
        """Every referral's status changes for one patient, by referral id, oldest first."""
        query = (
            _history_query()
            .join(Referral, Referral.id == ReferralStatusHistory.referral_id)
            .where(Referral.patient_id == patient_id)
        )
        histories: dict[int, list[StatusChangeRead]] = {}
        with self.context.read() as session:
            for row, username, name in session.execute(query):
                histories.setdefault(row.referral_id, []).append(
                    _status_change(row, username, name)
                )
        return histories

    def list_for_nurse(
        self,
        nurse_id: int | None = None,
        statuses: Iterable[ReferralStatus | str] | None = None,
        open_only: bool = True,
        priority: ReferralPriority | str | None = None,
        service_type: ServiceType | str | None = None,
        receiving_organisation: str | None = None,
        limit: int = 500,
    ) -> list[ReferralRead]:
        """The referral queue: most pressing priority first, then longest in status.

        ``nurse_id`` None lists every nurse's referrals. ``open_only`` applies
        when no ``statuses`` are given; given statuses are taken as asked.
        """
        _check_list_limit(limit)
        conditions = _queue_conditions(
            nurse_id, statuses, open_only, priority, service_type, receiving_organisation
        )
        with self.context.read() as session:
            return self._read_many(session, conditions, limit)

    def queue(
        self,
        nurse_id: int | None = None,
        statuses: Iterable[ReferralStatus | str] | None = None,
        open_only: bool = True,
        priority: ReferralPriority | str | None = None,
        service_type: ServiceType | str | None = None,
        receiving_organisation: str | None = None,
        limit: int = 500,
    ) -> QueuePage:
        """The queue's first ``limit`` referrals (as ``list_for_nurse``) and how many match.

        One read: the count and the rows agree even while others write.
        """
        _check_list_limit(limit)
        conditions = _queue_conditions(
            nurse_id, statuses, open_only, priority, service_type, receiving_organisation
        )
        with self.context.read() as session:
            total = session.execute(
                select(func.count()).select_from(Referral).where(*conditions)
            ).scalar_one()
            return QueuePage(tuple(self._read_many(session, conditions, limit)), total)

    def list_for_patient(self, patient_id: int, open_only: bool = False) -> list[ReferralRead]:
        """A patient's referrals in queue order (open and closed unless ``open_only``)."""
        conditions: list[Any] = [Referral.patient_id == patient_id]
        if open_only:
            conditions.append(Referral.status.in_(sorted(str(status) for status in OPEN_STATUSES)))
        with self.context.read() as session:
            return self._read_many(session, conditions, None)

    def organisations(self, service_type: ServiceType | str | None = None) -> list[str]:
        """Receiving organisations used before (optionally for one service), for the picker."""
        query = select(Referral.receiving_organisation).distinct()
        if service_type is not None:
            query = query.where(
                Referral.service_type == str(parse_code(ServiceType, service_type, "service_type"))
            )
        with self.context.read() as session:
            names = session.execute(query).scalars().all()
        return sorted(names, key=lambda name: (name.casefold(), name))

    def recent_organisations(self, limit: int = 300) -> list[tuple[str, str]]:
        """(service type, organisation) pairs, the most recently used first, each once.

        The new-referral form offers the last organisation used for a service
        and lists the others to pick from.
        """
        _check_list_limit(limit)
        last_used = func.max(Referral.created_at)
        query = (
            select(Referral.service_type, Referral.receiving_organisation)
            .group_by(Referral.service_type, Referral.receiving_organisation)
            .order_by(last_used.desc(), Referral.receiving_organisation)
            .limit(limit)
        )
        with self.context.read() as session:
            return [(service, name) for service, name in session.execute(query)]

    def details(self, referral_id: int) -> ReferralDetails:
        """One referral with its status history, turnaround and follow-up calls (one read)."""
        history_query = _history_query().where(ReferralStatusHistory.referral_id == referral_id)
        calls_query = (
            select(Contact, Nurse.username, Nurse.display_name)
            .outerjoin(Nurse, Nurse.id == Contact.author_id)
            .where(Contact.referral_id == referral_id)
            .order_by(Contact.occurred_at, Contact.id)
        )
        with self.context.read() as session:
            referral = self._read_one(session, referral_id)
            history = tuple(_status_change(*columns) for columns in session.execute(history_query))
            calls = tuple(
                FollowUpRead(
                    occurred_at=contact.occurred_at,
                    outcome=contact.outcome,
                    minutes=contact.minutes,
                    note=contact.note,
                    nurse_username=username,
                    nurse_name=name,
                )
                for contact, username, name in session.execute(calls_query)
            )
        return ReferralDetails(
            referral=referral,
            history=history,
            turnaround=turnaround((change.to_status, change.changed_at) for change in history),
            follow_ups=calls,
        )

    def turnaround_days(self, referral_id: int) -> int | None:
        """Days from the referral being requested to it being completed, from the history.

        None while it is not completed (or was never sent).
        """
        return self.turnaround(referral_id).requested_to_completed

    def turnaround(self, referral_id: int) -> Turnaround:
        """Requested -> accepted -> completed, in days, from the status history."""
        return turnaround(
            (change.to_status, change.changed_at) for change in self.history(referral_id)
        )

    def turnaround_summary(
        self, nurse_id: int | None = None, completed_since: date | str | None = None
    ) -> TurnaroundSummary:
        """Median turnaround of completed referrals (a nurse's, or everyone's).

        ``completed_since`` keeps those completed on or after that day. One
        query reads the histories; the figures come from ``domain.referral_states``.
        """
        since = optional_date(completed_since, "completed_since")
        completed = select(Referral.id).where(Referral.status == str(ReferralStatus.completed))
        if nurse_id is not None:
            completed = completed.where(Referral.nurse_id == nurse_id)
        query = (
            select(
                ReferralStatusHistory.referral_id,
                ReferralStatusHistory.to_status,
                ReferralStatusHistory.changed_at,
            )
            .where(ReferralStatusHistory.referral_id.in_(completed))
            .order_by(ReferralStatusHistory.referral_id, ReferralStatusHistory.changed_at)
        )
        changes: dict[int, list[tuple[str, datetime]]] = {}
        with self.context.read() as session:
            for referral_id, to_status, changed_at in session.execute(query):
                changes.setdefault(referral_id, []).append((to_status, changed_at))
        figures = []
        for history in changes.values():
            finished = next(
                (moment for status, moment in history if status == ReferralStatus.completed), None
            )
            if since is not None and (finished is None or finished.date() < since):
                continue
            figures.append(turnaround(history))
        return TurnaroundSummary(
            completed=len(figures),
            requested_to_accepted=median_days(f.requested_to_accepted for f in figures),
            accepted_to_completed=median_days(f.accepted_to_completed for f in figures),
            requested_to_completed=median_days(f.requested_to_completed for f in figures),
        )

    def stuck_urgent(self, patient_id: int | None = None) -> list[ReferralRead]:
        """Open stat/asap/urgent referrals still awaiting a reply past the expected date.

        ``patient_id`` None covers every patient (the worklist's safety section).
        """
        today = self.context.clock.today()
        conditions = [
            Referral.priority.in_([str(level) for level in PRESSING_PRIORITIES]),
            Referral.status.in_([str(status) for status in AWAITING_REPLY]),
            Referral.expected_reply_date.is_not(None),
            Referral.expected_reply_date < today,
        ]
        if patient_id is not None:
            conditions.append(Referral.patient_id == patient_id)
        with self.context.read() as session:
            return self._read_many(session, conditions, None)

    # ----------------------------------------------------------------- helpers

    def _append_history(
        self,
        session: Session,
        referral_id: int,
        from_status: ReferralStatus | str | None,
        to_status: ReferralStatus | str,
        reason: str | None,
    ) -> None:
        session.add(
            ReferralStatusHistory(
                referral_id=referral_id,
                from_status=None if from_status is None else str(from_status),
                to_status=str(to_status),
                changed_at=self.context.clock.now(),
                nurse_id=self.context.nurse_id,
                reason=reason,
            )
        )

    def _read_one(self, session: Session, referral_id: int) -> ReferralRead:
        reads = self._read_many(session, [Referral.id == referral_id], None)
        if not reads:
            raise NotFoundError(ENTITY, referral_id)
        return reads[0]

    def _read_many(
        self, session: Session, conditions: list[Any], limit: int | None
    ) -> list[ReferralRead]:
        """Referrals with their patient, nurse and time in status, in queue order."""
        # When the current status began, from the history (the latest change),
        # grouped over the history of the referrals asked for only: grouping the
        # whole history table cost ~200 ms at 100,000 patients for one patient.
        entered = (
            select(
                ReferralStatusHistory.referral_id.label("referral_id"),
                func.max(ReferralStatusHistory.changed_at).label("entered_at"),
            )
            .join(Referral, Referral.id == ReferralStatusHistory.referral_id)
            .where(*conditions)
            .group_by(ReferralStatusHistory.referral_id)
            .subquery()
        )
        priority_rank = case(
            *[(Referral.priority == str(level), rank) for rank, level in enumerate(PRIORITY_ORDER)],
            else_=len(PRIORITY_ORDER),
        )
        entered_at = func.coalesce(entered.c.entered_at, Referral.status_changed_at)
        query = (
            select(Referral, Patient.family_name, Patient.given_name, Patient.mrn, Nurse.username)
            .add_columns(entered_at.label("entered_at"))
            .join(Patient, Patient.id == Referral.patient_id)
            .outerjoin(Nurse, Nurse.id == Referral.nurse_id)
            .outerjoin(entered, entered.c.referral_id == Referral.id)
            .where(*conditions)
            # Longest in status first: the earliest entry into the status.
            .order_by(priority_rank, entered_at, Referral.id)
        )
        if limit is not None:
            query = query.limit(limit)
        today = self.context.clock.today()
        reads = []
        for referral, family, given, mrn, username, entered_value in session.execute(query):
            reads.append(
                _build_read(referral, f"{family}, {given}", mrn, username, entered_value, today)
            )
        return reads


def _check_list_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIST_LIMIT}")


def _queue_conditions(
    nurse_id: int | None,
    statuses: Iterable[ReferralStatus | str] | None,
    open_only: bool,
    priority: ReferralPriority | str | None,
    service_type: ServiceType | str | None,
    receiving_organisation: str | None,
) -> list[Any]:
    """The WHERE conditions of a queue filter (each value checked, naming its field)."""
    conditions: list[Any] = []
    if nurse_id is not None:
        conditions.append(Referral.nurse_id == nurse_id)
    if statuses is not None:
        wanted = [str(parse_code(ReferralStatus, status, "statuses")) for status in statuses]
        conditions.append(Referral.status.in_(wanted))
    elif open_only:
        conditions.append(Referral.status.in_(sorted(str(status) for status in OPEN_STATUSES)))
    if priority is not None:
        conditions.append(
            Referral.priority == str(parse_code(ReferralPriority, priority, "priority"))
        )
    if service_type is not None:
        conditions.append(
            Referral.service_type == str(parse_code(ServiceType, service_type, "service_type"))
        )
    organisation = optional_text(
        receiving_organisation, "receiving_organisation", max_length=ORGANISATION_MAX_LENGTH
    )
    if organisation is not None:
        conditions.append(Referral.receiving_organisation == organisation)
    return conditions


def _is_open(status: ReferralStatus | str) -> int:
    """1 for a status that keeps the referral open, 0 for a terminal one."""
    return int(ReferralStatus(status) not in TERMINAL_STATUSES)


def _adjust_open_referral_count(session: Session, patient_id: int, change: int) -> None:
    """Move the patient's open-referral count by ``change`` in the caller's transaction.

    An UPDATE statement, so the ORM's version counter is not involved: the
    patient's version stays, and a chart edit opened before the referral
    changed still saves. ``count + change`` in SQL is safe against a
    concurrent writer (SQLite serialises writers; PostgreSQL locks the row).
    """
    session.execute(
        update(Patient)
        .where(Patient.id == patient_id)
        .values(open_referral_count=Patient.open_referral_count + change)
    )


def _build_read(
    referral: Referral,
    patient_name: str,
    patient_mrn: str,
    nurse_username: str | None,
    entered_at: datetime,
    today: date,
) -> ReferralRead:
    days = max(0, (today - _as_date(entered_at)).days)
    status = ReferralStatus(referral.status)
    overdue = (
        status in AWAITING_REPLY
        and referral.expected_reply_date is not None
        and referral.expected_reply_date < today
    )
    return ReferralRead(
        id=referral.id,
        patient_id=referral.patient_id,
        patient_name=patient_name,
        patient_mrn=patient_mrn,
        nurse_username=nurse_username,
        service_type=referral.service_type,
        receiving_organisation=referral.receiving_organisation,
        receiving_contact=referral.receiving_contact,
        reason=referral.reason,
        priority=referral.priority,
        status=referral.status,
        status_changed_at=referral.status_changed_at,
        days_in_status=days,
        expected_reply_date=referral.expected_reply_date,
        reply_overdue=overdue,
        aging_bucket=aging_bucket(days),
        appointment_date=referral.appointment_date,
        outcome=referral.outcome,
        version=referral.version,
        allowed_next=tuple(str(next_status) for next_status in allowed_next(status)),
    )


def _as_date(value: datetime | date | str) -> date:
    """A history timestamp as a date (SQLite may hand an aggregate back as text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def _history_query():
    """Status history rows with their nurse's username and display name, oldest first."""
    return (
        select(ReferralStatusHistory, Nurse.username, Nurse.display_name)
        .outerjoin(Nurse, Nurse.id == ReferralStatusHistory.nurse_id)
        .order_by(ReferralStatusHistory.changed_at, ReferralStatusHistory.id)
    )


def _status_change(row, username, display_name) -> StatusChangeRead:
    return StatusChangeRead(
        from_status=row.from_status,
        to_status=row.to_status,
        changed_at=row.changed_at,
        nurse_username=username,
        reason=row.reason,
        nurse_name=display_name,
    )
