"""Options every command module shares (only Typer is imported here).

``--db`` is taken by every command, before or after the command name, and by
each sub-application (``db``, ``user``, ``audit``, ``import``), so it is
defined once.
"""

from __future__ import annotations

from typing import Annotated

import typer

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
