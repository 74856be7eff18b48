"""The printable care plan: the plan in plain words, for the patient and family.

:meth:`CarePlanPrinter.document` reads one plan, its patient and care team and
builds a :class:`~nursecase.reports.document.Document`: a heading per live
problem, its goals ("The patient will ...", how it is measured, the target,
the due date and the status in everyday words), then what the patient and
family will do and what the care team will do. Entries marked
entered-in-error are left out: they were never part of the plan.

:meth:`CarePlanPrinter.write` renders it as Markdown or PDF and writes the
file atomically with mode 0600. Like every export, it is on the audit trail
before the file can appear: the ``export`` event commits while the file is
still a hidden part file (a path that cannot take that file is refused with
nothing recorded), and an ``export-finished`` event says how it ended.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from nursecase.db.models import CareTeamMember, Nurse
from nursecase.domain.codes import AuditAction, CarePlanStatus, CareTeamRole
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.domain.validation import ValidationError
from nursecase.reports.document import (
    Block,
    BulletList,
    Document,
    Heading,
    Paragraph,
    Table,
)
from nursecase.reports.errors import ReportError
from nursecase.reports.files import atomic_file
from nursecase.reports.markdown import render_markdown
from nursecase.reports.pdf import render_pdf
from nursecase.services import audit
from nursecase.services.care_plans import (
    ENTERED_IN_ERROR,
    CarePlanRead,
    GoalRead,
    InterventionRead,
    ProblemRead,
    load_plan,
)
from nursecase.services.context import ServiceContext
from nursecase.services.patients import load_patient

#: The formats a care plan prints to, with the file suffix each must have.
FORMAT_SUFFIXES = {"markdown": ".md", "pdf": ".pdf"}
_FORMAT_NAMES = {"markdown": "Markdown", "pdf": "PDF"}

#: Owners whose interventions are "What you and your family will do": an owner
#: made only of these words ("patient", "caregiver", "patient and family", ...).
FAMILY_OWNER_WORDS = frozenset(
    {"patient", "patients", "caregiver", "caregivers", "family", "self", "client"}
)
_JOINING_WORDS = frozenset({"and", "or", "with"})
_WORD = re.compile(r"[a-z]+")

_PLAN_STATUS_WORDS = {
    CarePlanStatus.draft: "Draft (not final yet)",
    CarePlanStatus.revoked: "Stopped",
}
_GOAL_STATUS_WORDS = {
    "proposed": "suggested",
    "planned": "planned",
    "accepted": "agreed",
    "active": "in progress",
    "on-hold": "on hold",
    "completed": "completed",
    "cancelled": "cancelled",
    "rejected": "not agreed",
}
_ACHIEVEMENT_WORDS = {
    "in-progress": "in progress",
    "improving": "improving",
    "worsening": "getting worse",
    "no-change": "no change yet",
    "achieved": "achieved",
    "sustaining": "keeping it up",
    "not-achieved": "not achieved",
    "no-progress": "no progress yet",
    "not-attainable": "no longer possible",
}
#: Intervention statuses worth telling the family; the others (not started,
#: scheduled, in progress) all mean "this is part of the plan".
_INTERVENTION_STATUS_WORDS = {
    "on-hold": "on hold",
    "completed": "done",
    "cancelled": "cancelled",
    "stopped": "stopped",
}
_PROBLEM_STATUS_SENTENCES = {
    "inactive": "This problem is not active at the moment.",
    "resolved": "This problem is resolved.",
}


@dataclass(frozen=True)
class _PrintFacts:
    """What the printout needs beside the plan, read in the plan's transaction."""

    patient_name: str
    birth_date: date | None
    mrn: str
    nurse: str | None
    care_team: tuple[tuple[str, str, str, str], ...]


def long_date(day: date) -> str:
    """A date as people write it in the US: "December 31, 2026"."""
    return f"{day:%B} {day.day}, {day.year}"


def _sentence(text: str) -> str:
    """The text as one sentence: on one line, ending with a full stop."""
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


def is_family_owner(owner: str) -> bool:
    """Whether an intervention's owner is the patient, a caregiver or the family."""
    words = _WORD.findall(owner.lower())
    content = [word for word in words if word not in _JOINING_WORDS]
    return bool(content) and all(word in FAMILY_OWNER_WORDS for word in content)


def _is_patient_owner(owner: str) -> bool:
    return _WORD.findall(owner.lower()) in (["patient"], ["self"], ["client"])


def problem_name(problem: ProblemRead) -> str:
    """The problem's name: its own words, with the Omaha System name when it differs."""
    omaha = PROBLEMS_BY_CODE.get(problem.omaha_code) if problem.omaha_code else None
    if omaha is None or problem.description.strip().lower() == omaha.name.lower():
        return problem.description
    return f"{problem.description} ({omaha.name})"


