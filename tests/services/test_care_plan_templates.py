"""Loading care-plan templates: the shipped files, an educator's folder, and bad files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nursecase.domain.care_plan_templates import CarePlanTemplate
from nursecase.domain.codes import GoalPriority, InterventionCategory
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.services.care_plan_templates import TemplateCatalog, load_templates

SHIPPED_KEYS = {"heart-failure", "copd", "type-2-diabetes", "post-discharge-transition"}

OVERRIDE_HEART_FAILURE = """
[template]
key = "heart-failure"
name = "Heart failure (clinic version)"
description = "Our clinic's heart failure plan."
title = "HF plan"

[[problems]]
omaha = "circulation"

[[problems.goals]]
description = "The patient will weigh themself every morning."
due_in_days = 7

[[problems.interventions]]
category = "surveillance"
description = "Review the weight log."
owner = "nurse"
goal = 1
"""

FALLS_TEMPLATE = """
[template]
key = "falls"
name = "Falls prevention"
description = "Home safety and strength."
title = "Falls prevention plan"

[[problems]]
omaha = "neuromusculoskeletal-function"

[[problems.goals]]
description = "The patient will have no falls."
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write one template file into the educator's folder."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> TemplateCatalog:
    return load_templates()


def test_the_four_shipped_templates_load_without_errors(shipped):
    assert shipped.errors == ()
    assert {template.key for template in shipped.templates} == SHIPPED_KEYS
    sources = {template.key: template.source for template in shipped.templates}
    assert sources["heart-failure"] == "heart_failure.toml"
    assert sources["type-2-diabetes"] == "type_2_diabetes.toml"


def test_templates_are_sorted_by_name(shipped):
    names = [template.name for template in shipped.templates]
    assert names == ["COPD", "Heart failure", "Post-discharge transition", "Type 2 diabetes"]


@pytest.mark.parametrize("key", sorted(SHIPPED_KEYS))
def test_each_shipped_template_is_a_complete_plan(shipped, key):
    template = shipped.get(key)

    assert 2 <= len(template.problems) <= 4
    for problem in template.problems:
        assert problem.omaha_code in PROBLEMS_BY_CODE
        assert problem.priority in set(GoalPriority)
        assert 1 <= len(problem.goals) <= 3
        assert problem.interventions
        for goal in problem.goals:
            assert goal.description.startswith("The patient will"), goal.description
            assert goal.target_measure and goal.target_value and goal.due_in_days is not None
            assert goal.priority in set(GoalPriority)
        for intervention in problem.interventions:
            assert intervention.category in set(InterventionCategory)
            assert intervention.goal is None or 0 <= intervention.goal < len(problem.goals)
        # Every goal has at least one intervention working towards it.
        served = {intervention.goal for intervention in problem.interventions}
        assert set(range(len(problem.goals))) <= served


def test_shipped_content_carries_the_key_clinical_thresholds(shipped):
    def text_of(template: CarePlanTemplate) -> str:
        parts = [
            item.description
            for problem in template.problems
            for item in (*problem.goals, *problem.interventions)
        ]
        return " ".join(parts)

    heart_failure = text_of(shipped.get("heart-failure"))
    assert "2-3 lb" in heart_failure and "5 lb" in heart_failure
    assert "within 7 days" in heart_failure
    transition = text_of(shipped.get("post-discharge-transition"))
    assert "within 2 business days" in transition and "within 7 days" in transition
    diabetes = text_of(shipped.get("type-2-diabetes"))
    assert "below 70 mg/dL" in diabetes and "7%" in diabetes
    copd = text_of(shipped.get("copd"))
    assert "action plan" in copd and "pulmonary rehabilitation" in copd


def test_get_unknown_key_raises_key_error(shipped):
    with pytest.raises(KeyError):
        shipped.get("no-such-template")


def test_catalog_is_immutable(shipped):
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped.templates = ()  # type: ignore[misc]


