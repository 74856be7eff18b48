"""Export a report from the app: the same reports, formats and checks as ``nursecase export``.

The form asks for the report, the format, whose patients, an optional
patient (MRN) and month, and the file. Its ``submit`` runs in a worker:
``check_request`` names a bad choice (the dialog shows it and focuses the
field), then the export service writes the file atomically with mode 0600
and records the audit event, as the command line does.
"""

from __future__ import annotations

from nursecase.screens.care_plan_print import default_folder
from nursecase.screens.form_dialog import FormDialog, FormField, typed_path
from nursecase.services import Services
from nursecase.services.exports import FORMATS, REPORTS, check_request

#: The formats as a nurse reads them.
FORMAT_LABELS = {
    "csv": "CSV (Excel)",
    "json": "JSON",
    "md": "Markdown",
    "pdf": "PDF (to print)",
    "fhir": "FHIR R4 bundle",
}
#: The reports as a nurse reads them (``nursecase export --help`` has the long form).
REPORT_LABELS = {
    "caseload": "Caseload: a row per patient",
    "worklist": "Today's worklist, with the why",
    "referrals": "Referrals: status, age, turnaround",
    "ccm": "CCM minutes and billing codes",
    "rpm": "Remote monitoring: days, minutes, codes",
    "tcm": "TCM discharges: steps met or missed, billing",
    "careplans": "Care plans: problems, goals, interventions",
    "patient": "One patient, for a handover",
    "supervisor": "Supervisor: overdue, unanswered, past due",
    "outcomes": "Outcomes: readmissions, ED visits, transitions",
}
MINE = "mine"
EVERYONE = "all"


def export_dialog(services: Services, settings, patient_mrn: str | None = None) -> FormDialog:
    """The export form; dismisses with the ExportResult, or None.

    From a patient's screen ``patient_mrn`` preselects the patient report.
    """
    folder = default_folder(settings)
    fields = [
        FormField(
            "report",
            "Report",
            "choice",
            "patient" if patient_mrn else "caseload",
            choices=tuple((REPORT_LABELS.get(name, name), name) for name in REPORTS),
        ),
        FormField(
            "format",
            "Format",
            "choice",
            "pdf" if patient_mrn else "csv",
            choices=tuple((FORMAT_LABELS[code], code) for code in FORMATS),
        ),
        FormField(
            "whose",
            "Patients of",
            "choice",
            MINE,
            choices=(("Me", MINE), ("Every nurse", EVERYONE)),
        ),
        FormField("patient", "Patient (MRN)", value=patient_mrn or "", placeholder="optional"),
        FormField(
            "month",
            "Month (YYYY-MM)",
            placeholder="ccm, tcm, outcomes, referrals, patient; optional",
        ),
        FormField("out", "File", placeholder="empty: a new file in the exports folder"),
    ]
    exporter = services.exports

    def submit(values: dict[str, str]):
        options = check_request(
            values["report"],
            values["format"],
            all_nurses=values["whose"] == EVERYONE,
            month=values["month"].strip() or None,
            patient_mrn=values["patient"].strip() or None,
        )
        plan = exporter.prepare(options)
        typed = values["out"].strip()
        if typed:
            destination = typed_path("out", typed)
        else:
            destination = exporter.default_destination(plan, folder)
        return exporter.run(plan, destination)

    return FormDialog(
        "Export a report",
        fields,
        submit,
        submit_label="Export",
        intro=(
            f"The exports folder is {folder}. Only you can read the file (mode 0600);"
            " the audit trail records every export."
        ),
    )


def exported_message(result) -> str:
    """The toast after an export: how many rows, and where."""
    rows = "1 row" if result.rows == 1 else f"{result.rows} rows"
    return f"Exported {result.report} ({rows}) to {result.path}"
