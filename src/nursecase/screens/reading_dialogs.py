"""Readings by keys: the reading form (v), a patient's own limits, remote monitoring.

- The reading form has one field per measure the patient is monitored for
  (their open enrolments; blood pressure is two fields), or, without an
  enrolment, the usual home readings. Each field shows its unit, the clinic's
  display unit for weight and glucose (``settings.weight_unit`` and
  ``glucose_unit``); the value is sent in that unit and kept as typed
  (``ReadingsService.key`` converts it for the thresholds). Blank fields are
  skipped; everything typed is saved in one transaction, or nothing is, with
  the refused field named in words and focused.
- A patient's own limit for a threshold rule is set like a risk override:
  the rule is picked from its words, the new limit typed in the clinic's
  unit, and a reason is required; it is kept with the nurse's name. The same
  list offers the way back to the clinic's limit.
- Remote-monitoring enrolment: pick a measure (in words), how often readings
  are expected and after how many days without one Today says so; the same
  list stops one.

Every database call runs in a worker (``run_in_background`` or the form's
own); the builders only shape what was already read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from nursecase.config import Settings
from nursecase.domain.codes import Measure, MonitoringFrequency, ThresholdRule
from nursecase.domain.measures import (
    BLOOD_PRESSURE_PARTS,
    DISPLAY_UNITS,
    info,
    number,
    shown_value,
    to_measure_unit,
)
from nursecase.domain.thresholds import DEFAULT_RULES, Comparison, RuleLimit, limit_words
from nursecase.domain.validation import ValidationError, field_words, parse_moment
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.choice_picker import Choice, ChoicePicker, Picked
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import FormDialog, FormField, code_choices
from nursecase.services import Services

if TYPE_CHECKING:
    from nursecase.screens.workstation import WorkstationScreen
    from nursecase.services.readings import (
        AlertRead,
        EnrolmentRead,
        LimitRead,
        ReadingRead,
    )

#: The form's fields for a patient monitored for nothing: the readings a case
#: manager takes or hears on a call most often (heart failure, hypertension,
#: COPD, diabetes).
USUAL_READINGS = (
    Measure.weight,
    Measure.blood_pressure,
    Measure.heart_rate,
    Measure.oxygen_saturation,
    Measure.glucose,
)
#: What a patient can be enrolled for: what home devices send (scale, cuff,
#: pulse oximeter, glucometer, thermometer); a laboratory value is never sent
#: from home.
HOME_MEASURES = (
    Measure.weight,
    Measure.blood_pressure,
    Measure.heart_rate,
    Measure.oxygen_saturation,
    Measure.glucose,
    Measure.temperature,
)
#: UCUM for a display unit whose words are not UCUM ("lb" is "[lb_av]").
UCUM_OF_WORDS = {"lb": "[lb_av]", "°F": "[degF]", "°C": "Cel"}
TAKEN_AT = "taken_at"
#: The limit field's words, by how the rule compares ("Under (%)" for oxygen).
LIMIT_WORDS = {
    Comparison.at_or_above: "At or above",
    Comparison.above: "Over",
    Comparison.below: "Under",
    Comparison.gain_in_a_day: "Gain in a day over",
    Comparison.gain_in_a_week: "Gain in a week over",
}
#: The picker value that takes a rule back to the clinic's limit.
CLINIC_PREFIX = "clinic:"
#: The picker value that stops an enrolment.
STOP_PREFIX = "stop:"


class SmallForm(FormDialog):
    """A form dialog narrower than the others: a few short numbers and a reason."""

    # FormDialog declares CSS_PATH as one file; Textual takes a list as well.
    CSS_PATH = ["form_dialog.tcss", "reading_dialogs.tcss"]  # type: ignore[assignment]


# ------------------------------------------------------------------ units


def display_unit(measure: Measure, settings: Settings) -> str:
    """The unit a measure is shown and typed in here: the clinic's for weight and glucose."""
    if measure is Measure.weight:
        return settings.weight_unit
    if measure is Measure.glucose:
        return settings.glucose_unit
    return info(measure).unit_words


