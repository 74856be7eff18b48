"""Scored assessment instruments and their registry.

Each instrument lives in its own module, which cites its source: LACE
(:mod:`.lace`), PHQ-9 and PHQ-2 (:mod:`.phq`), GAD-7 (:mod:`.gad7`), Morse Fall
Scale (:mod:`.morse`), Braden Scale (:mod:`.braden`) and Katz ADL (:mod:`.katz`).
"""

from __future__ import annotations

from nursecase.domain.codes import Instrument, parse_code
from nursecase.domain.instruments.base import (
    Band,
    InstrumentDefinition,
    Item,
    ItemOption,
    Score,
    Trigger,
)
from nursecase.domain.instruments.braden import BRADEN
from nursecase.domain.instruments.gad7 import GAD7
from nursecase.domain.instruments.katz import KATZ
from nursecase.domain.instruments.lace import LACE, score_lace
from nursecase.domain.instruments.morse import MORSE
from nursecase.domain.instruments.phq import PHQ2, PHQ9

INSTRUMENTS: dict[Instrument, InstrumentDefinition] = {
    definition.code: definition for definition in (LACE, PHQ9, PHQ2, GAD7, MORSE, BRADEN, KATZ)
}
"""Every instrument definition by code, in menu order."""


def get_instrument(code: Instrument | str) -> InstrumentDefinition:
    """Return the definition for ``code``; ValidationError naming "instrument" if unknown."""
    return INSTRUMENTS[parse_code(Instrument, code, "instrument")]


__all__ = [
    "BRADEN",
    "GAD7",
    "INSTRUMENTS",
    "KATZ",
    "LACE",
    "MORSE",
    "PHQ2",
    "PHQ9",
    "Band",
    "InstrumentDefinition",
    "Item",
    "ItemOption",
    "Score",
    "Trigger",
    "get_instrument",
    "score_lace",
]
