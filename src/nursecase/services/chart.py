"""The patient chart: everything the patient detail screen shows, read at once.

``ChartService.open`` records the "view" audit event (reading a chart is an
access to health information) and reads the chart; ``load`` only reads
(used after the nurse's own changes, which are audited as changes). The chart
is read in one read session (``ServiceContext.reading``): one connection, one
transaction and one snapshot for its dozen reads.

The chart is a frozen read model: the screen paints it without going back to
the database, so a tab switch costs no query. What it derives (the clocks'
wording, CCM progress, what is due next, the merged timeline) is computed here
from the read models and the pure domain functions, not in the screen.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time

from nursecase.domain.ccm import CcmMonth, ccm_month
from nursecase.domain.codes import (
    ContactMode,
    ContactOutcome,
    ContactWith,
    DischargeDisposition,
    EncounterClass,
    EncounterStatus,
    Instrument,
    ReferralStatus,
    ServiceType,
    TaskSource,
    TaskStatus,
    words_of,
)
from nursecase.domain.encounters import is_hospital_stay
from nursecase.domain.flags import Flag
from nursecase.domain.instruments import get_instrument
from nursecase.domain.risk import LaceScore, RiskStanding, risk_standing
from nursecase.domain.rpm import RpmMonth
from nursecase.domain.tcm import TcmStepState
from nursecase.services.assessments import AssessmentRead
from nursecase.services.care_team import CareTeamMemberRead
from nursecase.services.conditions import ConditionRead
from nursecase.services.contacts import ContactRead
from nursecase.services.context import ServiceContext
from nursecase.services.encounters import EncounterRead, stay_words
from nursecase.services.episodes import EpisodeRead
from nursecase.services.medications import CURRENT_STATUSES, MedicationRead
from nursecase.services.patients import PatientRead, load_patient
from nursecase.services.readings import AlertRead
from nursecase.services.referrals import ReferralRead
from nursecase.services.safety_checks import SafetyCheckRead, SafetySignal
from nursecase.services.tasks import TaskRead
from nursecase.services.transitions import TransitionRead

#: The contact log shown on the chart (newest first); older entries stay in the export.
CHART_CONTACT_LIMIT = 500
#: Referral statuses in which the nurse waits for the receiver's reply.
AWAITING_REPLY = frozenset({ReferralStatus.requested, ReferralStatus.received})
#: The task status codes that have a label.
_TASK_STATUSES = frozenset(str(status) for status in TaskStatus)
_MODE_WORDS = words_of(ContactMode)
_WITH_WORDS = words_of(ContactWith)
_OUTCOME_WORDS = words_of(ContactOutcome)
_SERVICE_WORDS = words_of(ServiceType)
_REFERRAL_STATUS_WORDS = words_of(ReferralStatus)
#: Points of an instrument's trend line.
TREND_POINTS = 12


@dataclass(frozen=True)
class InstrumentHistory:
    """One instrument's assessments for the patient, newest first, and its trend."""

    instrument: str
    name: str
    short_name: str
    minimum: int
    maximum: int
    assessments: tuple[AssessmentRead, ...]

    @property
    def latest(self) -> AssessmentRead:
        """The newest assessment."""
        return self.assessments[0]

    @property
    def trend(self) -> tuple[int, ...]:
        """The last totals, oldest first (for a sparkline)."""
        return tuple(reversed([item.total for item in self.assessments[:TREND_POINTS]]))


@dataclass(frozen=True)
class DueItem:
    """Something due for the patient, for the summary's "due next" list."""

    due: date
    what: str


