"""Scored assessments: record an instrument, apply its triggers, read the history back.

Scoring belongs to ``nursecase.domain.instruments``; this service validates the
answers through the instrument's definition, stores the Assessment and its
answers, and applies the triggers in the same transaction:

- PHQ-9 item 9 above 0 creates an urgent safety follow-up Task whatever the
  total (DESIGN.md: safety flags come first on the worklist);
- a LACE whose band differs from the patient's tier OFFERS the change of tier
  (and a LACE that agrees with a tier resting on nothing offers to become its
  basis), and a positive PHQ-2 suggests a full PHQ-9: the nurse confirms, so
  nothing is changed for them (``AssessmentResult.risk_offer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, delete, select

from nursecase.db.models import Assessment, AssessmentAnswer, Nurse, Patient, Task
from nursecase.domain.codes import (
    AuditAction,
    Instrument,
    TaskStatus,
    parse_code,
)
from nursecase.domain.instruments import Score, Trigger, get_instrument
from nursecase.domain.instruments.lace import LACE_HIGH_TRIGGER, lace_answers
from nursecase.domain.instruments.phq import PHQ9_ITEM9_TRIGGER, SAFETY_ITEM
from nursecase.domain.risk import RiskOffer, lace_offer
from nursecase.domain.safety_check import SAFETY_TASK_PRIORITY, SAFETY_TASK_SOURCE
from nursecase.domain.validation import (
    ValidationError,
    optional_text,
    performed_moment,
)
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError
from nursecase.services.tasks import safety_task_condition

ENTITY = "assessment"
VARIANT_MAX_LENGTH = 32

#: Task statuses that still need someone to act: the safety flag stays up until then.
OPEN_TASK_STATUSES = (TaskStatus.requested, TaskStatus.in_progress, TaskStatus.on_hold)

_STORED_FIELDS = ("instrument", "variant", "total", "band", "summary", "performed_at", "answers")


@dataclass(frozen=True)
class AssessmentRead:
    """One stored assessment with its item answers in the instrument's item order."""

    id: int
    patient_id: int
    instrument: str
    variant: str
    total: int
    band: str
    summary: str
    performed_at: datetime
    author_username: str | None
    answers: tuple[tuple[str, int], ...]
    #: The author's display name, for screens ("Alice Moreno"; None if unknown).
    author_name: str | None = None

    def answer(self, item_code: str) -> int | None:
        """The value answered for ``item_code``, or None if the item is not stored."""
        for code, value in self.answers:
            if code == item_code:
                return value
        return None


@dataclass(frozen=True)
class AssessmentResult:
    """What recording an assessment did: the row, its triggers and suggestions.

    ``suggestions`` are plain sentences for the nurse to confirm or ignore;
    ``safety_task_id`` is the urgent follow-up task created by a PHQ-9 item 9
    answer above 0 (None when no task was needed). ``risk_offer`` is what a
    LACE offers for the patient's tier as it stood when the LACE was saved
    ("...: moderate risk; the tier is high. Set it to moderate?"); its question
    is also the LACE's one suggestion.
    """

    assessment: AssessmentRead
    triggers: tuple[Trigger, ...]
    suggestions: tuple[str, ...]
    safety_task_id: int | None = None
    risk_offer: RiskOffer | None = None


