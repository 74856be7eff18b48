"""FHIR bundles for the importer's tests, all in the repository.

``synthea/`` holds four real Synthea patient bundles (Apache-2.0, see
``synthea/NOTICE``); the other files here are hand-made malformed bundles
(README.md). The tests name the four bundles: a missing one fails the tests
that read it, never leaves a parameter list empty.
"""

from __future__ import annotations

from pathlib import Path

#: This folder: the hand-made malformed bundles.
SAMPLES = Path(__file__).resolve().parent
#: The Synthea bundles (smart-on-fhir/generated-sample-data, R4/SYNTHEA).
SYNTHEA = SAMPLES / "synthea"
#: The patients of the four bundles, as their file names start.
SYNTHEA_BUNDLES = ("Buster_Hoeger", "Clemente_Kreiger", "Liz_Conn", "Stephen_McLaughlin")


def synthea_bundle(name: str) -> Path:
    """The bundle of one of SYNTHEA_BUNDLES; an AssertionError when it is not there."""
    found = sorted(SYNTHEA.glob(f"{name}_*.json"))
    assert len(found) == 1, f"expected one Synthea bundle {name}_*.json in {SYNTHEA}, found {found}"
    return found[0]


def synthea_bundles() -> list[Path]:
    """The four bundles, by name; an AssertionError unless the folder holds exactly those."""
    found = sorted(SYNTHEA.glob("*.json"))
    expected = [synthea_bundle(name) for name in SYNTHEA_BUNDLES]
    assert found == expected, f"{SYNTHEA} should hold exactly {SYNTHEA_BUNDLES}, holds {found}"
    return expected
