"""Referral dialogs: send one, read it, move it along, chase it, filter the queue, pick a patient.

Builders run on the UI thread and never touch the database: what they list
(organisations used before, the referral itself) is loaded before they are
called. Each form's ``submit`` makes ONE service call, in a worker, so each
save is one transaction; a ValidationError names the field and keeps what
was typed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from nursecase.domain.clocks import DEFAULT_REPLY_DAYS, default_expected_reply
from nursecase.domain.codes import ContactOutcome, ReferralPriority, ReferralStatus, ServiceType
from nursecase.domain.referral_states import OUTCOME_REQUIRED, REASON_REQUIRED, allowed_next
from nursecase.domain.validation import optional_date
from nursecase.screens.background import run_in_background
from nursecase.screens.choice_picker import Choice, ChoicePicker, Picked
from nursecase.screens.form_dialog import FormDialog, FormField, code_choices
from nursecase.screens.formatting import shown
from nursecase.screens.referral_views import (
    EVERY_STATUS,
    GROUPINGS,
    OPEN,
    PRIORITY_ORDER,
    QueueFilter,
    detail_pane,
    priority_choices,
    service_label,
    status_label,
    status_meaning,
)
from nursecase.screens.workstation import WorkstationScreen
from nursecase.services import Services
from nursecase.widgets.text_fields import TextInput

# ---------------------------------------------------------------- new referral


def _reply_days_text() -> str:
    """ "Routine 10 d, Urgent 3 d, ASAP 2 d, STAT 1 d": the priorities in FHIR order."""
    return ", ".join(f"{level.label} {DEFAULT_REPLY_DAYS[level]} d" for level in PRIORITY_ORDER)


class ReferralForm(FormDialog):
    """The new-referral form, which remembers where each service was sent before.

    Choosing a service fills in the organisation last used for it (unless the
    nurse has typed one); ctrl+o lists every organisation used before, those
    for the chosen service first, and typing offers completions. Changing the
    priority moves the expected reply date with it until the nurse types one.
    """

    BINDINGS = [
        Binding(
            "ctrl+o",
            "pick_organisation",
            "Organisations",
            tooltip="Pick a receiving organisation used before",
            id="referral.pick_organisation",
        ),
    ]

    def __init__(self, services: Services, recent: Sequence[tuple[str, str]], **form) -> None:
        super().__init__(**form)
        self.services = services
        self.recent = list(recent)
        self.filled_organisation = ""
        self.filled_reply = self._default_reply(ReferralPriority.routine)

    def _default_reply(self, priority: str) -> str:
        return default_expected_reply(priority, self.services.clock.today()).isoformat()

    def on_mount(self) -> None:
        """Offer every organisation used before as a completion."""
        self._set_suggestions("")

    def organisations_for(self, service_type: str) -> list[str]:
        """Organisations used before, the chosen service's first (most recent first)."""
        first = [name for service, name in self.recent if service == service_type]
        others = [name for service, name in self.recent if service != service_type]
        return list(dict.fromkeys(first + others))

    def _set_suggestions(self, service_type: str) -> None:
        field = self.query_one("#field-receiving_organisation", Input)
        field.suggester = SuggestFromList(
            self.organisations_for(service_type), case_sensitive=False
        )

    @on(Select.Changed, "#field-service_type")
    def _service_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        service_type = str(event.value)
        self._set_suggestions(service_type)
        field = self.query_one("#field-receiving_organisation", Input)
        last = [name for service, name in self.recent if service == service_type]
        # Only replace what the form filled in itself, never what the nurse typed.
        if last and field.value in ("", self.filled_organisation):
            field.value = last[0]
            self.filled_organisation = last[0]

    @on(Select.Changed, "#field-priority")
    def _priority_chosen(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        field = self.query_one("#field-expected_reply_date", Input)
        if field.value.strip() in ("", self.filled_reply):
            self.filled_reply = self._default_reply(str(event.value))
            field.value = self.filled_reply

    def action_pick_organisation(self) -> None:
        """List the organisations used before; typing filters or names a new one."""
        service = self.values()["service_type"]
        names = self.organisations_for(service)

        def picked(answer: Picked | None) -> None:
            if answer is None:
                return
            field = self.query_one("#field-receiving_organisation", Input)
            field.value = answer.value if answer.value is not None else answer.text
            self.set_focus(field)

        self.app.push_screen(
            ChoicePicker(
                "Receiving organisation",
                [
                    Choice(
                        name,
                        name,
                        service_label(service) if name in self._used_for(service) else "",
                    )
                    for name in names
                ],
                filterable=True,
                free_text_label="New organisation",
            ),
            picked,
        )

    def _used_for(self, service_type: str) -> set[str]:
        return {name for service, name in self.recent if service == service_type}


def new_referral_dialog(
    services: Services, patient_id: int, patient_name: str, recent: Sequence[tuple[str, str]] = ()
) -> ReferralForm:
    """Send a referral (status "requested"); dismisses with the ReferralRead.

    ``recent`` is ``services.referrals.recent_organisations()``, loaded beforehand.
    """
    today = services.clock.today()
    fields = [
        FormField(
            "service_type", "Service (required)", "choice", choices=code_choices(ServiceType)
        ),
        FormField(
            "receiving_organisation",
            "Organisation (required)",
            placeholder="ctrl+o lists those used before",
        ),
        FormField("receiving_contact", "Contact there", placeholder="name, phone or fax"),
        FormField(
            "priority",
            "Priority",
            "choice",
            ReferralPriority.routine.value,
            choices=priority_choices(),
        ),
        FormField(
            "expected_reply_date",
            "Reply by (YYYY-MM-DD)",
            value=default_expected_reply(ReferralPriority.routine, today).isoformat(),
        ),
        FormField("reason", "Reason (required)", "note", placeholder="What the service is for"),
    ]

    def submit(values: dict[str, str]):
        return services.referrals.create(
            patient_id,
            values["service_type"],
            values["receiving_organisation"],
            values["reason"],
            values["priority"],
            optional_date(values["expected_reply_date"], "expected_reply_date"),
            values["receiving_contact"].strip() or None,
        )

    intro = (
        f"The expected reply follows the priority ({_reply_days_text()}) "
        "until you type a date of your own."
    )
    return ReferralForm(
        services,
        recent,
        title=f"Refer {patient_name}",
        fields=fields,
        submit=submit,
        submit_label="Send",
        intro=intro,
    )


# --------------------------------------------------------------- status moves

#: Moves that book a date with the service: the form asks for the appointment.
APPOINTMENT_TARGETS = frozenset({ReferralStatus.accepted, ReferralStatus.in_progress})
#: Moves that deserve a word of why, though the state machine does not insist.
OPTIONAL_REASON_TARGETS = frozenset(
    {ReferralStatus.on_hold, ReferralStatus.failed, ReferralStatus.entered_in_error}
)


def status_choices(referral) -> list[Choice]:
    """Every other status: the legal moves (each with what it means), the rest disabled."""
    legal = [str(status) for status in allowed_next(referral.status)]
    current = status_label(referral.status).lower()
    choices = [Choice(status_label(code), code, status_meaning(code)) for code in legal]
    for status in ReferralStatus:
        if status.value != referral.status and status.value not in legal:
            choices.append(Choice(status.label, status.value, f"not from {current}", disabled=True))
    return choices


def status_picker(referral) -> ChoicePicker:
    """The status picker for one referral."""
    legal = allowed_next(referral.status)
    intro = (
        f"{service_label(referral.service_type)} to {referral.receiving_organisation}"
        f" for {referral.patient_name}. Now {status_label(referral.status).lower()}:"
        f" {status_meaning(referral.status)}."
    )
    if not legal:
        intro += " This status is final."
    return ChoicePicker(
        f"Move the referral on: now {status_label(referral.status).lower()}",
        status_choices(referral),
        intro=intro,
    )


def needs_form(target: str) -> bool:
    """True when moving to ``target`` asks the nurse for something first."""
    status = ReferralStatus(target)
    return status in (
        REASON_REQUIRED | OUTCOME_REQUIRED | APPOINTMENT_TARGETS | OPTIONAL_REASON_TARGETS
    )


def transition_dialog(services: Services, referral, target: str) -> FormDialog:
    """Ask what the move needs (reason, outcome, appointment); dismisses with the ReferralRead."""
    status = ReferralStatus(target)
    fields: list[FormField] = []
    if status in REASON_REQUIRED:
        fields.append(FormField("reason", "Reason (required)", "note"))
    if status in OUTCOME_REQUIRED:
        fields.append(
            FormField("outcome", "Outcome (required)", "note", placeholder="What the service did")
        )
    if status in APPOINTMENT_TARGETS:
        booked = referral.appointment_date.isoformat() if referral.appointment_date else ""
        fields.append(
            FormField(
                "appointment_date",
                "Appointment (YYYY-MM-DD)",
                value=booked,
                placeholder="if one is booked",
            )
        )
    if status in OPTIONAL_REASON_TARGETS or status in APPOINTMENT_TARGETS:
        fields.append(FormField("reason", "Note for the history", "note", placeholder="optional"))

    def submit(values: dict[str, str]):
        return services.referrals.transition(
            referral.id,
            target,
            referral.version,
            reason=values.get("reason", "").strip() or None,
            outcome=values.get("outcome", "").strip() or None,
            appointment_date=optional_date(values.get("appointment_date", ""), "appointment_date"),
        )

    return FormDialog(
        f"{status_label(referral.status)} → {status.label}: "
        f"{service_label(referral.service_type)} for {referral.patient_name}",
        fields,
        submit,
        submit_label=status.label,
        intro=f"To {referral.receiving_organisation}. Reason: {referral.reason}",
    )


# ------------------------------------------------------------------ follow-up


def follow_up_dialog(services: Services, referral) -> FormDialog:
    """Log a call to the receiving service and set the next expected reply."""
    today = services.clock.today()
    next_reply = default_expected_reply(referral.priority, today)
    fields = [
        FormField(
            "outcome",
            "Outcome",
            "choice",
            ContactOutcome.reached.value,
            choices=code_choices(ContactOutcome),
        ),
        FormField("minutes", "Minutes", value="5"),
        FormField("note", "What they said", "note", placeholder="optional"),
        FormField("next_expected_reply", "Next reply expected", value=next_reply.isoformat()),
    ]

    def submit(values: dict[str, str]):
        return services.referrals.log_follow_up(
            referral.id,
            referral.version,
            values["outcome"],
            values["minutes"],
            values["note"].strip() or None,
            optional_date(values["next_expected_reply"], "next_expected_reply"),
        )

    waiting = f"{status_label(referral.status).lower()} for {referral.days_in_status} d"
    if referral.expected_reply_date is not None:
        waiting += f", reply expected {referral.expected_reply_date:%d %b}"
    return FormDialog(
        f"Follow-up call: {service_label(referral.service_type)} for {referral.patient_name}",
        fields,
        submit,
        submit_label="Log call",
        intro=(
            f"Calling {referral.receiving_organisation}"
            + (f" ({referral.receiving_contact})" if referral.receiving_contact else "")
            + f": {waiting}. The minutes count toward the patient's care management time."
        ),
    )


# ---------------------------------------------------------------- the filter

#: The "any" choice of a filter field (brackets keep it apart from any real name).
ANY = "(any)"
#: The "no grouping" choice.
NO_GROUPING = "none"


def queue_filter_dialog(current: QueueFilter, organisations: Sequence[str]) -> FormDialog:
    """Choose status, priority, service and organisation; dismisses with a QueueFilter."""
    status_choices_ = (
        ("Open (not finished)", OPEN),
        ("Every status", EVERY_STATUS),
        *((f"{status.label}: {status_meaning(status)}", str(status)) for status in ReferralStatus),
    )
    names = list(organisations)
    if current.organisation and current.organisation not in names:
        names.append(current.organisation)
    fields = [
        FormField("status", "Status", "choice", current.status, choices=status_choices_),
        FormField(
            "priority",
            "Priority",
            "choice",
            current.priority or ANY,
            choices=(("Any", ANY), *priority_choices()),
        ),
        FormField(
            "service_type",
            "Service",
            "choice",
            current.service_type or ANY,
            choices=(("Any", ANY), *code_choices(ServiceType)),
        ),
        FormField(
            "organisation",
            "To",
            "choice",
            current.organisation or ANY,
            choices=(("Any", ANY), *((name, name) for name in names)),
        ),
        FormField(
            "group_by",
            "Group by",
            "choice",
            current.group_by or NO_GROUPING,
            choices=tuple((label, value or NO_GROUPING) for value, label in GROUPINGS),
        ),
    ]

    def chosen(values: dict[str, str], name: str, nothing: str = ANY) -> str:
        return "" if values[name] in (nothing, "") else values[name]

    def submit(values: dict[str, str]) -> QueueFilter:
        return current.with_changes(
            status=values["status"] or OPEN,
            priority=chosen(values, "priority"),
            service_type=chosen(values, "service_type"),
            organisation=chosen(values, "organisation"),
            group_by=chosen(values, "group_by", NO_GROUPING),
        )

    return FormDialog("Filter the referral queue", fields, submit, submit_label="Show")


def grouping_picker(current: str) -> ChoicePicker:
    """Group the queue by status, priority, service or organisation (or not at all)."""
    return ChoicePicker(
        "Group the queue by",
        [Choice(label, value or NO_GROUPING) for value, label in GROUPINGS],
        highlighted=current or NO_GROUPING,
    )


# ------------------------------------------------------------------ read view


class ReferralReadView(ModalScreen[str | None]):
    """One referral to read in full: reason, outcome, history with reasons, every call.

    Dismisses with ``OPEN_PATIENT`` when the nurse asks for the patient, else None.
    """

    #: What the view dismisses with when ``p`` asks for the referral's patient.
    OPEN_PATIENT = "patient"

    DEFAULT_CSS = """
    ReferralReadView { align: center middle; }
    ReferralReadView > Vertical {
        width: 96%; height: auto; max-height: 90%;
        padding: 1 2; border: round $primary; background: $surface;
    }
    ReferralReadView #read-title { text-style: bold; margin-bottom: 1; }
    ReferralReadView #read-scroll { height: auto; max-height: 100%; }
    ReferralReadView #read-keys { color: $text-muted; margin-top: 1; }
    """
    AUTO_FOCUS = "#read-scroll"
    BINDINGS = [
        Binding("escape", "close", "Close", tooltip="Back to the queue", id="referral_read.close"),
        Binding("enter", "close", "Close", show=False, id="referral_read.close_enter"),
        Binding(
            "p",
            "open_patient",
            "Patient",
            tooltip="Open the referral's patient",
            id="referral_read.patient",
        ),
    ]

    def __init__(self, details, today) -> None:
        super().__init__()
        self.details = details
        self.today = today

    def compose(self) -> ComposeResult:
        """Title, the referral in full (scrolls when long), the keys."""
        referral = self.details.referral
        title = shown(
            f"Referral: {service_label(referral.service_type)} for {referral.patient_name}"
        )
        with Vertical():
            yield Label(Text(title), id="read-title")
            with VerticalScroll(id="read-scroll"):
                yield Static(detail_pane(self.details, self.today), id="read-body")
            yield Static("↑↓ scroll · p patient · esc or enter back to the queue", id="read-keys")

    def action_close(self) -> None:
        """Back to the queue."""
        self.dismiss(None)

    def action_open_patient(self) -> None:
        """Close and open the referral's patient."""
        self.dismiss(self.OPEN_PATIENT)


# ------------------------------------------------------------ patient picker


class PatientPicker(ModalScreen[tuple[int, str] | None]):
    """Find a patient by name, MRN or phone; dismisses with (id, "Family, Given").

    Each match shows its MRN and birth date, so two patients of one name are
    told apart. Enter chooses the highlighted match; an enter typed before the
    matches for the typed text arrived chooses only when exactly one patient
    matches, never silently the first of several.
    """

    DEFAULT_CSS = """
    PatientPicker { align: center middle; }
    PatientPicker > Vertical {
        width: 76; height: auto; max-height: 90%;
        padding: 1 2; border: round $primary; background: $surface;
    }
    PatientPicker #picker-title { text-style: bold; margin-bottom: 1; }
    PatientPicker #patient-search { margin-bottom: 1; }
    PatientPicker OptionList { height: auto; max-height: 14; }
    PatientPicker #picker-keys { color: $text-muted; margin-top: 1; }
    PatientPicker #picker-keys.choose { color: $warning; }
    """
    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", tooltip="Close without choosing", id="patients.cancel"
        ),
        Binding("down", "move(1)", "Next", show=False, id="patients.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="patients.up"),
    ]
    AUTO_FOCUS = "#patient-search"
    #: How many matches the list shows.
    LIMIT = 12
    KEYS = "type to search · ↑↓ and enter to choose · esc cancel"

    def __init__(self, services: Services, title: str = "Refer which patient?") -> None:
        super().__init__()
        self.services = services
        self.picker_title = title
        self.names: dict[str, str] = {}
        # What the listed matches were searched for, and whether enter was
        # pressed before the matches for the typed text arrived.
        self.listed_for: str | None = None
        self.enter_pending = False

    def compose(self) -> ComposeResult:
        """Search field, matches, keys."""
        with Vertical():
            yield Label(Text(self.picker_title), id="picker-title")
            yield TextInput(placeholder="name, MRN or phone", id="patient-search", compact=True)
            yield OptionList(id="patient-options")
            yield Static(self.KEYS, id="picker-keys")

    def on_mount(self) -> None:
        """Start with the nurse's own caseload."""
        self._search("")

    @on(Input.Changed, "#patient-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._say(self.KEYS)
        self._search(event.value)

    def _say(self, text: str, choose: bool = False) -> None:
        keys = self.query_one("#picker-keys", Static)
        keys.update(Text(text))
        keys.set_class(choose, "choose")

    def _search(self, text: str) -> None:
        patients = self.services.patients
        # Empty: my caseload; typed: everyone's (a colleague's patient can be referred too).
        nurse_id = None if text.strip() else self.services.context.nurse_id
        run_in_background(
            self,
            lambda: patients.list_page(nurse_id=nurse_id, search=text, limit=self.LIMIT),
            lambda rows: self._show(text, rows),
            group="patient-search",
            exclusive=True,
        )

    def _show(self, searched: str, rows) -> None:
        if searched != self.query_one("#patient-search", Input).value:
            return  # an older search; the one for the current text is on its way
        self.listed_for = searched
        options = self.query_one(OptionList)
        options.clear_options()
        self.names = {}
        for row in rows:
            self.names[str(row.id)] = f"{row.family_name}, {row.given_name}"
            options.add_option(Option(patient_prompt(row), id=str(row.id)))
        if not rows:
            options.add_option(Option(Text("No patient matches", style="dim"), disabled=True))
        elif options.option_count:
            options.highlighted = 0
        if self.enter_pending:
            self.enter_pending = False
            if len(rows) == 1:
                self._choose_highlighted()
            elif rows:
                # The nurse could not see these when she pressed enter.
                more = "or more " if len(rows) >= self.LIMIT else ""
                self._say(
                    f"{len(rows)} {more}patients match: ↑↓ to the one you mean, then enter.",
                    choose=True,
                )

    @on(Input.Submitted, "#patient-search")
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value != self.listed_for:
            # Typed faster than the search: decide once the matches are in,
            # never from the list for what was typed before.
            self.enter_pending = True
            return
        self._choose_highlighted()

    def _choose_highlighted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._choose(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        if option_id in self.names:
            self.dismiss((int(option_id), self.names[option_id]))

    def action_move(self, step: int) -> None:
        """Arrows move through the matches while the search field has the focus."""
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)


def patient_prompt(row) -> Text:
    """ "Perez, Maria  MRN 13862088  born 02 Feb 1957": enough to tell two namesakes apart."""
    prompt = Text(shown(f"{row.family_name}, {row.given_name}"))
    prompt.append(f"  MRN {shown(row.mrn)}", style="dim")
    born = f"{row.birth_date:%d %b %Y}" if row.birth_date else "not recorded"
    prompt.append(f"  born {born}", style="dim")
    return prompt


def open_referral_form(
    screen: WorkstationScreen, patient_id: int, patient_name: str, on_sent
) -> None:
    """Load the organisations used before, then open the new-referral form.

    ``on_sent`` gets the ReferralRead, or None when the nurse cancels.
    """
    services = screen.services

    def ask(recent) -> None:
        screen.app.push_screen(
            new_referral_dialog(services, patient_id, patient_name, recent), on_sent
        )

    run_in_background(screen, services.referrals.recent_organisations, ask)