def sent_unit(measure: Measure, unit_words: str) -> str:
    """The UCUM unit a value typed in ``unit_words`` is stored with ("lb" -> "[lb_av]")."""
    if unit_words == info(measure).unit_words:
        return info(measure).unit
    return UCUM_OF_WORDS.get(unit_words, unit_words)


def in_display_unit(measure: Measure, value: float, unit_words: str) -> float:
    """A value in the measure's own unit, converted to ``unit_words``."""
    conversion = DISPLAY_UNITS.get(measure, {}).get(unit_words)
    return conversion(value) if conversion is not None else value


def typed_number(text: str, field: str) -> float:
    """A number as typed (a decimal comma is a point), or ValidationError naming ``field``."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        raise ValidationError(field, "is required")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValidationError(field, "must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(field, "must be a number")
    return value


# ---------------------------------------------------------- the reading form


def form_measures(enrolments: Sequence[EnrolmentRead]) -> list[Measure]:
    """The stored measures the form asks for: the enrolled ones, else the usual readings."""
    wanted = [Measure(enrolment.measure) for enrolment in enrolments] or list(USUAL_READINGS)
    measures: list[Measure] = []
    for measure in wanted:
        parts = BLOOD_PRESSURE_PARTS if measure is Measure.blood_pressure else (measure,)
        measures.extend(part for part in parts if part not in measures)
    return measures


def reading_label(measure: Measure, unit_words: str) -> str:
    """ "Weight (lb)", "Systolic pressure (mmHg)"."""
    return f"{measure.label} ({unit_words})"


def refusal_in_words(
    error: ValidationError, units: Mapping[Measure, str], typed: Mapping[str, str]
) -> ValidationError:
    """The service's refusal of a reading, said with the field's label and the typed unit.

    The service names the measure by its code and checks a possible value in
    the measure's own unit; the nurse typed pounds or mmol/L into "Weight (lb)".
    """
    try:
        measure = Measure(error.field)
    except ValueError:
        return error
    unit_words = units.get(measure)
    if unit_words is None:
        return error
    facts = info(measure)
    if "is not a possible" in error.message:
        lowest = round(in_display_unit(measure, facts.lowest, unit_words), 1)
        highest = round(in_display_unit(measure, facts.highest, unit_words), 1)
        return ValidationError(
            error.field,
            f"{measure.label} {typed.get(error.field, '').strip()} {unit_words} is not possible "
            f"(expected {lowest:g} to {highest:g} {unit_words})",
        )
    if str(error).startswith(field_words(error.field)):
        # "Hba1c must be a number" -> "HbA1c must be a number".
        return ValidationError(error.field, f"{measure.label} {error.message}")
    return error


def reading_dialog(
    services: Services,
    patient_id: int,
    patient_name: str,
    enrolments: Sequence[EnrolmentRead] = (),
) -> SmallForm:
    """The reading form; dismisses with (the ReadingReads saved, the open alerts they raised).

    ``enrolments`` (read beforehand) choose the fields; the time defaults to now.
    """
    settings = services.context.settings
    measures = form_measures(enrolments)
    units = {measure: display_unit(measure, settings) for measure in measures}
    now = services.clock.now()
    now_text = f"{now:%Y-%m-%d %H:%M}"
    fields = [
        FormField(measure.value, reading_label(measure, units[measure]), placeholder=units[measure])
        for measure in measures
    ]
    fields.append(FormField(TAKEN_AT, "Taken (date time)", value=now_text))

    def submit(values: dict[str, str]):
        typed: dict[Measure | str, tuple[float | str, str]] = {
            measure: (values[measure.value].strip(), sent_unit(measure, units[measure]))
            for measure in measures
            if values[measure.value].strip()
        }
        when = values[TAKEN_AT].strip()
        # Left as it was offered: the moment of saving (to the second), not the minute shown.
        taken_at = None if when == now_text else parse_moment(when, TAKEN_AT)
        readings = services.readings
        try:
            saved = readings.key(patient_id, typed, taken_at)
        except ValidationError as error:
            raise refusal_in_words(error, units, values) from None
        moments = {reading.taken_at for reading in saved}
        raised = [
            alert
            for alert in readings.alerts(patient_id, open_only=True)
            if alert.reading_at in moments
        ]
        return saved, raised

    if enrolments:
        monitored = ", ".join(
            f"{Measure(enrolment.measure).label.lower()} "
            f"({MonitoringFrequency(enrolment.frequency).label.lower()})"
            for enrolment in enrolments
        )
        intro = f"Monitored: {monitored}. Leave blank what was not measured."
    else:
        intro = "Not enrolled in remote monitoring. Leave blank what was not measured."
    return SmallForm(
        f"Readings for {patient_name}", fields, submit, submit_label="Save", intro=intro
    )


def saved_words(
    readings: Sequence[ReadingRead], alerts: Sequence[AlertRead], settings: Settings
) -> str:
    """ "Saved: weight 82.6 kg, BP 148/92. On Today: weight +2.6 kg in 5 d"."""
    values = {Measure(reading.measure): reading.measure_value for reading in readings}
    parts: list[str] = []
    if Measure.systolic in values and Measure.diastolic in values:
        systolic, diastolic = values.pop(Measure.systolic), values.pop(Measure.diastolic)
        parts.append(f"BP {number(systolic, 0)}/{number(diastolic, 0)}")
    for measure, value in values.items():
        shown = shown_value(measure, value, display_unit(measure, settings))
        parts.append(f"{measure.label.lower()} {shown}")
    text = "Saved: " + ", ".join(parts)
    if alerts:
        text += ". On Today: " + "; ".join(alert.why for alert in alerts)
    return text


def open_reading_form(
    screen: WorkstationScreen,
    patient_id: int,
    patient_name: str,
    on_saved: Callable[[object], None],
) -> None:
    """Read the patient's enrolments, open the reading form, announce what was saved.

    ``on_saved`` gets the saved readings (never called when the nurse cancels).
    """
    services = screen.services

    def saved(result) -> None:
        if result is None:
            return
        readings, alerts = result
        screen.notify(
            saved_words(readings, alerts, services.context.settings),
            severity="warning" if alerts else "information",
            timeout=8,
        )
        on_saved(readings)

    def ask(enrolments) -> None:
        screen.app.push_screen(
            reading_dialog(services, patient_id, patient_name, enrolments), saved
        )

    reader = services.readings
    run_in_background(screen, lambda: reader.enrolments(patient_id), ask)


# ------------------------------------------------------------ own limits


def _rule_words(rule: ThresholdRule, limit: float, urgent: bool, settings: Settings) -> str:
    unit_words = display_unit(DEFAULT_RULES[rule].measure, settings)
    return limit_words(rule, RuleLimit(limit, urgent), unit_words)


def limit_choices(limits: Iterable[LimitRead], settings: Settings) -> list[Choice]:
    """Each rule by name with its limit in words; a patient's own limit says who set it
    and why (like a risk override), and is followed by the way back to the clinic's."""
    choices: list[Choice] = []
    for limit in limits:
        rule = ThresholdRule(limit.rule)
        words = _rule_words(rule, limit.limit, limit.urgent, settings)
        if limit.reason is None:
            choices.append(Choice(rule.label, rule.value, hint=words))
            continue
        who = f" set by {limit.set_by}" if limit.set_by else ""
        own = f"{words}, own limit{who}: {limit.reason}"
        choices.append(Choice(rule.label, rule.value, hint=own))
        clinic = settings.threshold_limits[rule]
        choices.append(
            Choice(
                f"{rule.label}: back to the clinic's limit",
                f"{CLINIC_PREFIX}{rule.value}",
                hint=_rule_words(rule, clinic.limit, clinic.urgent, settings),
            )
        )
    return choices


