"""Coded values used everywhere in nursecase, spelled exactly as DESIGN.md section 2.

Status codes are FHIR R4 codes (EpisodeOfCare, Communication, Condition,
MedicationStatement, CarePlan, Goal, CarePlan.activity, Task, ServiceRequest)
so exports are valid FHIR without a mapping table. Each member's Python name is
its code with hyphens turned into underscores (``ContactMode.home_visit`` is
"home-visit"); every enum has a human ``label``.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

from nursecase.domain.validation import ValidationError

CodeT = TypeVar("CodeT", bound=Enum)


def _default_label(code: str) -> str:
    """Turn a code into a readable label: hyphens to spaces, first letter capitalised."""
    words = code.replace("-", " ")
    return words[:1].upper() + words[1:]


class Code(StrEnum):
    """Base for every coded value: a ``str`` whose value is the code itself."""

    @property
    def label(self) -> str:
        """Human label for screens and reports."""
        return _default_label(self.value)


class RiskTier(Code):
    """The patient's risk tier; drives contact cadence and worklist order."""

    low = "low"
    moderate = "moderate"
    high = "high"
    #: No score and no nurse's choice yet (an imported patient): never read as moderate.
    not_assessed = "not-assessed"


#: Order of the risk tiers (higher first), stored beside the tier so the caseload
#: can sort by risk with an index. Not assessed sits between high and moderate:
#: its risk is unknown and may be high, so it needs assessing before moderate
#: and low patients (domain.risk, "not assessed").
RISK_RANKS: dict[str, int] = {"high": 4, "not-assessed": 3, "moderate": 2, "low": 1}


class Sex(Code):
    """Administrative sex (FHIR AdministrativeGender)."""

    male = "male"
    female = "female"
    other = "other"
    unknown = "unknown"


class EpisodeStatus(Code):
    """FHIR EpisodeOfCare status: note ``onhold`` has no hyphen in this value set."""

    planned = "planned"
    waitlist = "waitlist"
    active = "active"
    onhold = "onhold"
    finished = "finished"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """Human label; "onhold" reads as "On hold"."""
        if self is EpisodeStatus.onhold:
            return "On hold"
        return _default_label(self.value)


class ContactMode(Code):
    """How a contact happened."""

    phone = "phone"
    home_visit = "home-visit"
    clinic_visit = "clinic-visit"
    telehealth = "telehealth"
    message = "message"
    case_conference = "case-conference"


class ContactWith(Code):
    """Who the nurse was in contact with."""

    patient = "patient"
    caregiver = "caregiver"
    provider = "provider"


class ContactOutcome(Code):
    """What came of a contact attempt."""

    reached = "reached"
    no_answer = "no-answer"
    left_message = "left-message"
    wrong_number = "wrong-number"
    declined = "declined"
    agreed_to_visit = "agreed-to-visit"


# Outcomes where a real two-way conversation took place: the TCM clock needs an
# interactive contact, and a voicemail or a missed call is not one.
INTERACTIVE_OUTCOMES = frozenset(
    {ContactOutcome.reached, ContactOutcome.agreed_to_visit, ContactOutcome.declined}
)


def is_interactive(outcome: ContactOutcome | str) -> bool:
    """Return True when the outcome was a two-way conversation (counts for TCM)."""
    return parse_code(ContactOutcome, outcome, "outcome") in INTERACTIVE_OUTCOMES


class ConditionClinicalStatus(Code):
    """FHIR Condition clinical status."""

    active = "active"
    recurrence = "recurrence"
    relapse = "relapse"
    inactive = "inactive"
    remission = "remission"
    resolved = "resolved"


#: Clinical statuses of a live problem (the problem list shows them first).
ACTIVE_CLINICAL_STATUSES = frozenset(
    {
        ConditionClinicalStatus.active,
        ConditionClinicalStatus.recurrence,
        ConditionClinicalStatus.relapse,
    }
)


