"""No code of a code list appears as a word on any snapshot screen (DESIGN.md "Words on screen").

Every SVG snapshot under ``__snapshots__`` is a screen the snapshot tests render
with a frozen clock and compare byte for byte, so reading their text here checks
every one of those screens without rendering them again. A code is looked for
when a person would tell it from its label: a hyphenated code ("no-answer"), a
code the label does not contain ("onhold" for "On hold", "pcp" for "Primary
care physician") and a lower-case acronym ("asap" for "ASAP").
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from nursecase.domain.flags import Flag
from tests.code_lists import all_code_lists

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
#: Width of one terminal cell in Textual's SVG export, in SVG units.
CELL_WIDTH = 12.2
_TEXT = re.compile(
    r'<text class="terminal-[^"]*" x="([0-9.]+)" y="[0-9.]+"[^>]*'
    r'clip-path="url\(#terminal-line-([0-9]+)\)">([^<]*)</text>'
)


def screen_lines(svg: str) -> list[str]:
    """The screen's text, line by line, each piece at its own column."""
    lines: dict[int, list[str]] = {}
    for x, line, text in _TEXT.findall(svg):
        cells = lines.setdefault(int(line), [])
        column = round(float(x) / CELL_WIDTH)
        text = html.unescape(text).replace("\xa0", " ")
        if len(cells) < column:
            cells.extend(" " * (column - len(cells)))
        cells[column : column + len(text)] = list(text)
    return ["".join(lines[number]) for number in sorted(lines)]


def telling_codes() -> dict[str, str]:
    """Codes a reader would tell from their label, each with the label it should read as."""
    telling: dict[str, str] = {}
    for code_list in [*all_code_lists(), Flag]:
        for member in code_list:
            code, label = str(member.value), member.label
            acronym = label.isupper() and len(label) <= 4 and label.lower() == code
            if "-" in code or acronym or not re.search(rf"\b{re.escape(code)}\b", label.lower()):
                telling[code] = label
    # Codes that are also everyday English on a screen: "none" (no suicide risk
    # identified) is what a history line says of an empty value, "login" and
    # "view" are words of sentences ("a login screen"); looked for as codes they
    # would only mislead.
    for word in ("none", "login", "view"):
        telling.pop(word, None)
    return telling


TELLING = telling_codes()
_CODE_WORD = re.compile(
    r"(?<![\w.-])("
    + "|".join(sorted(map(re.escape, TELLING), key=len, reverse=True))
    + r")(?![\w-])"
)
SNAPSHOT_FILES = sorted(SNAPSHOTS.rglob("*.svg"))


def test_the_codes_looked_for_include_the_ones_a_nurse_met():
    for code in (
        "no-answer",
        "left-message",
        "onhold",
        "pcp",
        "asap",
        "high-priority",
        "in-progress",
    ):
        assert code in TELLING
    assert len(SNAPSHOT_FILES) > 30
    assert _CODE_WORD.search("Outcome: no-answer") and not _CODE_WORD.search("No answer")


@pytest.mark.parametrize("svg", SNAPSHOT_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_no_code_is_a_word_on_the_screen(svg):
    found = [
        f"{match.group(1)!r} (say {TELLING[match.group(1)]!r}) in: {line.strip()}"
        for line in screen_lines(svg.read_text(encoding="utf-8"))
        for match in _CODE_WORD.finditer(line)
    ]
    assert not found, "\n".join(found)