def limit_dialog(
    services: Services, patient_id: int, patient_name: str, current: LimitRead
) -> SmallForm:
    """The patient's own limit for one rule, with a required reason; dismisses with the LimitRead.

    The limit is typed in the clinic's unit (pounds, mmol/L) and kept in the
    measure's own unit, as the thresholds read it.
    """
    settings = services.context.settings
    rule = ThresholdRule(current.rule)
    measure = DEFAULT_RULES[rule].measure
    unit_words = display_unit(measure, settings)
    if unit_words == info(measure).unit_words:
        offered = f"{current.limit:g}"
    else:
        offered = number(in_display_unit(measure, current.limit, unit_words), 1)
    now = _rule_words(rule, current.limit, current.urgent, settings)
    if current.reason is None:
        basis = f"Now the clinic's limit: {now}."
    else:
        who = f", set by {current.set_by}" if current.set_by else ""
        basis = f"Now this patient's own: {now}{who}: {current.reason}."
    fields = [
        FormField(
            "limit", f"{LIMIT_WORDS[DEFAULT_RULES[rule].comparison]} ({unit_words})", value=offered
        ),
        FormField(
            "reason", "Reason (required)", placeholder="why this patient needs their own limit"
        ),
    ]

    def submit(values: dict[str, str]):
        typed = values["limit"].strip()
        if typed == offered:
            limit = current.limit  # unchanged: not rounded through the display unit
        else:
            limit = to_measure_unit(measure, typed_number(typed, "limit"), unit_words, "limit")
        return services.readings.set_limit(patient_id, rule, limit, values["reason"])

    intro = (
        f"{basis} Your reason is kept with the limit, with your name; the limit "
        "applies to readings that arrive from now on."
    )
    return SmallForm(
        f"Own limit for {patient_name}: {rule.label.lower()}",
        fields,
        submit,
        submit_label="Set",
        intro=intro,
    )


