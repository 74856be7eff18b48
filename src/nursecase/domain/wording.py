"""Small pieces of wording shared by the header, the rounds card and the reports.

Pure: dates and names in, words out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date


def short_date(day: date, today: date | None = None) -> str:
    """ "1 Oct", as a nurse writes it; "1 Oct 2025" when not in ``today``'s year."""
    text = f"{day.day} {day:%b}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return text


def initial_and_surname(display_name: str) -> str:
    """ "Alice Moreno" -> "A. Moreno"; a one-word name stays as it is."""
    words = display_name.split()
    if len(words) < 2:
        return display_name.strip()
    return f"{words[0][0]}. {words[-1]}"


#: The mark of a cut: one character, counted in the limit.
ELLIPSIS = "…"

#: Punctuation left dangling before the ellipsis is dropped ("reply," -> "reply…"),
#: and so is an earlier ellipsis or a separator dot ("after… ·" -> "after…").
_DANGLING = " ,;:.-–—/·…"


def cut_at_word(text: str, limit: int, width: Callable[[str], int] = len) -> str:
    """``text`` on one line in at most ``limit`` cells, cut at a word and marked with "…".

    White space runs become one space. Text that fits is returned whole; a cut
    ends at the last whole word that leaves room for the ellipsis, which counts
    in the limit: "Hospice / palliative care" in 21 is "Hospice / palliative…",
    in 20 "Hospice…" (a dangling "/" or comma goes too). A first word longer
    than the limit has no word to end at: it is cut inside, still marked.
    ``width`` measures a piece of text in terminal cells (``len`` by default;
    a screen passes Rich's ``cell_len`` so wide characters count as two).
    """
    text = " ".join(text.split())
    kept = kept_before_cut(text, limit, width)
    if kept is None:
        return text
    return text[:kept] + ELLIPSIS if limit >= 1 else ""


def kept_before_cut(text: str, limit: int, width: Callable[[str], int] = len) -> int | None:
    """How many characters of one-line ``text`` stay before the "…" of a cut at a word.

    None when the text fits in ``limit`` cells whole. For styled text, whose
    styles are tied to character positions, so that the caller keeps them
    (:func:`cut_at_word` is the same cut for plain text).
    """
    if width(text) <= limit:
        return None
    if limit <= 1:
        return 0
    end = _fitting_prefix(text, limit - 1, width)
    cut = text[:end]
    # The cut falls inside a word unless the next character starts a new one.
    if text[end] != " " and " " in cut.strip(" "):
        cut = cut[: cut.rstrip(" ").rindex(" ")]
    kept = cut.rstrip(_DANGLING)
    return len(kept) if kept else len(text[:end].rstrip(" "))


def _fitting_prefix(text: str, room: int, width: Callable[[str], int]) -> int:
    """How many characters of ``text`` fit in ``room`` cells."""
    if width is len:
        return room
    used = 0
    for index, character in enumerate(text):
        used += width(character)
        if used > room:
            return index
    return len(text)


__all__ = ["ELLIPSIS", "cut_at_word", "kept_before_cut", "initial_and_surname", "short_date"]
