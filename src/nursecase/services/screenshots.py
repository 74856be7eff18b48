"""Pictures of the screen: an SVG the app drew, kept as an audited export.

The command palette's "Screenshot" saves what the terminal shows, and the
screens show patients, so a screenshot is an export like any report
(DESIGN.md section 4): it goes into the exports folder (0700), as a new file
written atomically with mode 0600, and the audit trail records it. The
``export`` event commits while the file is still a hidden part file, before
the picture can appear under its name; an ``export-finished`` event says how
it ended. No PHI in either event: what was saved (a screenshot, SVG), from
which screen, and the patient's id when the screen shows one patient.

The app draws the picture (Textual's ``export_screenshot``); this module only
writes text and records it, so it never imports Textual.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from nursecase.domain.codes import AuditAction
from nursecase.domain.validation import ValidationError
from nursecase.files import UnsafePathError, atomic_private_file, private_folder
from nursecase.reports.files import PART, remove_stale_parts
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError

#: The audit events' entity for a screenshot.
AUDIT_ENTITY = "screenshot"
SUFFIX = ".svg"


class ScreenshotNotSavedError(ServiceError):
    """The picture could not be written; the message says why in one sentence."""


def screenshot_name(moment: datetime, number: int = 1) -> str:
    """The file name of a screenshot taken at ``moment``; "-2", "-3" ... when taken twice."""
    stem = f"screenshot-{moment:%Y-%m-%d-%H%M%S}"
    return f"{stem}{SUFFIX}" if number == 1 else f"{stem}-{number}{SUFFIX}"


class ScreenshotService:
    """Writes screen pictures into the exports folder, each one audited as an export."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def save(self, svg: str, folder: Path, *, screen: str, patient_id: int | None = None) -> Path:
        """Write ``svg`` as a new file in ``folder``; its path.

        ``screen`` names the screen pictured ("worklist"; no PHI), and
        ``patient_id`` the patient it shows, if one. The folder is created 0700
        (or tightened to it); a folder that cannot be made private is refused
        with ValidationError("folder") and nothing recorded. A picture is never
        written over an earlier file.
        """
        self.context.require_nurse()
        try:
            private_folder(folder, tighten=True, what="the exports folder")
        except UnsafePathError as error:
            raise ValidationError("folder", str(error)) from error
        remove_stale_parts(folder)
        data = svg.encode("utf-8")
        target = _new_path(folder, self.context.clock.now())
        fields = [f"format:{SUFFIX[1:]}", f"screen:{screen}", "to:file"]
        if patient_id is not None:
            fields.append("scope:patient")
        start_id: int | None = None
        try:
            # The part file first (0600, in the folder): a folder that cannot
            # take it fails before anything is recorded.
            with atomic_private_file(target, PART, replace=False) as handle:
                with self.context.write() as session:
                    start_id = audit.record(
                        session, self.context, AuditAction.export, AUDIT_ENTITY, patient_id, fields
                    )
                handle.write(data)
        except BaseException as error:
            if start_id is not None:
                with contextlib.suppress(Exception):
                    self._record_end(start_id, patient_id, "failed")
            if isinstance(error, OSError):
                raise ScreenshotNotSavedError(
                    f"The screenshot could not be saved in {folder}"
                    f" ({error.strerror or type(error).__name__})."
                ) from error
            raise
        assert start_id is not None  # recorded before the file could be renamed
        try:
            self._record_end(start_id, patient_id, "completed")
        except Exception:
            # Its start is on the trail, its end is not: take the file back, as an
            # interrupted export's would be, rather than leave it unaccounted for.
            target.unlink(missing_ok=True)
            raise
        return target

    def _record_end(self, start_id: int, patient_id: int | None, outcome: str) -> None:
        """The ``export-finished`` event of a screenshot: completed or failed."""
        audit.record_export_finished(self.context, AUDIT_ENTITY, patient_id, start_id, outcome)


def _new_path(folder: Path, moment: datetime) -> Path:
    """The first free name for a screenshot taken at ``moment``."""
    number = 1
    while (candidate := folder / screenshot_name(moment, number)).exists():
        number += 1
    return candidate


__all__ = ["AUDIT_ENTITY", "ScreenshotNotSavedError", "ScreenshotService", "screenshot_name"]
