"""Reading FHIR JSON values: text, codes, dates, names, phones, each problem with its place.

Every reader takes the value and its PLACE in the bundle (``entry[3].resource.code``)
and either returns a clean Python value or raises :class:`BundleError` naming that
place. Messages never repeat the rejected value: it may be PHI. Pure: standard
library and ``nursecase.domain`` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from nursecase.domain.codes import CareTeamRole, InterventionCategory
from nursecase.domain.validation import (
    ValidationError,
    mrn_as_written,
    normalize_phone,
    optional_text,
    require_text,
)

T = TypeVar("T")

Json = dict[str, Any]

#: Column limits of the nursecase fields the importer fills (db/models.py, services).
NAME_LENGTH = 120
ADDRESS_LENGTH = 400
LANGUAGE_LENGTH = 40
CONDITION_LENGTH = 400
CODE_LENGTH = 40
MEDICATION_LENGTH = 200
DOSE_LENGTH = 80
ROUTE_LENGTH = 40
FREQUENCY_LENGTH = 80
ORGANISATION_LENGTH = 200
TITLE_LENGTH = 200
DESCRIPTION_LENGTH = 400
ACTIVITY_LENGTH = 4000
OWNER_LENGTH = 120
FACILITY_LENGTH = 200
MEASURE_LENGTH = 200
TARGET_VALUE_LENGTH = 80

#: Identifier systems of nursecase's own care-plan records in its FHIR exports. The
#: value is the resource's UUID (the export's entry UUID of the row); a contained
#: problem Condition carries one too, so a Goal can name its problem by a logical
#: reference (R4 forbids a reference into another resource's contained list).
OWN_IDENTIFIER_BASE = "https://nursecase.invalid/fhir/identifier/"
CARE_PLAN_SYSTEM = f"{OWN_IDENTIFIER_BASE}care-plan"
PROBLEM_SYSTEM = f"{OWN_IDENTIFIER_BASE}care-plan-problem"
GOAL_SYSTEM = f"{OWN_IDENTIFIER_BASE}goal"
#: An exported encounter's identifier: the system names how nursecase learned of it
#: ("encounter-adt"), the value is its key there (the visit number, the FHIR id), so
#: that the export imported back into its source finds the same encounter.
ENCOUNTER_SYSTEM_PREFIX = f"{OWN_IDENTIFIER_BASE}encounter-"

_PERIOD_UNITS = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}

_CATEGORY_WORDS = (
    (
        InterventionCategory.teaching_guidance_counseling,
        ("educat", "teach", "counsel", "advice", "advis", "recommend", "instruct", "guidance"),
    ),
    (
        InterventionCategory.case_management,
        ("referr", "refer to", "coordinat", "management", "arrang", "liaison", "advoca"),
    ),
    (
        InterventionCategory.surveillance,
        ("monitor", "surveil", "screen", "assess", "observ", "measure", "check"),
    ),
)

_CARE_TEAM_ROLE_WORDS = (
    (CareTeamRole.pcp, ("primary care", "general practi", "family physician", "pcp")),
    (CareTeamRole.pharmacist, ("pharmac",)),
    (CareTeamRole.social_worker, ("social work",)),
    (CareTeamRole.home_health, ("home health",)),
    (CareTeamRole.caregiver, ("caregiver", "carer")),
    (CareTeamRole.specialist, ("specialist", "cardiolog", "oncolog", "nephrolog", "endocrin")),
)

_USE_ORDER = ("mobile", "home")

_FHIR_DATE = re.compile(r"([0-9]{4})(-([0-9]{2})(-([0-9]{2}))?)?")


class BundleError(ValueError):
    """A bundle nursecase cannot read; ``place`` says where, e.g. ``entry[3].resource.code``."""

    def __init__(self, place: str, message: str) -> None:
        super().__init__(f"{place}: {message}")
        self.place = place
        self.message = message

    def __reduce__(self) -> tuple[type[BundleError], tuple[str, str]]:
        """Pickle with both arguments (errors may cross a worker boundary)."""
        return (self.__class__, (self.place, self.message))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_lone_surrogates(data: object) -> None:
    """BundleError at the first string holding a lone surrogate (``"\\ud800"`` in JSON).

    JSON escapes can spell half of a UTF-16 pair alone; Python decodes it, but
    it is no character: it cannot be stored, printed or exported. The place is
    the path of the string (``entry[0].resource.name[0].family``), or of the
    object holding a key that has one.
    """
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        value, place = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _LONE_SURROGATE.search(value):
                raise BundleError(place or "the bundle", _SURROGATE_MESSAGE)
        elif isinstance(value, dict):
            children = []
            for key, item in value.items():
                if not key.isascii() and _LONE_SURROGATE.search(key):
                    raise BundleError(place or "the bundle", f"a key {_SURROGATE_MESSAGE}")
                children.append((item, f"{place}.{key}" if place else key))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{place}[{index}]") for index, item in reversed(list(enumerate(value)))
            )


_SURROGATE_MESSAGE = "holds a lone surrogate (a \\ud800-\\udfff escape), which is not text"


def checked(place: str, rule: Callable[..., T], *arguments: object, **options: object) -> T:
    """Run a validation rule; its ValidationError becomes a BundleError at ``place``."""
    try:
        return rule(*arguments, **options)
    except ValidationError as error:
        raise BundleError(place, error.message) from None


def json_object(value: object, place: str) -> Json:
    """``value`` if it is a JSON object, else BundleError at ``place``."""
    if not isinstance(value, dict):
        raise BundleError(place, "must be a JSON object")
    return value


def optional_object(value: object, place: str) -> Json | None:
    """None when absent, else the JSON object ``value`` must be."""
    return None if value is None else json_object(value, place)


def json_list(value: object, place: str) -> list:
    """The list ``value`` is ([] when absent); anything else is refused."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BundleError(place, "must be a list")
    return value


