"""Patients: the caseload, one chart header at a time and one page at a time.

The caseload can hold 100,000 patients, so the list is read a page at a time
with KEYSET pagination on ``(sort column, id)`` (never OFFSET, which re-reads
every skipped row), each sort served by an index ``(nurse_id, column, id)`` or
``(column, id)``. Search is an indexed PREFIX match on the normalised keys:
``key >= prefix AND key < prefix + U+FFFF`` is a range scan on SQLite and
PostgreSQL alike, with no dependence on LIKE's case rules. An MRN is kept as
written (typed ones upper-cased, imported ones exactly as the source wrote
them) and searched by its key (``validation.mrn_key``: letters upper-cased and
digits), so "ad2e3fc5-2b5d" and "ad2e3fc52b5d" find the same patient; the key
is also the MRN's identity, kept in step on every write.

Sorting and NULLs: SQLite puts NULLs first in ascending order and PostgreSQL
last, so the order never relies on the database's NULL placement. A sort on a
column that can be NULL pages through two SEGMENTS: the rows with a value, by
``(column, id)`` in the chosen direction, then the rows without one, by id
ascending. NULL rows therefore come last in both directions. The cursor is
``(segment, value, id)``; each segment is one index range.

The sort columns risk_rank, open_referral_count and episode_status are
denormalised onto the patient row and kept in step, in the same transaction,
by this service, the referral service and the episode service.

A patient is an editable aggregate with a ``version`` column: updates pass the
version the screen read, and a stale save is refused naming who saved last.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, delete, func, or_, select, tuple_, union
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from nursecase.db.models import (
    Assessment,
    Episode,
    EpisodeStatusHistory,
    Nurse,
    Patient,
    Referral,
    Task,
)
from nursecase.domain.clocks import next_contact_due as cadence_due
from nursecase.domain.codes import (
    RISK_RANKS,
    AuditAction,
    CcmProgramme,
    EpisodeStatus,
    Instrument,
    RiskSource,
    RiskTier,
    Sex,
    TaskStatus,
    parse_code,
)
from nursecase.domain.referral_states import OPEN_STATUSES as OPEN_REFERRAL_STATUSES
from nursecase.domain.risk import is_assessed, tier_for_lace
from nursecase.domain.validation import (
    ValidationError,
    mrn_key,
    normalize_mrn,
    normalize_phone,
    not_in_future,
    optional_date,
    optional_text,
    require_text,
    search_key,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.editing import check_version, guard_concurrent_save
from nursecase.services.errors import NotFoundError
from nursecase.services.nurses import nurse_id_for_username
from nursecase.services.statement_cache import StatementCache

#: Task statuses that keep a task on the worklist.
OPEN_TASK_STATUSES = (TaskStatus.requested, TaskStatus.in_progress, TaskStatus.on_hold)
_OPEN_REFERRAL_CODES = tuple(sorted(str(status) for status in OPEN_REFERRAL_STATUSES))
_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)

# Upper bound of a prefix range: sorts after any character a key can hold.
_PREFIX_END = "\uffff"
_MINIMUM_PHONE_SEARCH_DIGITS = 3
#: A search matching at least this many patients is BROAD: its page is read by
#: walking the sort's own index and filtering, which reaches a page of matches
#: within a few hundred rows; a narrower one is read by collecting its matches
#: from the search indexes and sorting them. The cross-over is near
#: sqrt(page size x caseload size) (about 2,400 for 60 rows of 100,000).
BROAD_SEARCH_MATCHES = 2000
_SEARCH_DIGITS = re.compile(r"[0-9 ()+.\-]+")
#: Search text that may be an MRN: letters, digits and the punctuation MRNs are
#: written with (matched by key, so with or without it).
_SEARCH_MRN = re.compile(r"[A-Za-z0-9._/-]+")
NAME_LENGTH = 120
#: The longest risk basis stored (a score's summary or a nurse's reason).
RISK_BASIS_LENGTH = 200

#: Fields ``update`` accepts; the risk tier has its own method because it needs a reason.
EDITABLE_FIELDS = frozenset(
    {
        "mrn",
        "family_name",
        "given_name",
        "birth_date",
        "sex",
        "phone",
        "address",
        "preferred_language",
        "nurse_username",
        "next_contact_due",
    }
)

#: A caseload cursor, a row's ``sort_key``: ``(segment, value, id)``. Segment 0
#: holds the rows with a value in the sort column, segment 1 (nullable columns
#: only) the rows without one (value None). The value is the sort column's value,
#: or ``(family_key, given_key)`` for the name sort.
SortKey = tuple[int, object, int]

#: Cursor segments.
VALUE_SEGMENT = 0
NULL_SEGMENT = 1


@dataclass(frozen=True)
class CaseloadSort:
    """How the caseload sorts by one choice of the sort menu."""

    columns: tuple
    #: The column can be NULL: its NULL rows form a second segment, after the others.
    nullable: bool
    #: The column runs opposite to the displayed order (age ascending = birth date descending).
    inverted: bool
    #: The Python type of the column's value (checks a cursor before it reaches SQL).
    value_type: type


#: The caseload sorts by name; ties are broken by id in the column's direction.
SORTS: dict[str, CaseloadSort] = {
    "name": CaseloadSort((Patient.family_key, Patient.given_key), False, False, str),
    "mrn": CaseloadSort((Patient.mrn,), False, False, str),
    "age": CaseloadSort((Patient.birth_date,), True, True, date),
    "risk": CaseloadSort((Patient.risk_rank,), False, False, int),
    "last_contact": CaseloadSort((Patient.last_contact_at,), True, False, datetime),
    "next_due": CaseloadSort((Patient.next_contact_due,), True, False, date),
    "referrals": CaseloadSort((Patient.open_referral_count,), False, False, int),
}

# What a caseload row reads: the patient row and the nurse's username, no other joins.
_ROW_COLUMNS = (
    Patient.id,
    Patient.mrn,
    Patient.family_name,
    Patient.given_name,
    Patient.family_key,
    Patient.given_key,
    Patient.birth_date,
    Patient.risk_tier,
    Patient.risk_rank,
    Patient.last_contact_at,
    Patient.next_contact_due,
    Patient.open_referral_count,
    Patient.episode_status,
    Nurse.username,
)


@dataclass(frozen=True)
class PatientRead:
    """A patient's chart header: every stored field plus what the header shows."""

    id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None
    age: int | None
    sex: str
    phone: str | None
    address: str | None
    preferred_language: str | None
    nurse_id: int | None
    nurse_username: str | None
    nurse_display_name: str | None
    risk_tier: str
    risk_basis: str | None
    next_contact_due: date | None
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime
    updated_by_username: str | None
    version: int
    current_episode_id: int | None
    episode_status: str | None
    open_referral_count: int
    open_task_count: int
    #: What the tier rests on (domain.codes.RiskSource code); None: not assessed.
    risk_source: str | None = None
    #: Display name of the nurse who set the tier's basis.
    risk_set_by_name: str | None = None
    #: When the basis dates from: the score's time, or when the nurse set it.
    risk_set_at: datetime | None = None
    #: CCM programme code (domain.codes.CcmProgramme); None: not enrolled.
    ccm_programme: str | None = None
    ccm_start: date | None = None

    @property
    def display_name(self) -> str:
        """ "Family, Given" as lists and headers show it."""
        return display_name(self.family_name, self.given_name)


