"""The new-patient dialog: the fields a case manager has at enrolment."""

from __future__ import annotations

from nursecase.domain.codes import RiskTier, Sex
from nursecase.domain.risk import ASSESSED_TIERS
from nursecase.domain.validation import optional_date
from nursecase.screens.form_dialog import FormDialog, FormField
from nursecase.services import Services


def new_patient_dialog(services: Services) -> FormDialog:
    """A dialog that enrols a patient on the signed-in nurse's caseload; returns PatientRead.

    A tier given a reason is the nurse's override (with their name); without
    one it is "not assessed" until a score or a reason sets it. The tier starts
    at "Not assessed", as an imported patient's does: a nurse who knows no
    score leaves it there, and the patient is never taken for moderate.
    """
    fields = [
        FormField("mrn", "MRN (required)", placeholder="medical record number"),
        FormField("family_name", "Family name (required)"),
        FormField("given_name", "Given name (required)"),
        FormField("birth_date", "Birth date (YYYY-MM-DD)"),
        FormField(
            "sex",
            "Sex",
            "choice",
            Sex.unknown.value,
            choices=tuple((member.label, member.value) for member in Sex),
        ),
        FormField("phone", "Phone"),
        FormField("preferred_language", "Preferred language", value="English"),
        FormField(
            "risk_tier",
            "Risk tier",
            "choice",
            RiskTier.not_assessed.value,
            choices=tuple(
                (member.label, member.value) for member in (RiskTier.not_assessed, *ASSESSED_TIERS)
            ),
        ),
        FormField(
            "risk_reason",
            "Why this tier",
            placeholder="optional; without a reason the tier is not assessed",
        ),
    ]

    def submit(values: dict[str, str]):
        return services.patients.create(
            values["mrn"],
            values["family_name"],
            values["given_name"],
            birth_date=optional_date(values["birth_date"], "birth_date"),
            sex=values["sex"],
            phone=values["phone"].strip() or None,
            preferred_language=values["preferred_language"].strip() or None,
            risk_tier=values["risk_tier"],
            risk_reason=values["risk_reason"].strip() or None,
        )

    return FormDialog("New patient", fields, submit, submit_label="Enrol")
