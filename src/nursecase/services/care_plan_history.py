"""A care plan's own history: every change, who made it, when, and from what to what.

Each edit of a plan writes one ``care_plan_revision`` row per item it touched,
in the edit's own transaction, stamped with the plan version the edit produced.
Two things read it:

- the editor's history view (newest first);
- the refusal of a stale save: when a nurse saves over a copy older than the
  stored plan, :class:`StalePlanError` lists the changes made since that copy
  (``version > expected``), so the message says what changed and by whom.

The audit trail still records every change by field name only; this history
is clinical content (old and new values) and lives with the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import CarePlanRevision, Nurse
from nursecase.domain.codes import (
    CarePlanStatus,
    ConditionClinicalStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    InterventionCategory,
    InterventionStatus,
    words_of,
)
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.services.errors import StaleEditError

LABEL_MAX_LENGTH = 200
VALUE_MAX_LENGTH = 300

#: How many of the newer changes a refusal message spells out.
CHANGES_SHOWN_IN_REFUSAL = 6


@dataclass(frozen=True)
class FieldChange:
    """One field's value before and after a change (as display strings, "" for none)."""

    field: str
    old: str
    new: str

    @property
    def label(self) -> str:
        """The field name in words: "due_date" -> "due date", "goal_id" -> "for goal"."""
        return _FIELD_LABELS.get(self.field) or self.field.replace("_", " ")

    @property
    def old_words(self) -> str:
        """The old value as a person reads it ("" for none)."""
        return _value_words(self.field, self.old)

    @property
    def new_words(self) -> str:
        """The new value as a person reads it ("" for none)."""
        return _value_words(self.field, self.new)


#: Fields whose name reads differently from the column name.
_FIELD_LABELS = {"goal_id": "for goal", "omaha_code": "Omaha problem"}
_STATUS_WORDS = words_of(
    GoalLifecycleStatus, InterventionStatus, CarePlanStatus, ConditionClinicalStatus
)
#: The words of each coded field's values.
_VALUE_WORDS = {
    "status": _STATUS_WORDS,
    "lifecycle_status": _STATUS_WORDS,
    "achievement_status": words_of(GoalAchievementStatus),
    "priority": words_of(GoalPriority),
    "category": words_of(InterventionCategory),
    "omaha_code": lambda code: PROBLEMS_BY_CODE[code].name if code in PROBLEMS_BY_CODE else code,
}


def _value_words(field: str, value: str) -> str:
    if not value:
        return value
    if field == "goal_id":
        # The goal's row id means nothing to a reader; the change itself does.
        return "another goal"
    words = _VALUE_WORDS.get(field)
    return words(value) if words else value


@dataclass(frozen=True)
class RevisionRead:
    """One recorded change to a plan or one of its items."""

    id: int
    version: int
    changed_at: datetime
    nurse_name: str | None
    action: str
    item_kind: str
    item_id: int | None
    item_label: str
    changes: tuple[FieldChange, ...]

    @property
    def headline(self) -> str:
        """ "updated goal 'Walk daily'", in words."""
        verb = {
            "create": "added",
            "update": "changed",
            "delete": "removed",
            "rate": "rated",
            "status": "changed the status of",
        }.get(self.action, self.action)
        kind = "plan" if self.item_kind == "care_plan" else self.item_kind.replace("_", " ")
        label = f" '{self.item_label}'" if self.item_label else ""
        return f"{verb} {kind}{label}"

    @property
    def details(self) -> str:
        """ "due date 2026-12-01 -> 2026-12-15; status active -> completed"."""
        parts = []
        for change in self.changes:
            old = change.old_words or "(none)"
            new = change.new_words or "(none)"
            parts.append(f"{change.label} {old} → {new}")
        return "; ".join(parts)


class StalePlanError(StaleEditError):
    """A save over an older copy of the plan, with the changes made since that copy."""

    def __init__(
        self,
        changed_by: str | None,
        changed_at: datetime | None,
        changes: tuple[RevisionRead, ...],
    ) -> None:
        super().__init__("care plan", changed_by, changed_at)
        self.changes = changes
        if changes:
            lines = [
                f"{revision.changed_at:%H:%M} {revision.nurse_name or 'another user'}: "
                f"{revision.headline}" + (f" ({revision.details})" if revision.details else "")
                for revision in changes[:CHANGES_SHOWN_IN_REFUSAL]
            ]
            hidden = len(changes) - CHANGES_SHOWN_IN_REFUSAL
            if hidden > 0:
                lines.append(f"and {hidden} more change{'s' if hidden > 1 else ''}")
            self.args = (f"{self.args[0]}. Changes since your copy: " + "; ".join(lines),)


def display_value(value: Any) -> str:
    """A stored value as history text: dates in ISO form, None as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if len(text) > VALUE_MAX_LENGTH:
        return text[: VALUE_MAX_LENGTH - 1] + "…"
    return text


def record_revision(
    session: Session,
    *,
    care_plan_id: int,
    version: int,
    changed_at: datetime,
    nurse_id: int | None,
    action: str,
    item_kind: str,
    item_id: int | None,
    item_label: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    """Append one revision row in the caller's transaction."""
    label = " ".join(item_label.split())
    if len(label) > LABEL_MAX_LENGTH:
        label = label[: LABEL_MAX_LENGTH - 1] + "…"
    encoded = None
    if changes:
        encoded = json.dumps(
            {
                field: [display_value(old), display_value(new)]
                for field, (old, new) in changes.items()
            }
        )
    session.add(
        CarePlanRevision(
            care_plan_id=care_plan_id,
            version=version,
            changed_at=changed_at,
            nurse_id=nurse_id,
            action=action,
            item_kind=item_kind,
            item_id=item_id,
            item_label=label,
            changes=encoded,
        )
    )


def revisions(
    session: Session, care_plan_id: int, after_version: int | None = None
) -> tuple[RevisionRead, ...]:
    """A plan's revisions, newest first; only those after ``after_version`` if given."""
    query = (
        select(CarePlanRevision, Nurse.display_name)
        .outerjoin(Nurse, Nurse.id == CarePlanRevision.nurse_id)
        .where(CarePlanRevision.care_plan_id == care_plan_id)
        .order_by(CarePlanRevision.version.desc(), CarePlanRevision.id.desc())
    )
    if after_version is not None:
        query = query.where(CarePlanRevision.version > after_version)
    return tuple(
        RevisionRead(
            id=row.id,
            version=row.version,
            changed_at=row.changed_at,
            nurse_name=nurse_name,
            action=row.action,
            item_kind=row.item_kind,
            item_id=row.item_id,
            item_label=row.item_label,
            changes=_decoded(row.changes),
        )
        for row, nurse_name in session.execute(query)
    )


def _decoded(encoded: str | None) -> tuple[FieldChange, ...]:
    if not encoded:
        return ()
    return tuple(FieldChange(field, old, new) for field, (old, new) in json.loads(encoded).items())


__all__ = [
    "FieldChange",
    "RevisionRead",
    "StalePlanError",
    "display_value",
    "record_revision",
    "revisions",
]
