"""What the patient detail screen shows, as text and table rows built from a Chart.

Pure functions of the chart read model and today's date, so that the screen
only places them and the tests can check the wording without a terminal.
Patient free text is always wrapped in Text (never markup).
"""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text

from nursecase.domain.clocks import CCM_COMPLEX_FIRST_MINUTES, CCM_STANDARD_FIRST_MINUTES
from nursecase.domain.codes import ACTIVE_CLINICAL_STATUSES, TaskStatus
from nursecase.domain.referral_states import OPEN_STATUSES as OPEN_REFERRAL_STATUSES
from nursecase.domain.tcm import TcmStepState
from nursecase.screens.formatting import (
    days_ago,
    due_short,
    due_text,
    progress_bar,
    risk_badge,
    sparkline,
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
    who.append(f"{patient.family_name}, {patient.given_name}", style="bold")
    age = f"{patient.age} y" if patient.age is not None else "age ?"
    who.append(f"  MRN {patient.mrn}  {age}  {patient.sex}  ☎ {patient.phone or '-'}")
    if patient.preferred_language:
        who.append(f"  speaks {patient.preferred_language}")
    standing = Text("Risk ")
    standing.append_text(risk_badge(patient.risk_tier))
    if patient.risk_basis:
        standing.append(f" ({patient.risk_basis})")
    episode = chart.episode.status if chart.episode is not None else "none"
    standing.append(f"  Episode {episode}  Next contact ")
    standing.append_text(due_text(patient.next_contact_due, today))
    standing.append(f"  Nurse {patient.nurse_display_name or patient.nurse_username or '-'}")
    lines = [who, standing, flags(chart), ccm_line(chart)]
    text = Text("\n").join(lines)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def flags(chart) -> Text:
    """Safety flags and open TCM clocks, most urgent first."""
    line = Text()
    for flag in chart.safety_flags:
        line.append(
            f" ⚠ PHQ-9 item 9 ({flag.performed_at:%d %b}): follow up ", style="bold white on red"
        )
        line.append("  ")
    for transition in chart.open_transitions:
        # "TCM: contact met Thu 26 Nov; visit day 3 of 14" (nursecase.domain.tcm).
        status = transition.clock
        missed = any(step.state is TcmStepState.missed for step in status.steps)
        line.append(status.describe(), style="bold red" if missed else "bold yellow")
        line.append("  ")
    if not line:
        line.append("No safety flags, no open TCM clock", style="dim")
    return line


def ccm_line(chart) -> Text:
    """CCM minutes this month as a bar toward 20, the codes reached and the complex threshold."""
    ccm = chart.ccm
    line = Text(f"CCM this month {ccm.minutes} min ")
    line.append(progress_bar(ccm.minutes, CCM_STANDARD_FIRST_MINUTES, 20), style="cyan")
    reached = ", ".join(code if units == 1 else f"{code} x{units}" for code, units in ccm.codes)
    line.append(f" {reached}" if reached else f" {CCM_STANDARD_FIRST_MINUTES} min for 99490")
    if ccm.next_code is not None and ccm.codes:
        line.append(f"; {ccm.minutes_to_next} min to {ccm.next_code}")
    line.append(f"  (complex CCM from {CCM_COMPLEX_FIRST_MINUTES} min)", style="dim")
    return line


def summary(chart, today: date) -> Text:
    """The Summary tab: the latest of everything and what is due next."""
    parts: list[Text] = []

    def section(title: str, lines: list[Text], empty: str) -> None:
        parts.append(Text(title, style="bold underline"))
        parts.extend(lines or [Text(empty, style="dim")])
        parts.append(Text(""))

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
                f"{contact.occurred_at:%d %b %H:%M}  {contact.mode}, {contact.with_whom}: "
                f"{contact.outcome}, {contact.minutes} min"
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
                f"{referral.service_type} to {referral.receiving_organisation}: "
                f"{referral.status} {referral.days_in_status} d"
            )
            for referral in chart.referrals
            if referral.status in OPEN_REFERRAL_STATUSES
        ],
        "No open referrals",
    )
    # One Text, not a Group of them: it is laid out in one pass when painted.
    return Text("\n").join(parts)


def contact_rows(chart) -> list[tuple]:
    """The contact log, newest first: when, mode, with, outcome, minutes, note, by."""
    return [
        (
            f"{contact.occurred_at:%Y-%m-%d %H:%M}",
            contact.mode,
            contact.with_whom,
            contact.outcome,
            str(contact.minutes),
            Text(contact.note or ""),
            contact.author_username or "",
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
        author = f"  by {assessment.author_username}" if assessment.author_username else ""
        text.append(
            f"{assessment.performed_at:%Y-%m-%d %H:%M}  {assessment.summary}"
            f"  [{assessment.variant}]{author}\n"
        )
    return text


def condition_rows(chart) -> list[tuple]:
    """Problem list: description, code, clinical status, onset."""
    return [
        (
            Text(condition.description),
            condition.code or "",
            condition.clinical_status,
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
            medication.status,
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
        (Text(member.name), member.role, Text(member.organisation or ""), member.phone or "")
        for member in chart.care_team
    ]


def _task_status_label(code: str) -> str:
    """ "Requested", "Missed" (a TCM step whose deadline passed); an unknown code as it is."""
    try:
        return TaskStatus(code).label
    except ValueError:
        return code


def task_rows(chart, today: date) -> list[tuple]:
    """Tasks, open first: due, description, priority, status, source, nurse, note."""
    return [
        (
            due_short(task.due_date, today) if task.is_open else Text(f"{task.due_date:%d %b}"),
            Text(task.description),
            task.priority,
            _task_status_label(task.status),
            task.source,
            task.nurse_username or "",
            Text(task.snooze_reason or ""),
        )
        for task in chart.tasks
    ]


def timeline_rows(chart) -> list[tuple]:
    """Every dated event, newest first."""
    return [(_moment(event.when), event.kind, Text(event.text)) for event in chart.timeline]


def _moment(when: datetime) -> str:
    if when.hour == 0 and when.minute == 0:
        return f"{when:%Y-%m-%d}"
    return f"{when:%Y-%m-%d %H:%M}"
