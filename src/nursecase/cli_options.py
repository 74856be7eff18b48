"""Options every command module shares (only Typer is imported here).

``--db`` is taken by every command, before or after the command name, and by
each sub-application (``db``, ``user``, ``audit``, ``import``), so it is
defined once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pathlib import Path

DB_HELP = "Database file path or SQLAlchemy URL (a value containing :// is a URL)."

#: ``--db`` (or NURSECASE_DB): a file path, or an SQLAlchemy URL for a server.
DbOption = Annotated[
    str | None, typer.Option("--db", envvar="NURSECASE_DB", help=DB_HELP, show_default=False)
]


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one line of the CLI's output (stdout, or stderr with ``err``).

    The one door from the CLI to the terminal: stored names and notes, paths
    and quoted input may hold control characters (ESC, BEL, a bidi override)
    or bytes that were not UTF-8, so they are shown as visible stand-ins
    (``nursecase.domain.terminal_text``), never obeyed by the terminal.
    """
    from nursecase.domain.terminal_text import printable

    typer.echo(printable(str(message)), err=err)


class TerminalSafeStream:
    """A binary stream onto a terminal that shows control characters instead of obeying them.

    ``export --out -`` writes the report's own bytes, which keep the stored
    text (a name may hold an ESC): right for a pipe or a file, but a terminal
    would obey it. When standard output is a terminal the export writes
    through this wrapper: UTF-8 is decoded incrementally (a character split
    across two writes stays whole), line ends are kept, every other control
    character is shown as in ``echo``.
    """

    def __init__(self, raw) -> None:
        import codecs

        self.raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def write(self, data: bytes) -> int:
        """Write ``data`` shown safely; the number of bytes taken (all of them)."""
        from nursecase.domain.terminal_text import printable

        text = self._decoder.decode(bytes(data)).replace("\r\n", "\n")
        self.raw.write(printable(text, multiline=True).encode("utf-8", "surrogateescape"))
        return len(data)

    def flush(self) -> None:
        """Write what the decoder still holds (an incomplete character), then flush."""
        from nursecase.domain.terminal_text import printable

        rest = self._decoder.decode(b"", final=True)
        if rest:
            self.raw.write(printable(rest, multiline=True).encode("utf-8", "surrogateescape"))
        self.raw.flush()


# --- values every option must have --------------------------------------------

#: The dates the CLI accepts (``--from``, ``--to``, ``--month``, ``--since``):
#: nobody's records reach outside them, and date arithmetic near year 1 or
#: 9999 overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: The most rows a listing option (``audit show --limit``) asks for.
MOST_ROWS = 1_000_000
#: The environment variables the CLI reads, checked like its arguments.
ENVIRONMENT_VARIABLES = ("NURSECASE_HOME", "NURSECASE_DB", "NURSECASE_NURSE", "NURSECASE_KEY_FILE")


def unusable_argument(arguments: list[str], environ) -> str | None:
    """Why the command line cannot be used as given, or None: one check for every option.

    An empty value is never a valid one (``--db ''`` would otherwise quietly
    mean the default database, ``--month ''`` no month, an empty path the
    current folder); text that is not UTF-8 (Python carries such bytes as
    lone surrogates) cannot be stored, compared or printed; "~name" of a user
    who does not exist cannot be expanded into a path. ``NURSECASE_HOME`` must
    be a folder, if it exists.
    """
    previous = None
    for argument in arguments:
        name, value = previous, argument
        if argument.startswith("--") and "=" in argument:
            name, value = argument.split("=", 1)
        where = f"{name}: " if name and name.startswith("-") and name != "--" else ""
        if not value.strip():
            return f"{where}the value is empty"
        if _not_utf8(value):
            return f"{where}{value!r} is not valid UTF-8 text"
        if _unknown_home(value):
            return f"{where}{value}: no user of that name, so no home folder to start from"
        previous = argument
    for variable in ENVIRONMENT_VARIABLES:
        value = environ.get(variable)
        if value is not None and _not_utf8(value):
            return f"{variable}: {value!r} is not valid UTF-8 text"
        if value is not None and _unknown_home(value.strip()):
            return f"{variable}: {value}: no user of that name, so no home folder to start from"
    home = (environ.get("NURSECASE_HOME") or "").strip()
    if home:
        from pathlib import Path

        folder = Path(home).expanduser()
        if folder.exists() and not folder.is_dir():
            return f"NURSECASE_HOME: {folder} is not a folder"
    return None


def _unknown_home(text: str) -> bool:
    """True for "~name/..." when there is no user "name" (a path nobody can expand)."""
    if not text.startswith("~"):
        return False
    from pathlib import Path

    try:
        Path(text).expanduser()
    except RuntimeError:
        return True
    return False


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _year_in_range(text: str, option: str) -> None:
    year = text.strip()[:4]
    if year.isdigit() and not FIRST_YEAR <= int(year) <= LAST_YEAR:
        raise typer.BadParameter(
            f"the year must be between {FIRST_YEAR} and {LAST_YEAR}", param_hint=option
        )


def date_value(context: typer.Context, parameter: typer.CallbackParam, value: str | None):
    """Callback of every date option: a year outside FIRST_YEAR..LAST_YEAR is refused.

    The format itself is checked where the value is read (one message per option).
    """
    if value is not None:
        _year_in_range(value, parameter.opts[0])
    return value


#: A month option (YYYY-MM) has the same range.
month_value = date_value


# --- the passphrase of an encrypted database ------------------------------------


def ask_passphrase(database: Path) -> str | None:
    """Ask for the passphrase of the encrypted ``database``, hidden, on the terminal.

    The prompt the CLI chooses for db/ (``nursecase.db.key_source``) on every
    invocation: db/ never prompts by itself, and asks here only when no key
    file is given and the passphrase was not typed before in this process (a
    wrong one is forgotten, so the next try asks again). The app is launched
    by the CLI, so the question comes before the screen opens. None when
    standard input is no terminal: there is nobody to ask, and the caller says
    how to give a key file instead.
    """
    import getpass
    import sys

    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Passphrase for {database}: ")
