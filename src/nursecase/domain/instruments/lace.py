"""LACE index for 30-day death or unplanned readmission after discharge.

Source: van Walraven C, Dhalla IA, Bell C, et al. Derivation and validation of an
index to predict early death or unplanned readmission after discharge from
hospital to the community. CMAJ. 2010;182(6):551-557.

Scoring (DESIGN.md):
- L, length of stay: under 1 day 0, 1 day 1, 2 days 2, 3 days 3, 4-6 days 4,
  7-13 days 5, 14 days or more 7.
- A, acute or emergent admission: 3 (elective 0).
- C, Charlson comorbidity index: 0-3 score as is, 4 or more scores 5.
- E, ED visits in the prior 6 months: 0-3 score as is, 4 or more scores 4.
Total 0-19; 0-4 low, 5-9 moderate, 10 or more high (suggests risk tier high).

Two entry paths give the same Score: :func:`score_lace` from the raw facts, and
the item-based :data:`LACE` definition for keyboard entry where each item is a
component and each option's value is its points.
"""

from __future__ import annotations

from collections.abc import Mapping

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments.base import (
    STANDARD_VARIANT,
    Band,
    InstrumentDefinition,
    Item,
    ItemOption,
    Score,
    Trigger,
)
from nursecase.domain.validation import ValidationError, require_int_range

LENGTH_OF_STAY = "L"
ACUITY = "A"
COMORBIDITY = "C"
EMERGENCY_VISITS = "E"

HIGH_RISK_AT = 10
LACE_HIGH_TRIGGER = Trigger("lace-high", "LACE >= 10: suggest risk tier high", False)

# Generous upper limits only to catch typing slips (a 5-digit stay, say).
MAX_LENGTH_OF_STAY_DAYS = 3650
MAX_CHARLSON_INDEX = 99
MAX_ED_VISITS = 999

LACE_ITEMS = (
    Item(
        LENGTH_OF_STAY,
        "Length of stay (days)",
        (
            ItemOption(0, "<1 day", "0"),
            ItemOption(1, "1 day", "1"),
            ItemOption(2, "2 days", "2"),
            ItemOption(3, "3 days", "3"),
            ItemOption(4, "4-6 days", "4"),
            ItemOption(5, "7-13 days", "5"),
            ItemOption(7, ">=14 days", "6"),
        ),
    ),
    Item(
        ACUITY,
        "Acute (emergent) admission",
        (ItemOption(0, "No", "0"), ItemOption(3, "Yes", "1")),
    ),
    Item(
        COMORBIDITY,
        "Charlson comorbidity index",
        (
            ItemOption(0, "0", "0"),
            ItemOption(1, "1", "1"),
            ItemOption(2, "2", "2"),
            ItemOption(3, "3", "3"),
            ItemOption(5, ">=4", "4"),
        ),
    ),
    Item(
        EMERGENCY_VISITS,
        "ED visits in the previous 6 months",
        (
            ItemOption(0, "0", "0"),
            ItemOption(1, "1", "1"),
            ItemOption(2, "2", "2"),
            ItemOption(3, "3", "3"),
            ItemOption(4, ">=4", "4"),
        ),
    ),
)

LACE_BANDS = (
    Band("low", 0, 4, "low"),
    Band("moderate", 5, 9, "moderate"),
    Band("high", 10, 19, "high"),
)


def points_for_length_of_stay(days: int) -> int:
    """L points for a length of stay in whole days (0 means under one day)."""
    days = require_int_range(days, "length_of_stay_days", 0, MAX_LENGTH_OF_STAY_DAYS)
    if days <= 3:
        return days
    if days <= 6:
        return 4
    if days <= 13:
        return 5
    return 7


def points_for_acuity(acute: bool) -> int:
    """A points: 3 for an acute or emergent admission, 0 for an elective one."""
    if not isinstance(acute, bool):
        raise ValidationError("acute_admission", "must be yes or no")
    return 3 if acute else 0


def points_for_comorbidity(charlson: int) -> int:
    """C points: the Charlson index as is up to 3, then 5 for 4 or more."""
    charlson = require_int_range(charlson, "charlson_index", 0, MAX_CHARLSON_INDEX)
    return charlson if charlson <= 3 else 5


def points_for_ed_visits(ed_visits: int) -> int:
    """E points: ED visits in the prior 6 months as is up to 3, then 4 for 4 or more."""
    ed_visits = require_int_range(ed_visits, "ed_visits_6_months", 0, MAX_ED_VISITS)
    return min(ed_visits, 4)


def lace_answers(
    length_of_stay_days: int, acute: bool, charlson: int, ed_visits: int
) -> dict[str, int]:
    """Turn the raw facts into item answers (component points) for :data:`LACE`."""
    return {
        LENGTH_OF_STAY: points_for_length_of_stay(length_of_stay_days),
        ACUITY: points_for_acuity(acute),
        COMORBIDITY: points_for_comorbidity(charlson),
        EMERGENCY_VISITS: points_for_ed_visits(ed_visits),
    }


def lace_triggers(answers: Mapping[str, int], total: int) -> tuple[Trigger, ...]:
    """A LACE of 10 or more suggests moving the patient to risk tier high."""
    if total >= HIGH_RISK_AT:
        return (LACE_HIGH_TRIGGER,)
    return ()


def lace_summary(short_name: str, total: int, band: Band, parts: Mapping[str, int]) -> str:
    """Show the parts, as nurses read LACE: "LACE 12 = L5 A3 C2 E2"."""
    components = " ".join(f"{letter}{parts[letter]}" for letter in "LACE")
    return f"{short_name} {total} = {components}"


LACE = InstrumentDefinition(
    code=Instrument.lace,
    name="LACE index for readmission risk",
    variant=STANDARD_VARIANT,
    citation=(
        "van Walraven C, Dhalla IA, Bell C, et al. Derivation and validation of an index to "
        "predict early death or unplanned readmission after discharge from hospital to the "
        "community. CMAJ. 2010;182(6):551-557."
    ),
    items=LACE_ITEMS,
    min_total=0,
    max_total=19,
    bands=LACE_BANDS,
    short_name="LACE",
    trigger_rule=lace_triggers,
    summary_rule=lace_summary,
)


def score_lace(length_of_stay_days: int, acute: bool, charlson: int, ed_visits: int) -> Score:
    """Score LACE from raw facts: stay in days, acute admission, Charlson, ED visits."""
    return LACE.score(lace_answers(length_of_stay_days, acute, charlson, ed_visits))
