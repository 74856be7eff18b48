"""Telling a damaged database file from other database errors, for one clear line.

SQLite answers a file whose pages were overwritten with "database disk image
is malformed", and a file that is no database with "file is not a database";
either may surface from any statement (the CLI's ``db check`` meets it in
``PRAGMA foreign_key_check``, an export in its first read). The CLI's last
resort handler asks :func:`damage_described` so that the user reads what is
true, and what to do, instead of an "unexpected DatabaseError".
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DatabaseError

#: Errors of the database drivers that may reach the CLI unwrapped (the online
#: backup API and the integrity checks use sqlite3 directly).
DRIVER_ERRORS: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)

#: What SQLite says of a file whose pages are damaged or that is no database at all.
DAMAGE_WORDS = ("malformed", "not a database", "file is encrypted")


def damage_described(error: BaseException) -> str | None:
    """One line saying the database file is damaged, or None for any other error."""
    driver_error = error.orig if isinstance(error, DatabaseError) else error
    if not isinstance(driver_error, sqlite3.DatabaseError):
        return None
    first_line = (str(driver_error).splitlines() or ["?"])[0]
    if not any(words in first_line for words in DAMAGE_WORDS):
        return None
    return (
        f"the database file is damaged ({first_line}): restore it from a backup"
        " (nursecase db check lists what it finds)"
    )
