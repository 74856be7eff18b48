"""The worklist ("my day"): which patients have something due, in what order, and why.

DESIGN.md section 2, "The worklist": one list merges every patient with something
due. Order: (1) urgent signals: safety flags (PHQ-9 item 9 > 0 not yet followed by
a safety check, a latest C-SSRS screen of moderate or high risk), urgent vital-sign
breaches (an open urgent reading alert: vital sign, home reading or lab past its
threshold), a stat/urgent referral stuck, in that order, (2) clocks due today or
overdue with TCM first, (3) days overdue, (4) risk tier, (5) oldest last contact.
Every row says why it is there ("weight +2.6 kg in 5 d", "no weight for 3 d").

Issue 20 adds the readings: an open reading alert is always on the list (like a
flag) until a contact that addresses it or a nurse's note closes it; an urgent
one ranks with the urgent signals, a non-urgent one (HbA1c over 9) with the due
work. A remote-monitoring gap (no reading of an enrolled measure for its number
of days) is due work from the day the gap reached that number.

Services gather a ``WorklistCandidate`` per patient (one per patient) with every
``DueItem`` they know of; ``rank_worklist`` keeps the items that belong on today's
list, orders them and explains them. Nothing here reads the clock: "today" is
always passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from nursecase.domain.codes import RISK_RANKS, Measure, ReferralPriority, spoken
from nursecase.domain.wording import cut_at_word


class DueKind(StrEnum):
    """Why a patient is on the worklist; one value per source of due work."""

    safety = "safety"  # PHQ-9 item 9 > 0 not yet followed by a safety check (its task is open)
    safety_risk = "safety-risk"  # the latest safety check (C-SSRS) found moderate or high risk
    reading = "reading-alert"  # an open reading alert: a reading past its threshold, not addressed
    stuck_referral = "stuck-referral"  # a stat/asap/urgent referral past its expected reply date
    tcm = "tcm"  # an open transitional-care clock step (interactive contact / face-to-face)
    task = "task"  # an open follow-up task (not a TCM or safety task) due today or earlier
    contact = "contact"  # the patient's next contact is due today or earlier
    reading_gap = "reading-gap"  # no reading of a remotely monitored measure for its gap days
    referral_reply = "referral-reply"  # a routine referral past its expected reply date
    goal = "goal"  # a care-plan goal (not completed/cancelled/entered-in-error) due by today
    intervention = "intervention"  # a care-plan intervention (open status) due by today


@dataclass(frozen=True)
class DueItem:
    """One thing due for one patient.

    ``due_date`` is when it was or is due (safety: the assessment day; safety_risk:
    the day of the check; tcm: the step's deadline; reading: the day of the
    reading the alert covers; reading_gap: the day the gap reached its number of
    days). ``label`` says what: the task description, the service abbreviation
    ("PT"), the goal or intervention text, the measure code of a reading alert or
    gap ("weight"), or "" for a contact.
    ``item_id`` is the row the item acts on: the Task for safety, tcm and task
    kinds, the safety check for safety_risk, the referral, goal or intervention
    id, the reading alert, the monitoring enrolment of a gap; None for a contact.
    ``detail`` is ready-made text from the service when it knows better (tcm: the
    clock's short label such as "TCM day 2 of 2"; stuck_referral: the priority
    word; safety_risk: the risk code, "high"; reading: the alert's why as stored,
    "weight +2.6 kg in 5 d"; reading_gap: the enrolment's gap in days, "3").
    """

    kind: DueKind
    due_date: date
    label: str
    item_id: int | None
    detail: str = ""
    #: A TCM step whose deadline passed unmet (shown once): done notes it as
    #: missed, where on an open step done would have to be the contact itself.
    missed: bool = False
    #: A reading alert of an urgent rule (a vital-sign breach such as BP 184/121):
    #: it ranks with the urgent signals and raises OUT OF RANGE. Other kinds: False.
    urgent: bool = False


@dataclass(frozen=True)
class WorklistCandidate:
    """A patient and everything the services found due for them, before ranking."""

    patient_id: int
    risk_tier: str
    last_contact_on: date | None
    items: tuple[DueItem, ...]


@dataclass(frozen=True)
class WorklistEntry:
    """One ranked worklist row: a patient, their included items and why they are here.

    ``items`` are most pressing first; ``items[0]`` is "the due item" that done and
    snooze act on. ``reasons`` holds one plain-words text per item in the same
    order and ``why`` joins them with "; ". ``group`` is 0 for the urgent signals
    (safety flags, urgent reading alerts, stuck urgent referrals), 1 for an open
    TCM clock, 2 for everything else. ``days_overdue`` is the largest
    ``(today - due_date).days`` over the items, never negative.
    """

    patient_id: int
    items: tuple[DueItem, ...]
    reasons: tuple[str, ...]
    why: str
    group: int
    days_overdue: int
    risk_tier: str
    last_contact_on: date | None


SAFETY_GROUP = 0
TCM_GROUP = 1
OTHER_GROUP = 2

#: Kinds that are flags or open clocks: shown whatever their due date, because
#: waiting for the date would hide a safety concern or a running TCM window.
#: An open reading alert too: it stays until a contact or a note addresses it.
ALWAYS_INCLUDED_KINDS = frozenset(
    {DueKind.safety, DueKind.safety_risk, DueKind.reading, DueKind.stuck_referral, DueKind.tcm}
)

#: The patient-safety signals (what SAFETY means): only a safety check clears them,
#: so done and snooze never apply to them.
PATIENT_SAFETY_KINDS = frozenset({DueKind.safety, DueKind.safety_risk})

#: Tie-break among items of one patient with the same group and days overdue:
#: the order of DueKind above, most pressing first.
KIND_ORDER: dict[DueKind, int] = {kind: position for position, kind in enumerate(DueKind)}

#: Goal and intervention texts can be long; reasons must fit a worklist column.
LABEL_MAX_CHARACTERS = 40

#: The priority word a stuck referral is described with when the service gave none.
DEFAULT_STUCK_PRIORITY = "urgent"


def is_urgent_reading(item: DueItem) -> bool:
    """True for an open reading alert of an urgent rule (an urgent vital-sign breach)."""
    return item.kind is DueKind.reading and item.urgent


def item_group(kind: DueKind, urgent: bool = False) -> int:
    """Return the worklist group an item puts its patient in (0 urgent signals, 1 TCM, 2 other).

    ``urgent`` matters for a reading alert only: an urgent one is an urgent
    signal, any other (HbA1c above 9) is due work.
    """
    if kind in PATIENT_SAFETY_KINDS or kind is DueKind.stuck_referral:
        return SAFETY_GROUP
    if kind is DueKind.reading and urgent:
        return SAFETY_GROUP
    if kind is DueKind.tcm:
        return TCM_GROUP
    return OTHER_GROUP


def is_included(item: DueItem, today: date) -> bool:
    """Return True when the item belongs on today's worklist."""
    return item.kind in ALWAYS_INCLUDED_KINDS or item.due_date <= today


def days_overdue(item: DueItem, today: date) -> int:
    """Days since the item was due; 0 when due today or later."""
    return max((today - item.due_date).days, 0)


def truncate_label(label: str, limit: int = LABEL_MAX_CHARACTERS) -> str:
    """Shorten a label to at most ``limit`` characters, cut at a word and marked with "…"."""
    if len(label) <= limit:
        return label
    return cut_at_word(label, limit)


def _due_phrase(noun: str, item: DueItem, today: date) -> str:
    """Say "<noun> due today" or "<noun> overdue N d"."""
    overdue = days_overdue(item, today)
    if overdue == 0:
        return f"{noun} due today"
    return f"{noun} overdue {overdue} d"


def _with_label(phrase: str, label: str) -> str:
    """Append ": <label>" when there is a label, so an empty label leaves no dangling colon."""
    return f"{phrase}: {label}" if label else phrase


def _referral_target(label: str) -> str:
    """Say "referral to PT", or just "referral" when the service is unknown."""
    return f"referral to {label}" if label else "referral"


def measure_words(code: str) -> str:
    """A measure as it reads inside a sentence: "weight", "blood pressure", but "HbA1c",
    "eGFR", "NT-proBNP" and "LDL cholesterol" keep their capitals.

    A word is lowered only when it is capitalised like an ordinary word (its
    first letter); an abbreviation has capitals after the first letter and is
    kept as written. A code nursecase does not know reads as itself.
    """
    try:
        label = Measure(code).label
    except ValueError:
        return code
    return " ".join(
        word if word[1:] != word[1:].lower() else word.lower() for word in label.split(" ")
    )


def _days_without_reading(item: DueItem, today: date) -> int:
    """A gap's days without a reading: its gap days (``detail``) and the days since it began."""
    try:
        gap = int(item.detail)
    except ValueError:
        gap = 0
    return max(gap, 0) + days_overdue(item, today)


def _priority_words(code: str) -> str:
    """A referral priority as it reads in a sentence ("ASAP", "urgent"); unknown as is."""
    try:
        return spoken(ReferralPriority(code))
    except ValueError:
        return code


def reason_text(item: DueItem, today: date) -> str:
    """Explain in plain words why the item puts its patient on the worklist.

    Examples: "PHQ-9 item 9", "C-SSRS high risk 5 Dec: check safety again", "weight
    +2.6 kg in 5 d", "urgent referral to PT: no reply 3 d", "TCM day 2 of 2", "task
    overdue 2 d: Call pharmacy", "contact due today", "no weight for 3 d",
    "referral to PT: no reply 9 d", "goal due today: Walks to the mailbox daily".
    """
    kind = item.kind
    if kind is DueKind.safety:
        return "PHQ-9 item 9"
    if kind is DueKind.safety_risk:
        risk = item.detail.strip() or "moderate"
        return f"C-SSRS {risk} risk {item.due_date.day} {item.due_date:%b}: check safety again"
    if kind is DueKind.reading:
        # The alert's own words, as the readings service stored them at the breach.
        return item.detail.strip() or f"{measure_words(item.label)} out of range"
    if kind is DueKind.reading_gap:
        return f"no {measure_words(item.label)} for {_days_without_reading(item, today)} d"
    if kind is DueKind.stuck_referral:
        # The priority in words ("ASAP referral", "urgent referral").
        priority = _priority_words(item.detail.strip() or DEFAULT_STUCK_PRIORITY)
        no_reply = days_overdue(item, today)
        return f"{priority} {_referral_target(item.label)}: no reply {no_reply} d"
    if kind is DueKind.tcm:
        if item.detail:
            return item.detail
        # The service normally supplies the clock's own wording; fall back to the deadline.
        return _with_label(_due_phrase("TCM", item, today), item.label)
    if kind is DueKind.task:
        return _with_label(_due_phrase("task", item, today), item.label)
    if kind is DueKind.contact:
        return _due_phrase("contact", item, today)
    if kind is DueKind.referral_reply:
        return f"{_referral_target(item.label)}: no reply {days_overdue(item, today)} d"
    if kind is DueKind.goal:
        return _with_label(_due_phrase("goal", item, today), truncate_label(item.label))
    if kind is DueKind.intervention:
        return _with_label(_due_phrase("intervention", item, today), truncate_label(item.label))
    raise ValueError(f"unknown due kind: {kind!r}")


def _item_order_key(item: DueItem, today: date) -> tuple:
    """Most pressing first: group, then days overdue, then kind; the rest only for stability."""
    return (
        item_group(item.kind, item.urgent),
        -(today - item.due_date).days,
        KIND_ORDER[item.kind],
        item.due_date,
        item.item_id if item.item_id is not None else -1,
        item.label,
        item.detail,
        not item.urgent,
        item.missed,
    )


def _signal_rank(entry: WorklistEntry) -> int:
    """Among the urgent signals, DESIGN.md's order: a patient-safety signal (0), an
    urgent vital-sign breach (1), then a stuck referral (2); 2 for every other group."""
    if any(item.kind in PATIENT_SAFETY_KINDS for item in entry.items):
        return 0
    if any(is_urgent_reading(item) for item in entry.items):
        return 1
    return 2


def _entry_order_key(entry: WorklistEntry, today: date) -> tuple:
    """Group, then (among the urgent signals) a patient-safety signal (PHQ-9 item 9,
    C-SSRS moderate/high) before an urgent reading alert before a stuck referral,
    days overdue, risk tier, oldest last contact (never contacted first), patient id.

    Risk tier runs high, not assessed, moderate, low (``RISK_RANKS``): DESIGN.md
    orders by tier but names no place for a patient nobody has assessed. Their
    risk is unknown and may be high, and assessing it is the work due, so they
    come after the known high risks and before anyone known to be moderate or
    low; never ranked as if moderate.

    A possible risk of self-harm outranks every other flag, however long a
    referral has waited: that is why DESIGN.md lists it first among the flags.
    An urgent vital-sign breach (BP 184/121, SpO2 86 %) comes next, before a
    referral that waits for a reply, as DESIGN.md lists them: the breach may
    need a call today, the referral a chase.

    The trailing item keys only matter if a service ever sends one patient twice;
    they keep the order independent of input order even then.
    """
    return (
        entry.group,
        _signal_rank(entry),
        -entry.days_overdue,
        -RISK_RANKS.get(entry.risk_tier, 0),
        entry.last_contact_on is not None,
        entry.last_contact_on or date.min,
        entry.patient_id,
        entry.risk_tier,
        tuple(_item_order_key(item, today) for item in entry.items),
    )


def build_entry(candidate: WorklistCandidate, today: date) -> WorklistEntry | None:
    """Turn one candidate into a worklist row, or None when nothing of theirs is due."""
    included = sorted(
        (item for item in candidate.items if is_included(item, today)),
        key=lambda item: _item_order_key(item, today),
    )
    if not included:
        return None
    reasons = tuple(reason_text(item, today) for item in included)
    return WorklistEntry(
        patient_id=candidate.patient_id,
        items=tuple(included),
        reasons=reasons,
        why="; ".join(reasons),
        group=min(item_group(item.kind, item.urgent) for item in included),
        days_overdue=max(days_overdue(item, today) for item in included),
        risk_tier=candidate.risk_tier,
        last_contact_on=candidate.last_contact_on,
    )


def rank_worklist(candidates: Iterable[WorklistCandidate], today: date) -> list[WorklistEntry]:
    """Return today's worklist: every candidate with something due, most pressing first.

    The order is total and does not depend on the order of ``candidates``.
    """
    entries = [
        entry
        for entry in (build_entry(candidate, today) for candidate in candidates)
        if entry is not None
    ]
    entries.sort(key=lambda entry: _entry_order_key(entry, today))
    return entries
