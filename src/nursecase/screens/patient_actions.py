"""The patient-detail action dialogs: one form, one service call, one transaction.

Each builder returns a ``FormDialog`` whose ``submit`` parses the raw values
(a ValidationError names the field) and calls ONE service method; the dialog
runs it in a worker and dismisses with the service's result (None when the
nurse cancels). Builders run on the UI thread, so they never touch the
database: anything they need to list (nurses, the patient, the episode) is
passed in already loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from nursecase.domain.codes import (
    CcmProgramme,
    EpisodeStatus,
    RiskTier,
    TaskPriority,
)
from nursecase.domain.risk import ASSESSED_TIERS, is_assessed
from nursecase.domain.validation import parse_date, require_int_range
from nursecase.screens.contact_dialog import snooze_dialog
from nursecase.screens.form_dialog import FormDialog, FormField, code_choices
from nursecase.services import Services

if TYPE_CHECKING:
    from nursecase.domain.risk import RiskStanding
    from nursecase.services.episodes import EpisodeRead
    from nursecase.services.nurses import NurseRead
    from nursecase.services.patients import PatientRead
    from nursecase.services.tasks import TaskRead

#: The "assign to" choice meaning "leave it to the service": the patient's nurse.
#: Spaces and capitals keep it apart from any real username.
PATIENTS_NURSE = "(Patient's nurse)"
#: The longest length of stay accepted, as the transition service accepts it.
MAXIMUM_STAY_DAYS = 3650
#: Statuses a new episode may start in (a closed status would end it at once).
OPENING_STATUSES = (
    EpisodeStatus.planned,
    EpisodeStatus.waitlist,
    EpisodeStatus.active,
    EpisodeStatus.onhold,
)
_YES_NO = (("No", "no"), ("Yes", "yes"))


def _nurse_choices(nurses: Iterable[NurseRead], leave_out: str | None = None):
    """(display name and username, username) for every active nurse but ``leave_out``."""
    return tuple(
        (f"{nurse.display_name} ({nurse.username})", nurse.username)
        for nurse in nurses
        if nurse.active and nurse.username != leave_out
    )


def _tomorrow(services: Services):
    return services.clock.today() + timedelta(days=1)


def add_task_dialog(
    services: Services, patient_id: int, patient_name: str, nurses: Sequence[NurseRead] = ()
) -> FormDialog:
    """Add a follow-up task for the patient; dismisses with the TaskRead.

    With ``nurses`` (loaded beforehand) the nurse may give the task to a
    colleague; by default it goes to the patient's nurse.
    """
    fields = [
        FormField(
            "description", "Task (required)", placeholder="e.g. call the pharmacy about refills"
        ),
        FormField("due_date", "Due (YYYY-MM-DD)", value=_tomorrow(services).isoformat()),
        FormField(
            "priority",
            "Priority",
            "choice",
            TaskPriority.routine.value,
            choices=code_choices(TaskPriority),
        ),
    ]
    if nurses:
        fields.append(
            FormField(
                "nurse_username",
                "Assign to",
                "choice",
                PATIENTS_NURSE,
                choices=((PATIENTS_NURSE, PATIENTS_NURSE), *_nurse_choices(nurses)),
            )
        )

    def submit(values: dict[str, str]):
        nurse = values.get("nurse_username", PATIENTS_NURSE)
        return services.tasks.add(
            patient_id,
            values["description"],
            parse_date(values["due_date"], "due_date"),
            values["priority"],
            nurse_username=None if nurse in (PATIENTS_NURSE, "") else nurse,
        )

    return FormDialog(f"New task for {patient_name}", fields, submit, submit_label="Add")


def snooze_task_dialog(services: Services, task: TaskRead) -> FormDialog:
    """Move an open task to a later day with a required reason; dismisses with the TaskRead."""

    def submit(until, reason: str):
        return services.tasks.snooze(task.id, until, reason)

    return snooze_dialog(task.description, _tomorrow(services), submit)


def reassign_task_dialog(
    services: Services, task: TaskRead, nurses: Sequence[NurseRead]
) -> FormDialog:
    """Give an open task to another active nurse; dismisses with the TaskRead.

    ``nurses`` is loaded beforehand (``services.nurses.list_nurses()``); the
    task's current nurse is not offered, so saving always changes something.
    """
    choices = _nurse_choices(nurses, leave_out=task.nurse_username)
    names = {nurse.username: nurse.display_name for nurse in nurses}
    now_with = names.get(task.nurse_username or "", task.nurse_username or "nobody")
    intro = f"Now assigned to {now_with}."
    if not choices:
        intro += " There is no other active nurse to give it to."
    fields = [FormField("nurse_username", "Give to (required)", "choice", choices=choices)]

    def submit(values: dict[str, str]):
        return services.tasks.reassign(task.id, values["nurse_username"])

    return FormDialog(
        f"Reassign: {task.description}", fields, submit, submit_label="Reassign", intro=intro
    )


def optional_stay_days(value: str) -> int | None:
    """The length of stay in whole days, or None when left empty."""
    if not value.strip():
        return None
    return require_int_range(value, "length_of_stay_days", 0, MAXIMUM_STAY_DAYS)


def record_discharge_dialog(services: Services, patient_id: int, patient_name: str) -> FormDialog:
    """Record a discharge and start its TCM clocks; dismisses with the TransitionRead."""
    fields = [
        FormField(
            "discharged_on", "Discharged (YYYY-MM-DD)", value=services.clock.today().isoformat()
        ),
        FormField("facility", "Facility", placeholder="hospital or unit"),
        FormField("high_complexity", "High complexity", "choice", "no", choices=_YES_NO),
        FormField("length_of_stay_days", "Length of stay (days)", placeholder="optional"),
    ]

    def submit(values: dict[str, str]):
        return services.transitions.record_discharge(
            patient_id,
            parse_date(values["discharged_on"], "discharged_on"),
            values["facility"].strip() or None,
            values["high_complexity"] == "yes",
            optional_stay_days(values["length_of_stay_days"]),
        )

    intro = (
        "Adds two TCM tasks: an interactive contact within 2 business days, and a "
        "face-to-face visit within 7 days (high complexity) or 14 days."
    )
    return FormDialog(
        f"Discharge of {patient_name}", fields, submit, submit_label="Record", intro=intro
    )


def change_risk_tier_dialog(
    services: Services,
    patient: PatientRead,
    suggested_tier: str | None = None,
    suggested_reason: str = "",
    standing: RiskStanding | None = None,
) -> FormDialog:
    """The nurse's override: a tier and the reason for it; dismisses with the PatientRead.

    The reason is kept as the tier's basis with the nurse's name ("high, set
    by A. Moreno: lives alone"). The save carries the version the chart was
    read at, so a change someone else saved meanwhile is refused naming them.
    ``standing`` (the chart's risk) says in the intro what the tier rests on now.
    """
    if standing is not None:
        now = standing.describe(services.clock.today())
    else:
        now = RiskTier(patient.risk_tier).label
    if standing is not None and not standing.assessed:
        now = f"the risk is {now}"  # "Now the risk is not assessed."
    intro = f"Now {now}. Your reason is kept as the basis of the tier, with your name."
    fields = [
        FormField(
            "risk_tier",
            "Risk tier",
            "choice",
            # "Not assessed" is where a patient starts, not a tier to choose.
            suggested_tier
            or (patient.risk_tier if is_assessed(patient.risk_tier) else RiskTier.moderate.value),
            choices=code_choices(ASSESSED_TIERS),
        ),
        FormField(
            "reason",
            "Reason (required)",
            value=suggested_reason,
            placeholder="e.g. lives alone, two ED visits this month",
        ),
    ]

    def submit(values: dict[str, str]):
        return services.patients.change_risk_tier(
            patient.id, values["risk_tier"], values["reason"], expected_version=patient.version
        )

    return FormDialog(
        f"Risk tier of {patient.display_name}", fields, submit, submit_label="Change", intro=intro
    )


#: The programme choice meaning "not enrolled in CCM".
NOT_ENROLLED = "none"


def ccm_enrolment_dialog(services: Services, patient: PatientRead) -> FormDialog:
    """Enrol the patient in standard or complex CCM from a start date, or end it.

    Dismisses with the PatientRead. Only the enrolled programme's codes are
    counted, from the start date on (CMS MLN909188: one programme per month).
    """
    today = services.clock.today()
    current = patient.ccm_programme or NOT_ENROLLED
    start = patient.ccm_start or today
    fields = [
        FormField(
            "ccm_programme",
            "Programme",
            "choice",
            current,
            choices=(("Not enrolled", NOT_ENROLLED), *code_choices(CcmProgramme)),
        ),
        FormField("ccm_start", "Start (YYYY-MM-DD)", value=start.isoformat()),
    ]

    def submit(values: dict[str, str]):
        programme = values["ccm_programme"]
        if programme in (NOT_ENROLLED, ""):
            return services.patients.set_ccm_enrolment(
                patient.id, None, expected_version=patient.version
            )
        return services.patients.set_ccm_enrolment(
            patient.id,
            programme,
            parse_date(values["ccm_start"], "ccm_start"),
            expected_version=patient.version,
        )

    intro = (
        "Standard: 99490 at 20 min a month, 99439 for each further 20 (at most 2). "
        "Complex: 99487 at 60 min, 99489 for each further 30. "
        "Minutes count from the start date."
    )
    return FormDialog(
        f"CCM enrolment of {patient.display_name}",
        fields,
        submit,
        submit_label="Save",
        intro=intro,
    )


def change_episode_status_dialog(
    services: Services, episode: EpisodeRead, patient_name: str
) -> FormDialog:
    """Move the episode to another status; finished or cancelled closes it.

    Dismisses with the EpisodeRead. The reason is required to close the
    episode (the service enforces it) and kept in the status history.
    """
    current = EpisodeStatus(episode.status)
    others = [status for status in EpisodeStatus if status is not current]
    fields = [
        FormField("status", "New status (required)", "choice", choices=code_choices(others)),
        FormField(
            "reason",
            "Reason (needed to close)",
            placeholder="required for finished or cancelled",
        ),
    ]

    def submit(values: dict[str, str]):
        return services.episodes.change_status(episode.id, values["status"], values["reason"])

    intro = (
        f"The episode is {current.label} since {episode.start:%Y-%m-%d}. "
        "Finished or cancelled closes it for good."
    )
    return FormDialog(
        f"Episode of {patient_name}", fields, submit, submit_label="Change", intro=intro
    )


def reconcile_medications_dialog(
    services: Services, patient_id: int, patient_name: str, medication_count: int
) -> FormDialog:
    """Confirm marking the current medications reconciled today.

    A form with no fields: ctrl+s confirms, escape cancels. Dismisses with the
    number of medications marked (an int, possibly 0), or None when cancelled.
    """
    today = services.clock.today()
    if medication_count == 0:
        intro = f"{patient_name} has no active or on-hold medication to reconcile."
    else:
        medications = "medication" if medication_count == 1 else "medications"
        intro = (
            f"Mark the {medication_count} active or on-hold {medications} of {patient_name} "
            f"reconciled today ({today:%Y-%m-%d})?"
        )

    def submit(_values: dict[str, str]) -> int:
        return services.medications.reconcile(patient_id)

    return FormDialog("Reconcile medications", [], submit, submit_label="Reconcile", intro=intro)


def start_episode_dialog(services: Services, patient_id: int, patient_name: str) -> FormDialog:
    """Start a new episode today for a patient whose last one is closed.

    Dismisses with the EpisodeRead; refused while an episode is still open.
    """
    fields = [
        FormField(
            "status",
            "Starts as",
            "choice",
            EpisodeStatus.active.value,
            choices=code_choices(OPENING_STATUSES),
        )
    ]

    def submit(values: dict[str, str]):
        return services.episodes.start(patient_id, values["status"])

    intro = f"A new case-management episode starting today ({services.clock.today():%Y-%m-%d})."
    return FormDialog(
        f"New episode for {patient_name}", fields, submit, submit_label="Start", intro=intro
    )
