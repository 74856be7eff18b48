"""Braden Scale for Predicting Pressure Sore Risk.

Source: Bergstrom N, Braden BJ, Laguzza A, Holman V. The Braden Scale for
predicting pressure sore risk. Nurs Res. 1987;36(4):205-210. Sub-scale anchor
labels as on the published form (bradenscale.com).

Scoring (DESIGN.md): sensory perception, moisture, activity, mobility and
nutrition 1-4 each, friction and shear 1-3; total 6-23. Default bands: 9 or less
very high, 10-12 high, 13-14 moderate, 15-18 mild risk, 19 or more no risk
(configurable: ``BRADEN.score(answers, bands=...)``). Lower is worse.
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


def _options(*labels: str) -> tuple[ItemOption, ...]:
    """Options scored 1, 2, 3 ... in order, each selected by its own score digit."""
    return tuple(
        ItemOption(value, label, str(value)) for value, label in enumerate(labels, start=1)
    )


BRADEN_ITEMS = (
    Item(
        "sensory_perception",
        "Sensory perception: ability to respond meaningfully to pressure-related discomfort",
        _options("Completely limited", "Very limited", "Slightly limited", "No impairment"),
    ),
    Item(
        "moisture",
        "Moisture: degree to which skin is exposed to moisture",
        _options("Constantly moist", "Very moist", "Occasionally moist", "Rarely moist"),
    ),
    Item(
        "activity",
        "Activity: degree of physical activity",
        _options("Bedfast", "Chairfast", "Walks occasionally", "Walks frequently"),
    ),
    Item(
        "mobility",
        "Mobility: ability to change and control body position",
        _options("Completely immobile", "Very limited", "Slightly limited", "No limitation"),
    ),
    Item(
        "nutrition",
        "Nutrition: usual food intake pattern",
        _options("Very poor", "Probably inadequate", "Adequate", "Excellent"),
    ),
    Item(
        "friction_shear",
        "Friction and shear",
        _options("Problem", "Potential problem", "No apparent problem"),
    ),
)

BRADEN_BANDS = (
    Band("very high", 6, 9, "severe"),
    Band("high", 10, 12, "high"),
    Band("moderate", 13, 14, "moderate"),
    Band("mild", 15, 18, "low"),
    Band("no risk", 19, 23, "none"),
)

BRADEN = InstrumentDefinition(
    code=Instrument.braden,
    name="Braden Scale for Predicting Pressure Sore Risk",
    variant=STANDARD_VARIANT,
    citation=(
        "Bergstrom N, Braden BJ, Laguzza A, Holman V. The Braden Scale for predicting "
        "pressure sore risk. Nurs Res. 1987;36(4):205-210."
    ),
    items=BRADEN_ITEMS,
    min_total=6,
    max_total=23,
    bands=BRADEN_BANDS,
    short_name="Braden",
    summary_rule=risk_summary,
)