def objects(resource: Json, key: str, place: str) -> Iterable[tuple[str, Json]]:
    """The objects of a list field with their places; a non-object item is refused."""
    for index, item in enumerate(json_list(resource.get(key), f"{place}.{key}")):
        item_place = f"{place}.{key}[{index}]"
        yield item_place, json_object(item, item_place)


def text_of(value: object, place: str) -> str | None:
    """Stripped text, None when absent or blank; a non-string is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BundleError(place, "must be text")
    stripped = value.strip()
    return stripped or None


def codings(concept: Json | None, place: str) -> list[tuple[str, Json]]:
    """The codings of a CodeableConcept with their places."""
    if concept is None:
        return []
    return list(objects(concept, "coding", place))


def concept_text(concept: Json | None, place: str) -> str | None:
    """What a CodeableConcept says in words: its text, else a coding's display, else a code."""
    if concept is None:
        return None
    text = text_of(concept.get("text"), f"{place}.text")
    if text:
        return text
    found = codings(concept, place)
    for coding_place, coding in found:
        display = text_of(coding.get("display"), f"{coding_place}.display")
        if display:
            return display
    for coding_place, coding in found:
        code = text_of(coding.get("code"), f"{coding_place}.code")
        if code:
            return code
    return None


def first_code(concept: Json | None, place: str, system: str | None = None) -> str | None:
    """The first code of a concept (of ``system`` if given), or None."""
    for coding_place, coding in codings(concept, place):
        if system is not None and coding.get("system") != system:
            continue
        code = text_of(coding.get("code"), f"{coding_place}.code")
        if code:
            return code
    return None


def status_code(value: object, place: str, allowed: dict[str, T]) -> T:
    """A required code mapped through ``allowed``; others are refused, listed."""
    code = text_of(value, place)
    if code is None:
        raise BundleError(place, "is required")
    if code not in allowed:
        raise BundleError(place, f"must be one of: {', '.join(allowed)}")
    return allowed[code]


def fhir_date(value: object, place: str) -> date | None:
    """A FHIR date ("YYYY", "YYYY-MM" or "YYYY-MM-DD"); a partial date gives None."""
    text = text_of(value, place)
    if text is None:
        return None
    match = _FHIR_DATE.fullmatch(text[:10]) if len(text) >= 4 else None
    if match is None or (len(text) > 10 and text[10] != "T"):
        raise BundleError(place, "is not a FHIR date (YYYY-MM-DD)")
    if match.group(5) is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BundleError(place, "is not a real calendar date") from None


