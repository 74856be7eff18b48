"""``nursecase export``: the reports, and the service that writes them out.

- :mod:`.options` checks what was asked for (report, format, period, patient);
- :mod:`.service` resolves the nurse and patient, streams the report to a
  file (atomic, mode 0600) or to stdout, recording the export before its
  first byte leaves and how it ended after;
- one module per report builds its rows: :mod:`.caseload`, :mod:`.worklist`,
  :mod:`.referrals`, :mod:`.ccm`, :mod:`.tcm`, :mod:`.care_plans`, :mod:`.patient`,
  :mod:`.supervisor`, :mod:`.outcomes` (:mod:`.registry` maps names to them).

The writers themselves are the pure ones of :mod:`nursecase.reports`.
"""

from __future__ import annotations

from nursecase.services.exports.options import (
    FORMATS,
    REPORT_FORMATS,
    REPORTS,
    ExportOptions,
    Period,
    check_request,
)
from nursecase.services.exports.service import (
    ExportNotRecordedError,
    ExportPlan,
    ExportResult,
    ExportService,
    ExportUnavailableError,
    FhirBuilder,
    check_destination,
)


def make_export_service(context) -> ExportService:
    """The export service with every format nursecase writes plugged in (FHIR too)."""
    return ExportService(context, fhir_builder=_build_fhir)


def _build_fhir(session, scope, report):
    """The FHIR bundle builder, imported only when a FHIR export runs."""
    from nursecase.services.exports.fhir import FhirBundleBuilder

    return FhirBundleBuilder()(session, scope, report)


__all__ = [
    "make_export_service",
    "FORMATS",
    "REPORTS",
    "REPORT_FORMATS",
    "ExportOptions",
    "ExportPlan",
    "ExportResult",
    "ExportNotRecordedError",
    "ExportService",
    "ExportUnavailableError",
    "FhirBuilder",
    "Period",
    "check_destination",
    "check_request",
]
