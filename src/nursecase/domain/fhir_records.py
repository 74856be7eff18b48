"""The plain records a FHIR bundle becomes: what the importer stores, keyed by MRN.

Frozen dataclasses with no behaviour beyond a convenience property; each keeps
the ``place`` of the resource it came from, so that a rule the database layer
applies later can still say where the problem was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    EncounterStatus,
    Instrument,
)
from nursecase.domain.instruments.phq import SAFETY_ITEM


@dataclass(frozen=True)
class PatientKey:
    """Which patient a record belongs to: the MRN, and where the reference was."""

    mrn: str
    place: str


@dataclass(frozen=True)
class ImportedPatient:
    """A Patient resource as nursecase stores it; None leaves a stored value alone."""

    place: str
    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None
    sex: str | None
    phone: str | None
    address: str | None
    preferred_language: str | None
    deceased: bool


@dataclass(frozen=True)
class ImportedCondition:
    """A problem-list entry."""

    place: str
    patient: PatientKey
    description: str
    code: str | None
    code_system: str | None
    clinical_status: str
    onset_date: date | None


@dataclass(frozen=True)
class ImportedMedication:
    """A medication-list entry (from a MedicationRequest or MedicationStatement)."""

    place: str
    patient: PatientKey
    name: str
    dose: str | None
    route: str | None
    frequency: str | None
    status: str
    started: datetime | None


@dataclass(frozen=True)
class ImportedCareTeamMember:
    """Someone on the patient's care team."""

    place: str
    patient: PatientKey
    name: str
    role: str
    organisation: str | None
    phone: str | None


@dataclass(frozen=True)
class ImportedDischarge:
    """A recent inpatient or observation stay: it starts the TCM clocks."""

    place: str
    patient: PatientKey
    discharged_on: date
    length_of_stay_days: int | None
    facility: str | None


@dataclass(frozen=True)
class ImportedEncounter:
    """A hospital stay, emergency visit, observation stay or ambulatory visit.

    ``source`` and ``source_key`` find it again on a second import: the
    Encounter's id (else its fullUrl), or the source and key nursecase's own
    export wrote in its identifier. Moments are as the source wrote them
    (aware when they carried an offset). ``transition_day`` is the discharge
    day of the :class:`ImportedDischarge` this encounter gave, if any: the
    importer links the two.
    """

    place: str
    patient: PatientKey
    source: EncounterSource
    source_key: str
    encounter_class: EncounterClass
    status: EncounterStatus
    admitted_at: datetime
    discharged_at: datetime | None
    facility: str | None
    disposition: DischargeDisposition | None
    #: (display, code, system) of each diagnosis or reason, in the source's order.
    diagnoses: tuple[tuple[str, str | None, str | None], ...]
    transition_day: date | None = None


@dataclass(frozen=True)
class ImportedAssessment:
    """A scored instrument: the total always, the item answers when all were given."""

    place: str
    patient: PatientKey
    instrument: str
    total: int
    band: str
    summary: str
    #: Item code -> value in the instrument's own codes ("item1"...), or empty.
    answers: tuple[tuple[str, int], ...]
    performed_at: datetime

    @property
    def safety_item_value(self) -> int | None:
        """PHQ-9 item 9 (thoughts of self-harm) when answered, else None."""
        if self.instrument != Instrument.phq_9:
            return None
        return dict(self.answers).get(SAFETY_ITEM)


@dataclass(frozen=True)
class ImportedReading:
    """A vital sign or lab value (an Observation, or one part of a blood pressure panel).

    ``value`` and ``unit`` are as the source sent them (the UCUM code when the
    quantity is coded in UCUM); ``taken_at`` is the source's moment, aware when
    it carried an offset (the importer makes it wall-clock time).
    """

    place: str
    patient: PatientKey
    loinc: str
    value: float
    unit: str
    taken_at: datetime


@dataclass(frozen=True)
class ImportedGoal:
    """A Goal resource of a care plan."""

    place: str
    description: str
    lifecycle_status: str
    achievement_status: str | None
    due_date: date | None
    #: nursecase's own identifier of the goal (its export UUID), when the file gives one.
    identifier: str | None = None
    priority: str | None = None
    target_measure: str | None = None
    target_value: str | None = None


@dataclass(frozen=True)
class ImportedIntervention:
    """A care-plan activity."""

    place: str
    description: str
    category: str
    status: str
    owner: str
    #: The goal it serves: an index into its problem's ``goals`` (None: no goal).
    goal_index: int | None = None
    frequency: str | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class ImportedProblem:
    """A care-plan problem (free text): an addressed condition, or the plan's subject."""

    description: str
    status: str
    goals: tuple[ImportedGoal, ...]
    interventions: tuple[ImportedIntervention, ...]
    #: nursecase's own identifier of the problem (its export UUID), when the file gives one.
    identifier: str | None = None


@dataclass(frozen=True)
class ImportedCarePlan:
    """A CarePlan with its problems, goals and interventions."""

    place: str
    patient: PatientKey
    title: str
    status: str
    period_start: date | None
    period_end: date | None
    problems: tuple[ImportedProblem, ...]
    #: nursecase's own identifier of the plan (its export UUID), when the file gives one.
    identifier: str | None = None


@dataclass(frozen=True)
class ParsedBundle:
    """Everything nursecase takes from one bundle, and what it left out."""

    bundle_type: str
    patients: tuple[ImportedPatient, ...]
    conditions: tuple[ImportedCondition, ...]
    medications: tuple[ImportedMedication, ...]
    care_team: tuple[ImportedCareTeamMember, ...]
    discharges: tuple[ImportedDischarge, ...]
    assessments: tuple[ImportedAssessment, ...]
    care_plans: tuple[ImportedCarePlan, ...]
    #: Resources not used, by type (with a reason in brackets for some).
    skipped: dict[str, int]
    #: Data left out of a record that was imported ("place: why"), never values.
    warnings: tuple[str, ...]
    #: Vital signs and labs nursecase reads (``domain.measures``).
    readings: tuple[ImportedReading, ...] = ()
    #: Encounters of the classes nursecase keeps (``domain.fhir_encounters``).
    encounters: tuple[ImportedEncounter, ...] = ()
