"""Morse Fall Scale.

Source: Morse JM, Morse RM, Tylko SJ. Development of a scale to identify the fall-
prone patient. Can J Aging. 1989;8(4):366-377; item wording and weights as in
Morse JM. Preventing Patient Falls. 2nd ed. Springer; 2009.

Scoring (DESIGN.md): history of falling 0/25; secondary diagnosis 0/15; ambulatory
aid none/bed rest/nurse 0, crutches/cane/walker 15, furniture 30; IV or heparin
lock 0/20; gait normal/bed rest/wheelchair 0, weak 10, impaired 20; mental status
oriented 0, forgets limitations 15. Total 0-125. Default bands: below 25 low,
25-44 moderate, 45 and above high. Units often set their own cut-offs, so the
bands are configurable (``MORSE.score(answers, bands=...)``).
Options are chosen by index keys "0", "1", "2" because the weights are not keys.
"""

from __future__ import annotations

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments.base import (
    STANDARD_VARIANT,
    Band,
    InstrumentDefinition,
    Item,
    ItemOption,
    risk_summary,
)

MORSE_ITEMS = (
    Item(
        "history_of_falling",
        "History of falling (immediate or within 3 months)",
        (ItemOption(0, "No", "0"), ItemOption(25, "Yes", "1")),
    ),
    Item(
        "secondary_diagnosis",
        "Secondary diagnosis (more than one medical diagnosis)",
        (ItemOption(0, "No", "0"), ItemOption(15, "Yes", "1")),
    ),
    Item(
        "ambulatory_aid",
        "Ambulatory aid",
        (
            ItemOption(0, "None / bed rest / nurse assist", "0"),
            ItemOption(15, "Crutches / cane / walker", "1"),
            ItemOption(30, "Furniture", "2"),
        ),
    ),
    Item(
        "iv_access",
        "IV therapy or heparin lock",
        (ItemOption(0, "No", "0"), ItemOption(20, "Yes", "1")),
    ),
    Item(
        "gait",
        "Gait / transferring",
        (
            ItemOption(0, "Normal / bed rest / wheelchair", "0"),
            ItemOption(10, "Weak", "1"),
            ItemOption(20, "Impaired", "2"),
        ),
    ),
    Item(
        "mental_status",
        "Mental status",
        (
            ItemOption(0, "Oriented to own ability", "0"),
            ItemOption(15, "Overestimates or forgets limitations", "1"),
        ),
    ),
)

MORSE_BANDS = (
    Band("low", 0, 24, "low"),
    Band("moderate", 25, 44, "moderate"),
    Band("high", 45, 125, "high"),
)

MORSE = InstrumentDefinition(
    code=Instrument.morse,
    name="Morse Fall Scale",
    variant=STANDARD_VARIANT,
    citation=(
        "Morse JM, Morse RM, Tylko SJ. Development of a scale to identify the fall-prone "
        "patient. Can J Aging. 1989;8(4):366-377."
    ),
    items=MORSE_ITEMS,
    min_total=0,
    max_total=125,
    bands=MORSE_BANDS,
    short_name="Morse",
    summary_rule=risk_summary,
)
