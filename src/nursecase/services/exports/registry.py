"""Which builder makes which report: the one table the export service looks reports up in."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from nursecase.services.context import ServiceContext
from nursecase.services.exports.care_plans import build_care_plans
from nursecase.services.exports.caseload import build_caseload
from nursecase.services.exports.ccm import build_ccm
from nursecase.services.exports.common import ExportScope, Report
from nursecase.services.exports.outcomes import build_outcomes
from nursecase.services.exports.patient import build_patient
from nursecase.services.exports.referrals import build_referrals
from nursecase.services.exports.rpm import build_rpm
from nursecase.services.exports.supervisor import build_supervisor
from nursecase.services.exports.tcm import build_tcm
from nursecase.services.exports.worklist import build_worklist

Builder = Callable[[Session, ExportScope, ServiceContext], Report]
"""Builds one report for a scope, reading in the given session."""


#: Report name -> builder, for every report of ``options.REPORTS``.
BUILDERS: dict[str, Builder] = {
    "caseload": build_caseload,
    "worklist": build_worklist,
    "referrals": build_referrals,
    "ccm": build_ccm,
    "rpm": build_rpm,
    "tcm": build_tcm,
    "careplans": build_care_plans,
    "patient": build_patient,
    "supervisor": build_supervisor,
    "outcomes": build_outcomes,
}

__all__ = ["BUILDERS", "Builder"]
