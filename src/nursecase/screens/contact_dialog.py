"""The log-contact dialog: one form, one transaction.

Minutes are prefilled from how long the patient has been open (the rounds
timer), the time from the clock, and the next contact date from the patient's
risk-tier cadence; the nurse can change any of them.

On a patient with an open safety flag the dialog says so in words (a call
never clears it), and ``log_contact_with_safety`` offers the safety check next,
once the contact is saved.

Readings (issue 20): for each open reading alert a checkbox "Addresses: weight
+2.6 kg in 5 d", unticked (a routine call never closes an alert by itself: the
nurse ticks the ones the call dealt with, and they close with the contact);
for a patient on remote monitoring, a checkbox saying the minutes count toward
remote monitoring, not CCM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

from nursecase.domain.clocks import next_contact_due
from nursecase.domain.codes import ContactMode, ContactOutcome, ContactWith
from nursecase.domain.validation import minutes, optional_date, parse_moment
from nursecase.screens.background import run_in_background
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import CHECKED, FormDialog, FormField, code_choices
from nursecase.screens.safety_check_dialog import open_safety_check
from nursecase.services import Services


def suggested_next_contact(risk_tier: str, today: date, cadence_days: Mapping[str, int]) -> date:
    """Today plus the risk tier's cadence."""
    return next_contact_due(risk_tier, today, cadence_days)


def safety_line(signals: Sequence) -> str:
    """The contact dialog's warning for open safety signals ("" when there is none).

    "Safety flag open: PHQ-9 item 9 answered 2 on 5 Dec. A call does not clear
    it; record a safety check."
    """
    if not signals:
        return ""
    what = "; ".join(signal.what for signal in signals)
    return f"Safety flag open: {what}. A call does not clear it; record a safety check."


#: The field name of an alert's checkbox: "addresses-" and the alert's id.
ADDRESSES_PREFIX = "addresses-"
#: What the monitoring checkbox says.
MONITORING_WORDS = "count toward remote monitoring (not CCM)"


def log_contact_dialog(
    services: Services,
    patient_id: int,
    patient_name: str,
    risk_tier: str,
    elapsed_minutes: int,
    safety_signals: Sequence = (),
    alerts: Sequence = (),
    monitored: bool = False,
) -> FormDialog:
    """A dialog that logs one contact for ``patient_id``; it returns the ContactRead.

    ``safety_signals`` (``services.safety_checks.open_signals``) put a line on
    top saying the patient has an open safety flag that a call does not clear.
    ``alerts`` (the patient's open reading alerts) each get an unticked
    "Addresses" checkbox; ``monitored`` (an open remote-monitoring enrolment)
    adds the checkbox that puts the minutes toward remote monitoring.
    """
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
    fields.extend(
        FormField(f"{ADDRESSES_PREFIX}{alert.id}", "Addresses", "check", placeholder=alert.why)
        for alert in alerts
    )
    if monitored:
        fields.append(FormField("for_monitoring", "Minutes", "check", placeholder=MONITORING_WORDS))

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
            addresses=[
                int(name.removeprefix(ADDRESSES_PREFIX))
                for name, value in values.items()
                if name.startswith(ADDRESSES_PREFIX) and value == CHECKED
            ],
            for_monitoring=values.get("for_monitoring") == CHECKED,
        )

    return FormDialog(
        f"Log a contact with {patient_name}",
        fields,
        submit,
        submit_label="Log",
        intro=f"⚠ {safety_line(safety_signals)}" if safety_signals else "",
    )


def log_contact_with_safety(
    node,
    services: Services,
    patient_id: int,
    patient_name: str,
    risk_tier: str,
    elapsed_minutes: int,
    on_logged: Callable[[object], None],
    on_checked: Callable[[object], None],
    safety_signals: Sequence | None = None,
) -> None:
    """Log a contact; on a patient with an open safety flag, offer the safety check next.

    The patient's open reading alerts and whether they are on remote
    monitoring are read first (in a worker), with the safety signals when
    ``safety_signals`` is None; the patient screen passes its chart's.
    ``on_logged(contact)`` runs after the dialog closes (None when cancelled);
    when a flag is open and the contact was saved, a yes/no question offers the
    safety check, and ``on_checked(result)`` runs after it is saved.
    """

    def show(found) -> None:
        signals, alerts, monitored = found

        def logged(contact) -> None:
            on_logged(contact)
            if contact is None or not signals:
                return
            node.app.push_screen(
                ConfirmDialog(
                    "The safety flag is still open: a call does not clear it. "
                    "Record a safety check now?",
                    yes="safety check now",
                    no="later",
                ),
                lambda yes: (
                    open_safety_check(node, services, patient_id, patient_name, on_checked)
                    if yes
                    else None
                ),
            )

        dialog = log_contact_dialog(
            services,
            patient_id,
            patient_name,
            risk_tier,
            elapsed_minutes,
            signals,
            alerts=alerts,
            monitored=monitored,
        )
        node.app.push_screen(dialog, logged)

    def read() -> tuple:
        signals = (
            tuple(safety_signals)
            if safety_signals is not None
            else tuple(services.safety_checks.open_signals(patient_id))
        )
        alerts = tuple(services.readings.alerts(patient_id, open_only=True))
        return signals, alerts, bool(services.readings.enrolments(patient_id))

    run_in_background(node, read, show)


def edit_contact_dialog(services: Services, contact) -> FormDialog:
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


def alert_note_dialog(why: str, submit) -> FormDialog:
    """Ask what was done about an out-of-range reading; ``submit(note)`` closes the alert."""
    fields = [
        FormField(
            "note",
            "What was done (required)",
            "note",
            placeholder="e.g. called: took the missed dose, recheck in 2 h",
        )
    ]
    return FormDialog(
        f"Close: {why}",
        fields,
        lambda values: submit(values["note"]),
        submit_label="Close",
        intro="A note closes the alert; so does a contact that addresses it (c).",
    )