@dataclass(frozen=True)
class TimelineEvent:
    """One dated event of the patient's record."""

    when: datetime
    kind: str
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the patient detail screen shows."""

    patient: PatientRead
    #: The patient's flags, worked out as Today's rows work out theirs.
    flags: tuple[Flag, ...]
    episode: EpisodeRead | None
    episodes: tuple[EpisodeRead, ...]
    #: The open patient-safety signals (an open safety task after a PHQ-9 item 9
    #: above 0; a latest safety check of moderate or high risk), most urgent first.
    safety_flags: tuple[SafetySignal, ...]
    transitions: tuple[TransitionRead, ...]
    #: The CCM programme (or none) and this month's minutes that count toward it.
    ccm: CcmMonth
    #: The risk tier with its basis and the latest LACE ("high (LACE 12, 18 Nov)").
    risk: RiskStanding
    contacts: tuple[ContactRead, ...]
    instruments: tuple[InstrumentHistory, ...]
    conditions: tuple[ConditionRead, ...]
    medications: tuple[MedicationRead, ...]
    care_team: tuple[CareTeamMemberRead, ...]
    tasks: tuple[TaskRead, ...]
    referrals: tuple[ReferralRead, ...]
    due_next: tuple[DueItem, ...]
    timeline: tuple[TimelineEvent, ...]
    #: This month's remote monitoring (days with device readings, review minutes,
    #: codes reached, the next step) while the patient is enrolled; else None.
    rpm: RpmMonth | None = None
    #: The open reading alerts (issue 20), newest reading first: the urgent ones
    #: are what OUT OF RANGE is about.
    open_alerts: tuple[AlertRead, ...] = ()
    #: The patient's encounters (issue 21), newest first, cancelled ones included as such.
    encounters: tuple[EncounterRead, ...] = ()
    #: The stay or ED visit she is in now (IN HOSPITAL), or None.
    current_encounter: EncounterRead | None = None

    @property
    def stay_words(self) -> str:
        """Where she is now: "In hospital since 05 Dec, Mercy General"; "" when at home."""
        return "" if self.current_encounter is None else stay_words(self.current_encounter)

    @property
    def open_transitions(self) -> tuple[TransitionRead, ...]:
        """Discharges with something on Today: a TCM step due, or missed and shown today."""
        return tuple(transition for transition in self.transitions if transition.is_open)

    @property
    def open_tasks(self) -> tuple[TaskRead, ...]:
        """Tasks still to do, soonest first."""
        return tuple(task for task in self.tasks if task.is_open)

    @property
    def current_medications(self) -> tuple[MedicationRead, ...]:
        """The medications being taken or paused (what a reconciliation covers)."""
        return tuple(item for item in self.medications if item.status in CURRENT_STATUSES)

    @property
    def last_reconciled(self) -> date | None:
        """The date by which every current medication was reconciled.

        None when one of them never was, or there is none: a stopped drug's
        date says nothing about the list the patient takes now.
        """
        dates = [item.last_reconciled for item in self.current_medications]
        if not dates or any(day is None for day in dates):
            return None
        return min(dates)


class ChartService:
    """Reads a whole patient chart."""

    def __init__(self, context: ServiceContext, services) -> None:
        self.context = context
        # The other services of the same container: the chart is their reads, combined.
        self.services = services

    def open(self, patient_id: int) -> Chart:
        """Record that the nurse opened the chart, and read it.

        The view's audit event is written in a thread of its own while this
        one reads (the write waits on the disk, the read on the CPU), so the
        opening costs the slower of the two rather than their sum. The chart
        is returned only once the event is committed, and a failure to record
        it is raised first, as when the two ran one after the other: a chart
        is never shown without its access recorded.
        """
        recording = _view_recorder().submit(self.services.patients.record_view, patient_id)
        try:
            chart = self.load(patient_id)
        finally:
            # Raises the recording's error, if any, before the read's own.
            recording.result()
        return chart

    def load(self, patient_id: int) -> Chart:
        """Read the chart (no audit event: use ``open`` when a nurse opens it)."""
        with self.context.reading() as session:
            # Held while the chart is read: each service checks that the patient
            # exists (``session.get``), which the shared session then answers
            # without a query. It keeps only the rows someone holds.
            patient_row = load_patient(session, patient_id)
            chart = self._read(patient_id)
            del patient_row
            return chart

    def _read(self, patient_id: int) -> Chart:
        services = self.services
        today = self.context.clock.today()
        patient = services.patients.get(patient_id)
        episodes = tuple(services.episodes.list_for_patient(patient_id))
        episode = next((item for item in episodes if item.id == patient.current_episode_id), None)
        contacts = tuple(services.contacts.list_for_patient(patient_id, limit=CHART_CONTACT_LIMIT))
        assessments = services.assessments.list_for_patient(patient_id)
        tasks = tuple(
            sorted(
                services.tasks.list_for_patient(patient_id, include_done=True),
                key=lambda task: (not task.is_open, task.due_date, task.id),
            )
        )
        referrals = tuple(services.referrals.list_for_patient(patient_id))
        transitions = tuple(services.transitions.list_for_patient(patient_id))
        medications = tuple(services.medications.list_for_patient(patient_id))
        conditions = tuple(services.conditions.list_for_patient(patient_id))
        # Enrolled, only the minutes from the enrolment start count toward the codes
        # (and never the minutes logged for remote monitoring: those are RPM's).
        since = patient.ccm_start if patient.ccm_programme else None
        minutes = services.contacts.minutes_in_month(patient_id, today.year, today.month, since)
        monitored = bool(services.readings.enrolments(patient_id))
        histories = services.referrals.histories_for_patient(patient_id)
        safety_checks = services.safety_checks.list_for_patient(patient_id)
        encounters = tuple(services.encounters.list_for_patient(patient_id))
        current = current_encounter(encounters)
        return Chart(
            patient=patient,
            flags=services.worklist.flags_for([patient_id])[patient_id],
            episode=episode,
            episodes=episodes,
            safety_flags=services.safety_checks.open_signals(patient_id),
            transitions=transitions,
            ccm=ccm_month(patient.ccm_programme, patient.ccm_start, minutes),
            risk=patient_risk(patient, assessments),
            contacts=contacts,
            instruments=instrument_histories(assessments),
            conditions=conditions,
            medications=medications,
            care_team=tuple(services.care_team.list_for_patient(patient_id)),
            tasks=tasks,
            referrals=referrals,
            due_next=due_next(
                patient,
                tasks,
                transitions,
                referrals,
                paused=current is not None and is_hospital_stay(current.encounter_class),
            ),
            timeline=timeline(
                contacts,
                assessments,
                tasks,
                referrals,
                histories,
                transitions,
                episodes,
                safety_checks=safety_checks,
                encounters=encounters,
            ),
            rpm=services.readings.month(patient_id) if monitored else None,
            open_alerts=tuple(services.readings.alerts(patient_id, open_only=True)),
            encounters=encounters,
            current_encounter=current,
        )


_recorder: ThreadPoolExecutor | None = None
_recorder_lock = threading.Lock()


def _view_recorder() -> ThreadPoolExecutor:
    """The thread that writes the "view" audit events of ``ChartService.open`` (made once)."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chart-view")
        return _recorder


