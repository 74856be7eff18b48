"""What the referral queue shows: its filter, its groups, its rows and the detail pane.

Pure presentation over the services' read models; no database, no widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nursecase.domain.codes import ContactOutcome, ReferralPriority, ReferralStatus, ServiceType
from nursecase.domain.wording import cut_at_word
from nursecase.screens.formatting import plain, terminal_safe

if TYPE_CHECKING:
    from nursecase.services.referrals import ReferralRead

#: How many referrals the queue shows at most; a filter narrows a longer list.
QUEUE_LIMIT = 1000

PRIORITY_STYLES = {"stat": "bold red", "asap": "red", "urgent": "yellow", "routine": ""}

# FHIR R4 RequestPriority (http://hl7.org/fhir/R4/valueset-request-priority.html),
# least to most pressing. Its definitions: routine "The request has normal
# priority"; urgent "The request should be actioned promptly - higher priority
# than routine"; asap "The request should be actioned as soon as possible -
# higher priority than urgent"; stat "The request should be actioned
# immediately - highest possible priority. E.g. an emergency." Every list,
# picker and sort of priorities on these screens follows this order (a sort
# by the code's letters would put asap first and urgent last).
PRIORITY_ORDER: tuple[ReferralPriority, ...] = (
    ReferralPriority.routine,
    ReferralPriority.urgent,
    ReferralPriority.asap,
    ReferralPriority.stat,
)
#: Each priority's meaning in a nurse's words, from the FHIR definitions above.
PRIORITY_MEANINGS = {
    ReferralPriority.routine: "normal priority",
    ReferralPriority.urgent: "act promptly, before routine",
    ReferralPriority.asap: "as soon as possible, sooner than urgent",
    ReferralPriority.stat: "at once, the highest (an emergency)",
}

# FHIR R4 TaskStatus (http://hl7.org/fhir/R4/valueset-task-status.html), said
# as a nurse would. "Ready" is FHIR's "Task is ready to be performed, but no
# action has yet been taken", used where the service's acceptance is a given:
# nobody has to agree to it, and nothing has been done yet.
STATUS_MEANINGS = {
    ReferralStatus.draft: "not sent yet",
    ReferralStatus.requested: "sent, waiting for the service to answer",
    ReferralStatus.received: "the service has it and is deciding",
    ReferralStatus.accepted: "the service agreed, not started yet",
    ReferralStatus.rejected: "the service declined it",
    ReferralStatus.ready: "arranged without asking; nothing done yet",
    ReferralStatus.cancelled: "stopped before it was done",
    ReferralStatus.in_progress: "the service has started",
    ReferralStatus.on_hold: "started, paused for now",
    ReferralStatus.failed: "tried, but could not be done",
    ReferralStatus.completed: "done",
    ReferralStatus.entered_in_error: "recorded by mistake",
}

#: The "status" filter's special values: the open statuses (default) or every status.
OPEN = "open"
EVERY_STATUS = "all"

#: Group-by choices: (value, label).
GROUPINGS = (
    ("", "No grouping"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("service", "Service"),
    ("organisation", "Receiving organisation"),
)


@dataclass(frozen=True)
class QueueFilter:
    """Which referrals the queue lists, and how it groups them."""

    everyone: bool = False
    status: str = OPEN
    priority: str = ""
    service_type: str = ""
    organisation: str = ""
    group_by: str = ""

    def with_changes(self, **changes) -> QueueFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def query(self, nurse_id: int | None) -> dict:
        """The keyword arguments of ``ReferralService.queue`` for this filter."""
        statuses = None
        if self.status not in (OPEN, EVERY_STATUS):
            statuses = [self.status]
        return {
            "nurse_id": None if self.everyone else nurse_id,
            "statuses": statuses,
            "open_only": self.status == OPEN,
            "priority": self.priority or None,
            "service_type": self.service_type or None,
            "receiving_organisation": self.organisation or None,
            "limit": QUEUE_LIMIT,
        }

    def describe(self) -> str:
        """The filter in words, for the line above the table."""
        parts = ["all nurses" if self.everyone else "mine"]
        if self.status == OPEN:
            parts.append("open")
        elif self.status == EVERY_STATUS:
            parts.append("every status")
        else:
            parts.append(ReferralStatus(self.status).label.lower())
        if self.priority:
            parts.append(ReferralPriority(self.priority).label.lower())
        if self.service_type:
            parts.append(ServiceType(self.service_type).label.lower())
        if self.organisation:
            parts.append(f"to {self.organisation}")
        text = " · ".join(parts)
        if self.group_by:
            text += f" · grouped by {dict(GROUPINGS)[self.group_by].lower()}"
        return text

    @property
    def narrowed(self) -> bool:
        """True when something beyond mine/everyone and open is chosen."""
        return bool(self.status != OPEN or self.priority or self.service_type or self.organisation)


def status_label(code: str) -> str:
    """ "In progress" for "in-progress"."""
    return ReferralStatus(code).label


def status_meaning(code: str) -> str:
    """What a status means, in a few words ("arranged without asking; nothing done yet")."""
    return STATUS_MEANINGS[ReferralStatus(code)]


def priority_label(code: str) -> str:
    """ "ASAP" for "asap"."""
    return ReferralPriority(code).label


def priority_rank(code: str) -> int:
    """0 for routine up to 3 for stat (FHIR order); unknown codes after stat."""
    ranks = {str(level): rank for rank, level in enumerate(PRIORITY_ORDER)}
    return ranks.get(code, len(PRIORITY_ORDER))


def priority_choices() -> tuple[tuple[str, str], ...]:
    """(label with its meaning, code) in FHIR order, for a priority picker.

    "ASAP: as soon as possible, sooner than urgent": the picker says what
    each word means, so "ASAP" and "urgent" are never read the wrong way round.
    """
    return tuple(
        (f"{level.label}: {PRIORITY_MEANINGS[level]}", str(level)) for level in PRIORITY_ORDER
    )


def service_label(code: str) -> str:
    """ "Physical therapy" for "physical-therapy" (the code itself if unknown)."""
    try:
        return ServiceType(code).label
    except ValueError:
        return code


# Group order: the state machine's order for statuses, the most pressing
# priority first (as the queue itself is sorted), and the alphabet for
# services and organisations.
_STATUS_ORDER = {status.value: rank for rank, status in enumerate(ReferralStatus)}


def _group_of(group_by: str) -> Callable[[ReferralRead], tuple[object, str]]:
    """(sort key, heading) of a referral for a grouping."""
    if group_by == "status":
        return lambda referral: (_STATUS_ORDER[referral.status], status_label(referral.status))
    if group_by == "priority":
        return lambda referral: (
            -priority_rank(referral.priority),
            priority_label(referral.priority),
        )
    if group_by == "service":
        return lambda referral: (
            service_label(referral.service_type).casefold(),
            service_label(referral.service_type),
        )
    if group_by == "organisation":
        return lambda referral: (
            referral.receiving_organisation.casefold(),
            referral.receiving_organisation,
        )
    raise ValueError(f"unknown grouping {group_by!r}")


def grouped(
    referrals: Iterable[ReferralRead], group_by: str
) -> list[tuple[str | None, list[ReferralRead]]]:
    """The referrals in groups (heading, members), queue order kept inside each group.

    Without a grouping there is one group with no heading.
    """
    listed = list(referrals)
    if not group_by:
        return [(None, listed)]
    group_of = _group_of(group_by)
    groups: dict[tuple[object, str], list[ReferralRead]] = {}
    for referral in listed:
        groups.setdefault(group_of(referral), []).append(referral)
    return [(key[1], members) for key, members in sorted(groups.items(), key=lambda g: g[0])]


@dataclass(frozen=True)
class QueueColumn:
    """One column of the queue; ``free_text`` columns share the width the others leave."""

    label: str
    key: str
    free_text: bool = False


QUEUE_COLUMNS = (
    QueueColumn("Patient", "patient", free_text=True),
    QueueColumn("Service", "service", free_text=True),
    QueueColumn("To", "to", free_text=True),
    QueueColumn("Priority", "priority"),
    QueueColumn("Status", "status"),
    QueueColumn("Days", "days"),
    QueueColumn("Reply due", "reply"),
    QueueColumn("Age", "aging"),
)

#: The narrowest a free-text column gets on a narrow terminal (then it scrolls).
NARROWEST_TEXT_COLUMN = 8


def row_cells(referral) -> tuple[Text, ...]:
    """The queue's cells for one referral, whole (``fitted`` cuts them to the columns)."""
    reply = Text("-")
    if referral.expected_reply_date:
        overdue = referral.reply_overdue
        reply = Text(
            f"{referral.expected_reply_date:%d %b}" + (" late" if overdue else ""),
            style="bold red" if overdue else "",
        )
    aging_style = {"8-14": "yellow", ">14": "bold red"}.get(referral.aging_bucket, "")
    return (
        plain(referral.patient_name),
        plain(service_label(referral.service_type)),
        plain(referral.receiving_organisation),
        Text(priority_label(referral.priority), style=PRIORITY_STYLES.get(referral.priority, "")),
        plain(status_label(referral.status)),
        Text(str(referral.days_in_status), justify="right"),
        reply,
        Text(referral.aging_bucket, style=aging_style),
    )


