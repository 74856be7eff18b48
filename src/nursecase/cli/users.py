"""``nursecase user add|passwd|disable|list``: accounts, passwords and roles.

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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    PasswordSource,
    PasswordStdinOption,
    echo,
    handled,
    nurse_option,
)

if TYPE_CHECKING:
    from nursecase.services import Services

user_app = typer.Typer(help="Accounts: add, change passwords, disable, list.", no_args_is_help=True)

#: ``--nurse`` of the user commands: who acts (asked for their password).
ActorOption = Annotated[
    str | None,
    nurse_option(
        "Who you are (asked for your password). Not needed before the first password.",
        metavar="USERNAME",
    ),
]
UsernameArgument = Annotated[
    str, typer.Argument(metavar="USERNAME", help="The account's username.", show_default=False)
]

#: The CLI name of each service field, for one-line errors.
USER_OPTION_NAMES = {
    "username": "USERNAME",
    "display_name": "--name",
    "credentials": "--credentials",
    "role": "--role",
    "password": "password",
    "nurse": "--nurse",
}


@contextmanager
def _accounts(state: CommandState, *, create: bool = False) -> Iterator[Services]:
    """The services on the (upgraded) database; the engine is closed afterwards.

    Only ``user add`` may create the database (the first account of a new
    installation); the other commands refuse a database that is not there.
    """
    if not create:
        state.require_existing()
    with state.services() as services:
        yield services


@user_app.command("add")
@handled(USER_OPTION_NAMES)
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
    state = CommandState.of(context, db, nurse)
    with _accounts(state, create=True) as services:
        from nursecase.domain.codes import Role, parse_code
        from nursecase.services.nurses import normalize_username

        # Bad options are refused before anyone types a password.
        new_username = normalize_username(username)
        if role is not None:
            parse_code(Role, role, "role")
        state.sign_in(services, passwords, "adding an account")
        password = passwords.new(new_username)
        account = services.accounts.add(
            new_username, name, password, role=role, credentials=credentials
        )
    echo(f"Added {account.username} ({account.display_name}), role {account.role}")


@user_app.command("passwd")
@handled(USER_OPTION_NAMES)
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
    passwords = PasswordSource(password_stdin)
    state = CommandState.of(context, db, nurse)
    with _accounts(state) as services:
        from nursecase.services.nurses import normalize_username

        whose = username or state.nurse
        if whose is None:
            raise CommandError("say whose password: USERNAME, or --nurse USERNAME")
        target = normalize_username(whose)
        # Changing one's own password: signing in with the current one proves it.
        state.sign_in(services, passwords, "changing a password", actor=state.nurse or target)
        password = passwords.new(target)
        services.accounts.change_password(target, password)
    echo(f"Changed the password of {target}")


@user_app.command("disable")
@handled(USER_OPTION_NAMES)
def user_disable(
    context: typer.Context,
    username: UsernameArgument,
    password_stdin: PasswordStdinOption = False,
    db: DbOption = None,
    nurse: ActorOption = None,
) -> None:
    """Disable an account (an admin's job): it can no longer sign in; its records stay."""
    passwords = PasswordSource(password_stdin)
    state = CommandState.of(context, db, nurse)
    with _accounts(state) as services:
        state.sign_in(services, passwords, "disabling an account")
        account = services.accounts.disable(username)
    echo(f"Disabled {account.username}")


@user_app.command("list")
@handled(USER_OPTION_NAMES)
def user_list(context: typer.Context, db: DbOption = None) -> None:
    """List the accounts: username, role, whether disabled or without a password, name."""
    with _accounts(CommandState.of(context, db)) as services:
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