@dataclass(frozen=True)
class PatientRow:
    """One light caseload row; ``sort_key`` is the keyset cursor for the next page."""

    id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None
    age: int | None
    risk_tier: str
    last_contact_at: datetime | None
    next_contact_due: date | None
    nurse_username: str | None
    open_referral_count: int
    #: The patient's flags (domain.flags); the page itself leaves them empty and
    #: whoever shows the page asks ``WorklistService.flags_for`` for its rows.
    flags: tuple
    sort_key: SortKey
    episode_status: str | None
    risk_rank: int


def display_name(family_name: str, given_name: str) -> str:
    """ "Family, Given"."""
    return f"{family_name}, {given_name}"


def age_on(birth_date: date | None, today: date) -> int | None:
    """Whole years from ``birth_date`` to ``today``."""
    if birth_date is None:
        return None
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def load_patient(session: Session, patient_id: int) -> Patient:
    """The patient row, or NotFoundError."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFoundError("patient", patient_id)
    return patient


def cadence_due_date(context: ServiceContext, risk_tier: str, from_day: date) -> date:
    """The routine next-contact date after ``from_day`` for this risk tier (config cadence)."""
    return cadence_due(risk_tier, from_day, context.settings.cadence_days)


def touch(patient: Patient, context: ServiceContext) -> None:
    """Stamp who changed the patient and when (the stale-edit message names them)."""
    patient.updated_at = context.clock.now()
    patient.updated_by = context.nurse_id


def _birth_date(value: object, today: date) -> date | None:
    birth = optional_date(value, "birth_date")
    if birth is not None:
        not_in_future(birth, "birth_date", today)
        if today.year - birth.year > 130:
            raise ValidationError("birth_date", "is more than 130 years ago")
    return birth


def _name(value: object, field: str) -> tuple[str, str]:
    """A name and its search key; the key must not be empty (it is the sort key)."""
    name = require_text(value, field, max_length=NAME_LENGTH)
    key = search_key(name)
    if not key:
        raise ValidationError(field, "must contain at least one letter or digit")
    return name, key


def _phone(value: object) -> tuple[str | None, str | None]:
    digits = normalize_phone(value)
    if digits is None:
        return None, None
    return require_text(value, "phone", max_length=40), digits


def _prefix(column, name: str):
    """An index-friendly prefix match: a range on the column, from the parameters ``name``
    (the prefix) to ``name_end`` (the prefix and ``_PREFIX_END``), see ``_prefix_values``."""
    return and_(column >= bindparam(name), column < bindparam(f"{name}_end"))


def _prefix_values(name: str, prefix: str) -> dict[str, str]:
    """The parameters of ``_prefix(column, name)`` for ``prefix``."""
    return {name: prefix, f"{name}_end": prefix + _PREFIX_END}


class PatientService:
    """Creating, reading, editing and listing patients."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------------ writes

    def create(
        self,
        mrn: str,
        family_name: str,
        given_name: str,
        birth_date: date | str | None = None,
        sex: str = "unknown",
        phone: str | None = None,
        address: str | None = None,
        preferred_language: str | None = None,
        risk_tier: str = "not-assessed",
        nurse_username: str | None = None,
        next_contact_due: date | str | None = None,
        start_episode: bool = True,
        risk_reason: str | None = None,
    ) -> PatientRead:
        """Add a patient (and, by default, an active case-management episode).

        The nurse defaults to the signed-in nurse; the next contact defaults to
        today plus the risk tier's cadence. A tier typed at enrolment rests on
        nothing unless the nurse gives ``risk_reason``: with one it is the
        nurse's override (who and when recorded), without one "not assessed".
        No tier chosen is the tier "not assessed" itself, as for an imported
        patient: nobody has scored the patient or said why another tier fits.
        """
        today = self.context.clock.today()
        now = self.context.clock.now()
        mrn_code = normalize_mrn(mrn)
        family, family_key = _name(family_name, "family_name")
        given, given_key = _name(given_name, "given_name")
        birth = _birth_date(birth_date, today)
        sex_code = parse_code(Sex, sex, "sex")
        phone_text, phone_digits = _phone(phone)
        address_text = optional_text(address, "address", max_length=400)
        language = optional_text(preferred_language, "preferred_language", max_length=40)
        tier = parse_code(RiskTier, risk_tier, "risk_tier")
        reason = optional_text(risk_reason, "risk_reason", max_length=RISK_BASIS_LENGTH)
        if reason and not is_assessed(tier):
            raise ValidationError("risk_reason", "needs a tier: choose low, moderate or high")
        due = optional_date(next_contact_due, "next_contact_due")
        if due is None:
            due = cadence_due_date(self.context, tier, today)
        with self.context.write() as session:
            if nurse_username is not None:
                nurse_id = nurse_id_for_username(session, nurse_username)
            else:
                nurse_id = self.context.nurse_id
            self._check_mrn_free(session, mrn_code, None)
            patient = Patient(
                mrn=mrn_code,
                mrn_key=mrn_key(mrn_code),
                family_name=family,
                given_name=given,
                family_key=family_key,
                given_key=given_key,
                birth_date=birth,
                sex=str(sex_code),
                phone=phone_text,
                phone_digits=phone_digits,
                address=address_text,
                preferred_language=language,
                nurse_id=nurse_id,
                risk_tier=str(tier),
                risk_rank=RISK_RANKS[str(tier)],
                risk_basis=reason,
                risk_source=str(RiskSource.override) if reason else None,
                risk_set_by=self.context.nurse_id if reason else None,
                risk_set_at=now if reason else None,
                next_contact_due=due,
                # The caseload's denormalised copy of the current episode's status.
                episode_status=str(EpisodeStatus.active) if start_episode else None,
                created_at=now,
                updated_at=now,
                updated_by=self.context.nurse_id,
            )
            session.add(patient)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "patient",
                patient.id,
                [
                    name
                    for name, value in (
                        ("mrn", mrn_code),
                        ("family_name", family),
                        ("given_name", given),
                        ("birth_date", birth),
                        ("sex", sex_code),
                        ("phone", phone_text),
                        ("address", address_text),
                        ("preferred_language", language),
                        ("nurse_id", nurse_id),
                        ("risk_tier", tier),
                        ("risk_basis", reason),
                        ("risk_source", patient.risk_source),
                        ("risk_set_by", patient.risk_set_by),
                        ("risk_set_at", patient.risk_set_at),
                        ("next_contact_due", due),
                    )
                    if value is not None
                ],
            )
            if start_episode:
                episode = Episode(
                    patient_id=patient.id,
                    status=str(EpisodeStatus.active),
                    start=today,
                    created_at=now,
                )
                session.add(episode)
                session.flush()
                session.add(
                    EpisodeStatusHistory(
                        episode_id=episode.id,
                        from_status=None,
                        to_status=str(EpisodeStatus.active),
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
            return self._read(session, patient)

    def update(self, patient_id: int, expected_version: int, **changes: object) -> PatientRead:
        """Apply the given fields (only those) if nobody saved the patient meanwhile.

        Accepts the names in ``EDITABLE_FIELDS``; the risk tier changes through
        ``change_risk_tier`` because a new tier needs a reason.
        """
        for field in changes:
            if field == "risk_tier":
                raise ValidationError("risk_tier", "change it with a reason (change_risk_tier)")
            if field not in EDITABLE_FIELDS:
                raise ValidationError(field, "is not a patient field that can be edited")
        today = self.context.clock.today()
        values: dict[str, object] = {}
        if "mrn" in changes:
            values["mrn"] = normalize_mrn(changes["mrn"])
            values["mrn_key"] = mrn_key(values["mrn"])
        if "family_name" in changes:
            values["family_name"], values["family_key"] = _name(
                changes["family_name"], "family_name"
            )
        if "given_name" in changes:
            values["given_name"], values["given_key"] = _name(changes["given_name"], "given_name")
        if "birth_date" in changes:
            values["birth_date"] = _birth_date(changes["birth_date"], today)
        if "sex" in changes:
            values["sex"] = str(parse_code(Sex, changes["sex"], "sex"))
        if "phone" in changes:
            values["phone"], values["phone_digits"] = _phone(changes["phone"])
        if "address" in changes:
            values["address"] = optional_text(changes["address"], "address", max_length=400)
        if "preferred_language" in changes:
            values["preferred_language"] = optional_text(
                changes["preferred_language"], "preferred_language", max_length=40
            )
        if "next_contact_due" in changes:
            values["next_contact_due"] = optional_date(
                changes["next_contact_due"], "next_contact_due"
            )
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            if "nurse_username" in changes:
                username = changes["nurse_username"]
                values["nurse_id"] = (
                    None
                    if username is None or username == ""
                    else nurse_id_for_username(session, username)
                )
            if "mrn" in values:
                if values["mrn_key"] == patient.mrn_key:
                    # The same MRN written another way: the stored spelling (maybe
                    # the source's own, "ad2e3fc5-2b5d-...") stays as it is.
                    del values["mrn"], values["mrn_key"]
                else:
                    self._check_mrn_free(session, values["mrn"], patient.id)
            # The search keys and digits follow their visible fields; record those names.
            return self._save_changes(
                session,
                patient,
                values,
                hidden={"family_key", "given_key", "phone_digits", "mrn_key"},
            )

    def change_risk_tier(
        self, patient_id: int, tier: str, reason: str, expected_version: int | None = None
    ) -> PatientRead:
        """The nurse's override: set the tier with a required reason.

        The reason becomes the tier's basis (source "override"), with who set it
        and when; the header then reads "high, set by A. Moreno: lives alone".
        "Not assessed" is where a patient starts, not a tier to set with a reason.
        """
        tier_code = parse_code(RiskTier, tier, "risk_tier")
        if not is_assessed(tier_code):
            raise ValidationError("risk_tier", "must be low, moderate or high")
        basis = require_text(reason, "reason", max_length=RISK_BASIS_LENGTH)
        now = self.context.clock.now()
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            return self._set_risk(session, patient, tier_code, RiskSource.override, basis, now)

    def set_risk_from_score(
        self, patient_id: int, assessment_id: int, expected_version: int | None = None
    ) -> PatientRead:
        """Set the tier from a LACE: its band (>= 10 high, 5-9 moderate, 0-4 low).

        The basis becomes the score's summary ("LACE 12 = L5 A3 C2 E2"), source
        "score", dated by when the LACE was taken. Only the patient's latest
        LACE can be the basis: an older one would put the tier back on a score
        that a newer one has replaced.
        """
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            assessment = session.get(Assessment, assessment_id)
            if assessment is None or assessment.patient_id != patient.id:
                raise ValidationError("assessment_id", "is not an assessment of this patient")
            if assessment.instrument != str(Instrument.lace):
                raise ValidationError("assessment_id", "is not a LACE: only LACE sets the tier")
            newer = session.execute(
                select(Assessment.id)
                .where(
                    Assessment.patient_id == patient.id,
                    Assessment.instrument == str(Instrument.lace),
                    Assessment.performed_at > assessment.performed_at,
                )
                .limit(1)
            ).scalar()
            if newer is not None:
                raise ValidationError("assessment_id", "a newer LACE has been recorded since")
            return self._set_risk(
                session,
                patient,
                tier_for_lace(assessment.total),
                RiskSource.score,
                assessment.summary,
                assessment.performed_at,
            )

    def _set_risk(
        self,
        session: Session,
        patient: Patient,
        tier: RiskTier,
        source: RiskSource,
        basis: str,
        set_at: datetime,
    ) -> PatientRead:
        """Store a tier with its basis, who set it and when; audit what changed."""
        values = {
            "risk_tier": str(tier),
            "risk_rank": RISK_RANKS[str(tier)],
            "risk_basis": basis,
            "risk_source": str(source),
            "risk_set_by": self.context.nurse_id,
            "risk_set_at": set_at,
        }
        # The rank follows the tier; its name says nothing more to an auditor.
        return self._save_changes(session, patient, values, hidden={"risk_rank"})

    def _save_changes(
        self,
        session: Session,
        patient: Patient,
        values: dict[str, object],
        hidden: frozenset[str] | set[str] = frozenset(),
    ) -> PatientRead:
        """Write the values that differ (nothing, and no event, when none does).

        One save for every patient update: the version check on flush refuses
        a colleague's newer save, and the audit event names the changed fields
        (less ``hidden`` ones that only follow others).
        """
        changed = [name for name, value in values.items() if getattr(patient, name) != value]
        if not changed:
            return self._read(session, patient)
        for name in changed:
            setattr(patient, name, values[name])
        touch(patient, self.context)
        with guard_concurrent_save("patient"):
            session.flush()
        fields = [name for name in changed if name not in hidden]
        audit.record(session, self.context, AuditAction.update, "patient", patient.id, fields)
        return self._read(session, patient)

    def set_ccm_enrolment(
        self,
        patient_id: int,
        programme: CcmProgramme | str | None,
        start: date | str | None = None,
        expected_version: int | None = None,
    ) -> PatientRead:
        """Enrol the patient in standard or complex CCM from ``start``, or (None) end it.

        Enrolled, the start date is required and may not lie in the future;
        the month's minutes count toward the programme's codes from that day.
        None clears both the programme and the start.
        """
        if programme is None or (isinstance(programme, str) and not programme.strip()):
            values: dict[str, object] = {"ccm_programme": None, "ccm_start": None}
        else:
            code = parse_code(CcmProgramme, programme, "ccm_programme")
            day = optional_date(start, "ccm_start")
            if day is None:
                raise ValidationError("ccm_start", "is required when the patient is enrolled")
            not_in_future(day, "ccm_start", self.context.clock.today())
            values = {"ccm_programme": str(code), "ccm_start": day}
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            return self._save_changes(session, patient, values)

    def set_next_contact_due(
        self, patient_id: int, due_date: date | str | None, expected_version: int | None = None
    ) -> PatientRead:
        """Set (or clear, with None) the date the next contact is due."""
        due = optional_date(due_date, "next_contact_due")
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            if patient.next_contact_due == due:
                return self._read(session, patient)
            patient.next_contact_due = due
            touch(patient, self.context)
            with guard_concurrent_save("patient"):
                session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.update,
                "patient",
                patient.id,
                ("next_contact_due",),
            )
            return self._read(session, patient)

    def delete(self, patient_id: int, expected_version: int | None = None) -> None:
        """Remove the patient and everything recorded about them (the audit trail stays)."""
        with self.context.write() as session:
            patient = load_patient(session, patient_id)
            check_version(session, "patient", patient, expected_version)
            # The database cascades to the patient's episodes, contacts, plans, ...
            # (foreign keys with ON DELETE CASCADE); the version in the WHERE clause
            # refuses a delete that races a concurrent save.
            with guard_concurrent_save("patient"):
                result = session.execute(
                    delete(Patient).where(
                        Patient.id == patient.id, Patient.version == patient.version
                    )
                )
                if result.rowcount != 1:
                    raise StaleDataError("patient changed while deleting")
            audit.record(session, self.context, AuditAction.delete, "patient", patient_id)

    def record_view(self, patient_id: int) -> None:
        """Record that the signed-in nurse opened this chart (an access to PHI)."""
        with self.context.write() as session:
            load_patient(session, patient_id)
            audit.record(session, self.context, AuditAction.view, "patient", patient_id)

    # ------------------------------------------------------------------- reads

    def get(self, patient_id: int) -> PatientRead:
        """The patient's chart header, or NotFoundError."""
        with self.context.read() as session:
            return self._read(session, load_patient(session, patient_id))

    def get_by_mrn(self, mrn: str) -> PatientRead | None:
        """The patient with this MRN (with or without its punctuation), or None."""
        with self.context.read() as session:
            patient = find_by_mrn(session, mrn)
            return self._read(session, patient) if patient is not None else None

    def list_page(
        self,
        nurse_id: int | None = None,
        search: str = "",
        risk_tier: str | None = None,
        after: SortKey | None = None,
        limit: int = 100,
        *,
        sort: str = "name",
        descending: bool = False,
        overdue: bool = False,
        open_referral: bool = False,
        episode_status: str | None = None,
        before: SortKey | None = None,
    ) -> list[PatientRow]:
        """One page of the caseload, in display order.

        ``nurse_id`` None lists every nurse's patients. ``search`` matches a
        family or given name prefix ("smi", "smith jo", "jo smith", "smith, j"), an MRN
        prefix, or (with 3 or more digits) a phone number prefix. ``risk_tier``,
        ``overdue`` (next contact due before today), ``open_referral`` (at least
        one open referral) and ``episode_status`` (a FHIR EpisodeOfCare code)
        narrow the list.

        ``sort`` is one of ``SORTS`` ("name", "mrn", "age", "risk",
        "last_contact", "next_due", "referrals"); ``descending`` reverses it
        ("age" ascending is youngest first). Rows without a value in the sort
        column come last in both directions, by id.

        ``after`` (the last row's ``sort_key``) gives the next page; ``before``
        (the first row's ``sort_key``) gives the page just above it, still in
        display order; neither gives the first page. ``limit`` is 1-1000.
        """
        _check_limit(limit)
        spec, column_descending = _sort_choice(sort, descending)
        if after is not None and before is not None:
            raise ValidationError("before", "give either after or before, not both")
        filters = self._filters(nurse_id, risk_tier, overdue, open_referral, episode_status)
        backward = before is not None
        if backward:
            cursor = _check_cursor(before, spec, "before")
        else:
            cursor = _check_cursor(after, spec, "after") if after is not None else None
        searching = _search(search)
        with self.context.read() as session:
            query = _page_search(session, filters, searching)
            rows = _walk(session, query, spec, column_descending, backward, cursor, limit)
        if backward:
            rows.reverse()
        return self._rows(rows, spec)

    def last_page(
        self,
        limit: int = 100,
        nurse_id: int | None = None,
        search: str = "",
        risk_tier: str | None = None,
        *,
        sort: str = "name",
        descending: bool = False,
        overdue: bool = False,
        open_referral: bool = False,
        episode_status: str | None = None,
    ) -> list[PatientRow]:
        """The last ``limit`` rows of the caseload ``list_page`` would show, in display order.

        Takes the same filters and sort as ``list_page``; ``before`` with the
        first row's ``sort_key`` then pages back up from here.
        """
        _check_limit(limit)
        spec, column_descending = _sort_choice(sort, descending)
        filters = self._filters(nurse_id, risk_tier, overdue, open_referral, episode_status)
        searching = _search(search)
        with self.context.read() as session:
            query = _page_search(session, filters, searching)
            rows = _walk(session, query, spec, column_descending, True, None, limit)
        rows.reverse()
        return self._rows(rows, spec)

    def count(
        self,
        nurse_id: int | None = None,
        search: str = "",
        risk_tier: str | None = None,
        *,
        overdue: bool = False,
        open_referral: bool = False,
        episode_status: str | None = None,
    ) -> int:
        """How many patients ``list_page`` would page through with these filters."""
        query = _Query.of(
            self._filters(nurse_id, risk_tier, overdue, open_referral, episode_status),
            _search(search),
            SearchPlan.ANY_ORDER,
        )
        statement = _statement(
            ("count", query.shape),
            lambda: select(func.count()).select_from(Patient).where(*query.conditions()),
        )
        with self.context.read() as session:
            return session.connection().execute(statement, query.values).scalar_one()

    def _rows(self, rows: list, spec: CaseloadSort) -> list[PatientRow]:
        today = self.context.clock.today()
        return [
            PatientRow(
                id=row.id,
                mrn=row.mrn,
                family_name=row.family_name,
                given_name=row.given_name,
                birth_date=row.birth_date,
                age=age_on(row.birth_date, today),
                risk_tier=row.risk_tier,
                last_contact_at=row.last_contact_at,
                next_contact_due=row.next_contact_due,
                nurse_username=row.username,
                open_referral_count=row.open_referral_count,
                flags=(),
                sort_key=_sort_key(row, spec),
                episode_status=row.episode_status,
                risk_rank=row.risk_rank,
            )
            for row in rows
        ]

    # ----------------------------------------------------------------- helpers

    def _filters(
        self,
        nurse_id: int | None,
        risk_tier: str | None,
        overdue: bool = False,
        open_referral: bool = False,
        episode_status: str | None = None,
    ) -> _Filters:
        """The caseload filters given: which ones (``_FILTERS``) and their values."""
        names: list[str] = []
        values: dict[str, object] = {}
        if nurse_id is not None:
            names.append("nurse_id")
            values["nurse_id"] = nurse_id
        if risk_tier:
            tier = parse_code(RiskTier, risk_tier, "risk_tier")
            names.append("risk_tier")
            values["risk_tier"] = str(tier)
        if not isinstance(overdue, bool):
            raise ValidationError("overdue", "must be yes or no")
        if overdue:
            names.append("overdue")
            values["today"] = self.context.clock.today()
        if not isinstance(open_referral, bool):
            raise ValidationError("open_referral", "must be yes or no")
        if open_referral:
            names.append("open_referral")
        if episode_status:
            status = parse_code(EpisodeStatus, episode_status, "episode_status")
            names.append("episode_status")
            values["episode_status"] = str(status)
        return _Filters(tuple(names), values)

    @staticmethod
    def _check_mrn_free(session: Session, mrn: str, patient_id: int | None) -> None:
        """Refuse an MRN another patient has, however either is written ("M-1", "m1")."""
        query = select(Patient.mrn).where(Patient.mrn_key == mrn_key(mrn))
        if patient_id is not None:
            query = query.where(Patient.id != patient_id)
        if session.execute(query.limit(1)).scalar() is not None:
            raise ValidationError("mrn", f"MRN {mrn} is already used by another patient")

    def _read(self, session: Session, patient: Patient) -> PatientRead:
        nurse = session.get(Nurse, patient.nurse_id) if patient.nurse_id is not None else None
        updated_by = (
            session.get(Nurse, patient.updated_by) if patient.updated_by is not None else None
        )
        risk_set_by = (
            session.get(Nurse, patient.risk_set_by) if patient.risk_set_by is not None else None
        )
        episode = session.execute(
            select(Episode.id, Episode.status)
            .where(Episode.patient_id == patient.id)
            .order_by(Episode.start.desc(), Episode.id.desc())
            .limit(1)
        ).first()
        open_referrals = session.execute(
            select(func.count())
            .select_from(Referral)
            .where(Referral.patient_id == patient.id, Referral.status.in_(_OPEN_REFERRAL_CODES))
        ).scalar_one()
        open_tasks = session.execute(
            select(func.count())
            .select_from(Task)
            .where(Task.patient_id == patient.id, Task.status.in_(_OPEN_TASK_CODES))
        ).scalar_one()
        return PatientRead(
            id=patient.id,
            mrn=patient.mrn,
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
            age=age_on(patient.birth_date, self.context.clock.today()),
            sex=patient.sex,
            phone=patient.phone,
            address=patient.address,
            preferred_language=patient.preferred_language,
            nurse_id=patient.nurse_id,
            nurse_username=nurse.username if nurse else None,
            nurse_display_name=nurse.display_name if nurse else None,
            risk_tier=patient.risk_tier,
            risk_basis=patient.risk_basis,
            next_contact_due=patient.next_contact_due,
            last_contact_at=patient.last_contact_at,
            created_at=patient.created_at,
            updated_at=patient.updated_at,
            updated_by_username=updated_by.username if updated_by else None,
            version=patient.version,
            current_episode_id=episode.id if episode else None,
            episode_status=episode.status if episode else None,
            open_referral_count=open_referrals,
            open_task_count=open_tasks,
            risk_source=patient.risk_source,
            risk_set_by_name=risk_set_by.display_name if risk_set_by else None,
            risk_set_at=patient.risk_set_at,
            ccm_programme=patient.ccm_programme,
            ccm_start=patient.ccm_start,
        )


def find_by_mrn(session: Session, mrn: object) -> Patient | None:
    """The patient whose MRN this is, written with or without its punctuation, or None.

    The MRN is matched by key (``validation.mrn_key``). Two patients can share
    a key only in a database from before keys were kept; then the one written
    exactly so is meant, and without one the MRN is refused rather than guessed.
    """
    key = mrn_key(normalize_mrn(mrn))
    found = list(
        session.execute(select(Patient).where(Patient.mrn_key == key).order_by(Patient.id))
        .scalars()
        .all()
    )
    if len(found) <= 1:
        return found[0] if found else None
    exact = [patient for patient in found if isinstance(mrn, str) and patient.mrn == mrn.strip()]
    if len(exact) == 1:
        return exact[0]
    raise ValidationError(
        "mrn", f"is the MRN of {len(found)} patients written in different ways: write it exactly"
    )


#: MRN keys looked up per query by ``find_ids_by_mrn`` (well under every bind limit).
MRN_LOOKUP_CHUNK = 500


def find_ids_by_mrn(session: Session, mrns: Iterable[str]) -> dict[str, int | ValidationError]:
    """Many MRNs at once, each found as ``find_by_mrn`` finds one: by key, with or without
    its punctuation, in a few queries.

    Each MRN as given maps to its patient's id, or to the ValidationError
    ``find_by_mrn`` would raise for it (a key two patients share and neither
    is written exactly so); an MRN that names no patient is left out.
    """
    wanted = {mrn: mrn_key(mrn) for mrn in mrns}
    keys = sorted({key for key in wanted.values() if key})
    candidates: dict[str, list[tuple[int, str]]] = {}
    for start in range(0, len(keys), MRN_LOOKUP_CHUNK):
        rows = session.execute(
            select(Patient.mrn_key, Patient.id, Patient.mrn)
            .where(Patient.mrn_key.in_(keys[start : start + MRN_LOOKUP_CHUNK]))
            .order_by(Patient.id)
        )
        for key, patient_id, stored_mrn in rows:
            candidates.setdefault(key, []).append((patient_id, stored_mrn))
    found: dict[str, int | ValidationError] = {}
    for mrn, key in wanted.items():
        theirs = candidates.get(key, [])
        if len(theirs) == 1:
            found[mrn] = theirs[0][0]
        elif theirs:
            exact = [patient_id for patient_id, stored in theirs if stored == mrn.strip()]
            found[mrn] = (
                exact[0]
                if len(exact) == 1
                else ValidationError(
                    "mrn",
                    f"is the MRN of {len(theirs)} patients written in different ways:"
                    " write it exactly",
                )
            )
    return found


class SearchPlan(enum.Enum):
    """How a search condition is written for the query that uses it."""

    #: Rows in any order (a count): ``branch OR branch``, which SQLite answers
    #: with one index range per branch (its MULTI-INDEX OR) and PostgreSQL with
    #: a bitmap OR.
    ANY_ORDER = "any order"
    #: A few matches to sort: ``id IN (branch UNION branch)``. The matches are
    #: collected from the search indexes first and then sorted; written with OR,
    #: SQLite may instead walk the sort's index and filter every row.
    NARROW = "narrow"
    #: Many matches: the same test on ``column || ''``, which no index serves, so
    #: the database walks the sort's index and stops at a page of matches rather
    #: than collecting and sorting thousands.
    BROAD = "broad"


#: The caseload filters by name, each a condition on its parameter (``_filters``), in
#: the order they are written into a query.
_FILTERS: dict[str, Callable[[], Any]] = {
    "nurse_id": lambda: Patient.nurse_id == bindparam("nurse_id"),
    "risk_tier": lambda: Patient.risk_tier == bindparam("risk_tier"),
    "overdue": lambda: Patient.next_contact_due < bindparam("today"),
    "open_referral": lambda: Patient.open_referral_count > 0,
    "episode_status": lambda: Patient.episode_status == bindparam("episode_status"),
}


@dataclass(frozen=True)
class _Filters:
    """Which caseload filters are given (names of ``_FILTERS``) and their parameters."""

    names: tuple[str, ...]
    values: dict[str, object]


@dataclass(frozen=True)
class _Search:
    """Search text taken apart: which ways it can match (``ways``) and their parameters.

    The ways, in the order the branches are written: "phone" (3 or more
    digits and nothing but phone punctuation), "mrn" (letters, digits and
    MRN punctuation, matched as an MRN key prefix), then "word" (one word: a
    family or given name prefix) or "words" (several: "smith jo", "smith, j")
    with "either order" when no comma fixes which word is the family name. No
    way at all: nothing searchable, which matches nobody.
    """

    ways: tuple[str, ...]
    values: dict[str, str]


def _search(search: str | None) -> _Search | None:
    """The search text taken apart, or None for no search."""
    text = (search or "").strip()
    if not text:
        return None
    ways: list[str] = []
    values: dict[str, str] = {}
    digits = "".join(character for character in text if character.isdigit())
    if _SEARCH_DIGITS.fullmatch(text) and len(digits) >= _MINIMUM_PHONE_SEARCH_DIGITS:
        ways.append("phone")
        values |= _prefix_values("phone", digits)
    mrn_prefix = mrn_key(text)
    if mrn_prefix and _SEARCH_MRN.fullmatch(text):
        ways.append("mrn")
        values |= _prefix_values("mrn", mrn_prefix)
    words = [search_key(word) for word in re.split(r"[\s,]+", text)]
    words = [word for word in words if word]
    if len(words) == 1:
        ways.append("word")
        values |= _prefix_values("word", words[0])
    elif len(words) >= 2:
        # "smith jo" or "jo smith": one word the family name, the other the given name.
        # A family name of several words ("van der berg") is one key: "vanderberg".
        ways.append("words")
        values |= _prefix_values("joined", "".join(words))
        values |= _prefix_values("first", words[0])
        values |= _prefix_values("second", "".join(words[1:]))
        if "," not in text:
            # Without the comma of "Family, Given" the words may come in either order.
            ways.append("either order")
    return _Search(tuple(ways), values)


def search_branches(ways: tuple[str, ...], *, indexed: bool = True) -> list:
    """One prefix range per way the search text can match (``_Search.ways``).

    A name prefix ("smi", "smith jo", "jo smith", "smith, j"), an MRN key prefix,
    or (with 3 or more digits) a phone number prefix; the prefixes are
    parameters (``_Search.values``). No way (only punctuation) gives a
    condition that matches nobody rather than everybody. ``indexed`` False
    writes each range on ``column || ''`` (see ``SearchPlan.BROAD``).
    """

    def prefix(column, name: str):
        return _prefix(column if indexed else column.concat(""), name)

    branches = []
    if "phone" in ways:
        branches.append(prefix(Patient.phone_digits, "phone"))
    if "mrn" in ways:
        branches.append(prefix(Patient.mrn_key, "mrn"))
    if "word" in ways:
        branches.append(prefix(Patient.family_key, "word"))
        branches.append(prefix(Patient.given_key, "word"))
    elif "words" in ways:
        branches.append(prefix(Patient.family_key, "joined"))
        branches.append(
            and_(prefix(Patient.family_key, "first"), prefix(Patient.given_key, "second"))
        )
        if "either order" in ways:
            branches.append(
                and_(prefix(Patient.family_key, "second"), prefix(Patient.given_key, "first"))
            )
    if not branches:
        return [Patient.id.is_(None)]
    return branches


def search_condition(ways: tuple[str, ...], plan: SearchPlan = SearchPlan.NARROW):
    """The WHERE condition for a search (``_Search.ways``) written for ``plan``."""
    branches = search_branches(ways, indexed=plan is not SearchPlan.BROAD)
    if plan is not SearchPlan.NARROW or len(branches) == 1:
        return or_(*branches)
    selects = [select(Patient.id).where(branch) for branch in branches]
    return Patient.id.in_(union(*selects))


@dataclass(frozen=True)
class _Query:
    """The filters and search of a caseload read: its shape (which filters, which ways
    of matching, which plan), the key of its statements, and their parameters."""

    filters: tuple[str, ...]
    ways: tuple[str, ...] | None
    plan: SearchPlan
    values: dict[str, object]

    @classmethod
    def of(cls, filters: _Filters, searching: _Search | None, plan: SearchPlan) -> _Query:
        """The query of these filters and this search, written for ``plan``."""
        if searching is None:
            return cls(filters.names, None, plan, filters.values)
        return cls(filters.names, searching.ways, plan, filters.values | searching.values)

    @property
    def shape(self) -> tuple:
        """What its statements depend on besides the parameters."""
        return (self.filters, self.ways, self.plan)

    def conditions(self) -> list:
        """The WHERE conditions: the filters, then the search."""
        conditions = [_FILTERS[name]() for name in self.filters]
        if self.ways is not None:
            conditions.append(search_condition(self.ways, self.plan))
        return conditions


#: Statements of the caseload reads, built once per shape (each search,
#: filter and sort shape used has a few): every search keystroke reads a page
#: and a count, the same statements with other prefixes.
_STATEMENTS = StatementCache(most=256)


def _statement(key: tuple, build: Callable[[], Any]) -> Any:
    """The statement ``build()`` makes, made once per ``key`` (its values bound when it runs)."""
    return _STATEMENTS.get(key, build)


def _page_search(session: Session, filters: _Filters, searching: _Search | None) -> _Query:
    """The query for reading a page, its search written for how many rows match.

    A probe counts the matches up to ``BROAD_SEARCH_MATCHES`` (it stops there,
    so it costs at most that many index entries) and picks the plan.
    """
    if searching is None:
        return _Query.of(filters, None, SearchPlan.NARROW)
    matching = _Query.of(filters, searching, SearchPlan.ANY_ORDER)

    def build_probe():
        probe = (
            select(Patient.id)
            .where(*matching.conditions())
            .limit(bindparam("probe_limit", type_=Integer))
        )
        return select(func.count()).select_from(probe.subquery())

    probe = _statement(("probe", matching.shape), build_probe)
    found = (
        session.connection()
        .execute(probe, matching.values | {"probe_limit": BROAD_SEARCH_MATCHES})
        .scalar_one()
    )
    plan = SearchPlan.BROAD if found >= BROAD_SEARCH_MATCHES else SearchPlan.NARROW
    return _Query.of(filters, searching, plan)


# ------------------------------------------------------------ caseload paging


def _check_limit(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValidationError("limit", "must be a whole number from 1 to 1000")


def _sort_choice(sort: object, descending: object) -> tuple[CaseloadSort, bool]:
    """The sort's description and whether its COLUMN runs descending."""
    if not isinstance(sort, str) or sort not in SORTS:
        raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
    if not isinstance(descending, bool):
        raise ValidationError("descending", "must be yes or no")
    spec = SORTS[sort]
    # "age" ascending (youngest first) reads birth dates newest first.
    return spec, descending != spec.inverted


def _check_cursor(cursor: object, spec: CaseloadSort, field: str) -> tuple[int, tuple, int]:
    """A ``sort_key`` checked against the sort: ``(segment, column values, id)``.

    A cursor from another sort (the screen changed sort but kept its cursor)
    is refused here rather than compared against the wrong column.
    """
    problem = f"is not a row position of this sort ({field} takes a row's sort_key)"
    if not isinstance(cursor, tuple | list) or len(cursor) != 3:
        raise ValidationError(field, problem)
    segment, value, row_id = cursor
    if isinstance(row_id, bool) or not isinstance(row_id, int):
        raise ValidationError(field, problem)
    if segment == NULL_SEGMENT and spec.nullable and value is None:
        return NULL_SEGMENT, (), row_id
    if segment != VALUE_SEGMENT or value is None:
        raise ValidationError(field, problem)
    values = tuple(value) if len(spec.columns) > 1 and isinstance(value, tuple | list) else (value,)
    if len(values) != len(spec.columns):
        raise ValidationError(field, problem)
    for item in values:
        # bool is an int and datetime a date: neither is a value of those columns.
        wrong_subtype = isinstance(item, bool) or (
            spec.value_type is date and isinstance(item, datetime)
        )
        if wrong_subtype or not isinstance(item, spec.value_type):
            raise ValidationError(field, problem)
    return VALUE_SEGMENT, values, row_id


def _sort_key(row, spec: CaseloadSort) -> SortKey:
    values = tuple(getattr(row, column.key) for column in spec.columns)
    if len(values) > 1:
        return VALUE_SEGMENT, values, row.id
    if values[0] is None:
        return NULL_SEGMENT, None, row.id
    return VALUE_SEGMENT, values[0], row.id


def _walk(
    session: Session,
    query: _Query,
    spec: CaseloadSort,
    column_descending: bool,
    backward: bool,
    cursor: tuple[int, tuple, int] | None,
    limit: int,
) -> list:
    """Up to ``limit`` rows past ``cursor``, walking the display order forward or backward.

    The rows past a cursor are read as consecutive PIECES, each one index range
    read in index order, until the page is full:

    1. the cursor's ties: same column value, id beyond the cursor's
       (``column = ? AND id > ?``);
    2. the rest of its segment: column value beyond the cursor's (``column > ?``);
    3. the other segment, whole, if the walk goes on into it.

    One row-value comparison ``(column, id) > (?, ?)`` would say the same, but
    SQLite seeks only on the column part of it (the id is the rowid) and then
    filters: a page deep inside a large tie (63,000 patients with no open
    referral) would read the whole tie. Split, every piece is a pure seek.

    The pieces' statements are built once per shape (``_statement``); the
    cursor's values and each piece's limit are parameters.
    """
    segment = None if cursor is None else cursor[0]
    columns = tuple(column.key for column in spec.columns)
    key = ("walk", query.shape, columns, column_descending, backward, segment)
    pieces = _statement(
        key, lambda: _walk_pieces(query, spec, column_descending, backward, segment)
    )
    values = dict(query.values)
    if cursor is not None:
        _, cursor_values, row_id = cursor
        values["cursor_id"] = row_id
        values |= {f"cursor_{index}": value for index, value in enumerate(cursor_values)}
    rows: list = []
    connection = session.connection()
    for statement in pieces:
        values["piece_limit"] = limit - len(rows)
        rows.extend(connection.execute(statement, values).all())
        if len(rows) >= limit:
            break
    return rows


def _walk_pieces(
    query: _Query,
    spec: CaseloadSort,
    column_descending: bool,
    backward: bool,
    segment: int | None,
) -> tuple:
    """The statements of ``_walk``'s pieces, in order, for a cursor in ``segment`` (None: none).

    A cursor's values are the parameters ``cursor_0``... (its column values)
    and ``cursor_id``; each piece reads at most ``piece_limit`` rows.
    """
    # Direction along the (column..., id) index: the display direction of the
    # column, flipped when walking backward. The NULL segment runs by id
    # ascending in display order.
    downward = column_descending != backward
    value_keys = [*spec.columns, Patient.id]
    first_column = spec.columns[0]
    has_value = [first_column.is_not(None)] if spec.nullable else []
    whole_values = (has_value, value_keys, downward)
    whole_nulls = ([first_column.is_(None)], [Patient.id], backward)
    pieces: list[tuple[list, list, bool]]
    cursor_id = bindparam("cursor_id", type_=Patient.id.type)
    if segment is None:
        pieces = [whole_values, whole_nulls] if spec.nullable else [whole_values]
        if backward:
            pieces.reverse()
    elif segment == VALUE_SEGMENT:
        bound = [
            bindparam(f"cursor_{index}", type_=column.type)
            for index, column in enumerate(spec.columns)
        ]
        same = [column == value for column, value in zip(spec.columns, bound, strict=True)]
        ties = [*same, _beyond(Patient.id, cursor_id, downward)]
        if len(spec.columns) == 1:
            rest = _beyond(first_column, bound[0], downward)
        else:
            rest = _beyond(tuple_(*spec.columns), tuple_(*bound), downward)
        pieces = [(ties, [Patient.id], downward), ([*has_value, rest], value_keys, downward)]
        if spec.nullable and not backward:
            pieces.append(whole_nulls)
    else:
        after_id = _beyond(Patient.id, cursor_id, backward)
        pieces = [([first_column.is_(None), after_id], [Patient.id], backward)]
        if backward:
            pieces.append(whole_values)
    conditions = query.conditions()
    return tuple(
        select(*_ROW_COLUMNS)
        .outerjoin(Nurse, Nurse.id == Patient.nurse_id)
        .where(*conditions, *where)
        .order_by(*[key.desc() if down else key.asc() for key in keys])
        .limit(bindparam("piece_limit", type_=Integer))
        for where, keys, down in pieces
    )


def _beyond(left, right, downward: bool):
    """``left`` strictly past ``right`` in the walking direction."""
    return left < right if downward else left > right
