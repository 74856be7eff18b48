"""Render a :class:`~nursecase.reports.document.Document` as a printable PDF (fpdf2).

Layout: US Letter, 18 mm margins, an 11 pt body, bold headings, tables whose
cells wrap and whose header row is repeated at the top of every page the table
runs onto (a row too long for the rest of a page continues on the next one),
and a footer on every page with the title, the printed date and "Page n of N"
(the title on each page keeps a loose page with its patient).

The text is wrapped and placed here, line by line, with fpdf2 drawing only
lines, boxes and pages: fpdf2's own ``multi_cell``/``table`` re-measure a line
for every character they add to it, which costs seconds for a few pages of
text and refuses a table row taller than a page.

Fonts: DejaVu Sans (regular and bold) ships inside the package
(:data:`PACKAGED_FONTS`) and is embedded; the system's copy is the fallback
(:data:`FONT_CANDIDATES`). It draws most European, Greek and Cyrillic text and
many symbols. Characters it has no glyph for (for example Chinese or Japanese)
print as "?". Without DejaVu the PDF falls back to the core Helvetica font,
which only knows Windows-1252 (Western European) characters: a letter outside
it loses its accent where it can ("Ș" prints as "S"), any other character
prints as "?". Either way the text is replaced before fpdf2 sees it, so fpdf2
never logs a "missing glyph" warning quoting patient text.

Output is deterministic: the PDF's creation date is ``created`` and nothing
else varies, so two renders of one document with one ``created`` are equal
byte for byte.

fpdf2 costs about 0.35 s to import, so it is imported inside :func:`render_pdf`
only: importing this module is free and the CLI stays fast.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nursecase.reports.document import BulletList, Document, Heading, Paragraph, Table

FontPair = tuple[str | Path, str | Path]
"""The paths of a font's regular and bold faces."""

#: DejaVu Sans as shipped inside the package (Bitstream Vera licence, see its folder).
PACKAGED_FONTS: FontPair = (
    str(Path(__file__).parent / "fonts" / "DejaVuSans.ttf"),
    str(Path(__file__).parent / "fonts" / "DejaVuSans-Bold.ttf"),
)

