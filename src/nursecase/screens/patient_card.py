"""The rounds card: a patient at a glance beside the worklist."""

from __future__ import annotations

from datetime import date

from rich.console import Group, RenderableType
from rich.text import Text

from nursecase.domain.codes import ContactMode, ContactOutcome, ReferralStatus, label_of
from nursecase.domain.flags import Flag
from nursecase.screens.formatting import (
    FLAG_STYLES,
    due_text,
    flag_badges,
    risk_badge,
    terminal_safe,
)


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def render_summary(summary, today: date, timer_minutes: int | None = None) -> RenderableType:
    """Who, risk, next contact, CCM and the readings' line; problems, recent contacts,
    open tasks and referrals, latest scores."""
    header = Text()
    header.append(summary.display_name, style="bold")
    header.append(f"\nMRN {summary.mrn}   {summary.age if summary.age is not None else '?'} y   ")
    header.append_text(risk_badge(summary.risk_tier))
    header.append(f"\n☎ {summary.phone or '-'}   next contact ")
    header.append_text(due_text(summary.next_contact_due, today))
    if summary.ccm is not None:
        # The same words as the patient header: the enrolled programme's codes only.
        enrolled = summary.ccm.programme is not None
        header.append(f"\n{summary.ccm.describe(today)}", style="" if enrolled else "dim")
    if summary.readings_line:
        # The weight's week and the latest blood pressure, in the clinic's units.
        header.append(f"\n{summary.readings_line}")
    if timer_minutes is not None:
        header.append(f"\n⏱ open {timer_minutes} min", style="dim")
    if summary.flags:
        header.append("\n")
        header.append_text(flag_badges(summary.flags))
    if summary.stay:
        # Where she is: "In hospital since 05 Dec, Mercy General" (the facility is stored text).
        header.append(f"\n{summary.stay}", style=FLAG_STYLES[Flag.in_hospital])

    parts: list[RenderableType] = [header, Text("")]

    parts.append(_heading("Problems"))
    parts.extend(Text(f"• {condition}") for condition in summary.conditions)
    if not summary.conditions:
        parts.append(Text("none recorded", style="dim"))

    parts.append(_heading("Last contacts"))
    for contact in summary.contacts:
        parts.append(
            Text(
                f"{contact.occurred_at:%d %b} {label_of(ContactMode, contact.mode)}, "
                f"{label_of(ContactOutcome, contact.outcome).lower()}, {contact.minutes} min"
            )
        )
    if not summary.contacts:
        parts.append(Text("none yet", style="dim"))

    parts.append(_heading("Open tasks"))
    for task in summary.tasks:
        line = Text()
        line.append_text(due_text(task.due_date, today))
        line.append(f"  {task.description}")
        parts.append(line)
    if not summary.tasks:
        parts.append(Text("none", style="dim"))

    parts.append(_heading("Open referrals"))
    for referral in summary.referrals:
        status = label_of(ReferralStatus, referral.status).lower()
        parts.append(Text(f"{referral.service}: {status}, {referral.days_in_status} d"))
    if not summary.referrals:
        parts.append(Text("none", style="dim"))

    parts.append(_heading("Latest scores"))
    for score in summary.scores:
        parts.append(Text(f"{score.summary}  ({score.performed_on:%d %b})"))
    if not summary.scores:
        parts.append(Text("none", style="dim"))
    # Names, conditions and task wording are stored text: shown, never obeyed.
    return Group(*(terminal_safe(part) if isinstance(part, Text) else part for part in parts))
