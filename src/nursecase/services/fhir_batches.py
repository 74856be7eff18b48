"""Splitting a FHIR import into batches of whole patients, and finding stored records fast.

Used by ``nursecase.services.fhir_import`` (issue 17): a large bundle is
written in short transactions, so other writers are not kept waiting, and
each record is matched against the patient's stored ones through an index
read once, so the import's time grows linearly with the bundle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.db.models import CareTeamMember, Condition, Medication
from nursecase.domain.fhir_records import ParsedBundle
from nursecase.domain.validation import mrn_key

#: The ParsedBundle fields whose records belong to a patient, in writing order.
RECORD_KINDS = (
    "conditions",
    "medications",
    "care_team",
    "assessments",
    "discharges",
    # After the discharges: an encounter is linked to the transition its discharge started.
    "encounters",
    "care_plans",
    "readings",
)


def patient_records(parsed: ParsedBundle) -> Iterable[Any]:
    """Every record that belongs to a patient, in the order they are written."""
    for kind in RECORD_KINDS:
        yield from getattr(parsed, kind)


def _weight(kind: str, record: Any) -> int:
    """How many rows a record writes, roughly: a care plan counts its items."""
    if kind != "care_plans":
        return 1
    return 1 + sum(
        1 + len(problem.goals) + len(problem.interventions) for problem in record.problems
    )


def split_into_batches(parsed: ParsedBundle, batch_records: int) -> list[ParsedBundle]:
    """The file's records as batches of whole patients, each about ``batch_records`` records.

    Patients keep the file's order (those only referred to follow, in the order
    of their first record); a patient with more records than a batch holds is
    split over several, its patient record in the first. Each batch is a
    ParsedBundle of its own, without the file's skipped counts and warnings.
    Patients are told apart by MRN key (``validation.mrn_key``): a record that
    names its patient's MRN written another way goes with that patient.
    """
    limit = max(1, batch_records)
    by_patient: dict[str, list[tuple[str, Any]]] = {}
    for patient in parsed.patients:
        by_patient.setdefault(mrn_key(patient.mrn), []).append(("patients", patient))
    for kind in RECORD_KINDS:
        for record in getattr(parsed, kind):
            by_patient.setdefault(mrn_key(record.patient.mrn), []).append((kind, record))
    batches: list[list[tuple[str, Any]]] = []
    current: list[tuple[str, Any]] = []
    current_weight = 0
    for records in by_patient.values():
        weight = sum(_weight(kind, record) for kind, record in records)
        if current and current_weight + weight > limit:
            batches.append(current)
            current, current_weight = [], 0
        for kind, record in records:
            record_weight = _weight(kind, record)
            if current and current_weight + record_weight > limit:
                batches.append(current)  # only within a patient bigger than a batch
                current, current_weight = [], 0
            current.append((kind, record))
            current_weight += record_weight
    if current or not batches:
        batches.append(current)
    return [_bundle_of(parsed, batch) for batch in batches]


def _bundle_of(parsed: ParsedBundle, records: list[tuple[str, Any]]) -> ParsedBundle:
    grouped: dict[str, list[Any]] = {kind: [] for kind in ("patients", *RECORD_KINDS)}
    for kind, record in records:
        grouped[kind].append(record)
    return replace(
        parsed,
        skipped={},
        warnings=(),
        **{kind: tuple(values) for kind, values in grouped.items()},
    )


class RecordLookups:
    """Each patient's stored records by natural key, read once per import, kept up to date.

    Finding a record by a query per imported record made an import quadratic:
    the condition, medication and care-team tables are indexed by patient
    only, so each search scanned all of that patient's rows (and the new ones
    of the same file). Here a patient's rows of a kind are read once (ids and
    keys only), and every row the import creates is added.

    ``claimed`` holds the stored care-plan records ("care_plan"/"problem"/
    "goal"/"intervention", id) an item of the file already matched, across all
    of the file's batches: two items of one file never become one row.
    """

    def __init__(self) -> None:
        self._indexes: dict[tuple[str, int], dict[tuple, int]] = {}
        self.claimed: set[tuple[str, int]] = set()

    def index(self, session: Session, kind: str, patient_id: int) -> dict[tuple, int]:
        """Natural key -> id of the patient's rows of ``kind`` (the lowest id per key)."""
        found = self._indexes.get((kind, patient_id))
        if found is None:
            found = {}
            table, columns, key = _LOOKUP_KINDS[kind]
            query = select(table.id, *columns).where(table.patient_id == patient_id)
            for row in session.execute(query.order_by(table.id)):
                found.setdefault(key(*row[1:]), row[0])
            self._indexes[(kind, patient_id)] = found
        return found


def condition_key(
    code_system: str | None, code: str | None, description: str, onset_date: Any
) -> tuple:
    """A condition's natural key: its code (any case) and system, else its description."""
    if code is not None:
        return ("code", code_system, code.upper(), onset_date)
    return ("text", description.casefold(), onset_date)


_LOOKUP_KINDS: dict[str, tuple[Any, tuple[Any, ...], Any]] = {
    "condition": (
        Condition,
        (Condition.code_system, Condition.code, Condition.description, Condition.onset_date),
        condition_key,
    ),
    "medication": (Medication, (Medication.name,), lambda name: (name.casefold(),)),
    "care_team_member": (CareTeamMember, (CareTeamMember.name,), lambda name: (name.casefold(),)),
}
