"""Small text helpers shared by the screens (dates, ages, badges).

Patient free text is always wrapped in ``rich.text.Text`` (never markup), so a
note that says "[PRN]" is shown as typed.
"""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text

from nursecase.domain.codes import RiskTier, label_of
from nursecase.domain.flags import Flag
from nursecase.domain.instruments.base import STANDARD_VARIANT
from nursecase.domain.terminal_text import printable

#: A patient not assessed yet stands out as work to do, in no tier's colour.
RISK_STYLES = {"high": "bold red", "moderate": "yellow", "low": "green", "not-assessed": "italic"}


#: How each flag is drawn: a safety signal stands out most, then an urgent
#: reading out of range (orange: urgent, but never mistaken for SAFETY), a late
#: urgent referral, then the clocks. Words come from domain.flags (Flag.label).
FLAG_STYLES = {
    Flag.safety: "bold white on red",
    Flag.out_of_range: "bold dark_orange",
    Flag.referral_late: "bold red",
    Flag.tcm: "bold yellow",
    Flag.readmission: "bold magenta",
    Flag.in_hospital: "bold cyan",
}


def flag_badges(flags) -> Text:
    """The flags as their words, each in its style, separated by two spaces."""
    line = Text()
    for flag in flags:
        line.append(f" {flag.label} " if flag is Flag.safety else flag.label, FLAG_STYLES[flag])
        line.append("  ")
    return line


def variant_words(variant: str) -> str:
    """ " · custom bands" for an instrument's other form; "" for its standard one."""
    return "" if variant == STANDARD_VARIANT else f" · {variant}"


def risk_badge(tier: str) -> Text:
    """The risk tier as a coloured word ("Not assessed" for a patient nobody assessed)."""
    return Text(label_of(RiskTier, tier), style=RISK_STYLES.get(tier, ""))


def days_ago(moment: datetime | date | None, today: date) -> str:
    """'today', '1 d', '12 d', or '-' when never."""
    if moment is None:
        return "-"
    day = moment.date() if isinstance(moment, datetime) else moment
    days = (today - day).days
    return "today" if days == 0 else f"{days} d"


def due_text(due: date | None, today: date) -> Text:
    """A due date with overdue ones in red."""
    if due is None:
        return Text("-")
    if due < today:
        return Text(f"{due:%d %b} ({(today - due).days} d late)", style="red")
    if due == today:
        return Text(f"{due:%d %b} today", style="bold")
    return Text(f"{due:%d %b}")


def plain(value: object) -> Text:
    """Any value as literal text (no markup), control characters shown."""
    return Text("" if value is None else printable(str(value)))


def shown(value: str) -> str:
    """Stored text fit for one line of the screen: control characters shown (ESC as "␛").

    For a title, a sub-title or a dialog's wording; wrap it in ``Text`` where
    markup would be parsed.
    """
    return printable(value)


def terminal_safe(text: Text) -> Text:
    """A composed Rich text with every control character shown, its styles kept.

    Newlines and tabs stay (a header of several lines); each other control
    becomes one visible character, so the spans still cover the same words.
    Rich itself drops BEL, BS, VT, FF and CR when text is appended, so a name
    that must show them passes through :func:`shown` before it is appended.
    """
    safe = printable(text.plain, multiline=True, keep_length=True)
    if safe != text.plain:
        text = text.copy()
        text.plain = safe
    return text


def safe_cell(cell: object) -> object:
    """A table cell fit for the terminal: literal text (no markup), controls shown."""
    if isinstance(cell, Text):
        return terminal_safe(cell)
    if isinstance(cell, str):
        return Text(printable(cell))
    return cell


def due_short(due: date | None, today: date) -> Text:
    """A due date in six cells: red when late, bold when today."""
    if due is None:
        return Text("-")
    style = "red" if due < today else ("bold" if due == today else "")
    return Text(f"{due:%d %b}", style=style)


SPARK_LEVELS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[int, ...] | list[int], minimum: int, maximum: int) -> str:
    """Values as a one-line bar chart on the instrument's own scale (not the data's).

    Scaling to the instrument's range keeps a flat line at "minimal" low and a
    flat line at "severe" high, which a data-scaled sparkline would draw alike.
    """
    span = max(1, maximum - minimum)
    top = len(SPARK_LEVELS) - 1
    return "".join(
        SPARK_LEVELS[round((min(max(value, minimum), maximum) - minimum) * top / span)]
        for value in values
    )


def progress_bar(value: int, target: int, width: int = 20) -> str:
    """A bar of ``width`` cells filled in proportion to value/target (full at the target)."""
    filled = width if target <= 0 else min(width, value * width // target)
    return "█" * filled + "░" * (width - filled)
