"""Encounter rules: which discharges start TCM, the ED follow-up, being in hospital.

An encounter is a hospital stay, an emergency department visit, an observation
stay or an ambulatory visit, learned from the ADT feed, a FHIR import or the
discharge form (issue 21). Nothing here reads the clock or the database.
"""

from __future__ import annotations

from datetime import date, timedelta

from nursecase.domain.codes import DischargeDisposition, EncounterClass
from nursecase.domain.flags import READMISSION_WINDOW_DAYS

#: Discharges after which the TCM clocks do not start. CMS MLN908628
#: ("Transitional Care Management Services"): TCM follows a discharge "to the
#: beneficiary's community setting (home, domiciliary, rest home, or assisted
#: living facility)". A patient who died, went to another hospital or
#: facility, to skilled nursing, long-term care, rehabilitation or a
#: psychiatric hospital is not in the community. Hospice takes over the
#: patient's care (and HEDIS Transitions of Care excludes members in hospice).
#: "Other" (court or law enforcement) is not a community setting either.
NO_TCM_DISPOSITIONS: frozenset[DischargeDisposition] = frozenset(
    {
        DischargeDisposition.expired,
        DischargeDisposition.other_facility,
        DischargeDisposition.skilled_nursing,
        DischargeDisposition.long_term_care,
        DischargeDisposition.rehabilitation,
        DischargeDisposition.psychiatric,
        DischargeDisposition.hospice,
        DischargeDisposition.other,
    }
)


def starts_tcm(disposition: DischargeDisposition | None) -> bool:
    """Whether a discharge with this disposition starts the TCM clocks (CMS MLN908628).

    True for home, an alternative home, and leaving against medical advice (the
    patient went home). True also when the source did not say (None): the
    clocks start and the nurse, who can tell, closes them; a missed TCM contact
    after a discharge home is a worse error than a clock to dismiss. False
    for :data:`NO_TCM_DISPOSITIONS`.
    """
    return disposition not in NO_TCM_DISPOSITIONS


#: HEDIS FMC, "Follow-Up After Emergency Department Visit for People With
#: Multiple High-Risk Chronic Conditions": a follow-up service within 7 days
#: after the ED visit (8 days in all, counting the visit day).
ED_FOLLOW_UP_DAYS = 7


def ed_follow_up_by(visit_day: date) -> date:
    """The last day of the follow-up after an ED visit on ``visit_day`` (HEDIS FMC): day + 7."""
    return visit_day + timedelta(days=ED_FOLLOW_UP_DAYS)


def is_hospital_stay(encounter_class: EncounterClass | None) -> bool:
    """Whether an encounter of this class puts the patient in a hospital bed (IN HOSPITAL).

    Inpatient and observation stays do. An emergency visit in progress is "in
    the ED" (:func:`in_emergency_department_words`), not a stay; an ambulatory
    visit is neither.
    """
    return encounter_class in (EncounterClass.inpatient, EncounterClass.observation)


def is_readmission(previous_discharge: date, discharge: date) -> bool:
    """Whether ``discharge`` is a readmission's: within 30 days after the previous discharge.

    The READMISSION flag's rule (domain.flags, :data:`READMISSION_WINDOW_DAYS`,
    the 30-day window of CMS's Hospital Readmissions Reduction Program), the
    same as Today uses: 1 to 30 days later; the same day is the same stay.
    """
    return 0 < (discharge - previous_discharge).days <= READMISSION_WINDOW_DAYS


def _short_day(day: date) -> str:
    # "05 Dec", as the screens write a short date (screens/formatting.py: "%d %b").
    return f"{day:%d %b}"


def _at(facility: str | None) -> str:
    name = " ".join((facility or "").split())
    return f", {name}" if name else ""


def in_hospital_words(facility: str | None, since: date) -> str:
    """The patient header's words for a stay: "In hospital since 05 Dec, Mercy General".

    Without a facility: "In hospital since 05 Dec".
    """
    return f"In hospital since {_short_day(since)}{_at(facility)}"


def in_emergency_department_words(facility: str | None, since: date) -> str:
    """The words for an emergency visit in progress: "In the ED since 05 Dec, Mercy General"."""
    return f"In the ED since {_short_day(since)}{_at(facility)}"


__all__ = [
    "ED_FOLLOW_UP_DAYS",
    "NO_TCM_DISPOSITIONS",
    "READMISSION_WINDOW_DAYS",
    "ed_follow_up_by",
    "in_emergency_department_words",
    "in_hospital_words",
    "is_hospital_stay",
    "is_readmission",
    "starts_tcm",
]
