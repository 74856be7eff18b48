"""The C-SSRS screener: skip rules, the published triage at every boundary, dispositions."""

from __future__ import annotations

from datetime import date

import pytest

from nursecase.domain.codes import ESCALATION_DISPOSITIONS, SafetyDisposition, SafetyRisk
from nursecase.domain.safety_check import (
    QUESTIONS,
    SafetyAnswers,
    allowed_dispositions,
    asked,
    check_answers,
    check_disposition,
    day_words,
    describe,
    evaluate,
    is_safety_task,
    partial_risk,
    triage,
)
from nursecase.domain.validation import ValidationError

Y, N = True, False


def answers(q1, q2, q3=None, q4=None, q5=None, q6=N, q6b=None) -> dict:
    """Answers by question number; None leaves a question out."""
    given = {
        "wish_dead": q1,
        "suicidal_thoughts": q2,
        "method": q3,
        "intent": q4,
        "plan": q5,
        "behaviour": q6,
        "behaviour_past_3_months": q6b,
    }
    return {name: value for name, value in given.items() if value is not None}


# --------------------------------------------------------------- triage table

TRIAGE = [
    # (q1, q2, q3, q4, q5, q6, q6b) -> risk
    ((N, N, None, None, None, N, None), SafetyRisk.none),
    # Yes to 1 or 2 only: low.
    ((Y, N, None, None, None, N, None), SafetyRisk.low),
    ((N, Y, N, N, N, N, None), SafetyRisk.low),
    ((Y, Y, N, N, N, N, None), SafetyRisk.low),
    # Yes to 3: moderate.
    ((Y, Y, Y, N, N, N, None), SafetyRisk.moderate),
    ((N, Y, Y, N, N, N, None), SafetyRisk.moderate),
    # Yes to 6, not within the past 3 months: moderate (with or without ideation).
    ((N, N, None, None, None, Y, N), SafetyRisk.moderate),
    ((Y, N, None, None, None, Y, N), SafetyRisk.moderate),
    ((Y, Y, Y, N, N, Y, N), SafetyRisk.moderate),
    # Yes to 4 or 5: high.
    ((Y, Y, N, Y, N, N, None), SafetyRisk.high),
    ((Y, Y, N, N, Y, N, None), SafetyRisk.high),
    ((Y, Y, Y, Y, Y, N, None), SafetyRisk.high),
    # Yes to 6 within the past 3 months: high, whatever the ideation.
    ((N, N, None, None, None, Y, Y), SafetyRisk.high),
    ((Y, Y, N, N, N, Y, Y), SafetyRisk.high),
]


@pytest.mark.parametrize(("given", "risk"), TRIAGE)
def test_the_published_triage(given, risk):
    checked = check_answers(answers(*given))
    assert triage(checked) is risk
    assert partial_risk(answers(*given)) is risk


# ---------------------------------------------------------------- skip rules

SKIPS = [
    # (answers, refused field) : the form's skip rules.
    (answers(Y, N, q3=N), "method"),  # 3-5 are skipped when 2 is no
    (answers(Y, N, q4=Y), "intent"),
    (answers(N, N, q5=N), "plan"),
    (answers(Y, Y, q4=N, q5=N), "method"),  # 2 yes: 3-5 required
    (answers(Y, Y, q3=N, q5=N), "intent"),
    (answers(Y, Y, q3=N, q4=N), "plan"),
    (answers(N, N, q6=Y), "behaviour_past_3_months"),  # 6 yes: the 3-month follow-up
    (answers(N, N, q6=N, q6b=N), "behaviour_past_3_months"),  # 6 no: not asked
    ({"suicidal_thoughts": N, "behaviour": N}, "wish_dead"),
    ({"wish_dead": N, "behaviour": N}, "suicidal_thoughts"),
    ({"wish_dead": N, "suicidal_thoughts": N}, "behaviour"),
    (dict(answers(N, N), wish_dead=1), "wish_dead"),  # yes/no only, not a number
    (dict(answers(N, N), mood="low"), "mood"),
]


@pytest.mark.parametrize(("given", "field"), SKIPS)
def test_skip_rules_refuse_with_the_question_named(given, field):
    with pytest.raises(ValidationError) as refused:
        check_answers(given)
    assert refused.value.field == field
    assert partial_risk(given) is None