class MedicationStatus(Code):
    """Status of a medication list entry."""

    active = "active"
    on_hold = "on-hold"
    stopped = "stopped"
    completed = "completed"


class CarePlanStatus(Code):
    """FHIR CarePlan status."""

    draft = "draft"
    active = "active"
    on_hold = "on-hold"
    revoked = "revoked"
    completed = "completed"
    entered_in_error = "entered-in-error"


class GoalLifecycleStatus(Code):
    """FHIR Goal lifecycle status."""

    proposed = "proposed"
    planned = "planned"
    accepted = "accepted"
    active = "active"
    on_hold = "on-hold"
    completed = "completed"
    cancelled = "cancelled"
    entered_in_error = "entered-in-error"
    rejected = "rejected"


class GoalAchievementStatus(Code):
    """FHIR Goal achievement status."""

    in_progress = "in-progress"
    improving = "improving"
    worsening = "worsening"
    no_change = "no-change"
    achieved = "achieved"
    sustaining = "sustaining"
    not_achieved = "not-achieved"
    no_progress = "no-progress"
    not_attainable = "not-attainable"


class GoalPriority(Code):
    """FHIR Goal priority."""

    high_priority = "high-priority"
    medium_priority = "medium-priority"
    low_priority = "low-priority"


class InterventionStatus(Code):
    """FHIR CarePlan.activity status."""

    not_started = "not-started"
    scheduled = "scheduled"
    in_progress = "in-progress"
    on_hold = "on-hold"
    completed = "completed"
    cancelled = "cancelled"
    stopped = "stopped"
    entered_in_error = "entered-in-error"


class InterventionCategory(Code):
    """The four Omaha System Intervention Scheme categories."""

    teaching_guidance_counseling = "teaching-guidance-counseling"
    treatments_procedures = "treatments-procedures"
    case_management = "case-management"
    surveillance = "surveillance"

    @property
    def label(self) -> str:
        """The category's name as the Omaha System writes it."""
        return _INTERVENTION_CATEGORY_LABELS[self]


_INTERVENTION_CATEGORY_LABELS = {
    InterventionCategory.teaching_guidance_counseling: "Teaching, Guidance, and Counseling",
    InterventionCategory.treatments_procedures: "Treatments and Procedures",
    InterventionCategory.case_management: "Case Management",
    InterventionCategory.surveillance: "Surveillance",
}


class ReferralPriority(Code):
    """FHIR request priority of a referral."""

    routine = "routine"
    urgent = "urgent"
    asap = "asap"
    stat = "stat"

    @property
    def label(self) -> str:
        """Human label; the acronyms are shown in capitals."""
        return _PRIORITY_LABELS[self.value]


_PRIORITY_LABELS = {"routine": "Routine", "urgent": "Urgent", "asap": "ASAP", "stat": "STAT"}


class ReferralStatus(Code):
    """FHIR Task status of the Task that tracks a referral."""

    draft = "draft"
    requested = "requested"
    received = "received"
    accepted = "accepted"
    rejected = "rejected"
    ready = "ready"
    cancelled = "cancelled"
    in_progress = "in-progress"
    on_hold = "on-hold"
    failed = "failed"
    completed = "completed"
    entered_in_error = "entered-in-error"


class ServiceType(Code):
    """Kind of service a referral asks for."""

    home_health = "home-health"
    physical_therapy = "physical-therapy"
    occupational_therapy = "occupational-therapy"
    durable_medical_equipment = "durable-medical-equipment"
    social_work = "social-work"
    behavioral_health = "behavioral-health"
    nutrition = "nutrition"
    specialist = "specialist"
    community_resource = "community-resource"
    hospice_palliative = "hospice-palliative"

    @property
    def label(self) -> str:
        """Human label, e.g. "Physical therapy"."""
        return _SERVICE_TYPE_TEXT[self][0]

    @property
    def abbreviation(self) -> str:
        """Short form for narrow columns and worklist reasons, e.g. "PT"."""
        return _SERVICE_TYPE_TEXT[self][1]


