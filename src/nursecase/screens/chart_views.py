"""What the patient detail screen shows, as text and table rows built from a Chart.

Pure functions of the chart read model and today's date, so that the screen
only places them and the tests can check the wording without a terminal.
Patient free text is always wrapped in Text (never markup).
"""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text

from nursecase.domain.codes import (
    ACTIVE_CLINICAL_STATUSES,
    CareTeamRole,
    ConditionClinicalStatus,
    ContactMode,
    ContactOutcome,
    ContactWith,
    EpisodeStatus,
    MedicationStatus,
    ReferralStatus,
    ServiceType,
    Sex,
    TaskPriority,
    TaskSource,
    TaskStatus,
    label_of,
)
from nursecase.domain.encounters import is_hospital_stay
from nursecase.domain.flags import Flag
from nursecase.domain.referral_states import OPEN_STATUSES as OPEN_REFERRAL_STATUSES
from nursecase.domain.tcm import TcmStepState
from nursecase.domain.wording import initial_and_surname
from nursecase.screens.formatting import (
    FLAG_STYLES,
    days_ago,
    due_short,
    due_text,
    flag_badges,
    progress_bar,
    risk_badge,
    shown,
    sparkline,
    terminal_safe,
    variant_words,
)

#: How many entries each summary section lists.
SUMMARY_ENTRIES = 3


#: Lines of the patient header (its widget has this fixed height, plus a rule).
HEADER_LINES = 4


def header(chart, today: date) -> Text:
    """Four lines: who; where they stand; safety flags and clocks; CCM minutes.

    Each line is cut with an ellipsis rather than wrapped, so the header
    always takes the same height (a repaint, never a layout of the screen).
    """
    patient = chart.patient
    who = Text()
    # Shown before Rich sees it: Rich drops a BEL or a CR silently; the nurse sees "␇".
    who.append(shown(f"{patient.family_name}, {patient.given_name}"), style="bold")
    age = f"{patient.age} y" if patient.age is not None else "age ?"
    sex = label_of(Sex, patient.sex).lower()
    if patient.sex in (Sex.unknown, Sex.other):
        sex = f"sex {sex}"  # "76 y  unknown" would not say what is unknown
    who.append(f"  MRN {patient.mrn}  {age}  {sex}  ☎ {patient.phone or '-'}")
    if patient.preferred_language:
        who.append(f"  speaks {patient.preferred_language}")
    standing = Text("Risk ")
    standing.append_text(risk_line(chart, today))
    episode = (
        label_of(EpisodeStatus, chart.episode.status).lower()
        if chart.episode is not None
        else "none"
    )
    standing.append(f"  Episode {episode}  Next contact ")
    stay = chart.current_encounter
    if stay is not None and is_hospital_stay(stay.encounter_class) and patient.next_contact_due:
        # The cadence waits while she is in a hospital bed (services.worklist): the
        # date is kept, never shown late in red, and due again at discharge.
        standing.append(f"{patient.next_contact_due:%d %b}, paused", style="dim")
    else:
        standing.append_text(due_text(patient.next_contact_due, today))
    standing.append(f"  Nurse {patient.nurse_display_name or patient.nurse_username or '-'}")
    lines = [who, standing, flags(chart), ccm_line(chart, today)]
    text = terminal_safe(Text("\n").join(lines))
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def flags(chart) -> Text:
    """The patient's flags in the shared words, then what each is about, most urgent first.

    A safety flag is said in words with what clears it: "SAFETY  PHQ-9 item 9
    answered 2 on 5 Dec: record a safety check" or "... C-SSRS high risk on
    5 Dec: check safety again" (only a safety check clears either). OUT OF
    RANGE is said with each urgent reading's why ("BP 184/121 high"); IN
    HOSPITAL with where she is ("In hospital since 05 Dec, Mercy General").
    """
    line = flag_badges(chart.flags)
    for signal in chart.safety_flags:
        line.append(f"⚠ {signal.what}: {signal.action}", style="bold red")
        line.append("  ")
    for alert in chart.open_alerts:
        if alert.urgent:
            line.append(shown(alert.why), style=FLAG_STYLES[Flag.out_of_range])
            line.append("  ")
    for transition in chart.open_transitions:
        # "TCM: contact met Thu 26 Nov; visit day 3 of 14" (nursecase.domain.tcm).
        status = transition.clock
        missed = any(step.state is TcmStepState.missed for step in status.steps)
        line.append(status.describe(), style="bold red" if missed else "bold yellow")
        line.append("  ")
    if chart.current_encounter is not None:
        # The facility is stored text from the hospital's feed: shown, never obeyed.
        line.append(shown(chart.stay_words), style=FLAG_STYLES[Flag.in_hospital])
        line.append("  ")
    if not line:
        line.append("No flags", style="dim")
    return line


#: What the header asks of the nurse when a LACE contradicts the tier (R: the risk key).
RISK_PROMPT = "R to decide"


