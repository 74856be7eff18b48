"""SQLModel tables: one class per entity of DESIGN.md section 2.

Status columns hold the FHIR codes of ``nursecase.domain.codes`` as plain
strings, so that exports are valid FHIR without a mapping table and the same
schema runs on SQLite and PostgreSQL. Validation of those codes happens in the
services, before a row is written.

Times are naive wall-clock datetimes of the workstation (``nursecase.clock``
is the only source of "now"); dates are calendar dates.

Editable aggregates (patient, care plan, referral) carry a ``version`` column
wired to SQLAlchemy's ``version_id_col``: an UPDATE that finds another version
than the one it loaded matches no row and raises ``StaleDataError``, which the
services turn into a "changed by X at T, reload" message.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Text, UniqueConstraint, false
from sqlmodel import AutoString, Field, SQLModel

# Constraint names are fixed so that Alembic batch migrations can find them
# again on SQLite (which does not name constraints itself).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

CODE = 32  # longest FHIR code we store is "teaching-guidance-counseling" (28)
NAME = 120
TEXT = 4000


def wall_clock(**field_options):
    """A naive wall-clock datetime column, whatever SQLModel's default type is.

    Recent SQLModel versions map ``datetime`` to an aware UTC type; nursecase
    stores the workstation's local wall time (one clinic, one time zone), so the
    type is set explicitly and does not change with the SQLModel version.
    """
    return Field(sa_type=DateTime(), **field_options)


def version_column() -> Column:
    """A fresh optimistic-lock column; each table needs its own Column object."""
    return Column("version", Integer, nullable=False, server_default="1")


class Nurse(SQLModel, table=True):
    """A user of the system."""

    __tablename__ = "nurse"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=NAME)
    credentials: str = Field(default="RN", max_length=64)
    active: bool = Field(default=True)
    created_at: datetime = wall_clock()
    #: A ``nursecase.domain.codes.Role`` code; rows from before accounts are nurses.
    #: Only a server default (no Python-side column default), so bulk inserts
    #: that leave the column out (the demo loader) still get "nurse".
    role: str = Field(
        default="nurse",
        sa_column=Column("role", AutoString(length=CODE), nullable=False, server_default="nurse"),
    )
    #: The Argon2id hash (PHC string, "$argon2id$..."); None until a password is set.
    #: While no account has one, the database runs open (demo mode, no login).
    password_hash: str | None = Field(default=None, max_length=255)
    password_changed_at: datetime | None = wall_clock(default=None)


class Patient(SQLModel, table=True):
    """A person on a caseload."""

    __tablename__ = "patient"
    __table_args__ = (
        # Keyset pagination of a caseload by name, and the prefix searches.
        Index("ix_patient_nurse_name", "nurse_id", "family_key", "given_key", "id"),
        Index("ix_patient_name", "family_key", "given_key", "id"),
        Index("ix_patient_given", "given_key", "id"),
        Index("ix_patient_phone", "phone_digits"),
        # Prefix search on the MRN with or without its punctuation (not unique:
        # the patient service refuses a second patient with a key in use).
        Index("ix_patient_mrn_key", "mrn_key"),
        # Keyset pagination of the caseload sorted by each column, per nurse
        # and across nurses (the id breaks ties and makes the cursor unique).
        Index("ix_patient_nurse_mrn", "nurse_id", "mrn", "id"),
        Index("ix_patient_nurse_birth", "nurse_id", "birth_date", "id"),
        Index("ix_patient_birth", "birth_date", "id"),
        Index("ix_patient_nurse_risk", "nurse_id", "risk_rank", "id"),
        Index("ix_patient_risk", "risk_rank", "id"),
        Index("ix_patient_nurse_last", "nurse_id", "last_contact_at", "id"),
        Index("ix_patient_last", "last_contact_at", "id"),
        # These two also serve the worklist: who is due, per nurse.
        Index("ix_patient_nurse_due_id", "nurse_id", "next_contact_due", "id"),
        Index("ix_patient_due_id", "next_contact_due", "id"),
        Index("ix_patient_nurse_referrals", "nurse_id", "open_referral_count", "id"),
        Index("ix_patient_referrals", "open_referral_count", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # As written: typed MRNs upper-cased, imported ones exactly as the source wrote them.
    mrn: str = Field(max_length=64, unique=True)
    # domain.validation.mrn_key: letters upper-cased and digits, for search and identity.
    mrn_key: str = Field(max_length=64)
    family_name: str = Field(max_length=NAME)
    given_name: str = Field(max_length=NAME)
    # Normalised copies (domain.validation.search_key) for indexed prefix search.
    family_key: str = Field(max_length=NAME)
    given_key: str = Field(max_length=NAME)
    birth_date: date | None = None
    sex: str = Field(default="unknown", max_length=CODE)
    phone: str | None = Field(default=None, max_length=40)
    phone_digits: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=400)
    preferred_language: str | None = Field(default=None, max_length=40)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    # domain.codes.RiskTier; a patient nobody has scored or given a tier is "not-assessed".
    risk_tier: str = Field(default="not-assessed", max_length=CODE)
    # domain.codes.RISK_RANKS, 4 high, 3 not assessed, 2 moderate, 1 low: sorts
    # by risk with an index (kept in step with risk_tier by the patient service).
    risk_rank: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    # What the tier rests on (domain.codes.RiskSource): "score" (risk_basis
    # holds the score's summary, "LACE 12 = L5 A3 C2 E2") or "override"
    # (risk_basis holds the nurse's reason); None is "not assessed".
    risk_basis: str | None = Field(default=None, max_length=200)
    risk_source: str | None = Field(default=None, max_length=CODE)
    risk_set_by: int | None = Field(default=None, foreign_key="nurse.id")
    risk_set_at: datetime | None = wall_clock(default=None)
    # Chronic care management enrolment (domain.codes.CcmProgramme); None: not enrolled.
    ccm_programme: str | None = Field(default=None, max_length=CODE)
    ccm_start: date | None = None
    next_contact_due: date | None = None
    # Denormalised so the caseload paints, sorts and filters without joins:
    # kept in step by the contact, referral and episode services.
    last_contact_at: datetime | None = wall_clock(default=None)
    open_referral_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    episode_status: str | None = Field(default=None, max_length=CODE)
    created_at: datetime = wall_clock()
    updated_at: datetime = wall_clock()
    updated_by: int | None = Field(default=None, foreign_key="nurse.id")
    version: int = Field(default=1, sa_column=(_version := version_column()))

    __mapper_args__ = {"version_id_col": _version}
    # Not a field: left in the class, pydantic would deep-copy the Column into
    # every instance as a "private attribute" (18 ms per row).
    del _version


class Episode(SQLModel, table=True):
    """One enrolment in case management (FHIR EpisodeOfCare)."""

    __tablename__ = "episode"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    status: str = Field(default="active", max_length=CODE)
    start: date
    end: date | None = None
    closure_reason: str | None = Field(default=None, max_length=400)
    created_at: datetime = wall_clock()


class EpisodeStatusHistory(SQLModel, table=True):
    """Every status change of an episode, appended, never edited."""

    __tablename__ = "episode_status_history"

    id: int | None = Field(default=None, primary_key=True)
    episode_id: int = Field(foreign_key="episode.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=CODE)
    to_status: str = Field(max_length=CODE)
    changed_at: datetime = wall_clock()
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    reason: str | None = Field(default=None, max_length=400)


class Contact(SQLModel, table=True):
    """One entry of the contact log."""

    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_patient_when", "patient_id", "occurred_at"),
        Index("ix_contact_when", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    occurred_at: datetime = wall_clock()
    mode: str = Field(max_length=CODE)
    with_whom: str = Field(default="patient", max_length=CODE)
    outcome: str = Field(max_length=CODE)
    minutes: int
    note: str | None = Field(default=None, max_length=TEXT)
    author_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()
    #: The referral this contact chased (a follow-up call to the receiving service).
    referral_id: int | None = Field(
        default=None, foreign_key="referral.id", index=True, ondelete="SET NULL"
    )
    #: The minutes were remote-monitoring work (reviewing readings, acting on
    #: them): they count toward RPM (99457/99458), never also toward CCM.
    for_monitoring: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Condition(SQLModel, table=True):
    """A problem-list entry."""

    __tablename__ = "condition"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    description: str = Field(max_length=400)
    code: str | None = Field(default=None, max_length=40)
    code_system: str | None = Field(default=None, max_length=40)  # "icd-10" or "snomed"
    clinical_status: str = Field(default="active", max_length=CODE)
    onset_date: date | None = None
    recorded_at: datetime = wall_clock()


class Medication(SQLModel, table=True):
    """A medication-list entry."""

    __tablename__ = "medication"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    dose: str | None = Field(default=None, max_length=80)
    route: str | None = Field(default=None, max_length=40)
    frequency: str | None = Field(default=None, max_length=80)
    status: str = Field(default="active", max_length=CODE)
    last_reconciled: date | None = None
    created_at: datetime = wall_clock()


class CareTeamMember(SQLModel, table=True):
    """Someone involved in the patient's care."""

    __tablename__ = "care_team_member"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=NAME)
    role: str = Field(max_length=CODE)
    organisation: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class Assessment(SQLModel, table=True):
    """One scored instrument."""

    __tablename__ = "assessment"
    __table_args__ = (
        Index("ix_assessment_patient_instrument", "patient_id", "instrument", "performed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    instrument: str = Field(max_length=CODE)
    variant: str = Field(default="standard", max_length=CODE)
    total: int
    band: str = Field(max_length=CODE)
    summary: str = Field(max_length=200)
    performed_at: datetime = wall_clock()
    author_id: int | None = Field(default=None, foreign_key="nurse.id")


class AssessmentAnswer(SQLModel, table=True):
    """One item answer of an assessment."""

    __tablename__ = "assessment_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "item_code"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True, ondelete="CASCADE")
    item_code: str = Field(max_length=CODE)
    value: int


class CarePlan(SQLModel, table=True):
    """The patient's care plan (FHIR CarePlan, intent plan)."""

    __tablename__ = "care_plan"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    title: str = Field(default="Care plan", max_length=200)
    status: str = Field(default="draft", max_length=CODE)
    intent: str = Field(default="plan", max_length=CODE)
    period_start: date | None = None
    period_end: date | None = None
    created_at: datetime = wall_clock()
    updated_at: datetime = wall_clock()
    updated_by: int | None = Field(default=None, foreign_key="nurse.id")
    version: int = Field(default=1, sa_column=(_version := version_column()))

    __mapper_args__ = {"version_id_col": _version}
    # Not a field: left in the class, pydantic would deep-copy the Column into
    # every instance as a "private attribute" (18 ms per row).
    del _version


class Problem(SQLModel, table=True):
    """A care-plan problem: an Omaha System problem or free text."""

    __tablename__ = "problem"

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="care_plan.id", index=True, ondelete="CASCADE")
    omaha_code: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=400)
    nursing_diagnosis_code: str | None = Field(default=None, max_length=40)
    priority: str = Field(default="medium-priority", max_length=CODE)
    status: str = Field(default="active", max_length=CODE)
    position: int = Field(default=0)
    created_at: datetime = wall_clock()


