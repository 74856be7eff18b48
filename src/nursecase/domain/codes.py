"""Coded values used everywhere in nursecase, spelled exactly as DESIGN.md section 2.

Status codes are FHIR R4 codes (EpisodeOfCare, Communication, Condition,
MedicationStatement, CarePlan, Goal, CarePlan.activity, Task, ServiceRequest)
so exports are valid FHIR without a mapping table. Each member's Python name is
its code with hyphens turned into underscores (``ContactMode.home_visit`` is
"home-visit"); every enum has a human ``label``, written in the one table :data:`LABELS` at
the end of this module (DESIGN.md "Words on screen": codes are stored, people
read words).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, StrEnum
from typing import TypeVar

from nursecase.domain.validation import ValidationError

CodeT = TypeVar("CodeT", bound=Enum)


class Code(StrEnum):
    """Base for every coded value: a ``str`` whose value is the code itself."""

    @property
    def label(self) -> str:
        """The words a person reads for this code, from :data:`LABELS`."""
        return LABELS[type(self).__name__][self.value]


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


class ReferralPriority(Code):
    """FHIR request priority of a referral."""

    routine = "routine"
    urgent = "urgent"
    asap = "asap"
    stat = "stat"


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
    def abbreviation(self) -> str:
        """Short form for narrow columns and worklist reasons, e.g. "PT"."""
        return SERVICE_ABBREVIATIONS[self.value]


#: Short forms of the service types (worklist reasons, narrow columns).
SERVICE_ABBREVIATIONS: dict[str, str] = {
    "home-health": "HH",
    "physical-therapy": "PT",
    "occupational-therapy": "OT",
    "durable-medical-equipment": "DME",
    "social-work": "SW",
    "behavioral-health": "BH",
    "nutrition": "Nutrition",
    "specialist": "Specialist",
    "community-resource": "Community",
    "hospice-palliative": "Hospice",
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


class TaskSource(Code):
    """What created a follow-up task."""

    contact = "contact"
    goal = "goal"
    intervention = "intervention"
    referral = "referral"
    assessment_trigger = "assessment-trigger"
    transition_clock = "transition-clock"
    #: A hospital event (issue 21): an admission to acknowledge, an ED visit to follow up.
    encounter = "encounter"
    manual = "manual"


class TaskPriority(Code):
    """FHIR request priority of a follow-up task."""

    routine = "routine"
    urgent = "urgent"
    asap = "asap"
    stat = "stat"


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


class Instrument(Code):
    """Scored assessment instruments (see nursecase.domain.instruments)."""

    lace = "lace"
    phq_9 = "phq-9"
    phq_2 = "phq-2"
    gad_7 = "gad-7"
    morse = "morse"
    braden = "braden"
    katz_adl = "katz-adl"


class SafetyRisk(Code):
    """Suicide risk found by a C-SSRS screener (the published screen triage)."""

    none = "none"
    low = "low"
    moderate = "moderate"
    high = "high"


class SafetyDisposition(Code):
    """What the nurse did after a C-SSRS screener (the safety check's disposition)."""

    no_current_risk = "no-current-risk"
    safety_plan_reviewed = "safety-plan-reviewed"
    crisis_line_given = "crisis-line-given"
    prescriber_notified = "prescriber-notified"
    emergency_services = "emergency-services"


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


class CcmProgramme(Code):
    """The chronic care management programme a patient is enrolled in (CMS MLN909188)."""

    standard = "standard"
    complex = "complex"


class Measure(Code):
    """What a reading measures (issue 20): vital signs, home readings and labs.

    Each measure has its LOINC codes, its unit (UCUM) and its conversions in
    ``domain.measures``. ``blood_pressure`` is the systolic and diastolic pair:
    no reading is stored under it, but alerts, enrolments and the summary line
    ("BP 148/92") speak of blood pressure as one measure.
    """

    weight = "weight"
    blood_pressure = "blood-pressure"
    systolic = "systolic"
    diastolic = "diastolic"
    heart_rate = "heart-rate"
    oxygen_saturation = "oxygen-saturation"
    respiratory_rate = "respiratory-rate"
    temperature = "temperature"
    glucose = "glucose"
    hba1c = "hba1c"
    nt_probnp = "nt-probnp"
    potassium = "potassium"
    egfr = "egfr"
    ldl = "ldl"


class ReadingSource(Code):
    """Where a reading came from."""

    #: A FHIR Observation from ``nursecase import fhir``.
    imported = "import"
    #: A home-monitoring vendor's file (``nursecase import readings``).
    device = "device"
    #: Typed by a nurse (the reading form), with who keyed it.
    keyed = "keyed"


class ThresholdRule(Code):
    """A threshold a reading is checked against (``domain.thresholds`` holds the rules)."""

    weight_gain_day = "weight-gain-day"
    weight_gain_week = "weight-gain-week"
    systolic_high = "systolic-high"
    diastolic_high = "diastolic-high"
    systolic_low = "systolic-low"
    oxygen_low = "oxygen-low"
    glucose_low = "glucose-low"
    glucose_high = "glucose-high"
    hba1c_high = "hba1c-high"
    heart_rate_low = "heart-rate-low"
    heart_rate_high = "heart-rate-high"


class MonitoringFrequency(Code):
    """How often an enrolled patient is expected to send a measure (remote monitoring)."""

    twice_daily = "twice-daily"
    daily = "daily"
    weekly = "weekly"


class AlertStatus(Code):
    """Whether a reading alert still asks for the nurse (Today) or has been addressed."""

    open = "open"
    #: Addressed by a contact or a note (who, when and how are on the alert).
    closed = "closed"


class EncounterClass(Code):
    """The kind of hospital encounter (FHIR R4 Encounter.class, v3 ActCode).

    Issue 21: inpatient stays, emergency visits, observation stays and
    ambulatory visits. The codes are the v3 ActCode codes a FHIR Encounter
    carries (http://terminology.hl7.org/CodeSystem/v3-ActCode).
    """

    inpatient = "IMP"
    emergency = "EMER"
    observation = "OBSENC"
    ambulatory = "AMB"


class EncounterStatus(Code):
    """FHIR R4 Encounter.status, the subset nursecase records."""

    #: Admitted and not yet discharged (in hospital, in the ED, under observation).
    in_progress = "in-progress"
    finished = "finished"
    #: An admission the hospital cancelled (HL7 v2 A11).
    cancelled = "cancelled"
    entered_in_error = "entered-in-error"


class DischargeDisposition(Code):
    """Where the patient went at discharge (FHIR R4 Encounter.hospitalization.dischargeDisposition).

    The codes are http://terminology.hl7.org/CodeSystem/discharge-disposition
    (note "hosp" is hospice there, not a hospital). HL7 v2 PV1-36 (table 0112,
    the UB-04 patient status codes) is mapped onto these in ``domain.adt``.
    """

    home = "home"
    alternative_home = "alt-home"
    other_facility = "other-hcf"
    hospice = "hosp"
    long_term_care = "long"
    against_advice = "aadvice"
    expired = "exp"
    psychiatric = "psy"
    rehabilitation = "rehab"
    skilled_nursing = "snf"
    other = "oth"


class EncounterSource(Code):
    """How nursecase learned of an encounter."""

    adt = "adt"
    fhir = "fhir"
    #: Typed by a nurse (the discharge form).
    keyed = "keyed"


class AdtMessageStatus(Code):
    """Where one received HL7 v2 message stands in the ADT inbox."""

    #: Stored and acknowledged, not applied yet.
    received = "received"
    applied = "applied"
    #: Its MRN matches no patient: waits for a nurse to match or dismiss it.
    unmatched = "unmatched"
    #: Could not be parsed or applied; answered AE or AR with the reason.
    error = "error"
    #: Set aside by a nurse (not our patient), with her reason.
    dismissed = "dismissed"
    #: A message of a kind nursecase does not act on (an A04 for a clinic visit, say).
    ignored = "ignored"


#: The words a person reads for every code of every code list in domain/ (DESIGN.md
#: "Words on screen"), one table so a reviewer sees them all together: screens,
#: PDF and Markdown reports, ``audit show`` and error messages use these; CSV and
#: JSON keep the codes. Keyed by the code list's class name (a code list defined
#: in another domain module, such as the TCM steps, is written here too) and then
#: by code. tests/domain/test_codes.py checks that every member of every code list
#: has its label and that no label is left over.
LABELS: dict[str, dict[str, str]] = {
    "RiskTier": {
        "low": "Low",
        "moderate": "Moderate",
        "high": "High",
        "not-assessed": "Not assessed",
    },
    "Sex": {"male": "Male", "female": "Female", "other": "Other", "unknown": "Unknown"},
    "EpisodeStatus": {
        "planned": "Planned",
        "waitlist": "Waiting list",
        "active": "Active",
        "onhold": "On hold",
        "finished": "Finished",
        "cancelled": "Cancelled",
    },
    "ContactMode": {
        "phone": "Phone",
        "home-visit": "Home visit",
        "clinic-visit": "Clinic visit",
        "telehealth": "Telehealth",
        "message": "Message",
        "case-conference": "Case conference",
    },
    "ContactWith": {"patient": "Patient", "caregiver": "Caregiver", "provider": "Provider"},
    "ContactOutcome": {
        "reached": "Reached",
        "no-answer": "No answer",
        "left-message": "Left message",
        "wrong-number": "Wrong number",
        "declined": "Declined",
        "agreed-to-visit": "Agreed to visit",
    },
    "ConditionClinicalStatus": {
        "active": "Active",
        "recurrence": "Recurrence",
        "relapse": "Relapse",
        "inactive": "Inactive",
        "remission": "Remission",
        "resolved": "Resolved",
    },
    "MedicationStatus": {
        "active": "Active",
        "on-hold": "On hold",
        "stopped": "Stopped",
        "completed": "Completed",
    },
    "CarePlanStatus": {
        "draft": "Draft",
        "active": "Active",
        "on-hold": "On hold",
        "revoked": "Revoked",
        "completed": "Completed",
        "entered-in-error": "Entered in error",
    },
    "GoalLifecycleStatus": {
        "proposed": "Proposed",
        "planned": "Planned",
        "accepted": "Accepted",
        "active": "Active",
        "on-hold": "On hold",
        "completed": "Completed",
        "cancelled": "Cancelled",
        "entered-in-error": "Entered in error",
        "rejected": "Rejected",
    },
    "GoalAchievementStatus": {
        "in-progress": "In progress",
        "improving": "Improving",
        "worsening": "Worsening",
        "no-change": "No change",
        "achieved": "Achieved",
        "sustaining": "Sustaining",
        "not-achieved": "Not achieved",
        "no-progress": "No progress",
        "not-attainable": "Not attainable",
    },
    "GoalPriority": {
        "high-priority": "High",
        "medium-priority": "Medium",
        "low-priority": "Low",
    },
    "InterventionStatus": {
        "not-started": "Not started",
        "scheduled": "Scheduled",
        "in-progress": "In progress",
        "on-hold": "On hold",
        "completed": "Completed",
        "cancelled": "Cancelled",
        "stopped": "Stopped",
        "entered-in-error": "Entered in error",
    },
    # The Omaha System Intervention Scheme's own names (Martin 2005).
    "InterventionCategory": {
        "teaching-guidance-counseling": "Teaching, Guidance, and Counseling",
        "treatments-procedures": "Treatments and Procedures",
        "case-management": "Case Management",
        "surveillance": "Surveillance",
    },
    "ReferralPriority": {"routine": "Routine", "urgent": "Urgent", "asap": "ASAP", "stat": "STAT"},
    "ReferralStatus": {
        "draft": "Draft",
        "requested": "Requested",
        "received": "Received",
        "accepted": "Accepted",
        "rejected": "Rejected",
        # FHIR Task "ready": ready to be performed, no action taken yet.
        "ready": "Ready to start",
        "cancelled": "Cancelled",
        "in-progress": "In progress",
        "on-hold": "On hold",
        "failed": "Failed",
        "completed": "Completed",
        "entered-in-error": "Entered in error",
    },
    "ServiceType": {
        "home-health": "Home health",
        "physical-therapy": "Physical therapy",
        "occupational-therapy": "Occupational therapy",
        "durable-medical-equipment": "Durable medical equipment",
        "social-work": "Social work",
        "behavioral-health": "Behavioral health",
        "nutrition": "Nutrition",
        "specialist": "Specialist",
        "community-resource": "Community resource",
        "hospice-palliative": "Hospice / palliative care",
    },
    "TaskStatus": {
        "requested": "Requested",
        "in-progress": "In progress",
        "on-hold": "On hold",
        "completed": "Completed",
        "cancelled": "Cancelled",
        # A clock step whose deadline passed unmet.
        "failed": "Missed",
        "entered-in-error": "Entered in error",
    },
    "TaskSource": {
        "contact": "Contact",
        "goal": "Goal",
        "intervention": "Intervention",
        "referral": "Referral",
        "assessment-trigger": "Assessment result",
        "transition-clock": "Transition of care",
        "encounter": "Hospital event",
        "manual": "Added by a nurse",
    },
    "TaskPriority": {"routine": "Routine", "urgent": "Urgent", "asap": "ASAP", "stat": "STAT"},
    "AuditAction": {
        "create": "Created",
        "update": "Changed",
        "delete": "Deleted",
        "view": "Viewed",
        "export": "Export started",
        "login": "Signed in",
        "login-failed": "Sign-in refused",
        "lock": "Screen locked",
        "unlock": "Screen unlocked",
        "export-finished": "Export finished",
    },
    "Role": {"nurse": "Nurse", "supervisor": "Supervisor", "admin": "Admin"},
    "CareTeamRole": {
        "pcp": "Primary care physician",
        "specialist": "Specialist",
        "caregiver": "Caregiver",
        "pharmacist": "Pharmacist",
        "social-worker": "Social worker",
        "home-health": "Home health",
        "other": "Other",
    },
    "Instrument": {
        "lace": "LACE index",
        "phq-9": "PHQ-9",
        "phq-2": "PHQ-2",
        "gad-7": "GAD-7",
        "morse": "Morse Fall Scale",
        "braden": "Braden Scale",
        "katz-adl": "Katz ADL",
    },
    "SafetyRisk": {
        "none": "No risk identified",
        "low": "Low risk",
        "moderate": "Moderate risk",
        "high": "High risk",
    },
    "SafetyDisposition": {
        "no-current-risk": "No current risk",
        "safety-plan-reviewed": "Safety plan reviewed",
        "crisis-line-given": "Crisis line given",
        "prescriber-notified": "Prescriber or PCP notified",
        "emergency-services": "Emergency services or ED",
    },
    "RiskSource": {"score": "From a score", "override": "Set by a nurse"},
    "CcmProgramme": {"standard": "Standard CCM", "complex": "Complex CCM"},
    "Measure": {
        "weight": "Weight",
        "blood-pressure": "Blood pressure",
        "systolic": "Systolic pressure",
        "diastolic": "Diastolic pressure",
        "heart-rate": "Heart rate",
        "oxygen-saturation": "Oxygen saturation",
        "respiratory-rate": "Respiratory rate",
        "temperature": "Temperature",
        "glucose": "Glucose",
        "hba1c": "HbA1c",
        "nt-probnp": "NT-proBNP",
        "potassium": "Potassium",
        "egfr": "eGFR",
        "ldl": "LDL cholesterol",
    },
    "ReadingSource": {"import": "Imported", "device": "Home device", "keyed": "Keyed by a nurse"},
    "ThresholdRule": {
        "weight-gain-day": "Weight gain in a day",
        "weight-gain-week": "Weight gain in a week",
        "systolic-high": "Systolic pressure high",
        "diastolic-high": "Diastolic pressure high",
        "systolic-low": "Systolic pressure low",
        "oxygen-low": "Oxygen saturation low",
        "glucose-low": "Glucose low",
        "glucose-high": "Glucose high",
        "hba1c-high": "HbA1c high",
        "heart-rate-low": "Heart rate low",
        "heart-rate-high": "Heart rate high",
    },
    "MonitoringFrequency": {
        "twice-daily": "Twice a day",
        "daily": "Daily",
        "weekly": "Weekly",
    },
    "AlertStatus": {"open": "Open", "closed": "Addressed"},
    # domain/tcm.py
    "EncounterClass": {
        "IMP": "Inpatient stay",
        "EMER": "Emergency visit",
        "OBSENC": "Observation stay",
        "AMB": "Ambulatory visit",
    },
    "EncounterStatus": {
        "in-progress": "In progress",
        "finished": "Finished",
        "cancelled": "Cancelled",
        "entered-in-error": "Entered in error",
    },
    "DischargeDisposition": {
        "home": "Home",
        "alt-home": "Alternative home",
        "other-hcf": "Another health care facility",
        "hosp": "Hospice",
        "long": "Long-term care",
        "aadvice": "Left against advice",
        "exp": "Died",
        "psy": "Psychiatric hospital",
        "rehab": "Rehabilitation",
        "snf": "Skilled nursing facility",
        "oth": "Other",
    },
    "EncounterSource": {"adt": "Hospital feed", "fhir": "FHIR import", "keyed": "Keyed by a nurse"},
    "AdtMessageStatus": {
        "received": "Received",
        "applied": "Applied",
        "unmatched": "Unmatched",
        "error": "Error",
        "dismissed": "Dismissed",
        "ignored": "Not acted on",
    },
    "TcmStep": {
        "interactive-contact": "Interactive contact",
        "face-to-face-visit": "Face-to-face visit",
    },
    "TcmStepState": {
        "due": "Due",
        "met": "Met",
        "met-by-attempts": "Met by two attempts",
        "missed": "Missed",
        "ended-by-readmission": "Ended by readmission",
    },
    "TcmBillingState": {
        "billable": "Billable",
        "pending": "Not billable yet",
        "not-billable": "Not billable",
    },
}


def spoken(member: Code) -> str:
    """A code's label as it reads inside a sentence: "in progress", but "ASAP" stays."""
    label = member.label
    first_word = label.split(" ", 1)[0]
    if first_word.isupper() and len(first_word) > 1:
        return label
    return label[:1].lower() + label[1:]


def label_of(code_list: type[Code], code: str | None) -> str:
    """A stored code of ``code_list`` in words ("no-answer" -> "No answer").

    "" for no code; a code the list does not know (stored by an older version)
    reads as itself rather than failing a screen or a report.
    """
    if not code:
        return ""
    return LABELS[code_list.__name__].get(code, code)


def words_of(*code_lists: type[Code]) -> Callable[[str], str]:
    """A function from a stored code of ``code_lists`` to its label (unknown codes read as is).

    For report columns and other places that hold the code as plain text; a
    column holding the statuses of several kinds of record names each code list
    (the first that knows a code gives its words).
    """
    table: dict[str, str] = {}
    for code_list in reversed(code_lists):
        table.update(LABELS[code_list.__name__])
    return lambda code: table.get(code, code)


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