def open_limits(
    screen: WorkstationScreen,
    patient_id: int,
    patient_name: str,
    on_changed: Callable[[str], None],
) -> None:
    """Pick a rule and give the patient their own limit, or go back to the clinic's.

    ``on_changed`` gets a sentence saying what changed (never called on cancel).
    """
    services = screen.services
    settings = services.context.settings
    readings = services.readings

    def picked(limits: list[LimitRead], choice: Picked | None) -> None:
        if choice is None or choice.value is None:
            return
        if choice.value.startswith(CLINIC_PREFIX):
            back_to_clinic(ThresholdRule(choice.value.removeprefix(CLINIC_PREFIX)))
            return
        current = next(limit for limit in limits if limit.rule == choice.value)
        screen.app.push_screen(
            limit_dialog(services, patient_id, patient_name, current), limit_saved
        )

    def limit_saved(saved: LimitRead | None) -> None:
        if saved is not None:
            rule = ThresholdRule(saved.rule)
            on_changed(f"Own limit: {_rule_words(rule, saved.limit, saved.urgent, settings)}")

    def back_to_clinic(rule: ThresholdRule) -> None:
        clinic = settings.threshold_limits[rule]
        words = _rule_words(rule, clinic.limit, clinic.urgent, settings)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            run_in_background(
                screen,
                lambda: readings.clear_limit(patient_id, rule),
                lambda _none: on_changed(f"Back to the clinic's limit: {words}"),
                lambda error: screen.notify(user_message(error), severity="error"),
            )

        screen.app.push_screen(
            ConfirmDialog(
                f"{rule.label} of {patient_name}: back to the clinic's limit, {words}?",
                yes="the clinic's limit",
                no="keep the patient's own",
            ),
            answered,
        )

    def show(limits: list[LimitRead]) -> None:
        screen.app.push_screen(
            ChoicePicker(
                f"Limits for {patient_name}",
                limit_choices(limits, settings),
                intro=(
                    "The clinic's limits, unless marked as the patient's own. An own limit "
                    "needs a reason, kept with your name."
                ),
            ),
            lambda choice: picked(limits, choice),
        )

    run_in_background(screen, lambda: readings.limits(patient_id), show)


# ------------------------------------------------------ remote monitoring


