"""Row sources for the worklist screen's virtual table.

A source answers the table's questions (how many rows, the first page, the
page after or before a row, the last page) by calling services. The table
calls them from worker threads; no source holds the caseload in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from nursecase.domain.risk import risk_words

if TYPE_CHECKING:
    from nursecase.services.patients import PatientService
    from nursecase.services.worklist import WorklistService

SORT_COLUMNS = {
    "name": "Name",
    "mrn": "MRN",
    "age": "Age",
    "risk": "Risk",
    "last_contact": "Last contact",
    "next_due": "Next due",
    "referrals": "Referrals",
}


@dataclass(frozen=True)
class CaseloadQuery:
    """What the caseload shows: whose patients, which search, filters and sort."""

    nurse_id: int | None
    search: str = ""
    risk_tier: str | None = None
    overdue: bool = False
    open_referral: bool = False
    episode_status: str | None = None
    sort: str = "name"
    descending: bool = False

    def filters(self) -> dict:
        """Keyword arguments shared by list_page, last_page and count."""
        return {
            "nurse_id": self.nurse_id,
            "search": self.search,
            "risk_tier": self.risk_tier,
            "overdue": self.overdue,
            "open_referral": self.open_referral,
            "episode_status": self.episode_status,
        }

    def ordering(self) -> dict:
        """The sort keyword arguments."""
        return {"sort": self.sort, "descending": self.descending}

    def describe(self) -> str:
        """The active filters in words, for the status line."""
        parts = []
        if self.risk_tier:
            parts.append(risk_words(self.risk_tier))
        if self.overdue:
            parts.append("overdue")
        if self.open_referral:
            parts.append("open referral")
        if self.episode_status:
            parts.append(f"episode {self.episode_status}")
        return ", ".join(parts)


@dataclass
class CaseloadSource:
    """Pages of PatientRow from ``services.patients`` with keyset cursors.

    Each page's flags come from ``services.worklist.flags_for``, the same
    words Today and the patient header use.
    """

    patients: PatientService
    query: CaseloadQuery
    worklist: WorklistService | None = None

    def count(self) -> int:
        """Rows matching the query."""
        return self.patients.count(**self.query.filters())

    def first_page(self, limit: int):
        """The first rows in display order."""
        return self._flagged(
            self.patients.list_page(limit=limit, **self.query.filters(), **self.query.ordering())
        )

    def page_after(self, row, limit: int):
        """Rows after ``row``."""
        return self._flagged(
            self.patients.list_page(
                after=row.sort_key, limit=limit, **self.query.filters(), **self.query.ordering()
            )
        )

    def page_before(self, row, limit: int):
        """Rows just before ``row``, in display order."""
        return self._flagged(
            self.patients.list_page(
                before=row.sort_key, limit=limit, **self.query.filters(), **self.query.ordering()
            )
        )

    def last_page(self, limit: int):
        """The final rows, in display order."""
        return self._flagged(
            self.patients.last_page(limit, **self.query.filters(), **self.query.ordering())
        )

    def _flagged(self, rows: list) -> list:
        """The rows with their flags filled in (one set of queries for the page)."""
        if self.worklist is None or not rows:
            return rows
        flags = self.worklist.flags_for([row.id for row in rows])
        return [replace(row, flags=flags.get(row.id, ())) for row in rows]

    def key_of(self, row) -> int:
        """Rows are patients; the patient id is the identity."""
        return row.id


@dataclass
class TodaySource:
    """Today's ranked worklist (computed once by the service, then sliced).

    ``previous_positions`` are the rows' places in the list this one replaces:
    when the table asks for the rows around a patient who has left Today (their
    item was done), the answer is the rows at that patient's old place, so the
    cursor keeps its place in the list.
    """

    rows: list = field(default_factory=list)
    previous_positions: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {row.patient_id: position for position, row in enumerate(self.rows)}

    def positions(self) -> dict[int, int]:
        """Each patient's place in this list."""
        return dict(self._index)

    def _position(self, row) -> int:
        position = self._index.get(row.patient_id)
        if position is None:
            position = min(self.previous_positions.get(row.patient_id, 0), len(self.rows))
            # The row is gone: the rows "after" it start where it stood.
            return position - 1
        return position

    def count(self) -> int:
        """How many patients have something due."""
        return len(self.rows)

    def first_page(self, limit: int):
        """The most pressing rows."""
        return self.rows[:limit]

    def page_after(self, row, limit: int):
        """The rows ranked after ``row``."""
        start = self._position(row) + 1
        return self.rows[start : start + limit]

    def page_before(self, row, limit: int):
        """The rows ranked just before ``row``."""
        end = self._position(row)
        if row.patient_id not in self._index:
            end += 1
        return self.rows[max(0, end - limit) : end]

    def last_page(self, limit: int):
        """The least pressing rows."""
        return self.rows[-limit:] if limit else []

    def key_of(self, row) -> int:
        """The patient id."""
        return row.patient_id