def patient_risk(patient: PatientRead, assessments: list[AssessmentRead]) -> RiskStanding:
    """The patient's tier with its basis, beside their latest LACE (assessments newest first)."""
    lace = next((item for item in assessments if item.instrument == Instrument.lace), None)
    return risk_standing(
        patient.risk_tier,
        patient.risk_source,
        patient.risk_basis,
        patient.risk_set_by_name,
        patient.risk_set_at,
        None if lace is None else LaceScore(lace.total, lace.summary, lace.performed_at.date()),
    )


def instrument_histories(assessments: list[AssessmentRead]) -> tuple[InstrumentHistory, ...]:
    """Assessments grouped by instrument, in the instruments' own order."""
    grouped: dict[str, list[AssessmentRead]] = {}
    for assessment in assessments:
        grouped.setdefault(assessment.instrument, []).append(assessment)
    histories = []
    for code in Instrument:
        items = grouped.get(str(code))
        if not items:
            continue
        definition = get_instrument(code)
        histories.append(
            InstrumentHistory(
                instrument=str(code),
                name=definition.name,
                short_name=definition.short_name or definition.name,
                minimum=definition.min_total,
                maximum=definition.max_total,
                assessments=tuple(items),
            )
        )
    return tuple(histories)


def due_next(
    patient: PatientRead,
    tasks: tuple[TaskRead, ...],
    transitions: tuple[TransitionRead, ...],
    referrals: tuple[ReferralRead, ...],
    paused: bool = False,
) -> tuple[DueItem, ...]:
    """What is due for the patient, soonest first: contact, tasks, TCM steps, replies.

    ``paused``: she is in a hospital or observation stay, so the contact
    cadence waits (services.worklist); its date is kept and said to wait.
    """
    items: list[DueItem] = []
    if patient.next_contact_due is not None:
        what = "next contact (paused while in hospital)" if paused else "next contact"
        items.append(DueItem(patient.next_contact_due, what))
    for task in tasks:
        # A TCM clock's task is listed once, as the clock step below.
        if task.is_open and task.source != TaskSource.transition_clock:
            items.append(DueItem(task.due_date, f"task: {task.description}"))
    for transition in transitions:
        # Only steps still due: a missed or ended step is not "due next".
        status = transition.clock
        if not status.in_period:
            continue
        for step in status.steps:
            if step.state is TcmStepState.due:
                items.append(DueItem(step.deadline, f"TCM {step.step.label.lower()}"))
    for referral in referrals:
        if referral.expected_reply_date is not None and referral.status in AWAITING_REPLY:
            items.append(
                DueItem(
                    referral.expected_reply_date,
                    f"reply from {referral.receiving_organisation} ({referral.service_type})",
                )
            )
    return tuple(sorted(items, key=lambda item: item.due))


