"""Text cut at a word to the room it is drawn in, and table columns that share the free room.

DESIGN.md, "Words on screen": text that must be cut ends with "…", never
mid-word. Where the room is known only when the text is drawn (a table cell, a
header line), the cut happens then: :class:`CutAtWord` and :class:`CutLines`
are Rich renderables that cut at the width Rich gives them, so a wider
terminal shows more words. The cut itself is ``domain.wording``'s.

:func:`share_width` decides how wide each column of a table is: columns of
short values (dates, codes, numbers) keep their width, and the free room goes
to the text columns, the widest first, so a cut falls on the longest text and
never on a short one that would have fitted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from nursecase.domain.terminal_text import printable
from nursecase.domain.wording import ELLIPSIS, kept_before_cut

# Line breaks and tabs would break a one-line cell: each becomes one space.
_LINE_BREAKS = {code: " " for code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D)}


def one_line(text: str) -> str:
    """Text on one line, as long as it was: breaks as spaces, other controls shown."""
    if text.isprintable():
        return text
    return printable(text.translate(_LINE_BREAKS), keep_length=True)


def cut_plain(text: str, width: int) -> str:
    """A one-line string in at most ``width`` cells: whole, or cut at a word with "…"."""
    kept = kept_before_cut(text, width, cell_len)
    if kept is None:
        return text
    return text[:kept] + ELLIPSIS if width >= 1 else ""


def cut_line(text: Text, width: int) -> Text:
    """One line of styled text in at most ``width`` cells, cut at a word; styles are kept."""
    plain = text.plain
    flat = one_line(plain)
    if flat != plain:
        text = text.copy()
        text.plain = flat
    kept = kept_before_cut(flat, width, cell_len)
    if kept is None:
        return text
    if width < 1:
        return Text("", style=text.style)
    cut = text[:kept]
    cut.append(ELLIPSIS)  # in the text's own style, like the words before it
    return cut


class CutAtWord:
    """One line of text that is cut at a word to the width it is drawn in.

    ``str()`` is the whole text (what a test or a copy reads); only the
    drawing is cut.
    """

    __slots__ = ("text",)

    def __init__(self, text: Text | str) -> None:
        self.text = text if isinstance(text, Text) else Text(text)

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = cut_line(self.text, options.max_width)
        line.no_wrap = True
        line.end = ""
        yield line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_len(one_line(self.text.plain))
        return Measurement(min(width, 1), width)


class CutLines:
    """Lines of styled text, each cut at a word to the width it is drawn in (never wrapped)."""

    __slots__ = ("text",)

    def __init__(self, text: Text) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [cut_line(line, options.max_width) for line in self.text.split("\n")]
        joined = Text("\n").join(lines)
        joined.no_wrap = True
        joined.end = ""
        yield joined

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = [line.cell_len for line in self.text.split("\n")] or [0]
        return Measurement(min(max(widths), 1), max(widths))


def share_width(
    naturals: Sequence[int], flexible: Sequence[bool], room: int, minimum: int = 8
) -> list[int]:
    """Each column's width when ``room`` cells are free for the columns' contents.

    ``naturals`` are the widths the columns' whole contents need; columns not
    ``flexible`` (short values) keep them. The flexible (text) columns share
    what is left: when it is more than they need, the widest of them takes the
    rest (the table fills its width); when it is less, the widest are narrowed
    first, each to the same width, until they fit, so narrower texts stay
    whole. A flexible column keeps ``minimum`` cells (or its natural width,
    if smaller) whatever the room: a table narrower than that scrolls.
    """
    widths = list(naturals)
    texts = [index for index, is_text in enumerate(flexible) if is_text]
    if not texts:
        return widths
    free = room - sum(width for index, width in enumerate(widths) if not flexible[index])
    wanted = sum(widths[index] for index in texts)
    widest = max(texts, key=lambda index: widths[index])
    if wanted <= free:
        widths[widest] += free - wanted
        return widths
    # Find the largest cap that every text column can be held to and still fit.
    floor = [min(widths[index], minimum) for index in texts]
    low, high = 0, max(widths[index] for index in texts)
    while low < high:
        cap = (low + high + 1) // 2
        used = sum(
            max(min(widths[index], cap), least) for index, least in zip(texts, floor, strict=True)
        )
        if used <= free:
            low = cap
        else:
            high = cap - 1
    for index, least in zip(texts, floor, strict=True):
        widths[index] = max(min(widths[index], low), least)
    # The few cells a cap leaves over go to the widest text column.
    spare = free - sum(widths[index] for index in texts)
    if spare > 0:
        widths[widest] += spare
    return widths


__all__ = ["CutAtWord", "CutLines", "cut_line", "cut_plain", "one_line", "share_width"]