def risk_line(chart, today: date) -> Text:
    """The tier with its basis; a LACE that contradicts it is said, never left bare.

    "high (LACE 12, 18 Nov)", "high, set by A. Moreno: lives alone; LACE 9",
    "moderate, no score or reason yet", or "low (LACE 3, 1 Nov); LACE 14 on 5 Dec
    suggests high: R to decide".
    """
    risk = chart.risk
    line = risk_badge(str(risk.tier))
    line.append(risk.basis_words(today, with_suggestion=False))
    suggestion = risk.suggestion(today)
    if suggestion is not None:
        line.append("; ")
        line.append(f"{suggestion}: {RISK_PROMPT}", style="bold yellow")
    return line


#: Cells of the bar toward the next CCM code.
CCM_BAR_CELLS = 10


def ccm_line(chart, today: date | None = None) -> Text:
    """The CCM programme, this month's minutes, its codes and what the next one needs.

    "Standard CCM since 1 Oct · 47 min this month: 99490, 99439 · 13 min to a
    second 99439" and a bar toward that next code; a patient not enrolled shows
    minutes only ("Not enrolled in CCM · 27 min this month"), never a code.
    A patient on remote monitoring has the RPM month after it, in words (and
    no bar: the line has room for one of them).
    """
    month = chart.ccm
    line = Text(month.describe(today))
    progress = month.progress
    rpm = chart.rpm
    if progress is not None and progress.next_threshold is not None and rpm is None:
        # With remote monitoring beside it the words say the CCM progress and the
        # room goes to the RPM month instead of the bar.
        line.append("  ")
        line.append(
            progress_bar(
                progress.minutes - progress.previous_threshold,
                progress.next_threshold - progress.previous_threshold,
                CCM_BAR_CELLS,
            ),
            style="cyan",
        )
    elif progress is None:
        line.stylize("dim")
    if rpm is not None:
        # Remote monitoring beside it (issue 20): "RPM: 12 d of readings, 25 min ·
        # 99445, 99457 · 4 more days of readings to 99454".
        line.append("  ")
        line.append(" · ".join(part for part in (rpm.describe(), rpm.next_step) if part))
    return line


def summary(chart, today: date) -> Text:
    """The Summary tab: the latest of everything and what is due next."""
    parts: list[Text] = []

    def section(title: str, lines: list[Text], empty: str) -> None:
        parts.append(Text(title, style="bold underline"))
        parts.extend(lines or [Text(empty, style="dim")])
        parts.append(Text(""))

    stay = chart.current_encounter
    if stay is not None:
        # "In hospital since 05 Dec, Mercy General (inpatient stay)" and the
        # hospital's first diagnosis, in its words.
        stay_lines = [Text(f"{shown(chart.stay_words)} ({stay.encounter_class.label.lower()})")]
        if stay.diagnoses:
            stay_lines.append(Text(shown(stay.diagnoses[0].display)))
        section("In hospital", stay_lines, "")
    due_lines = []
    for item in chart.due_next[: SUMMARY_ENTRIES + 2]:
        line = due_short(item.due, today)
        line.append(f"  {item.what}")
        due_lines.append(line)
    section("Due next", due_lines, "Nothing due")
    section(
        "Last contacts",
        [
            Text(
                f"{contact.occurred_at:%d %b %H:%M}  {label_of(ContactMode, contact.mode)}, "
                f"{label_of(ContactWith, contact.with_whom).lower()}: "
                f"{label_of(ContactOutcome, contact.outcome).lower()}, {contact.minutes} min"
            )
            for contact in chart.contacts[:SUMMARY_ENTRIES]
        ],
        "No contacts logged",
    )
    section(
        "Latest scores",
        [
            Text(
                f"{history.short_name:8} {history.latest.summary}  "
                f"({history.latest.performed_at:%d %b %Y})  "
                f"{sparkline(history.trend, history.minimum, history.maximum)}"
            )
            for history in chart.instruments
        ],
        "No assessments",
    )
    section(
        "Active problems",
        [
            Text(condition.description)
            for condition in chart.conditions
            if condition.clinical_status in ACTIVE_CLINICAL_STATUSES
        ],
        "No active problems",
    )
    section(
        "Open referrals",
        [
            Text(
                f"{label_of(ServiceType, referral.service_type)} to "
                f"{referral.receiving_organisation}: "
                f"{label_of(ReferralStatus, referral.status).lower()} {referral.days_in_status} d"
            )
            for referral in chart.referrals
            if referral.status in OPEN_REFERRAL_STATUSES
        ],
        "No open referrals",
    )
    # One Text, not a Group of them: it is laid out in one pass when painted.
    return terminal_safe(Text("\n").join(parts))


def contact_rows(chart) -> list[tuple]:
    """The contact log, newest first: when, mode, with, outcome, minutes, note, by."""
    return [
        (
            f"{contact.occurred_at:%Y-%m-%d %H:%M}",
            label_of(ContactMode, contact.mode),
            label_of(ContactWith, contact.with_whom),
            label_of(ContactOutcome, contact.outcome),
            str(contact.minutes),
            Text(contact.note or ""),
            nurse_short(contact.author_name, contact.author_username),
        )
        for contact in chart.contacts
    ]