def timeline(
    contacts,
    assessments,
    tasks,
    referrals,
    histories: dict,
    transitions,
    episodes,
    safety_checks: tuple[SafetyCheckRead, ...] | list[SafetyCheckRead] = (),
    encounters: tuple[EncounterRead, ...] = (),
) -> tuple[TimelineEvent, ...]:
    """Every dated event of the patient, newest first.

    An encounter is its admission (or ED visit) and its discharge, in words
    (``encounter_events``); a discharge recorded from an encounter is said
    once, as the encounter's, not again as the transition it started.
    """
    events: list[TimelineEvent] = []
    said_by_encounter = set()
    for encounter in encounters:
        events.extend(encounter_events(encounter))
        if encounter.transition_id is not None:
            said_by_encounter.add(encounter.transition_id)
    for contact in contacts:
        minutes = f", {contact.minutes} min" if contact.minutes else ""
        events.append(
            TimelineEvent(
                contact.occurred_at,
                "contact",
                f"{_MODE_WORDS(contact.mode)} with {_WITH_WORDS(contact.with_whom).lower()}: "
                f"{_OUTCOME_WORDS(contact.outcome).lower()}{minutes}",
            )
        )
    for assessment in assessments:
        events.append(TimelineEvent(assessment.performed_at, "assessment", assessment.summary))
    for task in tasks:
        if task.done_at is not None:
            # In words: "Completed: ...", "Missed: TCM interactive contact".
            status = TaskStatus(task.status).label if task.status in _TASK_STATUSES else task.status
            events.append(TimelineEvent(task.done_at, "task", f"{status}: {task.description}"))
    for referral in referrals:
        for change in histories.get(referral.id, ()):
            reason = f" ({change.reason})" if change.reason else ""
            events.append(
                TimelineEvent(
                    change.changed_at,
                    "referral",
                    f"{_SERVICE_WORDS(referral.service_type)} to "
                    f"{referral.receiving_organisation}: "
                    f"{_REFERRAL_STATUS_WORDS(change.to_status).lower()}{reason}",
                )
            )
    for transition in transitions:
        if transition.id in said_by_encounter:
            continue
        where = f" from {transition.facility}" if transition.facility else ""
        events.append(
            TimelineEvent(
                datetime.combine(transition.discharged_on, time.min),
                "discharge",
                f"discharged{where}",
            )
        )
    for episode in episodes:
        for change in episode.history:
            reason = f" ({change.reason})" if change.reason else ""
            events.append(
                TimelineEvent(change.changed_at, "episode", f"episode {change.to_status}{reason}")
            )
    for check in safety_checks:
        # "Safety check (C-SSRS): high risk; emergency services or ED"
        events.append(TimelineEvent(check.performed_at, "safety check", check.summary))
    events.sort(key=lambda event: event.when, reverse=True)
    return tuple(events)


