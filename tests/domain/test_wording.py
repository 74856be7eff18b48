"""Cutting text at a word: the ellipsis counts in the limit, a word is never cut in two."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from nursecase.domain.wording import cut_at_word

PHRASE = "Hospice / palliative care"


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        (PHRASE, 25, PHRASE),  # exact fit: whole, no ellipsis
        (PHRASE, 24, "Hospice / palliative…"),  # one over: the last word goes
        (PHRASE, 21, "Hospice / palliative…"),  # the cut ends just before a space
        (PHRASE, 20, "Hospice…"),  # "palliativ" would be half a word; "/" dangles
        ("Call back, then chase", 11, "Call back…"),  # the comma before the cut goes
        ("Teach daily… · Nurse · weekly", 20, "Teach daily…"),  # one ellipsis, no "·"
        ("Hospitalisation", 6, "Hospi…"),  # no space: one long word is cut inside
        ("Hospitalisation", 1, "…"),
        ("Hospitalisation", 0, ""),
        ("  two\nlines\tand  spaces ", 50, "two lines and spaces"),  # one line
    ],
)
def test_cut_at_word(text, limit, shown):
    assert cut_at_word(text, limit) == shown
    assert len(shown) <= limit


@pytest.mark.parametrize("limit", range(1, 30))
def test_the_result_never_exceeds_the_limit_and_ends_whole_words(limit):
    shown = cut_at_word(PHRASE, limit)
    assert len(shown) <= limit
    if shown.endswith("…") and " " in shown:
        # Every word before the ellipsis is a whole word of the phrase.
        assert set(shown[:-1].split()) <= set(PHRASE.split())


def test_wide_characters_count_as_two_cells_when_measured_so():
    # Each of these characters takes two terminal cells.
    text = "看护 计划 复查"
    assert cut_at_word(text, 7, cell_len) == "看护…"
    assert cell_len(cut_at_word(text, 7, cell_len)) <= 7
    assert cut_at_word(text, 14, cell_len) == text
