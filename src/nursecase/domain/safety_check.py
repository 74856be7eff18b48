"""The safety check: the C-SSRS screener (screen version, "since last contact / past month").

Source: the Columbia-Suicide Severity Rating Scale, Screen Version, of the
Columbia Lighthouse Project (Posner K, Brown GK, Stanley B, et al. The
Columbia-Suicide Severity Rating Scale: initial validity and internal
consistency findings from three multisite studies with adolescents and adults.
Am J Psychiatry. 2011;168(12):1266-1277). Free for clinical use without
permission (cssrs.columbia.edu). The prompts below are the published item
wording of the screen version; questions 1-5 ask about the past month.

The form's skip rules: questions 1, 2 and 6 are always asked; "If YES to 2, ask
questions 3, 4, 5 and 6. If NO to 2, go directly to question 6"; and question 6
(behaviour, lifetime) is followed by "Was this within the past 3 months?" only
when it is yes. Answers to a skipped question are refused, and a question the
form asks must be answered.

Risk, by the screen's published triage (the colour-coded "C-SSRS Screener with
triage points", Columbia Lighthouse Project): yes to 1 or 2 only is low risk;
yes to 3 is moderate, and so is yes to 6 when it was NOT within the past 3
months; yes to 4 or 5, or to 6 within the past 3 months, is high risk. All no
is no risk identified.

Disposition (what the nurse did): a high risk needs an escalation (crisis line
given, prescriber or PCP notified, emergency services or ED); "no current risk"
contradicts a moderate or high screen and is refused.

LOINC codes (HL7 US Behavioral Health Profiles IG, example QuestionnaireResponse
"C-SSRS-example-1", and the LOINC answer lists): items 93246-7, 93247-5,
93248-3, 93249-1, 93250-9, 93267-3 and 93269-9 ("within the past 3 months");
risk level 93374-7 with answers LA9194-7 Low, LA6751-7 Moderate, LA9193-9 High;
yes/no answers LA33-6 Yes, LA32-8 No.

What a *safety task* is lives here too: the urgent follow-up task a PHQ-9 item
9 above 0 creates (source "assessment-trigger", priority urgent). Only a
recorded safety check completes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from nursecase.domain.codes import (
    ESCALATION_DISPOSITIONS,
    SafetyDisposition,
    SafetyRisk,
    TaskPriority,
    TaskSource,
    parse_code,
)
from nursecase.domain.validation import ValidationError

CITATION = (
    "C-SSRS Screen Version (Columbia Lighthouse Project; Posner K et al., "
    "Am J Psychiatry 2011;168:1266-77). Free for clinical use."
)
NAME = "C-SSRS screener"
SHORT_NAME = "C-SSRS"

#: What the first five questions ask about.
PAST_MONTH = "In the past month:"

# ---------------------------------------------------------------- LOINC

#: The risk level observation (an answer from LOINC's Low / Moderate / High list).
RISK_LEVEL_LOINC = "93374-7"
RISK_LEVEL_DISPLAY = "Suicide risk level"
#: LOINC answers yes / no: (code, display).
LOINC_YES = ("LA33-6", "Yes")
LOINC_NO = ("LA32-8", "No")
#: Risk -> LOINC answer (code, display); "none" has no LOINC answer (text only).
RISK_LOINC_ANSWERS: dict[SafetyRisk, tuple[str, str]] = {
    SafetyRisk.low: ("LA9194-7", "Low"),
    SafetyRisk.moderate: ("LA6751-7", "Moderate"),
    SafetyRisk.high: ("LA9193-9", "High"),
}

# ----------------------------------------------------------- safety tasks

#: A safety task: the urgent task an assessment trigger (PHQ-9 item 9 above 0) creates.
SAFETY_TASK_SOURCE = TaskSource.assessment_trigger
SAFETY_TASK_PRIORITY = TaskPriority.urgent
#: Why a safety task cannot be ticked off or snoozed by hand.
SAFETY_TASK_REFUSAL = (
    "is a safety follow-up: it is completed only by a safety check (press S), "
    "not marked done or snoozed"
)

#: Risks that keep the SAFETY signal up until a newer check finds low or none.
SIGNAL_RISKS = frozenset({SafetyRisk.moderate, SafetyRisk.high})


def is_safety_task(source: str, priority: str) -> bool:
    """True for the urgent follow-up task of a PHQ-9 item 9 above 0."""
    return source == SAFETY_TASK_SOURCE and priority == SAFETY_TASK_PRIORITY


# ------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """One question of the screener: its answer field, number, wording and LOINC code."""

    field: str
    number: str
    prompt: str
    loinc: str


QUESTIONS = (
    Question(
        "wish_dead",
        "1",
        "Have you wished you were dead or wished you could go to sleep and not wake up?",
        "93246-7",
    ),
    Question(
        "suicidal_thoughts",
        "2",
        "Have you actually had any thoughts of killing yourself?",
        "93247-5",
    ),
    Question("method", "3", "Have you been thinking about how you might do this?", "93248-3"),
    Question(
        "intent",
        "4",
        "Have you had these thoughts and had some intention of acting on them?",
        "93249-1",
    ),
    Question(
        "plan",
        "5",
        "Have you started to work out or worked out the details of how to kill yourself? "
        "Do you intend to carry out this plan?",
        "93250-9",
    ),
    Question(
        "behaviour",
        "6",
        "Have you ever done anything, started to do anything, or prepared to do anything "
        "to end your life?",
        "93267-3",
    ),
    Question("behaviour_past_3_months", "6b", "Was this within the past 3 months?", "93269-9"),
)
QUESTIONS_BY_FIELD = {question.field: question for question in QUESTIONS}
#: Asked only when question 2 is yes.
IDEATION_DETAIL = ("method", "intent", "plan")
#: Asked only when question 6 is yes.
RECENT_BEHAVIOUR = "behaviour_past_3_months"


@dataclass(frozen=True)
class SafetyAnswers:
    """The answers of one screener: True yes, False no, None for a question the form skipped."""

    wish_dead: bool
    suicidal_thoughts: bool
    method: bool | None
    intent: bool | None
    plan: bool | None
    behaviour: bool
    behaviour_past_3_months: bool | None

    def as_dict(self) -> dict[str, bool | None]:
        """Field name -> answer, in question order."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def asked(answers: Mapping[str, object]) -> tuple[Question, ...]:
    """The questions the form asks, given the answers so far (the skip rules)."""
    shown = []
    for question in QUESTIONS:
        if question.field in IDEATION_DETAIL and answers.get("suicidal_thoughts") is not True:
            continue
        if question.field == RECENT_BEHAVIOUR and answers.get("behaviour") is not True:
            continue
        shown.append(question)
    return tuple(shown)


