"""The streaming table writers: CSV for Excel (no formula runs), JSON, Markdown tables."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from enum import StrEnum

import pytest

from nursecase.reports.document import Document
from nursecase.reports.errors import ReportError
from nursecase.reports.markdown import render_markdown
from nursecase.reports.tables import (
    BYTE_ORDER_MARK,
    Column,
    csv_cell,
    csv_chunks,
    json_chunks,
    markdown_chunks,
    neutralise,
    plain_text,
)

COLUMNS = (Column("name", "Name"), Column("born", "Born"), Column("age", "Age"))


def csv_text(columns, rows, **options) -> str:
    data = b"".join(csv_chunks(columns, rows, **options))
    assert data.startswith(BYTE_ORDER_MARK.encode("utf-8"))
    return data.decode("utf-8-sig")


def csv_rows(columns, rows, **options) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(columns, rows, **options), newline="")))


# ----------------------------------------------------------------------- CSV


def test_csv_for_excel_bom_crlf_iso_dates_and_empty_cells():
    rows = [("Nguyen, Linh", date(1948, 3, 4), 78), ("Rao", None, None)]
    text = csv_text(COLUMNS, rows)
    assert text == 'Name,Born,Age\r\n"Nguyen, Linh",1948-03-04,78\r\nRao,,\r\n'


def test_csv_datetimes_booleans_and_floats():
    columns = (Column("when", "When"), Column("late", "Late"), Column("median", "Median"))
    rows = [(datetime(2026, 11, 27, 9, 5), True, 2.5), (None, False, None)]
    assert csv_rows(columns, rows)[1:] == [["2026-11-27 09:05:00", "yes", "2.5"], ["", "no", ""]]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ("plain text", "plain text"),
        ("", ""),
        (" =leading space", " =leading space"),
    ],
)
def test_csv_injection_is_neutralised(cell, written):
    rows = csv_rows((Column("note", "Note"),), [(cell,)])
    assert rows[1] == [written]
    assert neutralise(cell) == written


def test_numbers_are_data_not_formulas():
    rows = csv_rows((Column("change", "Change"), Column("text", "Text")), [(-5, "-5")])
    assert rows[1] == ["-5", "'-5"]


def test_a_formula_among_many_clean_rows_is_found_in_every_column():
    columns = (Column("a", "A"), Column("b", "B"))
    rows = [(f"row {number}", number) for number in range(50)]
    rows[17] = ("=evil()", 17)
    rows[33] = ("fine", "@evil")
    written = csv_rows(columns, rows, chunk_rows=20)
    assert written[18] == ["'=evil()", "17"]
    assert written[34] == ["fine", "'@evil"]
    assert written[1] == ["row 0", "0"]
    assert len(written) == 51


def test_a_nul_inside_a_value_is_not_mistaken_for_a_cell_start():
    written = csv_rows((Column("a", "A"),), [("note\x00=x",), ("=y",)])
    assert written[1:] == [["note\x00=x"], ["'=y"]]


def test_text_subclasses_are_neutralised_too():
    class Code(StrEnum):
        bad = "=bad"

    assert csv_rows((Column("code", "Code"),), [(Code.bad,)])[1] == ["'=bad"]


def test_a_header_that_starts_like_a_formula_is_neutralised():
    assert csv_rows((Column("x", "=x"),), [])[0] == ["'=x"]


def test_trusted_columns_are_passed_as_they_are():
    columns = (Column("free", "Free"), Column("flags", "Flags", trusted=True))
    assert csv_rows(columns, [("=a", "=b")])[1] == ["'=a", "=b"]


def test_csv_cell_for_each_type():
    assert csv_cell(None) == ""
    assert csv_cell("=x") == "'=x"
    assert csv_cell(True) == "yes"
    assert csv_cell(3) == 3
    assert csv_cell(date(2026, 1, 2)) == "2026-01-02"
    assert csv_cell(datetime(2026, 1, 2, 3, 4)) == "2026-01-02 03:04:00"


def test_csv_streams_in_chunks_without_reading_ahead():
    pulled = []

    def rows():
        for number in range(10):
            pulled.append(number)
            yield (f"p{number}", None, number)

    chunks = csv_chunks(COLUMNS, rows(), chunk_rows=3)
    first = next(chunks)
    assert first.decode("utf-8-sig").splitlines() == ["Name,Born,Age", "p0,,0", "p1,,1", "p2,,2"]
    assert len(pulled) <= 4  # one batch (and the look at the next row), not the whole table
    rest = list(chunks)
    assert len(rest) >= 3
    assert len(pulled) == 10


def test_csv_row_of_the_wrong_width_names_the_row():
    with pytest.raises(ReportError, match="row 2 has 2 cells for 3 columns"):
        csv_text(COLUMNS, [("a", None, 1), ("b", None)])


def test_a_table_needs_columns():
    with pytest.raises(ReportError):
        list(csv_chunks((), []))


# ---------------------------------------------------------------------- JSON


def test_json_is_a_list_of_objects_with_iso_dates():
    columns = (*COLUMNS, Column("seen", "Seen"), Column("late", "Late"))
    rows = [("Łucja =x", date(1948, 3, 4), 78, datetime(2026, 11, 27, 9, 0), False)]
    data = b"".join(json_chunks(columns, rows))
    assert "Łucja".encode() in data  # UTF-8, not \\u escapes
    assert json.loads(data) == [
        {
            "name": "Łucja =x",
            "born": "1948-03-04",
            "age": 78,
            "seen": "2026-11-27T09:00:00",
            "late": False,
        }
    ]


def test_json_of_no_rows_is_an_empty_list():
    assert b"".join(json_chunks(COLUMNS, [])) == b"[]\n"


def test_json_in_chunks_is_one_document():
    rows = [(f"p{number}", None, number) for number in range(7)]
    chunks = list(json_chunks(COLUMNS, rows, chunk_rows=2))
    assert len(chunks) > 2
    assert [item["age"] for item in json.loads(b"".join(chunks))] == list(range(7))


def test_json_keys_must_be_unique():
    with pytest.raises(ReportError, match="unique"):
        list(json_chunks((Column("a", "A"), Column("a", "B")), []))


# ------------------------------------------------------------------ Markdown


def test_markdown_table_with_the_documents_header():
    meta = (("Nurse", "Alice Moreno"),)
    text = b"".join(
        markdown_chunks(COLUMNS, [("a | b", date(2026, 1, 2), 3)], title="Caseload", meta=meta)
    ).decode()
    header = render_markdown(Document(title="Caseload", meta=meta))
    assert text == (
        header + "\n| Name | Born | Age |\n| --- | --- | --- |\n| a \\| b | 2026-01-02 | 3 |\n"
    )


def test_markdown_cells_escape_markup_and_keep_line_breaks():
    text = b"".join(
        markdown_chunks((Column("note", "Note"),), [("*Bob*\n[PRN]\x1b[31m",)], title="T")
    ).decode()
    assert "| \\*Bob\\*<br>\\[PRN\\]\\[31m |" in text


def test_markdown_without_rows_says_so():
    text = b"".join(markdown_chunks(COLUMNS, [], title="Empty")).decode()
    assert text.endswith("# Empty\n\nNo rows.\n")


def test_plain_text():
    assert plain_text(None) == ""
    assert plain_text(True) == "yes"
    assert plain_text(date(2026, 1, 2)) == "2026-01-02"
    assert plain_text(datetime(2026, 1, 2, 3, 4)) == "2026-01-02 03:04:00"
    assert plain_text(7) == "7"


def test_print_header_prefers_the_short_one():
    assert Column("a", "Days in status", short="Days").print_header == "Days"
    assert Column("a", "Days in status").print_header == "Days in status"
