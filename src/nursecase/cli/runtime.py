"""What every command group of the CLI shares: options, the command state, errors, output.

The one module the command groups (``launch``, ``db``, ``export``,
``import_``, ``users``, ``audit``) import from the CLI: they never import
each other. Start-up cost matters (``--help`` and ``--version`` within
0.25 s), so only Typer is imported at the top; the database layer, the
services and Rich are imported inside the functions that need them.

- Options: ``--db``, ``--nurse``, ``--key-file`` and ``--password-stdin`` are
  declared here, once; a command that words ``--nurse`` for itself (export,
  import, user) builds it with :func:`nurse_option`.
- :class:`CommandState`: where the database is and who acts; the engine as a
  context manager that disposes it, the services on it, the signing-in of the
  acting nurse.
- Errors: :class:`CommandError`, :func:`describe` (the one line for every
  error fit for the user) and :func:`one_line_errors`, the one handler, put
  around every command by :func:`handled` and around the whole app by
  ``nursecase.cli.main``: ``nursecase: error: ...`` on stderr, exit code 1,
  never a traceback.
- Output: :func:`echo` and :class:`TerminalSafeStream`, which show control
  characters instead of letting the terminal obey them.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, ParamSpec, TextIO, TypeVar

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from nursecase.clock import Clock
    from nursecase.config import Settings
    from nursecase.db.maintenance.conversion import Leftover
    from nursecase.paths import DemoPlace
    from nursecase.services import Services

# --- options (each declared once) ----------------------------------------------

DB_HELP = "Database file path or SQLAlchemy URL (a value containing :// is a URL)."

#: ``--db`` (or NURSECASE_DB): a file path, or an SQLAlchemy URL for a server.
#: Taken before the command name and after it, by every command.
DbOption = Annotated[
    str | None, typer.Option("--db", envvar="NURSECASE_DB", help=DB_HELP, show_default=False)
]

NURSE_HELP = "Sign in as this nurse (username)."


def nurse_option(help_text: str, *, metavar: str | None = None) -> Any:
    """``--nurse`` (or NURSECASE_NURSE): who acts; each command words its help for itself."""
    return typer.Option(
        "--nurse", envvar="NURSECASE_NURSE", metavar=metavar, help=help_text, show_default=False
    )


#: ``--nurse`` before the command name (and after ``demo`` and ``seed``).
NurseOption = Annotated[str | None, nurse_option(NURSE_HELP)]

KEY_FILE_HELP = (
    "A file (mode 0600) whose first line is the passphrase of an encrypted database"
    " (default: NURSECASE_KEY_FILE; otherwise it is asked for on the terminal)."
)
#: ``--key-file``: the passphrase of an encrypted database.
KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help=KEY_FILE_HELP, show_default=False)
]

#: ``--password-stdin``: passwords as lines of standard input (``user`` commands).
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read passwords from standard input, one per line (for scripts): your own first"
        " when one is asked, then the new one.",
    ),
]

#: ``--password-stdin`` of the commands that only sign in (export, import, db backup).
SignInPasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read your password from standard input, one line (for scripts), instead of"
        " asking on the terminal. Needed only once accounts have passwords.",
    ),
]


# --- values every option must have ---------------------------------------------

#: The dates the CLI accepts (``--from``, ``--to``, ``--month``, ``--since``):
#: nobody's records reach outside them, and date arithmetic near year 1 or
#: 9999 overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: The most rows a listing option (``audit show --limit``) asks for.
MOST_ROWS = 1_000_000
#: The environment variables the CLI reads, checked like its arguments.
ENVIRONMENT_VARIABLES = ("NURSECASE_HOME", "NURSECASE_DB", "NURSECASE_NURSE", "NURSECASE_KEY_FILE")


def unusable_argument(arguments: list[str], environ: Mapping[str, str]) -> str | None:
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
        found = environ.get(variable)
        if found is not None and _not_utf8(found):
            return f"{variable}: {found!r} is not valid UTF-8 text"
        if found is not None and _unknown_home(found.strip()):
            return f"{variable}: {found}: no user of that name, so no home folder to start from"
    home = (environ.get("NURSECASE_HOME") or "").strip()
    if home:
        folder = Path(home).expanduser()
        if folder.exists() and not folder.is_dir():
            return f"NURSECASE_HOME: {folder} is not a folder"
    return None


def _unknown_home(text: str) -> bool:
    """True for "~name/..." when there is no user "name" (a path nobody can expand)."""
    if not text.startswith("~"):
        return False
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


def date_value(
    context: typer.Context, parameter: typer.CallbackParam, value: str | None
) -> str | None:
    """Callback of every date option: a year outside FIRST_YEAR..LAST_YEAR is refused.

    The format itself is checked where the value is read (one message per option).
    """
    if value is not None:
        year = value.strip()[:4]
        if year.isdigit() and not FIRST_YEAR <= int(year) <= LAST_YEAR:
            raise typer.BadParameter(
                f"the year must be between {FIRST_YEAR} and {LAST_YEAR}",
                param_hint=parameter.opts[0],
            )
    return value


#: A month option (YYYY-MM) has the same range.
month_value = date_value


# --- output --------------------------------------------------------------------


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

    def __init__(self, raw: BinaryIO) -> None:
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


# --- errors: one description, one handler --------------------------------------


class CommandError(Exception):
    """A failure to report as one line and exit code 1."""


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message is fit for the user; imported only when one happened."""
    from sqlalchemy.exc import DatabaseError, OperationalError

    from nursecase.config import ConfigError
    from nursecase.db.damaged import DRIVER_ERRORS
    from nursecase.db.locations import DatabaseLocationError
    from nursecase.db.maintenance.copy import CopyError
    from nursecase.db.maintenance.server_backup import BackupError
    from nursecase.db.schema import MigrationError
    from nursecase.domain.validation import ValidationError
    from nursecase.files import UnsafePathError
    from nursecase.services.errors import ServiceError

    return (
        UnsafePathError,
        CommandError,
        DatabaseError,
        *DRIVER_ERRORS,
        UnicodeError,
        ConfigError,
        DatabaseLocationError,
        MigrationError,
        CopyError,
        BackupError,
        ValidationError,
        ServiceError,
        OperationalError,
        OSError,
    )


