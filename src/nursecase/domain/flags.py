"""The flags: one vocabulary, one meaning each, used alike everywhere a flag is shown.

DESIGN.md section 2 ("The worklist"): Today's flags column, the patient header,
the rounds card and every export name a patient's flags with these words and
no others, so that "SAFETY" on one screen never means something else on another:

- SAFETY: a patient-safety signal only: PHQ-9 item 9 above 0 not yet followed
  by a safety check (its urgent task is open), or the latest C-SSRS screener
  found moderate or high risk. Only a recorded safety check clears it.
- OUT OF RANGE: an urgent reading (vital sign, home reading or lab) is past its
  threshold and no contact or note has addressed it yet (issue 20: the urgent
  vital-sign breaches DESIGN.md ranks with the urgent signals). It is not a
  patient-safety signal: SAFETY stays PHQ-9 item 9 and C-SSRS only. A
  non-urgent breach (HbA1c above 9) is due work on Today, not a flag.
- REFERRAL LATE: a stat, ASAP or urgent referral still awaiting a reply after
  its expected reply date (ranked with the urgent signals, after SAFETY).
- TCM: an open transitional-care step (the interactive contact or the
  face-to-face visit), inside its period, or missed and shown once.
- READMISSION: the open TCM clock belongs to a discharge within 30 days of
  the previous one. It rides with TCM (never alone), so a patient carries it
  exactly while a step of that readmission is on Today.

- IN HOSPITAL: the patient is admitted to a hospital or an observation stay,
  or is in the emergency department, and not yet discharged, per the
  hospital's ADT feed or a FHIR import (an encounter in progress, issue 21).
  It is a fact about where she is, not work: it shows wherever she is named
  (on Today only beside her other items). While an inpatient or observation
  stay is in progress the routine contact cadence pauses (services.worklist).

Flags come from facts the services gather; the mapping from worklist item
kinds to flags is here, so Today's rows and the header derive their flags the
same way. Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from nursecase.domain.worklist import DueItem, DueKind, is_urgent_reading


class Flag(StrEnum):
    """A flag a patient can carry; the value is its code, ``label`` the word shown."""

    safety = "safety"
    out_of_range = "out-of-range"
    referral_late = "referral-late"
    tcm = "tcm"
    readmission = "readmission"
    in_hospital = "in-hospital"

    @property
    def label(self) -> str:
        """The word a nurse reads: "SAFETY", "OUT OF RANGE", "REFERRAL LATE", "TCM", ..."""
        return FLAG_WORDS[self].word

    @property
    def meaning(self) -> str:
        """One sentence saying what the flag means (help, tooltips, report legends)."""
        return FLAG_WORDS[self].meaning


@dataclass(frozen=True)
class FlagWords:
    """What a flag is called and what it means."""

    word: str
    meaning: str


FLAG_WORDS: dict[Flag, FlagWords] = {
    Flag.safety: FlagWords(
        "SAFETY",
        "PHQ-9 item 9 above 0 without a safety check since, or the latest C-SSRS screener "
        "found moderate or high risk; only a safety check clears it",
    ),
    Flag.out_of_range: FlagWords(
        "OUT OF RANGE",
        "an urgent reading (vital sign, home reading or lab) is past its threshold and no "
        "contact or note has addressed it yet",
    ),
    Flag.referral_late: FlagWords(
        "REFERRAL LATE",
        "a stat, ASAP or urgent referral has had no reply by its expected reply date",
    ),
    Flag.tcm: FlagWords(
        "TCM",
        "a transitional-care step after a discharge is open (or was missed, shown once)",
    ),
    Flag.readmission: FlagWords(
        "READMISSION",
        "the open TCM clock follows a discharge within 30 days of the previous one",
    ),
    Flag.in_hospital: FlagWords(
        "IN HOSPITAL",
        "admitted to a hospital or an observation stay, or in the emergency department, and "
        "not yet discharged, per the hospital's feed or a FHIR import",
    ),
}

#: Flags in the order they are listed: the most urgent first (DESIGN.md ranks
#: safety signals, then urgent vital-sign breaches, then stuck urgent referrals,
#: then the TCM clocks). IN HOSPITAL comes last: it says where the patient is,
#: not what is urgent (and TCM with READMISSION stay side by side).
FLAG_ORDER: tuple[Flag, ...] = (
    Flag.safety,
    Flag.out_of_range,
    Flag.referral_late,
    Flag.tcm,
    Flag.readmission,
    Flag.in_hospital,
)

#: Which worklist item kinds raise which flag. Kinds not listed raise none:
#: a routine task, goal or contact being due is a clock, not a flag; a reading
#: alert raises OUT OF RANGE only when urgent (``flags_of_items``), and a
#: monitoring gap is due work, never a flag.
KIND_FLAGS: dict[str, Flag] = {
    DueKind.safety: Flag.safety,
    DueKind.safety_risk: Flag.safety,
    DueKind.stuck_referral: Flag.referral_late,
    DueKind.tcm: Flag.tcm,
}

#: Days after a discharge within which a new discharge is a readmission (the
#: 30-day readmission window CMS's Hospital Readmissions Reduction Program uses).
READMISSION_WINDOW_DAYS = 30


def flags_for(
    kinds: Iterable[str],
    readmission: bool = False,
    urgent_reading: bool = False,
    in_hospital: bool = False,
) -> tuple[Flag, ...]:
    """The flags raised by a patient's due item kinds, in FLAG_ORDER.

    ``readmission`` says the patient's latest discharge came within 30 days of
    the one before; it is a flag only beside an open TCM clock.
    ``urgent_reading`` says an open reading alert of theirs is urgent (OUT OF
    RANGE); ``flags_of_items`` works it out from the items. ``in_hospital``
    says an encounter of hers is in progress (IN HOSPITAL), whatever is due.
    """
    raised = {KIND_FLAGS[kind] for kind in kinds if kind in KIND_FLAGS}
    if readmission and Flag.tcm in raised:
        raised.add(Flag.readmission)
    if urgent_reading:
        raised.add(Flag.out_of_range)
    if in_hospital:
        raised.add(Flag.in_hospital)
    return tuple(flag for flag in FLAG_ORDER if flag in raised)


def flags_of_items(
    items: Iterable[DueItem], readmission: bool = False, in_hospital: bool = False
) -> tuple[Flag, ...]:
    """The flags raised by a patient's due items (Today's rows, the header, the card, exports)."""
    listed = list(items)
    urgent = any(is_urgent_reading(item) for item in listed)
    return flags_for((item.kind for item in listed), readmission, urgent, in_hospital)


def flag_words(flags: Iterable[Flag], width: int | None = None) -> str:
    """The flags' words for a flags column: "SAFETY · TCM" ("" for none).

    With a ``width``, only whole words that fit are shown, most urgent first,
    and the rest are counted: "SAFETY +1". A flag's word is never cut.
    """
    words = [Flag(flag).label for flag in flags]
    text = " · ".join(words)
    if width is None or len(text) <= width:
        return text
    for shown in range(len(words) - 1, 0, -1):
        fitted = f"{' · '.join(words[:shown])} +{len(words) - shown}"
        if len(fitted) <= width:
            return fitted
    return f"{words[0]} +{len(words) - 1}"