class AssessmentService:
    """Recording and reading scored instruments."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    # ------------------------------------------------------------------ writes

    def record(
        self,
        patient_id: int,
        instrument: Instrument | str,
        answers: Mapping[str, int],
        performed_at: datetime | date | None = None,
        variant: str | None = None,
    ) -> AssessmentResult:
        """Score and store one assessment, applying its triggers in the same transaction.

        ``answers`` maps item codes to option values; a missing or bad item raises
        ValidationError naming that item. ``performed_at`` defaults to now and may
        not lie in the future. Nothing is written when anything is refused.
        """
        definition = get_instrument(instrument)
        if not isinstance(answers, Mapping):
            raise ValidationError("answers", "must map item codes to values")
        score = definition.score(answers)
        moment = self._performed_at(performed_at)
        variant_text = optional_text(variant, "variant", max_length=VARIANT_MAX_LENGTH)
        nurse_id = self.context.require_nurse()
        with self.context.write() as session:
            patient = session.get(Patient, patient_id)
            if patient is None:
                raise NotFoundError("patient", patient_id)
            row = Assessment(
                patient_id=patient_id,
                instrument=str(definition.code),
                variant=variant_text or score.variant,
                total=score.total,
                band=score.band.name,
                summary=score.summary,
                performed_at=moment,
                author_id=nurse_id,
            )
            session.add(row)
            session.flush()
            for item_code, value in score.parts.items():
                session.add(
                    AssessmentAnswer(assessment_id=row.id, item_code=item_code, value=value)
                )
            audit.record(session, self.context, AuditAction.create, ENTITY, row.id, _STORED_FIELDS)
            safety_task_id = self._apply_triggers(session, patient, row, score)
            session.flush()
            read = self._read_one(session, row.id)
            offer = None
            if definition.code is Instrument.lace:
                offer = lace_offer(patient.risk_tier, patient.risk_source, row.total, row.summary)
        suggestions = suggestions_for(score)
        if definition.code is Instrument.lace:
            # The offer knows the patient's tier; the score alone only knows its band.
            suggestions = (offer.question,) if offer is not None else ()
        return AssessmentResult(
            assessment=read,
            triggers=score.triggers,
            suggestions=suggestions,
            safety_task_id=safety_task_id,
            risk_offer=offer,
        )

    def record_lace(
        self,
        patient_id: int,
        length_of_stay_days: int,
        acute: bool,
        charlson: int,
        ed_visits: int,
        performed_at: datetime | date | None = None,
    ) -> AssessmentResult:
        """Score LACE from the raw facts and store the four components as items.

        Only the assessment is stored: a band other than the patient's tier is
        returned as an offer (``risk_offer``), and the nurse decides.
        """
        answers = lace_answers(length_of_stay_days, acute, charlson, ed_visits)
        return self.record(patient_id, Instrument.lace, answers, performed_at=performed_at)

    def delete(self, assessment_id: int) -> None:
        """Remove an assessment entered in error (its answers go with it).

        A safety task it created is left alone on purpose: whether the follow-up
        still matters is the nurse's call, and it must not vanish silently.
        """
        self.context.require_nurse()
        with self.context.write() as session:
            row = session.get(Assessment, assessment_id)
            if row is None:
                raise NotFoundError(ENTITY, assessment_id)
            session.execute(
                delete(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id)
            )
            session.delete(row)
            session.flush()
            audit.record(session, self.context, AuditAction.delete, ENTITY, assessment_id)

    # ------------------------------------------------------------------- reads

    def get(self, assessment_id: int) -> AssessmentRead:
        """One assessment, or NotFoundError."""
        with self.context.read() as session:
            return self._read_one(session, assessment_id)

    def list_for_patient(
        self, patient_id: int, instrument: Instrument | str | None = None
    ) -> list[AssessmentRead]:
        """A patient's assessments, newest first, optionally of one instrument."""
        query = select(Assessment, Nurse.username, Nurse.display_name).outerjoin(
            Nurse, Nurse.id == Assessment.author_id
        )
        query = query.where(Assessment.patient_id == patient_id)
        if instrument is not None:
            code = parse_code(Instrument, instrument, "instrument")
            query = query.where(Assessment.instrument == str(code))
        query = query.order_by(Assessment.performed_at.desc(), Assessment.id.desc())
        with self.context.read() as session:
            return _build_reads(session, list(session.execute(query)))

    def latest_by_instrument(self, patient_id: int) -> dict[str, AssessmentRead]:
        """The newest assessment of each instrument the patient has, by instrument code."""
        latest: dict[str, AssessmentRead] = {}
        for read in self.list_for_patient(patient_id):
            latest.setdefault(read.instrument, read)
        return latest

    def trend(
        self, patient_id: int, instrument: Instrument | str, limit: int = 12
    ) -> list[tuple[datetime, int]]:
        """The last ``limit`` totals of one instrument as (performed_at, total), oldest first."""
        code = parse_code(Instrument, instrument, "instrument")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError("limit", "must be a whole number of at least 1")
        query = (
            select(Assessment.performed_at, Assessment.total)
            .where(Assessment.patient_id == patient_id, Assessment.instrument == str(code))
            .order_by(Assessment.performed_at.desc(), Assessment.id.desc())
            .limit(limit)
        )
        with self.context.read() as session:
            rows = [(performed_at, total) for performed_at, total in session.execute(query)]
        rows.reverse()
        return rows

    def open_safety_flags(self, patient_id: int | None) -> list[AssessmentRead]:
        """PHQ-9 assessments with item 9 above 0 whose safety task is still open.

        (Only a safety check completes that task; ``services.safety_checks``
        ``open_signals`` adds the other SAFETY signal, a C-SSRS moderate or high.)

        ``patient_id`` None covers every patient (the worklist's safety section).
        Newest first.
        """
        query = (
            select(Assessment, Nurse.username, Nurse.display_name)
            .outerjoin(Nurse, Nurse.id == Assessment.author_id)
            .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
            .join(Task, and_(safety_task_condition(), Task.source_id == Assessment.id))
            .where(
                Assessment.instrument == str(Instrument.phq_9),
                AssessmentAnswer.item_code == SAFETY_ITEM,
                AssessmentAnswer.value > 0,
                Task.status.in_([str(status) for status in OPEN_TASK_STATUSES]),
            )
            .distinct()
            .order_by(Assessment.performed_at.desc(), Assessment.id.desc())
        )
        if patient_id is not None:
            query = query.where(Assessment.patient_id == patient_id)
        with self.context.read() as session:
            return _build_reads(session, list(session.execute(query)))

    # ----------------------------------------------------------------- helpers

    def _performed_at(self, performed_at: datetime | date | None) -> datetime:
        """Default to now; a bare date means that day (now, if it is today)."""
        return performed_moment(performed_at, "performed_at", self.context.clock.now())

    def _apply_triggers(
        self, session, patient: Patient, row: Assessment, score: Score
    ) -> int | None:
        """Create the urgent safety task for a PHQ-9 item 9 above 0; return its id."""
        if PHQ9_ITEM9_TRIGGER not in score.triggers:
            return None
        value = score.parts[SAFETY_ITEM]
        definition = get_instrument(Instrument.phq_9)
        option = definition.item(SAFETY_ITEM).option_for_value(value)
        label = f" ({option.label.lower()})" if option is not None else ""
        # The task goes to the patient's own nurse, who carries the follow-up;
        # an unassigned patient's task stays with the nurse who scored it.
        task = Task(
            patient_id=patient.id,
            nurse_id=patient.nurse_id or self.context.nurse_id,
            description=(
                f"Safety follow-up: PHQ-9 item 9 answered {value}{label}; assess safety today"
            ),
            due_date=self.context.clock.today(),
            status=str(TaskStatus.requested),
            priority=str(SAFETY_TASK_PRIORITY),
            source=str(SAFETY_TASK_SOURCE),
            source_id=row.id,
            created_at=self.context.clock.now(),
        )
        session.add(task)
        session.flush()
        audit.record(
            session,
            self.context,
            AuditAction.create,
            "task",
            task.id,
            ("description", "due_date", "priority", "source", "status"),
        )
        return task.id

    def _read_one(self, session, assessment_id: int) -> AssessmentRead:
        query = (
            select(Assessment, Nurse.username, Nurse.display_name)
            .outerjoin(Nurse, Nurse.id == Assessment.author_id)
            .where(Assessment.id == assessment_id)
        )
        reads = _build_reads(session, list(session.execute(query)))
        if not reads:
            raise NotFoundError(ENTITY, assessment_id)
        return reads[0]