def describe(error: BaseException, option_names: Mapping[str, str] | None = None) -> str | None:
    """The one line (after ``nursecase: error: ``) for an error fit for the user; None otherwise.

    ``option_names`` gives the command-line name of a field a ValidationError
    names (``display_name`` is ``--name`` to ``user add``); other fields keep
    their own name.
    """
    if not isinstance(error, _known_errors()):
        return None
    from sqlalchemy.exc import DatabaseError

    from nursecase.db.damaged import damage_described
    from nursecase.domain.validation import ValidationError

    damage = damage_described(error)
    if damage is not None:
        return damage
    if isinstance(error, UnicodeDecodeError | UnicodeEncodeError | UnicodeTranslateError):
        # Bytes that are not UTF-8 in a file name, a variable or standard input.
        return f"text that is not UTF-8 ({error.reason}); use UTF-8 names and input"
    if isinstance(error, DatabaseError):
        # The driver's first line says what is wrong ("unable to open database
        # file", "database is locked"); the SQL and parameters are not shown.
        return f"database: {(str(error.orig).splitlines() or [type(error.orig).__name__])[0]}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    if isinstance(error, ValidationError) and option_names:
        return f"{option_names.get(error.field, error.field)}: {error.message}"
    return str(error)


@contextmanager
def one_line_errors(option_names: Mapping[str, str] | None = None) -> Iterator[None]:
    """The CLI's one error handler: a known error as one line on stderr and exit code 1.

    Typer's own exceptions (usage errors, ``Exit``, ``Abort``) pass through for
    the entry point; an unexpected error passes through too (``main`` names it
    without a traceback).
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except Exception as error:
        line = describe(error, option_names)
        if line is None:
            raise
        echo(f"nursecase: error: {line}", err=True)
        raise typer.Exit(1) from error


Parameters = ParamSpec("Parameters")
Result = TypeVar("Result")


def handled(
    option_names: Mapping[str, str] | None = None,
) -> Callable[[Callable[Parameters, Result]], Callable[Parameters, Result]]:
    """Decorate a command so that its known errors end in one line wherever it is mounted.

    Under ``nursecase.cli.main`` and on a group mounted alone (as tests do)
    alike. Typer reads the command's parameters through ``functools.wraps``.
    """

    def decorate(command: Callable[Parameters, Result]) -> Callable[Parameters, Result]:
        @functools.wraps(command)
        def run(*arguments: Parameters.args, **options: Parameters.kwargs) -> Result:
            with one_line_errors(option_names):
                return command(*arguments, **options)

        return run

    return decorate


# --- the global options --------------------------------------------------------


@dataclass
class GlobalOptions:
    """Options given before the command."""

    db: str | None = None
    nurse: str | None = None


def global_options(context: typer.Context) -> GlobalOptions:
    """The options given before the command (kept on the root context)."""
    root = context.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


def chosen_option(
    context: typer.Context, name: str, own: str | None, *, environment: bool = True
) -> str | None:
    """The value of ``--db`` or ``--nurse`` (``name``) for a command: typed after it, else before.

    Both places also read the same environment variable, so a value typed on the
    command line wins over one from the environment, on whichever side of the
    command name it was typed: ``NURSECASE_NURSE=a nursecase --nurse b export``
    acts as b, as ``... export --nurse b`` does. With ``environment`` False the
    environment is not read at all (``audit show --nurse`` is a filter, not who acts).
    """
    before = getattr(global_options(context), name)
    if own is not None and _typed(context, name):
        return own
    if before is not None and _typed(context.find_root(), name):
        return before
    if not environment:
        return None
    return own if own is not None else before


def _typed(context: Any, name: str) -> bool:
    """Whether option ``name`` of ``context`` was typed on the command line (not the
    environment, not its default). By the source's name: Typer carries its own Click."""
    source = context.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def remember_global_options(
    context: typer.Context, db: str | None, nurse: str | None, key_file: Path | None
) -> None:
    """Keep ``--db`` and ``--nurse`` for the command; use ``--key-file`` for this invocation."""
    options = global_options(context)
    options.db = db
    options.nurse = nurse
    # Chosen on every invocation, so that an earlier --key-file in the same
    # process does not carry over; key_source loads nothing of the database.
    from nursecase.db.key_source import choose_key_file, choose_prompt

    choose_key_file(key_file)
    choose_prompt(ask_passphrase)


