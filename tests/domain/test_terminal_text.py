"""printable(): every control character a terminal would obey is shown, nothing else changes."""

from __future__ import annotations

import pytest

from nursecase.domain.terminal_text import printable


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Ann Smith", "Ann Smith"),
        ("Zoë Ørsted-Núñez 李", "Zoë Ørsted-Núñez 李"),
        ("[bold]x[/bold]", "[bold]x[/bold]"),  # markup is the screens' concern, kept literal
        ("Ann\x1b[31mRed", "Ann␛[31mRed"),  # ESC: a colour or cursor sequence
        ("ring\x07", "ring␇"),  # BEL
        ("\x00nul", "␀nul"),
        ("a\rb", "a␍b"),  # CR would overwrite the start of the line
        ("one\ntwo", "one␊two"),  # a name cannot start a fake line
        ("tab\tbed", "tab␉bed"),
        ("del\x7f", "del␡"),
        ("\x9b2J", "\\x9b2J"),  # C1 CSI: clears the screen on some terminals
        ("\x85next", "\\x85next"),
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u2066iso\u2069", "\\u2066iso\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("bad\udcffbyte", "bad\\udcffbyte"),  # a non-UTF-8 byte, carried by surrogateescape
        ("no\u00a0break", "no\u00a0break"),  # a no-break space is printable text
        ("", ""),
    ],
)
def test_one_line(stored, shown):
    assert printable(stored) == shown


def test_multiline_keeps_newlines_and_tabs_only():
    assert printable("one\ntwo\tthree\x1b\r", multiline=True) == "one\ntwo\tthree␛␍"


def test_result_is_always_encodable_and_has_no_control():
    every = "".join(chr(code) for code in [*range(0x00, 0xA0), 0x202E, 0xD800, 0xDFFF])
    shown = printable(every)
    shown.encode("utf-8")  # no lone surrogate left
    assert not any(ord(character) < 0x20 or 0x7F <= ord(character) < 0xA0 for character in shown)