FONT_CANDIDATES: tuple[FontPair, ...] = (
    PACKAGED_FONTS,
    # Debian, Ubuntu (fonts-dejavu-core)
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    # Fedora, RHEL
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    # Arch
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    # openSUSE
    ("/usr/share/fonts/truetype/DejaVuSans.ttf", "/usr/share/fonts/truetype/DejaVuSans-Bold.ttf"),
    # FreeBSD
    (
        "/usr/local/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/local/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    ),
    # macOS, installed for the user or for everyone
    ("~/Library/Fonts/DejaVuSans.ttf", "~/Library/Fonts/DejaVuSans-Bold.ttf"),
    ("/Library/Fonts/DejaVuSans.ttf", "/Library/Fonts/DejaVuSans-Bold.ttf"),
)
"""Where DejaVu Sans is looked for, first found wins: (regular, bold) per system."""

PAGE_FORMAT = "Letter"
MARGIN_MM = 18.0
FOOTER_HEIGHT_MM = 10.0
"""Room kept free above the bottom margin for the footer line."""
BODY_SIZE = 11.0
TITLE_SIZE = 18.0
SUBTITLE_SIZE = 12.5
HEADING_SIZES = {1: 15.0, 2: 13.0, 3: 11.5}
FOOTER_SIZE = 8.5
LINE_SPACING = 1.35
"""Line height as a multiple of the font size."""
CELL_PADDING_MM = 1.2
BULLET_INDENT_MM = 2.0
BULLET_WIDTH_MM = 5.0
BORDER_WIDTH_MM = 0.2
BORDER_GREY = 150
HEADING_FILL_GREY = 232
FOOTER_GREY = 90
#: A row that does not fit the rest of a page moves to the next page whole,
#: unless the rest of the page holds at least this many of its lines.
MIN_SPLIT_LINES = 3

_POINT_MM = 25.4 / 72
_UNICODE_FAMILY = "DejaVu"
_CORE_FAMILY = "Helvetica"
_CORE_ENCODING = "cp1252"


def _line_height(size: float) -> float:
    return size * _POINT_MM * LINE_SPACING


def _printable(text: str) -> str:
    """NFC text with tabs as spaces and other control characters (but newlines) dropped."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\t", " "))
    return "".join(
        character
        for character in text
        if character == "\n" or unicodedata.category(character) != "Cc"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _long_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year} {moment:%H:%M}"


# ------------------------------------------------------------------- typefaces


@dataclass(frozen=True)
class _Typeface:
    """The font family the PDF is set in and which characters it can draw."""

    family: str
    drawable: Callable[[str], bool]
    bullet: str = "\u2022"
    ellipsis: str = "\u2026"

    def clean(self, text: str) -> str:
        """The text with every character the font cannot draw replaced."""
        return "".join(self._character(character) for character in _printable(text))

    def _character(self, character: str) -> str:
        if character == "\n" or self.drawable(character):
            return character
        # Try the letter without its accent ("Ș" -> "S") before giving up.
        simpler = "".join(
            part
            for part in unicodedata.normalize("NFKD", character)
            if not unicodedata.combining(part) and self.drawable(part)
        )
        return simpler or "?"


def _core_drawable(character: str) -> bool:
    try:
        character.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _choose_typeface(pdf: Any, candidates: Sequence[FontPair]) -> _Typeface:
    """Register the first (regular, bold) pair that exists and loads; else core Helvetica."""
    for number, (regular, bold) in enumerate(candidates):
        regular_path = Path(regular).expanduser()
        bold_path = Path(bold).expanduser()
        if not (regular_path.is_file() and bold_path.is_file()):
            continue
        family = f"{_UNICODE_FAMILY}{number}"
        try:
            pdf.add_font(family, "", str(regular_path))
            pdf.add_font(family, "B", str(bold_path))
        except Exception:  # noqa: BLE001 - a damaged font file must not stop the printout
            continue
        key = family.lower()
        covered = frozenset(pdf.fonts[key].cmap) & frozenset(pdf.fonts[key + "B"].cmap)
        return _Typeface(family, lambda character, covered=covered: ord(character) in covered)
    pdf.core_fonts_encoding = _CORE_ENCODING
    return _Typeface(_CORE_FAMILY, _core_drawable)


# ---------------------------------------------------------------------- layout


class _Layout:
    """Places wrapped lines, boxes and page breaks on an fpdf2 document, top to bottom."""

    def __init__(self, pdf: Any, typeface: _Typeface, table_size: float = BODY_SIZE) -> None:
        self.pdf = pdf
        self.typeface = typeface
        self.table_size = table_size
        self.top = pdf.t_margin
        self.bottom = pdf.h - MARGIN_MM - FOOTER_HEIGHT_MM
        self.left = pdf.l_margin
        self.width = pdf.epw
        self.y = self.top
        self.style = ""
        self.size = BODY_SIZE
        # Width of each character at 1 pt, per style: a line's width is their
        # sum (fpdf2 applies no kerning without text shaping), so measuring is linear.
        self._em: dict[tuple[str, str], float] = {}

    # -------------------------------------------------------------- primitives

    def font(self, size: float, bold: bool = False) -> float:
        """Set the font; return its line height in mm."""
        self.style = "B" if bold else ""
        self.size = size
        self.pdf.set_font(self.typeface.family, style=self.style, size=size)
        return _line_height(size)

    def measure(self, text: str) -> float:
        """The width of ``text`` in mm in the current font."""
        total = 0.0
        em = self._em
        for character in text:
            key = (self.style, character)
            width = em.get(key)
            if width is None:
                width = self.pdf.get_string_width(character) / self.size
                em[key] = width
            total += width
        return total * self.size

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` (already cleaned) broken into lines no wider than ``width`` mm."""
        space = self.measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            words: list[str] = []
            used = 0.0
            # Split on plain spaces only: a no-break space ("5\u00a0mg") holds its words together.
            for word in filter(None, paragraph.split(" ")):
                word_width = self.measure(word)
                if word_width > width:
                    # A word longer than the line (a URL, a long code) is cut by character.
                    pieces = self._cut(word, width)
                    if words:
                        lines.append(" ".join(words))
                    lines.extend(pieces[:-1])
                    words, used = [pieces[-1]], self.measure(pieces[-1])
                elif words and used + space + word_width > width:
                    lines.append(" ".join(words))
                    words, used = [word], word_width
                else:
                    used += (space if words else 0.0) + word_width
                    words.append(word)
            lines.append(" ".join(words))
        return lines

    def _cut(self, word: str, width: float) -> list[str]:
        pieces: list[str] = []
        piece, used = "", 0.0
        for character in word:
            character_width = self.measure(character)
            if piece and used + character_width > width:
                pieces.append(piece)
                piece, used = "", 0.0
            piece += character
            used += character_width
        pieces.append(piece)
        return pieces

    def at_page_top(self) -> bool:
        return self.y <= self.top

    def new_page(self) -> None:
        self.pdf.add_page()
        self.pdf.set_font(self.typeface.family, style=self.style, size=self.size)
        self.y = self.top

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one."""
        if self.y + height > self.bottom and not self.at_page_top():
            self.new_page()

    def space(self, height: float) -> None:
        """Vertical space, dropped at the top of a page."""
        if not self.at_page_top():
            self.y = min(self.y + height, self.bottom)

    def line(self, x: float, text: str, height: float) -> None:
        """Draw one line of text in a line box of ``height`` starting at ``self.y``."""
        if text:
            # The same baseline fpdf2's cell() uses: centred on the box.
            baseline = self.y + 0.5 * height + 0.3 * self.pdf.font_size
            self.pdf.text(x, baseline, text)

    def lines(self, lines: list[str], x: float, height: float) -> None:
        """Draw lines one under the other, breaking pages between them."""
        for text in lines:
            self.ensure(height)
            self.line(x, text, height)
            self.y += height

    # ------------------------------------------------------------------ blocks

    def title(self, document: Document) -> None:
        height = self.font(TITLE_SIZE, bold=True)
        self.lines(
            self.wrap(self.typeface.clean(_one_line(document.title)), self.width), self.left, height
        )
        if document.subtitle and document.subtitle.strip():
            self.space(1)
            height = self.font(SUBTITLE_SIZE)
            text = self.typeface.clean(_one_line(document.subtitle))
            self.lines(self.wrap(text, self.width), self.left, height)
        if document.meta:
            self.space(3)
            self.meta(document.meta)
        self.space(4)

    def meta(self, meta: tuple[tuple[str, str], ...]) -> None:
        """Label/value lines: bold labels in one column, values wrapping beside them."""
        height = self.font(BODY_SIZE, bold=True)
        labels = [self.typeface.clean(_one_line(label) + ":") for label, _ in meta]
        label_width = min(max(self.measure(label) for label in labels) + 3, self.width / 3)
        for label, (_, value) in zip(labels, meta, strict=True):
            self.font(BODY_SIZE)
            values = self.wrap(self.typeface.clean(value.strip()), self.width - label_width)
            self.ensure(height)
            self.font(BODY_SIZE, bold=True)
            self.line(self.left, self._fit(label, label_width - 1), height)
            self.font(BODY_SIZE)
            self.lines(values, self.left + label_width, height)

    def heading(self, block: Heading) -> None:
        size = HEADING_SIZES[block.level]
        self.space(3 if block.level == 1 else 1.5)
        # Keep a heading with the first lines under it, not alone at a page's foot.
        self.ensure(_line_height(size) + 3 * _line_height(BODY_SIZE))
        height = self.font(size, bold=True)
        text = self.typeface.clean(_one_line(block.text))
        self.lines(self.wrap(text, self.width), self.left, height)
        self.space(1)

    def paragraph(self, block: Paragraph) -> None:
        height = self.font(BODY_SIZE)
        text = self.typeface.clean(block.text.strip())
        if text:
            self.lines(self.wrap(text, self.width), self.left, height)
            self.space(2)

    def bullets(self, block: BulletList) -> None:
        height = self.font(BODY_SIZE)
        text_x = self.left + BULLET_INDENT_MM + BULLET_WIDTH_MM
        text_width = self.width - BULLET_INDENT_MM - BULLET_WIDTH_MM
        for item in block.items:
            lines = self.wrap(self.typeface.clean(item.strip()), text_width)
            self.ensure(height)
            self.line(self.left + BULLET_INDENT_MM, self.typeface.bullet, height)
            self.lines(lines, text_x, height)
        self.space(2)

    def table(self, block: Table) -> None:
        weights = block.widths or tuple(1.0 for _ in block.columns)
        widths = [self.width * weight / sum(weights) for weight in weights]
        inner = [max(width - 2 * CELL_PADDING_MM, 1.0) for width in widths]
        height = self.font(self.table_size, bold=True)
        header = [
            self.wrap(self.typeface.clean(column), room)
            for column, room in zip(block.columns, inner, strict=True)
        ]
        header_height = max(len(lines) for lines in header) * height + 2 * CELL_PADDING_MM
        # The header starts on the page of the first row's first lines.
        self.ensure(header_height + MIN_SPLIT_LINES * height + 2 * CELL_PADDING_MM)
        self._table_header(header, widths, height)
        # How many row lines a fresh page holds under the header.
        page_room = max(
            math.floor((self.bottom - self.top - header_height - 2 * CELL_PADDING_MM) / height), 1
        )
        for row in block.rows:
            self.font(self.table_size)
            cells = [
                self.wrap(self.typeface.clean(cell), room)
                for cell, room in zip(row, inner, strict=True)
            ]
            self._table_row(
                cells, widths, height, page_room, lambda: self._table_header(header, widths, height)
            )
        self.space(3)

    def _table_row(
        self,
        cells: list[list[str]],
        widths: list[float],
        height: float,
        page_room: int,
        repeat_header: Callable[[], None],
    ) -> None:
        """One row; where it does not fit, it moves or continues under a repeated header.

        A row that fits a fresh page moves there whole; a longer one (a long
        note) fills the rest of this page and continues on the next, so no row
        is ever too tall to print.
        """
        total = max(len(lines) for lines in cells)
        start = 0
        fresh_page = False
        while True:
            room = math.floor((self.bottom - self.y - 2 * CELL_PADDING_MM) / height + 1e-9)
            remaining = total - start
            if remaining <= room:
                self._table_box(cells, widths, height, start, total, fill=False)
                return
            moves_whole = start == 0 and remaining <= page_room
            if not fresh_page and (room < MIN_SPLIT_LINES or moves_whole):
                self.new_page()
                repeat_header()
                fresh_page = True
                continue
            # Draw what fits (at least one line, so a fresh page always makes progress).
            end = start + max(room, 1)
            self._table_box(cells, widths, height, start, end, fill=False)
            start = end
            self.new_page()
            repeat_header()
            fresh_page = True

    def _table_header(self, header: list[list[str]], widths: list[float], height: float) -> None:
        self.font(self.table_size, bold=True)
        self._table_box(header, widths, height, 0, max(len(lines) for lines in header), fill=True)
        self.font(self.table_size)

    def _table_box(
        self,
        cells: list[list[str]],
        widths: list[float],
        height: float,
        start: int,
        end: int,
        *,
        fill: bool,
    ) -> None:
        """Lines ``start:end`` of every cell of a row, in bordered boxes of equal height."""
        pdf = self.pdf
        box_height = (end - start) * height + 2 * CELL_PADDING_MM
        x = self.left
        for lines, width in zip(cells, widths, strict=True):
            pdf.rect(x, self.y, width, box_height, style="DF" if fill else "D")
            for offset, text in enumerate(lines[start:end]):
                top = self.y + CELL_PADDING_MM + offset * height
                baseline = top + 0.5 * height + 0.3 * pdf.font_size
                if text:
                    pdf.text(x + CELL_PADDING_MM, baseline, text)
            x += width
        self.y += box_height

    def _fit(self, text: str, width: float) -> str:
        """The text, shortened with an ellipsis so that it fits ``width`` on one line."""
        if self.measure(text) <= width:
            return text
        ellipsis = self.typeface.ellipsis
        while text and self.measure(text + ellipsis) > width:
            text = text[:-1]
        return text.rstrip() + ellipsis

    def footers(self, text: str) -> None:
        """Write the footer of every page once the page count is known."""
        pdf = self.pdf
        self.font(FOOTER_SIZE)
        pdf.set_text_color(FOOTER_GREY)
        pages = pdf.pages_count
        baseline = pdf.h - MARGIN_MM - 0.3 * _line_height(FOOTER_SIZE)
        widest_page_text = self.measure(f"Page {pages} of {pages}")
        left_text = self._fit(text, self.width - widest_page_text - 4)
        for page in range(1, pages + 1):
            pdf.page = page
            page_text = f"Page {page} of {pages}"
            pdf.text(self.left, baseline, left_text)
            pdf.text(self.left + self.width - self.measure(page_text), baseline, page_text)
        pdf.page = pages
        pdf.set_text_color(0)

    def block(self, block: object) -> None:
        if isinstance(block, Heading):
            self.heading(block)
        elif isinstance(block, Paragraph):
            self.paragraph(block)
        elif isinstance(block, BulletList):
            self.bullets(block)
        elif isinstance(block, Table):
            self.table(block)
        else:
            raise TypeError(f"not a document block: {type(block).__name__}")


def render_pdf(
    document: Document,
    *,
    created: datetime,
    font_candidates: Sequence[FontPair] = FONT_CANDIDATES,
    landscape: bool = False,
    table_size: float = BODY_SIZE,
) -> bytes:
    """The document as PDF bytes, printed at ``created`` (also the PDF's creation date).

    ``font_candidates`` lists (regular, bold) font paths to try in order; when
    none of them exists the core Helvetica font is used (Windows-1252 text
    only; see the module docstring). ``landscape`` turns the page sideways and
    ``table_size`` sets the point size of table text, for tables with many
    columns (the layout follows the page's width; the rest keeps its sizes).
    """
    from fpdf import FPDF

    orientation = "landscape" if landscape else "portrait"
    pdf = FPDF(orientation=orientation, unit="mm", format=PAGE_FORMAT)
    typeface = _choose_typeface(pdf, font_candidates)
    pdf.set_creation_date(created)
    pdf.set_creator("nursecase")
    title = typeface.clean(_one_line(document.title))
    pdf.set_title(title)
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    # Page breaks are placed by the layout, line by line.
    pdf.set_auto_page_break(auto=False)
    pdf.set_line_width(BORDER_WIDTH_MM)
    pdf.set_draw_color(BORDER_GREY)
    pdf.set_fill_color(HEADING_FILL_GREY)
    pdf.add_page()
    layout = _Layout(pdf, typeface, table_size)
    layout.title(document)
    for block in document.blocks:
        layout.block(block)
    layout.footers(typeface.clean(f"{title} \u00b7 printed {_long_date(created)}"))
    return bytes(pdf.output())


__all__ = ["FONT_CANDIDATES", "render_pdf"]
