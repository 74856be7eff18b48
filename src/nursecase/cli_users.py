"""``nursecase user add|passwd|disable|list``: accounts, passwords and roles.

A Typer sub-app, mounted by ``nursecase.cli`` as ``user``. Like the rest of the
CLI it imports only Typer at the top; the database, the services and argon2
are loaded inside the commands.

Who acts: once the database has an account with a password (see
``nursecase.services.accounts``), every command except ``list`` first signs in
the account named by ``--nurse`` (or NURSECASE_NURSE) with its password; adding
accounts, disabling them and setting someone else's password need an admin.
While no account has a password (a new or demo database), the first ``user
add`` needs nobody and makes an admin.

Passwords are asked twice on the terminal without echo, or read from standard
input with ``--password-stdin``, one per line: first the signed-in account's
password when one is needed, then the new password (once). They never appear
in the output, the audit trail or an error message.

Errors are one line, ``nursecase: error: ...``, and exit code 1, also when this
sub-app runs on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer

from nursecase.cli_options import DbOption, echo

user_app = typer.Typer(help="Accounts: add, change passwords, disable, list.", no_args_is_help=True)

# The same options as nursecase.cli's (which mounts this module, so it cannot be
# imported from here at import time).
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--nurse",
        envvar="NURSECASE_NURSE",
        metavar="USERNAME",
        help="Who you are (asked for your password). Not needed before the first password.",
        show_default=False,
    ),
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read passwords from standard input, one per line (for scripts): your own first"
        " when one is asked, then the new one.",
    ),
]
UsernameArgument = Annotated[
    str, typer.Argument(metavar="USERNAME", help="The account's username.", show_default=False)
]


class PasswordSource:
    """Where passwords come from: hidden prompts, or lines of standard input.

    ``prompt_on_stderr`` keeps standard output for the command's own output
    (``export --out -`` streams the report there).
    """

    def __init__(self, from_stdin: bool, prompt_on_stderr: bool = False) -> None:
        self.from_stdin = from_stdin
        self.prompt_on_stderr = prompt_on_stderr
        self._stdin = None

    def _line(self, what: str) -> str:
        from nursecase.cli import CommandError

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

    def current(self, username: str) -> str:
        """The password of ``username``, who is signing in."""
        if self.from_stdin:
            return self._line(f"{username}'s password")
        return typer.prompt(f"Password for {username}", hide_input=True, err=self.prompt_on_stderr)

    def new(self, username: str) -> str:
        """A new password for ``username``: typed twice (must match), or one line."""
        from nursecase.cli import CommandError
        from nursecase.domain.passwords import check_new_password

        if self.from_stdin:
            password = self._line("the new password")
        else:
            password = typer.prompt(f"New password for {username}", hide_input=True)
        # Checked before the second prompt: nobody should type a refused password twice.
        check_new_password(password, username)
        if not self.from_stdin:
            again = typer.prompt("Repeat the new password", hide_input=True)
            if again != password:
                raise CommandError("the two passwords do not match; nothing was changed")
        return password


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Known failures as one line on stderr and exit code 1 (mounted or not)."""
    from nursecase.cli import CommandError
    from nursecase.domain.validation import ValidationError
    from nursecase.services.errors import ServiceError

    try:
        yield
    except ValidationError as error:
        option = _OPTION_NAMES.get(error.field, error.field)
        echo(f"nursecase: error: {option}: {error.message}", err=True)
        raise typer.Exit(1) from error
    except (CommandError, ServiceError) as error:
        echo(f"nursecase: error: {error}", err=True)
        raise typer.Exit(1) from error


#: The CLI name of each service field, for one-line errors.
_OPTION_NAMES = {
    "username": "USERNAME",
    "display_name": "--name",
    "credentials": "--credentials",
    "role": "--role",
    "password": "password",
    "nurse": "--nurse",
}


@dataclass
class _Workspace:
    """The two services these commands use, on one shared context."""

    nurses: object
    accounts: object


@contextmanager
def _accounts(
    context: typer.Context, db: str | None, *, create: bool = False
) -> Iterator[_Workspace]:
    """The services on the (upgraded) database; the engine is closed afterwards.

    Only ``user add`` may create the database (the first account of a new
    installation); the other commands refuse a database that is not there.
    """
    from nursecase.cli import _database_location, _open_engine, _require_existing
    from nursecase.clock import SystemClock
    from nursecase.services import make_services
    from nursecase.services.accounts import AccountService

    location = _database_location(context, db)
    if not create:
        _require_existing(location)
    engine = _open_engine(location)
    try:
        services = make_services(engine, SystemClock())
        accounts = getattr(services, "accounts", None) or AccountService(services.context)
        yield _Workspace(nurses=services.nurses, accounts=accounts)
    finally:
        engine.dispose()


