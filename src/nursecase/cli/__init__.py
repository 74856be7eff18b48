"""The ``nursecase`` command line (Typer): the app assembled from its command groups.

- :mod:`.runtime`: the shared options, the command state, the one error
  handler and the output helpers; the only module the groups import.
- One module per command group, none importing another: :mod:`.launch`
  (the app itself, ``demo``, ``seed``, ``paths``), :mod:`.export`,
  :mod:`.db`, :mod:`.import_`, :mod:`.audit`, :mod:`.users` and :mod:`.adt`.

Start-up cost matters (``--help`` and ``--version`` within 0.25 s), so every
module here imports only Typer at the top; the database layer, the services
and, above all, Textual are imported inside the commands that need them.

``--db`` and ``--nurse`` work before the command and after it: the callback
stores the global values, and ``runtime.chosen_option`` picks the one typed
after the command, else the one typed before it, else the environment's.

Every failure a user can cause ends in one line on stderr, ``nursecase: error:
...``, and a non-zero exit; no traceback reaches the terminal.
"""

from __future__ import annotations

import os
import sys

import typer

from nursecase.cli import adt, audit, db, export, import_, launch, users
from nursecase.cli.runtime import echo, one_line_errors, unusable_argument

app = typer.Typer(
    name="nursecase",
    help="nursecase: the nurse case manager's workstation. Run without a command to open the app.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.callback(invoke_without_command=True)(launch.open_app)
app.command("demo")(launch.demo)
app.command("seed")(launch.seed)
app.command("paths")(launch.paths)
app.command("export")(export.export)
app.add_typer(db.db_app, name="db")
app.add_typer(import_.import_app, name="import")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(users.user_app, name="user")
app.add_typer(adt.adt_app, name="adt")

#: Files and folders nursecase creates are its user's alone (DESIGN.md section 4).
PRIVATE_UMASK = 0o077


def use_private_umask() -> None:
    """Make everything this process creates readable by its user only.

    The database, its -wal/-shm files and exports are already created 0600
    explicitly; the umask covers the rest (SQLite's temporary files, Alembic
    and fpdf2 output, config and backup folders) without listing them.
    """
    os.umask(PRIVATE_UMASK)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: one clear line and a non-zero exit on any error."""
    use_private_umask()
    problem = unusable_argument(sys.argv[1:] if argv is None else argv, os.environ)
    if problem is not None:
        echo(f"nursecase: error: {problem}", err=True)
        sys.exit(2)
    try:
        with one_line_errors():
            result = app(args=argv, prog_name="nursecase", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        echo("nursecase: aborted", err=True)
        sys.exit(130)
    except typer.Exit as exit_request:
        sys.exit(exit_request.exit_code)
    except typer.TyperException as error:  # usage errors: bad option values, unknown commands
        echo(f"nursecase: error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except Exception as error:
        if os.environ.get("NURSECASE_DEBUG"):
            raise
        echo(
            f"nursecase: error: unexpected {type(error).__name__}; run with NURSECASE_DEBUG=1"
            " for details",
            err=True,
        )
        sys.exit(1)
    if isinstance(result, int) and result:
        sys.exit(result)


__all__ = ["app", "main"]
