"""The PDF writer: a real PDF, stable bytes, tables across pages, any text without a crash."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from nursecase.reports.document import BulletList, Document, Heading, Paragraph, Table
from nursecase.reports.pdf import FONT_CANDIDATES, PACKAGED_FONTS, render_pdf

CREATED = datetime(2026, 11, 27, 9, 0)
#: No such fonts: the writer must fall back to the core Helvetica font.
NO_FONTS = [("/no/such/folder/Sans.ttf", "/no/such/folder/Sans-Bold.ttf")]


def page_count(data: bytes) -> int:
    """The number of page objects (``/Type /Page``, not ``/Type /Pages``)."""
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def page_text(data: bytes) -> bytes:
    """Every content stream, decompressed: with the core font the text is readable there."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S)
    decoded = []
    for stream in streams:
        try:
            decoded.append(zlib.decompress(stream))
        except zlib.error:
            continue  # an embedded font or another binary stream
    return b"\n".join(decoded)


def shown_strings(data: bytes) -> list[bytes]:
    """The strings drawn with Tj, in page order (core font only)."""
    return re.findall(rb"\((.*?)\) Tj", page_text(data))


def sample_document(rows: int = 3) -> Document:
    return Document(
        title="Care plan for Linh Nguyen",
        subtitle="Heart failure plan",
        meta=(("Date of birth", "March 4, 1948"), ("MRN", "MRN-1")),
        blocks=(
            Heading("Circulation"),
            Paragraph("Weigh yourself every morning.\nWrite it down."),
            Heading("What you will do", level=2),
            BulletList(("Weigh daily.", "Take a walk " * 40)),
            Table(
                ("When", "What"),
                tuple(
                    (f"day {number}", f"visit {number} " * (number % 12)) for number in range(rows)
                ),
                widths=(1, 4),
            ),
        ),
    )


@pytest.mark.parametrize("fonts", [FONT_CANDIDATES, NO_FONTS], ids=["dejavu", "helvetica"])
def test_it_is_a_pdf(fonts):
    data = render_pdf(sample_document(), created=CREATED, font_candidates=fonts)
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert page_count(data) == 1
    assert b"/CreationDate (D:20261127090000" in data


def test_the_packaged_unicode_font_is_embedded_on_every_install():
    # The font ships inside the package: no system font is needed.
    assert FONT_CANDIDATES[0] == PACKAGED_FONTS
    assert all(Path(path).is_file() for path in PACKAGED_FONTS)
    data = render_pdf(sample_document(), created=CREATED, font_candidates=(PACKAGED_FONTS,))
    assert b"DejaVuSans" in data
    fallback = render_pdf(sample_document(), created=CREATED, font_candidates=NO_FONTS)
    assert b"DejaVuSans" not in fallback and b"/Helvetica" in fallback


@pytest.mark.parametrize("fonts", [FONT_CANDIDATES, NO_FONTS], ids=["dejavu", "helvetica"])
def test_same_created_same_bytes(fonts):
    first = render_pdf(sample_document(40), created=CREATED, font_candidates=fonts)
    second = render_pdf(sample_document(40), created=CREATED, font_candidates=fonts)
    assert first == second
    later = render_pdf(
        sample_document(40), created=datetime(2026, 11, 28, 9, 0), font_candidates=fonts
    )
    assert later != first


def test_title_printed_date_and_page_numbers_on_every_page():
    data = render_pdf(sample_document(150), created=CREATED, font_candidates=NO_FONTS)
    pages = page_count(data)
    assert pages >= 3
    assert re.search(rb"/Count %d\b" % pages, data)
    strings = shown_strings(data)
    assert [text for text in strings if text.startswith(b"Page ")] == [
        b"Page %d of %d" % (number, pages) for number in range(1, pages + 1)
    ]
    footer = b"Care plan for Linh Nguyen \xb7 printed November 27, 2026 09:00"
    assert strings.count(footer) == pages
    assert strings[0] == b"Care plan for Linh Nguyen"
    assert b"Heart failure plan" in strings


