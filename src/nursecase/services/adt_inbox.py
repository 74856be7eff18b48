"""The ADT inbox: the hospital's HL7 v2 messages, kept, acknowledged and applied in order.

Issue 21, item 2. Receiving and applying are two steps, each its own transaction:

1. ``receive`` files the message exactly as it came (``adt_message.raw``) and
   commits *before* it returns the acknowledgement, so a message the hospital
   was told we have is never lost, whatever happens next. A message that
   cannot be read is filed too, and answered AE or AR with the reason. The same
   message again (sender and MSH-10 control id) is answered as the first time
   and filed no second time, so a resend after a lost ACK is harmless.
2. ``apply_pending`` applies the filed messages in the order they came, one
   transaction each (``services.encounters`` says what each event does). A
   message naming a patient nursecase does not know waits as *unmatched* until a
   nurse matches it to a patient (the hospital's identifier is then kept, so its
   next messages find her) or dismisses it with a reason: never silently dropped.

A process that stops between the two steps loses nothing: what was received
and not applied is applied by the next ``apply_pending``. Nothing here logs a
message's content: reasons name fields, never their values (DESIGN.md section 4).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nursecase.db.models import AdtMessage, Encounter, ExternalIdentifier, Patient
from nursecase.domain.adt import (
    ACCEPT,
    APPLIED_EVENTS,
    UNREADABLE_HEADER,
    AdtError,
    AdtFacts,
    MessageHeader,
    acknowledgement,
    event_words,
    parse_adt,
    read_header,
)
from nursecase.domain.codes import (
    AdtMessageStatus,
    AuditAction,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
)
from nursecase.domain.validation import ValidationError, optional_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.encounters import (
    EncounterChange,
    cancel_admission,
    cancel_discharge,
    find_encounter,
    open_stay,
    record_admission,
    record_discharge,
    record_emergency_visit,
    save_encounter,
)
from nursecase.services.errors import NotFoundError
from nursecase.services.patients import find_by_mrn, load_patient

#: Why a message was not acted on, or is waiting (kept on the inbox row, no PHI).
NOT_AN_EMERGENCY_VISIT = "a registration that is not an emergency visit"
NO_VISIT_ON_FILE = "no visit of this patient on file for it"
UNKNOWN_PATIENT = "no patient with this identifier"
OTHER_BIRTH_DATE = "the identifier is a patient's with another birth date"
NOT_ACTED_ON = "an event nursecase does not act on"


@dataclass(frozen=True)
class Receipt:
    """What ``receive`` did with one message, and the acknowledgement to send back."""

    #: The inbox row (the first one's, for a repeat).
    message_id: int
    ack_code: str
    #: The whole ACK message, segments ended by \\r.
    acknowledgement: str
    status: AdtMessageStatus
    #: True when this control id had come before: nothing new was filed.
    repeat: bool = False


@dataclass(frozen=True)
class InboxCounts:
    """How many messages the inbox holds in each state, and when the last one came."""

    counts: Mapping[AdtMessageStatus, int]
    last_received_at: datetime | None

    def of(self, status: AdtMessageStatus) -> int:
        """How many messages are in this state."""
        return self.counts.get(status, 0)

    @property
    def total(self) -> int:
        """Every message received."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class UnmatchedMessage:
    """A message waiting for a nurse: who it names, what happened, when it came."""

    id: int
    received_at: datetime
    event: str | None
    #: "Admission", "Discharge", ... (``domain.adt.event_words``).
    event_words: str
    identifier: str | None
    family_name: str | None
    given_name: str | None
    birth_date: date | None
    facility: str | None
    when: datetime | None
    reason: str | None
    status: AdtMessageStatus


def local_zone() -> tzinfo | None:
    """The workstation's time zone: times the hospital sends with an offset are read in it."""
    return datetime.now().astimezone().tzinfo


