"""Opening the app: ``nursecase`` alone, ``nursecase demo``, and ``seed`` and ``paths``.

The root callback stores the options given before the command and, without
a command, opens the app on the default database. Textual is imported in
:func:`launch` and nowhere else in the CLI.

``demo`` says where it lives before the app takes the screen (so it is still
there to read after quitting): its temporary database, removed at quit, and
the exports folder beside it, never the real one. While it runs, a note beside
its database (``nursecase.paths.DemoPlace``) lets ``paths`` say the same and
sends ``export`` to the demo's folder.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase import __version__
from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    KeyFileOption,
    NurseOption,
    chosen_option,
    demo_place,
    echo,
    exports_folder,
    handled,
    load_settings,
    nurse_option,
    remember_global_options,
    shown,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from nursecase.clock import Clock
    from nursecase.demo import SeedSummary
    from nursecase.paths import DemoPlace


def _version_callback(value: bool) -> None:
    if value:
        echo(f"nursecase {__version__}")
        raise typer.Exit()


@handled()
def open_app(
    context: typer.Context,
    db: DbOption = None,
    nurse: NurseOption = None,
    key_file: KeyFileOption = None,
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = None,
) -> None:
    """Open the app on the default database (created on first run)."""
    remember_global_options(context, db, nurse, key_file)
    if context.invoked_subcommand is None:
        launch(CommandState.of(context, None, nurse), demo=False)


def launch(
    state: CommandState,
    *,
    demo: bool,
    clock: Clock | None = None,
    exports_folder: Path | None = None,
) -> None:
    """Open the Textual app (imported only here) on the upgraded database.

    ``exports_folder`` replaces the configured one (a demo's exports go beside it).
    """
    from dataclasses import replace

    settings = replace(load_settings(), demo=demo)
    if exports_folder is not None:
        settings = replace(settings, exports_folder=exports_folder)
    with state.services(settings=settings, clock=clock, optimize=True) as services:
        # With passwords on, --nurse only fills in the login screen's username.
        login_username = state.nurse
        if state.nurse is not None and not services.accounts.has_passwords():
            services.nurses.sign_in(state.nurse)
            login_username = None
        from nursecase.app import make_app  # Textual is loaded here and only here

        make_app(services, settings, login_username).run()


@handled()
def demo(
    context: typer.Context,
    patients: Annotated[
        int, typer.Option("--patients", min=1, max=200_000, help="How many patients.")
    ] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator.")] = 7,
    db: DbOption = None,
    nurse: NurseOption = None,
) -> None:
    """Open the app on a fresh synthetic caseload in a temporary database, removed at quit
    (DEMO shows in the header); its exports go to a folder beside it."""
    import tempfile

    from nursecase.paths import DEMO_DATABASE_NAME, DEMO_FOLDER_PREFIX

    # Only a --db typed here: NURSECASE_DB names the real database (perhaps the
    # clinic's server), which a demo must never fill with synthetic patients.
    location = chosen_option(context, "db", db, environment=False)
    with tempfile.TemporaryDirectory(prefix=DEMO_FOLDER_PREFIX) as folder:
        state = CommandState(location or str(Path(folder) / DEMO_DATABASE_NAME))
        place = _demo_place(state, Path(folder), temporary=location is None)
        # Printed before the app takes the screen: still there to read after quitting.
        for line in demo_lines(place):
            echo(line)
        with state.engine() as engine:
            from nursecase.clock import SystemClock
            from nursecase.demo import SeedStopped, demo_nurse_username, seed_database
            from nursecase.demo_encounters import seed_hospital_events

            _refuse_non_empty(engine, state)
            clock = SystemClock()
            try:
                seed_database(engine, clock, patients=patients, seed=seed)
            except SeedStopped as stopped:
                raise CommandError(str(stopped)) from None
            # Through the services (the ADT inbox), after the bulk rows.
            seed_hospital_events(engine, clock)
            # NURSECASE_NURSE names a real account, not one of the demo's nurses.
            typed = chosen_option(context, "nurse", nurse, environment=False)
            acting = typed or demo_nurse_username(engine)
        with _demo_noted(state, place):
            launch(CommandState(state.location, acting), demo=True, exports_folder=place.exports)
    if place.database_removed:
        echo(f"Removed the demo database and its exports ({folder}).")
    elif place.exports_removed:
        echo(f"Removed the demo's exports ({place.exports}); the database {place.database} stays.")


def _demo_place(state: CommandState, folder: Path, *, temporary: bool) -> DemoPlace:
    """Where the demo on ``state`` keeps its database and exports (``folder``: its own)."""
    import os

    from nursecase.paths import DemoPlace, demo_exports_folder

    database = state.sqlite_file()
    # A server database's demo keeps its exports in the temporary folder.
    exports = demo_exports_folder(database if database is not None else folder / "demo.db")
    return DemoPlace(
        database=state.shown,
        database_removed=temporary,
        exports=exports,
        exports_removed=temporary or database is None,
        process=os.getpid(),
    )


@contextmanager
def _demo_noted(state: CommandState, place: DemoPlace) -> Iterator[None]:
    """While the demo runs, a note beside its database tells ``paths`` and ``export`` so."""
    from nursecase.paths import demo_note

    database = state.sqlite_file()
    if database is None:
        yield
        return
    note = demo_note(database)
    place.save(note)
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


def demo_lines(place: DemoPlace) -> list[str]:
    """What ``demo`` prints before the app starts, and ``paths`` for a demo's database."""
    if place.database_removed:
        database = "synthetic patients only; removed, with its exports, when the demo quits"
    else:
        database = "synthetic patients; this database stays after the demo quits"
    if place.exports_removed:
        exports = "removed when the demo quits: copy out any file to keep before quitting"
    else:
        exports = "kept after the demo quits; never the real exports folder"
    return [
        f"Demo database: {place.database}",
        f"               {database}",
        f"Demo exports:  {place.exports}",
        f"               {exports}",
    ]


def _refuse_non_empty(engine: Engine, state: CommandState, *, add_hint: bool = False) -> None:
    from sqlalchemy import func, select

    from nursecase.db.models import Patient

    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    if count:
        instead = "seed an empty database instead"
        if add_hint:
            instead = "seed an empty database, or give --add to add patients to these"
        raise CommandError(f"{state.shown} already holds {count} patients; {instead}")


@handled()
def seed(
    context: typer.Context,
    patients: Annotated[
        int, typer.Option("--patients", min=1, max=1_000_000, help="How many patients.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator.")] = 7,
    db: DbOption = None,
    nurse: Annotated[
        str | None,
        nurse_option("Not used by seed, which makes its own nurses."),
    ] = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help="Add the patients to a database that already holds some (such as a seed"
            " that stopped half-way); the same --seed gives new MRNs.",
        ),
    ] = False,
) -> None:
    """Fill an empty database with a synthetic caseload (for trying and benchmarks)."""
    from nursecase.demo import SeedStopped

    state = CommandState.of(context, db)
    with state.engine() as engine:
        if not add:
            _refuse_non_empty(engine, state, add_hint=True)
        try:
            summary = _seed_with_progress(engine, patients, seed)
        except SeedStopped as stopped:
            rest = stopped.requested - stopped.committed
            raise CommandError(
                f"{stopped}; to add the other {rest:,}, run: nursecase seed --add"
                f" --patients {rest} --seed {seed} --db {state.shown}"
            ) from None
    rows = sum(summary.rows_by_table.values())
    echo(
        f"Seeded {summary.patients} patients for {summary.nurses} nurses"
        f" ({rows} rows) in {summary.seconds:.1f} s into {state.shown}"
    )