def suggestions_for(score: Score) -> tuple[str, ...]:
    """The plain-language suggestions of a score's non-urgent triggers.

    LACE shows its parts so the nurse sees why: "LACE 12 = L5 A3 C2 E2: suggest
    risk tier high" (before it is saved; once saved, the patient's tier decides
    what it offers, see ``AssessmentResult.risk_offer``). Urgent triggers are
    not suggestions; they create tasks.
    """
    suggestions: list[str] = []
    for trigger in score.triggers:
        if trigger.urgent:
            continue
        if trigger == LACE_HIGH_TRIGGER:
            suggestions.append(f"{score.summary}: suggest risk tier high")
        else:
            suggestions.append(trigger.message)
    return tuple(suggestions)


def _build_reads(session, rows: list) -> list[AssessmentRead]:
    """Turn (Assessment, username, display name) rows into read models, answers in one query."""
    if not rows:
        return []
    ids = [assessment.id for assessment, *_ in rows]
    answers: dict[int, list[tuple[str, int]]] = {assessment_id: [] for assessment_id in ids}
    answer_query = select(
        AssessmentAnswer.assessment_id, AssessmentAnswer.item_code, AssessmentAnswer.value
    ).where(AssessmentAnswer.assessment_id.in_(ids))
    for assessment_id, item_code, value in session.execute(answer_query):
        answers[assessment_id].append((item_code, value))
    reads = []
    for assessment, username, display_name in rows:
        reads.append(
            AssessmentRead(
                id=assessment.id,
                patient_id=assessment.patient_id,
                instrument=assessment.instrument,
                variant=assessment.variant,
                total=assessment.total,
                band=assessment.band,
                summary=assessment.summary,
                performed_at=assessment.performed_at,
                author_username=username,
                answers=tuple(_in_item_order(assessment.instrument, answers[assessment.id])),
                author_name=display_name,
            )
        )
    return reads


def _in_item_order(instrument: str, answers: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Sort answers as the instrument lists its items (unknown codes last, by name)."""
    try:
        order = {code: index for index, code in enumerate(get_instrument(instrument).item_codes)}
    except ValidationError:
        order = {}
    return sorted(answers, key=lambda pair: (order.get(pair[0], len(order)), pair[0]))
