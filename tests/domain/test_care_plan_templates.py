"""The care-plan template parser: good input, and a message naming the place for bad input."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from nursecase.domain.care_plan_templates import (
    CarePlanTemplate,
    TemplateError,
    TemplateGoal,
    TemplateIntervention,
    TemplateProblem,
    parse_template,
)

SOURCE = "heart_failure.toml"


def minimal() -> dict[str, Any]:
    """The smallest useful template: one Omaha problem with one goal and one intervention."""
    return {
        "template": {
            "key": "heart-failure",
            "name": "Heart failure",
            "description": "Self-care for heart failure.",
            "title": "Heart failure care plan",
        },
        "problems": [
            {
                "omaha": "circulation",
                "goals": [{"description": "The patient will weigh themself daily."}],
                "interventions": [
                    {
                        "category": "teaching-guidance-counseling",
                        "description": "Teach daily weights.",
                        "owner": "nurse",
                    }
                ],
            }
        ],
    }


def test_minimal_template_parses_with_defaults():
    template = parse_template(minimal(), SOURCE)

    assert template == CarePlanTemplate(
        key="heart-failure",
        name="Heart failure",
        description="Self-care for heart failure.",
        title="Heart failure care plan",
        problems=(
            TemplateProblem(
                omaha_code="circulation",
                description=None,
                nursing_diagnosis_code=None,
                priority="medium-priority",
                goals=(
                    TemplateGoal(
                        description="The patient will weigh themself daily.",
                        target_measure=None,
                        target_value=None,
                        due_in_days=None,
                        priority="medium-priority",
                    ),
                ),
                interventions=(
                    TemplateIntervention(
                        category="teaching-guidance-counseling",
                        description="Teach daily weights.",
                        owner="nurse",
                        frequency=None,
                        due_in_days=None,
                        goal=None,
                    ),
                ),
            ),
        ),
        source=SOURCE,
    )


def test_full_entries_keep_every_field_and_strip_text():
    data = minimal()
    problem = data["problems"][0]
    problem.update(
        description="  Heart failure: fluid overload  ",
        nursing_diagnosis_code="X-123",
        priority="high-priority",
    )
    problem["goals"][0].update(
        target_measure="Mornings with a weight",
        target_value="6 of 7",
        due_in_days=14,
        priority="low-priority",
    )
    problem["interventions"][0].update(frequency="weekly", due_in_days=0, goal=1)

    parsed = parse_template(data, SOURCE).problems[0]

    assert parsed.description == "Heart failure: fluid overload"
    assert parsed.nursing_diagnosis_code == "X-123"
    assert parsed.priority == "high-priority"
    goal = parsed.goals[0]
    assert (goal.target_measure, goal.target_value, goal.due_in_days, goal.priority) == (
        "Mornings with a weight",
        "6 of 7",
        14,
        "low-priority",
    )
    intervention = parsed.interventions[0]
    assert (intervention.frequency, intervention.due_in_days, intervention.goal) == ("weekly", 0, 0)


def test_goal_numbers_in_the_file_become_zero_based_indexes():
    data = minimal()
    problem = data["problems"][0]
    problem["goals"] = [{"description": f"The patient will do thing {n}."} for n in (1, 2, 3)]
    base = problem["interventions"][0]
    problem["interventions"] = [{**base, "goal": 3}, {**base, "goal": 1}, dict(base)]

    parsed = parse_template(data, SOURCE).problems[0]

    assert [intervention.goal for intervention in parsed.interventions] == [2, 0, None]
    assert parsed.goals[2].description == "The patient will do thing 3."


def test_free_text_problem_without_omaha_code():
    data = minimal()
    del data["problems"][0]["omaha"]
    data["problems"][0]["description"] = "Caregiver burnout"

    problem = parse_template(data, SOURCE).problems[0]

    assert (problem.omaha_code, problem.description) == (None, "Caregiver burnout")


def test_blank_optional_text_reads_as_missing():
    data = minimal()
    data["problems"][0].update(nursing_diagnosis_code="", description="   ")

    problem = parse_template(data, SOURCE).problems[0]

    assert (problem.nursing_diagnosis_code, problem.description) == (None, None)


def test_codes_are_read_in_any_case_and_omaha_names_are_accepted():
    data = minimal()
    data["problems"][0].update(omaha="Medication regimen", priority="HIGH-PRIORITY")
    data["problems"][0]["interventions"][0]["category"] = "Case_Management"

    problem = parse_template(data, SOURCE).problems[0]

    assert problem.omaha_code == "medication-regimen"
    assert problem.priority == "high-priority"
    assert problem.interventions[0].category == "case-management"


def test_problems_without_goals_or_interventions_are_allowed():
    data = minimal()
    data["problems"][0] = {"omaha": "nutrition"}

    problem = parse_template(data, SOURCE).problems[0]

    assert (problem.goals, problem.interventions) == ((), ())


def _walk(data: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The container holding the last part of a dotted path, and that part as a key."""
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    return target, int(last) if last.isdigit() else last


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """An edit that sets one dotted key, e.g. "problems.0.goals.0.due_in_days"."""

    def edit(data: dict[str, Any]) -> None:
        target, key = _walk(data, path)
        target[key] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    """An edit that removes one dotted key."""

    def edit(data: dict[str, Any]) -> None:
        target, key = _walk(data, path)
        del target[key]

    return edit