def load_settings() -> Settings:
    """The settings in the config file of the data folder."""
    from nursecase.config import load_settings as load
    from nursecase.paths import default_paths

    return load(default_paths().config_file)


def exports_folder(location: str, settings: Settings) -> Path:
    """Where exports of the database at ``location`` go by default.

    A running demo's database has its own exports folder beside it (``nursecase
    demo`` notes it there); otherwise the configured folder, else the data
    folder's ``exports``.
    """
    from nursecase.paths import default_paths

    place = demo_place(location)
    if place is not None:
        return place.exports
    return settings.exports_folder or default_paths().exports


def demo_place(location: str) -> DemoPlace | None:
    """The place of the running demo whose database is at ``location``; None for any other."""
    from nursecase.db.engine import database_url, sqlite_file
    from nursecase.paths import DemoPlace, demo_note

    path = sqlite_file(database_url(location))
    return None if path is None else DemoPlace.load(demo_note(path))


def shown(location: str) -> str:
    """A database location fit to print (a URL's password masked)."""
    from nursecase.db.engine import shown_location

    return shown_location(location)


# --- files around the database (issue 17 items 2, 3 and 8) ---------------------


def check_database_files(location: str, *, notice: bool) -> None:
    """Before a command touches an SQLite database: its path, its folder, its leftovers.

    A --db that is a link, folder, device, FIFO or socket is refused here, in one
    line, before anything opens or changes it (``database_url`` checks it). The
    data folder holding the default database is tightened to 0700 (refused with
    the reason if it is not ours). With ``notice``, each clear-text or unfinished
    copy an interrupted ``db encrypt``/``db decrypt`` left beside the database is
    named in one line with the command that removes it.
    """
    from nursecase.db.engine import database_url, sqlite_file
    from nursecase.files import private_folder
    from nursecase.paths import data_home

    path = sqlite_file(database_url(location))
    if path is None:
        return
    home = data_home()
    if path.parent == home.resolve() and home.is_dir():
        private_folder(home, tighten=True, what="the data folder")
    if notice:
        for leftover in conversion_leftovers(path):
            echo(
                f"nursecase: warning: {leftover.line()};"
                f" remove it with: nursecase db check --db {path} --remove-leftovers",
                err=True,
            )


def conversion_leftovers(path: Path) -> list[Leftover]:
    """What interrupted ``db encrypt``/``db decrypt`` runs left beside the database at ``path``."""
    if not path.parent.is_dir():
        return []
    from nursecase.db.maintenance.conversion import conversion_leftovers as leftovers

    return leftovers(path)


