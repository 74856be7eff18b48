"""Optimistic locking shared by the editable aggregates (patient, care plan, referral).

The screen keeps the ``version`` it read. Saving passes it back as
``expected_version``; if the row moved on meanwhile the save is refused with
who changed it and when. SQLAlchemy's ``version_id_col`` also guards the
moment between our check and the UPDATE: a concurrent writer there makes the
UPDATE match no row, and ``StaleDataError`` becomes the same message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from nursecase.db.models import Nurse
from nursecase.services.errors import StaleEditError


def stale_error(session: Session, entity: str, row) -> StaleEditError:
    """A StaleEditError naming who last saved ``row`` and when."""
    changed_by = None
    if getattr(row, "updated_by", None) is not None:
        nurse = session.get(Nurse, row.updated_by)
        changed_by = nurse.display_name if nurse else None
    return StaleEditError(entity, changed_by, getattr(row, "updated_at", None))


def check_version(session: Session, entity: str, row, expected_version: int | None) -> None:
    """Refuse the save when the caller's copy is older than the stored row."""
    if expected_version is not None and row.version != expected_version:
        raise stale_error(session, entity, row)


@contextmanager
def guard_concurrent_save(entity: str) -> Iterator[None]:
    """Turn SQLAlchemy's StaleDataError (a lost race at flush) into StaleEditError."""
    try:
        yield
    except StaleDataError as error:
        raise StaleEditError(entity, None, None) from error
