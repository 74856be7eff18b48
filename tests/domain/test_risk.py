"""Risk tier and its basis: the LACE bands (van Walraven 2010) and the words of the header."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from nursecase.domain.codes import RiskSource, RiskTier
from nursecase.domain.risk import (
    LaceScore,
    disagrees_with_lace,
    is_assessed,
    lace_offer,
    risk_standing,
    risk_words,
    tier_for_lace,
    unexplained_disagreement,
)
from nursecase.domain.validation import ValidationError

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("total", "tier"),
    [
        (0, RiskTier.low),
        (4, RiskTier.low),
        (5, RiskTier.moderate),
        (9, RiskTier.moderate),
        (10, RiskTier.high),
        (19, RiskTier.high),
    ],
)
def test_lace_bands(total, tier):
    assert tier_for_lace(total) is tier


@pytest.mark.parametrize("bad", [-1, 20, 4.5, True])
def test_a_lace_total_out_of_range_names_the_field(bad):
    with pytest.raises(ValidationError) as caught:
        tier_for_lace(bad)
    assert caught.value.field == "lace_total"


@pytest.mark.parametrize(
    ("tier", "total", "disagree"),
    [("low", 4, False), ("low", 5, True), ("moderate", 9, False), ("moderate", 10, True)],
)
def test_disagreement_at_the_band_edges(tier, total, disagree):
    assert disagrees_with_lace(tier, total) is disagree
    assert unexplained_disagreement(tier, "score", total) is disagree
    assert unexplained_disagreement(tier, None, total) is disagree
    # A nurse's override explains the difference.
    assert unexplained_disagreement(tier, "override", total) is False


def test_no_lace_means_no_disagreement():
    assert disagrees_with_lace("high", None) is False


def lace(total: int, day: date, parts: str = "L5 A3 C2 E2") -> LaceScore:
    return LaceScore(total, f"LACE {total} = {parts}", day)


def test_a_tier_from_a_score_shows_the_score_and_its_day():
    standing = risk_standing(
        "high",
        "score",
        "LACE 12 = L5 A3 C2 E2",
        "Alice Moreno",
        datetime(2026, 11, 18, 10),
        lace(12, date(2026, 11, 18)),
    )
    assert standing.describe(TODAY) == "high (LACE 12, 18 Nov)"
    assert standing.suggestion(TODAY) is None


def test_an_override_names_the_nurse_the_reason_and_the_latest_lace():
    standing = risk_standing(
        "high",
        RiskSource.override,
        "lives alone",
        "Alice Moreno",
        datetime(2026, 12, 1, 9),
        lace(9, date(2026, 11, 30)),
    )
    assert standing.describe(TODAY) == "high, set by A. Moreno: lives alone; LACE 9"
    assert standing.suggested_tier is None


def test_a_long_reason_is_cut_at_a_word():
    reason = "lives alone since her husband died in the spring and has fallen twice at home"
    standing = risk_standing("high", "override", reason, "Ben Okafor", None)
    words = standing.describe(TODAY)
    assert words.startswith("high, set by B. Okafor: lives alone since")
    assert words.endswith("…") and " fallen twice at home" not in words


def test_no_basis_is_not_assessed():
    assert risk_standing("moderate", None, None, None, None).describe() == (
        "moderate, no score or reason yet"
    )


def test_the_not_assessed_tier_says_so_once_and_what_a_lace_suggests():
    standing = risk_standing("not-assessed", None, None, None, None)
    assert not standing.assessed
    assert standing.describe() == "not assessed"
    assert standing.basis_words() == ""
    assert standing.basis_text() == "not assessed"
    with_lace = risk_standing("not-assessed", None, None, None, None, lace(4, date(2026, 12, 5)))
    # Any LACE suggests its band to a patient nobody has assessed, low included.
    assert with_lace.suggested_tier is RiskTier.low
    assert with_lace.describe(TODAY) == "not assessed; LACE 4 on 5 Dec suggests low"
    assert with_lace.basis_words(TODAY) == "; LACE 4 on 5 Dec suggests low"


@pytest.mark.parametrize(
    ("tier", "assessed", "words"),
    [
        ("high", True, "high risk"),
        ("moderate", True, "moderate risk"),
        (RiskTier.low, True, "low risk"),
        ("not-assessed", False, "risk not assessed"),
    ],
)
def test_risk_words(tier, assessed, words):
    assert is_assessed(tier) is assessed
    assert risk_words(tier) == words


def test_a_newer_lace_of_another_band_is_never_shown_bare():
    standing = risk_standing(
        "low",
        "score",
        "LACE 3 = L1 A0 C1 E1",
        "Alice Moreno",
        datetime(2026, 11, 1, 9),
        lace(14, date(2026, 12, 5)),
    )
    assert standing.suggested_tier is RiskTier.high
    assert standing.describe(TODAY) == ("low (LACE 3, 1 Nov); LACE 14 on 5 Dec suggests high")
    not_assessed = risk_standing("moderate", None, None, None, None, lace(14, date(2026, 12, 5)))
    assert not_assessed.describe(TODAY) == (
        "moderate, no score or reason yet; LACE 14 on 5 Dec suggests high"
    )


@pytest.mark.parametrize(
    ("tier", "source", "total", "offered", "question"),
    [
        (
            "high",
            "score",
            7,
            RiskTier.moderate,
            "LACE 7 = L2 A3 C1 E1: moderate risk; the tier is high. Set it to moderate?",
        ),
        (
            "moderate",
            "override",
            10,
            RiskTier.high,
            "LACE 10 = L2 A3 C1 E1: high risk; the tier is moderate. Set it to high?",
        ),
        (
            "moderate",
            None,
            7,
            RiskTier.moderate,
            "LACE 7 = L2 A3 C1 E1: moderate risk. Record LACE 7 as the basis of the moderate tier?",
        ),
        (
            "not-assessed",
            None,
            12,
            RiskTier.high,
            "LACE 12 = L2 A3 C1 E1: high risk; the risk tier is not assessed yet. Set it to high?",
        ),
        ("moderate", "score", 7, None, None),
        ("moderate", "override", 9, None, None),
        ("low", "score", 4, None, None),
    ],
)
def test_what_a_new_lace_offers(tier, source, total, offered, question):
    offer = lace_offer(tier, source, total, f"LACE {total} = L2 A3 C1 E1")
    if offered is None:
        assert offer is None
    else:
        assert (offer.tier, offer.question) == (offered, question)


def test_the_basis_on_its_own_for_a_report():
    score = risk_standing(
        "low", "score", "LACE 3 = L1 A0 C1 E1", None, datetime(2026, 11, 1, 9), lace(14, TODAY)
    )
    assert score.basis_text(TODAY) == "LACE 3, 1 Nov; LACE 14 on 7 Dec suggests high"
    override = risk_standing("high", "override", "lives alone", "Alice Moreno", None)
    assert override.basis_text() == "set by A. Moreno: lives alone"
    assert risk_standing("low", None, None, None, None).basis_text() == "no score or reason yet"
