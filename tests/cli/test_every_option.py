"""Every option of every command, given odd values: a result or one line of error, never more.

The command tree is read from the Typer app itself (``typer.main.get_command``),
so a new command or option is covered without editing this file. For each
option (and argument) hypothesis draws values a user or a script could type:
empty and blank text, control characters, markup, huge and negative numbers,
impossible dates, bytes that are not UTF-8 (as Python carries them, by
surrogateescape), folders, missing files and a text file in place of a
database. Each command runs in-process through ``nursecase.cli.main`` (the
real entry point) on a private copy of a small database, with passwords on
standard input. It must end with exit code 0, or with a non-zero exit and
exactly one line on stderr, ``nursecase: error: ...``; never a traceback and
never "unexpected".

Not run: the commands that open the Textual app (``nursecase`` alone, ``demo``);
values that name devices (a refused ``--db /dev/null`` or ``--out /dev/null``
must never be tried on a real device; that is item 8's own test) or places
outside the run's folder (HOME is the run's folder, and drawn text never starts
with "/" or "~"). NUL is not drawn: a command line cannot carry it.

Budget: the values in ALWAYS_TRIED and two drawn ones per option, about a minute;
NURSECASE_CLI_PROFILE=cli-options-thorough searches 40 values per option.
Passwords are hashed with cheap Argon2 costs (``cheap_password_hashing``,
tests/cli/conftest.py): what is tested here is the command line, not the hash.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nursecase.cli import app, main

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")
#: Commands that open the Textual app, or serve until stopped (``adt listen``, whose
#: refusals are tests/cli/test_adt_commands.py's): not runnable in a test process.
LAUNCHES_THE_APP = {("demo",), ("adt", "listen")}
#: Each command's required arguments and options, so that one value at a time is varied.
BASE_ARGUMENTS = {
    ("export",): ["caseload", "--nurse", "root", "--out", "{tmp}/out/report.csv"],
    ("user", "add"): ["newcomer", "--name", "New Comer", "--password-stdin"],
    ("user", "passwd"): ["root", "--password-stdin"],
    ("user", "disable"): ["nina", "--password-stdin"],
    ("db", "backup"): ["{tmp}/backup.db"],
    ("db", "copy"): ["--to", "{tmp}/copy.db"],
    ("db", "encrypt"): ["--key-file", "{tmp}/key"],
    ("db", "decrypt"): ["--key-file", "{tmp}/key"],
    ("import", "fhir"): ["{tmp}/missing.json"],
    ("import", "readings"): ["{tmp}/missing.csv"],
    ("adt", "import"): ["{tmp}/missing.hl7"],
    ("seed",): ["--patients", "3"],
}
#: Options whose in-range values are costly (a million patients): only small or refused ones.
SMALL_NUMBERS_ONLY = {"--patients"}

ODD_TEXT = [
    "",
    " ",
    "\t",
    "-",
    "--",
    "x\x1b[31mred\x07",
    "[bold]x",
    "\u202eevil",
    "bad\udcffbyte",
    "a" * 3000,
    "0",
    "-1",
    "99999999999999999999999",
    "1e309",
    "nan",
    "0001-01-01",
    "9999-12-31",
    "0001-01",
    "9999-12",
    "2024-02-30",
    "2024-13",
    "2024-00",
    "+999999-01-01",
    "root",
    "nina",
    "MRN-1",
    "csv",
    "fhir",
    "pdf",
    "caseload",
    "supervisor",
    "postgresql://nobody@127.0.0.1:1/none",
    "sqlite:///{tmp}/url.db",
    "{tmp}",
    "{tmp}/missing/deeper/file",
    "{tmp}/text.txt",
    "{tmp}/out",
    "{tmp}/nursecase.db",
    "~",
    "~/inside-home",
    "~nobody-here/file",
]
NUMBERS = [0, -1, 1, 2, 365, 366, 10**6, 10**19, -(10**19), 2**63, 10**40]
#: Tried on every option whatever the profile draws: each once ended in "unexpected".
ALWAYS_TRIED = ["", "bad\udcffbyte", "0001-01-01", "99999999999999999999999"]


def values_for(parameter) -> st.SearchStrategy:
    """Values for one option or argument, as command-line text."""
    numbers = st.sampled_from(NUMBERS).map(str)
    if (
        parameter.name
        and f"--{parameter.name.replace('_', '-')}" in SMALL_NUMBERS_ONLY
        or ("--patients" in getattr(parameter, "opts", []))
    ):
        numbers = st.sampled_from([-1, 0, 1, 2, 10**7, 10**30]).map(str)
    # Drawn text never names an absolute path: a command may write where it points.
    drawn = st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=12
    ).filter(lambda value: not value.startswith(("/", "~")))
    text = st.sampled_from(ODD_TEXT) | drawn
    if parameter.type_descriptor.annotation is int or "int" in str(parameter.bare_type()):
        return numbers | st.sampled_from(ODD_TEXT[:12])
    return text | numbers


@dataclass(frozen=True)
class Case:
    """One option (or argument) of one command."""

    command: tuple[str, ...]
    parameter: str
    opts: tuple[str, ...]
    is_flag: bool
    is_argument: bool
    nargs: int

    def __str__(self) -> str:
        return " ".join(self.command) + " " + (self.opts[0] if self.opts else self.parameter)


def cases() -> list[Case]:
    """Every (command, parameter) pair of the app, help and version left out."""
    found: list[Case] = []

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # a group (Typer's own copy of click)
            for name, child in command.commands.items():
                walk(child, (*path, name))
            return
        if path in LAUNCHES_THE_APP:
            return
        for parameter in command.params:
            if parameter.name in ("help", "version") or parameter.hidden:
                continue
            found.append(
                Case(
                    command=path,
                    parameter=parameter.name or "",
                    opts=tuple(parameter.opts),
                    is_flag=getattr(parameter, "is_flag", False),
                    is_argument=parameter.param_type_name == "argument",
                    nargs=parameter.nargs,
                )
            )

    root = typer.main.get_command(app)
    walk(root, ())
    # The root's own options (--db, --nurse, --key-file) before a harmless command.
    for parameter in root.params:
        if parameter.name not in ("help", "version"):
            found.append(
                Case(
                    ("audit", "verify"),
                    f"root:{parameter.name}",
                    tuple(parameter.opts),
                    False,
                    False,
                    1,
                )
            )
    return found


CASES = cases()

# Small by default (the suite's budget: about a minute for every option); set
# NURSECASE_CLI_PROFILE=cli-options-thorough to search longer, with fresh values.
settings.register_profile(
    "cli-options",
    max_examples=2,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
settings.register_profile(
    "cli-options-thorough",
    parent=settings.get_profile("cli-options"),
    max_examples=40,
    derandomize=False,
)
PROFILE = settings.get_profile(os.environ.get("NURSECASE_CLI_PROFILE", "cli-options"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A small database: root (admin) and nina (nurse), no passwords; one patient."""
    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.services import make_services

    folder = tmp_path_factory.mktemp("template")
    engine = make_engine(str(folder / "nursecase.db"))
    try:
        ensure_schema(engine, backup_folder=None)
        services = make_services(engine, SystemClock())
        services.nurses.create("root", "Rita Root", "RN")
        services.nurses.create("nina", "Nina Nurse", "RN")
        services.nurses.sign_in("root")
        services.patients.create("MRN-1", "Nguyen", "Linh")
    finally:
        engine.dispose()
    return folder