def check_answers(answers: Mapping[str, object]) -> SafetyAnswers:
    """The answers checked against the form; ValidationError names the first bad question.

    Every asked question needs yes or no (a bool); a skipped question must be
    left out (or None).
    """
    if not isinstance(answers, Mapping):
        raise ValidationError("answers", "must map the questions to yes or no")
    for name in answers:
        if name not in QUESTIONS_BY_FIELD:
            raise ValidationError(str(name), "is not a question of the C-SSRS screener")
    for name, value in answers.items():
        if value is not None and not isinstance(value, bool):
            raise ValidationError(name, "must be answered yes or no")
    # Questions 1, 2 and 6 first: whether the others are asked depends on them.
    for name in ("wish_dead", "suicidal_thoughts", "behaviour"):
        if answers.get(name) is None:
            raise ValidationError(name, f"question {QUESTIONS_BY_FIELD[name].number} is required")
    asked_fields = {question.field for question in asked(answers)}
    for question in QUESTIONS:
        value = answers.get(question.field)
        if question.field in asked_fields and value is None:
            raise ValidationError(question.field, f"question {question.number} is required")
        if question.field not in asked_fields and value is not None:
            raise ValidationError(question.field, _skip_reason(question))
    values = {question.field: answers.get(question.field) for question in QUESTIONS}
    # The checks above made each value a bool or None, and questions 1, 2 and 6
    # (SafetyAnswers' bool fields) answered; mypy sees only Mapping[str, object].
    return SafetyAnswers(**values)  # type: ignore[arg-type]


def _skip_reason(question: Question) -> str:
    if question.field == RECENT_BEHAVIOUR:
        return "is asked only when question 6 is yes; leave it out"
    return f"question {question.number} is skipped when question 2 is no; leave it out"


# --------------------------------------------------------------- triage


def triage(answers: SafetyAnswers) -> SafetyRisk:
    """The risk by the screen's published triage (see the module docstring)."""
    if answers.intent or answers.plan or (answers.behaviour and answers.behaviour_past_3_months):
        return SafetyRisk.high
    if answers.method or answers.behaviour:
        # Behaviour not within the past 3 months is moderate (Columbia screener triage).
        return SafetyRisk.moderate
    if answers.wish_dead or answers.suicidal_thoughts:
        return SafetyRisk.low
    return SafetyRisk.none


def partial_risk(answers: Mapping[str, object]) -> SafetyRisk | None:
    """The risk of the answers given so far, or None while an asked question is unanswered."""
    try:
        return triage(check_answers(answers))
    except ValidationError:
        return None


