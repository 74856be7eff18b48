"""Where nursecase keeps its data and settings.

The default is the user data folder from platformdirs. ``NURSECASE_HOME``
moves the whole data folder (database, backups, config, exports);
``NURSECASE_DB`` names the database (a file path or an SQLAlchemy URL).
Nothing here touches the disk, but for the small note a running demo keeps
beside its database (:class:`DemoPlace`): callers create what they need.
"""

from __future__ import annotations

import json
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


# --- where a demo lives -------------------------------------------------------

#: ``nursecase demo`` makes its database in a temporary folder named so.
DEMO_FOLDER_PREFIX = "nursecase-demo-"
#: The demo database's file name in that folder.
DEMO_DATABASE_NAME = "demo.db"
#: Beside a demo's database while the demo runs: what :class:`DemoPlace` holds.
DEMO_NOTE_SUFFIX = ".demo.json"


def demo_exports_folder(database: Path) -> Path:
    """Where a demo on ``database`` writes its exports: a folder beside the database.

    Never the real exports folder: a demo's reports are synthetic, and must
    not be mistaken for (or mixed with) real patients' reports.
    """
    return database.with_name(f"{database.stem}-exports")


def demo_note(database: Path) -> Path:
    """The note a running demo keeps beside its database."""
    return database.with_name(database.name + DEMO_NOTE_SUFFIX)


@dataclass(frozen=True)
class DemoPlace:
    """Where a demo keeps its database and its exports, and what becomes of them at quit."""

    #: The database (a file path, or a server's URL with its password masked).
    database: str
    #: Whether the database is removed when the demo quits (its own temporary one).
    database_removed: bool
    #: The folder the demo's exports go to.
    exports: Path
    #: Whether that folder goes when the demo quits (it sits in the temporary folder).
    exports_removed: bool
    #: The demo's process id: a note whose process is gone was left by a demo that
    #: did not quit cleanly.
    process: int

    def save(self, note: Path) -> None:
        """Write the note (mode 0600) that ``nursecase paths`` reads."""
        data = json.dumps(
            {
                "database": self.database,
                "database_removed": self.database_removed,
                "exports": str(self.exports),
                "exports_removed": self.exports_removed,
                "process": self.process,
            }
        )
        descriptor = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(data)

    @classmethod
    def load(cls, note: Path) -> DemoPlace | None:
        """The place a demo's note records; None without a readable note."""
        try:
            data = json.loads(note.read_text(encoding="utf-8"))
            return cls(
                database=str(data["database"]),
                database_removed=bool(data["database_removed"]),
                exports=Path(data["exports"]),
                exports_removed=bool(data["exports_removed"]),
                process=int(data["process"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def running(self) -> bool:
        """Whether the demo that wrote the note still runs."""
        if os.name == "nt":  # os.kill would end the process there, not ask about it
            return True
        try:
            os.kill(self.process, 0)
        except ProcessLookupError:
            return False
        except OSError:  # someone else's process holds that id now: not ours to ask
            return True
        return True


def running_demos(temporary_folder: Path) -> list[DemoPlace]:
    """The demos whose temporary folders are in ``temporary_folder``, by their notes."""
    places = []
    pattern = f"{DEMO_FOLDER_PREFIX}*/{DEMO_DATABASE_NAME}{DEMO_NOTE_SUFFIX}"
    for note in sorted(temporary_folder.glob(pattern)):
        place = DemoPlace.load(note)
        if place is not None:
            places.append(place)
    return places
