"""PHQ-9 and PHQ-2 depression screening.

Sources:
- PHQ-9: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief
  depression severity measure. J Gen Intern Med. 2001;16(9):606-613.
- PHQ-2: Kroenke K, Spitzer RL, Williams JBW. The Patient Health Questionnaire-2:
  validity of a two-item depression screener. Med Care. 2003;41(11):1284-1292.
Developed by Drs. Spitzer, Williams, Kroenke and colleagues with an educational
grant from Pfizer Inc.; no permission is required to reproduce, translate,
display or distribute (phqscreeners.com). Item wording below is the standard text.

Scoring (DESIGN.md): PHQ-9 items 0-3, total 0-27; 0-4 minimal, 5-9 mild, 10-14
moderate, 15-19 moderately severe, 20-27 severe. Item 9 above 0 creates an urgent
safety follow-up whatever the total. PHQ-2 is items 1-2, total 0-6, positive at
3 or more, which suggests a full PHQ-9.
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
    Trigger,
)

STEM = "Over the last 2 weeks, how often have you been bothered by any of the following problems?"

FREQUENCY_OPTIONS = (
    ItemOption(0, "Not at all", "0"),
    ItemOption(1, "Several days", "1"),
    ItemOption(2, "More than half the days", "2"),
    ItemOption(3, "Nearly every day", "3"),
)
"""The four response options shared by the PHQ and GAD-7 questionnaires."""

PHQ9_PROMPTS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite - "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)

PHQ9_ITEMS = tuple(
    Item(f"item{number}", prompt, FREQUENCY_OPTIONS)
    for number, prompt in enumerate(PHQ9_PROMPTS, start=1)
)

SAFETY_ITEM = "item9"

PHQ9_ITEM9_TRIGGER = Trigger(
    "phq9-item9", "PHQ-9 item 9 answered above 0: urgent safety follow-up", True
)
PHQ2_POSITIVE_TRIGGER = Trigger("phq2-positive", "PHQ-2 positive: suggest a PHQ-9", False)

PHQ9_BANDS = (
    Band("minimal", 0, 4, "none"),
    Band("mild", 5, 9, "low"),
    Band("moderate", 10, 14, "moderate"),
    Band("moderately severe", 15, 19, "high"),
    Band("severe", 20, 27, "severe"),
)

PHQ2_POSITIVE_AT = 3
PHQ2_BANDS = (
    Band("negative", 0, PHQ2_POSITIVE_AT - 1, "none"),
    Band("positive", PHQ2_POSITIVE_AT, 6, "moderate"),
)


def phq9_triggers(answers: Mapping[str, int], total: int) -> tuple[Trigger, ...]:
    """Item 9 (thoughts of death or self-harm) above 0 is urgent at any total."""
    if answers[SAFETY_ITEM] > 0:
        return (PHQ9_ITEM9_TRIGGER,)
    return ()


def phq2_triggers(answers: Mapping[str, int], total: int) -> tuple[Trigger, ...]:
    """A positive PHQ-2 screen suggests following with a PHQ-9."""
    if total >= PHQ2_POSITIVE_AT:
        return (PHQ2_POSITIVE_TRIGGER,)
    return ()


PHQ9 = InstrumentDefinition(
    code=Instrument.phq_9,
    name="Patient Health Questionnaire-9",
    variant=STANDARD_VARIANT,
    citation=(
        "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression "
        "severity measure. J Gen Intern Med. 2001;16(9):606-613."
    ),
    items=PHQ9_ITEMS,
    min_total=0,
    max_total=27,
    bands=PHQ9_BANDS,
    short_name="PHQ-9",
    instructions=STEM,
    trigger_rule=phq9_triggers,
)

PHQ2 = InstrumentDefinition(
    code=Instrument.phq_2,
    name="Patient Health Questionnaire-2",
    variant=STANDARD_VARIANT,
    citation=(
        "Kroenke K, Spitzer RL, Williams JBW. The Patient Health Questionnaire-2: validity "
        "of a two-item depression screener. Med Care. 2003;41(11):1284-1292."
    ),
    items=PHQ9_ITEMS[:2],
    min_total=0,
    max_total=6,
    bands=PHQ2_BANDS,
    short_name="PHQ-2",
    instructions=STEM,
    trigger_rule=phq2_triggers,
)