#: Encounters that are not (or no longer) a real one: never on the timeline.
_VOID_ENCOUNTERS = frozenset({EncounterStatus.cancelled, EncounterStatus.entered_in_error})
#: Encounter classes in progress that put the patient IN HOSPITAL (a stay, or the ED).
_IN_HOSPITAL_CLASSES = frozenset(
    {EncounterClass.inpatient, EncounterClass.observation, EncounterClass.emergency}
)


def current_encounter(encounters: tuple[EncounterRead, ...]) -> EncounterRead | None:
    """The stay or ED visit in progress (the latest, of encounters newest first), or None.

    The same encounters raise IN HOSPITAL (services.worklist): an ambulatory
    visit left in progress by a source does not put her in hospital.
    """
    return next(
        (
            encounter
            for encounter in encounters
            if encounter.in_progress and encounter.encounter_class in _IN_HOSPITAL_CLASSES
        ),
        None,
    )


def _place(facility: str | None) -> str:
    return " ".join((facility or "").split())


def admission_event_words(encounter: EncounterRead) -> str:
    """ "Admitted to Mercy General (inpatient stay)", "Observation stay at Mercy General",
    "Emergency visit, Mercy General", "Ambulatory visit, Mercy Clinic" (without a facility,
    the words alone)."""
    place = _place(encounter.facility)
    kind = encounter.encounter_class
    if kind is EncounterClass.inpatient:
        return f"Admitted to {place} (inpatient stay)" if place else "Admitted (inpatient stay)"
    if kind is EncounterClass.observation:
        return f"Observation stay at {place}" if place else "Observation stay"
    return f"{kind.label}, {place}" if place else kind.label


def discharge_event_words(encounter: EncounterRead) -> str:
    """ "Discharged home", "Discharged to skilled nursing facility", "Left against advice",
    "Died", each with where from: "Discharged home from Mercy General" ("from the ED" after an
    emergency visit)."""
    place = _place(encounter.facility)
    if encounter.encounter_class is EncounterClass.emergency:
        place = f"the ED at {place}" if place else "the ED"
    disposition = encounter.disposition
    if disposition is DischargeDisposition.expired:
        return f"Died at {place}" if place else "Died"
    if disposition is DischargeDisposition.against_advice:
        return f"Left {place} against advice" if place else "Left against advice"
    if disposition is DischargeDisposition.home:
        where = "Discharged home"
    elif disposition is None or disposition is DischargeDisposition.other:
        where = "Discharged"
    else:
        where = f"Discharged to {disposition.label.lower()}"
    return f"{where} from {place}" if place else where


def encounter_events(encounter: EncounterRead) -> list[TimelineEvent]:
    """An encounter on the timeline: its start and, once discharged, its end (none if void)."""
    if encounter.status in _VOID_ENCOUNTERS:
        return []
    kind = "emergency" if encounter.encounter_class is EncounterClass.emergency else "hospital"
    events = [TimelineEvent(encounter.admitted_at, kind, admission_event_words(encounter))]
    if encounter.discharged_at is not None:
        events.append(
            TimelineEvent(encounter.discharged_at, kind, discharge_event_words(encounter))
        )
    return events
