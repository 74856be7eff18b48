"""The Omaha System: default problem and intervention vocabulary for care plans.

Source: Martin KS. The Omaha System: A Key to Practice, Documentation, and
Information Management. Reprinted 2nd ed. Omaha, NE: Health Connections Press;
2005 (omahasystem.org). The Omaha System is in the public domain; the 42 problem
names, 4 domains, 4 intervention categories and the Problem Rating Scale for
Outcomes anchors below follow that text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nursecase.domain.codes import InterventionCategory
from nursecase.domain.validation import ValidationError

ENVIRONMENTAL = "Environmental"
PSYCHOSOCIAL = "Psychosocial"
PHYSIOLOGICAL = "Physiological"
HEALTH_RELATED_BEHAVIORS = "Health-related behaviors"

DOMAINS = (ENVIRONMENTAL, PSYCHOSOCIAL, PHYSIOLOGICAL, HEALTH_RELATED_BEHAVIORS)
"""The four Omaha problem domains in their published order."""

INTERVENTION_CATEGORIES = tuple(InterventionCategory)
"""The four Intervention Scheme categories (labels via ``category.label``)."""


@dataclass(frozen=True, slots=True)
class OmahaProblem:
    """One Omaha System problem: a stable slug ``code``, its ``name`` and ``domain``."""

    code: str
    name: str
    domain: str


def _problems(domain: str, *entries: tuple[str, str]) -> tuple[OmahaProblem, ...]:
    """Build one domain's problems from (code, name) pairs."""
    return tuple(OmahaProblem(code, name, domain) for code, name in entries)


PROBLEMS: tuple[OmahaProblem, ...] = (
    *_problems(
        ENVIRONMENTAL,
        ("income", "Income"),
        ("sanitation", "Sanitation"),
        ("residence", "Residence"),
        ("neighborhood-workplace-safety", "Neighborhood/workplace safety"),
    ),
    *_problems(
        PSYCHOSOCIAL,
        ("communication-with-community-resources", "Communication with community resources"),
        ("social-contact", "Social contact"),
        ("role-change", "Role change"),
        ("interpersonal-relationship", "Interpersonal relationship"),
        ("spirituality", "Spirituality"),
        ("grief", "Grief"),
        ("mental-health", "Mental health"),
        ("sexuality", "Sexuality"),
        ("caretaking-parenting", "Caretaking/parenting"),
        ("neglect", "Neglect"),
        ("abuse", "Abuse"),
        ("growth-and-development", "Growth and development"),
    ),
    *_problems(
        PHYSIOLOGICAL,
        ("hearing", "Hearing"),
        ("vision", "Vision"),
        ("speech-and-language", "Speech and language"),
        ("oral-health", "Oral health"),
        ("cognition", "Cognition"),
        ("pain", "Pain"),
        ("consciousness", "Consciousness"),
        ("skin", "Skin"),
        ("neuromusculoskeletal-function", "Neuromusculoskeletal function"),
        ("respiration", "Respiration"),
        ("circulation", "Circulation"),
        ("digestion-hydration", "Digestion-hydration"),
        ("bowel-function", "Bowel function"),
        ("urinary-function", "Urinary function"),
        ("reproductive-function", "Reproductive function"),
        ("pregnancy", "Pregnancy"),
        ("postpartum", "Postpartum"),
        ("communicable-infectious-condition", "Communicable/infectious condition"),
    ),
    *_problems(
        HEALTH_RELATED_BEHAVIORS,
        ("nutrition", "Nutrition"),
        ("sleep-and-rest-patterns", "Sleep and rest patterns"),
        ("physical-activity", "Physical activity"),
        ("personal-care", "Personal care"),
        ("substance-use", "Substance use"),
        ("family-planning", "Family planning"),
        ("healthcare-supervision", "Healthcare supervision"),
        ("medication-regimen", "Medication regimen"),
    ),
)
"""All 42 problems, grouped by domain, in the published order."""

PROBLEMS_BY_CODE: Mapping[str, OmahaProblem] = MappingProxyType(
    {problem.code: problem for problem in PROBLEMS}
)
"""Problems looked up by their slug code."""


