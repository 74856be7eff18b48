"""The clinical consistency check: contradictions a nurse would stop trusting the tool over.

``nursecase db check --clinical`` lists, in plain words and by the patient's
MRN, each place where the record says two things that cannot both be true
(issue 16, item 6; DESIGN.md section 6):

- the risk tier disagrees with the band of the latest LACE and no nurse
  override (with its reason) explains it;
- a safety signal has lost its follow-up: a PHQ-9 item 9 above 0 with no
  safety task and no safety check since, or a safety task closed without any
  safety check (only a safety check may complete one);
- a TCM task is still open after its 30-day period (or after a readmission
  ended that period);
- a finished or cancelled episode with open tasks or referrals;
- an open care plan whose period ends before one of its open goals is due;
- a contact that did not reach anyone (no answer, message left, wrong
  number) logged with more than 5 minutes.

Every check is one set-based query that runs alike on SQLite and PostgreSQL.
Reading the list shows patients' MRNs, so the run is audited (without them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from nursecase.db.models import (
    Assessment,
    AssessmentAnswer,
    CarePlan,
    Contact,
    Goal,
    Patient,
    Problem,
    Referral,
    SafetyCheck,
    Task,
    Transition,
)
from nursecase.domain.care_plan_rules import OPEN_GOAL_STATUSES
from nursecase.domain.codes import (
    AuditAction,
    CarePlanStatus,
    ContactOutcome,
    EpisodeStatus,
    Instrument,
    RiskSource,
    RiskTier,
    TaskPriority,
    TaskSource,
    TaskStatus,
)
from nursecase.domain.instruments.phq import SAFETY_ITEM
from nursecase.domain.referral_states import TERMINAL_STATUSES
from nursecase.domain.tcm import TCM_PERIOD_DAYS, period_end
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.patients import OPEN_TASK_STATUSES

#: A contact that reached nobody takes a moment to log; more than this many
#: minutes on one is a typing slip or time that belongs to another contact.
UNREACHED_MINUTES_LIMIT = 5

_OPEN_TASKS = tuple(str(status) for status in OPEN_TASK_STATUSES)
_TERMINAL_REFERRALS = tuple(sorted(str(status) for status in TERMINAL_STATUSES))
_CLOSED_EPISODES = (str(EpisodeStatus.finished), str(EpisodeStatus.cancelled))
_OPEN_PLANS = tuple(
    str(status) for status in (CarePlanStatus.draft, CarePlanStatus.active, CarePlanStatus.on_hold)
)
_UNREACHED_OUTCOMES = tuple(
    str(outcome)
    for outcome in (
        ContactOutcome.no_answer,
        ContactOutcome.left_message,
        ContactOutcome.wrong_number,
    )
)


class FindingKind(StrEnum):
    """The kinds of contradiction, in the order the report lists them."""

    risk_tier = "risk-tier"
    safety = "safety"
    tcm = "tcm"
    finished_episode = "finished-episode"
    care_plan_period = "care-plan-period"
    unreached_minutes = "unreached-minutes"

    @property
    def label(self) -> str:
        """A heading in words."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    FindingKind.risk_tier: "Risk tier against its score",
    FindingKind.safety: "Safety follow-up",
    FindingKind.tcm: "Transitional care after its period",
    FindingKind.finished_episode: "Finished episode with open work",
    FindingKind.care_plan_period: "Care plan ending before its goals",
    FindingKind.unreached_minutes: "Minutes on a contact that reached nobody",
}
_KIND_ORDER = {kind: position for position, kind in enumerate(FindingKind)}


@dataclass(frozen=True, order=True)
class ClinicalFinding:
    """One contradiction: its kind, the patient's MRN and what is wrong, in words."""

    kind: FindingKind
    mrn: str
    text: str

    def line(self) -> str:
        """ "MRN 1234: <text>"."""
        return f"MRN {self.mrn}: {self.text}"


def _day(value: date | datetime) -> str:
    """A date a nurse reads: "18 Nov 2026"."""
    return f"{value:%d %b %Y}"