def sign_in_actor(services, actor: str | None, passwords: PasswordSource, why: str) -> None:
    """Sign in the acting account: with its password once accounts are enforced.

    ``services`` needs ``nurses`` and ``accounts``. Other commands that act as
    someone (``export``) can use this too, so that a role is never taken on a
    username's word once passwords exist.
    """
    from nursecase.cli import CommandError

    accounts = services.accounts
    if not accounts.has_passwords():
        if actor is not None:
            services.nurses.sign_in(actor)  # open database: the audit still names them
        return
    if actor is None:
        raise CommandError(f"{why}: say who you are with --nurse USERNAME (or NURSECASE_NURSE)")
    from nursecase.services.accounts import LoginFailedError

    try:
        accounts.verify_login(actor, passwords.current(actor.strip().lower()))
    except LoginFailedError as error:
        # The refusal is answered after the delay it earned, as the login screen
        # makes the next try wait: a script cannot guess faster from the shell.
        accounts.pause_after_refusal(error)
        raise


def _actor(context: typer.Context, nurse: str | None) -> str | None:
    from nursecase.cli import _nurse

    return _nurse(context, nurse)


@user_app.command("add")
def user_add(
    context: typer.Context,
    username: UsernameArgument,
    name: Annotated[
        str, typer.Option("--name", help="The name shown in the app.", show_default=False)
    ],
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="nurse, supervisor or admin [nurse; admin for the first account].",
            show_default=False,
        ),
    ] = None,
    credentials: Annotated[str, typer.Option("--credentials", help="Such as RN, CCM.")] = "RN",
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    nurse: ActorOption = None,
) -> None:
    """Add an account with a password (an admin's job; the first account is an admin)."""
    passwords = PasswordSource(password_stdin)
    with _one_line_errors(), _accounts(context, db, create=True) as services:
        from nursecase.domain.codes import Role, parse_code
        from nursecase.services.nurses import normalize_username

        # Bad options are refused before anyone types a password.
        new_username = normalize_username(username)
        if role is not None:
            parse_code(Role, role, "role")
        sign_in_actor(services, _actor(context, nurse), passwords, "adding an account")
        password = passwords.new(new_username)
        account = services.accounts.add(
            new_username, name, password, role=role, credentials=credentials
        )
    echo(f"Added {account.username} ({account.display_name}), role {account.role}")


@user_app.command("passwd")
def user_passwd(
    context: typer.Context,
    username: Annotated[
        str | None,
        typer.Argument(
            metavar="[USERNAME]",
            help="Whose password (default: your own, --nurse). Someone else's needs an admin.",
            show_default=False,
        ),
    ] = None,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    nurse: ActorOption = None,
) -> None:
    """Change a password: your own (asks the current one first), or anyone's as an admin."""
    from nursecase.cli import CommandError

    passwords = PasswordSource(password_stdin)
    actor = _actor(context, nurse)
    with _one_line_errors(), _accounts(context, db) as services:
        from nursecase.services.nurses import normalize_username

        if (username or actor) is None:
            raise CommandError("say whose password: USERNAME, or --nurse USERNAME")
        target = normalize_username(username or actor)
        # Changing one's own password: signing in with the current one proves it.
        sign_in_actor(services, actor or target, passwords, "changing a password")
        password = passwords.new(target)
        services.accounts.change_password(target, password)
    echo(f"Changed the password of {target}")


@user_app.command("disable")
def user_disable(
    context: typer.Context,
    username: UsernameArgument,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    nurse: ActorOption = None,
) -> None:
    """Disable an account (an admin's job): it can no longer sign in; its records stay."""
    passwords = PasswordSource(password_stdin)
    with _one_line_errors(), _accounts(context, db) as services:
        sign_in_actor(services, _actor(context, nurse), passwords, "disabling an account")
        account = services.accounts.disable(username)
    echo(f"Disabled {account.username}")


@user_app.command("list")
def user_list(context: typer.Context, db: DbOption = None) -> None:
    """List the accounts: username, role, whether disabled or without a password, name."""
    with _one_line_errors(), _accounts(context, db) as services:
        accounts = services.accounts.list_accounts()
        enforced = services.accounts.has_passwords()
    if not accounts:
        echo("No accounts yet; add the first (an admin) with: nursecase user add")
        return
    width = max(len(account.username) for account in accounts)
    for account in accounts:
        state = "active" if account.active else "disabled"
        if not account.has_password:
            state += ", no password"
        echo(
            f"{account.username:<{width}}  {account.role:<10}  {state:<20}  {account.display_name}"
        )
    if not enforced:
        echo("No account has a password: this database runs open (no login).")
