"""Care-plan templates: a pure parser from TOML-shaped data to frozen template records.

A nurse educator writes templates as TOML files (see the shipped files in
``nursecase/care_plan_templates``); the loader in ``nursecase.services`` reads
them and hands the decoded tables to :func:`parse_template`. This module reads
no files: it checks a mapping and either returns a :class:`CarePlanTemplate` or
raises a :class:`TemplateError` naming the file and the exact place, e.g.
"heart_failure.toml: problems[2].goals[1].description: is required".

Places are numbered from 1 because people read them; the ``goal`` number an
intervention gives is also 1-based in the file and becomes a 0-based index here.
Unknown keys are errors, not ignored: a typo such as ``due_in_day`` would
otherwise silently drop a due date from every plan made from the template.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nursecase.domain.codes import GoalPriority, InterventionCategory, parse_code
from nursecase.domain.omaha import PROBLEMS, PROBLEMS_BY_CODE
from nursecase.domain.validation import ValidationError, optional_text, require_text

# Limits match what CarePlanService accepts, so anything that parses here can be
# turned into a plan without a second, later validation failure.
KEY_MAX_LENGTH = 60
NAME_MAX_LENGTH = 120
TEMPLATE_DESCRIPTION_MAX_LENGTH = 1000
TITLE_MAX_LENGTH = 200
PROBLEM_DESCRIPTION_MAX_LENGTH = 400
NURSING_DIAGNOSIS_CODE_MAX_LENGTH = 40
# Goals and interventions are a sentence or two; the service allows more, but a
# template entry longer than this is almost certainly two entries run together.
ITEM_DESCRIPTION_MAX_LENGTH = 1000
MEASURE_MAX_LENGTH = 200
VALUE_MAX_LENGTH = 80
OWNER_MAX_LENGTH = 120
FREQUENCY_MAX_LENGTH = 80
DUE_IN_DAYS_LOW = 0
DUE_IN_DAYS_HIGH = 3650  # Ten years: anything later is a typing slip.

DEFAULT_PRIORITY = str(GoalPriority.medium_priority)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_TOP_KEYS = ("template", "problems")
_TEMPLATE_KEYS = ("key", "name", "description", "title")
_PROBLEM_KEYS = (
    "omaha",
    "description",
    "nursing_diagnosis_code",
    "priority",
    "goals",
    "interventions",
)
_GOAL_KEYS = ("description", "target_measure", "target_value", "due_in_days", "priority")
_INTERVENTION_KEYS = ("category", "description", "owner", "frequency", "due_in_days", "goal")

# Educators may write the Omaha problem's name ("Medication regimen") instead of
# its code; both mean the same problem.
_OMAHA_BY_NAME = {problem.name.casefold(): problem.code for problem in PROBLEMS}


@dataclass(frozen=True)
class TemplateGoal:
    """One goal of a template problem; ``due_in_days`` counts from the plan's creation."""

    description: str
    target_measure: str | None
    target_value: str | None
    due_in_days: int | None
    priority: str


@dataclass(frozen=True)
class TemplateIntervention:
    """One intervention of a template problem.

    ``goal`` is the 0-based index of the goal it serves within its problem's
    ``goals``, or None when it serves the problem as a whole.
    """

    category: str
    description: str
    owner: str
    frequency: str | None
    due_in_days: int | None
    goal: int | None


@dataclass(frozen=True)
class TemplateProblem:
    """One problem: an Omaha code, a free-text description, or an Omaha code renamed."""

    omaha_code: str | None
    description: str | None
    nursing_diagnosis_code: str | None
    priority: str
    goals: tuple[TemplateGoal, ...]
    interventions: tuple[TemplateIntervention, ...]


@dataclass(frozen=True)
class CarePlanTemplate:
    """A whole template; ``source`` is the file name it came from."""

    key: str
    name: str
    description: str
    title: str
    problems: tuple[TemplateProblem, ...]
    source: str


class TemplateError(ValueError):
    """A template file is wrong at one place; ``str()`` gives "source: place: message"."""

    def __init__(self, source: str, place: str, message: str) -> None:
        """Keep the parts apart so a screen can show the file and the place separately."""
        super().__init__(f"{source}: {place}: {message}" if place else f"{source}: {message}")
        self.source = source
        self.place = place
        self.message = message

    def __reduce__(self) -> tuple[type[TemplateError], tuple[str, str, str]]:
        """Pickle with all three arguments (errors may cross a worker boundary)."""
        return (self.__class__, (self.source, self.place, self.message))


