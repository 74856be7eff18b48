"""Deterministic synthetic caseloads for demos, screenshots and benchmarks.

``seed_database(engine, clock, patients=200, seed=7)`` fills an already-migrated
database with a caseload in which every screen has something to show: nurses,
patients with episodes, contact logs, problem lists, medications, care teams,
assessment trends scored by ``nursecase.domain.instruments``, Omaha care plans
with rising KBS ratings, referrals in every Task status with a legal status
history, worklist tasks, recent discharges with their TCM tasks and at least one
PHQ-9 with item 9 above 0 and its open urgent safety task (older ones were each
completed by a safety check, a C-SSRS screen, on the day), and readings: home
monitoring with its enrolments, clinic vitals and labs, and the open alerts the
threshold rules raise from them (``nursecase.demo_readings``).

The same ``(patients, seed, clock.today())`` always gives the same rows (on an
empty database the same ids too): choices come from ``random.Random(seed)`` and
a seeded Faker builds only small pools of names, streets and cities up front,
because Faker calls are slow and combining pools with the Random is fast.

Speed: 100,000 patients must load in well under a minute, so rows are built as
plain tuples with ids computed here (children never need a round trip), dates
are formatted once per distinct day by SQLAlchemy's own bind processors, and
each chunk of patients is one transaction of ``executemany`` inserts compiled
from ``insert(table)``. On other databases the same tuples go through
``connection.execute(insert(table), rows)`` with Python date objects.

Every chunk's transaction also appends one hash-chained AuditEvent per table it
loaded ("bulk-seed:<count>"), so the data and its audit trail commit together.

Other writers keep working while a seed runs (issue 17): each chunk is its own
short write transaction, followed by a pause that lets waiting writers in
(``let_waiting_writers_in``), and the ids the generator planned are only a guess.
Inside each chunk's transaction, once it holds the write lock, the loader reads
the audit chain's tail and every table's next free id again; when another
writer took ids the chunk planned to use, the chunk's rows (and the references
between them) move past them (``_Loader.claim``). A seed that stops half-way
(an error, a kill) keeps its committed chunks, whole and audited, and says how
many patients it wrote (``SeedStopped``); ``nursecase seed --add`` adds more.
The generator's child process exits when its parent dies, even by SIGKILL.
This module imports no Textual.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import threading
import time as timer
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, DateTime, Engine, func, insert, select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from nursecase.clock import Clock
from nursecase.db.bulk import bulk_cache, reset_id_sequences
from nursecase.db.engine import is_sqlite, optimize
from nursecase.db.locking import begin_write, let_waiting_writers_in
from nursecase.db.models import (
    ALL_TABLES,
    AuditEvent,
    Nurse,
)
from nursecase.demo_readings import READING_COLUMNS, ReadingsBuilder
from nursecase.domain.business_days import add_business_days
from nursecase.domain.clocks import DEFAULT_CADENCE_DAYS, DEFAULT_REPLY_DAYS
from nursecase.domain.codes import (
    RISK_RANKS,
    ContactMode,
    ContactOutcome,
    ContactWith,
    ReferralStatus,
    ServiceType,
    TaskSource,
    TaskStatus,
)
from nursecase.domain.instruments import get_instrument
from nursecase.domain.instruments.base import Score
from nursecase.domain.instruments.lace import lace_answers
from nursecase.domain.instruments.phq import SAFETY_ITEM
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.domain.referral_states import TERMINAL_STATUSES, allowed_next
from nursecase.domain.risk import tier_for_lace
from nursecase.domain.tcm import (
    TcmFacts,
    TcmStep,
    interactive_deadline,
    is_face_to_face_visit,
    is_interactive_contact,
    is_unsuccessful_attempt,
    period_end,
    tally_attempts,
    tcm_status,
)
from nursecase.domain.validation import mrn_key, search_key
from nursecase.services.audit import GENESIS_HASH, current_anchor, seal

#: Patients per transaction: big enough for fast executemany, small enough to
#: keep the write-ahead log and memory modest, to report progress often, and to
#: keep another writer's wait for the lock (one chunk) well inside SQLite's 5 s
#: busy timeout: 5,000 made it wait up to 3.5 s on a loaded machine
#: (bench/results.md, 2026-12-07, issue 17).
CHUNK_PATIENTS = 2_000

#: SQLite page cache during the load, in KiB.
BULK_CACHE_KIB = 65_536

#: From this many patients the rows are built in a child process (see _chunks_from_process).
PARALLEL_FROM_PATIENTS = 20_000

#: Columns that hold the id of a row of another table named by a code beside them
#: rather than by a foreign key: (table, code column, id column, {code: table}).
CODED_REFERENCES = (
    (
        "task",
        "source",
        "source_id",
        {
            str(TaskSource.contact): "contact",
            str(TaskSource.goal): "goal",
            str(TaskSource.intervention): "intervention",
            str(TaskSource.referral): "referral",
            str(TaskSource.assessment_trigger): "assessment",
            str(TaskSource.transition_clock): "transition",
        },
    ),
    (
        "care_plan_revision",
        "item_kind",
        "item_id",
        {kind: kind for kind in ("care_plan", "problem", "goal", "intervention")},
    ),
)

#: The demo nurses: (username, display name, credentials, share of the caseload).
DEMO_NURSES = (
    ("amoreno", "Alice Moreno", "RN, CCM", 0.34),
    ("bokafor", "Ben Okafor", "RN", 0.26),
    ("cnguyen", "Chi Nguyen", "RN, CCM", 0.24),
    ("dlarsen", "Dana Larsen", "RN", 0.16),
)

#: A nurse case manager carries 30-150 patients (DESIGN.md section 1): large
#: seeds add team nurses so that each caseload stays about this size.
PATIENTS_PER_NURSE = 120


def nurse_roster(patients: int) -> tuple[tuple[str, str, str, float], ...]:
    """The nurses a seed of ``patients`` spreads them over, with their shares.

    Up to a few hundred patients the four demo nurses share them unevenly (a
    busy and a quiet caseload side by side). Beyond that, team nurses are added
    and everyone carries an equal caseload of about PATIENTS_PER_NURSE.
    """
    team_size = -(-patients // PATIENTS_PER_NURSE)
    if team_size <= len(DEMO_NURSES):
        return DEMO_NURSES
    share = 1 / team_size
    demo = tuple(
        (name, display, credentials, share) for name, display, credentials, _ in DEMO_NURSES
    )
    team = tuple(
        (f"rn{number:05d}", f"Team Nurse {number}", "RN", share)
        for number in range(len(DEMO_NURSES) + 1, team_size + 1)
    )
    return demo + team


# Column order of the tuples built for each table; the insert statements are
# compiled with exactly these keys.
COLUMNS: dict[str, tuple[str, ...]] = {
    "nurse": ("id", "username", "display_name", "credentials", "active", "created_at"),
    "patient": (
        "id",
        "mrn",
        "mrn_key",
        "family_name",
        "given_name",
        "family_key",
        "given_key",
        "birth_date",
        "sex",
        "phone",
        "phone_digits",
        "address",
        "preferred_language",
        "nurse_id",
        "risk_tier",
        "risk_rank",
        "risk_basis",
        "risk_source",
        "risk_set_by",
        "risk_set_at",
        "ccm_programme",
        "ccm_start",
        "next_contact_due",
        "last_contact_at",
        "open_referral_count",
        "episode_status",
        "created_at",
        "updated_at",
        "updated_by",
        "version",
    ),
    "episode": ("id", "patient_id", "status", "start", "end", "closure_reason", "created_at"),
    "episode_status_history": (
        "id",
        "episode_id",
        "from_status",
        "to_status",
        "changed_at",
        "nurse_id",
        "reason",
    ),
    "contact": (
        "id",
        "patient_id",
        "occurred_at",
        "mode",
        "with_whom",
        "outcome",
        "minutes",
        "note",
        "author_id",
        "created_at",
        "for_monitoring",
    ),
    "condition": (
        "id",
        "patient_id",
        "description",
        "code",
        "code_system",
        "clinical_status",
        "onset_date",
        "recorded_at",
    ),
    "medication": (
        "id",
        "patient_id",
        "name",
        "dose",
        "route",
        "frequency",
        "status",
        "last_reconciled",
        "created_at",
    ),
    "care_team_member": ("id", "patient_id", "name", "role", "organisation", "phone"),
    "assessment": (
        "id",
        "patient_id",
        "instrument",
        "variant",
        "total",
        "band",
        "summary",
        "performed_at",
        "author_id",
    ),
    "assessment_answer": ("id", "assessment_id", "item_code", "value"),
    "care_plan": (
        "id",
        "patient_id",
        "title",
        "status",
        "intent",
        "period_start",
        "period_end",
        "created_at",
        "updated_at",
        "updated_by",
        "version",
    ),
    "care_plan_revision": (
        "id",
        "care_plan_id",
        "version",
        "changed_at",
        "nurse_id",
        "action",
        "item_kind",
        "item_id",
        "item_label",
        "changes",
    ),
    "problem": (
        "id",
        "care_plan_id",
        "omaha_code",
        "description",
        "nursing_diagnosis_code",
        "priority",
        "status",
        "position",
        "created_at",
    ),
    "problem_rating": (
        "id",
        "problem_id",
        "rated_on",
        "knowledge",
        "behavior",
        "status",
        "author_id",
    ),
    "goal": (
        "id",
        "problem_id",
        "description",
        "lifecycle_status",
        "achievement_status",
        "target_measure",
        "target_value",
        "due_date",
        "priority",
        "position",
        "created_at",
    ),
    "intervention": (
        "id",
        "problem_id",
        "goal_id",
        "category",
        "description",
        "owner",
        "frequency",
        "due_date",
        "status",
        "position",
        "created_at",
    ),
    "referral": (
        "id",
        "patient_id",
        "nurse_id",
        "service_type",
        "receiving_organisation",
        "receiving_contact",
        "reason",
        "priority",
        "status",
        "status_changed_at",
        "expected_reply_date",
        "appointment_date",
        "outcome",
        "created_at",
        "updated_at",
        "updated_by",
        "version",
    ),
    "referral_status_history": (
        "id",
        "referral_id",
        "from_status",
        "to_status",
        "changed_at",
        "nurse_id",
        "reason",
    ),
    "task": (
        "id",
        "patient_id",
        "nurse_id",
        "description",
        "due_date",
        "status",
        "priority",
        "source",
        "source_id",
        "snooze_reason",
        "done_at",
        "created_at",
    ),
    "transition": (
        "id",
        "patient_id",
        "discharged_on",
        "facility",
        "high_complexity",
        "length_of_stay_days",
        "interactive_contact_on",
        "face_to_face_on",
        "interactive_attempts",
        "attempts_met_on",
        "superseded_on",
        "created_at",
    ),
    "safety_check": (
        "id",
        "patient_id",
        "performed_at",
        "wish_dead",
        "suicidal_thoughts",
        "method",
        "intent",
        "plan",
        "behaviour",
        "behaviour_past_3_months",
        "risk",
        "disposition",
        "note",
        "author_id",
        "created_at",
    ),
    "audit_event": (
        "id",
        "occurred_at",
        "nurse_id",
        "action",
        "entity",
        "entity_id",
        "changed_fields",
        "previous_hash",
        "hash",
    ),
    # Readings, their alerts, own limits and monitoring enrolments (demo_readings.py).
    **READING_COLUMNS,
}

#: Clinical tables in foreign-key order (the audit table is written last, apart).
TABLE_ORDER = tuple(
    table.__tablename__ for table in ALL_TABLES if table.__tablename__ != "audit_event"
)
_TABLES = {table.__tablename__: table.__table__ for table in ALL_TABLES}
#: What one patient's referrals add: dropped again when the episode is finished.
_REFERRAL_TABLES = ("referral", "referral_status_history", "task")
_OPEN_TASK_STATUSES = frozenset({"requested", "in-progress", "on-hold"})
#: Conditions that are still the patient's (FHIR clinical status), for what is measured.
_ACTIVE_CONDITION_STATUSES = frozenset({"active", "recurrence", "relapse"})
#: Open care plans run at least this many days past today (their goals fall due
#: up to about 90 days ahead).
CARE_PLAN_HORIZON_DAYS = 120

# ----------------------------------------------------------------- vocabulary

LANGUAGES = (
    ("English", 780),
    ("Spanish", 120),
    ("Vietnamese", 30),
    ("Chinese", 20),
    ("Tagalog", 15),
    ("Russian", 15),
    ("Arabic", 10),
    ("Korean", 10),
)
SEXES = (("female", 540), ("male", 450), ("other", 5), ("unknown", 5))
RISK_TIERS = (("high", 25), ("moderate", 45), ("low", 30))

#: Time slot (5 minutes from 07:00) of the LACE scored on a discharge day.
LACE_SLOT = 110
#: Of the patients whose LACE band differs from their drawn tier, how many the
#: nurse kept on that tier with a reason (the rest follow the score).
OVERRIDE_SHARE_WITH_SCORE = 0.25
#: Of the patients with no score, how many the nurse set a tier for with a reason.
OVERRIDE_SHARE_WITHOUT_SCORE = 0.06
#: A nurse's reasons for a tier, by tier (no names, nothing that identifies anyone).
OVERRIDE_REASONS = {
    "high": (
        "lives alone; two falls this year",
        "three ED visits since the summer",
        "new home oxygen, caregiver away",
        "missed dialysis twice this month",
    ),
    "moderate": (
        "stable on the new regimen; daughter helps daily",
        "recent weight gain, watching closely",
        "memory worse, wife manages medicines",
    ),
    "low": (
        "stable for six months, independent in ADLs",
        "well supported at home, no admissions this year",
    ),
}
#: CCM enrolment among patients with two or more chronic conditions: below the
#: first share complex (high-risk patients only), below the second standard.
CCM_COMPLEX_SHARE = 0.3
CCM_STANDARD_SHARE = 0.80
#: Enrolments started within this many days (and within the episode).
CCM_START_WITHIN_DAYS = 400

# Names for the non-English speakers, so a Spanish or Vietnamese preference
# does not sit on an Anglo name in every row.
SPANISH_FAMILY = (
    "Garcia",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Morales",
    "Ortiz",
    "Castillo",
    "Vargas",
)
SPANISH_GIVEN = {
    "female": ("Maria", "Guadalupe", "Rosa", "Carmen", "Lucia", "Elena", "Ana", "Josefina"),
    "male": ("Jose", "Juan", "Luis", "Carlos", "Miguel", "Jesus", "Ramon", "Alejandro"),
}
VIETNAMESE_FAMILY = ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Do", "Ho")
VIETNAMESE_GIVEN = {
    "female": ("Lan", "Mai", "Hoa", "Linh", "Thu", "Huong", "Ngoc", "Trang"),
    "male": ("Minh", "Tuan", "Hung", "Duc", "Long", "Quang", "Thanh", "Binh"),
}

# (description, ICD-10 code, weight). Chronic conditions of a case-managed caseload.
CONDITIONS = (
    ("Heart failure, unspecified", "I50.9", 14),
    ("Chronic obstructive pulmonary disease", "J44.9", 12),
    ("Type 2 diabetes mellitus without complications", "E11.9", 18),
    ("Essential (primary) hypertension", "I10", 22),
    ("Chronic kidney disease, stage 3", "N18.3", 8),
    ("Major depressive disorder, single episode", "F32.9", 9),
    ("Generalized anxiety disorder", "F41.1", 5),
    ("Atrial fibrillation", "I48.91", 6),
    ("Coronary artery disease", "I25.10", 7),
    ("Osteoarthritis of knee", "M17.9", 6),
    ("Asthma, moderate persistent", "J45.40", 4),
    ("Dementia, unspecified", "F03.90", 3),
    ("Obesity", "E66.9", 5),
    ("Hyperlipidemia", "E78.5", 10),
)
CONDITION_STATUSES = (("active", 86), ("remission", 5), ("inactive", 3), ("resolved", 6))

# Medications by condition code, then general ones: (name, dose, route, frequency).
MEDICATIONS_FOR = {
    "I50.9": (
        ("Furosemide", "40 mg", "oral", "once daily"),
        ("Carvedilol", "12.5 mg", "oral", "twice daily"),
        ("Sacubitril/valsartan", "49/51 mg", "oral", "twice daily"),
        ("Spironolactone", "25 mg", "oral", "once daily"),
    ),
    "J44.9": (
        ("Tiotropium", "18 mcg", "inhaled", "once daily"),
        ("Albuterol HFA", "90 mcg, 2 puffs", "inhaled", "every 4-6 hours as needed"),
        ("Fluticasone/salmeterol", "250/50 mcg", "inhaled", "twice daily"),
    ),
    "E11.9": (
        ("Metformin", "1000 mg", "oral", "twice daily"),
        ("Insulin glargine", "20 units", "subcutaneous", "at bedtime"),
        ("Empagliflozin", "10 mg", "oral", "once daily"),
        ("Semaglutide", "0.5 mg", "subcutaneous", "once weekly"),
    ),
    "I10": (
        ("Lisinopril", "20 mg", "oral", "once daily"),
        ("Amlodipine", "5 mg", "oral", "once daily"),
        ("Hydrochlorothiazide", "25 mg", "oral", "once daily"),
        ("Losartan", "50 mg", "oral", "once daily"),
    ),
    "N18.3": (("Sodium bicarbonate", "650 mg", "oral", "twice daily"),),
    "F32.9": (
        ("Sertraline", "50 mg", "oral", "once daily"),
        ("Escitalopram", "10 mg", "oral", "once daily"),
    ),
    "F41.1": (("Buspirone", "10 mg", "oral", "twice daily"),),
    "I48.91": (
        ("Apixaban", "5 mg", "oral", "twice daily"),
        ("Metoprolol succinate", "50 mg", "oral", "once daily"),
    ),
    "I25.10": (
        ("Aspirin", "81 mg", "oral", "once daily"),
        ("Nitroglycerin", "0.4 mg", "sublingual", "as needed for chest pain"),
    ),
    "M17.9": (("Acetaminophen", "650 mg", "oral", "every 8 hours as needed"),),
    "J45.40": (("Budesonide/formoterol", "160/4.5 mcg", "inhaled", "twice daily"),),
    "F03.90": (("Donepezil", "10 mg", "oral", "at bedtime"),),
    "E66.9": (),
    "E78.5": (
        ("Atorvastatin", "40 mg", "oral", "at bedtime"),
        ("Rosuvastatin", "10 mg", "oral", "once daily"),
    ),
}
GENERAL_MEDICATIONS = (
    ("Vitamin D3", "2000 units", "oral", "once daily"),
    ("Omeprazole", "20 mg", "oral", "once daily before breakfast"),
    ("Docusate sodium", "100 mg", "oral", "twice daily as needed"),
    ("Levothyroxine", "75 mcg", "oral", "once daily"),
    ("Gabapentin", "300 mg", "oral", "three times daily"),
    ("Tamsulosin", "0.4 mg", "oral", "once daily"),
    ("Potassium chloride", "20 mEq", "oral", "once daily"),
)
MEDICATION_STATUSES = (("active", 88), ("on-hold", 4), ("stopped", 5), ("completed", 3))

CARE_TEAM_EXTRA_ROLES = (
    ("caregiver", 35),
    ("pharmacist", 20),
    ("specialist", 25),
    ("social-worker", 10),
    ("home-health", 10),
)
CAREGIVER_RELATIONS = ("daughter", "son", "spouse", "wife", "husband", "niece", "grandson")
SPECIALTIES = ("Cardiology", "Pulmonology", "Endocrinology", "Nephrology", "Behavioral Health")

CONTACT_MODES = (
    (str(ContactMode.phone), 60),
    (str(ContactMode.home_visit), 14),
    (str(ContactMode.clinic_visit), 8),
    (str(ContactMode.telehealth), 11),
    (str(ContactMode.message), 5),
    (str(ContactMode.case_conference), 2),
)
CONTACT_WITH = (
    (str(ContactWith.patient), 76),
    (str(ContactWith.caregiver), 17),
    (str(ContactWith.provider), 7),
)
CONTACT_OUTCOMES = (
    (str(ContactOutcome.reached), 60),
    (str(ContactOutcome.no_answer), 11),
    (str(ContactOutcome.left_message), 15),
    (str(ContactOutcome.wrong_number), 1),
    (str(ContactOutcome.declined), 3),
    (str(ContactOutcome.agreed_to_visit), 10),
)
# Neutral notes by outcome: no diagnoses or values, as a real note would hold
# far more, but enough to read like a contact log.
CONTACT_NOTES = {
    "reached": (
        "Reviewed symptoms and medications; no new concerns reported.",
        "Discussed upcoming appointments and transport.",
        "Reviewed weight and blood pressure log; reinforced teaching.",
        "Went over the action plan for worsening symptoms.",
        "Checked understanding of new medication schedule.",
        "Discussed diet and activity goals; patient engaged.",
        "Confirmed refills picked up; pill organiser in use.",
        "Followed up after specialist visit; plan unchanged.",
    ),
    "no-answer": ("No answer; will try again tomorrow.", "Phone rang out, no voicemail."),
    "left-message": (
        "Left message asking for a call back.",
        "Voicemail left with call-back number.",
    ),
    "wrong-number": ("Number on file reached someone else; updating contact details.",),
    "declined": ("Patient declined a call today; asked to be contacted next week.",),
    "agreed-to-visit": (
        "Patient agreed to a home visit next week.",
        "Scheduled a visit to review medications in the home.",
    ),
}

REFERRAL_PRIORITIES = (("routine", 70), ("urgent", 15), ("asap", 10), ("stat", 5))
REFERRAL_STATUS_WEIGHTS = (
    ("draft", 5),
    ("requested", 16),
    ("received", 8),
    ("accepted", 9),
    ("rejected", 4),
    ("ready", 3),
    ("cancelled", 5),
    ("in-progress", 16),
    ("on-hold", 4),
    ("failed", 3),
    ("completed", 25),
    ("entered-in-error", 2),
)
# Path from draft to each status; every step is checked against the state
# machine when the module's vocabulary is built (see _legal_paths).
_REFERRAL_PATHS = {
    "draft": ("draft",),
    "requested": ("draft", "requested"),
    "received": ("draft", "requested", "received"),
    "accepted": ("draft", "requested", "received", "accepted"),
    "rejected": ("draft", "requested", "rejected"),
    "ready": ("draft", "ready"),
    "cancelled": ("draft", "requested", "cancelled"),
    "in-progress": ("draft", "requested", "accepted", "in-progress"),
    "on-hold": ("draft", "requested", "accepted", "in-progress", "on-hold"),
    "failed": ("draft", "requested", "accepted", "in-progress", "failed"),
    "completed": ("draft", "requested", "received", "accepted", "in-progress", "completed"),
    "entered-in-error": ("draft", "requested", "entered-in-error"),
}
TRANSITION_REASONS = {
    "rejected": (
        "Outside the agency's service area",
        "No capacity for new patients this month",
        "Insurance not accepted by the provider",
    ),
    "cancelled": (
        "Patient declined the service",
        "Service no longer needed after clinic visit",
        "Duplicate request",
    ),
    "on-hold": ("Patient admitted to hospital", "Patient travelling; resume on return"),
    "failed": ("Patient could not be reached after three attempts",),
    "entered-in-error": ("Entered on the wrong patient",),
}
REFERRAL_SERVICES = {
    str(ServiceType.home_health): (
        "Home Health",
        "Skilled nursing visits for medication management and symptom monitoring",
        "Skilled nursing visits completed; patient managing medications independently",
    ),
    str(ServiceType.physical_therapy): (
        "Physical Therapy",
        "Gait and balance training after a fall",
        "Completed 8 sessions; walks with a cane, no further falls",
    ),
    str(ServiceType.occupational_therapy): (
        "Occupational Therapy",
        "Home safety evaluation and adaptive equipment",
        "Home safety evaluation done; grab bars and shower chair in place",
    ),
    str(ServiceType.durable_medical_equipment): (
        "Medical Supply",
        "Hospital bed and rolling walker",
        "Equipment delivered and fitted",
    ),
    str(ServiceType.social_work): (
        "Community Social Services",
        "Help applying for utility assistance and meal delivery",
        "Enrolled in meal delivery; utility assistance approved",
    ),
    str(ServiceType.behavioral_health): (
        "Behavioral Health",
        "Counselling for depressive symptoms",
        "Attending weekly counselling; PHQ-9 improving",
    ),
    str(ServiceType.nutrition): (
        "Nutrition Services",
        "Medical nutrition therapy for diabetes and heart failure",
        "Two dietitian visits completed; meal plan in use",
    ),
    str(ServiceType.specialist): (
        "Specialty Clinic",
        "Specialist review of worsening symptoms",
        "Seen by specialist; plan sent to PCP",
    ),
    str(ServiceType.community_resource): (
        "Senior Center",
        "Transport to appointments and social programme",
        "Transport scheduled for all appointments",
    ),
    str(ServiceType.hospice_palliative): (
        "Hospice and Palliative Care",
        "Palliative care consultation for goals of care",
        "Goals-of-care conversation held; palliative team following",
    ),
}

# Omaha problems with goals and interventions that fit them.
# goals: (description, target measure, target value); interventions: (category, text, frequency)
CARE_PLAN_PROBLEMS = (
    (
        "medication-regimen",
        "high-priority",
        (
            ("The patient will take all medications as prescribed", "missed doses per week", "0"),
            ("The patient will bring all medicine bottles to each visit", "visits", "every"),
        ),
        (
            ("teaching-guidance-counseling", "Teach purpose and side effects of each medication"),
            ("treatments-procedures", "Set up weekly pill organiser"),
            ("case-management", "Coordinate refills with pharmacy"),
            ("surveillance", "Check pill organiser for missed doses"),
        ),
    ),
    (
        "circulation",
        "high-priority",
        (
            (
                "The patient will weigh self daily and record the weight",
                "days logged per week",
                "7",
            ),
            ("The patient will keep blood pressure below 140/90", "blood pressure", "<140/90"),
        ),
        (
            ("teaching-guidance-counseling", "Teach heart failure warning signs and when to call"),
            ("surveillance", "Review daily weight and blood pressure log"),
            ("case-management", "Arrange cardiology follow-up"),
        ),
    ),
    (
        "respiration",
        "high-priority",
        (
            ("The patient will use inhalers with correct technique", "technique check", "passed"),
            ("The patient will have no ED visits for breathing problems", "ED visits", "0"),
        ),
        (
            ("teaching-guidance-counseling", "Teach inhaler technique with teach-back"),
            ("surveillance", "Monitor breathlessness and sputum changes"),
            ("case-management", "Refer to pulmonary rehabilitation"),
        ),
    ),
    (
        "nutrition",
        "medium-priority",
        (
            ("The patient will follow a 2 g sodium diet", "days on plan per week", "5"),
            ("The patient will keep HbA1c below 8%", "HbA1c", "<8%"),
        ),
        (
            ("teaching-guidance-counseling", "Teach label reading for sodium and carbohydrate"),
            ("case-management", "Refer to dietitian"),
            ("surveillance", "Review food diary"),
        ),
    ),
    (
        "mental-health",
        "high-priority",
        (
            ("The patient will report a PHQ-9 below 10", "PHQ-9 total", "<10"),
            ("The patient will attend counselling sessions", "sessions attended", "4"),
        ),
        (
            ("surveillance", "Repeat PHQ-9 every 4 weeks"),
            ("case-management", "Coordinate with behavioral health"),
            ("teaching-guidance-counseling", "Review coping plan and crisis line number"),
        ),
    ),
    (
        "physical-activity",
        "medium-priority",
        (("The patient will walk 15 minutes on 5 days a week", "active days per week", "5"),),
        (
            ("teaching-guidance-counseling", "Set a graded walking plan"),
            ("surveillance", "Review activity log"),
        ),
    ),
    (
        "healthcare-supervision",
        "medium-priority",
        (
            ("The patient will keep all scheduled appointments", "missed appointments", "0"),
            ("The patient will have a named PCP and know how to reach them", "PCP named", "yes"),
        ),
        (
            ("case-management", "Arrange transport to appointments"),
            ("case-management", "Send visit summary to PCP"),
            ("surveillance", "Confirm appointments attended"),
        ),
    ),
    (
        "pain",
        "medium-priority",
        (("The patient will report pain at 3 of 10 or less", "pain score", "<=3"),),
        (
            ("teaching-guidance-counseling", "Teach non-drug pain relief"),
            ("surveillance", "Rate pain at each contact"),
        ),
    ),
    (
        "neuromusculoskeletal-function",
        "high-priority",
        (("The patient will have no falls", "falls per month", "0"),),
        (
            ("case-management", "Refer to physical therapy for balance training"),
            ("treatments-procedures", "Remove trip hazards during home visit"),
            ("surveillance", "Ask about falls and near-falls"),
        ),
    ),
    (
        "income",
        "low-priority",
        (("The patient will apply for medication assistance", "application", "submitted"),),
        (("case-management", "Refer to social work for benefits review"),),
    ),
    (
        "social-contact",
        "low-priority",
        (("The patient will attend a community programme weekly", "visits per week", "1"),),
        (("case-management", "Connect with senior center programme"),),
    ),
    (
        "cognition",
        "medium-priority",
        (("The caregiver will supervise medications daily", "days supervised", "7"),),
        (
            ("teaching-guidance-counseling", "Teach caregiver medication supervision"),
            ("surveillance", "Screen for changes in memory and safety at home"),
        ),
    ),
)
FREQUENCIES = ("weekly", "every 2 weeks", "monthly", "each contact", "once")

TASK_TEXTS = (
    "Call to review blood sugar log",
    "Confirm PCP follow-up appointment",
    "Review medication list with pharmacist",
    "Check that the rolling walker was delivered",
    "Send care plan update to PCP",
    "Call caregiver about respite options",
    "Follow up on lab results with PCP office",
    "Confirm transport for cardiology visit",
    "Review weight log after diuretic change",
    "Schedule home visit for medication reconciliation",
    "Mail low-sodium diet handout",
    "Check pharmacy refill history",
)
SNOOZE_REASONS = ("Patient travelling until next week", "Waiting for caregiver to return")
EPISODE_HOLD_REASONS = ("Patient admitted to hospital", "Patient staying with family out of state")
EPISODE_CLOSURE_REASONS = ("Goals met", "Moved out of the service area", "Transferred to hospice")
FACILITIES = (
    "St. Mary Medical Center",
    "Riverside General Hospital",
    "Valley Regional Medical Center",
    "Mercy Hospital",
    "University Hospital",
)
AREA_CODES = ("503", "971", "360", "206", "253", "425", "541", "208")


# ------------------------------------------------------------------- results


@dataclass(frozen=True)
class SeedSummary:
    """What one seeding run loaded and how long it took."""

    patients: int
    nurses: int
    rows_by_table: dict[str, int]
    seconds: float


class SeedStopped(Exception):
    """A seed stopped half-way: its committed chunks stay, whole and audited.

    ``committed`` patients of the ``requested`` were written; ``reason`` says
    why the rest were not (one line, no patient data).
    """

    def __init__(self, committed: int, requested: int, reason: str) -> None:
        if committed:
            message = (
                f"seeding stopped after {committed:,} of {requested:,} patients ({reason});"
                f" the {committed:,} written are kept, each with its audit events"
            )
        else:
            message = f"seeding stopped before any of {requested:,} patients was written ({reason})"
        super().__init__(message)
        self.committed = committed
        self.requested = requested
        self.reason = reason


def demo_nurse_username(engine: Engine) -> str | None:
    """The username the demo signs in as: the first demo nurse, else the first nurse."""
    usernames = [name for name, _, _, _ in DEMO_NURSES]
    with engine.connect() as connection:
        present = set(
            connection.execute(select(Nurse.username).where(Nurse.username.in_(usernames)))
            .scalars()
            .all()
        )
        for username in usernames:
            if username in present:
                return username
        return connection.execute(select(Nurse.username).order_by(Nurse.id).limit(1)).scalar()


def seed_database(
    engine: Engine,
    clock: Clock,
    patients: int = 200,
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
    *,
    parallel: bool | None = None,
    chunk_patients: int = CHUNK_PATIENTS,
) -> SeedSummary:
    """Fill a migrated database with a deterministic synthetic caseload.

    ``patients`` patients are spread over the demo nurses (existing nurses with
    the demo usernames are reused). ``progress(done)`` is called after each
    committed chunk with the number of patients loaded so far. ``parallel``
    builds the rows in a child process while this one writes; None decides by
    size (from PARALLEL_FROM_PATIENTS on). Both ways give the same rows.
    ``chunk_patients`` patients go into each write transaction: another writer
    waits for one chunk at most.

    An error after the first chunk raises :class:`SeedStopped`, saying how
    many patients were committed.
    """
    if isinstance(patients, bool) or not isinstance(patients, int) or patients < 0:
        raise ValueError("patients must be a whole number, 0 or more")
    started = timer.perf_counter()
    loader = _Loader(engine, clock)
    rows_by_table = dict.fromkeys((*TABLE_ORDER, "audit_event"), 0)

    with _bulk_transaction(engine, loader) as connection:
        loader.read_state(connection)
        nurse_rows = loader.nurse_rows(connection, nurse_roster(patients))
        loader.write(connection, {"nurse": nurse_rows}, rows_by_table)

    # The generator numbers rows from a copy of the next free ids; the loader
    # keeps numbering the audit events it writes.
    plan = _GenerationPlan(
        today=clock.today(),
        now=clock.now(),
        seed=seed,
        raw_sqlite=loader.raw,
        nurse_ids=tuple(loader.nurse_ids),
        nurse_shares=tuple(share for _, _, _, share in nurse_roster(patients)),
        next_ids=dict(loader.next_id),
        patients=patients,
        chunk_patients=chunk_patients,
    )
    if parallel is None:
        parallel = patients >= PARALLEL_FROM_PATIENTS
    chunks = _chunks_from_process(plan) if parallel else _chunks_in_process(plan)
    done = 0
    # closing(): an error while writing stops the child process at once, not
    # whenever the traceback holding this generator is collected.
    with closing(chunks):
        try:
            for size, tables in chunks:
                with _bulk_transaction(engine, loader) as connection:
                    loader.claim(connection, tables)
                    loader.write(connection, tables, rows_by_table)
                done += size
                if progress is not None:
                    progress(done)
                if done < patients:
                    let_waiting_writers_in(engine)
        except Exception as error:
            # The chunk being written rolled back whole; the committed ones stay.
            raise SeedStopped(done, patients, _reason(error)) from error

    # Fresh statistics, so the planner picks the nurse's indexes from the start.
    optimize(engine, full=True)
    return SeedSummary(
        patients=patients,
        nurses=len(loader.nurse_ids),
        rows_by_table=rows_by_table,
        seconds=timer.perf_counter() - started,
    )


def _reason(error: Exception) -> str:
    """One line on why a chunk failed: the driver's message, not the SQL or its values."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    return first_line[:200]


