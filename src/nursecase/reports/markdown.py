"""Render a :class:`~nursecase.reports.document.Document` as GitHub-flavoured Markdown.

Patient text is text, not markup: every character Markdown would read as
emphasis, a link, HTML, a table border or the start of a heading or list is
backslash-escaped, so "*Bob*", "[PRN]", "<b>" and "a | b" print literally.
Line breaks inside a paragraph or list item become hard line breaks; inside a
table cell, where a newline would end the row, they become ``<br>``.

The document title is the only level-1 heading; block headings of levels 1-3
become ``##`` to ``####``. Output is deterministic (same document, same text)
and ends with a single newline.
"""

from __future__ import annotations

import re
import unicodedata

from nursecase.reports.document import BulletList, Document, Heading, Paragraph, Table

# Characters that mean something anywhere in a line (emphasis, code, links,
# HTML and entities, table borders, strikethrough, heading closers).
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
# Characters that mean something only at the start of a line: bullets, setext
# underlines ("===", "---") and ordered-list numbers ("1." or "1)").
_LINE_START_MARK = re.compile(r"^([-+=])")
_ORDERED_MARK = re.compile(r"^(\d{1,9})([.)])")
# Hard line break: a backslash at the end of the line (CommonMark).
_HARD_BREAK = "\\\n"
_CELL_BREAK = "<br>"


def _printable(text: str) -> str:
    """Tabs to spaces; other control characters (escape codes, NUL) dropped."""
    text = text.replace("\t", " ")
    return "".join(
        character
        for character in text
        if character == "\n" or unicodedata.category(character) != "Cc"
    )


def _lines(text: str) -> list[str]:
    """The text's lines, stripped (leading spaces would turn a line into a code block)."""
    return [line.strip() for line in _printable(text).splitlines()]


def escape_inline(text: str) -> str:
    """Escape the characters Markdown reads as markup inside one line of text."""
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def escape_line(text: str) -> str:
    """Escape one line that starts a Markdown line (also list and underline markers)."""
    escaped = escape_inline(text)
    escaped = _ORDERED_MARK.sub(r"\1\\\2", escaped)
    return _LINE_START_MARK.sub(r"\\\1", escaped)


def _one_line(text: str) -> str:
    """The text on one line: its lines joined by spaces."""
    return " ".join(line for line in _lines(text) if line)


def _paragraphs(text: str) -> list[str]:
    """A paragraph's text as Markdown paragraphs: blank lines split, line breaks kept."""
    paragraphs: list[list[str]] = [[]]
    for line in _lines(text):
        if line:
            paragraphs[-1].append(escape_line(line))
        elif paragraphs[-1]:
            paragraphs.append([])
    return [_HARD_BREAK.join(lines) for lines in paragraphs if lines]


def _bullets(items: tuple[str, ...]) -> str:
    rendered = []
    for item in items:
        lines = [escape_line(line) for line in _lines(item) if line]
        if lines:
            rendered.append("- " + (_HARD_BREAK + "  ").join(lines))
    return "\n".join(rendered)


def _cell(text: str) -> str:
    return _CELL_BREAK.join(escape_inline(line) for line in _lines(text) if line)


def _table(table: Table) -> str:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"

    lines = [row(table.columns), "| " + " | ".join("---" for _ in table.columns) + " |"]
    lines.extend(row(cells) for cells in table.rows)
    return "\n".join(lines)


def _block(block: object) -> str:
    if isinstance(block, Heading):
        text = _one_line(block.text)
        return f"{'#' * (block.level + 1)} {escape_inline(text)}" if text else ""
    if isinstance(block, Paragraph):
        return "\n\n".join(_paragraphs(block.text))
    if isinstance(block, BulletList):
        return _bullets(block.items)
    if isinstance(block, Table):
        return _table(block)
    raise TypeError(f"not a document block: {type(block).__name__}")


def render_markdown(document: Document) -> str:
    """The document as GitHub-flavoured Markdown text (deterministic)."""
    parts = [f"# {escape_inline(_one_line(document.title))}"]
    subtitle = _one_line(document.subtitle or "")
    if subtitle:
        parts.append(f"*{escape_inline(subtitle)}*")
    if document.meta:
        parts.append(
            "\n".join(
                f"- **{escape_inline(_one_line(label))}:** {escape_inline(_one_line(value))}"
                for label, value in document.meta
            )
        )
    parts.extend(_block(block) for block in document.blocks)
    return "\n\n".join(part for part in parts if part) + "\n"


__all__ = ["escape_inline", "escape_line", "render_markdown"]