class AdtInbox:
    """Receiving, applying, matching and dismissing the hospital's ADT messages."""

    def __init__(self, context: ServiceContext, zone: tzinfo | None = None) -> None:
        self.context = context
        self.zone = zone if zone is not None else local_zone()

    # --- receiving --------------------------------------------------------------

    def receive(self, raw: str) -> Receipt:
        """File one message and return its acknowledgement (the filing is committed first)."""
        now = self.context.clock.now()
        header, status, code, reason, facts = self._read(raw)
        control_id = header.control_id or f"none-{now:%Y%m%d%H%M%S%f}"
        sender = header.sender[:200]
        for _attempt in range(2):
            try:
                with self.context.write() as session:
                    earlier = (
                        self._earlier(session, sender, control_id) if header.control_id else None
                    )
                    if earlier is not None:
                        return self._repeat(earlier, header, now)
                    row = AdtMessage(
                        received_at=now,
                        sender=sender,
                        control_id=control_id[:200],
                        event=(facts.event if facts else header.event or None),
                        message_time=header.message_time,
                        mrn=(
                            facts.identifiers[0].value[:64] if facts and facts.identifiers else None
                        ),
                        raw=raw,
                        status=str(status),
                        ack_code=code,
                        reason=reason,
                    )
                    session.add(row)
                    session.flush()
                    audit.record(
                        session,
                        self.context,
                        AuditAction.create,
                        "adt_message",
                        row.id,
                        ["raw", "status", "ack_code"],
                    )
                    message_id = row.id or 0
            except IntegrityError:
                # The same message on another connection at the same moment: the
                # unique (sender, control id) kept one; answer as for a repeat.
                continue
            ack = acknowledgement(header, code, reason, now, f"NC{message_id}")
            return Receipt(message_id, code, ack, status)
        raise RuntimeError("the message could be neither filed nor found")  # pragma: no cover

    def _read(
        self, raw: str
    ) -> tuple[MessageHeader, AdtMessageStatus, str, str | None, AdtFacts | None]:
        """(header, status, ACK code, reason, facts) of a message as it arrives."""
        try:
            facts = parse_adt(raw, self.zone)
        except AdtError as error:
            header = error.header or _header_or_unreadable(raw, self.zone)
            return header, AdtMessageStatus.error, error.ack_code, error.reason[:400], None
        if facts.event not in APPLIED_EVENTS:
            return facts.header, AdtMessageStatus.ignored, ACCEPT, NOT_ACTED_ON, facts
        return facts.header, AdtMessageStatus.received, ACCEPT, None, facts

    @staticmethod
    def _earlier(session: Session, sender: str, control_id: str) -> AdtMessage | None:
        return session.execute(
            select(AdtMessage).where(
                AdtMessage.sender == sender, AdtMessage.control_id == control_id[:200]
            )
        ).scalar()

    @staticmethod
    def _repeat(earlier: AdtMessage, header: MessageHeader, now: datetime) -> Receipt:
        ack = acknowledgement(
            header,
            earlier.ack_code,
            earlier.reason if earlier.ack_code != ACCEPT else None,
            now,
            f"NC{earlier.id}R{now:%H%M%S%f}",
        )
        return Receipt(
            earlier.id or 0, earlier.ack_code, ack, AdtMessageStatus(earlier.status), repeat=True
        )

    # --- applying ---------------------------------------------------------------

    def apply_pending(self, limit: int | None = None) -> int:
        """Apply the received messages in the order they came, one transaction each; how many."""
        applied = 0
        while limit is None or applied < limit:
            with self.context.write() as session:
                row = session.execute(
                    select(AdtMessage)
                    .where(AdtMessage.status == str(AdtMessageStatus.received))
                    .order_by(AdtMessage.id)
                    .limit(1)
                ).scalar()
                if row is None:
                    return applied
                self._apply(session, row, patient=None)
            applied += 1
        return applied

    def _apply(self, session: Session, row: AdtMessage, patient: Patient | None) -> None:
        """Apply one filed message in the caller's transaction, and say so on its row."""
        try:
            facts = parse_adt(row.raw, self.zone)
        except AdtError as error:  # filed as readable by an older version
            self._settle(session, row, AdtMessageStatus.error, error.reason)
            return
        if patient is None:
            patient, why = self._patient_of(session, facts)
            if patient is None:
                self._settle(session, row, AdtMessageStatus.unmatched, why)
                return
        row.patient_id = patient.id
        try:
            with session.begin_nested():
                encounter, why = self._apply_event(session, patient, facts, row.received_at)
        except ValidationError as error:
            self._settle(session, row, AdtMessageStatus.error, str(error)[:400])
            return
        row.encounter_id = encounter.id if encounter is not None else None
        status = AdtMessageStatus.applied if encounter is not None else AdtMessageStatus.ignored
        self._settle(session, row, status, why)

    def _settle(
        self, session: Session, row: AdtMessage, status: AdtMessageStatus, reason: str | None
    ) -> None:
        row.status = str(status)
        row.reason = reason
        if status in (AdtMessageStatus.applied, AdtMessageStatus.ignored):
            row.applied_at = self.context.clock.now()
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.update,
            "adt_message",
            row.id,
            ["status", "reason", "patient_id", "encounter_id", "applied_at"],
        )

    def _patient_of(self, session: Session, facts: AdtFacts) -> tuple[Patient | None, str]:
        """The patient the message names (a kept hospital identifier, else the MRN), or why not.

        An MRN that is a patient's whose birth date differs from the message's
        is not taken as her: two systems' numbers can collide, and a stay filed
        on the wrong chart is worse than one a nurse matches by hand.
        """
        for identifier in facts.identifiers:
            kept = session.execute(
                select(Patient)
                .join(ExternalIdentifier, ExternalIdentifier.patient_id == Patient.id)
                .where(
                    ExternalIdentifier.system == identifier.authority[:200],
                    ExternalIdentifier.value == identifier.value[:64],
                )
            ).scalar()
            if kept is not None:
                return kept, ""
        for identifier in facts.identifiers:
            try:
                patient = find_by_mrn(session, identifier.value)
            except ValidationError:
                continue
            if patient is None:
                continue
            if facts.birth_date and patient.birth_date and facts.birth_date != patient.birth_date:
                return None, OTHER_BIRTH_DATE
            return patient, ""
        return None, UNKNOWN_PATIENT

    def _apply_event(
        self, session: Session, patient: Patient, facts: AdtFacts, received_at: datetime
    ) -> tuple[Encounter | None, str | None]:
        """Do what the event says; (the encounter it concerned, or None with the reason)."""
        known = find_encounter(session, patient.id or 0, EncounterSource.adt, facts.visit_key)
        if known is None and facts.visit_key_is_fallback and facts.event not in ("A01", "A04"):
            # No visit number: the message is about the stay she is in.
            known = open_stay(session, patient.id or 0)
        event = facts.event
        if event in ("A01", "A06"):
            change = self._change(facts, known, received_at, EncounterClass.inpatient, event)
            if change is None:
                return None, NO_VISIT_ON_FILE
            return record_admission(session, self.context, patient, change), None
        if event == "A04":
            encounter_class = facts.encounter_class
            if encounter_class is not EncounterClass.emergency:
                return None, NOT_AN_EMERGENCY_VISIT
            change = self._change(facts, known, received_at, encounter_class, event)
            if change is None:
                return None, NO_VISIT_ON_FILE
            return record_emergency_visit(session, self.context, patient, change), None
        if event == "A03":
            change = self._change(facts, known, received_at, EncounterClass.inpatient, event)
            if change is None:
                return None, NO_VISIT_ON_FILE
            return record_discharge(session, self.context, patient, change), None
        if known is None:
            return None, NO_VISIT_ON_FILE
        if event == "A08":
            change = self._change(facts, known, received_at, None, event)
            assert change is not None  # a known visit always gives a change
            status = EncounterStatus(known.status)
            if status is EncounterStatus.in_progress and change.discharged_at is not None:
                status = EncounterStatus.finished
            encounter, _created = save_encounter(session, self.context, patient, change, status)
            return encounter, None
        if event == "A11":
            cancel_admission(session, self.context, known)
            return known, None
        if event == "A13":
            if known.discharged_at is None:
                return None, "no discharge of this visit on file to cancel"
            cancel_discharge(session, self.context, known)
            return known, None
        return None, NOT_ACTED_ON

    def _change(
        self,
        facts: AdtFacts,
        known: Encounter | None,
        received_at: datetime,
        default_class: EncounterClass | None,
        event: str,
    ) -> EncounterChange | None:
        """The encounter as this message describes it, filled from what is on file."""
        encounter_class = facts.encounter_class
        if event == "A06":
            encounter_class = EncounterClass.inpatient  # outpatient or ED changed to inpatient
        if encounter_class is None:
            encounter_class = (
                EncounterClass(known.encounter_class) if known is not None else default_class
            )
        admitted_at = facts.admitted_at or (known.admitted_at if known is not None else None)
        if admitted_at is None and facts.discharged_at is not None and known is None:
            # A discharge for a stay whose admission nursecase never heard of: the
            # stay is kept from its discharge (its length is unknown, not zero).
            admitted_at = facts.discharged_at
        if encounter_class is None or admitted_at is None:
            return None
        facility = facts.facility
        if facility is not None:
            facility = self.context.settings.adt_facilities.get(facility, facility)[:200]
        source_key = known.source_key if known is not None else facts.visit_key[:200]
        return EncounterChange(
            encounter_class=encounter_class,
            source=EncounterSource.adt,
            source_key=source_key,
            admitted_at=admitted_at,
            facility=facility,
            discharged_at=facts.discharged_at if event in ("A03", "A04", "A08") else None,
            disposition=facts.disposition,
            diagnoses=(
                tuple((item.display, item.code, item.system) for item in facts.diagnoses)
                if facts.diagnoses
                else None
            ),
            known_at=received_at,
        )

    # --- the nurse's side: matching and dismissing -------------------------------

    def match(self, message_id: int, patient_id: int) -> int:
        """Match an unmatched message to a patient and apply it, with every later one like it.

        The hospital's identifier (its assigning authority and value) is kept
        for the patient, so that its next messages find her; the messages
        still waiting with the same identifier are applied too, in the order
        they came. One transaction. Returns how many messages were applied.
        """
        with self.context.write() as session:
            row = self._load(session, message_id)
            if row.status != str(AdtMessageStatus.unmatched):
                raise ValidationError("message", "is not waiting to be matched")
            patient = load_patient(session, patient_id)
            facts = parse_adt(row.raw, self.zone)
            if (
                not facts.identifiers
            ):  # pragma: no cover - such a message is never filed as readable
                raise ValidationError("message", "names no patient identifier")
            identifier = facts.identifiers[0]
            system = (identifier.authority or row.sender.partition("^")[2])[:200]
            kept = session.execute(
                select(ExternalIdentifier).where(
                    ExternalIdentifier.system == system,
                    ExternalIdentifier.value == identifier.value[:64],
                )
            ).scalar()
            if kept is not None and kept.patient_id != patient.id:
                raise ValidationError(
                    "patient", "the hospital's identifier is already another patient's"
                )
            if kept is None:
                kept = ExternalIdentifier(
                    patient_id=patient.id,
                    system=system,
                    value=identifier.value[:64],
                    created_by_id=self.context.nurse_id,
                    created_at=self.context.clock.now(),
                )
                session.add(kept)
                session.flush()
                audit.record(
                    session,
                    self.context,
                    AuditAction.create,
                    "external_identifier",
                    kept.id,
                    ["patient_id", "system", "value"],
                )
            waiting = session.execute(
                select(AdtMessage)
                .where(
                    AdtMessage.status == str(AdtMessageStatus.unmatched),
                    AdtMessage.mrn == row.mrn,
                )
                .order_by(AdtMessage.id)
            ).scalars()
            applied = 0
            for message in list(waiting):
                message.handled_by_id = self.context.nurse_id
                self._apply(session, message, patient)
                applied += 1
            return applied

    def dismiss(self, message_id: int, reason: str) -> None:
        """Set aside a waiting or failed message (not our patient, a test message), with why."""
        text = optional_text(reason, "reason", max_length=400)
        if not text:
            raise ValidationError("reason", "is required")
        with self.context.write() as session:
            row = self._load(session, message_id)
            if row.status not in (str(AdtMessageStatus.unmatched), str(AdtMessageStatus.error)):
                raise ValidationError("message", "is not waiting for a nurse")
            row.status = str(AdtMessageStatus.dismissed)
            row.reason = text
            row.handled_by_id = self.context.nurse_id
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                "adt_message",
                row.id,
                ["status", "reason", "handled_by_id"],
            )

    @staticmethod
    def _load(session: Session, message_id: int) -> AdtMessage:
        row = session.get(AdtMessage, message_id)
        if row is None:
            raise NotFoundError("message", message_id)
        return row

    # --- reading ----------------------------------------------------------------

    def counts(self) -> InboxCounts:
        """How many messages are received, applied, unmatched, in error, dismissed, ignored."""
        with self.context.read() as session:
            rows = session.execute(
                select(AdtMessage.status, func.count()).group_by(AdtMessage.status)
            ).all()
            last = session.execute(select(func.max(AdtMessage.received_at))).scalar()
        counts = Counter({AdtMessageStatus(status): number for status, number in rows})
        return InboxCounts(dict(counts), last)

    def waiting(self, include_errors: bool = True) -> list[UnmatchedMessage]:
        """Messages waiting for a nurse (unmatched, and those in error), oldest first."""
        statuses = [str(AdtMessageStatus.unmatched)]
        if include_errors:
            statuses.append(str(AdtMessageStatus.error))
        with self.context.read() as session:
            rows = list(
                session.execute(
                    select(AdtMessage)
                    .where(AdtMessage.status.in_(statuses))
                    .order_by(AdtMessage.id)
                ).scalars()
            )
        return [self._waiting(row) for row in rows]

    def _waiting(self, row: AdtMessage) -> UnmatchedMessage:
        try:
            facts: AdtFacts | None = parse_adt(row.raw, self.zone)
        except AdtError:
            facts = None
        facility = facts.facility if facts is not None else None
        if facility is not None:
            facility = self.context.settings.adt_facilities.get(facility, facility)
        return UnmatchedMessage(
            id=row.id or 0,
            received_at=row.received_at,
            event=row.event,
            event_words=event_words(row.event),
            identifier=row.mrn,
            family_name=facts.family_name if facts else None,
            given_name=facts.given_name if facts else None,
            birth_date=facts.birth_date if facts else None,
            facility=facility,
            when=(
                (facts.discharged_at or facts.admitted_at or facts.event_time) if facts else None
            ),
            reason=row.reason,
            status=AdtMessageStatus(row.status),
        )


def _header_or_unreadable(raw: str, zone: tzinfo | None) -> MessageHeader:
    try:
        return read_header(raw, zone)
    except AdtError as error:
        return error.header or UNREADABLE_HEADER