def fhir_datetime(value: object, place: str) -> datetime | None:
    """A FHIR dateTime or instant: aware when it carries an offset; a bare date is midnight.

    A partial date ("2019" or "2019-05") gives None: there is no day to store.
    """
    text = text_of(value, place)
    if text is None:
        return None
    day = fhir_date(text, place)
    if day is None:
        return None
    if len(text) == 10:
        return datetime(day.year, day.month, day.day)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BundleError(place, "is not a FHIR dateTime (YYYY-MM-DDThh:mm:ss+zz:zz)") from None


def not_after(day: date | None, today: date, place: str) -> date | None:
    """``day`` unchanged; refused when it lies after ``today``."""
    if day is not None and day > today:
        raise BundleError(place, "must not be in the future")
    return day


def written_day(moment: datetime | None) -> date | None:
    """The calendar day as the source wrote it (in its own offset)."""
    return moment.date() if moment is not None else None


def whole_number(value: object, place: str, low: int, high: int) -> int:
    """An integral JSON number within ``low..high``, else refused."""
    message = f"must be a whole number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BundleError(place, message)
    if isinstance(value, float) and not value.is_integer():
        raise BundleError(place, message)
    number = int(value)
    if not low <= number <= high:
        raise BundleError(place, message)
    return number


def mrn_from_identifier(value: object, place: str) -> str:
    """The MRN nursecase stores for an identifier value: exactly as the source wrote it.

    A Synthea UUID keeps its hyphens and its small letters
    ("ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423"); search finds it with or without
    them (``validation.mrn_key``).
    """
    text = text_of(value, place)
    if text is None:
        raise BundleError(place, "is required: a patient needs a medical record number")
    try:
        return mrn_as_written(text)
    except ValidationError as error:
        raise BundleError(place, f"is not usable as an MRN: it {error.message}") from None


def own_identifier(resource: Json, system: str, place: str) -> str | None:
    """The value of the resource's identifier in nursecase's ``system``, or None."""
    for identifier_place, identifier in objects(resource, "identifier", place):
        if identifier.get("system") == system:
            return text_of(identifier.get("value"), f"{identifier_place}.value")
    return None


#: How nursecase's export states an activity's Omaha category (detail.description).
CATEGORY_PREFIX = "Omaha System intervention category: "


def stated_category(description: str | None) -> str | None:
    """The Omaha category a detail.description states in nursecase's words, else None."""
    if description is None or not description.startswith(CATEGORY_PREFIX):
        return None
    wanted = description.removeprefix(CATEGORY_PREFIX).strip().casefold()
    for category in InterventionCategory:
        if wanted in (category.label.casefold(), str(category)):
            return str(category)
    return None


def omaha_category(text: str) -> str:
    """The Omaha System intervention category an activity's words suggest."""
    words = text.lower()
    for category, stems in _CATEGORY_WORDS:
        if any(stem in words for stem in stems):
            return str(category)
    return str(InterventionCategory.treatments_procedures)


def care_team_role(text: str | None, default: CareTeamRole = CareTeamRole.other) -> str:
    """The nursecase care-team role a role's words suggest."""
    words = (text or "").lower()
    for role, stems in _CARE_TEAM_ROLE_WORDS:
        if any(stem in words for stem in stems):
            return str(role)
    return str(default)


def human_name(resource: Json, place: str) -> tuple[str | None, str | None, str | None]:
    """(family, given, full text) of the resource's best name."""
    names = list(objects(resource, "name", place))
    preferred = [item for item in names if item[1].get("use") in ("official", "usual")]
    current = [item for item in names if item[1].get("use") not in ("old", "maiden")]
    candidates = preferred or current or names
    if not candidates:
        return None, None, None
    name_place, name = candidates[0]
    family = text_of(name.get("family"), f"{name_place}.family")
    givens = [
        text_of(given, f"{name_place}.given[{index}]")
        for index, given in enumerate(json_list(name.get("given"), f"{name_place}.given"))
    ]
    given = " ".join(part for part in givens if part) or None
    prefixes = [
        text_of(prefix, f"{name_place}.prefix[{index}]")
        for index, prefix in enumerate(json_list(name.get("prefix"), f"{name_place}.prefix"))
    ]
    text = text_of(name.get("text"), f"{name_place}.text")
    if text is None:
        parts = [part for part in (*prefixes, given, family) if part]
        text = " ".join(parts) or None
    return family, given, text