def test_a_folder_template_with_a_shipped_key_replaces_it(tmp_path):
    write(tmp_path, "my_heart_failure.toml", OVERRIDE_HEART_FAILURE)
    write(tmp_path, "falls.toml", FALLS_TEMPLATE)

    catalog = load_templates(tmp_path)

    assert catalog.errors == ()
    keys = [template.key for template in catalog.templates]
    assert sorted(keys) == sorted(SHIPPED_KEYS | {"falls"})
    replaced = catalog.get("heart-failure")
    assert replaced.name == "Heart failure (clinic version)"
    assert replaced.source == "my_heart_failure.toml"
    assert replaced.problems[0].interventions[0].goal == 0
    assert [template.name for template in catalog.templates][:2] == [
        "COPD",
        "Falls prevention",
    ]


def test_a_broken_file_is_reported_and_the_rest_still_load(tmp_path):
    write(tmp_path, "falls.toml", FALLS_TEMPLATE)
    write(tmp_path, "broken_syntax.toml", '[template]\nkey = "x"\nname = \n')
    write(
        tmp_path,
        "bad_field.toml",
        FALLS_TEMPLATE.replace("falls", "falls-2").replace(
            "[[problems.goals]]", "[[problems.goals]]\ndue_in_day = 7"
        ),
    )
    write(tmp_path, "notes.txt", "not a template")

    catalog = load_templates(tmp_path)

    assert catalog.errors == (
        "bad_field.toml: problems[1].goals[1].due_in_day: is not a known key;"
        " did you mean due_in_days?",
        "broken_syntax.toml: line 3, column 8: not valid TOML: Invalid value",
    )
    keys = {template.key for template in catalog.templates}
    assert keys == SHIPPED_KEYS | {"falls"}


def test_a_broken_override_leaves_the_shipped_template_in_place(tmp_path):
    write(tmp_path, "heart_failure.toml", OVERRIDE_HEART_FAILURE.replace('"surveillance"', '"x"'))

    catalog = load_templates(tmp_path)

    assert len(catalog.errors) == 1
    assert catalog.errors[0].startswith(
        "heart_failure.toml: problems[1].interventions[1].category: must be one of:"
    )
    assert catalog.get("heart-failure").name == "Heart failure"


def test_the_same_key_twice_in_the_folder_keeps_the_first_file(tmp_path):
    write(tmp_path, "a_falls.toml", FALLS_TEMPLATE)
    write(tmp_path, "b_falls.toml", FALLS_TEMPLATE.replace("Falls prevention", "Other name"))

    catalog = load_templates(tmp_path)

    assert catalog.errors == (
        "b_falls.toml: template.key: falls is already used by a_falls.toml; this file was skipped",
    )
    assert catalog.get("falls").source == "a_falls.toml"


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    (tmp_path / "latin1.toml").write_bytes('name = "caf\u00e9"'.encode("latin-1"))

    catalog = load_templates(tmp_path)

    assert catalog.errors == ("latin1.toml: is not UTF-8 text; save it as UTF-8 and try again",)
    assert {template.key for template in catalog.templates} == SHIPPED_KEYS


def test_a_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "falls.toml").write_bytes(b"\xef\xbb\xbf" + FALLS_TEMPLATE.encode("utf-8"))

    catalog = load_templates(tmp_path)

    assert catalog.errors == ()
    assert catalog.get("falls").title == "Falls prevention plan"


def test_a_missing_folder_is_an_error_message_not_a_crash(tmp_path):
    missing = tmp_path / "no-such-folder"

    catalog = load_templates(missing)

    assert catalog.errors == (f"{missing}: the templates folder does not exist",)
    assert {template.key for template in catalog.templates} == SHIPPED_KEYS


def test_a_file_given_as_the_folder_is_reported(tmp_path):
    not_a_folder = write(tmp_path, "falls.toml", FALLS_TEMPLATE)

    catalog = load_templates(not_a_folder)

    assert catalog.errors == (f"{not_a_folder}: is not a folder",)


def test_subfolders_and_hidden_files_are_ignored(tmp_path):
    (tmp_path / "archive.toml").mkdir()
    write(tmp_path, ".~lock.falls.toml", "not toml at all [")

    catalog = load_templates(tmp_path)

    assert catalog.errors == ()
    assert {template.key for template in catalog.templates} == SHIPPED_KEYS
