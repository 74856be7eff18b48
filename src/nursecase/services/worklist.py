"""The worklist ("my day"): every patient with something due, ranked and explained.

``today`` gathers the due items of a caseload with SET-BASED queries (one query
per kind of due item, never one per patient), hands them to the pure ranking in
``nursecase.domain.worklist`` and returns frozen rows that carry the caseload
columns too, so the screen paints without another query.

The actions (done, snooze, undo) are one transaction each with their audit
events. Done and snooze return an ``UndoToken`` holding what the action replaced;
``undo`` puts it back, but only while the item still holds what the action
wrote: if someone changed it since, undo refuses rather than overwrite their work.

Tasks keep their own snooze reason; the other kinds (contact due, referral reply,
goal and intervention due dates) record each snooze, and each referral chase, in
the ``worklist_snooze`` table, which is their history and what undo marks undone.

Readings (issue 20): an open reading alert is on Today until it is addressed;
done closes it with the nurse's note (``close_alert``, through the readings
service) and undo reopens it while nothing changed since. It is never snoozed:
a reading past its threshold is answered, not put off. A remote-monitoring gap
("no weight for 3 d") is cleared by a reading, so done refuses it; a snooze
(with a reason) hides it until its date, recorded in ``worklist_snooze``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import flag_modified

from nursecase.db.models import (
    Assessment,
    CarePlan,
    Condition,
    Contact,
    Encounter,
    Goal,
    Intervention,
    MonitoringEnrolment,
    Patient,
    Problem,
    Reading,
    ReadingAlert,
    Referral,
    ReferralStatusHistory,
    SafetyCheck,
    Task,
    Transition,
    WorklistSnooze,
)
from nursecase.domain.care_plan_rules import OPEN_GOAL_STATUSES, OPEN_INTERVENTION_STATUSES
from nursecase.domain.ccm import CcmMonth, ccm_month
from nursecase.domain.clocks import DEFAULT_REPLY_DAYS
from nursecase.domain.codes import (
    ACTIVE_CLINICAL_STATUSES,
    AlertStatus,
    AuditAction,
    CarePlanStatus,
    EncounterClass,
    EncounterStatus,
    EpisodeStatus,
    Instrument,
    Measure,
    ReferralPriority,
    ReferralStatus,
    ServiceType,
    TaskSource,
    TaskStatus,
)
from nursecase.domain.encounters import is_hospital_stay
from nursecase.domain.flags import READMISSION_WINDOW_DAYS, Flag, flags_of_items
from nursecase.domain.referral_states import TERMINAL_STATUSES
from nursecase.domain.safety_check import SAFETY_TASK_REFUSAL, SIGNAL_RISKS, is_safety_task
from nursecase.domain.tcm import (
    TCM_PERIOD_DAYS,
    TCM_TASK_REFUSAL,
    TcmStepState,
    period_end,
    tcm_status,
)
from nursecase.domain.validation import ValidationError, parse_date, require_text
from nursecase.domain.worklist import (
    PATIENT_SAFETY_KINDS,
    DueItem,
    DueKind,
    WorklistCandidate,
    WorklistEntry,
    is_included,
    rank_worklist,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.editing import guard_concurrent_save
from nursecase.services.encounters import read_encounter, stay_words
from nursecase.services.errors import NotFoundError, ServiceError
from nursecase.services.patients import (
    OPEN_TASK_STATUSES,
    age_on,
    cadence_due_date,
    display_name,
    load_patient,
    touch,
)
from nursecase.services.readings import ReadingsService, summary_line
from nursecase.services.statement_cache import StatementCache
from nursecase.services.tasks import TaskService
from nursecase.services.transitions import FACT_COLUMNS as TRANSITION_FACT_COLUMNS
from nursecase.services.transitions import row_facts, task_step

#: SQLite allows 999 bound parameters per statement; IN lists stay below that.
ID_CHUNK_SIZE = 900
REASON_MAX_LENGTH = 400
#: The reason recorded in the snooze history when a referral reply is chased.
CHASED_REASON = "chased"
#: How many recent contacts the rounds card shows.
SUMMARY_CONTACT_COUNT = 3

#: Why done does not apply to a monitoring gap, and snooze not to a reading alert.
GAP_DONE_REFUSAL = (
    "a reading clears a monitoring gap; if none is coming, snooze it (s) with a reason"
)
ALERT_SNOOZE_REFUSAL = (
    "an out-of-range reading is not snoozed: log the contact that addresses it, "
    "or close it with a note (d)"
)

#: UndoToken.kind values.
DONE = "done"
SNOOZE = "snooze"

_OPEN_TASK_CODES = tuple(str(status) for status in OPEN_TASK_STATUSES)
_CLOCK_TASK_SOURCES = (str(TaskSource.assessment_trigger), str(TaskSource.transition_clock))
_AWAITING_REPLY_CODES = (str(ReferralStatus.requested), str(ReferralStatus.received))
_PRESSING_PRIORITIES = frozenset(
    str(level) for level in (ReferralPriority.stat, ReferralPriority.asap, ReferralPriority.urgent)
)
# An IN list of the open statuses (rather than NOT IN the closed ones) lets the
# database use the (lifecycle_status, due_date) index.
_OPEN_GOAL_CODES = OPEN_GOAL_STATUSES
_OPEN_INTERVENTION_CODES = OPEN_INTERVENTION_STATUSES
_OPEN_PLAN_CODES = tuple(
    str(status) for status in (CarePlanStatus.draft, CarePlanStatus.active, CarePlanStatus.on_hold)
)
# A finished or cancelled episode stops the routine contact clock.
_CLOSED_EPISODE_CODES = (str(EpisodeStatus.finished), str(EpisodeStatus.cancelled))
_ACTIVE_CONDITION_CODES = tuple(sorted(str(status) for status in ACTIVE_CLINICAL_STATUSES))
_TERMINAL_REFERRAL_CODES = tuple(sorted(str(status) for status in TERMINAL_STATUSES))
_TASK_KINDS = frozenset({DueKind.safety, DueKind.tcm, DueKind.task})
_REFERRAL_KINDS = frozenset({DueKind.stuck_referral, DueKind.referral_reply})
_PLAN_KINDS = frozenset({DueKind.goal, DueKind.intervention})
_OPEN_ALERT = AlertStatus.open.value

#: The patient columns a worklist row shows, loaded once per candidate.
_PATIENT_COLUMNS = (
    Patient.id,
    Patient.mrn,
    Patient.family_name,
    Patient.given_name,
    Patient.birth_date,
    Patient.risk_tier,
    Patient.last_contact_at,
    Patient.next_contact_due,
    Patient.open_referral_count,
)


# ---------------------------------------------------------------- read models


@dataclass(frozen=True)
class WorklistRow:
    """One ranked worklist row: the ranking's entry plus the patient's caseload columns.

    ``items[0]`` is the due item that done and snooze act on; ``reasons`` has one
    text per item, ``why`` joins them. ``group`` is 0 safety, 1 TCM, 2 other.
    """

    patient_id: int
    items: tuple[DueItem, ...]
    reasons: tuple[str, ...]
    why: str
    group: int
    days_overdue: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date | None
    age: int | None
    risk_tier: str
    last_contact_at: datetime | None
    next_contact_due: date | None
    open_referral_count: int
    #: The patient's flags (domain.flags), most urgent first: the same flags
    #: the patient header and the rounds card show.
    flags: tuple[Flag, ...]

    @property
    def due_item(self) -> DueItem:
        """The most pressing item: the one done and snooze act on."""
        return self.items[0]

    @property
    def display_name(self) -> str:
        """ "Family, Given"."""
        return display_name(self.family_name, self.given_name)


@dataclass(frozen=True)
class UndoToken:
    """What a done or snooze replaced, so that ``undo`` can put it back.

    ``kind`` is "done" or "snooze". ``previous_due`` is the date the item had
    before (task due date, next contact due, expected reply date, goal or
    intervention due date) and ``new_due`` the date the action wrote (None when
    the action did not move a date, as when a task is completed).
    ``previous_status``/``done_at`` belong to a completed task or to a reading
    alert closed with a note (``done_at`` is when it was closed),
    ``previous_reason``/``new_reason`` to a snoozed task, ``snooze_id`` to the
    worklist_snooze row the action wrote.
    """

    kind: str
    patient_id: int
    item_kind: DueKind
    item_id: int | None
    previous_due: date | None = None
    new_due: date | None = None
    previous_status: str | None = None
    done_at: datetime | None = None
    previous_reason: str | None = None
    new_reason: str | None = None
    snooze_id: int | None = None


@dataclass(frozen=True)
class SnoozeRead:
    """One row of the snooze history: a date moved by a snooze or a referral chase."""

    id: int
    patient_id: int
    item_kind: str
    item_id: int | None
    previous_due: date | None
    until: date
    reason: str
    nurse_id: int | None
    created_at: datetime
    undone_at: datetime | None


@dataclass(frozen=True)
class SummaryContact:
    """One recent contact on the rounds card."""

    occurred_at: datetime
    mode: str
    outcome: str
    minutes: int


@dataclass(frozen=True)
class SummaryTask:
    """One open task on the rounds card."""

    id: int
    due_date: date
    description: str


@dataclass(frozen=True)
class SummaryReferral:
    """One open referral on the rounds card."""

    id: int
    service: str
    status: str
    days_in_status: int


@dataclass(frozen=True)
class SummaryScore:
    """The latest score of one instrument."""

    instrument: str
    summary: str
    performed_on: date


@dataclass(frozen=True)
class PatientSummary:
    """Everything the rounds card shows about one patient."""

    patient_id: int
    mrn: str
    family_name: str
    given_name: str
    age: int | None
    risk_tier: str
    next_contact_due: date | None
    phone: str | None
    conditions: tuple[str, ...]
    contacts: tuple[SummaryContact, ...]
    tasks: tuple[SummaryTask, ...]
    referrals: tuple[SummaryReferral, ...]
    scores: tuple[SummaryScore, ...]
    #: The patient's flags: the same as their row on Today and their header.
    flags: tuple[Flag, ...] = ()
    #: The CCM programme (or none) and this month's minutes that count toward it.
    ccm: CcmMonth | None = None
    #: The readings' one line ("wt 82.4 kg +2.6 kg/5 d ▲, BP 148/92"); "" without readings.
    readings_line: str = ""
    #: Where she is while IN HOSPITAL ("In hospital since 05 Dec, Mercy General"); "" at home.
    stay: str = ""

    @property
    def display_name(self) -> str:
        """ "Family, Given"."""
        return display_name(self.family_name, self.given_name)


# ------------------------------------------------------------------- helpers


def _rows(session: Session, query, scope: int | PatientIds | None = None) -> Any:
    """Run a column query on the session's connection: plain Core rows.

    The worklist reads tens of thousands of rows of plain columns; the ORM's
    per-row bookkeeping for them would cost more than the queries themselves.
    A query restricted to a ``PatientIds`` scope gets the listed ids here
    (``_for_nurse`` leaves them as a parameter).
    """
    if isinstance(scope, PatientIds):
        return session.connection().execute(query, {_LISTED_IDS: list(scope)})
    return session.connection().execute(query)


#: The statements of the flag queries for listed patients (a few per day;
#: older days' are dropped together).
_LISTED_STATEMENTS = StatementCache(most=32)


def _statement(key: tuple, scope: int | PatientIds | None, build: Callable[[], Any]) -> Any:
    """The query ``build()`` makes; for a ``PatientIds`` scope, made once per ``key``.

    The caseload asks for the flags of each page it shows (every search
    keystroke) and the patient header for one patient's: the same queries
    with other ids. Building an SQLAlchemy statement costs more Python than
    running it on a page of patients, so those statements, whose ids are a
    parameter, are built once and reused; ``key`` holds everything else the
    statement depends on (today's date, which items it reads).
    """
    if not isinstance(scope, PatientIds):
        return build()
    return _LISTED_STATEMENTS.get(key, build)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), ID_CHUNK_SIZE):
        yield ids[start : start + ID_CHUNK_SIZE]


def service_abbreviation(code: str) -> str:
    """ "PT" for physical-therapy; an unknown stored code is shown as it is."""
    try:
        return ServiceType(code).abbreviation
    except ValueError:
        return code


def _as_date(value: datetime | date | str) -> date:
    """A timestamp as a date (SQLite may hand an aggregate back as text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def tcm_item(row, today: date, holidays) -> DueItem | None:
    """The worklist item of an open TCM task, or None when the domain keeps it off Today.

    ``row`` holds the task's id, due date and description and the transition's
    ``FACT_COLUMNS``. A step is on Today while it is due and once more, on the
    first business day after a missed deadline; never after the TCM period or
    a readmission (``nursecase.domain.tcm``), whether or not the sweep that
    closes lapsed tasks has run. A clock task without its discharge is an
    ordinary task.
    """
    step = task_step(row.description)
    if row.discharged_on is None or step is None:
        if row.due_date > today:
            return None
        return DueItem(DueKind.task, row.due_date, row.description, row.id)
    status = tcm_status(row_facts(row), today, holidays)
    if not status.on_today(step):
        return None
    missed = status.step(step).state is TcmStepState.missed
    return DueItem(
        DueKind.tcm, row.due_date, row.description, row.id, status.today_reason(step), missed
    )


def _check_nurse_filter(nurse_id: object) -> int | None:
    if nurse_id is None:
        return None
    if isinstance(nurse_id, bool) or not isinstance(nurse_id, int):
        raise ValidationError("nurse_id", "must be a nurse id or None for every nurse")
    return nurse_id


def _check_item(item: object) -> DueItem:
    if not isinstance(item, DueItem):
        raise ValidationError("item", "must be a worklist due item")
    kind = DueKind(item.kind)
    if kind is not DueKind.contact and item.item_id is None:
        raise ValidationError("item", f"a {kind} item needs the id of its record")
    return item


# ------------------------------------------------------------------- service


class WorklistService:
    """Today's ranked worklist, its actions (done, snooze, undo) and the rounds card."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        # Completing and snoozing a task go through the task service's own code path,
        # closing and reopening a reading alert through the readings service's.
        self._tasks = TaskService(context)
        self._readings = ReadingsService(context)

    # ------------------------------------------------------------------ reads

    def today(self, nurse_id: int | None) -> list[WorklistRow]:
        """Today's worklist for a nurse's patients (None: every nurse's), most pressing first."""
        nurse = _check_nurse_filter(nurse_id)
        today = self.context.clock.today()
        items: dict[int, list[DueItem]] = defaultdict(list)
        patients: dict[int, Any] = {}
        with self.context.read() as session:
            self._contact_items(session, nurse, today, items, patients)
            self._task_items(session, nurse, today, items)
            self._safety_risk_items(session, nurse, items)
            self._referral_items(session, nurse, today, items)
            self._goal_items(session, nurse, today, items)
            self._intervention_items(session, nurse, today, items)
            self._alert_items(session, nurse, items)
            self._gap_items(session, nurse, today, items)
            missing = [patient_id for patient_id in items if patient_id not in patients]
            for chunk in _chunks(missing):
                rows = _rows(session, select(*_PATIENT_COLUMNS).where(Patient.id.in_(chunk)))
                for row in rows:
                    patients[row.id] = row
        candidates = []
        for patient_id, patient_items in items.items():
            patient = patients[patient_id]
            last = patient.last_contact_at
            candidates.append(
                WorklistCandidate(
                    patient_id=patient_id,
                    risk_tier=patient.risk_tier,
                    last_contact_on=last.date() if last is not None else None,
                    items=tuple(patient_items),
                )
            )
        entries = rank_worklist(candidates, today)
        with self.context.read() as session:
            readmitted = _readmitted(session, nurse, today)
            in_hospital = _in_hospital(session, nurse)
        return [
            _worklist_row(
                entry,
                patients[entry.patient_id],
                today,
                entry.patient_id in readmitted,
                entry.patient_id in in_hospital,
            )
            for entry in entries
        ]

    def flags_for(self, patient_ids: Sequence[int]) -> dict[int, tuple[Flag, ...]]:
        """The flags of the listed patients, worked out as Today works out its rows' flags.

        The patient header, the rounds card and the caseload ask here, so a
        flag means the same everywhere: the due items of the flag kinds (safety,
        an urgent reading alert, a late urgent referral, TCM) come from the same
        queries and the same inclusion rule as Today's, a readmission from the
        same discharges, and IN HOSPITAL from the same encounters in progress.
        A patient with none has an empty tuple.
        """
        today = self.context.clock.today()
        flags: dict[int, tuple[Flag, ...]] = {}
        ids = list(dict.fromkeys(patient_ids))
        with self.context.read() as session:
            for chunk in _chunks(ids):
                found = self.flags_in_session(session, PatientIds(chunk), today)
                for patient_id in chunk:
                    flags[patient_id] = found.get(patient_id, ())
        return flags

    def flags_in_session(
        self, session: Session, scope: int | PatientIds | None, today: date
    ) -> dict[int, tuple[Flag, ...]]:
        """The flagged patients of a scope (a nurse's id, listed patients, or None: everyone).

        For reports that read in their own session; only patients with a flag
        are in the answer.
        """
        items: dict[int, list[DueItem]] = defaultdict(list)
        self._task_items(session, scope, today, items, flags_only=True)
        self._safety_risk_items(session, scope, items)
        self._referral_items(session, scope, today, items, flags_only=True)
        self._alert_items(session, scope, items, flags_only=True)
        readmitted = _readmitted(session, scope, today)
        in_hospital = _in_hospital(session, scope)
        flags = {}
        for patient_id in set(items) | readmitted | in_hospital:
            included = [item for item in items.get(patient_id, ()) if is_included(item, today)]
            found = flags_of_items(included, patient_id in readmitted, patient_id in in_hospital)
            if found:
                flags[patient_id] = found
        return flags

    def next_due_date(self, nurse_id: int | None) -> date | None:
        """The first day after today on which something falls due (None: nothing scheduled).

        For the empty state ("nothing due today; next: Tue 1 Dec"): the next
        contact, open task, open goal or intervention due date, or the day a
        monitoring gap would begin if no reading comes; a referral reply counts
        from the day after its expected reply date, because that is when an
        unanswered referral comes onto the list.
        """
        nurse = _check_nurse_filter(nurse_id)
        today = self.context.clock.today()
        contact_query = select(func.min(Patient.next_contact_due)).where(
            Patient.next_contact_due > today, _contact_clock_running()
        )
        if nurse is not None:
            contact_query = contact_query.where(Patient.nurse_id == nurse)
        queries = [
            contact_query,
            _for_nurse(
                select(func.min(Task.due_date)).where(
                    Task.status.in_(_OPEN_TASK_CODES), Task.due_date > today
                ),
                Task.patient_id,
                nurse,
            ),
            _for_nurse(
                _plan_item_query(Goal, func.min(Goal.due_date)).where(
                    Goal.lifecycle_status.in_(_OPEN_GOAL_CODES), Goal.due_date > today
                ),
                CarePlan.patient_id,
                nurse,
            ),
            _for_nurse(
                _plan_item_query(Intervention, func.min(Intervention.due_date)).where(
                    Intervention.status.in_(_OPEN_INTERVENTION_CODES),
                    Intervention.due_date > today,
                ),
                CarePlan.patient_id,
                nurse,
            ),
        ]
        reply_query = _for_nurse(
            select(func.min(Referral.expected_reply_date)).where(
                Referral.status.in_(_AWAITING_REPLY_CODES),
                Referral.expected_reply_date >= today,
            ),
            Referral.patient_id,
            nurse,
        )
        with self.context.read() as session:
            dates = [session.execute(query).scalar() for query in queries]
            reply = session.execute(reply_query).scalar()
            dates.extend(due for _row, due in _gaps(session, nurse, today) if due > today)
        if reply is not None:
            dates.append(_as_date(reply) + timedelta(days=1))
        found = [_as_date(day) for day in dates if day is not None]
        return min(found, default=None)

    def summary(self, patient_id: int) -> PatientSummary:
        """What the rounds card shows about one patient, read in one session."""
        today = self.context.clock.today()
        with self.context.read() as session:
            patient = load_patient(session, patient_id)
            conditions = session.execute(
                select(Condition.description)
                .where(
                    Condition.patient_id == patient_id,
                    Condition.clinical_status.in_(_ACTIVE_CONDITION_CODES),
                )
                .order_by(Condition.recorded_at, Condition.id)
            ).scalars()
            contacts = session.execute(
                select(Contact.occurred_at, Contact.mode, Contact.outcome, Contact.minutes)
                .where(Contact.patient_id == patient_id)
                .order_by(Contact.occurred_at.desc(), Contact.id.desc())
                .limit(SUMMARY_CONTACT_COUNT)
            )
            tasks = session.execute(
                select(Task.id, Task.due_date, Task.description)
                .where(Task.patient_id == patient_id, Task.status.in_(_OPEN_TASK_CODES))
                .order_by(Task.due_date, Task.id)
            )
            # Days in status come from the status history (when the current status
            # began), as in the referral queue, never from "last modified".
            entered_at = (
                select(func.max(ReferralStatusHistory.changed_at))
                .where(ReferralStatusHistory.referral_id == Referral.id)
                .correlate(Referral)
                .scalar_subquery()
            )
            referrals = session.execute(
                select(
                    Referral.id,
                    Referral.service_type,
                    Referral.status,
                    Referral.status_changed_at,
                    entered_at.label("entered_at"),
                )
                .where(
                    Referral.patient_id == patient_id,
                    Referral.status.not_in(_TERMINAL_REFERRAL_CODES),
                )
                .order_by(Referral.status_changed_at, Referral.id)
            )
            assessments = session.execute(
                select(Assessment.instrument, Assessment.summary, Assessment.performed_at)
                .where(Assessment.patient_id == patient_id)
                .order_by(Assessment.performed_at.desc(), Assessment.id.desc())
            )
            condition_texts = tuple(conditions)
            contact_rows = tuple(
                SummaryContact(row.occurred_at, row.mode, row.outcome, row.minutes)
                for row in contacts
            )
            task_rows = tuple(SummaryTask(row.id, row.due_date, row.description) for row in tasks)
            referral_rows = tuple(
                SummaryReferral(
                    id=row.id,
                    service=service_abbreviation(row.service_type),
                    status=row.status,
                    days_in_status=max(
                        0, (today - _as_date(row.entered_at or row.status_changed_at)).days
                    ),
                )
                for row in referrals
            )
            latest: dict[str, SummaryScore] = {}
            for row in assessments:
                if row.instrument not in latest:
                    latest[row.instrument] = SummaryScore(
                        instrument=_instrument_label(row.instrument),
                        summary=row.summary,
                        performed_on=row.performed_at.date(),
                    )
            return PatientSummary(
                patient_id=patient.id,
                mrn=patient.mrn,
                family_name=patient.family_name,
                given_name=patient.given_name,
                age=age_on(patient.birth_date, today),
                risk_tier=patient.risk_tier,
                next_contact_due=patient.next_contact_due,
                phone=patient.phone,
                conditions=condition_texts,
                contacts=contact_rows,
                tasks=task_rows,
                referrals=referral_rows,
                scores=tuple(latest.values()),
                flags=self.flags_in_session(session, PatientIds((patient_id,)), today).get(
                    patient_id, ()
                ),
                ccm=_ccm_this_month(session, patient, today),
                readings_line=summary_line(
                    session, patient_id, today, self.context.settings.weight_unit
                ),
                stay=_stay_words(session, patient_id),
            )

    def snoozes(self, patient_id: int) -> list[SnoozeRead]:
        """The patient's snooze and chase history (not tasks: they keep their own), newest first."""
        with self.context.read() as session:
            load_patient(session, patient_id)
            rows = session.execute(
                select(WorklistSnooze)
                .where(WorklistSnooze.patient_id == patient_id)
                .order_by(WorklistSnooze.created_at.desc(), WorklistSnooze.id.desc())
            ).scalars()
            return [
                SnoozeRead(
                    id=row.id,
                    patient_id=row.patient_id,
                    item_kind=row.item_kind,
                    item_id=row.item_id,
                    previous_due=row.previous_due,
                    until=row.until,
                    reason=row.reason,
                    nurse_id=row.nurse_id,
                    created_at=row.created_at,
                    undone_at=row.undone_at,
                )
                for row in rows
            ]

    # ---------------------------------------------------------------- actions

    def done(self, patient_id: int, item: DueItem, note: str | None = None) -> UndoToken:
        """Mark the item done: complete its task, reset the contact clock or chase the referral.

        A contact's next due date becomes today plus the risk tier's cadence; a
        referral awaiting reply is "chased": its expected reply date moves to
        today plus the priority's reply days, recorded as a snooze with the
        reason "chased". Goals and interventions are completed in the care plan.
        A reading alert is closed with the nurse's ``note`` (required:
        ``close_alert``); a monitoring gap is refused (a reading clears it).
        """
        due_item = _check_item(item)
        kind = DueKind(due_item.kind)
        self.context.require_nurse()
        if kind in PATIENT_SAFETY_KINDS:
            raise ValidationError("item", SAFETY_TASK_REFUSAL)
        if kind is DueKind.reading:
            return self.close_alert(patient_id, due_item, note or "")
        if kind is DueKind.reading_gap:
            raise ValidationError("item", GAP_DONE_REFUSAL)
        if kind is DueKind.tcm:
            return self._note_missed_tcm_step(patient_id, due_item.item_id)
        if kind in _PLAN_KINDS:
            raise ValidationError("item", "complete goals and interventions in the care plan")
        if kind in _TASK_KINDS:
            return self._complete_task(patient_id, kind, due_item.item_id)
        today = self.context.clock.today()
        if kind is DueKind.contact:
            with self.context.write() as session:
                patient = load_patient(session, patient_id)
                new_due = cadence_due_date(self.context, patient.risk_tier, today)
                previous = self._set_contact_due(session, patient, new_due)
                return UndoToken(DONE, patient_id, kind, None, previous, new_due)
        with self.context.write() as session:
            referral = self._awaiting_referral(session, patient_id, due_item.item_id)
            days = DEFAULT_REPLY_DAYS[ReferralPriority(referral.priority)]
            new_due = today + timedelta(days=days)
            previous = self._set_reply_date(session, referral, new_due)
            snooze_id = self._write_snooze(
                session, patient_id, kind, referral.id, previous, new_due, CHASED_REASON
            )
            return UndoToken(
                DONE, patient_id, kind, referral.id, previous, new_due, snooze_id=snooze_id
            )

    def close_alert(self, patient_id: int, item: DueItem, note: str) -> UndoToken:
        """Close the patient's open reading alert with the nurse's note (what was done).

        One transaction (the readings service's ``close_with_note``, with its
        audit event). The token's ``done_at`` is the moment it was closed: undo
        reopens the alert only while it still stands closed by that note.
        """
        due_item = _check_item(item)
        if DueKind(due_item.kind) is not DueKind.reading:
            raise ValidationError("item", "only an out-of-range reading is closed with a note")
        self.context.require_nurse()
        assert due_item.item_id is not None  # _check_item checked it
        closed = self._readings.close_with_note(due_item.item_id, note, patient_id=patient_id)
        return UndoToken(
            DONE,
            patient_id,
            DueKind.reading,
            closed.id,
            previous_status=_OPEN_ALERT,
            done_at=closed.closed_at,
        )

    def snooze(self, patient_id: int, item: DueItem, until: date | str, reason: str) -> UndoToken:
        """Move the item to a later day, with a reason (kept in the snooze history).

        Tasks get the new due date and the reason on the task itself; the other
        kinds move their date (next contact due, expected reply date, goal or
        intervention due date) and write a worklist_snooze row. A monitoring gap
        has no date of its own to move: the worklist_snooze row alone keeps it
        off Today until then. A reading alert is never snoozed.
        """
        due_item = _check_item(item)
        kind = DueKind(due_item.kind)
        day = parse_date(until, "until")
        if day <= self.context.clock.today():
            raise ValidationError("until", "must be after today")
        reason_text = require_text(reason, "reason", max_length=REASON_MAX_LENGTH)
        self.context.require_nurse()
        if kind in PATIENT_SAFETY_KINDS:
            raise ValidationError("item", SAFETY_TASK_REFUSAL)
        if kind is DueKind.reading:
            raise ValidationError("item", ALERT_SNOOZE_REFUSAL)
        if kind in _TASK_KINDS:
            return self._snooze_task(patient_id, kind, due_item.item_id, day, reason_text)
        with self.context.write() as session:
            if kind is DueKind.contact:
                previous = self._set_contact_due(session, load_patient(session, patient_id), day)
            elif kind is DueKind.reading_gap:
                _patient_enrolment(session, patient_id, due_item.item_id)
                previous = due_item.due_date
            elif kind in _REFERRAL_KINDS:
                referral = self._awaiting_referral(session, patient_id, due_item.item_id)
                previous = self._set_reply_date(session, referral, day)
            else:
                row, plan = self._plan_item(session, patient_id, kind, due_item.item_id)
                previous = self._set_plan_item_due(session, kind, row, plan, day)
            snooze_id = self._write_snooze(
                session, patient_id, kind, due_item.item_id, previous, day, reason_text
            )
            return UndoToken(
                SNOOZE, patient_id, kind, due_item.item_id, previous, day, snooze_id=snooze_id
            )

    def undo(self, token: UndoToken) -> None:
        """Put back what a done or snooze changed, if nobody has changed the item since.

        Refuses with a ServiceError (and writes nothing) when the item no longer
        holds what the action wrote, or the action was already undone.
        """
        if not isinstance(token, UndoToken) or token.kind not in (DONE, SNOOZE):
            raise ValidationError("token", "must be the undo token of a worklist action")
        kind = DueKind(token.item_kind)
        self.context.require_nurse()
        with self.context.write() as session:
            if kind in _TASK_KINDS:
                self._undo_task(session, token)
            elif kind is DueKind.reading:
                assert token.item_id is not None and token.done_at is not None
                self._readings.reopen_closed_by_note(
                    session, token.patient_id, token.item_id, token.done_at
                )
            elif kind is DueKind.reading_gap:
                # Nothing of the enrolment moved: the snooze row, marked undone
                # below, was the whole of the action.
                _patient_enrolment(session, token.patient_id, token.item_id)
            elif kind is DueKind.contact:
                patient = load_patient(session, token.patient_id)
                if patient.next_contact_due != token.new_due:
                    raise _changed_since("the patient's next contact date")
                self._set_contact_due(session, patient, token.previous_due)
            elif kind in _REFERRAL_KINDS:
                referral = session.get(Referral, token.item_id)
                if referral is None or referral.patient_id != token.patient_id:
                    raise NotFoundError("referral", token.item_id)
                if referral.expected_reply_date != token.new_due:
                    raise _changed_since("the referral's expected reply date")
                self._set_reply_date(session, referral, token.previous_due)
            else:
                row, plan = self._plan_item(session, token.patient_id, kind, token.item_id)
                if row.due_date != token.new_due:
                    raise _changed_since(f"the {kind}'s due date")
                self._set_plan_item_due(session, kind, row, plan, token.previous_due)
            if token.snooze_id is not None:
                self._mark_snooze_undone(session, token.snooze_id)

    # ---------------------------------------------------------- item queries

    def _contact_items(
        self,
        session: Session,
        nurse_id: int | None,
        today: date,
        items: dict[int, list[DueItem]],
        patients: dict[int, Any],
    ) -> None:
        """Patients whose next contact is due; their rows double as the patient columns."""
        query = select(*_PATIENT_COLUMNS).where(
            Patient.next_contact_due <= today, _contact_clock_running()
        )
        if nurse_id is not None:
            query = query.where(Patient.nurse_id == nurse_id)
        for row in _rows(session, query):
            patients[row.id] = row
            items[row.id].append(DueItem(DueKind.contact, row.next_contact_due, "", None))

    def _task_items(
        self,
        session: Session,
        nurse_id: int | PatientIds | None,
        today: date,
        items: dict[int, list[DueItem]],
        flags_only: bool = False,
    ) -> None:
        """Open tasks: safety at any date, TCM steps by the domain rule, others due by today.

        One query for the three kinds: they all come from the open tasks of the
        same patients, so one pass over the task index serves them all. A snoozed
        task has a later due date already and so drops out. ``flags_only``
        reads just the clock tasks (safety and TCM), the ones that raise flags.
        """

        def build():
            query = (
                select(
                    Task.patient_id,
                    Task.id,
                    Task.due_date,
                    Task.description,
                    Task.source,
                    Task.priority,
                    Task.snooze_reason,
                    *TRANSITION_FACT_COLUMNS,
                )
                .outerjoin(
                    Transition,
                    (Task.source == str(TaskSource.transition_clock))
                    & (Transition.id == Task.source_id),
                )
                .where(
                    Task.status.in_(_OPEN_TASK_CODES),
                    Task.source.in_(_CLOCK_TASK_SOURCES)
                    if flags_only
                    else or_(Task.due_date <= today, Task.source.in_(_CLOCK_TASK_SOURCES)),
                )
            )
            return _for_nurse(query, Task.patient_id, nurse_id)

        query = _statement(("tasks", today, flags_only), nurse_id, build)
        holidays = self.context.settings.holidays
        clock_source = str(TaskSource.transition_clock)
        for row in _rows(session, query, nurse_id):
            if row.snooze_reason is not None and row.due_date > today:
                # Flags and clocks show whatever their date, but a nurse who
                # snoozed one (with a reason) sees it again on the new date.
                continue
            if row.source == clock_source:
                tcm = tcm_item(row, today, holidays)
                if tcm is None:
                    continue
                item = tcm
            elif is_safety_task(row.source, row.priority):
                item = DueItem(DueKind.safety, row.due_date, row.description, row.id)
            elif row.due_date <= today:
                item = DueItem(DueKind.task, row.due_date, row.description, row.id)
            else:
                continue
            items[row.patient_id].append(item)

    def _safety_risk_items(
        self, session: Session, nurse_id: int | None, items: dict[int, list[DueItem]]
    ) -> None:
        """Patients whose LATEST safety check found moderate or high risk (one query).

        The signal stays until a newer check finds low risk or none: a check is
        the latest when no check of the same patient is later (or as late with
        a higher id).
        """

        def build():
            newer = aliased(SafetyCheck)
            later_check = (
                select(newer.id)
                .where(
                    newer.patient_id == SafetyCheck.patient_id,
                    or_(
                        newer.performed_at > SafetyCheck.performed_at,
                        and_(
                            newer.performed_at == SafetyCheck.performed_at,
                            newer.id > SafetyCheck.id,
                        ),
                    ),
                )
                .exists()
            )
            query = select(
                SafetyCheck.patient_id, SafetyCheck.id, SafetyCheck.performed_at, SafetyCheck.risk
            ).where(SafetyCheck.risk.in_(sorted(str(risk) for risk in SIGNAL_RISKS)), ~later_check)
            return _for_nurse(query, SafetyCheck.patient_id, nurse_id)

        query = _statement(("safety risk",), nurse_id, build)
        for patient_id, check_id, performed_at, risk in _rows(session, query, nurse_id):
            day = _as_date(performed_at)
            items[patient_id].append(DueItem(DueKind.safety_risk, day, "", check_id, risk))

    def _referral_items(
        self,
        session: Session,
        nurse_id: int | PatientIds | None,
        today: date,
        items: dict[int, list[DueItem]],
        flags_only: bool = False,
    ) -> None:
        """Referrals still awaiting a reply after their expected reply date.

        ``flags_only`` reads just the stat, ASAP and urgent ones (REFERRAL LATE).
        """

        def build():
            query = select(
                Referral.patient_id,
                Referral.id,
                Referral.expected_reply_date,
                Referral.priority,
                Referral.service_type,
            ).where(
                Referral.status.in_(_AWAITING_REPLY_CODES),
                Referral.expected_reply_date < today,
            )
            if flags_only:
                query = query.where(Referral.priority.in_(sorted(_PRESSING_PRIORITIES)))
            return _for_nurse(query, Referral.patient_id, nurse_id)

        query = _statement(("referrals", today, flags_only), nurse_id, build)
        for patient_id, referral_id, reply_date, priority, service in _rows(
            session, query, nurse_id
        ):
            label = service_abbreviation(service)
            if priority in _PRESSING_PRIORITIES:
                item = DueItem(DueKind.stuck_referral, reply_date, label, referral_id, priority)
            else:
                item = DueItem(DueKind.referral_reply, reply_date, label, referral_id)
            items[patient_id].append(item)

    def _goal_items(
        self, session: Session, nurse_id: int | None, today: date, items: dict[int, list[DueItem]]
    ) -> None:
        """Open goals of open care plans due today or earlier."""
        query = _plan_item_query(
            Goal, CarePlan.patient_id, Goal.id, Goal.due_date, Goal.description
        ).where(Goal.lifecycle_status.in_(_OPEN_GOAL_CODES), Goal.due_date <= today)
        for patient_id, goal_id, due, description in _rows(
            session, _for_nurse(query, CarePlan.patient_id, nurse_id)
        ):
            items[patient_id].append(DueItem(DueKind.goal, due, description, goal_id))

    def _intervention_items(
        self, session: Session, nurse_id: int | None, today: date, items: dict[int, list[DueItem]]
    ) -> None:
        """Open interventions of open care plans due today or earlier."""
        query = _plan_item_query(
            Intervention,
            CarePlan.patient_id,
            Intervention.id,
            Intervention.due_date,
            Intervention.description,
        ).where(Intervention.status.in_(_OPEN_INTERVENTION_CODES), Intervention.due_date <= today)
        for patient_id, intervention_id, due, description in _rows(
            session, _for_nurse(query, CarePlan.patient_id, nurse_id)
        ):
            items[patient_id].append(
                DueItem(DueKind.intervention, due, description, intervention_id)
            )

    def _alert_items(
        self,
        session: Session,
        scope: int | PatientIds | None,
        items: dict[int, list[DueItem]],
        flags_only: bool = False,
    ) -> None:
        """Open reading alerts, one query: each stays on Today until it is addressed.

        Its due date is the day of the reading it covers (days overdue count
        how long the breach has waited); ``flags_only`` reads just the urgent
        ones, the ones that raise OUT OF RANGE.
        """

        def build():
            query = select(
                ReadingAlert.patient_id,
                ReadingAlert.id,
                ReadingAlert.reading_at,
                ReadingAlert.measure,
                ReadingAlert.why,
                ReadingAlert.urgent,
            ).where(ReadingAlert.status == _OPEN_ALERT)
            if flags_only:
                query = query.where(ReadingAlert.urgent.is_(True))
            return _for_nurse(query, ReadingAlert.patient_id, scope)

        query = _statement(("reading alerts", flags_only), scope, build)
        for patient_id, alert_id, reading_at, measure, why, urgent in _rows(session, query, scope):
            items[patient_id].append(
                DueItem(
                    DueKind.reading,
                    _as_date(reading_at),
                    measure,
                    alert_id,
                    why,
                    urgent=bool(urgent),
                )
            )

    def _gap_items(
        self,
        session: Session,
        scope: int | PatientIds | None,
        today: date,
        items: dict[int, list[DueItem]],
    ) -> None:
        """Remote-monitoring gaps due by today ("no weight for 3 d"); see ``_gaps``."""
        for row, due in _gaps(session, scope, today):
            if due <= today:
                items[row.patient_id].append(
                    DueItem(DueKind.reading_gap, due, row.measure, row.id, str(row.gap_days))
                )

    # ------------------------------------------------------------ task actions

    def _patient_task(self, patient_id: int, task_id: int | None) -> Task:
        """The task as it stands now (the undo token keeps what is about to change)."""
        with self.context.read() as session:
            task = session.get(Task, task_id)
            if task is None or task.patient_id != patient_id:
                raise NotFoundError("task", task_id)
            session.expunge(task)
            return task

    def _complete_task(self, patient_id: int, kind: DueKind, task_id: int | None) -> UndoToken:
        before = self._patient_task(patient_id, task_id)
        completed = self._tasks.complete(before.id)
        return UndoToken(
            DONE,
            patient_id,
            kind,
            before.id,
            previous_due=before.due_date,
            previous_status=before.status,
            done_at=completed.done_at,
        )

    def _snooze_task(
        self, patient_id: int, kind: DueKind, task_id: int | None, until: date, reason: str
    ) -> UndoToken:
        before = self._patient_task(patient_id, task_id)
        snoozed = self._tasks.snooze(before.id, until, reason)
        return UndoToken(
            SNOOZE,
            patient_id,
            kind,
            before.id,
            previous_due=before.due_date,
            new_due=snoozed.due_date,
            previous_status=before.status,
            previous_reason=before.snooze_reason,
            new_reason=snoozed.snooze_reason,
        )

    def _note_missed_tcm_step(self, patient_id: int, task_id: int | None) -> UndoToken:
        """Close a missed TCM step's task as missed (failed), now rather than at the sweep.

        An open step is refused: CMS counts the contact or visit itself, so it
        is met by logging that, never by ticking its task off.
        """
        today = self.context.clock.today()
        with self.context.write() as session:
            row = session.execute(
                select(Task, *TRANSITION_FACT_COLUMNS)
                .join(Transition, Transition.id == Task.source_id)
                .where(
                    Task.id == task_id,
                    Task.patient_id == patient_id,
                    Task.source == str(TaskSource.transition_clock),
                    Task.status.in_(_OPEN_TASK_CODES),
                )
            ).first()
            if row is None:
                raise NotFoundError("task", task_id)
            task = row[0]
            step = task_step(task.description)
            status = tcm_status(row_facts(row), today, self.context.settings.holidays)
            if step is None or status.step(step).state is not TcmStepState.missed:
                raise ValidationError("item", TCM_TASK_REFUSAL)
            previous_status = task.status
            task.status = str(TaskStatus.failed)
            task.done_at = self.context.clock.now()
            session.flush()
            audit.record(
                session, self.context, AuditAction.update, "task", task.id, ("status", "done_at")
            )
            return UndoToken(
                DONE,
                patient_id,
                DueKind.tcm,
                task.id,
                previous_due=task.due_date,
                previous_status=previous_status,
                done_at=task.done_at,
            )

    def _undo_task(self, session: Session, token: UndoToken) -> None:
        task = session.get(Task, token.item_id)
        if task is None or task.patient_id != token.patient_id:
            raise NotFoundError("task", token.item_id)
        if token.kind == DONE:
            closed = (str(TaskStatus.completed), str(TaskStatus.failed))
            if task.status not in closed or task.done_at != token.done_at:
                raise _changed_since("the task")
            task.status = token.previous_status or str(TaskStatus.requested)
            task.done_at = None
            changed: tuple[str, ...] = ("status", "done_at")
        else:
            if (
                task.status not in _OPEN_TASK_CODES
                or task.due_date != token.new_due
                or task.snooze_reason != token.new_reason
            ):
                raise _changed_since("the task")
            task.due_date = token.previous_due
            task.snooze_reason = token.previous_reason
            changed = ("due_date", "snooze_reason")
        session.flush()
        audit.record(session, self.context, AuditAction.update, "task", task.id, changed)

    # ------------------------------------------------------- other item writes

    def _set_contact_due(self, session: Session, patient: Patient, due: date | None) -> date | None:
        """Set the patient's next contact date (with its audit event); return the old one."""
        previous = patient.next_contact_due
        patient.next_contact_due = due
        touch(patient, self.context)
        with guard_concurrent_save("patient"):
            session.flush()
        audit.record(
            session, self.context, AuditAction.update, "patient", patient.id, ("next_contact_due",)
        )
        return previous

    def _awaiting_referral(self, session: Session, patient_id: int, referral_id: int | None):
        referral = session.get(Referral, referral_id)
        if referral is None or referral.patient_id != patient_id:
            raise NotFoundError("referral", referral_id)
        if referral.status not in _AWAITING_REPLY_CODES:
            raise ValidationError(
                "status", f"the referral is {referral.status}; it is no longer awaiting a reply"
            )
        return referral

    def _set_reply_date(
        self, session: Session, referral: Referral, due: date | None
    ) -> date | None:
        """Move the referral's expected reply date (with its audit event); return the old one."""
        previous = referral.expected_reply_date
        referral.expected_reply_date = due
        referral.updated_at = self.context.clock.now()
        referral.updated_by = self.context.nurse_id
        with guard_concurrent_save("referral"):
            session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.update,
            "referral",
            referral.id,
            ("expected_reply_date",),
        )
        return previous

    def _plan_item(
        self, session: Session, patient_id: int, kind: DueKind, item_id: int | None
    ) -> tuple[Goal | Intervention, CarePlan]:
        """The goal or intervention and its care plan, checked to be this patient's and open."""
        model = Goal if kind is DueKind.goal else Intervention
        found = session.execute(
            select(model, CarePlan)
            .join(Problem, Problem.id == model.problem_id)
            .join(CarePlan, CarePlan.id == Problem.care_plan_id)
            .where(model.id == item_id)
        ).first()
        if found is None or found[1].patient_id != patient_id:
            raise NotFoundError(str(kind), item_id)
        row, plan = found
        if plan.status not in _OPEN_PLAN_CODES:
            raise ValidationError(
                "status", f"the care plan is {plan.status}; its items can no longer be edited"
            )
        return row, plan

    def _set_plan_item_due(
        self,
        session: Session,
        kind: DueKind,
        row: Goal | Intervention,
        plan: CarePlan,
        due: date | None,
    ) -> date | None:
        """Move a goal's or intervention's due date; the plan's version moves on too.

        Bumping the plan (as every care-plan edit does) makes a care-plan editor
        that still shows the old date refuse its stale save instead of undoing this.
        """
        previous = row.due_date
        row.due_date = due
        plan.updated_at = self.context.clock.now()
        plan.updated_by = self.context.nurse_id
        flag_modified(plan, "updated_at")
        with guard_concurrent_save("care plan"):
            session.flush()
        audit.record(session, self.context, AuditAction.update, str(kind), row.id, ("due_date",))
        return previous

    def _write_snooze(
        self,
        session: Session,
        patient_id: int,
        kind: DueKind,
        item_id: int | None,
        previous_due: date | None,
        until: date,
        reason: str,
    ) -> int:
        snooze = WorklistSnooze(
            patient_id=patient_id,
            item_kind=str(kind),
            item_id=item_id,
            previous_due=previous_due,
            until=until,
            reason=reason,
            nurse_id=self.context.nurse_id,
            created_at=self.context.clock.now(),
        )
        session.add(snooze)
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.create,
            "worklist_snooze",
            snooze.id,
            ("patient_id", "item_kind", "item_id", "previous_due", "until", "reason"),
        )
        return snooze.id

    def _mark_snooze_undone(self, session: Session, snooze_id: int) -> None:
        snooze = session.get(WorklistSnooze, snooze_id)
        if snooze is None:
            raise NotFoundError("snooze", snooze_id)
        if snooze.undone_at is not None:
            raise ServiceError("this action was already undone")
        snooze.undone_at = self.context.clock.now()
        session.flush()
        audit.record(
            session, self.context, AuditAction.update, "worklist_snooze", snooze.id, ("undone_at",)
        )


# ------------------------------------------------------------ query helpers


def _contact_clock_running():
    """Patients whose routine contact clock runs: no episode, or one not finished/cancelled,
    and not in a hospital or observation stay now.

    Issue 21: the contact cadence pauses while the patient is in hospital (a
    call to her home would find nobody, and the ward has her care); the due
    date itself is kept, so she is due again the day she is discharged (when
    the TCM steps take over anyway). An emergency visit in progress does not
    pause it: it lasts hours (``domain.encounters.is_hospital_stay``). The
    stay is found by a NOT EXISTS probe of the (status, patient_id,
    encounter_class) index, one per patient the due date already selected.
    """
    in_stay = (
        select(Encounter.id)
        .where(
            Encounter.status == _IN_PROGRESS,
            Encounter.patient_id == Patient.id,
            Encounter.encounter_class.in_(_STAY_CLASSES),
        )
        .correlate(Patient)
        .exists()
    )
    return and_(
        or_(
            Patient.episode_status.is_(None),
            Patient.episode_status.not_in(_CLOSED_EPISODE_CODES),
        ),
        ~in_stay,
    )


_IN_PROGRESS = str(EncounterStatus.in_progress)
#: Encounter classes that put a patient in a hospital bed (they pause the cadence).
_STAY_CLASSES = tuple(str(kind) for kind in EncounterClass if is_hospital_stay(kind))
#: Encounter classes in progress that raise IN HOSPITAL: a stay, or the ED.
_IN_HOSPITAL_CLASSES = (*_STAY_CLASSES, str(EncounterClass.emergency))


def _stay_words(session: Session, patient_id: int) -> str:
    """The rounds card's words for the patient's latest stay or ED visit in progress ("" none)."""
    encounter = session.execute(
        select(Encounter)
        .where(
            Encounter.patient_id == patient_id,
            Encounter.status == _IN_PROGRESS,
            Encounter.encounter_class.in_(_IN_HOSPITAL_CLASSES),
        )
        .order_by(Encounter.admitted_at.desc(), Encounter.id.desc())
        .limit(1)
    ).scalar()
    return "" if encounter is None else stay_words(read_encounter(encounter, ()))


def _in_hospital(session: Session, scope: int | PatientIds | None) -> set[int]:
    """Patients of the scope with a stay or an emergency visit in progress (IN HOSPITAL).

    One query over the (status, patient_id, encounter_class) index: the
    encounters in progress are few (the patients in hospital today), whatever
    the size of the caseload.
    """
    query = _statement(
        ("in hospital",),
        scope,
        lambda: _for_nurse(
            select(Encounter.patient_id).where(
                Encounter.status == _IN_PROGRESS,
                Encounter.encounter_class.in_(_IN_HOSPITAL_CLASSES),
            ),
            Encounter.patient_id,
            scope,
        ),
    )
    return {patient_id for (patient_id,) in _rows(session, query, scope)}


#: The parameter that holds a ``PatientIds`` scope's ids when a query runs.
_LISTED_IDS = "listed_patient_ids"


class PatientIds(tuple):
    """A scope of listed patients (at most ID_CHUNK_SIZE), where a nurse's id may go.

    The item queries take the scope of Today (one nurse's patients, or None for
    everyone's); ``flags_for`` hands them this instead, for the patients it is
    asked about, so that the flags come from exactly the queries Today uses.
    """


def _for_nurse(query, patient_id_column, nurse_id: int | PatientIds | None):
    """Restrict an item query to one nurse's patients (the patient's nurse, not the task's),
    or to the listed patients of a ``PatientIds`` scope."""
    if nurse_id is None:
        return query
    if isinstance(nurse_id, PatientIds):
        # The ids are given when the query runs (``_rows``), so that the
        # statement is the same for every list of patients (``_statement``).
        return query.where(patient_id_column.in_(bindparam(_LISTED_IDS, expanding=True)))
    return query.join(Patient, Patient.id == patient_id_column).where(Patient.nurse_id == nurse_id)


def _readmitted(session: Session, scope: int | PatientIds | None, today: date) -> set[int]:
    """Patients discharged within 30 days of a previous discharge, during the new TCM period.

    DESIGN.md: READMISSION is a discharge within 30 days of the previous one;
    it is shown while that discharge's TCM period (the day and 29 after) runs.
    """
    oldest = today - timedelta(days=TCM_PERIOD_DAYS + READMISSION_WINDOW_DAYS)
    query = _statement(
        ("discharges", today),
        scope,
        lambda: _for_nurse(
            select(Transition.patient_id, Transition.discharged_on).where(
                Transition.discharged_on >= oldest, Transition.discharged_on <= today
            ),
            Transition.patient_id,
            scope,
        ),
    )
    discharges: dict[int, list[date]] = defaultdict(list)
    for patient_id, discharged_on in _rows(session, query, scope):
        discharges[patient_id].append(_as_date(discharged_on))
    readmitted = set()
    for patient_id, days in discharges.items():
        days.sort()
        for previous, current in zip(days, days[1:], strict=False):
            in_period = today <= period_end(current)
            if in_period and 0 < (current - previous).days <= READMISSION_WINDOW_DAYS:
                readmitted.add(patient_id)
    return readmitted


def _gaps(session: Session, scope: int | PatientIds | None, today: date) -> Iterator[tuple]:
    """Each open monitoring enrolment of the scope with the day its gap begins (one query).

    The gap begins ``gap_days`` after the later of the enrolment's start and the
    day of the latest reading of its measure (blood pressure: the systolic
    part, which every pressure reading has). A snoozed gap (a snooze not undone
    whose date is still ahead) is left out. The latest reading is a correlated
    MAX over the (patient, measure, taken_at) index: one index probe per
    enrolment, never a scan of anyone's series.
    """

    def build():
        enrolment = MonitoringEnrolment
        read_measure = case(
            (enrolment.measure == Measure.blood_pressure.value, Measure.systolic.value),
            else_=enrolment.measure,
        )
        latest = (
            select(func.max(Reading.taken_at))
            .where(Reading.patient_id == enrolment.patient_id, Reading.measure == read_measure)
            .correlate(enrolment)
            .scalar_subquery()
        )
        snoozed = (
            select(WorklistSnooze.id)
            .where(
                WorklistSnooze.patient_id == enrolment.patient_id,
                WorklistSnooze.item_kind == str(DueKind.reading_gap),
                WorklistSnooze.item_id == enrolment.id,
                WorklistSnooze.undone_at.is_(None),
                WorklistSnooze.until > today,
            )
            .correlate(enrolment)
            .exists()
        )
        query = select(
            enrolment.patient_id,
            enrolment.id,
            enrolment.measure,
            enrolment.gap_days,
            enrolment.started_on,
            latest.label("latest"),
        ).where(
            or_(enrolment.ended_on.is_(None), enrolment.ended_on > today),
            enrolment.started_on <= today,
            ~snoozed,
        )
        return _for_nurse(query, enrolment.patient_id, scope)

    query = _statement(("reading gaps", today), scope, build)
    for row in _rows(session, query, scope):
        since = _as_date(row.started_on)
        if row.latest is not None:
            since = max(since, _as_date(row.latest))
        yield row, since + timedelta(days=row.gap_days)


def _patient_enrolment(session: Session, patient_id: int, enrolment_id: int | None) -> None:
    """Check that the monitoring enrolment (of a gap) is the patient's."""
    enrolment = session.get(MonitoringEnrolment, enrolment_id)
    if enrolment is None or enrolment.patient_id != patient_id:
        raise NotFoundError("monitoring enrolment", enrolment_id)


def _plan_item_query(model, *columns):
    """SELECT ``columns`` over goals or interventions of care plans that are still open."""
    query = (
        select(*columns)
        .select_from(model)
        .join(Problem, Problem.id == model.problem_id)
        .join(CarePlan, CarePlan.id == Problem.care_plan_id)
        .where(CarePlan.status.in_(_OPEN_PLAN_CODES))
    )
    return query


def _changed_since(what: str) -> ServiceError:
    return ServiceError(
        f"{what} changed after this action, so it cannot be undone; reload and check it"
    )


def _instrument_label(code: str) -> str:
    try:
        return Instrument(code).label
    except ValueError:
        return code


def _ccm_this_month(session: Session, patient: Any, today: date) -> CcmMonth:
    """The patient's CCM programme and this month's minutes that count toward it.

    Contacts logged for remote monitoring are left out (their minutes are RPM's).
    Enrolled, only contacts on or after the enrolment start count (as on the
    patient header); not enrolled, the month's minutes are shown without codes.
    """
    first = datetime(today.year, today.month, 1)
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else (first.replace(month=first.month + 1))
    )
    if patient.ccm_programme and patient.ccm_start is not None:
        first = max(first, datetime.combine(patient.ccm_start, datetime.min.time()))
    minutes = session.execute(
        select(func.coalesce(func.sum(Contact.minutes), 0)).where(
            Contact.patient_id == patient.id,
            Contact.occurred_at >= first,
            Contact.occurred_at < following,
            # Remote-monitoring minutes count toward RPM, never also toward CCM.
            Contact.for_monitoring.is_(False),
        )
    ).scalar_one()
    return ccm_month(patient.ccm_programme, patient.ccm_start, int(minutes))


def _worklist_row(
    entry: WorklistEntry, patient: Any, today: date, readmitted: bool, in_hospital: bool
) -> WorklistRow:
    flags = flags_of_items(entry.items, readmitted, in_hospital)
    return WorklistRow(
        patient_id=entry.patient_id,
        items=entry.items,
        reasons=entry.reasons,
        why=entry.why,
        group=entry.group,
        days_overdue=entry.days_overdue,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        age=age_on(patient.birth_date, today),
        risk_tier=patient.risk_tier,
        last_contact_at=patient.last_contact_at,
        next_contact_due=patient.next_contact_due,
        open_referral_count=patient.open_referral_count,
        flags=flags,
    )


__all__ = [
    "CHASED_REASON",
    "DONE",
    "SNOOZE",
    "PatientSummary",
    "SnoozeRead",
    "SummaryContact",
    "SummaryReferral",
    "SummaryScore",
    "SummaryTask",
    "UndoToken",
    "WorklistRow",
    "WorklistService",
    "service_abbreviation",
    "tcm_item",
]