def test_skipped_questions_are_stored_as_none():
    checked = check_answers(answers(Y, N, q6=Y, q6b=N))
    assert checked == SafetyAnswers(Y, N, None, None, None, Y, N)


ASKED = [
    ({}, ["1", "2", "6"]),
    (answers(N, N), ["1", "2", "6"]),
    (answers(N, Y), ["1", "2", "3", "4", "5", "6"]),
    (answers(N, N, q6=Y), ["1", "2", "6", "6b"]),
    (answers(Y, Y, N, N, N, Y), ["1", "2", "3", "4", "5", "6", "6b"]),
]


@pytest.mark.parametrize(("given", "numbers"), ASKED)
def test_which_questions_the_form_asks(given, numbers):
    assert [question.number for question in asked(given)] == numbers


def test_every_question_has_its_loinc_code_and_wording():
    assert [question.loinc for question in QUESTIONS] == [
        "93246-7",
        "93247-5",
        "93248-3",
        "93249-1",
        "93250-9",
        "93267-3",
        "93269-9",
    ]
    assert QUESTIONS[0].prompt.startswith("Have you wished you were dead")
    assert QUESTIONS[-1].prompt == "Was this within the past 3 months?"


# --------------------------------------------------------------- dispositions

DISPOSITIONS = [
    # (risk, disposition, accepted)
    *((SafetyRisk.high, item, item in ESCALATION_DISPOSITIONS) for item in SafetyDisposition),
    *(
        (SafetyRisk.moderate, item, item is not SafetyDisposition.no_current_risk)
        for item in SafetyDisposition
    ),
    *((SafetyRisk.low, item, True) for item in SafetyDisposition),
    *((SafetyRisk.none, item, True) for item in SafetyDisposition),
]


@pytest.mark.parametrize(("risk", "disposition", "accepted"), DISPOSITIONS)
def test_the_disposition_must_fit_the_risk(risk, disposition, accepted):
    assert (disposition in allowed_dispositions(risk)) is accepted
    if accepted:
        assert check_disposition(risk, str(disposition)) is disposition
        return
    with pytest.raises(ValidationError) as refused:
        check_disposition(risk, disposition)
    assert refused.value.field == "disposition"


def test_a_high_risk_refusal_names_the_escalations_in_words():
    with pytest.raises(ValidationError) as refused:
        check_disposition(SafetyRisk.high, "safety-plan-reviewed")
    assert refused.value.message == (
        "a high risk screen needs an escalation: one of crisis line given, "
        "prescriber or PCP notified, emergency services or ED"
    )


@pytest.mark.parametrize("disposition", [None, "", "hotline", 3])
def test_a_missing_or_unknown_disposition_is_refused(disposition):
    with pytest.raises(ValidationError) as refused:
        check_disposition(SafetyRisk.low, disposition)
    assert refused.value.field == "disposition"


def test_evaluate_checks_answers_then_the_disposition():
    screen = evaluate(answers(Y, Y, N, Y, N), "emergency-services")
    assert (screen.risk, screen.disposition) == (
        SafetyRisk.high,
        SafetyDisposition.emergency_services,
    )
    with pytest.raises(ValidationError) as refused:
        evaluate(answers(Y, Y, N, Y, N), "safety-plan-reviewed")
    assert refused.value.field == "disposition"
    # An incomplete form is refused on its question before the disposition is looked at.
    with pytest.raises(ValidationError) as refused:
        evaluate(answers(Y, Y), "no-current-risk")
    assert refused.value.field == "method"


# ---------------------------------------------------------------------- words


def test_words():
    assert describe("high", "emergency-services") == (
        "Safety check (C-SSRS): high risk; emergency services or ED"
    )
    assert describe(SafetyRisk.none, SafetyDisposition.no_current_risk) == (
        "Safety check (C-SSRS): no risk identified; no current risk"
    )
    assert day_words(date(2026, 12, 5)) == "5 Dec"


@pytest.mark.parametrize(
    ("source", "priority", "expected"),
    [
        ("assessment-trigger", "urgent", True),
        ("assessment-trigger", "routine", False),
        ("manual", "urgent", False),
        ("transition-clock", "urgent", False),
    ],
)
def test_what_a_safety_task_is(source, priority, expected):
    assert is_safety_task(source, priority) is expected