def _seed_with_progress(engine: Engine, patients: int, seed: int) -> SeedSummary:
    """Seed, with a progress bar on a terminal (on stderr, never when piped)."""
    from nursecase.clock import SystemClock
    from nursecase.demo import seed_database

    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("Seeding patients", total=patients)
            return seed_database(
                engine,
                SystemClock(),
                patients=patients,
                seed=seed,
                progress=lambda done: progress.update(task, completed=done),
            )
    return seed_database(engine, SystemClock(), patients=patients, seed=seed)


@handled()
def paths(context: typer.Context, db: DbOption = None) -> None:
    """Show where nursecase keeps its data and settings (a demo's database: where it lives)."""
    import tempfile

    from nursecase.paths import default_database, default_paths, running_demos

    folders = default_paths()
    location = chosen_option(context, "db", db) or default_database()
    place = demo_place(location)
    echo(f"data folder:  {folders.home}")
    echo(f"database:     {shown(location)}")
    if place is not None:
        echo(f"              {_demo_state(place)}")
    echo(f"config file:  {folders.config_file}")
    echo(f"backups:      {folders.backups}")
    if place is not None:
        echo(f"exports:      {place.exports}")
        removed = "removed with the demo when it quits" if place.exports_removed else "kept"
        echo(f"              the demo's exports ({removed}); never the real exports folder")
        return
    echo(f"exports:      {_exports_folder(location)}")
    for running in running_demos(Path(tempfile.gettempdir())):
        echo(f"a demo:       {running.database}")
        echo(f"              {_demo_state(running)}; its exports: {running.exports}")


def _exports_folder(location: str) -> Path:
    """The exports folder of ``location``: configured, or the data folder's, if the config
    file cannot be read (``paths`` must help with that too, not fail on it)."""
    from nursecase.config import ConfigError, Settings

    try:
        settings = load_settings()
    except ConfigError:
        settings = Settings()
    return exports_folder(location, settings)


def _demo_state(place: DemoPlace) -> str:
    """What becomes of a demo's database, in words (a demo killed midway left it behind)."""
    if not place.running():
        folder = Path(place.database).parent
        return (
            f"a demo database left by a demo that did not quit; delete {folder} when done"
            if place.database_removed
            else "a demo database (its demo did not quit cleanly); it stays"
        )
    if place.database_removed:
        return "a demo database (synthetic patients): removed when its demo quits"
    return "a demo database (synthetic patients): it stays after its demo quits"
