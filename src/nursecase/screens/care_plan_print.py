"""The print dialog: write the care plan for the patient and family as Markdown or PDF.

The file goes to the exports folder by default (created 0700 when missing), or
to any path the nurse types; the same writers as ``nursecase export`` make it,
and the export is audited.
"""

from __future__ import annotations

from pathlib import Path

from nursecase.screens.form_dialog import FormDialog, FormField, typed_path
from nursecase.services import Services
from nursecase.services.care_plan_print import FORMAT_SUFFIXES


def default_folder(settings) -> Path:
    """The configured exports folder, else the data folder's exports/."""
    configured = settings.exports_folder
    if configured is not None:
        return configured
    from nursecase.paths import default_paths

    return default_paths().exports


def print_plan_dialog(services: Services, settings, plan) -> FormDialog:
    """A form (format, file); dismisses with the written path, or None."""
    folder = default_folder(settings)
    today = services.clock.today()
    default_stem = folder / f"care-plan-{plan.id}-{today:%Y-%m-%d}"
    printer = services.care_plan_printer

    def submit(values: dict[str, str]) -> Path:
        file_format = values["format"] or "markdown"
        typed = values["path"].strip()
        path = typed_path("path", typed) if typed else default_stem
        # The suffix follows the format when the nurse kept a known one (or none).
        if path.suffix in ("", *FORMAT_SUFFIXES.values()) and file_format in FORMAT_SUFFIXES:
            path = path.with_suffix(FORMAT_SUFFIXES[file_format])
        return printer.write(plan.id, file_format, path, create_folder=path.parent == folder)

    return FormDialog(
        f"Print the plan for the patient and family: {plan.title}",
        [
            FormField(
                "format",
                "Format",
                "choice",
                "pdf",
                choices=(("PDF", "pdf"), ("Markdown", "markdown")),
            ),
            FormField("path", "Save to", value=f"{default_stem}.pdf"),
        ],
        submit,
        submit_label="Write",
        intro="Plain words for the family; entered-in-error items are left out.",
    )
