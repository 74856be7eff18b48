"""The care team and care plans of a bundle (see ``fhir_bundle`` for what is read and why)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from nursecase.domain.codes import (
    CareTeamRole,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    InterventionStatus,
)
from nursecase.domain.fhir_index import EncounterFacts, Located, Reader, encounter_order
from nursecase.domain.fhir_records import (
    ImportedCarePlan,
    ImportedCareTeamMember,
    ImportedGoal,
    ImportedIntervention,
    ImportedPatient,
    ImportedProblem,
    PatientKey,
)
from nursecase.domain.fhir_values import (
    ACTIVITY_LENGTH,
    CARE_PLAN_SYSTEM,
    DESCRIPTION_LENGTH,
    FREQUENCY_LENGTH,
    GOAL_SYSTEM,
    MEASURE_LENGTH,
    NAME_LENGTH,
    ORGANISATION_LENGTH,
    OWNER_LENGTH,
    PROBLEM_SYSTEM,
    TARGET_VALUE_LENGTH,
    TITLE_LENGTH,
    BundleError,
    Json,
    best_phone,
    care_team_role,
    checked,
    concept_text,
    fhir_date,
    first_code,
    human_name,
    json_object,
    objects,
    omaha_category,
    optional_object,
    own_identifier,
    period_of,
    stated_category,
    status_code,
    text_of,
    timing_text,
    written_day,
)
from nursecase.domain.validation import optional_text, require_text

AMBULATORY_CLASS = "AMB"

RECENT_ENCOUNTER_DAYS = 365

#: A problem of a plan while it is read: ("own", identifier) or ("text", casefolded text).
ProblemKey = tuple[str, str]

_PLAN_STATUSES: dict[str, str | None] = {
    "draft": "draft",
    "active": "active",
    "on-hold": "on-hold",
    "revoked": "revoked",
    "completed": "completed",
    "unknown": "draft",
    "entered-in-error": None,
}

_PROBLEM_STATUS_BY_CLINICAL = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "inactive": "inactive",
    "remission": "resolved",
    "resolved": "resolved",
}


class CareReader(Reader):
    """Reads the care team (from patients, encounters and CareTeam) and CarePlans."""

    def care_team(
        self, patients: list[ImportedPatient], encounters: list[EncounterFacts]
    ) -> list[ImportedCareTeamMember]:
        """Each patient's PCP, recent encounters' practitioners and CareTeam participants."""
        members: dict[tuple[str, str], ImportedCareTeamMember] = {}

        def add(member: ImportedCareTeamMember | None) -> None:
            """Keep one member per patient and name."""
            if member is None:
                return
            key = (member.patient.mrn, member.name.casefold())
            known = members.get(key)
            # The PCP role is the most specific thing the bundle says: it wins.
            if known is None or (member.role == CareTeamRole.pcp and known.role != member.role):
                members[key] = member

        by_patient: dict[str, list[EncounterFacts]] = {}
        for encounter in encounters:
            by_patient.setdefault(encounter.patient.mrn, []).append(encounter)
        patient_entries = {
            self.index.patient_mrns[located.entry]: located
            for located in self.index.of_type("Patient")
            if located.entry is not None  # always: entries, never contained resources
        }
        for patient in patients:
            own = sorted(by_patient.get(patient.mrn, []), key=encounter_order)
            located = patient_entries[patient.mrn]
            key = PatientKey(patient.mrn, patient.place)
            general = list(objects(located.resource, "generalPractitioner", located.place))
            for reference_place, reference in general:
                add(self._member(reference, reference_place, key, str(CareTeamRole.pcp), own))
            if not general:
                ambulatory = [item for item in own if item.class_code == AMBULATORY_CLASS]
                if ambulatory:
                    add(self._encounter_practitioner(ambulatory[-1], key, CareTeamRole.pcp, own))
            recent_from = self.today - timedelta(days=RECENT_ENCOUNTER_DAYS)
            for encounter in own:
                moment = encounter.end or encounter.start
                if moment is not None and recent_from <= moment.date() <= self.today:
                    add(self._encounter_practitioner(encounter, key, CareTeamRole.other, own))
        for located in self.index.of_type("CareTeam"):
            for member in self._care_team_resource(located):
                add(member)
        return list(members.values())

    def _encounter_practitioner(
        self,
        encounter: EncounterFacts,
        patient: PatientKey,
        role: CareTeamRole,
        encounters: list[EncounterFacts],
    ) -> ImportedCareTeamMember | None:
        resource, place = encounter.located.resource, encounter.located.place
        for participant_place, participant in objects(resource, "participant", place):
            individual_place = f"{participant_place}.individual"
            found = self.index.resolve_optional(
                participant.get("individual"),
                individual_place,
                ("Practitioner", "PractitionerRole", "RelatedPerson"),
                encounter.located,
            )
            if isinstance(found, Located) and found.type != "RelatedPerson":
                return self._person(found, individual_place, patient, str(role), encounters)
        return None

    def _member(
        self,
        reference: object,
        place: str,
        patient: PatientKey,
        role: str,
        encounters: list[EncounterFacts],
    ) -> ImportedCareTeamMember | None:
        found = self.index.resolve_optional(
            reference, place, ("Practitioner", "PractitionerRole", "Organization", "RelatedPerson")
        )
        if not isinstance(found, Located):
            return None
        if found.type == "Organization":
            name = text_of(found.resource.get("name"), f"{found.place}.name")
            if name is None:
                raise BundleError(f"{found.place}.name", "is required for a care team member")
            phone = best_phone(found.resource, found.place, self.warnings)
            return ImportedCareTeamMember(
                place=place,
                patient=patient,
                name=checked(place, require_text, name, "name", max_length=NAME_LENGTH),
                role=role,
                organisation=checked(
                    place, optional_text, name, "organisation", ORGANISATION_LENGTH
                ),
                phone=phone,
            )
        return self._person(found, place, patient, role, encounters)

    def _person(
        self,
        found: Located,
        place: str,
        patient: PatientKey,
        role: str,
        encounters: list[EncounterFacts],
    ) -> ImportedCareTeamMember:
        """A Practitioner, PractitionerRole or RelatedPerson as a care team member."""
        organisation, organisation_phone = None, None
        phone = None
        person = found
        if found.type == "PractitionerRole":
            phone = best_phone(found.resource, found.place, self.warnings)
            organisation, organisation_phone = self._organisation(
                found.resource.get("organization"), f"{found.place}.organization", found
            )
            practitioner_place = f"{found.place}.practitioner"
            person = self.index.resource(
                found.resource.get("practitioner"), practitioner_place, ("Practitioner",), found
            )
            if role == CareTeamRole.other:
                codes = [
                    concept_text(concept, concept_place)
                    for concept_place, concept in objects(found.resource, "code", found.place)
                ]
                role = care_team_role(" ".join(filter(None, codes)))
        if found.type == "RelatedPerson":
            role = str(CareTeamRole.caregiver)
        _family, _given, name = human_name(person.resource, person.place)
        if name is None:
            raise BundleError(f"{person.place}.name", "is required for a care team member")
        name = checked(f"{person.place}.name", require_text, name, "name", NAME_LENGTH)
        if organisation is None and found.type == "Practitioner":
            organisation, organisation_phone = self._organisation_of(found, encounters)
        # The practice's number when the person has none: it is whom the nurse calls.
        phone = phone or best_phone(person.resource, person.place, self.warnings)
        phone = phone or organisation_phone
        return ImportedCareTeamMember(
            place=place,
            patient=patient,
            name=name,
            role=role,
            organisation=checked(
                place, optional_text, organisation, "organisation", ORGANISATION_LENGTH
            ),
            phone=phone,
        )

    def _organisation_of(
        self, practitioner: Located, encounters: list[EncounterFacts]
    ) -> tuple[str | None, str | None]:
        """(name, phone) of the service provider of the practitioner's latest encounter."""
        for encounter in reversed(encounters):
            resource, place = encounter.located.resource, encounter.located.place
            for participant_place, participant in objects(resource, "participant", place):
                found = self.index.resolve_optional(
                    participant.get("individual"),
                    f"{participant_place}.individual",
                    ("Practitioner", "PractitionerRole", "RelatedPerson"),
                    encounter.located,
                )
                if isinstance(found, Located) and found.resource is practitioner.resource:
                    return self._organisation(
                        resource.get("serviceProvider"),
                        f"{place}.serviceProvider",
                        encounter.located,
                    )
        return None, None

    def organisation_name(
        self, reference: object, place: str, container: Located | None
    ) -> str | None:
        """The name of the Organization a reference points to (or its display text)."""
        return self._organisation(reference, place, container)[0]

    def _organisation(
        self, reference: object, place: str, container: Located | None
    ) -> tuple[str | None, str | None]:
        if reference is None:
            return None, None
        found = self.index.resolve_optional(reference, place, ("Organization",), container)
        if isinstance(found, Located):
            return (
                text_of(found.resource.get("name"), f"{found.place}.name"),
                best_phone(found.resource, found.place, self.warnings),
            )
        return text_of(json_object(reference, place).get("display"), f"{place}.display"), None

    def _care_team_resource(self, located: Located) -> list[ImportedCareTeamMember]:
        resource, place = located.resource, located.place
        if resource.get("status") in ("inactive", "entered-in-error", "proposed"):
            return []
        if resource.get("subject") is None:
            return []
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        self.index.mark_used(located)
        members = []
        for participant_place, participant in objects(resource, "participant", place):
            roles = [
                concept_text(concept, concept_place)
                for concept_place, concept in objects(participant, "role", participant_place)
            ]
            role = care_team_role(" ".join(filter(None, roles)))
            member_place = f"{participant_place}.member"
            reference = participant.get("member")
            found = self.index.resolve_optional(
                reference,
                member_place,
                (
                    "Practitioner",
                    "PractitionerRole",
                    "Organization",
                    "RelatedPerson",
                    "Patient",
                    "CareTeam",
                ),
                located,
            )
            if not isinstance(found, Located) or found.type in ("Patient", "CareTeam"):
                continue
            members.append(self._member(reference, member_place, patient, role, []))
        return [member for member in members if member is not None]

    def care_plan(self, located: Located) -> ImportedCarePlan | None:
        """A CarePlan as a plan with problems, goals and interventions; None to skip it."""
        resource, place = located.resource, located.place
        status = status_code(resource.get("status"), f"{place}.status", _PLAN_STATUSES)
        if status is None:
            self.skipped["CarePlan (entered in error)"] += 1
            self.index.mark_used(located)
            return None
        patient = self.index.patient(resource.get("subject"), f"{place}.subject")
        title = text_of(resource.get("title"), f"{place}.title")
        if title is None:
            categories = [
                concept_text(concept, concept_place)
                for concept_place, concept in objects(resource, "category", place)
                if first_code(concept, concept_place) != "assess-plan"
            ]
            title = next((text for text in categories if text), None)
        if title is None:
            title = text_of(resource.get("description"), f"{place}.description") or "Care plan"
        title = checked(f"{place}.title", require_text, title, "title", TITLE_LENGTH)
        start, end = period_of(resource, "period", place)
        period_start, period_end = written_day(start), written_day(end)
        problems = self._plan_problems(located, title, status)
        self.index.mark_used(located)
        return ImportedCarePlan(
            place=place,
            patient=patient,
            title=title,
            status=status,
            period_start=period_start,
            period_end=period_end,
            problems=tuple(problems),
            identifier=own_identifier(resource, CARE_PLAN_SYSTEM, place),
        )

    def _plan_problems(self, located: Located, title: str, status: str) -> list[ImportedProblem]:
        """A problem per addressed condition (or the plan title), with goals and activities.

        Conditions of one text merge into one problem, except nursecase's own
        problems (contained, with its identifier): each stays itself, as a plan
        may hold two of one name. A goal goes to the problem it addresses, an
        activity to the problem it is for and keeps the goal it serves.
        """
        resource, place = located.resource, located.place
        problems: dict[ProblemKey, dict[str, Any]] = {}
        by_condition: dict[int, ProblemKey] = {}
        by_identifier: dict[str, ProblemKey] = {}
        for reference_place, reference in objects(resource, "addresses", place):
            found = self.index.resource(reference, reference_place, ("Condition",), located)
            condition = found.resource
            text = concept_text(
                optional_object(condition.get("code"), f"{found.place}.code"),
                f"{found.place}.code",
            )
            if text is None:
                raise BundleError(f"{found.place}.code", "has no text, display or code to show")
            description = checked(
                reference_place, require_text, text, "description", DESCRIPTION_LENGTH
            )
            clinical = first_code(
                optional_object(condition.get("clinicalStatus"), f"{found.place}.clinicalStatus"),
                f"{found.place}.clinicalStatus",
            )
            problem_status = _PROBLEM_STATUS_BY_CLINICAL.get(clinical or "active", "active")
            identifier = None
            if found.entry is None:
                identifier = own_identifier(condition, PROBLEM_SYSTEM, found.place)
            key: ProblemKey = (
                ("own", identifier) if identifier else ("text", description.casefold())
            )
            problems.setdefault(key, _problem_holder(description, problem_status, identifier))
            by_condition[id(condition)] = key
            if identifier:
                by_identifier[identifier] = key
        if not problems:
            problems[("text", title.casefold())] = _problem_holder(title, "active", None)
        first = next(iter(problems))
        #: Goal resource (by id()) -> (its problem, its index among that problem's goals).
        goal_homes: dict[int, tuple[ProblemKey, int]] = {}
        for reference_place, reference in objects(resource, "goal", place):
            found = self.index.resource(reference, reference_place, ("Goal",), located)
            goal = self._goal(found)
            if goal is None:
                continue
            target = self._goal_problem(found, problems, by_condition, by_identifier) or first
            goal_homes[id(found.resource)] = (target, len(problems[target]["goals"]))
            problems[target]["goals"].append(goal)
        for activity_place, activity in objects(resource, "activity", place):
            intervention, reasons, goals = self._activity(activity, activity_place, located)
            if intervention is None:
                continue
            served = [goal_homes[goal] for goal in goals if goal in goal_homes]
            target = next(
                (by_condition[reason] for reason in reasons if reason in by_condition),
                # For no problem of this plan: the problem of the goal it serves, else the first.
                served[0][0] if served else first,
            )
            goal_index = next((index for home, index in served if home == target), None)
            if served and goal_index is None:
                self.warnings.append(
                    f"{intervention.place}.goal: left out: the goal is for another problem"
                )
            if goal_index is not None:
                intervention = replace(intervention, goal_index=goal_index)
            problems[target]["interventions"].append(intervention)
        return [
            ImportedProblem(
                description=holder["description"],
                status=holder["status"],
                goals=tuple(holder["goals"]),
                interventions=tuple(holder["interventions"]),
                identifier=holder["identifier"],
            )
            for holder in problems.values()
        ]

    def _goal_problem(
        self,
        found: Located,
        problems: dict[ProblemKey, dict[str, Any]],
        by_condition: dict[int, ProblemKey],
        by_identifier: dict[str, ProblemKey],
    ) -> ProblemKey | None:
        """The plan's problem a Goal addresses, or None when it names none of them."""
        for address_place, address in objects(found.resource, "addresses", found.place):
            identifier = optional_object(address.get("identifier"), f"{address_place}.identifier")
            if identifier is not None and identifier.get("system") == PROBLEM_SYSTEM:
                # nursecase's logical reference to a problem contained in the plan.
                value = text_of(identifier.get("value"), f"{address_place}.identifier.value")
                if value in by_identifier:
                    return by_identifier[value]
                continue
            condition = self.index.resolve_optional(
                address,
                address_place,
                (
                    "Condition",
                    "Observation",
                    "MedicationStatement",
                    "NutritionOrder",
                    "ServiceRequest",
                    "RiskAssessment",
                ),
                found,
            )
            if isinstance(condition, Located) and id(condition.resource) in by_condition:
                return by_condition[id(condition.resource)]
            if condition is None:
                # A display text only (nursecase's exports before identifiers): the problem of
                # that name, when the plan has one.
                display = text_of(address.get("display"), f"{address_place}.display")
                wanted = (display or "").casefold()
                for key, holder in problems.items():
                    if wanted and holder["description"].casefold() == wanted:
                        return key
        return None

    def _goal(self, located: Located) -> ImportedGoal | None:
        resource, place = located.resource, located.place
        lifecycle = status_code(
            resource.get("lifecycleStatus"),
            f"{place}.lifecycleStatus",
            {str(status): str(status) for status in GoalLifecycleStatus},
        )
        if lifecycle == GoalLifecycleStatus.entered_in_error:
            return None
        description = concept_text(
            optional_object(resource.get("description"), f"{place}.description"),
            f"{place}.description",
        )
        if description is None:
            raise BundleError(f"{place}.description", "is required: what the goal is")
        achievement = first_code(
            optional_object(resource.get("achievementStatus"), f"{place}.achievementStatus"),
            f"{place}.achievementStatus",
        )
        if achievement is not None and achievement not in {
            str(status) for status in GoalAchievementStatus
        }:
            raise BundleError(f"{place}.achievementStatus", "is not a FHIR goal achievement code")
        due = None
        for target_place, target in objects(resource, "target", place):
            due = fhir_date(target.get("dueDate"), f"{target_place}.dueDate")
            if due is not None:
                break
        measure, value = self._goal_target(resource, place)
        priority = first_code(
            optional_object(resource.get("priority"), f"{place}.priority"), f"{place}.priority"
        )
        return ImportedGoal(
            place=place,
            description=checked(
                f"{place}.description", require_text, description, "description", ACTIVITY_LENGTH
            ),
            lifecycle_status=lifecycle,
            achievement_status=achievement,
            due_date=due,
            identifier=own_identifier(resource, GOAL_SYSTEM, place),
            # A priority outside FHIR's three codes says nothing nursecase can keep.
            priority=priority if priority in {str(code) for code in GoalPriority} else None,
            target_measure=measure,
            target_value=value,
        )

    @staticmethod
    def _goal_target(resource: Json, place: str) -> tuple[str | None, str | None]:
        """(measure, value) of the first target with a measure in words; value as text."""
        for target_place, target in objects(resource, "target", place):
            measure = concept_text(
                optional_object(target.get("measure"), f"{target_place}.measure"),
                f"{target_place}.measure",
            )
            if measure is None:
                continue
            value = text_of(target.get("detailString"), f"{target_place}.detailString")
            return (
                checked(
                    f"{target_place}.measure",
                    optional_text,
                    measure,
                    "target_measure",
                    MEASURE_LENGTH,
                ),
                checked(
                    f"{target_place}.detailString",
                    optional_text,
                    value,
                    "target_value",
                    TARGET_VALUE_LENGTH,
                ),
            )
        return None, None

    def _activity(
        self, activity: Json, place: str, plan: Located
    ) -> tuple[ImportedIntervention | None, list[int], list[int]]:
        """An activity's intervention, the ids of the conditions it is for and of its goals."""
        detail = optional_object(activity.get("detail"), f"{place}.detail")
        if detail is None:
            reference = optional_object(activity.get("reference"), f"{place}.reference")
            text = text_of((reference or {}).get("display"), f"{place}.reference.display")
            if text is None:
                self.warnings.append(f"{place}: left out: an activity without a detail")
                return None, [], []
            detail, detail_place = {"description": text, "status": "not-started"}, place
        else:
            detail_place = f"{place}.detail"
        status = status_code(
            detail.get("status"),
            f"{detail_place}.status",
            {**{str(code): str(code) for code in InterventionStatus}, "unknown": "not-started"},
        )
        if status == InterventionStatus.entered_in_error:
            return None, [], []
        text = concept_text(
            optional_object(detail.get("code"), f"{detail_place}.code"), f"{detail_place}.code"
        ) or text_of(detail.get("description"), f"{detail_place}.description")
        if text is None:
            raise BundleError(f"{detail_place}.code", "is required: what the activity is")
        owner = None
        for performer_place, performer in objects(detail, "performer", detail_place):
            found = self.index.resolve_optional(
                performer,
                performer_place,
                (
                    "Practitioner",
                    "PractitionerRole",
                    "Organization",
                    "RelatedPerson",
                    "CareTeam",
                    "Patient",
                    "Device",
                    "HealthcareService",
                ),
                plan,
            )
            if isinstance(found, Located) and found.type == "Organization":
                owner = text_of(found.resource.get("name"), f"{found.place}.name")
            elif isinstance(found, Located) and found.type in ("Practitioner", "RelatedPerson"):
                owner = human_name(found.resource, found.place)[2]
            else:
                owner = text_of(performer.get("display"), f"{performer_place}.display")
            if owner:
                break
        reasons = []
        for reason_place, reason in objects(detail, "reasonReference", detail_place):
            found = self.index.resolve_optional(
                reason,
                reason_place,
                ("Condition", "Observation", "DiagnosticReport", "DocumentReference"),
                plan,
            )
            if isinstance(found, Located):
                reasons.append(id(found.resource))
        goals = self._activity_goals(detail, detail_place, plan)
        timing_place = f"{detail_place}.scheduledTiming"
        timing = optional_object(detail.get("scheduledTiming"), timing_place)
        frequency, due = None, None
        if timing is not None:
            frequency = timing_text(timing, timing_place)
            repeat = optional_object(timing.get("repeat"), f"{timing_place}.repeat") or {}
            bounds_place = f"{timing_place}.repeat.boundsPeriod"
            bounds = optional_object(repeat.get("boundsPeriod"), bounds_place) or {}
            due = fhir_date(bounds.get("end"), f"{bounds_place}.end")
        intervention = ImportedIntervention(
            place=detail_place,
            description=checked(
                f"{detail_place}.code", require_text, text, "description", ACTIVITY_LENGTH
            ),
            # nursecase's own export states the category; other sources' words suggest one.
            category=stated_category(
                text_of(detail.get("description"), f"{detail_place}.description")
            )
            or omaha_category(text),
            status=status,
            owner=checked(f"{detail_place}.performer", optional_text, owner, "owner", OWNER_LENGTH)
            or "care team",
            frequency=checked(
                timing_place, optional_text, frequency, "frequency", FREQUENCY_LENGTH
            ),
            due_date=due,
        )
        return intervention, reasons, goals

    def _activity_goals(self, detail: Json, detail_place: str, plan: Located) -> list[int]:
        """The ids of the Goals an activity serves; one that does not resolve is a warning."""
        goals = []
        for goal_place, goal in objects(detail, "goal", detail_place):
            try:
                found = self.index.resolve_optional(goal, goal_place, ("Goal",), plan)
            except BundleError as error:
                # Only a link is lost: the activity itself is still good.
                self.warnings.append(f"{error.place}: left out: {error.message}")
                continue
            if isinstance(found, Located):
                goals.append(id(found.resource))
        return goals


def _problem_holder(description: str, status: str, identifier: str | None) -> dict[str, Any]:
    return {
        "description": description,
        "status": status,
        "goals": [],
        "interventions": [],
        "identifier": identifier,
    }
