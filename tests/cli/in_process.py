"""Run ``nursecase`` through its real entry point, ``nursecase.cli.main``, in this process.

A subprocess costs about a second of imports; in process, a command's streams
are captured as a pipe would see them (standard input is no terminal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from typer.testing import CliRunner

from nursecase.cli import main


@dataclass(frozen=True)
class Finished:
    """What a command left: its exit code and its two streams."""

    returncode: int
    stdout: str
    stderr: str


def run_main(
    arguments: Sequence[str], *, stdin: str | bytes = "", env: Mapping[str, str] | None = None
) -> Finished:
    """``nursecase ARGUMENTS`` with ``stdin`` as its standard input and ``env`` set."""
    code = 0
    with CliRunner().isolation(input=stdin, env=dict(env or {})) as (out, err, _):
        try:
            main(list(arguments))
        except SystemExit as exit_request:
            code = exit_request.code if isinstance(exit_request.code, int) else 1
        return Finished(code, out.getvalue().decode(), err.getvalue().decode())
