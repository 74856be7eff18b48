"""A bundle's resources, found by reference: fullUrl, Type/id, #contained and conditional.

:class:`BundleIndex` resolves a FHIR Reference inside the bundle:

- any fullUrl, ``urn:uuid:`` ones included (Synthea's transactions use them);
- relative or absolute ``Type/id`` (with or without ``/_history/n``);
- ``#id``: a resource contained in the referring one;
- ``Type?identifier=system|value`` (conditional, as in transaction bundles) and
  logical references (``identifier`` without ``reference``). A Patient known
  this way but not in the bundle resolves to a :class:`PatientKey` by MRN: the
  importer then finds the patient in the database.

It also remembers which entries fed a record, so the summary can count the
ones left out. :class:`Reader` is the base of the parsers that share one index,
one date and one list of warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import parse_qsl

from nursecase.domain.fhir_records import PatientKey
from nursecase.domain.fhir_values import (
    BundleError,
    Json,
    json_list,
    json_object,
    mrn_from_identifier,
    optional_object,
    text_of,
)

_LITERAL_REFERENCE = re.compile(
    r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)


@dataclass(frozen=True)
class Located:
    """A resource found in the bundle (or contained in one) and where it is."""

    resource: Json
    place: str
    #: The entry index, or None for a contained resource.
    entry: int | None
    #: The entry's fullUrl, when it has one.
    full_url: str | None = None

    @property
    def type(self) -> str:
        """The resource's type ("Patient"), or "" for a contained one without it."""
        kind = self.resource.get("resourceType")
        return kind if isinstance(kind, str) else ""