@dataclass(frozen=True)
class _GenerationPlan:
    """Everything the row generator needs: plain values, so a child process can take it."""

    today: date
    now: datetime
    seed: int
    raw_sqlite: bool
    nurse_ids: tuple[int, ...]
    nurse_shares: tuple[float, ...]
    next_ids: dict[str, int]
    patients: int
    chunk_patients: int

    def generator(self) -> _CaseloadGenerator:
        """A fresh generator; the same plan always gives the same rows."""
        return _CaseloadGenerator(self)


def _chunks_in_process(plan: _GenerationPlan) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    """Build the chunks here, one at a time: (patients in the chunk, rows by table)."""
    generator = plan.generator()
    done = 0
    while done < plan.patients:
        size = min(plan.chunk_patients, plan.patients - done)
        yield size, generator.chunk(done, size, plan.patients)
        done += size


def _generate_into_queue(plan: _GenerationPlan, chunks) -> None:
    """Child process: build every chunk in order; None marks the end, text an error."""
    _exit_with_parent()
    try:
        for item in _chunks_in_process(plan):
            chunks.put(item)
        chunks.put(None)
    except BaseException:  # the parent raises it; a child must not die silently
        chunks.put(traceback.format_exc())


def _exit_with_parent() -> None:
    """Child process: exit at once when the parent dies, however it died.

    A parent killed by SIGKILL (or SIGTERM, which runs no cleanup) never
    terminates its child, and the child would wait for ever to hand over a
    chunk nobody reads. ``parent_process().join()`` waits on the parent's
    sentinel, which the operating system signals when the parent exits for any
    reason, on every platform that has "spawn".
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)  # no cleanup: nothing of the child is worth keeping

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _chunks_from_process(plan: _GenerationPlan) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    """Build the chunks in a child process while this one writes them.

    Building the tuples costs about a third of a large seed; on a machine with
    two cores it overlaps with SQLite writing the previous chunk. A thread would
    not help: the sqlite3 module takes the GIL back for every row it binds.
    "spawn" works the same on every platform and copies no open connection.
    """
    context = multiprocessing.get_context("spawn")
    chunks = context.Queue(maxsize=2)
    process = context.Process(target=_generate_into_queue, args=(plan, chunks), daemon=True)
    process.start()
    try:
        while True:
            try:
                item = chunks.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError("the demo data generator stopped unexpectedly") from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"the demo data generator failed:\n{item}")
            yield item
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        chunks.close()


@contextmanager
def _bulk_transaction(engine: Engine, loader: _Loader) -> Iterator[Connection]:
    """One write transaction, with a larger page cache on SQLite while it lasts.

    The loader writes explicit ids; on a server the id sequences are moved past
    them before the transaction commits (``nursecase.db.bulk``).
    """
    with engine.begin() as connection:
        begin_write(connection)  # queue behind other writers on a server, as on SQLite
        with bulk_cache(connection, BULK_CACHE_KIB):
            yield connection
        reset_id_sequences(connection, (model.__table__ for model in ALL_TABLES))


# ------------------------------------------------------------------- loading


class _Formats:
    """Dates and times as the inserts want them.

    For SQLite the text comes from SQLAlchemy's own bind processors, so the
    stored format is exactly what every service's queries compare against;
    other databases take the Python objects through Core inserts.
    """

    def __init__(self, raw_sqlite: bool) -> None:
        self.raw_sqlite = raw_sqlite
        self._date_processor = None
        self._moment_processor = None
        if raw_sqlite:
            dialect = sqlite_dialect.dialect()
            self._date_processor = Date().dialect_impl(dialect).bind_processor(dialect)
            self._moment_processor = DateTime().dialect_impl(dialect).bind_processor(dialect)

    def day(self, value: date) -> date | str:
        """A date as the insert wants it."""
        if self._date_processor is not None:
            return self._date_processor(value)
        return value

    def moment(self, value: datetime) -> datetime | str:
        """A datetime as the insert wants it."""
        if self._moment_processor is not None:
            return self._moment_processor(value)
        return value


class _Loader:
    """Ids, value formats and the inserts; one instance per seeding run."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.dialect = engine.dialect
        self.clock = clock
        # SQLite gets pre-formatted text and plain DB-API executemany (the bind
        # processors run once per distinct value, not once per row); other
        # databases get Python objects through Core inserts.
        self.raw = is_sqlite(engine)
        self.formats = _Formats(self.raw)
        self.next_id: dict[str, int] = {}
        self.nurse_ids: list[int] = []
        self.last_hash = GENESIS_HASH
        self._statements = {
            name: str(
                insert(_TABLES[name]).compile(dialect=self.dialect, column_keys=list(columns))
            )
            for name, columns in COLUMNS.items()
        }

    def read_state(self, connection: Connection) -> None:
        """Read the next free id of every table and the audit chain's last hash."""
        for name in COLUMNS:
            table = _TABLES[name]
            highest = connection.execute(select(func.max(table.c.id))).scalar()
            self.next_id[name] = (highest or 0) + 1
        last = connection.execute(
            select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar()
        self.last_hash = last or GENESIS_HASH
        # HMAC-seal under the key if the database has one (see audit.current_anchor).
        self.audit_anchor = current_anchor(connection.engine)

    def nurse_rows(self, connection: Connection, roster) -> list[tuple]:
        """Rows for the roster's nurses not yet in the database; fills ``nurse_ids``.

        A nurse who already holds a roster username is reused, so seeding twice
        adds patients to the same nurses.
        """
        usernames = [name for name, _, _, _ in roster]
        query = select(Nurse.username, Nurse.id).where(Nurse.username.in_(usernames))
        existing = {username: nurse_id for username, nurse_id in connection.execute(query)}
        created = self.formats.moment(
            datetime.combine(self.clock.today() - timedelta(days=400), time(8))
        )
        rows = []
        for username, display_name, credentials, _share in roster:
            nurse_id = existing.get(username)
            if nurse_id is None:
                nurse_id = self.take_ids("nurse", 1)
                rows.append((nurse_id, username, display_name, credentials, True, created))
            self.nurse_ids.append(nurse_id)
        return rows

    def take_ids(self, table: str, count: int) -> int:
        """Reserve ``count`` ids of ``table``; return the first."""
        first = self.next_id[table]
        self.next_id[table] = first + count
        return first

    def claim(self, connection: Connection, tables: dict[str, list[tuple]]) -> None:
        """Make a chunk's planned ids free ones, in its transaction, under the write lock.

        The generator numbered the chunk's rows from the ids free when the seed
        began. Another writer (a nurse's save, an export's audit event) may
        have taken some since: read the audit chain's tail and each table's
        next free id now, and move the rows of a table whose ids were taken
        past them, with every reference to them. A chunk's rows refer only to
        rows of the same chunk and to the nurses, so moving a chunk never
        touches another.
        """
        last = connection.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        self.next_id["audit_event"] = (last.id if last is not None else 0) + 1
        self.last_hash = last.hash if last is not None else GENESIS_HASH
        moves: dict[str, tuple[int, int]] = {}
        for name, rows in tables.items():
            if not rows:
                continue
            planned = min(row[0] for row in rows)
            table = _TABLES[name]
            free = (connection.execute(select(func.max(table.c.id))).scalar() or 0) + 1
            if free > planned:
                moves[name] = (planned, free - planned)
        if moves:
            _move_rows(tables, moves)

    def write(
        self,
        connection: Connection,
        tables: dict[str, list[tuple]],
        rows_by_table: dict[str, int],
    ) -> None:
        """Insert each table's rows in foreign-key order, then one audit event per table."""
        now = self.clock.now()
        audit_rows: list[tuple] = []
        occurred_at = self.formats.moment(now)
        for name in TABLE_ORDER:
            rows = tables.get(name)
            if not rows:
                continue
            self._insert(connection, name, rows)
            rows_by_table[name] += len(rows)
            changed_fields = f"bulk-seed:{len(rows)}"
            digest = seal(
                self.audit_anchor, self.last_hash, now, None, "create", name, None, changed_fields
            )
            audit_rows.append(
                (
                    self.take_ids("audit_event", 1),
                    occurred_at,
                    None,
                    "create",
                    name,
                    None,
                    changed_fields,
                    self.last_hash,
                    digest,
                )
            )
            self.last_hash = digest
        if audit_rows:
            self._insert(connection, "audit_event", audit_rows)
            rows_by_table["audit_event"] += len(audit_rows)

    def _insert(self, connection: Connection, name: str, rows: list[tuple]) -> None:
        if self.raw:
            connection.exec_driver_sql(self._statements[name], rows)
        else:
            columns = COLUMNS[name]
            connection.execute(
                insert(_TABLES[name]), [dict(zip(columns, row, strict=True)) for row in rows]
            )


def _references(name: str) -> list[tuple[int, str]]:
    """(position in the row, table referred to) of each foreign-key column of a table."""
    table = _TABLES[name]
    return [
        (position, foreign_key.column.table.name)
        for position, column in enumerate(COLUMNS[name])
        for foreign_key in table.c[column].foreign_keys
    ]


def _move_rows(tables: dict[str, list[tuple]], moves: dict[str, tuple[int, int]]) -> None:
    """Shift ids in place: ``moves[table] = (first planned id, shift)``.

    A row's own id moves with its table's shift; a reference moves with the
    shift of the table it names when it points at a row of this chunk (an id
    from the first planned one on), never when it names an older row (a nurse).
    """
    coded = {name: (code, column, targets) for name, code, column, targets in CODED_REFERENCES}
    for name, rows in tables.items():
        if not rows:
            continue
        own = moves.get(name)
        references = [
            (position, moves[target]) for position, target in _references(name) if target in moves
        ]
        coded_reference = None
        if name in coded:
            code, column, targets = coded[name]
            columns = COLUMNS[name]
            coded_reference = (columns.index(code), columns.index(column), targets)
        if own is None and not references and coded_reference is None:
            continue
        moved: list[tuple] = []
        for row in rows:
            values = list(row)
            if own is not None:
                values[0] += own[1]
            for position, (first, shift) in references:
                value = values[position]
                if value is not None and value >= first:
                    values[position] = value + shift
            if coded_reference is not None:
                code_position, id_position, targets = coded_reference
                target_move = moves.get(targets.get(values[code_position], ""))
                value = values[id_position]
                if target_move is not None and value is not None and value >= target_move[0]:
                    values[id_position] = value + target_move[1]
            moved.append(tuple(values))
        rows[:] = moved


# ---------------------------------------------------------------- generation


def _weighted(pairs: Sequence[tuple[object, int]]) -> tuple:
    """Expand (value, weight) pairs into a lookup list picked by one random index."""
    expanded: list = []
    for value, weight in pairs:
        expanded.extend([value] * weight)
    return tuple(expanded)


def _legal_paths() -> dict[str, tuple[str, ...]]:
    """The referral paths, each step checked against the domain state machine."""
    for target, path in _REFERRAL_PATHS.items():
        if path[-1] != target or path[0] != str(ReferralStatus.draft):
            raise AssertionError(f"referral path for {target} must run from draft to {target}")
        for current, following in zip(path, path[1:], strict=False):
            if following not in allowed_next(current):
                raise AssertionError(f"illegal referral step {current} -> {following}")
    if set(_REFERRAL_PATHS) != {str(status) for status in ReferralStatus}:
        raise AssertionError("every referral status needs a path")
    return dict(_REFERRAL_PATHS)


class _AnswerPools:
    """Answer sets scored once by the domain instruments, then reused by index.

    Each entry is (answers as (item code, value) pairs, Score). Scoring every
    generated assessment would cost more than the rest of a patient together;
    scoring a few hundred distinct answer sets up front gives the same stored
    totals, bands and summaries, because the domain scores them.
    """

    def __init__(self, rng: random.Random) -> None:
        self.by_total: dict[str, dict[int, list[tuple[tuple, Score]]]] = {}
        self.sorted_pool: dict[str, list[tuple[tuple, Score]]] = {}
        self._lace: dict[tuple[int, bool, int, int], tuple[tuple, Score]] = {}
        for code in ("phq-9", "gad-7", "phq-2"):
            self._build_frequency_pool(code, rng)
        for code in ("morse", "braden", "katz-adl"):
            self._build_random_pool(code, rng, 160)
        self.safety = self._build_safety_pool(rng)

    def _entry(self, code: str, answers: dict[str, int]) -> tuple[tuple, Score]:
        score = get_instrument(code).score(answers)
        return tuple(answers.items()), score

    def _build_frequency_pool(self, code: str, rng: random.Random) -> None:
        """For each possible total, several answer sets that add up to it (item 9 kept 0)."""
        definition = get_instrument(code)
        codes = [item.code for item in definition.items if item.code != SAFETY_ITEM]
        by_total: dict[int, list[tuple[tuple, Score]]] = {}
        for total in range(0, 3 * len(codes) + 1):
            entries = []
            for _ in range(6):
                values = dict.fromkeys(codes, 0)
                remaining = total
                while remaining:
                    item_code = codes[rng.randrange(len(codes))]
                    if values[item_code] < 3:
                        values[item_code] += 1
                        remaining -= 1
                if code == "phq-9":
                    values[SAFETY_ITEM] = 0
                answers = {item.code: values[item.code] for item in definition.items}
                entries.append(self._entry(code, answers))
            by_total[total] = entries
        self.by_total[code] = by_total

    def _build_random_pool(self, code: str, rng: random.Random, size: int) -> None:
        """Random answer sets sorted by total, for trends picked by position."""
        definition = get_instrument(code)
        pool = []
        for _ in range(size):
            answers = {item.code: rng.choice(item.values) for item in definition.items}
            pool.append(self._entry(code, answers))
        pool.sort(key=lambda entry: entry[1].total)
        self.sorted_pool[code] = pool

    def _build_safety_pool(self, rng: random.Random) -> list[tuple[tuple, Score]]:
        """PHQ-9 answer sets with item 9 above 0 (moderate to severe totals)."""
        entries = []
        for total_entries in (self.by_total["phq-9"][total] for total in range(9, 20)):
            answers_pairs, _ = total_entries[rng.randrange(len(total_entries))]
            answers = dict(answers_pairs)
            answers[SAFETY_ITEM] = 1 + rng.randrange(2)
            entries.append(self._entry("phq-9", answers))
        return entries

    def frequency(self, code: str, total: int, pick: float) -> tuple[tuple, Score]:
        """An answer set of ``code`` adding up to ``total`` (clamped to the range)."""
        by_total = self.by_total[code]
        total = max(0, min(total, len(by_total) - 1))
        entries = by_total[total]
        return entries[int(pick * len(entries))]

    def positional(self, code: str, position: float) -> tuple[tuple, Score]:
        """The answer set at ``position`` (0 lowest total .. 1 highest) of a random pool."""
        pool = self.sorted_pool[code]
        index = max(0, min(len(pool) - 1, int(position * len(pool))))
        return pool[index]

    def lace(self, length_of_stay: int, acute: bool, charlson: int, ed_visits: int) -> tuple:
        """LACE answers and score for the raw facts (cached)."""
        key = (length_of_stay, acute, charlson, ed_visits)
        entry = self._lace.get(key)
        if entry is None:
            entry = self._entry("lace", lace_answers(*key))
            self._lace[key] = entry
        return entry


class _Pools:
    """Names, streets, cities and organisations from a seeded Faker, built once."""

    def __init__(self, seed: int) -> None:
        from faker import Faker  # imported here: Faker is slow to import and only seeds need it

        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.given = {
            "female": tuple(dict.fromkeys(fake.first_name_female() for _ in range(260))),
            "male": tuple(dict.fromkeys(fake.first_name_male() for _ in range(260))),
        }
        self.given["other"] = self.given["female"][:40] + self.given["male"][:40]
        self.given["unknown"] = self.given["other"]
        self.family = tuple(dict.fromkeys(fake.last_name() for _ in range(900)))
        self.streets = tuple(fake.street_address() for _ in range(500))
        self.places = tuple(
            f"{fake.city()}, {fake.state_abbr(include_territories=False)} {fake.zipcode()}"
            for _ in range(150)
        )
        self.companies = tuple(fake.company() for _ in range(60))
        self.towns = tuple(dict.fromkeys(place.split(",")[0] for place in self.places))
        self.keys: dict[str, str] = {}

    def key(self, name: str) -> str:
        """The search key of a pooled name (cached: names repeat across patients)."""
        cached = self.keys.get(name)
        if cached is None:
            cached = search_key(name)
            self.keys[name] = cached
        return cached


#: TCM contacts drawn from the TCM generator (attempts, a late call).
_ADDED_TCM_KINDS = frozenset({"no-answer", "left-message", "late-interactive"})


@dataclass(frozen=True)
class _PlannedDischarge:
    """A discharge whose rows wait for the patient's contact log (see ``_transition_rows``)."""

    transition_id: int
    patient_id: int
    nurse_id: int
    discharge_ago: int
    high_complexity: bool
    length_of_stay: int
    facility: str


class _CaseloadGenerator:
    """Builds the rows of each chunk of patients as tuples in COLUMNS order."""

    def __init__(self, plan: _GenerationPlan) -> None:
        self.rng = random.Random(plan.seed)
        # Risk bases and CCM enrolments draw from their own stream, so that
        # they leave every other row of the caseload as it was.
        self.basis_rng = random.Random(plan.seed * 7919 + 16)
        # The TCM attempts and late calls draw from their own generator, so that
        # adding them left every other row of a seed as it was.
        self.tcm_rng = random.Random(f"tcm:{plan.seed}")
        self.formats = _Formats(plan.raw_sqlite)
        self.today = plan.today
        self.now = plan.now
        self.ids = dict(plan.next_ids)
        self.pools = _Pools(plan.seed)
        self.answers = _AnswerPools(self.rng)
        self.paths = _legal_paths()
        # One multiplier and offset per seed turn patient ids into distinct MRNs
        # (an affine map modulo 10**7 with a multiplier prime to 10 is a bijection).
        self.mrn_multiplier = self.rng.choice((7919, 104729, 1299709, 15485863, 32452843))
        self.mrn_offset = self.rng.randrange(10**7)
        self._days: dict[int, date | str] = {}
        self._moments: dict[int, datetime | str] = {}
        self._business_deadline: dict[int, int] = {}
        self.languages = _weighted(LANGUAGES)
        self.sexes = _weighted(SEXES)
        self.tiers = _weighted(RISK_TIERS)
        self.conditions = _weighted(tuple((entry, entry[2]) for entry in CONDITIONS))
        self.condition_statuses = _weighted(CONDITION_STATUSES)
        self.medication_statuses = _weighted(MEDICATION_STATUSES)
        self.extra_roles = _weighted(CARE_TEAM_EXTRA_ROLES)
        self.modes = _weighted(CONTACT_MODES)
        self.with_whom = _weighted(CONTACT_WITH)
        self.outcomes = _weighted(CONTACT_OUTCOMES)
        self.referral_priorities = _weighted(REFERRAL_PRIORITIES)
        self.referral_statuses = _weighted(REFERRAL_STATUS_WEIGHTS)
        self.nurse_shares = _weighted(
            tuple(
                (nurse_id, max(1, int(share * 100)))
                for nurse_id, share in zip(plan.nurse_ids, plan.nurse_shares, strict=True)
            )
        )
        self.forced_referral_statuses = [str(status) for status in ReferralStatus]
        self.safety_case_done = False
        # Per-patient facts shared between the builders of one patient's rows.
        self._start_ago = 0
        self._transition_lace = (0, 0)
        # The contacts of the patient being built, (days ago, slot, mode, with whom,
        # outcome), from which the TCM steps are worked out (see _transition_rows).
        self._patient_contacts: list[tuple[int, int, str, str, str]] = []
        self._pending_transition: _PlannedDischarge | None = None
        # Readings draw from a random stream of their own (see demo_readings).
        self.readings = ReadingsBuilder(
            plan.seed,
            plan.today,
            self.ids,
            self.day,
            self.moment,
            self.formats.moment,
            showcase_nurse=plan.nurse_ids[0] if plan.nurse_ids else None,
        )

    # ------------------------------------------------------------ formatting

    def day(self, offset: int) -> date | str:
        """The date ``offset`` days from today, formatted for the loader (cached)."""
        value = self._days.get(offset)
        if value is None:
            value = self.formats.day(self.today + timedelta(days=offset))
            self._days[offset] = value
        return value

    def moment(self, offset: int, slot: int) -> datetime | str:
        """A time on the day ``offset`` from today; ``slot`` counts 5 minutes from 07:00."""
        key = offset * 1000 + slot
        value = self._moments.get(key)
        if value is None:
            moment = datetime.combine(self.today + timedelta(days=offset), time(7)) + timedelta(
                minutes=5 * slot
            )
            value = self.formats.moment(moment)
            self._moments[key] = value
        return value

    def interactive_deadline(self, offset: int) -> int:
        """Offset of the 2nd business day after the day at ``offset`` (TCM window)."""
        deadline = self._business_deadline.get(offset)
        if deadline is None:
            start = self.today + timedelta(days=offset)
            deadline = (add_business_days(start, 2) - self.today).days
            self._business_deadline[offset] = deadline
        return deadline

    # ---------------------------------------------------------------- chunks

    def chunk(self, start_index: int, size: int, total_patients: int) -> dict[str, list[tuple]]:
        """Rows of every table for patients ``start_index .. start_index + size``."""
        self.tables: dict[str, list[tuple]] = {name: [] for name in TABLE_ORDER}
        for index in range(start_index, start_index + size):
            self._patient(index, total_patients)
        return self.tables

    def _next(self, table: str) -> int:
        identifier = self.ids[table]
        self.ids[table] = identifier + 1
        return identifier

    def _patient(self, index: int, total_patients: int) -> None:
        random_value = self.rng.random
        tables = self.tables
        pools = self.pools
        patient_id = self._next("patient")
        nurse_id = self.nurse_shares[int(random_value() * len(self.nurse_shares))]

        sex = self.sexes[int(random_value() * len(self.sexes))]
        language = self.languages[int(random_value() * len(self.languages))]
        name_sex = (
            sex if sex in ("female", "male") else ("female" if random_value() < 0.5 else "male")
        )
        if language == "Spanish":
            family = SPANISH_FAMILY[int(random_value() * len(SPANISH_FAMILY))]
            given_pool = SPANISH_GIVEN[name_sex]
        elif language == "Vietnamese":
            family = VIETNAMESE_FAMILY[int(random_value() * len(VIETNAMESE_FAMILY))]
            given_pool = VIETNAMESE_GIVEN[name_sex]
        else:
            family = pools.family[int(random_value() * len(pools.family))]
            given_pool = pools.given[name_sex]
        given = given_pool[int(random_value() * len(given_pool))]
        age_days = 35 * 365 + int(random_value() * 60 * 365)
        tier = self.tiers[int(random_value() * len(self.tiers))]
        phone, phone_digits = self._phone()
        address = (
            f"{pools.streets[int(random_value() * len(pools.streets))]}, "
            f"{pools.places[int(random_value() * len(pools.places))]}"
        )
        mrn = str(10**7 + (patient_id * self.mrn_multiplier + self.mrn_offset) % 10**7)

        # Episode: most active, a few on hold or finished.
        episode_roll = random_value()
        episode_status = "active"
        if episode_roll < 0.03:
            episode_status = "onhold"
        elif episode_roll < 0.05:
            episode_status = "finished"
        start_ago = 20 + int(random_value() * 700)
        self._start_ago = start_ago
        episode_created = self.moment(-start_ago, 24 + int(random_value() * 90))
        self._episode(patient_id, nurse_id, episode_status, start_ago, episode_created)

        # Transitions: a few recent discharges (open TCM clocks), some older ones.
        transition_roll = random_value()
        discharge_ago = None
        if transition_roll < 0.04 or index == 0:
            discharge_ago = 1 + int(random_value() * 10)  # within the last 10 days
        elif transition_roll < 0.08:
            discharge_ago = 15 + int(random_value() * 60)
        if discharge_ago is not None and discharge_ago >= start_ago:
            discharge_ago = None
        tcm_contacts: list[tuple[int, str]] = []
        self._pending_transition = None
        if discharge_ago is not None:
            tcm_contacts = self._transition(patient_id, nurse_id, discharge_ago, index == 0)

        # Contacts: the newest sets last_contact_at and, with the tier's
        # cadence, next_contact_due, so some patients are overdue today.
        cadence = DEFAULT_CADENCE_DAYS[tier]
        newest_ago = min(1 + int(random_value() * (cadence + 9)), start_ago)
        for days_ago, kind in tcm_contacts:
            if kind in ("interactive", "face-to-face"):
                newest_ago = min(newest_ago, days_ago)
        last_contact = self._contacts(patient_id, nurse_id, newest_ago, start_ago, tcm_contacts)
        if self._pending_transition is not None:
            self._transition_rows(self._pending_transition)
        next_due = None if episode_status == "finished" else self.day(cadence - newest_ago)

        condition_codes = self._conditions(patient_id, start_ago)
        self._medications(patient_id, condition_codes, start_ago)
        self._care_team(patient_id, family)
        force_safety = not self.safety_case_done
        lace = self._assessments(
            patient_id, nurse_id, condition_codes, discharge_ago, start_ago, force_safety
        )
        tier, risk = self._risk_basis(tier, lace, discharge_ago, nurse_id, start_ago)
        if episode_status != "finished":
            # The cadence of the tier the patient ends up with.
            next_due = self.day(DEFAULT_CADENCE_DAYS[tier] - newest_ago)
        ccm = self._ccm_enrolment(condition_codes, tier, episode_status, start_ago)
        if episode_status != "finished" and random_value() < 0.82:
            self._care_plan(patient_id, nurse_id, start_ago)
        referral_marks = {name: len(tables[name]) for name in _REFERRAL_TABLES}
        open_referrals = self._referrals(patient_id, nurse_id, index, total_patients, start_ago)
        if episode_status == "finished":
            # A finished episode leaves no open work behind: its referrals (and
            # their chase tasks) are not kept, though their random draws are,
            # so the rest of the demo stays the same; its other open tasks
            # were cancelled when it closed.
            for name, mark in referral_marks.items():
                del tables[name][mark:]
            open_referrals = 0
        self._tasks(patient_id, nurse_id, start_ago)
        if episode_status == "finished":
            self._cancel_open_tasks(patient_id, self.moment(-1, 40))
        if episode_status == "active":
            # Home monitoring and clinic results only while the episode runs:
            # an alert is work, and a paused or finished episode leaves none.
            self.readings.patient(
                tables, patient_id, nurse_id, self._active_conditions(patient_id), start_ago
            )

        tables["patient"].append(
            (
                patient_id,
                mrn,
                mrn_key(mrn),
                family,
                given,
                pools.key(family),
                pools.key(given),
                self.day(-age_days),
                sex,
                phone,
                phone_digits,
                address,
                language,
                nurse_id,
                tier,
                RISK_RANKS[tier],
                *risk,
                *ccm,
                next_due,
                last_contact,
                open_referrals,
                episode_status,
                episode_created,
                self.moment(-newest_ago, 60),
                nurse_id,
                1,
            )
        )

    def _active_conditions(self, patient_id: int) -> frozenset[str]:
        """The ICD-10 codes of the patient's active conditions (the newest condition rows)."""
        codes = []
        for row in reversed(self.tables["condition"]):
            if row[1] != patient_id:
                break
            if row[5] in _ACTIVE_CONDITION_STATUSES:
                codes.append(row[3])
        return frozenset(codes)

    def _cancel_open_tasks(self, patient_id: int, when: object) -> None:
        """Cancel the patient's open tasks (the newest rows of the task table are theirs)."""
        rows = self.tables["task"]
        for position in range(len(rows) - 1, -1, -1):
            row = rows[position]
            if row[1] != patient_id:
                break
            if row[5] in _OPEN_TASK_STATUSES:
                rows[position] = (*row[:5], "cancelled", *row[6:10], when, row[11])

    def _risk_basis(
        self,
        tier: str,
        lace: Score | None,
        lace_ago: int | None,
        nurse_id: int,
        start_ago: int,
    ) -> tuple[str, tuple[object, object, object, object]]:
        """The tier and (basis, source, set by, set at) that agree with each other.

        A patient with a LACE has its band as the tier, set from the score,
        unless (a few) the nurse kept another tier with a reason. Without a
        score the tier is "not assessed", but for a few whose nurse gave one.
        Drawn from ``basis_rng`` so the rest of the caseload stays as it was.
        """
        roll = self.basis_rng.random()
        if lace is not None and lace_ago is not None:
            band = str(tier_for_lace(lace.total))
            if tier != band and roll < OVERRIDE_SHARE_WITH_SCORE:
                reason = self._override_reason(tier)
                return tier, (reason, "override", nurse_id, self.moment(-lace_ago, LACE_SLOT + 6))
            return band, (lace.summary, "score", nurse_id, self.moment(-lace_ago, LACE_SLOT))
        if roll < OVERRIDE_SHARE_WITHOUT_SCORE:
            # A day of the episode before today (the tier was set when it began, or since).
            set_ago = 1 + int(self.basis_rng.random() * min(start_ago - 1, 119))
            return tier, (
                self._override_reason(tier),
                "override",
                nurse_id,
                self.moment(-set_ago, 20),
            )
        return tier, (None, None, None, None)

    def _override_reason(self, tier: str) -> str:
        reasons = OVERRIDE_REASONS[tier]
        return reasons[int(self.basis_rng.random() * len(reasons))]

    def _ccm_enrolment(
        self, condition_codes: list[str], tier: str, episode_status: str, start_ago: int
    ) -> tuple[object, object]:
        """(programme, start): CCM needs two or more chronic conditions (CMS MLN909188).

        Most such patients are in standard CCM, a few high-risk ones in complex
        CCM (care of moderate or high complexity), each since a day of their episode.
        """
        if len(condition_codes) < 2 or episode_status == "finished":
            return None, None
        roll = self.basis_rng.random()
        since = self.day(-int(self.basis_rng.random() * min(start_ago, CCM_START_WITHIN_DAYS)))
        if roll < CCM_COMPLEX_SHARE and tier == "high":
            return "complex", since
        if roll < CCM_STANDARD_SHARE:
            return "standard", since
        return None, None

    def _phone(self) -> tuple[str, str]:
        random_value = self.rng.random
        area = AREA_CODES[int(random_value() * len(AREA_CODES))]
        line = int(random_value() * 10000)
        # 555 exchange: fictional numbers that never ring a real person.
        return f"({area}) 555-{line:04d}", f"{area}555{line:04d}"

    def _episode(
        self, patient_id: int, nurse_id: int, status: str, start_ago: int, created: object
    ) -> None:
        random_value = self.rng.random
        episode_id = self._next("episode")
        history = self.tables["episode_status_history"]
        history.append(
            (
                self._next("episode_status_history"),
                episode_id,
                None,
                "active",
                created,
                nurse_id,
                None,
            )
        )
        end = None
        closure_reason = None
        if status != "active":
            changed_ago = 1 + int(random_value() * min(30, start_ago - 1))
            reasons = EPISODE_HOLD_REASONS if status == "onhold" else EPISODE_CLOSURE_REASONS
            reason = reasons[int(random_value() * len(reasons))]
            history.append(
                (
                    self._next("episode_status_history"),
                    episode_id,
                    "active",
                    status,
                    self.moment(-changed_ago, 40),
                    nurse_id,
                    reason,
                )
            )
            if status == "finished":
                end = self.day(-changed_ago)
                closure_reason = reason
        self.tables["episode"].append(
            (episode_id, patient_id, status, self.day(-start_ago), end, closure_reason, created)
        )

    def _transition(
        self, patient_id: int, nurse_id: int, discharge_ago: int, visit_due: bool = False
    ) -> list[tuple[int, str]]:
        """Plan one discharge; returns the TCM contacts to log (days ago, kind).

        Kinds: "interactive" (a call the next day that reaches the patient),
        "face-to-face" (a home visit), and, drawn from the TCM generator so the
        rest of the caseload stays as it was, "no-answer" / "left-message"
        (unsuccessful attempts) and "late-interactive" (a call that reaches the
        patient the day after the deadline). The transition row and its two
        tasks are written by ``_transition_rows`` once the whole contact log of
        the patient is built, so that every step is met or missed by the data,
        as ``nursecase.domain.tcm`` reads it.

        ``visit_due`` (the first patient, whose chart shows everything) keeps the
        face-to-face visit to do: moderate complexity, and the visit it would
        have had is a phone call instead, so the same random numbers are drawn.
        """
        random_value = self.rng.random
        tcm_value = self.tcm_rng.random
        high_complexity = random_value() < 0.4 and not visit_due
        length_of_stay = 1 + int(random_value() * 12)
        contacts: list[tuple[int, str]] = []
        if discharge_ago >= 2 and random_value() < 0.65:
            if tcm_value() < 0.2:
                contacts.append((discharge_ago, "no-answer"))  # tried on the day first
            contacts.append((discharge_ago - 1, "interactive"))
        else:
            # No call got through the next day: two attempts, one, a late call or nothing.
            deadline_ago = -self.interactive_deadline(-discharge_ago)
            roll = tcm_value()
            if roll < 0.35:
                contacts.append((discharge_ago, "no-answer"))
                if discharge_ago >= 2:
                    contacts.append((discharge_ago - 1, "left-message"))
            elif roll < 0.55:
                contacts.append((discharge_ago, "no-answer"))
            elif roll < 0.75 and deadline_ago >= 2:
                contacts.append((deadline_ago - 1, "late-interactive"))
        if discharge_ago >= 4 and random_value() < 0.6:
            visit_ago = discharge_ago - 3 - int(random_value() * (discharge_ago - 3))
            contacts.append((visit_ago, "interactive" if visit_due else "face-to-face"))
        self._transition_lace = (discharge_ago, length_of_stay)
        self._pending_transition = _PlannedDischarge(
            transition_id=self._next("transition"),
            patient_id=patient_id,
            nurse_id=nurse_id,
            discharge_ago=discharge_ago,
            high_complexity=high_complexity,
            length_of_stay=length_of_stay,
            facility=FACILITIES[int(random_value() * len(FACILITIES))],
        )
        return contacts

    def _transition_rows(self, planned: _PlannedDischarge) -> None:
        """The transition and its two TCM tasks, as the patient's contact log made them.

        As ``ContactService`` marks them: the first conversation with the patient
        or caregiver and the first reached home or clinic visit inside the TCM
        period; the unsuccessful attempts inside the interactive window (those
        before an on-time conversation). A task is completed when its step was
        met, failed ("Missed") when the sweep would have closed it by now (a
        late contact, or its one day on Today has passed), else still open.
        Holidays: none (the demo knows no clinic's calendar).
        """
        today = self.today
        discharged = today - timedelta(days=planned.discharge_ago)
        last = min(period_end(discharged), today)
        contacts = sorted(
            (today - timedelta(days=days_ago), slot, mode, with_whom, outcome)
            for days_ago, slot, mode, with_whom, outcome in self._patient_contacts
            if discharged <= today - timedelta(days=days_ago) <= last
        )
        interactive_on = next(
            (day for day, _, _, who, outcome in contacts if is_interactive_contact(who, outcome)),
            None,
        )
        visit_on = next(
            (day for day, _, mode, _, outcome in contacts if is_face_to_face_visit(mode, outcome)),
            None,
        )
        deadline = interactive_deadline(discharged)
        on_time = interactive_on is not None and interactive_on <= deadline
        attempts = tally_attempts(
            discharged,
            [
                day
                for day, _, _, who, outcome in contacts
                if is_unsuccessful_attempt(who, outcome) and not (on_time and day >= interactive_on)
            ],
        )
        facts = TcmFacts(
            discharged_on=discharged,
            high_complexity=planned.high_complexity,
            interactive_contact_on=interactive_on,
            interactive_attempts=attempts.count,
            attempts_met_on=attempts.met_on,
            face_to_face_on=visit_on,
        )
        status = tcm_status(facts, today)
        created = self.moment(-planned.discharge_ago, 100)
        self.tables["transition"].append(
            (
                planned.transition_id,
                planned.patient_id,
                self.day(-planned.discharge_ago),
                planned.facility,
                planned.high_complexity,
                planned.length_of_stay,
                None if interactive_on is None else self.day(-(today - interactive_on).days),
                None if visit_on is None else self.day(-(today - visit_on).days),
                attempts.count,
                None if attempts.met_on is None else self.day(-(today - attempts.met_on).days),
                None,
                created,
            )
        )
        for step, description, priority in (
            (TcmStep.interactive_contact, "TCM interactive contact", "urgent"),
            (TcmStep.face_to_face_visit, "TCM face-to-face visit", "routine"),
        ):
            step_status = status.step(step)
            closing = status.closing_status(step)
            done_at = None
            if closing is TaskStatus.completed and step_status.met_on is not None:
                done_at = self.moment(-(today - step_status.met_on).days, 110)
            elif closing is TaskStatus.failed:
                # Closed by the late contact, or by the sweep the day after its day on Today.
                done_day = step_status.late_on or step_status.shown_missed_on + timedelta(days=1)
                if done_day < today:
                    done_at = self.moment(-(today - done_day).days, 110)
                else:
                    done_at = self.formats.moment(self.now)
            self.tables["task"].append(
                (
                    self._next("task"),
                    planned.patient_id,
                    planned.nurse_id,
                    description,
                    self.day(-(today - step_status.deadline).days),
                    str(closing) if closing is not None else "requested",
                    priority,
                    "transition-clock",
                    planned.transition_id,
                    None,
                    done_at,
                    created,
                )
            )

    def _contacts(
        self,
        patient_id: int,
        nurse_id: int,
        newest_ago: int,
        start_ago: int,
        tcm_contacts: list[tuple[int, str]],
    ) -> object:
        """The contact log over the last 90 days; returns the newest contact's time."""
        random_value = self.rng.random
        contacts = self.tables["contact"]
        count = 1 + int(random_value() * random_value() * 8)
        oldest_allowed = min(90, start_ago)
        days: list[tuple[int, str | None]] = [(newest_ago, None)]
        for _ in range(count - 1):
            days_ago = newest_ago + int(random_value() * (oldest_allowed - newest_ago + 1))
            days.append((days_ago, None))
        days.extend(tcm_contacts)
        newest_moment = None
        newest_key = None
        self._patient_contacts = []
        for days_ago, tcm_kind in days:
            if tcm_kind in _ADDED_TCM_KINDS:
                # Drawn from the TCM generator: the main stream stays as it was.
                slot = 18 + int(self.tcm_rng.random() * 110)
            else:
                slot = 18 + int(random_value() * 110)
            if tcm_kind in ("no-answer", "left-message"):
                mode, with_whom, outcome = "phone", "patient", tcm_kind
                note = "TCM call after discharge: " + (
                    "no answer." if tcm_kind == "no-answer" else "left a message to call back."
                )
                minutes = 2
            elif tcm_kind in ("interactive", "late-interactive"):
                mode, with_whom, outcome = "phone", "patient", "reached"
                note = "TCM interactive contact after discharge: reviewed discharge plan."
                minutes = 20
            elif tcm_kind == "face-to-face":
                mode, with_whom, outcome = "home-visit", "patient", "reached"
                note = "TCM face-to-face visit: medications reconciled, follow-up booked."
                minutes = 45
            else:
                mode = self.modes[int(random_value() * len(self.modes))]
                with_whom = self.with_whom[int(random_value() * len(self.with_whom))]
                outcome = self.outcomes[int(random_value() * len(self.outcomes))]
                if mode in ("home-visit", "clinic-visit") and outcome in (
                    "no-answer",
                    "left-message",
                    "wrong-number",
                ):
                    outcome = "reached"
                notes = CONTACT_NOTES[outcome]
                note = notes[int(random_value() * len(notes))]
                if outcome == "reached" or outcome == "agreed-to-visit":
                    minutes = 5 + int(random_value() * 56)
                else:
                    # A call that reached nobody takes a few minutes to log; more
                    # would be a contradiction (nursecase db check --clinical).
                    minutes = 1 + int(random_value() * 5)
            occurred = self.moment(-days_ago, slot)
            self._patient_contacts.append((days_ago, slot, mode, with_whom, outcome))
            contacts.append(
                (
                    self._next("contact"),
                    patient_id,
                    occurred,
                    mode,
                    with_whom,
                    outcome,
                    minutes,
                    note,
                    nurse_id,
                    occurred,
                    False,
                )
            )
            key = (-days_ago, slot)
            if newest_key is None or key > newest_key:
                newest_key = key
                newest_moment = occurred
        return newest_moment

    def _conditions(self, patient_id: int, start_ago: int) -> list[str]:
        random_value = self.rng.random
        rows = self.tables["condition"]
        count = 1 + int(random_value() * random_value() * 4)
        seen: list[str] = []
        for _ in range(count):
            description, code, _weight = self.conditions[int(random_value() * len(self.conditions))]
            if code in seen:
                continue
            seen.append(code)
            status = self.condition_statuses[int(random_value() * len(self.condition_statuses))]
            onset_ago = start_ago + 30 + int(random_value() * 3000)
            rows.append(
                (
                    self._next("condition"),
                    patient_id,
                    description,
                    code,
                    "icd-10",
                    status,
                    self.day(-onset_ago),
                    self.moment(-start_ago, 30),
                )
            )
        return seen

    def _medications(self, patient_id: int, condition_codes: list[str], start_ago: int) -> None:
        random_value = self.rng.random
        rows = self.tables["medication"]
        wanted = 2 + int(random_value() * 5)  # 2..6
        chosen: list[tuple[str, str, str, str]] = []
        for code in condition_codes:
            options = MEDICATIONS_FOR[code]
            if options:
                chosen.append(options[int(random_value() * len(options))])
        while len(chosen) < wanted:
            chosen.append(GENERAL_MEDICATIONS[int(random_value() * len(GENERAL_MEDICATIONS))])
        created = self.moment(-start_ago, 35)
        names_seen = set()
        for name, dose, route, frequency in chosen[:wanted]:
            if name in names_seen:
                continue
            names_seen.add(name)
            status = self.medication_statuses[int(random_value() * len(self.medication_statuses))]
            reconciled = None
            if random_value() < 0.6:
                reconciled = self.day(-min(start_ago, 1 + int(random_value() * 150)))
            rows.append(
                (
                    self._next("medication"),
                    patient_id,
                    name,
                    dose,
                    route,
                    frequency,
                    status,
                    reconciled,
                    created,
                )
            )

    def _care_team(self, patient_id: int, patient_family: str) -> None:
        random_value = self.rng.random
        pools = self.pools
        rows = self.tables["care_team_member"]
        family = pools.family
        given = pools.given["female" if random_value() < 0.5 else "male"]
        town = pools.towns[int(random_value() * len(pools.towns))]
        rows.append(
            (
                self._next("care_team_member"),
                patient_id,
                f"Dr. {given[int(random_value() * len(given))]} "
                f"{family[int(random_value() * len(family))]}",
                "pcp",
                f"{town} Family Medicine",
                self._phone()[0],
            )
        )
        for _ in range(int(random_value() * 3)):  # 0..2 more members
            role = self.extra_roles[int(random_value() * len(self.extra_roles))]
            first = given[int(random_value() * len(given))]
            if role == "caregiver":
                relation = CAREGIVER_RELATIONS[int(random_value() * len(CAREGIVER_RELATIONS))]
                name = f"{first} {patient_family} ({relation})"
                organisation = None
            elif role == "pharmacist":
                name = f"{first} {family[int(random_value() * len(family))]}, PharmD"
                organisation = f"{town} Pharmacy"
            elif role == "specialist":
                specialty = SPECIALTIES[int(random_value() * len(SPECIALTIES))]
                name = f"Dr. {first} {family[int(random_value() * len(family))]}"
                organisation = f"{town} {specialty}"
            elif role == "social-worker":
                name = f"{first} {family[int(random_value() * len(family))]}, MSW"
                organisation = pools.companies[int(random_value() * len(pools.companies))]
            else:
                name = f"{first} {family[int(random_value() * len(family))]}, RN"
                organisation = f"{town} Home Health"
            rows.append(
                (
                    self._next("care_team_member"),
                    patient_id,
                    name,
                    role,
                    organisation,
                    self._phone()[0],
                )
            )

    def _assessment(
        self, patient_id: int, nurse_id: int, entry: tuple, days_ago: int, slot: int
    ) -> int:
        answers, score = entry
        # Nothing is scored before the patient was enrolled.
        days_ago = min(days_ago, self._start_ago)
        assessment_id = self._next("assessment")
        self.tables["assessment"].append(
            (
                assessment_id,
                patient_id,
                str(score.instrument),
                score.variant,
                score.total,
                score.band.name,
                score.summary,
                self.moment(-days_ago, slot),
                nurse_id,
            )
        )
        answer_rows = self.tables["assessment_answer"]
        next_answer = self.ids["assessment_answer"]
        for item_code, value in answers:
            answer_rows.append((next_answer, assessment_id, item_code, value))
            next_answer += 1
        self.ids["assessment_answer"] = next_answer
        return assessment_id

    def _assessments(
        self,
        patient_id: int,
        nurse_id: int,
        condition_codes: list[str],
        discharge_ago: int | None,
        start_ago: int,
        force_safety: bool,
    ) -> Score | None:
        """Assessment series with trends; returns the LACE (the tier's basis), if any."""
        random_value = self.rng.random
        answers = self.answers
        lace = None
        depressed = "F32.9" in condition_codes or "F41.1" in condition_codes
        # PHQ-9 series drifting down (treatment working), 30 days apart.
        if force_safety or random_value() < (0.75 if depressed else 0.16):
            count = 2 + int(random_value() * 2)
            count = min(count, 1 + start_ago // 30)
            total = 9 + int(random_value() * 12)
            newest_ago = 1 + int(random_value() * 25)
            for number in range(count):
                days_ago = newest_ago + 30 * (count - 1 - number)
                is_newest = number == count - 1
                safety = is_newest and (force_safety or random_value() < 0.03)
                if safety:
                    days_ago = 1 if force_safety else min(days_ago, start_ago)
                    entry = answers.safety[int(random_value() * len(answers.safety))]
                else:
                    entry = answers.frequency("phq-9", total, random_value())
                assessment_id = self._assessment(patient_id, nurse_id, entry, days_ago, 40)
                if safety:
                    self._safety_task(patient_id, nurse_id, assessment_id, entry, days_ago)
                    self.safety_case_done = True
                total -= 1 + int(random_value() * 4)
        elif random_value() < 0.2:
            entry = answers.frequency("phq-2", int(random_value() * 4), random_value())
            self._assessment(patient_id, nurse_id, entry, 1 + int(random_value() * 60), 44)
        # GAD-7, sometimes twice.
        if random_value() < (0.5 if depressed else 0.08):
            total = 6 + int(random_value() * 12)
            for number in range(1 + int(random_value() * 2)):
                entry = answers.frequency("gad-7", total - 3 * number, random_value())
                self._assessment(patient_id, nurse_id, entry, 50 - 30 * number, 46)
        # LACE on the discharge day of a transition.
        if discharge_ago is not None:
            _, length_of_stay = self._transition_lace
            entry = answers.lace(
                length_of_stay,
                random_value() < 0.8,
                min(len(condition_codes) + int(random_value() * 2), 5),
                int(random_value() * 5),
            )
            self._assessment(patient_id, nurse_id, entry, discharge_ago, LACE_SLOT)
            lace = entry[1]
        # Falls, pressure injury and function for the frailer patients.
        roll = random_value()
        if roll < 0.18:
            position = 0.5 + random_value() * 0.5
            for number in range(2):
                entry = answers.positional("morse", position - 0.25 * number)
                self._assessment(patient_id, nurse_id, entry, 70 - 40 * number, 52)
        elif roll < 0.27:
            position = random_value() * 0.5
            for number in range(2):
                entry = answers.positional("braden", position + 0.3 * number)
                self._assessment(patient_id, nurse_id, entry, 75 - 45 * number, 56)
        elif roll < 0.40:
            entry = answers.positional("katz-adl", random_value())
            self._assessment(patient_id, nurse_id, entry, 5 + int(random_value() * 80), 58)
        return lace

    def _safety_task(
        self, patient_id: int, nurse_id: int, assessment_id: int, entry: tuple, days_ago: int
    ) -> None:
        value = dict(entry[0])[SAFETY_ITEM]
        option = get_instrument("phq-9").item(SAFETY_ITEM).option_for_value(value)
        label = f" ({option.label.lower()})" if option is not None else ""
        # Recent ones are still open (the worklist's safety section); older ones
        # were followed up the same day by a safety check, the only thing that
        # completes a safety task (issue 16).
        open_task = days_ago <= 3
        done_at = None if open_task else self.moment(-days_ago, 80)
        self.tables["task"].append(
            (
                self._next("task"),
                patient_id,
                nurse_id,
                f"Safety follow-up: PHQ-9 item 9 answered {value}{label}; assess safety today",
                self.day(-days_ago),
                "requested" if open_task else "completed",
                "urgent",
                "assessment-trigger",
                assessment_id,
                None,
                done_at,
                self.moment(-days_ago, 41),
            )
        )
        if not open_task:
            self._safety_check(patient_id, nurse_id, assessment_id, done_at)

    def _safety_check(
        self, patient_id: int, nurse_id: int, assessment_id: int, moment: datetime | str
    ) -> None:
        """The C-SSRS screen that completed a safety task: low risk or none, by the nurse.

        Chosen from the assessment id, not the random stream, so that adding these
        rows changed no other row of the demo. Low risk (a wish to be dead, no
        more) had its safety plan reviewed; no risk identified, no current risk.
        """
        low = assessment_id % 2 == 0
        risk, disposition = ("low", "safety-plan-reviewed") if low else ("none", "no-current-risk")
        self.tables["safety_check"].append(
            (
                self._next("safety_check"),
                patient_id,
                moment,
                low,
                False,
                None,
                None,
                None,
                False,
                None,
                risk,
                disposition,
                None,
                nurse_id,
                moment,
            )
        )

    def _care_plan(self, patient_id: int, nurse_id: int, start_ago: int) -> None:
        random_value = self.rng.random
        tables = self.tables
        care_plan_id = self._next("care_plan")
        status = "active" if random_value() < 0.86 else "draft"
        plan_ago = max(1, start_ago - int(random_value() * min(start_ago, 20)))
        created = self.moment(-plan_ago, 70)
        updated_ago = 1 + int(random_value() * min(plan_ago, 45))
        tables["care_plan"].append(
            (
                care_plan_id,
                patient_id,
                "Care plan",
                status,
                "plan",
                self.day(-plan_ago),
                # Renewed while the episode runs: the period covers every open
                # goal (they fall due up to about 90 days from today).
                self.day(max(-plan_ago + 180, CARE_PLAN_HORIZON_DAYS)),
                created,
                self.moment(-updated_ago, 72),
                nurse_id,
                1,
            )
        )
        # The plan's history starts with its creation (the editor's history view).
        tables["care_plan_revision"].append(
            (
                self._next("care_plan_revision"),
                care_plan_id,
                1,
                created,
                nurse_id,
                "create",
                "care_plan",
                care_plan_id,
                "Care plan",
                None,
            )
        )
        count = 1 + int(random_value() * random_value() * 3)
        used: set[int] = set()
        for position in range(count):
            choice = int(random_value() * len(CARE_PLAN_PROBLEMS))
            if choice in used:
                continue
            used.add(choice)
            omaha_code, priority, goals, interventions = CARE_PLAN_PROBLEMS[choice]
            problem_id = self._next("problem")
            tables["problem"].append(
                (
                    problem_id,
                    care_plan_id,
                    omaha_code,
                    PROBLEMS_BY_CODE[omaha_code].name,
                    None,
                    priority,
                    "active",
                    position,
                    created,
                )
            )
            self._ratings(problem_id, nurse_id, plan_ago, status == "draft")
            goal_ids = self._goals(problem_id, goals, priority, plan_ago, status, created)
            self._interventions(problem_id, goal_ids, interventions, status, created)

    def _ratings(self, problem_id: int, nurse_id: int, plan_ago: int, draft: bool) -> None:
        """KBS ratings on 1-3 dates, rising as the plan works."""
        random_value = self.rng.random
        rows = self.tables["problem_rating"]
        count = 1 if draft else 2 + int(random_value() * 2)
        count = min(count, 1 + plan_ago // 14)
        knowledge = 1 + int(random_value() * 3)
        behavior = 1 + int(random_value() * 3)
        status = 1 + int(random_value() * 3)
        spacing = max(1, min(30, plan_ago // max(count, 1)))
        for number in range(count):
            days_ago = plan_ago - spacing * number
            rows.append(
                (
                    self._next("problem_rating"),
                    problem_id,
                    self.day(-days_ago),
                    knowledge,
                    behavior,
                    status,
                    nurse_id,
                )
            )
            knowledge = min(5, knowledge + int(random_value() * 2.2))
            behavior = min(5, behavior + int(random_value() * 1.8))
            status = min(5, status + int(random_value() * 1.6))

    def _goals(
        self,
        problem_id: int,
        goals: tuple,
        priority: str,
        plan_ago: int,
        plan_status: str,
        created: object,
    ) -> list[int]:
        random_value = self.rng.random
        rows = self.tables["goal"]
        goal_ids = []
        count = 1 + int(random_value() * len(goals))
        for position, (description, measure, value) in enumerate(goals[:count]):
            goal_id = self._next("goal")
            goal_ids.append(goal_id)
            if plan_status == "draft":
                lifecycle, achievement = "proposed", None
            else:
                roll = random_value()
                if roll < 0.15:
                    lifecycle, achievement = "completed", "achieved"
                elif roll < 0.22:
                    lifecycle, achievement = "accepted", "in-progress"
                elif roll < 0.26:
                    lifecycle, achievement = "on-hold", "no-progress"
                else:
                    lifecycle = "active"
                    achievement = (
                        "in-progress",
                        "improving",
                        "improving",
                        "no-change",
                        "worsening",
                    )[int(random_value() * 5)]
            # Open goals fall due around today (some overdue); achieved ones earlier.
            if lifecycle == "completed":
                due_offset = -min(plan_ago, 1 + int(random_value() * 60))
            else:
                due_offset = -14 + int(random_value() * 100)
            rows.append(
                (
                    goal_id,
                    problem_id,
                    description,
                    lifecycle,
                    achievement,
                    measure,
                    value,
                    self.day(due_offset),
                    priority,
                    position,
                    created,
                )
            )
        return goal_ids

    def _interventions(
        self,
        problem_id: int,
        goal_ids: list[int],
        interventions: tuple,
        plan_status: str,
        created: object,
    ) -> None:
        random_value = self.rng.random
        rows = self.tables["intervention"]
        count = 1 + int(random_value() * min(2, len(interventions)))
        start = int(random_value() * len(interventions))
        for position in range(count):
            category, description = interventions[(start + position) % len(interventions)]
            if plan_status == "draft":
                status = "not-started"
            else:
                status = ("in-progress", "in-progress", "scheduled", "completed", "not-started")[
                    int(random_value() * 5)
                ]
            frequency = FREQUENCIES[int(random_value() * len(FREQUENCIES))]
            owner = (
                "caregiver"
                if category == "treatments-procedures" and random_value() < 0.3
                else "nurse"
            )
            rows.append(
                (
                    self._next("intervention"),
                    problem_id,
                    goal_ids[position % len(goal_ids)] if goal_ids else None,
                    category,
                    description,
                    owner,
                    frequency,
                    self.day(-10 + int(random_value() * 40)),
                    status,
                    position,
                    created,
                )
            )

    def _referrals(
        self, patient_id: int, nurse_id: int, index: int, total_patients: int, start_ago: int
    ) -> None:
        random_value = self.rng.random
        forced = self.forced_referral_statuses
        statuses: list[str] = []
        if forced:
            # The first patients carry one referral in each status, so even a
            # tiny demo shows the whole queue; the last patient takes the rest.
            take = len(forced) if index == total_patients - 1 else 1
            statuses.extend(forced[:take])
            del forced[:take]
        else:
            roll = random_value()
            if roll < 0.55:
                statuses.append(
                    self.referral_statuses[int(random_value() * len(self.referral_statuses))]
                )
            if roll < 0.12:
                statuses.append(
                    self.referral_statuses[int(random_value() * len(self.referral_statuses))]
                )
        for status in statuses:
            self._referral(patient_id, nurse_id, status, start_ago)
        return sum(1 for status in statuses if status not in TERMINAL_STATUSES)

    def _referral(self, patient_id: int, nurse_id: int, status: str, start_ago: int) -> None:
        random_value = self.rng.random
        tables = self.tables
        pools = self.pools
        referral_id = self._next("referral")
        service_types = tuple(REFERRAL_SERVICES)
        service_type = service_types[int(random_value() * len(service_types))]
        suffix, referral_reason, outcome_text = REFERRAL_SERVICES[service_type]
        town = pools.towns[int(random_value() * len(pools.towns))]
        organisation = f"{town} {suffix}"
        given = pools.given["female"]
        contact_name = (
            f"{given[int(random_value() * len(given))]} "
            f"{pools.family[int(random_value() * len(pools.family))]} (intake)"
        )
        priority = self.referral_priorities[int(random_value() * len(self.referral_priorities))]
        path = self.paths[status]
        gaps = [1 + int(random_value() * 4) for _ in path[1:]]
        # Open referrals waiting for a reply age across all three buckets.
        created_ago = sum(gaps) + 1 + int(random_value() * 24)
        history = tables["referral_status_history"]
        days_ago = created_ago
        sent_ago = None
        moment = None
        for step, to_status in enumerate(path):
            if step:
                days_ago -= gaps[step - 1]
            moment = self.moment(-days_ago, 20 + 4 * step)
            if to_status == "requested":
                sent_ago = days_ago
            reasons = TRANSITION_REASONS.get(to_status)
            reason = reasons[int(random_value() * len(reasons))] if reasons else None
            history.append(
                (
                    self._next("referral_status_history"),
                    referral_id,
                    path[step - 1] if step else None,
                    to_status,
                    moment,
                    nurse_id,
                    reason,
                )
            )
        reply_days = DEFAULT_REPLY_DAYS[priority]
        # Not sent yet (draft, ready): nobody owes a reply.
        expected_reply = None if sent_ago is None else self.day(-sent_ago + reply_days)
        appointment = None
        if status == "accepted":
            appointment = self.day(2 + int(random_value() * 14))
        elif status in ("in-progress", "on-hold", "completed", "failed"):
            appointment = self.day(-days_ago - 1)
        outcome = outcome_text if status == "completed" else None
        tables["referral"].append(
            (
                referral_id,
                patient_id,
                nurse_id,
                service_type,
                organisation,
                contact_name,
                referral_reason,
                priority,
                status,
                moment,
                expected_reply,
                appointment,
                outcome,
                self.moment(-created_ago, 20),
                moment,
                nurse_id,
                1,
            )
        )
        if status in ("requested", "received") and random_value() < 0.5:
            self.tables["task"].append(
                (
                    self._next("task"),
                    patient_id,
                    nurse_id,
                    f"Chase reply from {organisation}",
                    expected_reply,
                    "requested",
                    "urgent" if priority in ("urgent", "asap", "stat") else "routine",
                    "referral",
                    referral_id,
                    None,
                    None,
                    moment,
                )
            )

    def _tasks(self, patient_id: int, nurse_id: int, start_ago: int) -> None:
        random_value = self.rng.random
        rows = self.tables["task"]
        for _ in range(int(random_value() * 3)):  # 0..2 general tasks
            description = TASK_TEXTS[int(random_value() * len(TASK_TEXTS))]
            due_offset = -14 + int(random_value() * 36)
            created_offset = max(-start_ago, due_offset - 7 - int(random_value() * 10))
            created_offset = min(created_offset, -1)
            snooze_reason = None
            done_at = None
            if due_offset < 0 and random_value() < 0.55:
                status = "completed"
                done_at = self.moment(due_offset, 50 + int(random_value() * 40))
            else:
                roll = random_value()
                if roll < 0.05:
                    status = "on-hold"
                    snooze_reason = SNOOZE_REASONS[int(random_value() * len(SNOOZE_REASONS))]
                elif roll < 0.15:
                    status = "in-progress"
                else:
                    status = "requested"
            rows.append(
                (
                    self._next("task"),
                    patient_id,
                    nurse_id,
                    description,
                    self.day(due_offset),
                    status,
                    "routine",
                    "contact" if random_value() < 0.4 else "manual",
                    None,
                    snooze_reason,
                    done_at,
                    self.moment(created_offset, 30),
                )
            )