# --- the command state ---------------------------------------------------------


def terminal_to_ask_on() -> bool:
    """True when a hidden prompt can ask on a terminal instead of reading standard input.

    ``typer.prompt(hide_input=True)`` asks through click's ``hidden_prompt_func``,
    which calls ``getpass.getpass``: with no terminal it prints a GetPassWarning and
    reads standard input, echoed. It does not fall back where the process has a
    terminal (``/dev/tty`` opens, or standard input is one; on Windows, a console
    on standard input), and another prompt function (a program embedding the CLI,
    click's test runner) reads its own input.
    """
    import getpass

    # The termui module typer.prompt asks through (Typer carries its own Click),
    # and its prompt function: getpass, or its own small wrapper around getpass.
    termui = sys.modules[typer.prompt.__module__]
    asks = termui.hidden_prompt_func
    if asks is not getpass.getpass and getattr(asks, "__module__", None) != termui.__name__:
        return True
    try:
        if os.name == "nt":
            return sys.stdin.isatty() and sys.stdin is sys.__stdin__
        try:
            terminal = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return os.isatty(sys.stdin.fileno())
        os.close(terminal)
        return True
    except (AttributeError, ValueError, OSError):  # no standard input, or one without a file
        return False


class PasswordSource:
    """Where passwords come from: hidden prompts, or lines of standard input.

    ``prompt_on_stderr`` keeps standard output for the command's own output
    (``export --out -`` streams the report there). With no terminal to ask on
    and no ``--password-stdin``, a password asked for ends the command in one
    line (exit 1) before any prompt is shown; nothing is read from standard
    input unasked.
    """

    def __init__(self, from_stdin: bool, prompt_on_stderr: bool = False) -> None:
        self.from_stdin = from_stdin
        self.prompt_on_stderr = prompt_on_stderr
        self._stdin: TextIO | None = None

    def _line(self, what: str) -> str:
        # One stream for every line: each get_text_stream call wraps stdin
        # afresh, and a fresh wrapper would miss what the last one buffered.
        if self._stdin is None:
            self._stdin = typer.get_text_stream("stdin")
        try:
            line = self._stdin.readline()
        except UnicodeDecodeError:
            raise CommandError(f"--password-stdin: {what} is not UTF-8 text") from None
        if not line:
            raise CommandError(f"--password-stdin: standard input ended before {what}")
        return line.rstrip("\r\n")

    def _hidden(self, prompt: str, what: str) -> str:
        """Ask ``prompt`` on the terminal without echo; refused in one line without one."""
        import getpass
        import warnings

        if not terminal_to_ask_on():
            raise CommandError(
                f"{what} is needed and there is no terminal to ask for it;"
                " give it on standard input with --password-stdin"
            )
        with warnings.catch_warnings():
            # Should getpass fall back after all, nothing is read with echo.
            warnings.simplefilter("error", getpass.GetPassWarning)
            try:
                password: str = typer.prompt(prompt, hide_input=True, err=self.prompt_on_stderr)
            except getpass.GetPassWarning:
                raise CommandError(
                    f"{what} cannot be asked without echo on this terminal;"
                    " give it on standard input with --password-stdin"
                ) from None
        return password

    def current(self, username: str) -> str:
        """The password of ``username``, who is signing in."""
        if self.from_stdin:
            return self._line(f"{username}'s password")
        return self._hidden(f"Password for {username}", f"{username}'s password")

    def new(self, username: str) -> str:
        """A new password for ``username``: typed twice (must match), or one line."""
        from nursecase.domain.passwords import check_new_password

        if self.from_stdin:
            password = self._line("the new password")
        else:
            password = self._hidden(f"New password for {username}", "the new password")
        # Checked before the second prompt: nobody should type a refused password twice.
        check_new_password(password, username)
        if not self.from_stdin:
            again = self._hidden("Repeat the new password", "the new password")
            if again != password:
                raise CommandError("the two passwords do not match; nothing was changed")
        return password


