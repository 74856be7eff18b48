"""The audit events of ``nursecase db backup``: a backup is an export of the whole database.

A backup copies every patient's record into a file, so it is recorded as an
export is (``services.exports``): an ``export`` event about a ``backup``,
committed before the copy starts (a killed backup is on the trail too), says
who made it and where it goes; an ``export-finished`` event then says how it
ended. Who: the nurse signed in (when ``--nurse`` named one) and the
operating-system account that ran the command (a scheduled backup has no
nurse). Where: the backup's path, which is not PHI. Neither event holds any
patient data.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from nursecase.domain.codes import AuditAction
from nursecase.services import audit
from nursecase.services.context import ServiceContext

#: The entity of a backup's events (no id: a backup is of the whole database).
BACKUP_ENTITY = "backup"
#: The longest value kept in a field: the trail's changed_fields column holds
#: 2,000 characters in all, and a path can be 4,096.
LONGEST_VALUE = 1_000


def tag(name: str, value: str) -> str:
    """``name:value`` as one changed field: "," (the fields' separator) and "%" escaped.

    A value longer than ``LONGEST_VALUE`` keeps its end (a path's file name)
    after an ellipsis.
    """
    if len(value) > LONGEST_VALUE:
        value = "…" + value[-(LONGEST_VALUE - 1) :]
    return f"{name}:{quote(value, safe=' /:~@+=-_.()[]')}"


class BackupAudit:
    """Records the start and the end of a backup in the audit trail."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def started(self, destination: Path, system_account: str | None) -> int:
        """Commit the backup's ``export`` event (who, where to) before the copy; its id."""
        fields = [tag("to", str(destination))]
        if system_account:
            fields.append(tag("system-account", system_account))
        with self.context.write() as session:
            return audit.record(
                session, self.context, AuditAction.export, BACKUP_ENTITY, None, fields
            )

    def finished(self, start_id: int, outcome: str) -> None:
        """Record how the backup that ``start_id`` began ended: completed or failed."""
        audit.record_export_finished(self.context, BACKUP_ENTITY, None, start_id, outcome)
