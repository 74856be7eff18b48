"""``nursecase user add|passwd|disable|list``: passwords from stdin or two hidden prompts,
the bootstrap admin, admin-only management, and one clear line for every refusal.

The sub-app is mounted here under ``user`` the way ``nursecase.cli`` mounts it.
Commands run in this process hash with cheap Argon2 costs and wait out sign-in
delays in virtual time (tests/cli/conftest.py); the one real subprocess below
hashes with the product's parameters.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from nursecase.cli.users import user_app
from nursecase.db.engine import make_engine

ADMIN_PASSWORD = "correct horse battery"
NURSE_PASSWORD = "tulip lantern orbit"

pytestmark = pytest.mark.usefixtures("cheap_password_hashing", "virtual_waits")


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    monkeypatch.setenv("NURSECASE_HOME", str(folder))
    monkeypatch.delenv("NURSECASE_DB", raising=False)
    monkeypatch.delenv("NURSECASE_NURSE", raising=False)
    return folder


@pytest.fixture
def cli(home, database_path):
    """Run ``nursecase user ...`` on the test database; returns the Click result."""
    root = typer.Typer()
    root.add_typer(user_app, name="user")

    def invoke(*arguments: str, input: str | None = None):
        return CliRunner().invoke(
            root, ["user", *arguments, "--db", str(database_path)], input=input
        )

    return invoke


@pytest.fixture
def staffed(cli):
    """root (admin, the bootstrap) and nina (nurse), added from scripts."""
    assert (
        cli(
            "add", "root", "--name", "Rita Root", "--password-stdin", input=f"{ADMIN_PASSWORD}\n"
        ).exit_code
        == 0
    )
    added = cli(
        "add",
        "nina",
        "--name",
        "Nina Nurse",
        "--role",
        "nurse",
        "--nurse",
        "root",
        "--password-stdin",
        input=f"{ADMIN_PASSWORD}\n{NURSE_PASSWORD}\n",
    )
    assert added.exit_code == 0, added.stderr
    return cli


def hashes(database_path) -> dict[str, str | None]:
    engine = make_engine(database_path)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT username, password_hash FROM nurse")).all())
    finally:
        engine.dispose()


def assert_one_line_error(result, message: str) -> None:
    assert result.exit_code == 1
    assert result.stderr == f"nursecase: error: {message}\n"
    assert "Traceback" not in result.output


def test_the_first_user_add_from_stdin_makes_an_admin(cli, database_path):
    result = cli(
        "add", "root", "--name", "Rita Root", "--password-stdin", input=f"{ADMIN_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Added root (Rita Root), role admin\n"
    stored = hashes(database_path)["root"]
    assert stored.startswith("$argon2id$") and ADMIN_PASSWORD not in stored
    assert ADMIN_PASSWORD not in result.output


def test_two_hidden_prompts_that_match_set_the_password(cli, database_path):
    result = cli(
        "add", "root", "--name", "Rita Root", input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n"
    )
    assert result.exit_code == 0, result.stderr
    assert "New password for root" in result.stdout and "Repeat the new password" in result.stdout
    assert ADMIN_PASSWORD not in result.output  # hidden input is not echoed
    assert hashes(database_path)["root"].startswith("$argon2id$")


def test_two_hidden_prompts_that_differ_change_nothing(cli, database_path):
    result = cli(
        "add", "root", "--name", "Rita Root", input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}!\n"
    )
    assert_one_line_error(result, "the two passwords do not match; nothing was changed")
    assert "root" not in hashes(database_path)


def test_a_short_password_is_refused_in_one_line(cli, database_path):
    result = cli("add", "root", "--name", "Rita Root", "--password-stdin", input="too short\n")
    assert_one_line_error(
        result, "password: must be at least 12 characters (a few words make a good one)"
    )
    assert "too short" not in result.output
    assert hashes(database_path) == {}


def test_after_bootstrap_adding_needs_an_admin_who_signs_in(staffed, database_path):
    anonymous = staffed(
        "add", "zoe", "--name", "Zoe Zed", "--password-stdin", input="a long passphrase\n"
    )
    assert_one_line_error(
        anonymous, "adding an account: say who you are with --nurse USERNAME (or NURSECASE_NURSE)"
    )
    wrong = staffed(
        "add",
        "zoe",
        "--name",
        "Zoe Zed",
        "--nurse",
        "root",
        "--password-stdin",
        input="not the admin password\na long passphrase\n",
    )
    assert_one_line_error(wrong, "wrong username or password")
    as_nurse = staffed(
        "add",
        "zoe",
        "--name",
        "Zoe Zed",
        "--nurse",
        "nina",
        "--password-stdin",
        input=f"{NURSE_PASSWORD}\na long passphrase\n",
    )
    assert_one_line_error(as_nurse, "adding an account needs an admin account; nina is a nurse")
    assert "zoe" not in hashes(database_path)


def test_a_bad_role_is_refused_before_any_password_is_asked(cli):
    result = cli("add", "root", "--name", "Rita Root", "--role", "boss")
    assert_one_line_error(result, "--role: must be one of: nurse, supervisor, admin")
    assert "password" not in result.stdout.lower()


def test_list_shows_roles_and_disabled_accounts(staffed):
    disabled = staffed(
        "disable", "nina", "--nurse", "root", "--password-stdin", input=f"{ADMIN_PASSWORD}\n"
    )
    assert disabled.exit_code == 0, disabled.stderr
    assert disabled.stdout == "Disabled nina\n"
    listing = staffed("list")
    assert listing.exit_code == 0
    lines = [line.split() for line in listing.stdout.splitlines()]
    assert lines == [
        ["nina", "nurse", "disabled", "Nina", "Nurse"],
        ["root", "admin", "active", "Rita", "Root"],
    ]
    refused = staffed(
        "passwd",
        "--nurse",
        "nina",
        "--password-stdin",
        input=f"{NURSE_PASSWORD}\nnew passphrase here\n",
    )
    assert_one_line_error(refused, "the account nina is disabled; ask an admin")


def test_list_on_an_open_database_says_so(cli, services):
    listing = cli("list")
    assert listing.exit_code == 0
    assert listing.stdout.splitlines() == [
        "alice  nurse       active, no password   Alice Moreno",
        "No account has a password: this database runs open (no login).",
    ]


def test_passwd_changes_ones_own_password_after_the_current_one(staffed, database_path):
    before = hashes(database_path)["nina"]
    result = staffed(
        "passwd",
        "--nurse",
        "nina",
        "--password-stdin",
        input=f"{NURSE_PASSWORD}\nnew passphrase here\n",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Changed the password of nina\n"
    assert hashes(database_path)["nina"] != before
    # The new one signs in; the old one no longer does.
    again = staffed(
        "passwd",
        "--nurse",
        "nina",
        "--password-stdin",
        input=f"{NURSE_PASSWORD}\nyet another passphrase\n",
    )
    assert_one_line_error(again, "wrong username or password")


def test_passwd_for_someone_else_needs_an_admin(staffed):
    as_nurse = staffed(
        "passwd",
        "root",
        "--nurse",
        "nina",
        "--password-stdin",
        input=f"{NURSE_PASSWORD}\nnew passphrase here\n",
    )
    assert_one_line_error(
        as_nurse, "changing another account's password needs an admin account; nina is a nurse"
    )
    as_admin = staffed(
        "passwd",
        "nina",
        "--nurse",
        "root",
        "--password-stdin",
        input=f"{ADMIN_PASSWORD}\nreset by the admin\n",
    )
    assert as_admin.exit_code == 0, as_admin.stderr


def test_stdin_that_ends_early_is_one_line(staffed):
    result = staffed("disable", "nina", "--nurse", "root", "--password-stdin", input="")
    assert_one_line_error(result, "--password-stdin: standard input ended before root's password")


# The real entry point in a subprocess, with stdin a pipe.
ENTRY = "import sys; from nursecase.cli import main; main(sys.argv[1:])"


def test_a_script_pipes_both_passwords_through_the_real_entry_point(home, database_path, tmp_path):
    import os
    import subprocess
    import sys

    def run(*arguments: str, stdin: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", ENTRY, "--db", str(database_path), *arguments],
            input=stdin,
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=120,
        )

    first = run(
        "user",
        "add",
        "root",
        "--name",
        "Rita Root",
        "--password-stdin",
        stdin=f"{ADMIN_PASSWORD}\n",
    )
    assert first.returncode == 0, first.stderr
    # Two lines from one pipe: the admin's password, then the new account's.
    second = run(
        "--nurse",
        "root",
        "user",
        "add",
        "nina",
        "--name",
        "Nina Nurse",
        "--password-stdin",
        stdin=f"{ADMIN_PASSWORD}\n{NURSE_PASSWORD}\n",
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == "Added nina (Nina Nurse), role nurse\n"
    # A real process hashes with the product's Argon2id parameters (argon2-cffi's
    # defaults, RFC 9106's second option); the tests in this process use cheap ones.
    for stored in hashes(database_path).values():
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    refused = run("user", "list", "--db", str(tmp_path / "missing.db"), stdin="")
    assert refused.returncode == 1
    assert refused.stderr == f"nursecase: error: no database at {tmp_path / 'missing.db'}\n"


def test_wrong_passwords_in_separate_commands_wait_longer_each_time(
    staffed, database_path, virtual_waits
):
    """Issue 17: the delay is kept in the database, so each new command waits longer.

    Each command builds its services afresh from the database, as a new process
    does; the waits are virtual (``virtual_waits``): the clock moves by each one.
    """
    from nursecase.clock import FrozenClock
    from nursecase.services.accounts import AccountService, LoginFailedError
    from nursecase.services.context import ServiceContext

    # One refusal recorded earlier (another workstation, days ago: nothing left to wait).
    engine = make_engine(database_path)
    try:
        earlier = AccountService(ServiceContext(engine, FrozenClock(datetime(2026, 1, 5, 9))))
        with pytest.raises(LoginFailedError):
            earlier.verify_login("root", "an earlier wrong guess")
    finally:
        engine.dispose()
    virtual_waits.take()

    def wrong_guess() -> list[float]:
        result = staffed(
            "disable", "nina", "--nurse", "root", "--password-stdin", input="not the admin\n"
        )
        assert_one_line_error(result, "wrong username or password")
        return virtual_waits.take()

    # The 2nd refusal is answered after 2 s, the 3rd after 4 s: nothing was left of
    # the 2nd one's delay when the 3rd began (main: no wait at all).
    assert wrong_guess() == [2.0]
    assert wrong_guess() == [4.0]