def allowed_dispositions(risk: SafetyRisk) -> tuple[SafetyDisposition, ...]:
    """The dispositions a screen of this risk may be recorded with, in list order."""
    if risk is SafetyRisk.high:
        return tuple(item for item in SafetyDisposition if item in ESCALATION_DISPOSITIONS)
    if risk is SafetyRisk.moderate:
        return tuple(
            item for item in SafetyDisposition if item is not SafetyDisposition.no_current_risk
        )
    return tuple(SafetyDisposition)


def check_disposition(risk: SafetyRisk, disposition: object) -> SafetyDisposition:
    """The disposition, if it fits the risk; ValidationError("disposition", ...) if not."""
    if disposition is None or (isinstance(disposition, str) and not disposition.strip()):
        raise ValidationError("disposition", "is required: say what was done")
    code = parse_code(SafetyDisposition, disposition, "disposition")
    allowed = allowed_dispositions(risk)
    if code in allowed:
        return code
    if risk is SafetyRisk.high:
        words = ", ".join(disposition_words(item) for item in allowed)
        raise ValidationError(
            "disposition", f"a high risk screen needs an escalation: one of {words}"
        )
    raise ValidationError(
        "disposition",
        f"{disposition_words(code)} contradicts a {risk.value} risk screen; "
        "choose what was done about the risk",
    )


@dataclass(frozen=True)
class SafetyScreen:
    """A checked screener: its answers, the risk they give and the disposition recorded."""

    answers: SafetyAnswers
    risk: SafetyRisk
    disposition: SafetyDisposition


def evaluate(answers: Mapping[str, object], disposition: object) -> SafetyScreen:
    """Check the answers, triage them and check the disposition against the risk."""
    checked = check_answers(answers)
    risk = triage(checked)
    return SafetyScreen(checked, risk, check_disposition(risk, disposition))


# ---------------------------------------------------------------- words


def _lower_first(text: str) -> str:
    """ "Prescriber or PCP notified" -> "prescriber or PCP notified" (acronyms kept)."""
    return text[:1].lower() + text[1:]


def risk_words(risk: SafetyRisk | str) -> str:
    """ "high risk", "no risk identified"."""
    return _lower_first(SafetyRisk(risk).label)


def disposition_words(disposition: SafetyDisposition | str) -> str:
    """ "emergency services or ED", "prescriber or PCP notified"."""
    return _lower_first(SafetyDisposition(disposition).label)


def describe(risk: SafetyRisk | str, disposition: SafetyDisposition | str) -> str:
    """The timeline's words: "Safety check (C-SSRS): high risk; emergency services or ED"."""
    return f"Safety check ({SHORT_NAME}): {risk_words(risk)}; {disposition_words(disposition)}"


def day_words(day: date) -> str:
    """ "5 Dec" (no zero padding, on every platform)."""
    return f"{day.day} {day:%b}"


# --------------------------------------------------------------- signals


class SafetySignalKind(StrEnum):
    """The two patient-safety signals (DESIGN.md: what SAFETY means)."""

    #: An open safety task: PHQ-9 item 9 above 0 not yet followed by a safety check.
    phq9_item9 = "phq9-item9"
    #: The patient's latest safety check found moderate or high risk.
    cssrs_risk = "cssrs-risk"


def phq9_signal_words(value: int | None, day: date) -> str:
    """ "PHQ-9 item 9 answered 2 on 5 Dec" (or "above 0" when the answer is not known)."""
    answered = f"answered {value}" if value else "above 0"
    return f"PHQ-9 item 9 {answered} on {day_words(day)}"


def risk_signal_words(risk: SafetyRisk | str, day: date) -> str:
    """ "C-SSRS high risk on 5 Dec"."""
    return f"{SHORT_NAME} {risk_words(risk)} on {day_words(day)}"


__all__ = [
    "CITATION",
    "IDEATION_DETAIL",
    "LOINC_NO",
    "LOINC_YES",
    "QUESTIONS",
    "QUESTIONS_BY_FIELD",
    "RECENT_BEHAVIOUR",
    "RISK_LEVEL_LOINC",
    "RISK_LOINC_ANSWERS",
    "SAFETY_TASK_PRIORITY",
    "SAFETY_TASK_REFUSAL",
    "SAFETY_TASK_SOURCE",
    "SIGNAL_RISKS",
    "Question",
    "SafetyAnswers",
    "SafetyScreen",
    "SafetySignalKind",
    "allowed_dispositions",
    "asked",
    "check_answers",
    "check_disposition",
    "day_words",
    "describe",
    "disposition_words",
    "evaluate",
    "is_safety_task",
    "partial_risk",
    "phq9_signal_words",
    "risk_signal_words",
    "risk_words",
    "triage",
]
