"""Where the passphrase of an encrypted database comes from, as the command line chose it.

Two choices, both made by the CLI for each invocation (``nursecase.cli.runtime``):

- a key file given with ``--key-file PATH``; without one, the file that
  ``NURSECASE_KEY_FILE`` names; a key file always wins;
- the prompt that asks a person: the CLI's hidden terminal prompt. db/ never
  prompts by itself; without a prompt chosen (a library caller, a test) or
  with no terminal to ask on, an encrypted database needs a key file.

``nursecase.db.encryption`` reads both when it needs a key. This module
imports only the standard library, so that the CLI sets the choices on every
invocation without loading the database layer (``--help`` stays fast).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: The environment variable naming a file that holds the passphrase.
KEY_FILE_ENV = "NURSECASE_KEY_FILE"

#: Asks a person for the passphrase of the database at the path given; None
#: when there is nobody to ask (no terminal).
PassphrasePrompt = Callable[[Path], str | None]

#: A key file chosen on the command line; it wins over NURSECASE_KEY_FILE.
_chosen_key_file: Path | None = None
#: The prompt chosen by the CLI; None: nobody to ask.
_chosen_prompt: PassphrasePrompt | None = None


def choose_key_file(path: str | os.PathLike[str] | None) -> None:
    """Use this key file for every encrypted database this process opens (None: unset)."""
    global _chosen_key_file
    _chosen_key_file = Path(path).expanduser() if path else None


def key_file_source() -> Path | None:
    """The key file chosen on the command line, else NURSECASE_KEY_FILE's, else None."""
    if _chosen_key_file is not None:
        return _chosen_key_file
    from_environment = os.environ.get(KEY_FILE_ENV, "").strip()
    return Path(from_environment).expanduser() if from_environment else None


def choose_prompt(prompt: PassphrasePrompt | None) -> None:
    """Ask passphrases with ``prompt`` from now on in this process (None: never ask)."""
    global _chosen_prompt
    _chosen_prompt = prompt


def ask_passphrase(database: Path) -> str | None:
    """The passphrase of ``database`` as typed at the chosen prompt; None if nobody can be asked."""
    if _chosen_prompt is None:
        return None
    return _chosen_prompt(database)
