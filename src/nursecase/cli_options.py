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