def best_phone(resource: Json, place: str, warnings: list[str]) -> str | None:
    """The best phone number of a resource; one that is not a phone number is left out."""
    phones = [
        (item_place, item)
        for item_place, item in objects(resource, "telecom", place)
        if item.get("system") == "phone" and item.get("use") != "old"
    ]
    phones.sort(
        key=lambda pair: (
            _USE_ORDER.index(pair[1].get("use")) if pair[1].get("use") in _USE_ORDER else 2
        )
    )
    for item_place, item in phones:
        value = text_of(item.get("value"), f"{item_place}.value")
        if value is None:
            continue
        try:
            normalize_phone(value)
        except ValidationError as error:
            warnings.append(f"{item_place}.value: left out: the phone {error.message}")
            continue
        return checked(f"{item_place}.value", require_text, value, "phone", max_length=40)
    return None


def best_address(resource: Json, place: str) -> str | None:
    """The home (else first current) address as one line of text, or None."""
    addresses = [
        item for item in objects(resource, "address", place) if item[1].get("use") != "old"
    ]
    if not addresses:
        return None
    addresses.sort(key=lambda pair: 0 if pair[1].get("use") == "home" else 1)
    address_place, address = addresses[0]
    text = text_of(address.get("text"), f"{address_place}.text")
    if text is None:
        lines = [
            text_of(line, f"{address_place}.line[{index}]")
            for index, line in enumerate(json_list(address.get("line"), f"{address_place}.line"))
        ]
        city = text_of(address.get("city"), f"{address_place}.city")
        state = text_of(address.get("state"), f"{address_place}.state")
        postal = text_of(address.get("postalCode"), f"{address_place}.postalCode")
        region = " ".join(part for part in (state, postal) if part)
        text = ", ".join(part for part in (*lines, city, region) if part) or None
    return checked(address_place, optional_text, text, "address", max_length=ADDRESS_LENGTH)


def period_of(resource: Json, key: str, place: str) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a Period field; either may be None."""
    period = optional_object(resource.get(key), f"{place}.{key}")
    if period is None:
        return None, None
    return (
        fhir_datetime(period.get("start"), f"{place}.{key}.start"),
        fhir_datetime(period.get("end"), f"{place}.{key}.end"),
    )


def quantity_text(quantity: Json, place: str) -> str | None:
    """A Quantity as '1 tablet' or '25 mg'; None without a number."""
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = f"{value:g}"
    unit = text_of(quantity.get("unit"), f"{place}.unit") or text_of(
        quantity.get("code"), f"{place}.code"
    )
    return f"{number} {unit}" if unit else number


def timing_text(timing: Json | None, place: str) -> str | None:
    """A Timing in words: "2 times a day", "every 8 hours", "once a week"."""
    if timing is None:
        return None
    code_text = concept_text(optional_object(timing.get("code"), f"{place}.code"), f"{place}.code")
    repeat = optional_object(timing.get("repeat"), f"{place}.repeat")
    if repeat is None:
        return code_text
    frequency, period = repeat.get("frequency"), repeat.get("period")
    unit_code = repeat.get("periodUnit")
    unit = _PERIOD_UNITS.get(unit_code) if isinstance(unit_code, str) else None
    if unit is None or isinstance(period, bool) or not isinstance(period, int | float):
        return code_text
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1:
        frequency = 1
    length = f"{period:g}"
    if length == "1":
        times = "once" if frequency == 1 else f"{frequency} times"
        return f"{times} a {unit}"
    if frequency == 1:
        return f"every {length} {unit}s"
    return f"{frequency} times every {length} {unit}s"