@dataclass
class BundleIndex:
    """The bundle's resources by fullUrl, by type and id, and by type."""

    entries: list[Located] = field(default_factory=list)
    by_url: dict[str, Located] = field(default_factory=dict)
    by_type_id: dict[tuple[str, str], Located] = field(default_factory=dict)
    by_type: dict[str, list[Located]] = field(default_factory=dict)
    #: Entry indexes whose resource was used (stored, or feeding a stored record).
    used: set[int] = field(default_factory=set)
    #: Patient entry index -> MRN.
    patient_mrns: dict[int, str] = field(default_factory=dict)

    def add(self, located: Located, full_url: str | None, place: str) -> None:
        """Index one entry's resource; a repeated fullUrl is refused at ``place``."""
        self.entries.append(located)
        if full_url is not None:
            if full_url in self.by_url:
                other = self.by_url[full_url].place.removesuffix(".resource")
                raise BundleError(place, f"repeats the fullUrl of {other}")
            self.by_url[full_url] = located
        resource_id = located.resource.get("id")
        if isinstance(resource_id, str) and resource_id:
            self.by_type_id.setdefault((located.type, resource_id), located)
        self.by_type.setdefault(located.type, []).append(located)

    def of_type(self, *types: str) -> list[Located]:
        """The entries of these types, in bundle order."""
        found = [item for resource_type in types for item in self.by_type.get(resource_type, [])]
        return sorted(found, key=lambda item: item.entry or 0)

    def resolve(
        self, value: object, place: str, types: tuple[str, ...], container: Located | None = None
    ) -> Located | PatientKey:
        """The resource a Reference points to; a PatientKey for a Patient known by MRN only."""
        reference = json_object(value, place)
        text = text_of(reference.get("reference"), f"{place}.reference")
        if text is None:
            identifier = optional_object(reference.get("identifier"), f"{place}.identifier")
            if identifier is None:
                raise BundleError(place, "has no reference to a resource")
            by_identifier = self._by_identifier(
                reference.get("type") or types[0],
                identifier.get("system"),
                identifier.get("value"),
                place,
                types,
            )
            if isinstance(by_identifier, PatientKey):
                return by_identifier
            found = by_identifier
        elif text.startswith("#"):
            found = self._contained(text[1:], container, place)
        elif "?" in text:
            conditional = self._conditional(text, place, types)
            if isinstance(conditional, PatientKey):
                return conditional
            found = conditional
        else:
            literal = self.by_url.get(text)
            if literal is None:
                match = _LITERAL_REFERENCE.search(text)
                if match:
                    literal = self.by_type_id.get((match.group(1), match.group(2)))
            if literal is None:
                raise BundleError(place, "does not resolve to a resource in this bundle")
            found = literal
        if found.type not in types:
            raise BundleError(
                place, f"refers to a {found.type or 'resource'}; expected {' or '.join(types)}"
            )
        self.mark_used(found)
        return found

    def mark_used(self, located: Located) -> None:
        """Count an entry as used; a contained resource has no entry (its container counts)."""
        if located.entry is not None:
            self.used.add(located.entry)

    def resource(
        self, value: object, place: str, types: tuple[str, ...], container: Located | None = None
    ) -> Located:
        """The resource a required Reference points to (never a patient known by MRN only)."""
        found = self.resolve(value, place, types, container)
        if isinstance(found, PatientKey):
            raise BundleError(place, "refers to a patient that is not an entry of this bundle")
        return found

    def resolve_optional(
        self, value: object, place: str, types: tuple[str, ...], container: Located | None = None
    ) -> Located | PatientKey | None:
        """Like ``resolve``, but a reference carrying only a display text gives None."""
        if value is None:
            return None
        reference = json_object(value, place)
        if reference.get("reference") is None and reference.get("identifier") is None:
            return None
        return self.resolve(value, place, types, container)

    def _contained(self, local_id: str, container: Located | None, place: str) -> Located:
        if container is not None:
            for index, item in enumerate(json_list(container.resource.get("contained"), place)):
                if isinstance(item, dict) and item.get("id") == local_id:
                    return Located(item, f"{container.place}.contained[{index}]", None)
        raise BundleError(place, "does not resolve to a contained resource")

    def _conditional(self, text: str, place: str, types: tuple[str, ...]) -> Located | PatientKey:
        resource_type, _, query = text.partition("?")
        parameters = parse_qsl(query, keep_blank_values=True)
        names = sorted({name for name, _ in parameters})
        if names != ["identifier"] or len(parameters) != 1:
            raise BundleError(
                place, "a conditional reference must search by identifier=system|value only"
            )
        token = parameters[0][1]
        system, bar, identifier_value = token.partition("|")
        if not bar:
            system, identifier_value = "", token
        return self._by_identifier(resource_type, system or None, identifier_value, place, types)

    def _by_identifier(
        self,
        resource_type: object,
        system: object,
        value: object,
        place: str,
        types: tuple[str, ...],
    ) -> Located | PatientKey:
        if not isinstance(resource_type, str) or not resource_type:
            raise BundleError(place, "does not say which type of resource it refers to")
        identifier_value = text_of(value, place)
        if identifier_value is None:
            raise BundleError(place, "has an identifier without a value")
        matches = []
        for located in self.by_type.get(resource_type, []):
            for identifier in json_list(located.resource.get("identifier"), located.place):
                if not isinstance(identifier, dict):
                    continue
                if identifier.get("value") != identifier_value:
                    continue
                if system is not None and identifier.get("system") != system:
                    continue
                matches.append(located)
                break
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise BundleError(place, f"matches {len(matches)} resources in this bundle; expected 1")
        if resource_type == "Patient" and "Patient" in types:
            # Not in the bundle: the patient may already be in nursecase under this MRN.
            return PatientKey(mrn_from_identifier(identifier_value, place), place)
        raise BundleError(place, "does not resolve to a resource in this bundle")

    def patient(self, value: object, place: str) -> PatientKey:
        """The patient a ``subject``/``patient`` reference names (required)."""
        if value is None:
            raise BundleError(place, "is required")
        found = self.resolve(value, place, ("Patient",))
        if isinstance(found, PatientKey):
            return found
        if found.entry is None or found.entry not in self.patient_mrns:
            raise BundleError(place, "refers to a patient that is not an entry of this bundle")
        return PatientKey(self.patient_mrns[found.entry], place)


@dataclass
class ParseState:
    """What the readers of one bundle share."""

    index: BundleIndex
    today: date
    discharge_window_days: int
    warnings: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class Reader:
    """Base of the bundle's readers: the shared index, date, warnings and skip counts."""

    def __init__(self, state: ParseState) -> None:
        self.state = state

    @property
    def index(self) -> BundleIndex:
        """The bundle's resources."""
        return self.state.index

    @property
    def today(self) -> date:
        """The importer's date: nothing clinical may lie after it."""
        return self.state.today

    @property
    def warnings(self) -> list[str]:
        """Data left out of records that were kept ("place: why")."""
        return self.state.warnings

    @property
    def skipped(self) -> Counter[str]:
        """Resources left out, by type (and reason)."""
        return self.state.skipped


@dataclass(frozen=True)
class EncounterFacts:
    """What the parser needs of an Encounter."""

    located: Located
    patient: PatientKey
    status: str | None
    class_code: str | None
    start: datetime | None
    end: datetime | None


def encounter_order(encounter: EncounterFacts) -> tuple:
    """Oldest first; aware and naive moments compare by their written wall time."""
    moment = encounter.start or encounter.end
    if moment is None:
        return (0, datetime.min, encounter.located.entry or 0)
    return (1, moment.replace(tzinfo=None), encounter.located.entry or 0)