def heading_cells(heading: str, count: int, width: int) -> tuple[Text, ...]:
    """A group's heading row: its name and size in the first cell, the rest empty."""
    return (Text(f"▾ {heading} ({count})", style="bold"),) + tuple(
        Text("") for _ in range(width - 1)
    )


def column_widths(rows: Iterable[Sequence[Text]], available: int) -> list[int]:
    """Each column's width, so that every cell shows whole where the room allows.

    ``available`` is the room for the cells themselves (without the padding
    between columns). The short columns (priority, status, dates) keep their
    widest cell. The free-text columns share the rest, and the free width
    goes to the widest of them (the organisation): the others show whole
    while the widest keeps at least an even share, so a service is never cut
    to make room for the end of a long organisation name. When even that is
    too little, the others share what is left evenly, narrowest whole first.
    """
    widths = [len(column.label) for column in QUEUE_COLUMNS]
    for cells in rows:
        for index, cell in enumerate(cells):
            widths[index] = max(widths[index], cell.cell_len)
    text_columns = [i for i, column in enumerate(QUEUE_COLUMNS) if column.free_text]
    room = available - sum(w for i, w in enumerate(widths) if i not in text_columns)
    by_width = sorted(text_columns, key=lambda index: widths[index])
    widest, others = by_width[-1], by_width[:-1]
    reserved = max(NARROWEST_TEXT_COLUMN, min(widths[widest], room // len(text_columns)))
    left = room - reserved
    # The others, narrowest first: each keeps its widest cell if that is
    # within an even share of what is left; the rest split what remains.
    for position, index in enumerate(others):
        share = max(NARROWEST_TEXT_COLUMN, left // (len(others) - position))
        widths[index] = min(widths[index], share)
        left -= widths[index]
    widths[widest] = max(reserved, reserved + left)
    return widths


def fitted(cells: Sequence[Text], widths: Sequence[int]) -> tuple[Text, ...]:
    """The cells cut to their columns: at a word, with "…", never in the middle of a word."""
    shown = []
    for cell, width in zip(cells, widths, strict=True):
        if cell.cell_len > width:
            cell = Text(cut_at_word(cell.plain, width), style=cell.style, justify=cell.justify)
        shown.append(cell)
    return tuple(shown)


def status_line(shown: int, total: int, overdue: int) -> str:
    """The line under the table: how many, how many overdue, and when the list is cut."""
    noun = "referral" if total == 1 else "referrals"
    line = f"{total} {noun}"
    if overdue:
        line += f" · {overdue} reply overdue"
    if shown < total:
        line += f" · showing the {shown} most pressing; / narrows the list"
    return line


def _days(value: int | None) -> str:
    if value is None:
        return "-"
    return "1 day" if value == 1 else f"{value} days"


def detail_pane(details, today: date) -> RenderableType:
    """The highlighted referral: what, to whom, why, its history and turnaround."""
    referral = details.referral
    heading = Text()
    heading.append(f"{service_label(referral.service_type)} to ", style="bold")
    heading.append(referral.receiving_organisation, style="bold")
    if referral.receiving_contact:
        heading.append(f" ({referral.receiving_contact})")
    heading.append(f" · {referral.patient_name} ({referral.patient_mrn})")
    facts = Text()
    since = referral.days_in_status
    facts.append(
        f"{status_label(referral.status)} "
        + ("since today" if since == 0 else f"for {_days(since)}")
    )
    facts.append(f": {status_meaning(referral.status)}", style="dim")
    facts.append(f"\n{priority_label(referral.priority)} priority")
    if referral.expected_reply_date:
        facts.append(f" · reply expected {referral.expected_reply_date:%a %d %b}")
        if referral.reply_overdue:
            late = (today - referral.expected_reply_date).days
            facts.append(f" ({_days(late)} overdue)", style="bold red")
    if referral.appointment_date:
        facts.append(f" · appointment {referral.appointment_date:%a %d %b %Y}")
    lines: list[RenderableType] = [heading, facts, Text(f"Reason: {referral.reason}")]
    if referral.outcome:
        lines.append(Text(f"Outcome: {referral.outcome}"))
    figures = details.turnaround
    lines.append(
        Text(
            f"Turnaround: requested → accepted {_days(figures.requested_to_accepted)}"
            f" · accepted → completed {_days(figures.accepted_to_completed)}"
            f" · requested → completed {_days(figures.requested_to_completed)}",
            style="cyan",
        )
    )
    history = Table(box=None, show_header=True, header_style="dim", padding=(0, 1), expand=False)
    for column in ("When", "From", "To", "By", "Reason"):
        history.add_column(column)
    for change in reversed(details.history):
        history.add_row(
            f"{change.changed_at:%d %b %Y %H:%M}",
            plain(status_label(change.from_status) if change.from_status else "-"),
            plain(status_label(change.to_status)),
            plain(change.nurse_name or change.nurse_username or "-"),
            plain(change.reason or ""),
        )
    lines.append(history)
    if details.follow_ups:
        calls = Text(f"Follow-up calls ({len(details.follow_ups)}): ", style="bold")
        for number, call in enumerate(reversed(details.follow_ups)):
            if number:
                calls.append(" · ")
            outcome = ContactOutcome(call.outcome).label.lower()
            calls.append(f"{call.occurred_at:%d %b} {outcome}, {call.minutes} min")
            if call.note:
                calls.append(f": {call.note}")
        lines.append(calls)
    # Names, reasons and notes are stored text: shown, never obeyed by the terminal.
    return Group(*(terminal_safe(line) if isinstance(line, Text) else line for line in lines))
