"""Stored text made safe to show on a terminal: every control character visible.

Names and notes are stored exactly as given (a FHIR bundle or ``user add
--name`` may carry an ESC or a BEL), but a terminal obeys such characters: an
ESC starts a sequence that recolours or rewrites the screen, a BEL rings, a CR
or a bidirectional override makes the line say something else than it holds.
So every place where text meets a terminal (the CLI's output helpers, the
screens' cell and label helpers) passes it through :func:`printable`, which
turns each of them into a visible stand-in. Files (CSV, JSON, FHIR, PDF,
Markdown) keep the stored text.

Which characters: the C0 controls and DEL (shown as their Unicode control
pictures, U+2400-U+2421: ESC is "␛", BEL "␇"), the C1 controls U+0080-U+009F
(``\\x9b``), the bidirectional formatting characters of Unicode's UAX #9 and
the line and paragraph separators (``\\u202e``), and lone surrogates, which is
how Python carries bytes that were not UTF-8 (``\\udcff``; printing one raw
fails with UnicodeEncodeError).
"""

from __future__ import annotations

#: Unicode's bidirectional formatting characters (UAX #9, section 2): ALM, LRM,
#: RLM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI; and the line and
#: paragraph separators, which some terminals take as a new line.
BIDI_AND_SEPARATORS = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)

#: Control pictures (U+2400 block) stand in for C0 controls and DEL.
DELETE_PICTURE = "\u2421"


def _stand_in(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return DELETE_PICTURE
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _table(keep: str) -> dict[int, str]:
    codes = [*range(0x20), 0x7F, *range(0x80, 0xA0), *BIDI_AND_SEPARATORS, *range(0xD800, 0xE000)]
    kept = {ord(character) for character in keep}
    return {code: _stand_in(code) for code in codes if code not in kept}


#: The stand-in for a character without a control picture when the length
#: must stay (styled text whose spans count characters).
REPLACEMENT = "\ufffd"

_ONE_LINE = _table("")
_MULTI_LINE = _table("\n\t")
_TABLES = {
    (multiline, keep_length): {
        code: (stand_in if not keep_length or len(stand_in) == 1 else REPLACEMENT)
        for code, stand_in in (_MULTI_LINE if multiline else _ONE_LINE).items()
    }
    for multiline in (False, True)
    for keep_length in (False, True)
}


def printable(text: str, *, multiline: bool = False, keep_length: bool = False) -> str:
    """``text`` with every control character shown as a visible stand-in.

    One line by default: a newline or tab is shown too ("␊", "␉"), so a name
    cannot start a fake line of output. ``multiline=True`` keeps newlines and
    tabs (a note shown as a paragraph). ``keep_length=True`` replaces each
    character by exactly one (a control picture, else "\ufffd"), so the
    styles of a Rich text, which count characters, stay where they were.
    Text without such characters is returned as it is (the common case costs
    one ``isprintable`` call).
    """
    if text.isprintable():
        return text
    return text.translate(_TABLES[multiline, keep_length])
