"""Small pieces of wording shared by the header, the rounds card and the reports.

Pure: dates and names in, words out.
"""

from __future__ import annotations

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


def cut_at_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, marked with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


__all__ = ["cut_at_word", "initial_and_surname", "short_date"]
