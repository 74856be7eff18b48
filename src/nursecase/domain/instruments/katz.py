"""Katz Index of Independence in Activities of Daily Living.

Source: Katz S, Ford AB, Moskowitz RW, Jackson BA, Jaffe MW. Studies of illness in
the aged. The index of ADL: a standardized measure of biological and psychosocial
function. JAMA. 1963;185:914-919; scored 0/1 per item as in Shelkey M, Wallace M.
Katz Index of Independence in Activities of Daily Living. Try This series, Hartford
Institute for Geriatric Nursing.

Scoring (DESIGN.md): bathing, dressing, toileting, transferring, continence and
feeding, 1 independent / 0 dependent; 6 full function, 3-5 moderate impairment,
2 or less severe impairment.
"""

from __future__ import annotations

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments.base import (
    STANDARD_VARIANT,
    Band,
    InstrumentDefinition,
    Item,
    ItemOption,
)

INDEPENDENCE_OPTIONS = (
    ItemOption(1, "Independent", "1"),
    ItemOption(0, "Dependent", "0"),
)

KATZ_ITEMS = (
    Item(
        "bathing",
        "Bathing: bathes self completely or needs help with only one part of the body",
        INDEPENDENCE_OPTIONS,
    ),
    Item(
        "dressing",
        "Dressing: gets clothes and dresses completely without help (help tying shoes allowed)",
        INDEPENDENCE_OPTIONS,
    ),
    Item(
        "toileting",
        "Toileting: goes to the toilet, gets on and off, arranges clothes, cleans self",
        INDEPENDENCE_OPTIONS,
    ),
    Item(
        "transferring",
        "Transferring: moves in and out of bed or chair unassisted (aids allowed)",
        INDEPENDENCE_OPTIONS,
    ),
    Item(
        "continence",
        "Continence: exercises complete self-control over urination and defecation",
        INDEPENDENCE_OPTIONS,
    ),
    Item(
        "feeding",
        "Feeding: gets food from plate into mouth without help",
        INDEPENDENCE_OPTIONS,
    ),
)

KATZ_BANDS = (
    Band("severe impairment", 0, 2, "severe"),
    Band("moderate impairment", 3, 5, "moderate"),
    Band("full function", 6, 6, "none"),
)

KATZ = InstrumentDefinition(
    code=Instrument.katz_adl,
    name="Katz Index of Independence in Activities of Daily Living",
    variant=STANDARD_VARIANT,
    citation=(
        "Katz S, Ford AB, Moskowitz RW, Jackson BA, Jaffe MW. Studies of illness in the aged. "
        "The index of ADL. JAMA. 1963;185:914-919."
    ),
    items=KATZ_ITEMS,
    min_total=0,
    max_total=6,
    bands=KATZ_BANDS,
    short_name="Katz ADL",
)