_SERVICE_TYPE_TEXT = {
    ServiceType.home_health: ("Home health", "HH"),
    ServiceType.physical_therapy: ("Physical therapy", "PT"),
    ServiceType.occupational_therapy: ("Occupational therapy", "OT"),
    ServiceType.durable_medical_equipment: ("Durable medical equipment", "DME"),
    ServiceType.social_work: ("Social work", "SW"),
    ServiceType.behavioral_health: ("Behavioral health", "BH"),
    ServiceType.nutrition: ("Nutrition", "Nutrition"),
    ServiceType.specialist: ("Specialist", "Specialist"),
    ServiceType.community_resource: ("Community resource", "Community"),
    ServiceType.hospice_palliative: ("Hospice / palliative care", "Hospice"),
}


class TaskStatus(Code):
    """Status of a worklist follow-up task (a subset of FHIR Task status)."""

    requested = "requested"
    in_progress = "in-progress"
    on_hold = "on-hold"
    completed = "completed"
    cancelled = "cancelled"
    #: A clock step whose deadline passed unmet (a TCM contact or visit missed).
    failed = "failed"
    entered_in_error = "entered-in-error"

    @property
    def label(self) -> str:
        """Human label; "failed" is a clock step whose deadline passed unmet: "Missed"."""
        if self is TaskStatus.failed:
            return "Missed"
        return _default_label(self.value)


class TaskSource(Code):
    """What created a follow-up task."""

    contact = "contact"
    goal = "goal"
    intervention = "intervention"
    referral = "referral"
    assessment_trigger = "assessment-trigger"
    transition_clock = "transition-clock"
    manual = "manual"


class TaskPriority(Code):
    """FHIR request priority of a follow-up task."""

    routine = "routine"
    urgent = "urgent"
    asap = "asap"
    stat = "stat"

    @property
    def label(self) -> str:
        """Human label; the acronyms are shown in capitals."""
        return _PRIORITY_LABELS[self.value]


class AuditAction(Code):
    """What an audit event records."""

    create = "create"
    update = "update"
    delete = "delete"
    view = "view"
    #: An export about to start: recorded (and committed) before its first byte
    #: leaves, so an export killed halfway is on the trail too. One per export:
    #: count these to count exports.
    export = "export"
    login = "login"
    #: A sign-in refused (wrong password, unknown or disabled account); the
    #: password typed is never recorded, nor a username that matches no account.
    login_failed = "login-failed"
    #: The screen was locked (idle, or ctrl+l) and unlocked again.
    lock = "lock"
    unlock = "unlock"
    #: How an export ended (completed, partial or failed, with the rows written),
    #: recorded after its ``export`` event; missing when the process was killed.
    export_finished = "export-finished"


class Role(Code):
    """What an account may do; each role may do everything the roles below it may."""

    #: Works their own caseload (and may look at other nurses').
    nurse = "nurse"
    #: Also exports across nurses and sees the supervisor report.
    supervisor = "supervisor"
    #: Also manages accounts (adds them, resets passwords, disables them).
    admin = "admin"


#: Rank of each role: a role may do what any lower rank may.
ROLE_RANKS: dict[str, int] = {"nurse": 1, "supervisor": 2, "admin": 3}


class CareTeamRole(Code):
    """Role of a care team member."""

    pcp = "pcp"
    specialist = "specialist"
    caregiver = "caregiver"
    pharmacist = "pharmacist"
    social_worker = "social-worker"
    home_health = "home-health"
    other = "other"

    @property
    def label(self) -> str:
        """Human label; "pcp" reads as "PCP"."""
        if self is CareTeamRole.pcp:
            return "PCP"
        return _default_label(self.value)