def _second_problem(data: dict[str, Any]) -> None:
    """Add a second problem whose first goal has no description."""
    data["problems"].append({"omaha": "nutrition", "goals": [{"target_value": "5"}]})


def _no_goals_but_goal_one(data: dict[str, Any]) -> None:
    data["problems"][0]["goals"] = []
    data["problems"][0]["interventions"][0]["goal"] = 1


def _two_goals_and_goal_three(data: dict[str, Any]) -> None:
    problem = data["problems"][0]
    problem["goals"].append({"description": "The patient will do more."})
    problem["interventions"][0]["goal"] = 3


GOAL = "problems.0.goals.0"
INTERVENTION = "problems.0.interventions.0"

BAD_INPUT = [
    # structure
    ("top-level unknown key", _set("problem", []), "problem: is not a known key; did you mean"),
    ("template missing", _delete("template"), "template: is required"),
    ("problems missing", _delete("problems"), "problems: is required"),
    ("template not a table", _set("template", "x"), "template: must be a table"),
    ("no problems", _set("problems", []), "problems: needs at least one [[problems]] table"),
    (
        "problems as a single table",
        _set("problems", {"omaha": "circulation"}),
        "problems: must be written as [[problems]] (double brackets)",
    ),
    (
        "goals as a single table",
        _set("problems.0.goals", {"description": "x"}),
        "problems[1].goals: must be written as [[problems.goals]] (double brackets)",
    ),
    (
        "interventions not a list",
        _set("problems.0.interventions", "teach"),
        "problems[1].interventions: must be a list of [[problems.interventions]] tables",
    ),
    ("problem not a table", _set("problems.0", "circulation"), "problems[1]: must be a table"),
    # template header
    ("key missing", _delete("template.key"), "template.key: is required"),
    ("name blank", _set("template.name", "  "), "template.name: is required"),
    ("title not text", _set("template.title", 3), "template.title: must be text in double quotes"),
    ("description missing", _delete("template.description"), "template.description: is required"),
    (
        "key not a slug",
        _set("template.key", "Heart Failure"),
        "template.key: must be lowercase letters, digits and single hyphens",
    ),
    ("key too long", _set("template.key", "a" * 61), "template.key: must be at most 60 characters"),
    ("title too long", _set("template.title", "t" * 201), "template.title: must be at most 200"),
    (
        "unknown template key",
        _set("template.titel", "x"),
        "template.titel: is not a known key; did you mean title?",
    ),
    # problems
    (
        "neither omaha nor description",
        _delete("problems.0.omaha"),
        "problems[1]: needs an omaha problem code or a description",
    ),
    (
        "unknown omaha code",
        _set("problems.0.omaha", "circulaton"),
        "problems[1].omaha: is not one of the 42 Omaha System problem codes; "
        "did you mean circulation?",
    ),
    (
        "omaha not text",
        _set("problems.0.omaha", 7),
        "problems[1].omaha: must be text (an Omaha System problem code in quotes)",
    ),
    (
        "problem description too long",
        _set("problems.0.description", "d" * 401),
        "problems[1].description: must be at most 400 characters",
    ),
    (
        "nursing diagnosis code too long",
        _set("problems.0.nursing_diagnosis_code", "c" * 41),
        "problems[1].nursing_diagnosis_code: must be at most 40 characters",
    ),
    (
        "bad problem priority",
        _set("problems.0.priority", "urgent"),
        "problems[1].priority: must be one of: high-priority, medium-priority, low-priority",
    ),
    (
        "unknown problem key, no close match",
        _set("problems.0.severity", "high"),
        "problems[1].severity: is not a known key; allowed here: omaha, description,",
    ),
    # goals
    (
        "goal description missing in problem 2",
        _second_problem,
        "problems[2].goals[1].description: is required",
    ),
    (
        "goal key typo",
        _set(f"{GOAL}.due_in_day", 7),
        "problems[1].goals[1].due_in_day: is not a known key; did you mean due_in_days?",
    ),
    (
        "goal description not text",
        _set(f"{GOAL}.description", ["x"]),
        "problems[1].goals[1].description: must be text in double quotes",
    ),
    (
        "goal description NUL",
        _set(f"{GOAL}.description", "The patient\x00 will"),
        "problems[1].goals[1].description: must not contain NUL characters",
    ),
    (
        "goal description too long",
        _set(f"{GOAL}.description", "g" * 1001),
        "problems[1].goals[1].description: must be at most 1000 characters",
    ),
    (
        "measure too long",
        _set(f"{GOAL}.target_measure", "m" * 201),
        "problems[1].goals[1].target_measure: must be at most 200 characters",
    ),
    (
        "value too long",
        _set(f"{GOAL}.target_value", "v" * 81),
        "problems[1].goals[1].target_value: must be at most 80 characters",
    ),
    (
        "due_in_days quoted",
        _set(f"{GOAL}.due_in_days", "7"),
        "problems[1].goals[1].due_in_days: must be a whole number of days from 0 to 3650",
    ),
    (
        "due_in_days a float",
        _set(f"{GOAL}.due_in_days", 7.5),
        "problems[1].goals[1].due_in_days: must be a whole number of days",
    ),
    (
        "due_in_days a boolean",
        _set(f"{GOAL}.due_in_days", True),
        "problems[1].goals[1].due_in_days: must be a whole number of days",
    ),
    (
        "due_in_days negative",
        _set(f"{GOAL}.due_in_days", -1),
        "problems[1].goals[1].due_in_days: must be from 0 to 3650 days",
    ),
    (
        "due_in_days too far",
        _set(f"{GOAL}.due_in_days", 3651),
        "problems[1].goals[1].due_in_days: must be from 0 to 3650 days",
    ),
    (
        "bad goal priority",
        _set(f"{GOAL}.priority", "top"),
        "problems[1].goals[1].priority: must be one of:",
    ),
    # interventions
    (
        "category missing",
        _delete(f"{INTERVENTION}.category"),
        "problems[1].interventions[1].category: is required",
    ),
    (
        "unknown category",
        _set(f"{INTERVENTION}.category", "teaching"),
        "problems[1].interventions[1].category: must be one of: teaching-guidance-counseling, "
        "treatments-procedures, case-management, surveillance",
    ),
    (
        "category blank",
        _set(f"{INTERVENTION}.category", ""),
        "problems[1].interventions[1].category: is required; one of:",
    ),
    (
        "owner missing",
        _delete(f"{INTERVENTION}.owner"),
        "problems[1].interventions[1].owner: is required",
    ),
    (
        "owner too long",
        _set(f"{INTERVENTION}.owner", "o" * 121),
        "problems[1].interventions[1].owner: must be at most 120 characters",
    ),
    (
        "frequency too long",
        _set(f"{INTERVENTION}.frequency", "f" * 81),
        "problems[1].interventions[1].frequency: must be at most 80 characters",
    ),
    (
        "intervention description blank",
        _set(f"{INTERVENTION}.description", ""),
        "problems[1].interventions[1].description: is required",
    ),
    (
        "intervention due_in_days out of range",
        _set(f"{INTERVENTION}.due_in_days", 4000),
        "problems[1].interventions[1].due_in_days: must be from 0 to 3650 days",
    ),
    (
        "goal number zero",
        _set(f"{INTERVENTION}.goal", 0),
        "problems[1].interventions[1].goal: refers to goal 0 but this problem has goal 1",
    ),
    (
        "goal number past the end",
        _two_goals_and_goal_three,
        "problems[1].interventions[1].goal: refers to goal 3 but this problem has goals 1 to 2",
    ),
    (
        "goal number when there are no goals",
        _no_goals_but_goal_one,
        "problems[1].interventions[1].goal: refers to goal 1 but this problem has no goals",
    ),
    (
        "goal number quoted",
        _set(f"{INTERVENTION}.goal", "1"),
        "problems[1].interventions[1].goal: must be a goal number (1 = this problem's first goal)",
    ),
    (
        "intervention key typo",
        _set(f"{INTERVENTION}.owners", "nurse"),
        "problems[1].interventions[1].owners: is not a known key; did you mean owner?",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [pytest.param(edit, expected, id=case) for case, edit, expected in BAD_INPUT],
)
def test_bad_input_names_the_file_and_the_place(edit, expected):
    data = minimal()
    edit(data)

    with pytest.raises(TemplateError) as caught:
        parse_template(data, SOURCE)

    assert str(caught.value).startswith(f"{SOURCE}: {expected}")


def test_template_error_keeps_its_parts_and_survives_pickling():
    data = minimal()
    data["problems"].append({"omaha": "nutrition", "goals": [{}]})

    with pytest.raises(TemplateError) as caught:
        parse_template(data, SOURCE)

    error = caught.value
    assert str(error) == "heart_failure.toml: problems[2].goals[1].description: is required"
    assert (error.source, error.place, error.message) == (
        SOURCE,
        "problems[2].goals[1].description",
        "is required",
    )
    assert isinstance(error, ValueError)
    copy_of_error = pickle.loads(pickle.dumps(error))
    assert (copy_of_error.source, copy_of_error.place, str(copy_of_error)) == (
        error.source,
        error.place,
        str(error),
    )


def test_data_that_is_not_a_table_is_refused():
    with pytest.raises(TemplateError, match=r"^copd\.toml: must be a table$"):
        parse_template(["not", "a", "table"], "copd.toml")  # type: ignore[arg-type]


def test_the_parsed_template_is_immutable():
    template = parse_template(minimal(), SOURCE)

    with pytest.raises(AttributeError):
        template.key = "other"  # type: ignore[misc]
    assert isinstance(template.problems, tuple)
    assert isinstance(template.problems[0].goals, tuple)