def goal_text(goal: GoalRead) -> str:
    """One goal in plain words: what, how it is measured, the target, by when, the status."""
    parts = [_sentence(goal.description)]
    if goal.target_measure:
        parts.append(_sentence(f"How it is measured: {goal.target_measure}"))
    if goal.target_value:
        parts.append(_sentence(f"Target: {goal.target_value}"))
    if goal.due_date is not None:
        parts.append(f"By {long_date(goal.due_date)}.")
    status = _GOAL_STATUS_WORDS.get(goal.lifecycle_status, goal.lifecycle_status)
    parts.append(f"Status: {status}.")
    if goal.achievement_status:
        progress = _ACHIEVEMENT_WORDS.get(goal.achievement_status, goal.achievement_status)
        if progress != status:
            parts.append(f"Progress: {progress}.")
    return " ".join(parts)


def intervention_text(intervention: InterventionRead, *, with_owner: bool) -> str:
    """One intervention in plain words: who (for the care team), what, how often, by when."""
    description = _sentence(intervention.description)
    if with_owner:
        owner = " ".join(intervention.owner.split())
        description = f"{owner[:1].upper()}{owner[1:]}: {description}"
    parts = [description]
    if intervention.frequency:
        parts.append(_sentence(f"How often: {intervention.frequency}"))
    if intervention.due_date is not None:
        parts.append(f"By {long_date(intervention.due_date)}.")
    status = _INTERVENTION_STATUS_WORDS.get(intervention.status)
    if status:
        parts.append(f"({status[:1].upper()}{status[1:]}.)")
    return " ".join(parts)


def _plan_status(status: str) -> str:
    code = CarePlanStatus(status)
    return _PLAN_STATUS_WORDS.get(code, code.label)


def _plan_period(plan: CarePlanRead) -> str:
    if plan.period_start is None:
        return "not started yet"
    if plan.period_end is None:
        return f"from {long_date(plan.period_start)}"
    return f"{long_date(plan.period_start)} to {long_date(plan.period_end)}"


def _role_label(role: str) -> str:
    try:
        return CareTeamRole(role).label
    except ValueError:
        return role


def _problem_blocks(problem: ProblemRead) -> list[Block]:
    blocks: list[Block] = [Heading(problem_name(problem), level=1)]
    if problem.status in _PROBLEM_STATUS_SENTENCES:
        blocks.append(Paragraph(_PROBLEM_STATUS_SENTENCES[problem.status]))
    goals = [goal for goal in problem.goals if goal.lifecycle_status != ENTERED_IN_ERROR]
    interventions = [item for item in problem.interventions if item.status != ENTERED_IN_ERROR]
    family = [item for item in interventions if is_family_owner(item.owner)]
    # Family items name who does them unless it is the patient ("Caregiver: ...").
    team = [item for item in interventions if not is_family_owner(item.owner)]
    if goals:
        blocks.append(Heading("Goals", level=2))
        blocks.append(BulletList(tuple(goal_text(goal) for goal in goals)))
    if family:
        blocks.append(Heading("What you and your family will do", level=2))
        blocks.append(
            BulletList(
                tuple(
                    intervention_text(item, with_owner=not _is_patient_owner(item.owner))
                    for item in family
                )
            )
        )
    if team:
        blocks.append(Heading("What your care team will do", level=2))
        blocks.append(BulletList(tuple(intervention_text(item, with_owner=True) for item in team)))
    if not (goals or interventions):
        blocks.append(Paragraph("Nothing is planned for this problem yet."))
    return blocks


def build_document(plan: CarePlanRead, facts: _PrintFacts, today: date) -> Document:
    """The printable plan from the plan read model and the facts around it (pure)."""
    meta = [
        ("Date of birth", long_date(facts.birth_date) if facts.birth_date else "not recorded"),
        ("MRN", facts.mrn),
        ("Plan status", _plan_status(plan.status)),
        ("Plan period", _plan_period(plan)),
        ("Printed on", long_date(today)),
    ]
    if facts.nurse:
        meta.append(("Nurse case manager", facts.nurse))
    blocks: list[Block] = []
    problems = [problem for problem in plan.problems if problem.status != ENTERED_IN_ERROR]
    for problem in problems:
        blocks.extend(_problem_blocks(problem))
    if not problems:
        blocks.append(Paragraph("No problems have been added to this plan yet."))
    if facts.care_team:
        blocks.append(Heading("Your care team", level=1))
        blocks.append(
            Table(
                columns=("Role", "Name", "Organisation", "Phone"),
                rows=facts.care_team,
                widths=(2, 3, 4, 2.5),
            )
        )
    return Document(
        title=f"Care plan for {facts.patient_name}",
        subtitle=plan.title,
        meta=tuple(meta),
        blocks=tuple(blocks),
    )