class Instrument(Code):
    """Scored assessment instruments (see nursecase.domain.instruments)."""

    lace = "lace"
    phq_9 = "phq-9"
    phq_2 = "phq-2"
    gad_7 = "gad-7"
    morse = "morse"
    braden = "braden"
    katz_adl = "katz-adl"

    @property
    def label(self) -> str:
        """The instrument's usual short name, e.g. "PHQ-9"."""
        return _INSTRUMENT_LABELS[self]


_INSTRUMENT_LABELS = {
    Instrument.lace: "LACE index",
    Instrument.phq_9: "PHQ-9",
    Instrument.phq_2: "PHQ-2",
    Instrument.gad_7: "GAD-7",
    Instrument.morse: "Morse Fall Scale",
    Instrument.braden: "Braden Scale",
    Instrument.katz_adl: "Katz ADL",
}


class SafetyRisk(Code):
    """Suicide risk found by a C-SSRS screener (the published screen triage)."""

    none = "none"
    low = "low"
    moderate = "moderate"
    high = "high"

    @property
    def label(self) -> str:
        """ "No risk identified", "Low risk", "Moderate risk", "High risk"."""
        if self is SafetyRisk.none:
            return "No risk identified"
        return f"{_default_label(self.value)} risk"


class SafetyDisposition(Code):
    """What the nurse did after a C-SSRS screener (the safety check's disposition)."""

    no_current_risk = "no-current-risk"
    safety_plan_reviewed = "safety-plan-reviewed"
    crisis_line_given = "crisis-line-given"
    prescriber_notified = "prescriber-notified"
    emergency_services = "emergency-services"

    @property
    def label(self) -> str:
        """Plain words, e.g. "Prescriber or PCP notified"."""
        return _DISPOSITION_LABELS[self]


_DISPOSITION_LABELS = {
    SafetyDisposition.no_current_risk: "No current risk",
    SafetyDisposition.safety_plan_reviewed: "Safety plan reviewed",
    SafetyDisposition.crisis_line_given: "Crisis line given",
    SafetyDisposition.prescriber_notified: "Prescriber or PCP notified",
    SafetyDisposition.emergency_services: "Emergency services or ED",
}

#: Dispositions that escalate care: a high-risk screen needs one of these.
ESCALATION_DISPOSITIONS = frozenset(
    {
        SafetyDisposition.crisis_line_given,
        SafetyDisposition.prescriber_notified,
        SafetyDisposition.emergency_services,
    }
)


class RiskSource(Code):
    """What a patient's risk tier rests on."""

    #: Set from a score's band (LACE >= 10 high, 5-9 moderate, < 5 low).
    score = "score"
    #: Set by a nurse, with a reason.
    override = "override"

    @property
    def label(self) -> str:
        """ "From a score" / "Set by a nurse"."""
        return "From a score" if self is RiskSource.score else "Set by a nurse"


class CcmProgramme(Code):
    """The chronic care management programme a patient is enrolled in (CMS MLN909188)."""

    standard = "standard"
    complex = "complex"

    @property
    def label(self) -> str:
        """ "Standard CCM" / "Complex CCM"."""
        return f"{_default_label(self.value)} CCM"


def allowed_values(enum_class: type[Enum]) -> tuple[str, ...]:
    """Return the codes of an enum in definition order (for help text and errors)."""
    return tuple(str(member.value) for member in enum_class)


def parse_code(enum_class: type[CodeT], value: object, field_name: str) -> CodeT:
    """Return the member of ``enum_class`` for ``value`` or raise a ValidationError.

    Accepts a member, or its code in any case with surrounding spaces; underscores
    are read as hyphens so member names typed on a command line work too. The error
    names the field and lists the allowed codes.
    """
    if isinstance(value, enum_class):
        return value
    allowed = ", ".join(allowed_values(enum_class))
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field_name, f"is required; one of: {allowed}")
    if isinstance(value, str):
        code = value.strip().lower().replace("_", "-")
        try:
            return enum_class(code)
        except ValueError:
            pass
    raise ValidationError(field_name, f"must be one of: {allowed}")