def test_a_long_table_repeats_its_header_on_every_page_it_reaches():
    data = render_pdf(sample_document(150), created=CREATED, font_candidates=NO_FONTS)
    strings = shown_strings(data)
    # The table starts on page 1 and runs to the last page: one header per page.
    assert strings.count(b"When") == page_count(data)
    assert strings.count(b"What") == page_count(data)
    rows = [text for text in strings if text.startswith(b"day ")]
    assert rows == [b"day %d" % number for number in range(150)]


def test_a_cell_longer_than_a_page_continues_on_the_next_pages():
    note = " ".join(f"word{number}" for number in range(4000))
    document = Document("Notes", blocks=(Table(("Date", "Note"), (("Nov 2", note),)),))
    data = render_pdf(document, created=CREATED, font_candidates=NO_FONTS)
    pages = page_count(data)
    assert pages >= 3
    strings = shown_strings(data)
    assert strings.count(b"Note") == pages
    # Every word is printed once, in order.
    words = b" ".join(text for text in strings if text.startswith(b"word")).split()
    assert words == [b"word%d" % number for number in range(4000)]


def test_a_long_paragraph_wraps_and_breaks_pages():
    text = " ".join(f"w{number}" for number in range(3000))
    data = render_pdf(
        Document("Long", blocks=(Paragraph(text),)), created=CREATED, font_candidates=NO_FONTS
    )
    assert page_count(data) >= 2
    words = b" ".join(text for text in shown_strings(data) if text.startswith(b"w")).split()
    assert words == [b"w%d" % number for number in range(3000)]


NON_LATIN = Document(
    title="Nguyễn Thị Ánh 漢字 Ștefan",
    subtitle="Ωμέγα — Привет",
    meta=(("Name", "Łukasz 🙂"),),
    blocks=(
        Heading("Ωμέγα"),
        Paragraph("ĀĒĪŌŪ ٱلعربية"),
        BulletList(("中文", "“quoted” – dash…")),
        Table(("Ключ", "値"), (("ß", "日本語"),)),
    ),
)


@pytest.mark.parametrize("fonts", [FONT_CANDIDATES, NO_FONTS], ids=["dejavu", "helvetica"])
def test_non_latin_text_never_crashes(fonts, caplog):
    with caplog.at_level(logging.DEBUG):
        data = render_pdf(NON_LATIN, created=CREATED, font_candidates=fonts)
    assert data.startswith(b"%PDF-")
    # fpdf2 never got a character it would warn about (its warning quotes the text).
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_the_core_font_fallback_replaces_what_it_cannot_draw():
    strings = shown_strings(render_pdf(NON_LATIN, created=CREATED, font_candidates=NO_FONTS))
    # Accents outside Windows-1252 are dropped, others kept; unknown scripts print as "?".
    assert strings[0] == "Nguyen Thi Ánh ?? Stefan".encode("cp1252")
    assert "“quoted” – dash…".encode("cp1252") in strings
    assert b"??" in strings


def test_a_damaged_font_file_falls_back_to_the_core_font(tmp_path):
    regular = tmp_path / "Broken.ttf"
    bold = tmp_path / "Broken-Bold.ttf"
    regular.write_bytes(b"not a font")
    bold.write_bytes(b"not a font either")
    data = render_pdf(sample_document(), created=CREATED, font_candidates=[(regular, bold)])
    assert data.startswith(b"%PDF-") and b"/Helvetica" in data


def test_importing_the_writer_does_not_import_fpdf():
    """fpdf2 costs ~0.35 s to import: only rendering a PDF may pay for it."""
    code = "import sys, nursecase.reports.pdf; print('fpdf' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_word_longer_than_a_line_is_cut_not_lost():
    word = "".join(chr(ord("a") + number % 26) for number in range(600))
    data = render_pdf(
        Document("Long word", blocks=(Paragraph(f"see {word} end"),)),
        created=CREATED,
        font_candidates=NO_FONTS,
    )
    strings = shown_strings(data)
    start = strings.index(b"see")
    last = next(n for n, text in enumerate(strings) if text.endswith(b" end"))
    # "see" alone, full-width pieces of the word, then its last piece with "end".
    pieces = strings[start + 1 : last + 1]
    assert len(pieces) >= 3
    assert b"".join(pieces) == word.encode() + b" end"