def instrument_rows(chart) -> list[tuple]:
    """One row per instrument: name, latest score and band, when, trend, how many."""
    return [
        (
            history.short_name,
            str(history.latest.total),
            history.latest.band,
            f"{history.latest.performed_at:%Y-%m-%d}",
            sparkline(history.trend, history.minimum, history.maximum),
            str(len(history.assessments)),
        )
        for history in chart.instruments
    ]


def assessment_history(history) -> Text:
    """Every assessment of one instrument, newest first."""
    text = Text(f"{history.name}\n", style="bold")
    for assessment in history.assessments:
        author = f"  by {assessment.author_name}" if assessment.author_name else ""
        text.append(
            f"{assessment.performed_at:%Y-%m-%d %H:%M}  {assessment.summary}"
            f"{variant_words(assessment.variant)}{author}\n"
        )
    return text


def condition_rows(chart) -> list[tuple]:
    """Problem list: description, code, clinical status, onset."""
    return [
        (
            Text(condition.description),
            condition.code or "",
            label_of(ConditionClinicalStatus, condition.clinical_status),
            condition.onset_date.isoformat() if condition.onset_date else "",
        )
        for condition in chart.conditions
    ]


def medication_rows(chart) -> list[tuple]:
    """Medication list: name, dose, route, frequency, status, last reconciled."""
    return [
        (
            Text(medication.name),
            medication.dose or "",
            medication.route or "",
            medication.frequency or "",
            label_of(MedicationStatus, medication.status),
            medication.last_reconciled.isoformat() if medication.last_reconciled else "never",
        )
        for medication in chart.medications
    ]


def reconciliation_line(chart, today: date) -> Text:
    """When the medication list was last reconciled."""
    last = chart.last_reconciled
    if last is None:
        if not chart.current_medications:
            return Text("No current medications", style="dim")
        return Text("Not every current medication is reconciled · m reconciles", style="yellow")
    age = days_ago(last, today)
    when = "today" if age == "today" else f"{age} ago"
    return Text(f"Last reconciled {last:%d %b %Y} ({when}) · m reconciles")


def care_team_rows(chart) -> list[tuple]:
    """Care team: name, role, organisation, phone."""
    return [
        (
            Text(member.name),
            label_of(CareTeamRole, member.role),
            Text(member.organisation or ""),
            member.phone or "",
        )
        for member in chart.care_team
    ]


def _task_status_label(code: str) -> str:
    """ "Requested", "Missed" (a TCM step whose deadline passed); an unknown code as it is."""
    return label_of(TaskStatus, code)


def task_rows(chart, today: date) -> list[tuple]:
    """Tasks, open first: due, description, priority, status, source, nurse, note."""
    return [
        (
            due_short(task.due_date, today) if task.is_open else Text(f"{task.due_date:%d %b}"),
            Text(task.description),
            label_of(TaskPriority, task.priority),
            _task_status_label(task.status),
            label_of(TaskSource, task.source),
            nurse_short(task.nurse_name, task.nurse_username),
            Text(task.snooze_reason or ""),
        )
        for task in chart.tasks
    ]


def contact_reading(contact) -> tuple[str, str]:
    """A contact for the read view: what it was on one line, and its whole note.

    ("Contact on 29 Nov 2026 15:00 · Phone with patient · Reached · 20 min ·
    by Alice Moreno", the note.)
    """
    parts = [
        f"Contact on {contact.occurred_at:%d %b %Y %H:%M}",
        f"{label_of(ContactMode, contact.mode)} with "
        f"{label_of(ContactWith, contact.with_whom).lower()}",
        label_of(ContactOutcome, contact.outcome),
        f"{contact.minutes} min",
    ]
    author = contact.author_name or contact.author_username
    if author:
        parts.append(f"by {author}")
    return " · ".join(parts), contact.note or ""


def task_reading(task) -> tuple[str, str]:
    """A task for the read view: its due date, status, priority and source on one line,
    and its whole text (with why it was snoozed, when it was)."""
    parts = [
        f"Task due {task.due_date:%d %b %Y}",
        _task_status_label(task.status),
        f"{label_of(TaskPriority, task.priority)} priority",
        f"source: {label_of(TaskSource, task.source).lower()}",
    ]
    if task.done_at is not None:
        parts.append(f"done {task.done_at:%d %b %Y %H:%M}")
    nurse = task.nurse_name or task.nurse_username
    if nurse:
        parts.append(f"for {nurse}")
    body = task.description
    if task.snooze_reason:
        body += f"\n\nSnoozed: {task.snooze_reason}"
    return " · ".join(parts), body


def timeline_rows(chart) -> list[tuple]:
    """Every dated event, newest first."""
    return [
        (_moment(event.when), event.kind.capitalize(), Text(event.text)) for event in chart.timeline
    ]


def nurse_short(display_name: str | None, username: str | None) -> str:
    """A nurse in a table column: "A. Moreno" (the username only when no name is known)."""
    if display_name:
        return initial_and_surname(display_name)
    return username or ""


def _moment(when: datetime) -> str:
    if when.hour == 0 and when.minute == 0:
        return f"{when:%Y-%m-%d}"
    return f"{when:%Y-%m-%d %H:%M}"