def parse_template(data: Mapping[str, object], source: str) -> CarePlanTemplate:
    """Check the decoded TOML of one template file and return the template.

    Raises :class:`TemplateError` at the first problem found, naming ``source``
    and the place (1-based numbers) so the educator can go straight to it.
    """
    return _Parser(source).template(data)


class _Parser:
    """Walks one file's tables; every check knows the file name for its message."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, place: str, message: str) -> TemplateError:
        return TemplateError(self.source, place, message)

    # ------------------------------------------------------------- structure

    def template(self, data: object) -> CarePlanTemplate:
        top = self.table(data, "", _TOP_KEYS, required=_TOP_KEYS)
        header = self.table(top["template"], "template", _TEMPLATE_KEYS, required=_TEMPLATE_KEYS)
        key = self.text(header, "key", "template", KEY_MAX_LENGTH)
        if not _SLUG.fullmatch(key):
            raise self.fail(
                "template.key",
                "must be lowercase letters, digits and single hyphens, like heart-failure",
            )
        name = self.text(header, "name", "template", NAME_MAX_LENGTH)
        description = self.text(header, "description", "template", TEMPLATE_DESCRIPTION_MAX_LENGTH)
        title = self.text(header, "title", "template", TITLE_MAX_LENGTH)
        problem_tables = self.tables(top["problems"], "problems")
        if not problem_tables:
            raise self.fail("problems", "needs at least one [[problems]] table")
        problems = tuple(
            self.problem(entry, f"problems[{number}]")
            for number, entry in enumerate(problem_tables, start=1)
        )
        return CarePlanTemplate(key, name, description, title, problems, self.source)

    def problem(self, data: object, place: str) -> TemplateProblem:
        table = self.table(data, place, _PROBLEM_KEYS)
        omaha_code = self.omaha(table, place)
        description = self.optional(table, "description", place, PROBLEM_DESCRIPTION_MAX_LENGTH)
        if omaha_code is None and description is None:
            raise self.fail(
                place, "needs an omaha problem code or a description (a free-text problem)"
            )
        diagnosis = self.optional(
            table, "nursing_diagnosis_code", place, NURSING_DIAGNOSIS_CODE_MAX_LENGTH
        )
        priority = self.priority(table, place)
        goals = tuple(
            self.goal(entry, f"{place}.goals[{number}]")
            for number, entry in enumerate(self.tables(table.get("goals", []), f"{place}.goals"), 1)
        )
        interventions = tuple(
            self.intervention(entry, f"{place}.interventions[{number}]", len(goals))
            for number, entry in enumerate(
                self.tables(table.get("interventions", []), f"{place}.interventions"), 1
            )
        )
        return TemplateProblem(omaha_code, description, diagnosis, priority, goals, interventions)

    def goal(self, data: object, place: str) -> TemplateGoal:
        table = self.table(data, place, _GOAL_KEYS, required=("description",))
        return TemplateGoal(
            description=self.text(table, "description", place, ITEM_DESCRIPTION_MAX_LENGTH),
            target_measure=self.optional(table, "target_measure", place, MEASURE_MAX_LENGTH),
            target_value=self.optional(table, "target_value", place, VALUE_MAX_LENGTH),
            due_in_days=self.due_in_days(table, place),
            priority=self.priority(table, place),
        )

    def intervention(self, data: object, place: str, goal_count: int) -> TemplateIntervention:
        required = ("category", "description", "owner")
        table = self.table(data, place, _INTERVENTION_KEYS, required=required)
        return TemplateIntervention(
            category=self.code(InterventionCategory, table, "category", place),
            description=self.text(table, "description", place, ITEM_DESCRIPTION_MAX_LENGTH),
            owner=self.text(table, "owner", place, OWNER_MAX_LENGTH),
            frequency=self.optional(table, "frequency", place, FREQUENCY_MAX_LENGTH),
            due_in_days=self.due_in_days(table, place),
            goal=self.goal_index(table, place, goal_count),
        )

    # ---------------------------------------------------------------- checks

    def table(
        self,
        value: object,
        place: str,
        allowed: Sequence[str],
        required: Sequence[str] = (),
    ) -> Mapping[str, object]:
        """Return ``value`` as a table whose keys are all known and all required present."""
        if not isinstance(value, Mapping):
            raise self.fail(place, "must be a table")
        for name in value:
            if name not in allowed:
                raise self.fail(_join(place, str(name)), _unknown_key_message(str(name), allowed))
        for name in required:
            if name not in value:
                raise self.fail(_join(place, name), "is required")
        return value

    def tables(self, value: object, place: str) -> Sequence[object]:
        """Return an array of tables (``[[place]]``), refusing a single table or a value."""
        if isinstance(value, Mapping):
            raise self.fail(place, f"must be written as [[{_header(place)}]] (double brackets)")
        if not isinstance(value, list):
            raise self.fail(place, f"must be a list of [[{_header(place)}]] tables")
        return value

    def text(self, table: Mapping[str, object], name: str, place: str, max_length: int) -> str:
        try:
            return require_text(table.get(name), name, max_length=max_length)
        except ValidationError as error:
            raise self.fail(_join(place, name), _text_message(error)) from None

    def optional(
        self, table: Mapping[str, object], name: str, place: str, max_length: int
    ) -> str | None:
        try:
            return optional_text(table.get(name), name, max_length=max_length)
        except ValidationError as error:
            raise self.fail(_join(place, name), _text_message(error)) from None

    def code(
        self,
        enum_class: type[GoalPriority] | type[InterventionCategory],
        table: Mapping[str, object],
        name: str,
        place: str,
    ) -> str:
        try:
            return str(parse_code(enum_class, table.get(name), name))
        except ValidationError as error:
            raise self.fail(_join(place, name), error.message) from None

    def priority(self, table: Mapping[str, object], place: str) -> str:
        if "priority" not in table:
            return DEFAULT_PRIORITY
        return self.code(GoalPriority, table, "priority", place)

    def omaha(self, table: Mapping[str, object], place: str) -> str | None:
        value = table.get("omaha")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        field = _join(place, "omaha")
        if not isinstance(value, str):
            raise self.fail(field, "must be text (an Omaha System problem code in quotes)")
        typed = value.strip().casefold()
        if typed in PROBLEMS_BY_CODE:
            return typed
        if typed in _OMAHA_BY_NAME:
            return _OMAHA_BY_NAME[typed]
        hint = difflib.get_close_matches(typed, list(PROBLEMS_BY_CODE), n=1)
        suggestion = f"; did you mean {hint[0]}?" if hint else " (see nursecase.domain.omaha)"
        raise self.fail(field, f"is not one of the 42 Omaha System problem codes{suggestion}")

    def due_in_days(self, table: Mapping[str, object], place: str) -> int | None:
        if "due_in_days" not in table:
            return None
        value = table["due_in_days"]
        # TOML gives real integers; a quoted "7" or 7.5 is a mistake worth reporting.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                _join(place, "due_in_days"),
                f"must be a whole number of days from {DUE_IN_DAYS_LOW} to {DUE_IN_DAYS_HIGH},"
                " without quotes",
            )
        if not DUE_IN_DAYS_LOW <= value <= DUE_IN_DAYS_HIGH:
            raise self.fail(
                _join(place, "due_in_days"),
                f"must be from {DUE_IN_DAYS_LOW} to {DUE_IN_DAYS_HIGH} days",
            )
        return value

    def goal_index(self, table: Mapping[str, object], place: str, goal_count: int) -> int | None:
        """Turn the 1-based goal number of the file into a 0-based index into ``goals``."""
        if "goal" not in table:
            return None
        value = table["goal"]
        field = _join(place, "goal")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, "must be a goal number (1 = this problem's first goal)")
        if goal_count == 0:
            raise self.fail(field, f"refers to goal {value} but this problem has no goals")
        if not 1 <= value <= goal_count:
            goals = "goal 1" if goal_count == 1 else f"goals 1 to {goal_count}"
            raise self.fail(field, f"refers to goal {value} but this problem has {goals}")
        return value - 1


def _join(place: str, name: str) -> str:
    """Dotted place of a key inside a table ("problems[1]" + "omaha")."""
    return f"{place}.{name}" if place else name


def _header(place: str) -> str:
    """TOML header of an array of tables: "problems[2].goals" is written [[problems.goals]]."""
    return re.sub(r"\[\d+\]", "", place)


def _unknown_key_message(name: str, allowed: Sequence[str]) -> str:
    hint = difflib.get_close_matches(name, list(allowed), n=1)
    if hint:
        return f"is not a known key; did you mean {hint[0]}?"
    return f"is not a known key; allowed here: {', '.join(allowed)}"


def _text_message(error: ValidationError) -> str:
    """validation.require_text says "must be text"; say how to write text in TOML."""
    if error.message == "must be text":
        return "must be text in double quotes"
    return error.message
