"""The Markdown writer: patient text prints literally, tables are GFM, output is stable."""

from __future__ import annotations

import pytest

from nursecase.reports.document import BulletList, Document, Heading, Paragraph, Table
from nursecase.reports.errors import ReportError
from nursecase.reports.markdown import escape_inline, escape_line, render_markdown


def test_a_whole_document():
    document = Document(
        title="Care plan for Linh Nguyen",
        subtitle="Heart failure plan",
        meta=(("MRN", "MRN-1"), ("Printed on", "November 27, 2026")),
        blocks=(
            Heading("Circulation"),
            Heading("Goals", level=2),
            BulletList(("Weigh daily.", "Walk 10 minutes.")),
            Paragraph("Call the clinic if you gain weight."),
            Table(("Role", "Name"), (("PCP", "Dr. Rao"),)),
        ),
    )
    assert render_markdown(document) == (
        "# Care plan for Linh Nguyen\n"
        "\n"
        "*Heart failure plan*\n"
        "\n"
        "- **MRN:** MRN-1\n"
        "- **Printed on:** November 27, 2026\n"
        "\n"
        "## Circulation\n"
        "\n"
        "### Goals\n"
        "\n"
        "- Weigh daily.\n"
        "- Walk 10 minutes.\n"
        "\n"
        "Call the clinic if you gain weight.\n"
        "\n"
        "| Role | Name |\n"
        "| --- | --- |\n"
        "| PCP | Dr. Rao |\n"
    )


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("*Bob*", "\\*Bob\\*"),
        ("[PRN]", "\\[PRN\\]"),
        ("_under_", "\\_under\\_"),
        ("<script>", "\\<script\\>"),
        ("a | b", "a \\| b"),
        ("`code`", "\\`code\\`"),
        ("C:\\temp", "C:\\\\temp"),
        ("&amp;", "\\&amp;"),
        ("~~gone~~", "\\~\\~gone\\~\\~"),
        ("room #4", "room \\#4"),
        ("![img](x)", "!\\[img\\](x)"),
        ("plain words, 3.5 kg", "plain words, 3.5 kg"),
    ],
)
def test_inline_markup_is_escaped(text, escaped):
    assert escape_inline(text) == escaped


@pytest.mark.parametrize(
    ("line", "escaped"),
    [
        ("# not a heading", "\\# not a heading"),
        ("- not a bullet", "\\- not a bullet"),
        ("+ not a bullet", "\\+ not a bullet"),
        ("1. not a list", "1\\. not a list"),
        ("2) not a list", "2\\) not a list"),
        ("> not a quote", "\\> not a quote"),
        ("===", "\\==="),
        ("---", "\\---"),
        ("3 - 5 kg", "3 - 5 kg"),
    ],
)
def test_line_starts_are_escaped(line, escaped):
    assert escape_line(line) == escaped


def test_patient_text_in_every_place_is_literal():
    document = Document(
        title="*Bob* [PRN]",
        subtitle="<b>bold</b>",
        meta=(("Name|alias", "*Bob*\nsecond line"),),
        blocks=(
            Heading("# Bob #"),
            Paragraph("1. first\n- dash\n\n# hash"),
            BulletList(("[PRN] *as needed*", "two\nlines")),
        ),
    )
    assert render_markdown(document) == (
        "# \\*Bob\\* \\[PRN\\]\n"
        "\n"
        "*\\<b\\>bold\\</b\\>*\n"
        "\n"
        "- **Name\\|alias:** \\*Bob\\* second line\n"
        "\n"
        "## \\# Bob \\#\n"
        "\n"
        "1\\. first\\\n"
        "\\- dash\n"
        "\n"
        "\\# hash\n"
        "\n"
        "- \\[PRN\\] \\*as needed\\*\n"
        "- two\\\n"
        "  lines\n"
    )


def test_table_cells_escape_pipes_and_keep_line_breaks():
    table = Table(
        ("What | why", "Note"),
        (("a|b", "line one\nline two"), ("", None), ("*x*", "\tindented")),
    )
    text = render_markdown(Document("T", blocks=(table,)))
    assert text.endswith(
        "| What \\| why | Note |\n"
        "| --- | --- |\n"
        "| a\\|b | line one<br>line two |\n"
        "|  |  |\n"
        "| \\*x\\* | indented |\n"
    )
    # Every table line has exactly the column count's unescaped pipes.
    for line in text.splitlines()[2:]:
        assert line.replace("\\|", "").count("|") == 3


def test_control_characters_are_dropped():
    text = render_markdown(Document("T", blocks=(Paragraph("bell\x07 escape\x1b[31m red"),)))
    assert "\x07" not in text and "\x1b" not in text
    assert "bell escape\\[31m red" in text


def test_empty_parts_are_left_out_and_output_is_deterministic():
    document = Document(
        "T",
        subtitle="  ",
        blocks=(Paragraph(""), BulletList(()), Heading("  "), Table(("A",), ())),
    )
    first = render_markdown(document)
    assert first == "# T\n\n| A |\n| --- |\n"
    assert render_markdown(document) == first


def test_non_latin_text_is_kept():
    text = render_markdown(Document("Nguyễn Thị Ánh", blocks=(Paragraph("漢字 — Ωμέγα"),)))
    assert "Nguyễn Thị Ánh" in text and "漢字 — Ωμέγα" in text


def test_document_shape_is_checked():
    with pytest.raises(ReportError, match="row 1 has 1 cells for 2 columns"):
        Table(("A", "B"), (("only one",),))
    with pytest.raises(ReportError, match="level"):
        Heading("x", level=4)
    with pytest.raises(ReportError, match="one width per column"):
        Table(("A", "B"), (), widths=(1,))
    with pytest.raises(ReportError, match="positive"):
        Table(("A",), (), widths=(0,))
    with pytest.raises(ReportError, match="at least one column"):
        Table((), ())
    with pytest.raises(ReportError, match="not one text"):
        BulletList("abc")
    with pytest.raises(ReportError, match="block"):
        Document("T", blocks=("not a block",))


def test_lists_become_tuples_and_cells_text():
    table = Table(["A", "B"], [[1, None]], widths=[1, 2])
    assert table.columns == ("A", "B") and table.rows == (("1", ""),)
    assert table.widths == (1.0, 2.0)
    assert BulletList(["x"]).items == ("x",)