class ProblemRating(SQLModel, table=True):
    """An Omaha Problem Rating Scale (KBS) rating of a problem on a date."""

    __tablename__ = "problem_rating"

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True, ondelete="CASCADE")
    rated_on: date
    knowledge: int
    behavior: int
    status: int
    author_id: int | None = Field(default=None, foreign_key="nurse.id")


class Goal(SQLModel, table=True):
    """A measurable outcome for a problem."""

    __tablename__ = "goal"
    __table_args__ = (Index("ix_goal_due", "lifecycle_status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True, ondelete="CASCADE")
    description: str = Field(max_length=TEXT)
    lifecycle_status: str = Field(default="proposed", max_length=CODE)
    achievement_status: str | None = Field(default=None, max_length=CODE)
    target_measure: str | None = Field(default=None, max_length=200)
    target_value: str | None = Field(default=None, max_length=80)
    due_date: date | None = None
    priority: str = Field(default="medium-priority", max_length=CODE)
    position: int = Field(default=0)
    created_at: datetime = wall_clock()


class Intervention(SQLModel, table=True):
    """An action for a problem or goal (FHIR CarePlan.activity)."""

    __tablename__ = "intervention"
    __table_args__ = (Index("ix_intervention_due", "status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True, ondelete="CASCADE")
    goal_id: int | None = Field(default=None, foreign_key="goal.id", ondelete="SET NULL")
    category: str = Field(max_length=CODE)
    description: str = Field(max_length=TEXT)
    owner: str = Field(default="nurse", max_length=NAME)
    frequency: str | None = Field(default=None, max_length=80)
    due_date: date | None = None
    status: str = Field(default="not-started", max_length=CODE)
    position: int = Field(default=0)
    created_at: datetime = wall_clock()


class CarePlanRevision(SQLModel, table=True):
    """One change to a care plan: who changed which item, when, from what to what.

    The plan's own history, shown by the editor's history view and in the
    message that refuses a stale save ("changed by X at T: goal due date ...").
    ``version`` is the plan's version after the change, so "what changed since
    the copy I read" is ``version > my_version``. ``changes`` is JSON
    ``{field: [old, new]}``. Unlike the audit trail (field names only), this is
    clinical content and lives with the plan it describes.
    """

    __tablename__ = "care_plan_revision"
    __table_args__ = (Index("ix_care_plan_revision_plan", "care_plan_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    care_plan_id: int = Field(foreign_key="care_plan.id", ondelete="CASCADE")
    version: int
    changed_at: datetime = wall_clock()
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    action: str = Field(max_length=CODE)
    item_kind: str = Field(max_length=CODE)
    item_id: int | None = None
    item_label: str = Field(default="", max_length=200)
    changes: str | None = Field(default=None, max_length=TEXT)


class Referral(SQLModel, table=True):
    """A request for a service (FHIR ServiceRequest) tracked by a Task status."""

    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_nurse_status", "nurse_id", "status", "status_changed_at"),
        Index("ix_referral_status_reply", "status", "expected_reply_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True, ondelete="CASCADE")
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    service_type: str = Field(max_length=CODE)
    receiving_organisation: str = Field(max_length=200)
    receiving_contact: str | None = Field(default=None, max_length=200)
    reason: str = Field(max_length=TEXT)
    priority: str = Field(default="routine", max_length=CODE)
    status: str = Field(default="draft", max_length=CODE)
    status_changed_at: datetime = wall_clock()
    expected_reply_date: date | None = None
    appointment_date: date | None = None
    outcome: str | None = Field(default=None, max_length=TEXT)
    created_at: datetime = wall_clock()
    updated_at: datetime = wall_clock()
    updated_by: int | None = Field(default=None, foreign_key="nurse.id")
    version: int = Field(default=1, sa_column=(_version := version_column()))

    __mapper_args__ = {"version_id_col": _version}
    # Not a field: left in the class, pydantic would deep-copy the Column into
    # every instance as a "private attribute" (18 ms per row).
    del _version


class ReferralStatusHistory(SQLModel, table=True):
    """Every referral transition: turnaround and queue age come from here."""

    __tablename__ = "referral_status_history"
    # The queue's "days in status" reads each referral's newest row.
    __table_args__ = (Index("ix_referral_status_history_entered", "referral_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referral.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=CODE)
    to_status: str = Field(max_length=CODE)
    changed_at: datetime = wall_clock()
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    reason: str | None = Field(default=None, max_length=TEXT)


class Task(SQLModel, table=True):
    """A follow-up item on the worklist."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_nurse_open", "nurse_id", "status", "due_date"),
        Index("ix_task_patient_status", "patient_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    description: str = Field(max_length=TEXT)
    due_date: date
    status: str = Field(default="requested", max_length=CODE)
    priority: str = Field(default="routine", max_length=CODE)
    source: str = Field(default="manual", max_length=CODE)
    source_id: int | None = None
    snooze_reason: str | None = Field(default=None, max_length=400)
    done_at: datetime | None = wall_clock(default=None)
    created_at: datetime = wall_clock()


class Transition(SQLModel, table=True):
    """A discharge or transition of care: it starts the TCM clocks."""

    __tablename__ = "transition"
    __table_args__ = (Index("ix_transition_patient_when", "patient_id", "discharged_on"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    discharged_on: date
    facility: str | None = Field(default=None, max_length=200)
    high_complexity: bool = Field(default=False)
    length_of_stay_days: int | None = None
    interactive_contact_on: date | None = None
    face_to_face_on: date | None = None
    # Unsuccessful attempts (no answer, message left) to reach the patient or
    # caregiver inside the interactive window; CMS accepts two in place of the
    # contact, and attempts_met_on is the day of the second.
    interactive_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    attempts_met_on: date | None = None
    # A later discharge inside this one's TCM period (a readmission) ends it.
    superseded_on: date | None = None
    created_at: datetime = wall_clock()


class SafetyCheck(SQLModel, table=True):
    """A C-SSRS screener (screen version) with its disposition: the only thing that clears SAFETY.

    Answers are yes (True) / no (False); questions 3-5 are None when question 2
    was no (the form skips them), and ``behaviour_past_3_months`` is None when
    question 6 was no.
    """

    __tablename__ = "safety_check"
    __table_args__ = (Index("ix_safety_check_patient_when", "patient_id", "performed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    performed_at: datetime = wall_clock()
    wish_dead: bool
    suicidal_thoughts: bool
    method: bool | None = None
    intent: bool | None = None
    plan: bool | None = None
    behaviour: bool
    behaviour_past_3_months: bool | None = None
    risk: str = Field(max_length=CODE)
    disposition: str = Field(max_length=CODE)
    note: str | None = Field(default=None, max_length=TEXT)
    author_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()


class WorklistSnooze(SQLModel, table=True):
    """A worklist item moved to a later date, with the nurse's reason.

    Tasks keep their own snooze reason; this records the others (contact due,
    referral reply, goal and intervention due dates) and lets an undo restore
    the previous date.
    """

    __tablename__ = "worklist_snooze"
    __table_args__ = (Index("ix_worklist_snooze_patient", "patient_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    item_kind: str = Field(max_length=CODE)
    item_id: int | None = None
    previous_due: date | None = None
    until: date
    reason: str = Field(max_length=400)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()
    undone_at: datetime | None = wall_clock(default=None)


class Reading(SQLModel, table=True):
    """A vital sign, home reading or lab result (issue 20), kept as it was received.

    ``value`` and ``unit`` are what the source sent (a weight in pounds stays in
    pounds); ``measure_value`` is the same reading in the measure's own unit
    (``domain.measures``), which thresholds, trends and summaries read. One
    reading per patient, LOINC code and moment: a second import of the same
    file or bundle finds its readings already there.
    """

    __tablename__ = "reading"
    __table_args__ = (
        Index("ix_reading_patient_measure_when", "patient_id", "measure", "taken_at"),
        UniqueConstraint("patient_id", "loinc", "taken_at", name="uq_reading_patient_loinc_when"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    measure: str = Field(max_length=CODE)
    loinc: str = Field(max_length=16)
    value: float
    unit: str = Field(max_length=32)
    measure_value: float
    taken_at: datetime = wall_clock()
    source: str = Field(max_length=CODE)
    #: The nurse who keyed it (source "keyed"); None for imports and device files.
    entered_by_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()


class ReadingAlert(SQLModel, table=True):
    """A threshold breach on Today: one open alert per patient and measure.

    A new breach of the same measure while the alert is open updates it (its
    words, its reading, its urgency) rather than adding a row. A contact that
    addresses it, or a nurse's note, closes it; a later breach opens a new one.
    ``reading_at`` is the latest reading the alert covers: a reading at or
    before it never reopens anything.
    """

    __tablename__ = "reading_alert"
    __table_args__ = (Index("ix_reading_alert_patient_status", "patient_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    #: The alert measure (blood pressure for either part).
    measure: str = Field(max_length=CODE)
    #: The rules breached, comma-separated codes (domain.codes.ThresholdRule).
    rules: str = Field(max_length=400)
    urgent: bool
    why: str = Field(max_length=200)
    reading_at: datetime = wall_clock()
    raised_at: datetime = wall_clock()
    updated_at: datetime = wall_clock()
    status: str = Field(default="open", max_length=CODE)
    closed_at: datetime | None = wall_clock(default=None)
    closed_by_id: int | None = Field(default=None, foreign_key="nurse.id")
    #: The contact that addressed it, or None when a note closed it.
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    note: str | None = Field(default=None, max_length=TEXT)


class ReadingThreshold(SQLModel, table=True):
    """A patient's own limit for one threshold rule, with the nurse's reason."""

    __tablename__ = "reading_threshold"
    __table_args__ = (
        UniqueConstraint("patient_id", "rule", name="uq_reading_threshold_patient_rule"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    rule: str = Field(max_length=CODE)
    #: The patient's limit, in the measure's own unit ("limit" is an SQL word).
    threshold: float
    reason: str = Field(max_length=400)
    set_by_id: int | None = Field(default=None, foreign_key="nurse.id")
    set_at: datetime = wall_clock()


class MonitoringEnrolment(SQLModel, table=True):
    """Remote monitoring of one measure for one patient: how often readings are expected."""

    __tablename__ = "monitoring_enrolment"
    __table_args__ = (Index("ix_monitoring_enrolment_patient", "patient_id", "ended_on"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    measure: str = Field(max_length=CODE)
    frequency: str = Field(max_length=CODE)
    #: Days without a reading before "no weight for 3 d" goes on Today.
    gap_days: int
    started_on: date
    ended_on: date | None = None
    enrolled_by_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()


class MedicationReconciliation(SQLModel, table=True):
    """One medication reconciliation, on the day it was done (issue 21, item 4).

    ``Medication.last_reconciled`` says when each medication was last checked;
    this keeps every reconciliation, so the transitions-of-care rate
    (reconciliation within 30 days after a discharge) can be counted for any
    month, not only the latest.
    """

    __tablename__ = "medication_reconciliation"
    __table_args__ = (Index("ix_medication_reconciliation_patient", "patient_id", "reconciled_on"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    reconciled_on: date
    #: How many current medications were reconciled.
    medication_count: int
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()


class Encounter(SQLModel, table=True):
    """A hospital stay, emergency visit, observation stay or ambulatory visit (issue 21).

    Learned from the hospital's ADT feed, a FHIR import or the discharge form.
    ``source`` and ``source_key`` (the visit number with its assigning
    facility, or the FHIR Encounter id) find the record again: a later message
    about the same visit updates it, and a second import changes nothing. An
    encounter is never a contact (contacts carry CCM minutes; this does not).
    """

    __tablename__ = "encounter"
    __table_args__ = (
        Index("ix_encounter_patient_when", "patient_id", "admitted_at"),
        # The monthly outcomes: encounters of a class started (or ended) in a month.
        Index("ix_encounter_class_when", "encounter_class", "admitted_at"),
        Index("ix_encounter_class_discharged", "encounter_class", "discharged_at"),
        # Who is in hospital now (the IN HOSPITAL flag, the paused contact cadence).
        Index("ix_encounter_status_patient", "status", "patient_id", "encounter_class"),
        UniqueConstraint(
            "patient_id", "source", "source_key", name="uq_encounter_patient_source_key"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    #: domain.codes.EncounterClass (the FHIR v3 ActCode: IMP, EMER, OBSENC, AMB).
    encounter_class: str = Field(max_length=CODE)
    #: domain.codes.EncounterStatus.
    status: str = Field(max_length=CODE)
    facility: str | None = Field(default=None, max_length=200)
    admitted_at: datetime = wall_clock()
    discharged_at: datetime | None = wall_clock(default=None)
    #: domain.codes.DischargeDisposition; None when the source did not say.
    disposition: str | None = Field(default=None, max_length=CODE)
    #: domain.codes.EncounterSource.
    source: str = Field(max_length=CODE)
    source_key: str = Field(max_length=200)
    #: When nursecase first learned of the admission (the transitions-of-care
    #: notification rate reads it) and of the discharge.
    admission_known_at: datetime | None = wall_clock(default=None)
    discharge_known_at: datetime | None = wall_clock(default=None)
    #: The transition (TCM clocks) its discharge started, if it started one.
    transition_id: int | None = Field(
        default=None, foreign_key="transition.id", ondelete="SET NULL"
    )
    created_at: datetime = wall_clock()
    updated_at: datetime = wall_clock()


class EncounterDiagnosis(SQLModel, table=True):
    """One diagnosis of an encounter, in the order the source gave them."""

    __tablename__ = "encounter_diagnosis"
    __table_args__ = (Index("ix_encounter_diagnosis_encounter", "encounter_id", "rank"),)

    id: int | None = Field(default=None, primary_key=True)
    encounter_id: int = Field(foreign_key="encounter.id", ondelete="CASCADE")
    rank: int
    #: The code and its system as sent (ICD-10-CM "I50.9" in "I10" or the FHIR system URI).
    code: str | None = Field(default=None, max_length=32)
    system: str | None = Field(default=None, max_length=200)
    #: The words, shown on screen ("Heart failure, unspecified").
    display: str = Field(max_length=400)


class AdtMessage(SQLModel, table=True):
    """One HL7 v2 message from the hospital's ADT feed, kept exactly as received (issue 21).

    Stored and committed before its acknowledgement is sent, so a message the
    hospital was told we have is never lost; then applied in order (``id``).
    ``sender`` and ``control_id`` (MSH-3/MSH-4 and MSH-10) find a message sent
    twice, which is acknowledged again and not applied twice.
    """

    __tablename__ = "adt_message"
    __table_args__ = (
        UniqueConstraint("sender", "control_id", name="uq_adt_message_sender_control_id"),
        Index("ix_adt_message_status", "status", "id"),
        Index("ix_adt_message_mrn", "mrn", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = wall_clock()
    sender: str = Field(max_length=200)
    control_id: str = Field(max_length=200)
    #: The trigger event ("A01"), or None when the message could not be read.
    event: str | None = Field(default=None, max_length=8)
    message_time: datetime | None = wall_clock(default=None)
    #: The patient identifier the message names (PID-3), as sent.
    mrn: str | None = Field(default=None, max_length=64)
    raw: str = Field(sa_column=Column(Text, nullable=False))
    #: domain.codes.AdtMessageStatus.
    status: str = Field(max_length=CODE)
    #: The acknowledgement code sent back: AA, AE or AR.
    ack_code: str = Field(max_length=2)
    #: Why it was refused, could not be applied or was dismissed: never PHI.
    reason: str | None = Field(default=None, max_length=400)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", ondelete="SET NULL")
    encounter_id: int | None = Field(default=None, foreign_key="encounter.id", ondelete="SET NULL")
    applied_at: datetime | None = wall_clock(default=None)
    #: The nurse who matched it to a patient or dismissed it.
    handled_by_id: int | None = Field(default=None, foreign_key="nurse.id")


class ExternalIdentifier(SQLModel, table=True):
    """Another system's identifier for a patient (a hospital's MRN), learned by matching.

    When a nurse matches an unmatched ADT message to a patient, the hospital's
    identifier is kept here, so that the hospital's next message finds the
    patient without asking again.
    """

    __tablename__ = "external_identifier"
    __table_args__ = (
        UniqueConstraint("system", "value", name="uq_external_identifier_system_value"),
        Index("ix_external_identifier_patient", "patient_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    #: The assigning authority (PID-3.4) or sending facility; "" when the message named none.
    system: str = Field(max_length=200)
    value: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_at: datetime = wall_clock()


class AuditEvent(SQLModel, table=True):
    """One recorded access or change. Append-only (triggers) and hash-chained.

    ``changed_fields`` lists field names only, never their values: the audit
    trail must not become a second copy of the PHI.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = wall_clock(index=True)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    action: str = Field(max_length=CODE)
    entity: str = Field(max_length=64)
    entity_id: int | None = None
    changed_fields: str | None = Field(default=None, max_length=2000)
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class WriteLock(SQLModel, table=True):
    """One row (id 1) that every write transaction on a server database locks first.

    It gives the audit hash chain a total order across workstations, as SQLite's
    BEGIN IMMEDIATE does for one file (``nursecase.db.locking``). It holds no data.
    """

    __tablename__ = "write_lock"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})


#: Tables in dependency order, for copies, counts and bulk loads.
ALL_TABLES = (
    Nurse,
    Patient,
    Episode,
    EpisodeStatusHistory,
    Contact,
    Condition,
    Medication,
    CareTeamMember,
    Assessment,
    AssessmentAnswer,
    CarePlan,
    Problem,
    ProblemRating,
    Goal,
    Intervention,
    CarePlanRevision,
    Referral,
    ReferralStatusHistory,
    Task,
    Transition,
    WorklistSnooze,
    SafetyCheck,
    Reading,
    ReadingAlert,
    ReadingThreshold,
    MonitoringEnrolment,
    AuditEvent,
)