def _format(file_format: object) -> str:
    allowed = ", ".join(FORMAT_SUFFIXES)
    if not isinstance(file_format, str) or not file_format.strip():
        raise ValidationError("format", f"is required; one of: {allowed}")
    code = file_format.strip().lower()
    if code not in FORMAT_SUFFIXES:
        raise ValidationError("format", f"must be one of: {allowed}")
    return code


def _path(path: object, file_format: str) -> Path:
    if isinstance(path, str):
        if not path.strip():
            raise ValidationError("path", "is required")
        path = Path(path.strip())
    if not isinstance(path, Path):
        raise ValidationError("path", "must be a file path")
    suffix = FORMAT_SUFFIXES[file_format]
    if path.suffix.lower() != suffix:
        raise ValidationError(
            "path", f"must end with {suffix} for a {_FORMAT_NAMES[file_format]} file"
        )
    return path.expanduser()


class CarePlanPrinter:
    """Builds the printable care plan and writes it as Markdown or PDF."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def document(self, care_plan_id: int) -> Document:
        """The plan for the patient and family, in plain words; NotFoundError if none."""
        with self.context.read() as session:
            plan = load_plan(session, care_plan_id)
            patient = load_patient(session, plan.patient_id)
            nurse = (
                session.get(Nurse, self.context.nurse_id)
                if self.context.nurse_id is not None
                else None
            )
            members = session.execute(
                select(CareTeamMember)
                .where(CareTeamMember.patient_id == patient.id)
                .order_by(CareTeamMember.role, CareTeamMember.name, CareTeamMember.id)
            ).scalars()
            facts = _PrintFacts(
                patient_name=f"{patient.given_name} {patient.family_name}",
                birth_date=patient.birth_date,
                mrn=patient.mrn,
                nurse=(
                    ", ".join(filter(None, (nurse.display_name, nurse.credentials)))
                    if nurse is not None
                    else self.context.nurse_name
                ),
                care_team=tuple(
                    (
                        _role_label(member.role),
                        member.name,
                        member.organisation or "",
                        member.phone or "",
                    )
                    for member in members
                ),
            )
        return build_document(plan, facts, self.context.clock.today())

    def write(
        self, care_plan_id: int, file_format: str, path: Path | str, *, create_folder: bool = False
    ) -> Path:
        """Write the printable plan as ``file_format`` ("markdown" or "pdf") to ``path``.

        The path must end with the format's suffix (.md or .pdf). The file is
        written atomically with mode 0600; the export is audited before the file
        can appear, and its end after. A path that cannot be written raises
        ValidationError("path") and records nothing. ``create_folder`` makes a
        missing folder first (mode 0700) and tightens a wider one: for the
        default exports folder, not for
        a path the nurse typed.
        """
        code = _format(file_format)
        target = _path(path, code)
        if create_folder:
            from nursecase.files import UnsafePathError, private_folder

            try:
                private_folder(target.parent, tighten=True, what="the exports folder")
            except UnsafePathError as error:
                raise ValidationError("path", str(error)) from error

        self.context.require_nurse()
        document = self.document(care_plan_id)
        if code == "pdf":
            data = render_pdf(document, created=self.context.clock.now())
        else:
            data = render_markdown(document).encode("utf-8")
        started = False
        try:
            # The part file first: a path that cannot take it is refused with nothing recorded.
            with atomic_file(target) as handle:
                # Committed before the file can appear, as every export (``services.exports``).
                with self.context.write() as session:
                    audit.record(
                        session,
                        self.context,
                        AuditAction.export,
                        "care_plan",
                        care_plan_id,
                        [f"format:{code}"],
                    )
                started = True
                handle.write(data)
        except BaseException as error:
            if started:
                with contextlib.suppress(Exception):
                    self._record_end(care_plan_id, "failed")
            if isinstance(error, ReportError):
                raise ValidationError("path", str(error)) from error
            raise
        try:
            self._record_end(care_plan_id, "completed")
        except Exception:
            # Its start is on the trail, its end is not: take the file back, as an
            # interrupted export's would be, rather than leave it unaccounted for.
            target.unlink(missing_ok=True)
            raise
        return target

    def _record_end(self, care_plan_id: int, outcome: str) -> None:
        """The ``export-finished`` event of a printout: completed or failed."""
        with self.context.write() as session:
            audit.record(
                session,
                self.context,
                AuditAction.export_finished,
                "care_plan",
                care_plan_id,
                [f"outcome:{outcome}"],
            )


__all__ = [
    "FORMAT_SUFFIXES",
    "CarePlanPrinter",
    "build_document",
    "goal_text",
    "intervention_text",
    "is_family_owner",
    "long_date",
    "problem_name",
]
