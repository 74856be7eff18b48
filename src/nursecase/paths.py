"""Where nursecase keeps its data and settings.

The default is the user data folder from platformdirs. ``NURSECASE_HOME``
moves the whole data folder (database, backups, config, exports);
``NURSECASE_DB`` names the database (a file path or an SQLAlchemy URL).
Nothing here touches the disk: callers create what they need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "nursecase"
HOME_VARIABLE = "NURSECASE_HOME"
DATABASE_VARIABLE = "NURSECASE_DB"
NURSE_VARIABLE = "NURSECASE_NURSE"


@dataclass(frozen=True)
class Paths:
    """The folders and files nursecase uses."""

    home: Path

    @property
    def database(self) -> Path:
        """The default SQLite database file."""
        return self.home / "nursecase.db"

    @property
    def backups(self) -> Path:
        """Automatic backups taken before migrations."""
        return self.home / "backups"

    @property
    def config_file(self) -> Path:
        """Settings (cadences, bands, holidays, theme, keymap)."""
        return self.home / "config.toml"

    @property
    def exports(self) -> Path:
        """The default folder for exported reports."""
        return self.home / "exports"


def data_home(environ: dict[str, str] | None = None) -> Path:
    """The data folder: ``$NURSECASE_HOME`` or the platform's user data folder."""
    environ = os.environ if environ is None else environ
    override = environ.get(HOME_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser().resolve()
    from platformdirs import user_data_dir  # imported here: --help must stay fast

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_paths(environ: dict[str, str] | None = None) -> Paths:
    """The paths for this user and environment."""
    return Paths(home=data_home(environ))


def default_database(environ: dict[str, str] | None = None) -> str:
    """``$NURSECASE_DB`` if set, else the database file in the data folder."""
    environ = os.environ if environ is None else environ
    named = environ.get(DATABASE_VARIABLE, "").strip()
    if named:
        return named
    return str(default_paths(environ).database)