def get_problem(code: str) -> OmahaProblem:
    """Return the problem with slug ``code``; ValidationError naming "problem" if unknown."""
    try:
        return PROBLEMS_BY_CODE[code]
    except KeyError:
        raise ValidationError("problem", "is not an Omaha System problem code") from None


def problems_in_domain(domain: str) -> tuple[OmahaProblem, ...]:
    """Return the problems of one domain in published order."""
    return tuple(problem for problem in PROBLEMS if problem.domain == domain)


def find_problems(text: str) -> tuple[OmahaProblem, ...]:
    """Type-to-filter: problems whose name or code contains ``text`` (case-insensitive).

    Names that start with the text come first, then names with a word starting with
    it, then any other match; each group keeps the published order. Blank text
    returns every problem.
    """
    query = text.strip().casefold()
    if not query:
        return PROBLEMS
    starts: list[OmahaProblem] = []
    word_starts: list[OmahaProblem] = []
    contains: list[OmahaProblem] = []
    for problem in PROBLEMS:
        name = problem.name.casefold()
        if name.startswith(query) or problem.code.startswith(query):
            starts.append(problem)
        elif any(word.startswith(query) for word in _words(name)):
            word_starts.append(problem)
        elif query in name or query in problem.code:
            contains.append(problem)
    return (*starts, *word_starts, *contains)


def _words(name: str) -> list[str]:
    """Split a name on spaces, slashes and hyphens ("neighborhood/workplace safety")."""
    return name.replace("/", " ").replace("-", " ").split()


KBS_LOW = 1
KBS_HIGH = 5

KNOWLEDGE_LABELS: Mapping[int, str] = MappingProxyType(
    {
        1: "no knowledge",
        2: "minimal knowledge",
        3: "basic knowledge",
        4: "adequate knowledge",
        5: "superior knowledge",
    }
)
"""Knowledge anchors: what the client knows and understands."""

BEHAVIOR_LABELS: Mapping[int, str] = MappingProxyType(
    {
        1: "not appropriate behavior",
        2: "rarely appropriate behavior",
        3: "inconsistently appropriate behavior",
        4: "usually appropriate behavior",
        5: "consistently appropriate behavior",
    }
)
"""Behavior anchors: the client's observable responses and actions."""

STATUS_LABELS: Mapping[int, str] = MappingProxyType(
    {
        1: "extreme signs/symptoms",
        2: "severe signs/symptoms",
        3: "moderate signs/symptoms",
        4: "minimal signs/symptoms",
        5: "no signs/symptoms",
    }
)
"""Status anchors: the client's condition in relation to the problem."""


def _check_rating(value: object, field: str) -> None:
    """Raise unless ``value`` is an int rating from 1 to 5 (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not KBS_LOW <= value <= KBS_HIGH:
        raise ValidationError(field, f"must be a whole number from {KBS_LOW} to {KBS_HIGH}")


@dataclass(frozen=True, slots=True)
class KbsRating:
    """One Problem Rating Scale for Outcomes rating: Knowledge, Behavior, Status 1-5."""

    knowledge: int
    behavior: int
    status: int

    def __post_init__(self) -> None:
        """Refuse ratings outside 1-5 at construction, naming the scale."""
        _check_rating(self.knowledge, "knowledge")
        _check_rating(self.behavior, "behavior")
        _check_rating(self.status, "status")

    @property
    def knowledge_label(self) -> str:
        """Anchor label of the knowledge rating, e.g. "basic knowledge"."""
        return KNOWLEDGE_LABELS[self.knowledge]

    @property
    def behavior_label(self) -> str:
        """Anchor label of the behavior rating, e.g. "usually appropriate behavior"."""
        return BEHAVIOR_LABELS[self.behavior]

    @property
    def status_label(self) -> str:
        """Anchor label of the status rating, e.g. "minimal signs/symptoms"."""
        return STATUS_LABELS[self.status]

    @property
    def summary(self) -> str:
        """Compact form for tables and sparklines' captions: "K3 B2 S4"."""
        return f"K{self.knowledge} B{self.behavior} S{self.status}"

    def change_from(self, earlier: KbsRating) -> tuple[int, int, int]:
        """Return the (knowledge, behavior, status) change since ``earlier``; up is better."""
        return (
            self.knowledge - earlier.knowledge,
            self.behavior - earlier.behavior,
            self.status - earlier.status,
        )
