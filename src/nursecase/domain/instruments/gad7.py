"""GAD-7 anxiety screening.

Source: Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing
generalized anxiety disorder: the GAD-7. Arch Intern Med. 2006;166(10):1092-1097.
Free to reproduce, translate, display and distribute (phqscreeners.com).

Scoring (DESIGN.md): 7 items 0-3, total 0-21; 0-4 minimal, 5-9 mild, 10-14
moderate, 15-21 severe.
"""

from __future__ import annotations

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments.base import STANDARD_VARIANT, Band, InstrumentDefinition, Item
from nursecase.domain.instruments.phq import FREQUENCY_OPTIONS, STEM

GAD7_PROMPTS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
)

GAD7_BANDS = (
    Band("minimal", 0, 4, "none"),
    Band("mild", 5, 9, "low"),
    Band("moderate", 10, 14, "moderate"),
    Band("severe", 15, 21, "severe"),
)

GAD7 = InstrumentDefinition(
    code=Instrument.gad_7,
    name="Generalized Anxiety Disorder-7",
    variant=STANDARD_VARIANT,
    citation=(
        "Spitzer RL, Kroenke K, Williams JBW, Lowe B. A brief measure for assessing "
        "generalized anxiety disorder: the GAD-7. Arch Intern Med. 2006;166(10):1092-1097."
    ),
    items=tuple(
        Item(f"item{number}", prompt, FREQUENCY_OPTIONS)
        for number, prompt in enumerate(GAD7_PROMPTS, start=1)
    ),
    min_total=0,
    max_total=21,
    bands=GAD7_BANDS,
    short_name="GAD-7",
    instructions=STEM,
)