class ClinicalCheckService:
    """Finds clinical contradictions across the whole database."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def run(self) -> list[ClinicalFinding]:
        """Every contradiction found, by kind and then MRN; the run itself is audited."""
        today = self.context.clock.today()
        with self.context.read() as session:
            findings = [
                *self._risk_tiers(session),
                *self._safety(session),
                *self._tcm(session, today),
                *self._finished_episodes(session),
                *self._care_plan_periods(session),
                *self._unreached_minutes(session),
            ]
        with self.context.write() as session:
            audit.record(session, self.context, AuditAction.view, "clinical_check")
        return sorted(findings, key=lambda found: (_KIND_ORDER[found.kind], found.mrn, found.text))

    # ----------------------------------------------------------------- checks

    def _risk_tiers(self, session: Session) -> Iterator[ClinicalFinding]:
        """A tier that is not the latest LACE's band, with no nurse's override."""
        query = (
            select(
                Patient.mrn,
                Patient.risk_tier,
                Assessment.band,
                Assessment.total,
                Assessment.performed_at,
            )
            .join(Assessment, Assessment.patient_id == Patient.id)
            .where(
                Assessment.instrument == str(Instrument.lace),
                or_(Patient.risk_source.is_(None), Patient.risk_source != str(RiskSource.override)),
            )
            .order_by(Patient.id, Assessment.performed_at.desc(), Assessment.id.desc())
        )
        seen: set[str] = set()
        for mrn, tier, band, total, performed_at in session.execute(query):
            if mrn in seen:
                continue
            seen.add(mrn)
            if band != tier:
                yield ClinicalFinding(
                    FindingKind.risk_tier,
                    mrn,
                    f"risk tier {_tier_word(tier)}, but the latest LACE ({total} on "
                    f"{_day(performed_at)}) is in the {_tier_word(band)} band and no nurse "
                    "has set the tier with a reason",
                )

    def _safety(self, session: Session) -> Iterator[ClinicalFinding]:
        """PHQ-9 item 9 above 0 left without its follow-up; safety tasks closed without a check."""
        # Three small reads, matched here: a correlated test against the task
        # table would have no index to use (tasks are not indexed by source).
        answered = session.execute(
            select(Assessment.id, Assessment.patient_id, Patient.mrn, AssessmentAnswer.value)
            .add_columns(Assessment.performed_at)
            .join(Patient, Patient.id == Assessment.patient_id)
            .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
            .where(
                Assessment.instrument == str(Instrument.phq_9),
                AssessmentAnswer.item_code == SAFETY_ITEM,
                AssessmentAnswer.value > 0,
            )
        ).all()
        if answered:
            with_task = set(
                session.execute(
                    select(Task.source_id).where(Task.source == str(TaskSource.assessment_trigger))
                ).scalars()
            )
            latest_check = dict(
                session.execute(
                    select(SafetyCheck.patient_id, func.max(SafetyCheck.performed_at)).group_by(
                        SafetyCheck.patient_id
                    )
                ).all()
            )
            for assessment_id, patient_id, mrn, value, performed_at in answered:
                checked = latest_check.get(patient_id)
                if assessment_id in with_task or (checked is not None and checked >= performed_at):
                    continue
                yield ClinicalFinding(
                    FindingKind.safety,
                    mrn,
                    f"PHQ-9 item 9 answered {value} on {_day(performed_at)}, but there is no "
                    "safety follow-up task and no safety check since",
                )
        check_for_task = exists().where(
            SafetyCheck.patient_id == Task.patient_id,
            SafetyCheck.performed_at >= Task.created_at,
            SafetyCheck.performed_at <= Task.done_at,
        )
        closed_without_check = (
            select(Patient.mrn, Task.done_at)
            .join(Task, Task.patient_id == Patient.id)
            .where(
                Task.source == str(TaskSource.assessment_trigger),
                Task.priority == str(TaskPriority.urgent),
                Task.status == str(TaskStatus.completed),
                ~check_for_task,
            )
        )
        for mrn, done_at in session.execute(closed_without_check):
            when = f" on {_day(done_at)}" if done_at is not None else ""
            yield ClinicalFinding(
                FindingKind.safety,
                mrn,
                f"a safety follow-up task was completed{when} without a safety check "
                "(only a C-SSRS safety check may complete it)",
            )

    def _tcm(self, session: Session, today: date) -> Iterator[ClinicalFinding]:
        """Open TCM tasks of a period that is over or was ended by a readmission."""
        query = (
            select(
                Patient.mrn, Task.description, Transition.discharged_on, Transition.superseded_on
            )
            .join(Task, Task.patient_id == Patient.id)
            .join(
                Transition,
                and_(
                    Task.source == str(TaskSource.transition_clock),
                    Transition.id == Task.source_id,
                ),
            )
            .where(
                Task.status.in_(_OPEN_TASKS),
                or_(
                    # period_end(discharged_on) < today, written on the column.
                    Transition.discharged_on < today - timedelta(days=TCM_PERIOD_DAYS - 1),
                    Transition.superseded_on.is_not(None),
                ),
            )
        )
        for mrn, description, discharged_on, superseded_on in session.execute(query):
            if superseded_on is not None:
                why = f"a readmission discharged {_day(superseded_on)} ended its period"
            else:
                why = f"its 30-day period ended {_day(period_end(discharged_on))}"
            yield ClinicalFinding(
                FindingKind.tcm,
                mrn,
                f'"{description}" for the discharge of {_day(discharged_on)} is still open, '
                f"but {why}",
            )

    def _finished_episodes(self, session: Session) -> Iterator[ClinicalFinding]:
        """A finished or cancelled episode whose patient still has open tasks or referrals."""
        open_tasks = (
            select(func.count())
            .where(Task.patient_id == Patient.id, Task.status.in_(_OPEN_TASKS))
            .correlate(Patient)
            .scalar_subquery()
        )
        open_referrals = (
            select(func.count())
            .where(
                Referral.patient_id == Patient.id,
                Referral.status.not_in(_TERMINAL_REFERRALS),
            )
            .correlate(Patient)
            .scalar_subquery()
        )
        query = select(
            Patient.mrn, Patient.episode_status, open_tasks.label("tasks"), open_referrals
        ).where(Patient.episode_status.in_(_CLOSED_EPISODES))
        for mrn, status, tasks, referrals in session.execute(query):
            if not tasks and not referrals:
                continue
            left = []
            if tasks:
                left.append(_count(tasks, "open task"))
            if referrals:
                left.append(_count(referrals, "open referral"))
            verb = "remains" if tasks + referrals == 1 else "remain"
            yield ClinicalFinding(
                FindingKind.finished_episode,
                mrn,
                f"the episode is {EpisodeStatus(status).label.lower()}, "
                f"but {' and '.join(left)} {verb}",
            )

    def _care_plan_periods(self, session: Session) -> Iterator[ClinicalFinding]:
        """An open plan whose period ends before an open goal of it is due."""
        goal = aliased(Goal)
        query = (
            select(
                Patient.mrn, CarePlan.title, CarePlan.period_end, goal.description, goal.due_date
            )
            .join(CarePlan, CarePlan.patient_id == Patient.id)
            .join(Problem, Problem.care_plan_id == CarePlan.id)
            .join(goal, goal.problem_id == Problem.id)
            .where(
                CarePlan.status.in_(_OPEN_PLANS),
                CarePlan.period_end.is_not(None),
                goal.lifecycle_status.in_(OPEN_GOAL_STATUSES),
                goal.due_date > CarePlan.period_end,
            )
        )
        for mrn, title, plan_end, description, due in session.execute(query):
            yield ClinicalFinding(
                FindingKind.care_plan_period,
                mrn,
                f'"{title}" ends {_day(plan_end)}, before its goal "{_shorten(description)}" '
                f"is due ({_day(due)})",
            )

    def _unreached_minutes(self, session: Session) -> Iterator[ClinicalFinding]:
        """Contacts that reached nobody but carry more than a few minutes."""
        query = (
            select(Patient.mrn, Contact.occurred_at, Contact.outcome, Contact.minutes)
            .join(Contact, Contact.patient_id == Patient.id)
            .where(
                Contact.outcome.in_(_UNREACHED_OUTCOMES),
                Contact.minutes > UNREACHED_MINUTES_LIMIT,
            )
        )
        for mrn, occurred_at, outcome, minutes in session.execute(query):
            yield ClinicalFinding(
                FindingKind.unreached_minutes,
                mrn,
                f"the contact of {_day(occurred_at)} ({ContactOutcome(outcome).label.lower()}) "
                f"reached nobody but is logged with {minutes} minutes "
                f"(more than {UNREACHED_MINUTES_LIMIT})",
            )


def _tier_word(code: str) -> str:
    """ "high" for a known tier; an unknown stored code is shown as it is."""
    try:
        return RiskTier(code).label.lower()
    except ValueError:
        return code


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _shorten(text: str, limit: int = 60) -> str:
    """Cut a long goal at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return f"{cut}…"
