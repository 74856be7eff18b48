"""The house rules of DESIGN.md section 3, checked on every test run."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    """A console script installed beside this Python (the test extras install them)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed; install the test extras: pip install '.[test]'"
    return found


def test_import_linter_contracts_hold():
    """Layers, the pure domain, no Textual below the UI, no SQL in screens."""
    result = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_mypy_is_clean():
    """The UI, the CLI and the domain type-check ([tool.mypy] in pyproject.toml names the files).

    mypy keeps its cache in .mypy_cache beside pyproject.toml: a first run reads
    Textual, SQLAlchemy and the rest (about 15 s of CPU), a later one only what
    changed (about 2 s).
    """
    assert importlib.util.find_spec("mypy"), "mypy is not installed; pip install '.[test]'"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = subprocess.run(
        [_tool("ruff"), "check", "src", "tests", "bench"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _modules_after(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "nursecase.cli",
        "nursecase.services",
        "nursecase.db.models",
        "nursecase.db.maintenance.migrate",
        "nursecase.demo",
        "nursecase.domain.instruments",
    ],
)
def test_headless_modules_never_load_textual(module):
    """The CLI, services and db work without Textual (exports must not pay for it)."""
    loaded = _modules_after(f"import {module}")
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded)


def test_the_cli_module_loads_no_database_or_alembic_at_import():
    """--help and --version stay fast: nothing heavy is imported up front."""
    loaded = _modules_after("import nursecase.cli")
    for heavy in ("sqlalchemy", "sqlmodel", "alembic", "textual", "faker"):
        assert heavy not in loaded, heavy


@pytest.mark.parametrize("arguments", [["--help"], ["--version"], ["export", "--help"]])
def test_help_and_version_load_no_database_or_alembic(arguments):
    """Running --help or --version (not only importing the CLI) stays light."""
    code = (
        "import sys\nfrom nursecase.cli import main\ntry:\n"
        f"    main({arguments!r})\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip(), "nothing was printed"
    loaded = set(result.stderr.split())
    for heavy in ("sqlalchemy", "sqlmodel", "alembic", "textual", "faker"):
        assert heavy not in loaded, heavy
    # The key and prompt choices are made on every run; key_source is
    # standard library only. Nothing else of db/ may load.
    database_layer = {name for name in loaded if name.startswith("nursecase.db.")}
    assert database_layer <= {"nursecase.db.key_source"}, database_layer


def test_launch_path_does_not_import_alembic_when_schema_is_current(tmp_path):
    """Alembic is imported only when an upgrade is due."""
    database = tmp_path / "current.db"
    code = f"""
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
ensure_schema(make_engine({str(database)!r}))
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    loaded = _modules_after(code)
    assert "alembic" not in loaded


def test_nothing_is_created_at_import_time(tmp_path):
    """Importing every module touches no file: no engine, no data folder.

    The same run checks the launch budget's lazy import: the trend chart
    (plotext) is imported by the Vitals & labs tab when it draws, not at launch.
    """
    home = tmp_path / "home"
    env = {**os.environ, "NURSECASE_HOME": str(home)}
    code = "import nursecase.app, nursecase.cli, nursecase.demo, nursecase.services, sys"
    code += "\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True
    )
    assert not home.exists()
    loaded = set(result.stdout.split())
    assert not loaded & {"plotext", "textual_plotext", "nursecase.widgets.trend_chart"}


#: What only SQLite understands, or code deciding by dialect: allowed in db/ alone.
DIALECT_MARKERS = ("PRAGMA", "sqlite_master", "import sqlite3", "dialect.name")


def test_sqlite_specifics_stay_behind_db():
    """Services, screens, the CLI and the demo speak portable SQL; db/ holds each dialect's part."""
    package = ROOT / "src" / "nursecase"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if (package / "db") in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(marker in code for marker in DIALECT_MARKERS):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