def run(template: Path, folder: Path, argv: list[str]) -> tuple[int, str, str]:
    """``nursecase ARGV`` through main() in a fresh folder: (exit code, stdout, stderr)."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    (folder / "text.txt").write_text("not a database\n")
    (folder / "out").mkdir()
    key = folder / "key"
    key.write_text("a passphrase long enough\n")
    key.chmod(0o600)
    argv = [part.replace("{tmp}", str(folder)) for part in argv]
    runner = CliRunner()
    environment = {
        "HOME": str(folder),  # "~" is the run's own folder
        "NURSECASE_HOME": str(folder / "home"),
        "NURSECASE_DB": str(folder / "nursecase.db"),
        "NURSECASE_NURSE": None,
        "NURSECASE_KEY_FILE": None,
        "NURSECASE_DEBUG": None,
    }
    code = 0
    with runner.isolation(input=f"{PASSWORD}\n" * 4, env=environment) as (out, err, _):
        try:
            main(argv)
        except SystemExit as exit_request:
            code = exit_request.code if isinstance(exit_request.code, int) else 1
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    return code, stdout, stderr


def argv_for(case: Case, value: str | None) -> list[str]:
    base = list(BASE_ARGUMENTS.get(case.command, []))
    if case.parameter.startswith("root:"):
        return [case.opts[0], value or "", *case.command]
    if case.is_argument:
        # The value takes the place of the base's positional argument (always first);
        # after "--" so that a value starting with "-" stays a value.
        return [*case.command, *base[1:], "--", value or ""]
    option = case.opts[0]
    if option in base:
        index = base.index(option)
        del base[index : index + (1 if case.is_flag else 2)]
    return [*case.command, *base, *([option] if case.is_flag else [option, value or ""])]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_any_value_gives_a_result_or_one_line_of_error(case, template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty or relative path must not reach the repository

    def check(value):
        argv = argv_for(case, value)
        code, stdout, stderr = run(template, tmp_path / "run", argv)
        shown = f"nursecase {' '.join(map(repr, argv))} -> {code}\n{stdout}{stderr}"
        assert "unexpected" not in stderr, shown
        assert "Traceback" not in stdout + stderr, shown
        if code != 0:
            # One error line; `db check` may instead list its problems, one per line.
            lines = stderr.splitlines()
            assert lines, shown
            if not all(line.startswith("problem: ") for line in lines):
                assert len(lines) == 1, shown
                assert lines[0].startswith(("nursecase: error: ", "nursecase: aborted")), shown

    check = given(value=st.none() if case.is_flag else values_for(_parameter(case)))(check)
    for value in [] if case.is_flag else ALWAYS_TRIED:
        check = example(value=value)(check)
    PROFILE(check)()


def _parameter(case: Case):
    command = typer.main.get_command(app)
    if case.parameter.startswith("root:"):
        name = case.parameter.removeprefix("root:")
        return next(parameter for parameter in command.params if parameter.name == name)
    for part in case.command:
        command = command.commands[part]
    return next(parameter for parameter in command.params if parameter.name == case.parameter)