def enrolment_choices(enrolments: Sequence[EnrolmentRead]) -> list[Choice]:
    """The measures not monitored yet (to enrol), then the monitored ones (to stop)."""
    monitored = {Measure(enrolment.measure) for enrolment in enrolments}
    choices = [
        Choice(f"Enrol: {measure.label}", measure.value)
        for measure in HOME_MEASURES
        if measure not in monitored
    ]
    for enrolment in enrolments:
        measure = Measure(enrolment.measure)
        how_often = MonitoringFrequency(enrolment.frequency).label.lower()
        choices.append(
            Choice(
                f"Stop: {measure.label}",
                f"{STOP_PREFIX}{enrolment.id}",
                hint=(
                    f"{how_often} since {enrolment.started_on.day} "
                    f"{enrolment.started_on:%b %Y}, on Today after {enrolment.gap_days} d "
                    "without a reading"
                ),
            )
        )
    return choices


def enrolment_dialog(
    services: Services, patient_id: int, patient_name: str, measure: Measure
) -> SmallForm:
    """Enrol the patient for one measure; dismisses with the EnrolmentRead."""
    gap_days = services.context.settings.monitoring_gap_days
    fields = [
        FormField(
            "frequency",
            "Expected",
            "choice",
            MonitoringFrequency.daily.value,
            choices=code_choices(MonitoringFrequency),
        ),
        FormField("gap_days", "Days without a reading", value=str(gap_days)),
    ]

    def submit(values: dict[str, str]):
        return services.readings.enrol(patient_id, measure, values["frequency"], values["gap_days"])

    name = measure.label.lower()
    intro = (
        f'When no {name} arrives for that many days, Today says "no {name} for '
        f'{gap_days} d". Starts today.'
    )
    return SmallForm(
        f"Monitor {name} for {patient_name}", fields, submit, submit_label="Enrol", intro=intro
    )


def open_monitoring(
    screen: WorkstationScreen,
    patient_id: int,
    patient_name: str,
    on_changed: Callable[[str], None],
) -> None:
    """Enrol the patient for a measure, or stop one; ``on_changed`` gets what changed."""
    services = screen.services
    readings = services.readings

    def picked(enrolments: list[EnrolmentRead], choice: Picked | None) -> None:
        if choice is None or choice.value is None:
            return
        if choice.value.startswith(STOP_PREFIX):
            enrolment_id = int(choice.value.removeprefix(STOP_PREFIX))
            stop(next(item for item in enrolments if item.id == enrolment_id))
            return
        screen.app.push_screen(
            enrolment_dialog(services, patient_id, patient_name, Measure(choice.value)),
            enrolled,
        )

    def enrolled(saved: EnrolmentRead | None) -> None:
        if saved is not None:
            name = Measure(saved.measure).label.lower()
            how_often = MonitoringFrequency(saved.frequency).label.lower()
            on_changed(f"Monitoring {name}, {how_often}")

    def stop(enrolment: EnrolmentRead) -> None:
        name = Measure(enrolment.measure).label.lower()

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            run_in_background(
                screen,
                lambda: readings.end_enrolment(enrolment.id),
                lambda _ended: on_changed(f"Stopped monitoring {name}"),
                lambda error: screen.notify(user_message(error), severity="error"),
            )

        screen.app.push_screen(
            ConfirmDialog(f"Stop remote monitoring of {name} for {patient_name}?"), answered
        )

    def show(enrolments: list[EnrolmentRead]) -> None:
        if enrolments:
            monitored = ", ".join(
                Measure(enrolment.measure).label.lower() for enrolment in enrolments
            )
            intro = f"Monitored now: {monitored}."
        else:
            intro = "Not monitored for any measure yet."
        screen.app.push_screen(
            ChoicePicker(
                f"Remote monitoring of {patient_name}",
                enrolment_choices(enrolments),
                intro=intro,
            ),
            lambda choice: picked(enrolments, choice),
        )

    run_in_background(screen, lambda: readings.enrolments(patient_id), show)


__all__ = [
    "HOME_MEASURES",
    "USUAL_READINGS",
    "display_unit",
    "enrolment_choices",
    "enrolment_dialog",
    "form_measures",
    "limit_choices",
    "limit_dialog",
    "open_limits",
    "open_monitoring",
    "open_reading_form",
    "reading_dialog",
    "saved_words",
    "sent_unit",
]
