"""Omaha System vocabulary and the KBS Problem Rating Scale."""

from __future__ import annotations

import pytest

from nursecase.domain.codes import InterventionCategory
from nursecase.domain.omaha import (
    DOMAINS,
    INTERVENTION_CATEGORIES,
    PROBLEMS,
    PROBLEMS_BY_CODE,
    KbsRating,
    find_problems,
    get_problem,
    problems_in_domain,
)
from nursecase.domain.validation import ValidationError


def test_forty_two_problems_in_four_domains():
    assert len(PROBLEMS) == 42
    assert len(PROBLEMS_BY_CODE) == 42
    assert DOMAINS == ("Environmental", "Psychosocial", "Physiological", "Health-related behaviors")
    assert [len(problems_in_domain(domain)) for domain in DOMAINS] == [4, 12, 18, 8]
    # Grouped by domain in published order.
    assert [problem.domain for problem in PROBLEMS] == sorted(
        (problem.domain for problem in PROBLEMS), key=DOMAINS.index
    )


def test_problem_names_are_exact():
    names = [problem.name for problem in problems_in_domain("Environmental")]
    assert names == ["Income", "Sanitation", "Residence", "Neighborhood/workplace safety"]
    assert PROBLEMS[-1].name == "Medication regimen"
    assert get_problem("medication-regimen").domain == "Health-related behaviors"
    assert get_problem("communicable-infectious-condition").name == (
        "Communicable/infectious condition"
    )
    assert get_problem("digestion-hydration").name == "Digestion-hydration"
    assert get_problem("caretaking-parenting").name == "Caretaking/parenting"
    all_names = {problem.name for problem in PROBLEMS}
    for name in [
        "Communication with community resources",
        "Growth and development",
        "Neuromusculoskeletal function",
        "Sleep and rest patterns",
        "Healthcare supervision",
        "Postpartum",
    ]:
        assert name in all_names


def test_codes_are_slugs():
    for problem in PROBLEMS:
        assert problem.code == problem.code.lower()
        assert all(character.isalnum() or character == "-" for character in problem.code)


def test_get_problem_unknown():
    with pytest.raises(ValidationError) as caught:
        get_problem("boredom")
    assert caught.value.field == "problem"


def test_find_problems_prefix_first():
    codes = [problem.code for problem in find_problems("re")]
    assert codes == [
        # Names starting with "re", in published order.
        "residence",
        "respiration",
        "reproductive-function",
        # Names with a later word starting with "re".
        "communication-with-community-resources",
        "interpersonal-relationship",
        "sleep-and-rest-patterns",
        "medication-regimen",
        # Any other substring match.
        "caretaking-parenting",
        "pregnancy",
        "personal-care",
        "healthcare-supervision",
    ]


def test_find_problems_case_insensitive_and_word_match():
    assert [problem.code for problem in find_problems("MEDICATION")] == ["medication-regimen"]
    assert [problem.code for problem in find_problems("workplace")] == [
        "neighborhood-workplace-safety"
    ]
    assert [problem.code for problem in find_problems("function")][:1] == [
        "neuromusculoskeletal-function"
    ]
    assert find_problems("zzz") == ()
    assert find_problems("  ") == PROBLEMS


def test_intervention_categories():
    assert tuple(InterventionCategory) == INTERVENTION_CATEGORIES
    assert [category.label for category in INTERVENTION_CATEGORIES] == [
        "Teaching, Guidance, and Counseling",
        "Treatments and Procedures",
        "Case Management",
        "Surveillance",
    ]


def test_kbs_labels():
    lowest = KbsRating(1, 1, 1)
    assert lowest.knowledge_label == "no knowledge"
    assert lowest.behavior_label == "not appropriate behavior"
    assert lowest.status_label == "extreme signs/symptoms"
    middle = KbsRating(knowledge=3, behavior=2, status=4)
    assert middle.knowledge_label == "basic knowledge"
    assert middle.behavior_label == "rarely appropriate behavior"
    assert middle.status_label == "minimal signs/symptoms"
    assert middle.summary == "K3 B2 S4"
    highest = KbsRating(5, 5, 5)
    assert highest.knowledge_label == "superior knowledge"
    assert highest.behavior_label == "consistently appropriate behavior"
    assert highest.status_label == "no signs/symptoms"
    assert KbsRating(2, 3, 2).knowledge_label == "minimal knowledge"
    assert KbsRating(4, 4, 3).behavior_label == "usually appropriate behavior"
    assert KbsRating(4, 3, 3).behavior_label == "inconsistently appropriate behavior"
    assert KbsRating(4, 3, 3).knowledge_label == "adequate knowledge"
    assert KbsRating(4, 3, 3).status_label == "moderate signs/symptoms"
    assert KbsRating(4, 3, 2).status_label == "severe signs/symptoms"


def test_kbs_change():
    assert KbsRating(4, 3, 3).change_from(KbsRating(2, 3, 4)) == (2, 0, -1)


@pytest.mark.parametrize(
    ("ratings", "field"),
    [
        ((0, 3, 3), "knowledge"),
        ((6, 3, 3), "knowledge"),
        ((3, 0, 3), "behavior"),
        ((3, 3, 6), "status"),
        ((3, True, 3), "behavior"),
        ((3, 3, "4"), "status"),
    ],
)
def test_kbs_validation(ratings, field):
    with pytest.raises(ValidationError) as caught:
        KbsRating(*ratings)
    assert caught.value.field == field
    assert caught.value.message == "must be a whole number from 1 to 5"
