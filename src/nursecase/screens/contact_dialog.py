"""The log-contact dialog: one form, one transaction.

Minutes are prefilled from how long the patient has been open (the rounds
timer), the time from the clock, and the next contact date from the patient's
risk-tier cadence; the nurse can change any of them.
"""

from __future__ import annotations

from datetime import date

from nursecase.domain.clocks import next_contact_due
from nursecase.domain.codes import ContactMode, ContactOutcome, ContactWith
from nursecase.domain.validation import minutes, optional_date, parse_moment
from nursecase.screens.form_dialog import FormDialog, FormField, code_choices


def suggested_next_contact(risk_tier: str, today: date, cadence_days: dict[str, int]) -> date:
    """Today plus the risk tier's cadence."""
    return next_contact_due(risk_tier, today, cadence_days)


def log_contact_dialog(
    services,
    patient_id: int,
    patient_name: str,
    risk_tier: str,
    elapsed_minutes: int,
) -> FormDialog:
    """A dialog that logs one contact for ``patient_id``; it returns the ContactRead."""
    now = services.clock.now()
    next_due = suggested_next_contact(risk_tier, now.date(), services.context.settings.cadence_days)
    fields = [
        FormField("occurred_at", "When (date time)", value=f"{now:%Y-%m-%d %H:%M}"),
        FormField(
            "mode", "Mode", "choice", ContactMode.phone.value, choices=code_choices(ContactMode)
        ),
        FormField(
            "with_whom",
            "With",
            "choice",
            ContactWith.patient.value,
            choices=code_choices(ContactWith),
        ),
        FormField(
            "outcome",
            "Outcome",
            "choice",
            ContactOutcome.reached.value,
            choices=code_choices(ContactOutcome),
        ),
        FormField("minutes", "Minutes (1-480)", value=str(max(1, min(480, elapsed_minutes)))),
        FormField("note", "Note", "note", placeholder="What happened, what was agreed"),
        FormField(
            "next_contact_due",
            "Next contact",
            value=next_due.isoformat(),
        ),
    ]

    def submit(values: dict[str, str]):
        return services.contacts.log(
            patient_id,
            parse_moment(values["occurred_at"], "occurred_at"),
            values["mode"],
            values["with_whom"],
            values["outcome"],
            minutes(values["minutes"]),
            note=values["note"].strip() or None,
            next_contact_due=optional_date(values["next_contact_due"], "next_contact_due"),
        )

    return FormDialog(f"Log a contact with {patient_name}", fields, submit, submit_label="Log")


def edit_contact_dialog(services, contact) -> FormDialog:
    """A dialog that corrects a logged contact (a ContactRead); it returns the new ContactRead."""
    fields = [
        FormField("occurred_at", "When (date time)", value=f"{contact.occurred_at:%Y-%m-%d %H:%M}"),
        FormField("mode", "Mode", "choice", contact.mode, choices=code_choices(ContactMode)),
        FormField(
            "with_whom", "With", "choice", contact.with_whom, choices=code_choices(ContactWith)
        ),
        FormField(
            "outcome", "Outcome", "choice", contact.outcome, choices=code_choices(ContactOutcome)
        ),
        FormField("minutes", "Minutes (1-480)", value=str(contact.minutes)),
        FormField("note", "Note", "note", value=contact.note or ""),
    ]

    def submit(values: dict[str, str]):
        return services.contacts.update(
            contact.id,
            occurred_at=parse_moment(values["occurred_at"], "occurred_at"),
            mode=values["mode"],
            with_whom=values["with_whom"],
            outcome=values["outcome"],
            minutes=minutes(values["minutes"]),
            note=values["note"].strip() or None,
        )

    return FormDialog("Correct a contact", fields, submit, submit_label="Save")


def snooze_dialog(description: str, default_until: date, submit) -> FormDialog:
    """Ask for a new date and a reason; ``submit(until, reason)`` does the work."""
    fields = [
        FormField("until", "Until (YYYY-MM-DD)", value=default_until.isoformat()),
        FormField(
            "reason", "Reason (required)", placeholder="e.g. patient in hospital until Monday"
        ),
    ]

    def parsed(values: dict[str, str]):
        from nursecase.domain.validation import parse_date

        return submit(parse_date(values["until"], "until"), values["reason"])

    return FormDialog(f"Snooze: {description}", fields, parsed, submit_label="Snooze")
