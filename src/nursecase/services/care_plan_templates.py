"""Load care-plan templates: the shipped TOML files, then a nurse educator's folder.

The shipped templates live in the ``nursecase.care_plan_templates`` package and
are read through importlib.resources, so they work from a wheel or a zip as well
as from a source checkout. A clinic may keep its own templates in a folder; a
file there whose ``key`` matches a shipped template replaces it, any other key
adds a template.

One bad file never hides the others: its message (file name, and the line for
a TOML syntax error) goes into :attr:`TemplateCatalog.errors` and the rest load.
Nothing is read at import time; :func:`load_templates` does all the work.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from nursecase.domain.care_plan_templates import CarePlanTemplate, TemplateError, parse_template

SHIPPED_PACKAGE = "nursecase.care_plan_templates"
TEMPLATE_SUFFIX = ".toml"

# tomllib (Python 3.11) puts the place at the end of its message only.
_TOML_PLACE = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_END = re.compile(r"^(?P<message>.*) \(at end of document\)$")


@dataclass(frozen=True)
class TemplateCatalog:
    """The templates that loaded (sorted by name) and one message per file that did not."""

    templates: tuple[CarePlanTemplate, ...]
    errors: tuple[str, ...]

    def get(self, key: str) -> CarePlanTemplate:
        """Return the template with ``key``; KeyError when there is none."""
        for template in self.templates:
            if template.key == key:
                return template
        raise KeyError(key)


def load_templates(folder: Path | None = None) -> TemplateCatalog:
    """Read the shipped templates, then ``*.toml`` in ``folder`` when one is given.

    A template in ``folder`` replaces the shipped one with the same key. A
    missing or unreadable folder is reported in ``errors``; it never raises.
    """
    errors: list[str] = []
    shipped = _load_group(_shipped_files(), errors)
    local = {} if folder is None else _load_group(_folder_files(Path(folder), errors), errors)
    merged = {**shipped, **local}
    ordered = sorted(merged.values(), key=lambda template: (template.name.casefold(), template.key))
    return TemplateCatalog(tuple(ordered), tuple(errors))


def _shipped_files() -> list[Traversable]:
    package = resources.files(SHIPPED_PACKAGE)
    return sorted(
        (entry for entry in package.iterdir() if _is_template_file(entry)),
        key=lambda entry: entry.name,
    )


def _folder_files(folder: Path, errors: list[str]) -> list[Traversable]:
    if not folder.exists():
        errors.append(f"{folder}: the templates folder does not exist")
        return []
    if not folder.is_dir():
        errors.append(f"{folder}: is not a folder")
        return []
    try:
        entries = list(folder.iterdir())
    except OSError as error:
        errors.append(f"{folder}: could not be read ({_reason(error)})")
        return []
    return sorted((entry for entry in entries if _is_template_file(entry)), key=_name)


def _is_template_file(entry: Traversable) -> bool:
    # Hidden files are editor lock and swap files, not templates.
    name = entry.name
    return name.endswith(TEMPLATE_SUFFIX) and not name.startswith(".") and entry.is_file()


def _name(entry: Traversable) -> str:
    return entry.name


def _load_group(files: Iterable[Traversable], errors: list[str]) -> dict[str, CarePlanTemplate]:
    """Load one group of files by key; a repeated key within the group keeps the first."""
    by_key: dict[str, CarePlanTemplate] = {}
    for entry in files:
        template = _load_file(entry, errors)
        if template is None:
            continue
        if template.key in by_key:
            first = by_key[template.key].source
            errors.append(
                f"{entry.name}: template.key: {template.key} is already used by {first};"
                " this file was skipped"
            )
            continue
        by_key[template.key] = template
    return by_key


def _load_file(entry: Traversable, errors: list[str]) -> CarePlanTemplate | None:
    """Parse one file, or record why it cannot be used and return None."""
    name = entry.name
    try:
        raw = entry.read_bytes()
    except OSError as error:
        errors.append(f"{name}: could not be read ({_reason(error)})")
        return None
    try:
        # utf-8-sig: Windows editors often save a byte-order mark that TOML forbids.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.append(f"{name}: is not UTF-8 text; save it as UTF-8 and try again")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        errors.append(_syntax_message(name, str(error)))
        return None
    try:
        return parse_template(data, name)
    except TemplateError as error:
        errors.append(str(error))
        return None


def _syntax_message(name: str, detail: str) -> str:
    """ "copd.toml: line 3, column 9: not valid TOML: Invalid value" from tomllib's text."""
    place = _TOML_PLACE.match(detail)
    if place:
        where = f"line {place['line']}, column {place['column']}"
        return f"{name}: {where}: not valid TOML: {place['message']}"
    end = _TOML_END.match(detail)
    if end:
        return f"{name}: end of file: not valid TOML: {end['message']}"
    return f"{name}: not valid TOML: {detail}"


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__