@dataclass(frozen=True)
class CommandState:
    """What a command runs on: the database's location and the nurse who acts.

    Built by :meth:`of` from the command's own ``--db``/``--nurse`` (which win)
    and the ones given before the command name.
    """

    #: The database: a file path or an SQLAlchemy URL.
    location: str
    #: The acting nurse's username (``--nurse`` or NURSECASE_NURSE), if given.
    nurse: str | None = None

    @classmethod
    def of(
        cls,
        context: typer.Context,
        db: str | None,
        nurse: str | None = None,
        *,
        notice: bool = True,
    ) -> CommandState:
        """The state of a command on ``--db`` (else the default database), its files checked.

        With ``notice``, leftovers of interrupted conversions are named on stderr.
        """
        from nursecase.paths import default_database

        location = chosen_option(context, "db", db) or default_database()
        check_database_files(location, notice=notice)
        return cls(location, chosen_option(context, "nurse", nurse))

    @property
    def shown(self) -> str:
        """The location fit to print (a URL's password masked)."""
        return shown(self.location)

    def sqlite_file(self) -> Path | None:
        """The SQLite file of the database; None for a server."""
        from nursecase.db.engine import database_url, sqlite_file

        return sqlite_file(database_url(self.location))

    def require_existing(self) -> None:
        """Refuse an SQLite database that does not exist (only ``user add`` and such create)."""
        path = self.sqlite_file()
        if path is not None and not path.exists():
            raise CommandError(f"no database at {path}")

    @contextmanager
    def engine(self, *, upgrade: bool = True, optimize: bool = False) -> Iterator[Engine]:
        """The engine on the database, disposed afterwards whatever happens.

        ``upgrade`` brings it to the current schema first (a backup is taken);
        ``optimize`` has SQLite optimize its statistics before closing (its advice
        for long sessions, such as the app).
        """
        from nursecase.db.engine import make_engine

        engine = make_engine(self.location)
        try:
            if upgrade:
                from nursecase.db.maintenance.migrate import ensure_schema
                from nursecase.paths import default_paths

                ensure_schema(engine, backup_folder=default_paths().backups)
            if not optimize:
                yield engine
                return
            try:
                yield engine
            finally:
                from nursecase.db.engine import optimize as optimize_database

                optimize_database(engine)
        finally:
            engine.dispose()

    @contextmanager
    def services(
        self,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        optimize: bool = False,
    ) -> Iterator[Services]:
        """The services on the upgraded database (nobody signed in yet); disposed afterwards."""
        from nursecase.clock import SystemClock
        from nursecase.services import make_services

        with self.engine(optimize=optimize) as engine:
            yield make_services(engine, clock or SystemClock(), settings=settings)

    def sign_in(
        self,
        services: Services,
        passwords: PasswordSource,
        why: str,
        *,
        actor: str | None = None,
    ) -> None:
        """Sign in the acting account (``actor``, else ``--nurse``): with its password once
        accounts are enforced.

        While no account has a password the nurse named (if any) is signed in
        on their word, so that the audit still names them. Once passwords
        exist, a command that acts needs someone (``why`` says what they are
        doing) and their password; a refusal is answered after the delay it
        earned, as the login screen makes the next try wait.
        """
        acting = actor if actor is not None else self.nurse
        accounts = services.accounts
        if not accounts.has_passwords():
            if acting is not None:
                services.nurses.sign_in(acting)  # open database: the audit still names them
            return
        if acting is None:
            raise CommandError(f"{why}: say who you are with --nurse USERNAME (or NURSECASE_NURSE)")
        from nursecase.services.accounts import LoginFailedError

        try:
            accounts.verify_login(acting, passwords.current(acting.strip().lower()))
        except LoginFailedError as error:
            # A script cannot guess faster from the shell than at the login screen.
            accounts.pause_after_refusal(error)
            raise

    def act_as(
        self,
        services: Services,
        why: str,
        *,
        actor: str | None = None,
        password_stdin: bool = False,
    ) -> None:
        """Sign in whoever runs a command that acts as someone (export, import, db backup).

        Once accounts have passwords a role is never taken on a username's word:
        the password is read from standard input (``password_stdin``) or asked,
        hidden, on stderr (so that ``--out -`` keeps standard output for the
        report alone), and checked like a login.
        """
        acting = actor if actor is not None else self.nurse
        # With passwords on, an unknown username is answered like a wrong password
        # (by the sign-in, after its delay): saying "no nurse" would list the accounts.
        enforced = services.accounts.has_passwords()
        if acting is not None and not enforced and services.nurses.get_by_username(acting) is None:
            raise CommandError(f"--nurse: no nurse with username {acting.strip().lower()!r}")
        passwords = PasswordSource(from_stdin=password_stdin, prompt_on_stderr=True)
        self.sign_in(services, passwords, why, actor=acting)


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

    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"Passphrase for {database}: ")
