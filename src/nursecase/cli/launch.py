"""Opening the app: ``nursecase`` alone, ``nursecase demo``, and ``seed`` and ``paths``.

The root callback stores the options given before the command and, without
a command, opens the app on the default database. Textual is imported in
:func:`launch` and nowhere else in the CLI.
"""

from __future__ import annotations

import sys
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
    echo,
    global_options,
    handled,
    load_settings,
    remember_global_options,
    shown,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from nursecase.clock import Clock
    from nursecase.demo import SeedSummary


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


def launch(state: CommandState, *, demo: bool, clock: Clock | None = None) -> None:
    """Open the Textual app (imported only here) on the upgraded database."""
    from dataclasses import replace

    settings = replace(load_settings(), demo=demo)
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
    """Open the app on a fresh synthetic caseload (DEMO shows in the header)."""
    import tempfile

    location = db or global_options(context).db
    with tempfile.TemporaryDirectory(prefix="nursecase-demo-") as folder:
        state = CommandState(location or str(Path(folder) / "demo.db"))
        with state.engine() as engine:
            from nursecase.clock import SystemClock
            from nursecase.demo import SeedStopped, demo_nurse_username, seed_database

            _refuse_non_empty(engine, state)
            try:
                seed_database(engine, SystemClock(), patients=patients, seed=seed)
            except SeedStopped as stopped:
                raise CommandError(str(stopped)) from None
            acting = nurse or global_options(context).nurse or demo_nurse_username(engine)
        launch(CommandState(state.location, acting), demo=True)


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
    nurse: NurseOption = None,
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
def paths() -> None:
    """Show where nursecase keeps its data and settings."""
    from nursecase.paths import default_database, default_paths

    folders = default_paths()
    echo(f"data folder:  {folders.home}")
    echo(f"database:     {shown(default_database())}")
    echo(f"config file:  {folders.config_file}")
    echo(f"backups:      {folders.backups}")
    echo(f"exports:      {folders.exports}")
