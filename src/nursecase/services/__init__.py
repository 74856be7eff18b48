"""The service layer: every read and write the screens and the CLI make.

``make_services(engine, clock, nurse=...)`` is the seam: the app, the CLI and
the tests all build their services here, with a real engine (tests use a
temporary file database) and a clock (tests freeze it). Services validate
input (``ValidationError`` names the field), run one transaction per action,
write the audit event in that same transaction, and return frozen read models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from nursecase.clock import Clock
from nursecase.config import Settings
from nursecase.services.accounts import AccountService
from nursecase.services.assessments import AssessmentService
from nursecase.services.audit import AuditService
from nursecase.services.care_plan_print import CarePlanPrinter
from nursecase.services.care_plans import CarePlanService
from nursecase.services.care_team import CareTeamService
from nursecase.services.chart import ChartService
from nursecase.services.conditions import ConditionService
from nursecase.services.contacts import ContactService
from nursecase.services.context import ServiceContext
from nursecase.services.encounters import EncounterService
from nursecase.services.episodes import EpisodeService
from nursecase.services.medications import MedicationService
from nursecase.services.nurses import NurseService
from nursecase.services.patients import PatientService
from nursecase.services.readings import ReadingsService
from nursecase.services.referrals import ReferralService
from nursecase.services.safety_checks import SafetyCheckService
from nursecase.services.screenshots import ScreenshotService
from nursecase.services.tasks import TaskService
from nursecase.services.transitions import TransitionService
from nursecase.services.worklist import WorklistService


@dataclass
class Services:
    """All services of one workstation session, sharing one context."""

    context: ServiceContext
    nurses: NurseService
    patients: PatientService
    episodes: EpisodeService
    contacts: ContactService
    conditions: ConditionService
    medications: MedicationService
    care_team: CareTeamService
    transitions: TransitionService
    encounters: EncounterService
    tasks: TaskService
    assessments: AssessmentService
    safety_checks: SafetyCheckService
    care_plans: CarePlanService
    referrals: ReferralService
    readings: ReadingsService
    audit: AuditService
    worklist: WorklistService
    accounts: AccountService
    #: Reads built from the services above (set by ``make_services``).
    chart: ChartService = field(init=False, repr=False)
    #: The printable care plan for the patient and family (Markdown, PDF).
    care_plan_printer: CarePlanPrinter = field(init=False, repr=False)
    #: Pictures of the screen, saved and audited as exports.
    screenshots: ScreenshotService = field(init=False, repr=False)
    _exports: object = field(default=None, init=False, repr=False)
    _adt: object = field(default=None, init=False, repr=False)

    @property
    def clock(self) -> Clock:
        """The clock every service uses."""
        return self.context.clock

    @property
    def exports(self):
        """The export service (reports in CSV, JSON, Markdown, PDF, FHIR).

        Built on first use: its report modules are only imported by whoever
        exports, not by every command that opens the services.
        """
        if self._exports is None:
            from nursecase.services.exports import make_export_service

            self._exports = make_export_service(self.context)
        return self._exports

    @property
    def adt(self):
        """The hospital's ADT inbox (``services.adt_inbox``).

        Built on first use: it brings the HL7 reader, which the app and most
        commands never need.
        """
        if self._adt is None:
            from nursecase.services.adt_inbox import AdtInbox

            self._adt = AdtInbox(self.context)
        return self._adt


def make_services(
    engine: Engine,
    clock: Clock,
    nurse: str | None = None,
    settings: Settings | None = None,
) -> Services:
    """Build the services; ``nurse`` (a username) signs that nurse in, with a login event."""
    context = ServiceContext(engine=engine, clock=clock, settings=settings or Settings())
    services = Services(
        context=context,
        nurses=NurseService(context),
        patients=PatientService(context),
        episodes=EpisodeService(context),
        contacts=ContactService(context),
        conditions=ConditionService(context),
        medications=MedicationService(context),
        care_team=CareTeamService(context),
        transitions=TransitionService(context),
        encounters=EncounterService(context),
        tasks=TaskService(context),
        assessments=AssessmentService(context),
        safety_checks=SafetyCheckService(context),
        care_plans=CarePlanService(context),
        referrals=ReferralService(context),
        readings=ReadingsService(context),
        audit=AuditService(context),
        worklist=WorklistService(context),
        accounts=AccountService(context),
    )
    services.chart = ChartService(context, services)
    services.care_plan_printer = CarePlanPrinter(context)
    services.screenshots = ScreenshotService(context)
    if nurse is not None:
        services.nurses.sign_in(nurse)
    return services


__all__ = ["Services", "make_services"]
