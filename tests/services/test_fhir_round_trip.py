"""Our own FHIR export, imported back: the care-plan trees and the readings arrive whole,
and a re-import is a no-op.

A small caseload is built through the care-plan service: plans with several
problems, each with goals and interventions (some serving a goal), one goal
text under two problems, two goals of one text under one problem, and two
plans of one title and start. Exported as FHIR, imported into an empty
database, every plan must come back as the same tree (problems, goals under
their own problem, interventions with their goal, every status, a goal's
priority, target and due date, an intervention's category, frequency and due
date); imported back into its own source it must create, change and audit
nothing. The readings (issue 20) come back the same too: measure, LOINC code,
value as received, unit (the export writes it as its UCUM code: "lb" comes
back "[lb_av]", the same unit), value in the measure's unit and moment; a
blood pressure pair is written as one panel and comes back as its two parts.
The encounters (issue 21) come back with their class, status, times, facility,
disposition, diagnoses and the source and key they were learned by; a recent
discharge home starts the TCM clocks in the copy too, linked to its encounter.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.models import (
    ALL_TABLES,
    CarePlan,
    Encounter,
    EncounterDiagnosis,
    Goal,
    Intervention,
    Patient,
    Problem,
    Reading,
)
from nursecase.domain.codes import (
    DischargeDisposition,
    EncounterClass,
    EncounterSource,
    ReadingSource,
)
from nursecase.domain.measures import ucum_code
from nursecase.services import make_services
from nursecase.services.encounters import (
    EncounterChange,
    record_discharge,
    record_emergency_visit,
)
from nursecase.services.exports import ExportService, check_request
from nursecase.services.exports.fhir import FhirBundleBuilder
from nursecase.services.fhir_import import FhirImportService
from nursecase.services.readings import NewReading
from tests.conftest import FROZEN_NOW

START = date(2026, 11, 2)


def build_plan(services, patient_id: int, problems: list[dict], status: str = "active") -> None:
    """A plan of ``problems`` ({"description", "goals": [(text, lifecycle, achievement)],
    "interventions": [(category, text, status, goal index or None)]}), then ``status``."""
    plans = services.care_plans
    plan = plans.create(patient_id, "Heart failure plan", period_start=START)
    version = plan.version
    for problem in problems:
        change = plans.add_problem(plan.id, version, description=problem["description"])
        problem_id, version = change.item_id, change.plan.version
        goal_ids = []
        for index, (text, lifecycle, achievement) in enumerate(problem["goals"]):
            change = plans.add_goal(
                problem_id,
                version,
                text,
                due_date=date(2027, 1, 10 + index),
                priority=PRIORITIES[index % 3],
                # Every other goal has a target (measure and value).
                target_measure=None if index % 2 else f"minutes {index}",
                target_value=None if index % 2 else str(15 + index),
            )
            goal_ids.append(change.item_id)
            version = plans.update_goal(
                change.item_id,
                change.plan.version,
                lifecycle_status=lifecycle,
                achievement_status=achievement,
            ).version
        for category, text, status_code, goal in problem["interventions"]:
            change = plans.add_intervention(
                problem_id,
                version,
                category,
                text,
                goal_id=None if goal is None else goal_ids[goal],
                frequency="weekly" if goal is not None else None,
                due_date=date(2026, 12, 1) if goal is None else None,
            )
            version = change.plan.version
            # A completed intervention was in progress first (the editor's rules).
            steps = ["in-progress", status_code] if status_code == "completed" else [status_code]
            for step in steps:
                version = plans.update_intervention(change.item_id, version, status=step).version
    plans.set_status(plan.id, version, status)


PRIORITIES = ("high-priority", "medium-priority", "low-priority")
HEART = [
    {
        "description": "Physical activity",
        "goals": [
            ("The patient will walk 15 minutes a day", "active", "improving"),
            ("The patient will keep a diary", "accepted", "in-progress"),
            ("The patient will keep a diary", "active", "no-change"),
        ],
        "interventions": [
            ("teaching-guidance-counseling", "Teach pacing", "in-progress", 0),
            ("surveillance", "Review the diary", "not-started", 2),
            ("case-management", "Refer to cardiac rehab", "completed", None),
        ],
    },
    {
        "description": "Nutrition",
        "goals": [
            ("The patient will follow a 2 g sodium diet", "active", "in-progress"),
            ("The patient will keep a diary", "proposed", None),
        ],
        "interventions": [
            ("surveillance", "Check weight daily", "in-progress", 0),
            ("treatments-procedures", "Fluid limit 1.5 L", "on-hold", None),
            ("case-management", "Refer to dietitian", "scheduled", 1),
        ],
    },
    {
        "description": "Medication regimen",
        "goals": [("The patient will take every dose", "active", "achieved")],
        "interventions": [("teaching-guidance-counseling", "Teach the pill box", "completed", 0)],
    },
]


def care_plan_trees(services) -> dict[str, list[tuple]]:
    """MRN -> the patient's plans as trees; a goal link is its index among the problem's goals."""
    trees: dict[str, list[tuple]] = {}
    with services.context.read() as session:
        plans = session.execute(
            select(CarePlan, Patient.mrn)
            .join(Patient, Patient.id == CarePlan.patient_id)
            .order_by(Patient.mrn, CarePlan.id)
        ).all()
        for plan, mrn in plans:
            problems = []
            for problem in session.execute(
                select(Problem).where(Problem.care_plan_id == plan.id).order_by(Problem.position)
            ).scalars():
                goals = list(
                    session.execute(
                        select(Goal).where(Goal.problem_id == problem.id).order_by(Goal.position)
                    ).scalars()
                )
                goal_index = {goal.id: index for index, goal in enumerate(goals)}
                interventions = session.execute(
                    select(Intervention)
                    .where(Intervention.problem_id == problem.id)
                    .order_by(Intervention.position)
                ).scalars()
                problems.append(
                    (
                        problem.description,
                        problem.status,
                        tuple(
                            (
                                g.description,
                                g.lifecycle_status,
                                g.achievement_status,
                                g.due_date,
                                g.priority,
                                g.target_measure,
                                g.target_value,
                            )
                            for g in goals
                        ),
                        tuple(
                            (
                                i.description,
                                i.category,
                                i.status,
                                i.owner,
                                i.frequency,
                                i.due_date,
                                None if i.goal_id is None else goal_index[i.goal_id],
                            )
                            for i in interventions
                        ),
                    )
                )
            trees.setdefault(mrn, []).append(
                (plan.title, plan.status, plan.period_start, plan.period_end, tuple(problems))
            )
    return trees


def add_readings(services, patient_id: int) -> None:
    """A week of morning weights (in pounds), blood pressure pairs and a lone diastolic, labs."""
    morning = datetime(2026, 11, 20, 7, 30)
    readings = []
    for day in range(7):
        at = morning + timedelta(days=day)
        readings.append(NewReading(patient_id, "29463-7", 180 + day * 0.4, "lb", at))
        readings.append(NewReading(patient_id, "8480-6", 140 + day, "mmHg", at))
        readings.append(NewReading(patient_id, "8462-4", 85 + day, "mmHg", at))
    readings += [
        NewReading(patient_id, "8462-4", 79, "mm[Hg]", morning + timedelta(hours=12)),
        NewReading(patient_id, "4548-4", 8.4, "%", morning),
        NewReading(patient_id, "2345-7", 6.2, "mmol/L", morning),
        NewReading(patient_id, "33762-6", 1250, "pg/mL", morning),
    ]
    with services.context.write() as session:
        services.readings.store(session, readings, ReadingSource.device)


def reading_keys(services) -> list[tuple]:
    """Every reading by MRN: measure, code, value, unit (as UCUM), measure value, moment."""
    with services.context.read() as session:
        rows = session.execute(
            select(
                Patient.mrn,
                Reading.measure,
                Reading.loinc,
                Reading.value,
                Reading.unit,
                Reading.measure_value,
                Reading.taken_at,
            ).join(Patient, Patient.id == Reading.patient_id)
        ).all()
    return sorted(
        (mrn, measure, loinc, value, ucum_code(unit), round(measure_value, 6), taken_at)
        for mrn, measure, loinc, value, unit, measure_value, taken_at in rows
    )


def add_encounters(services, patient_id: int) -> None:
    """A discharge home learned from the feed (TCM started) and an ED visit in progress."""
    stay = EncounterChange(
        EncounterClass.inpatient,
        EncounterSource.adt,
        "V100^MGH",
        datetime(2026, 11, 10, 8, 0),
        facility="Mercy General",
        discharged_at=datetime(2026, 11, 14, 16, 30),
        disposition=DischargeDisposition.home,
        diagnoses=(("Heart failure, unspecified", "I50.9", "I10"), ("Dyspnoea", None, None)),
    )
    visit = EncounterChange(
        EncounterClass.emergency,
        EncounterSource.fhir,
        "enc-ed-1",
        datetime(2026, 11, 26, 22, 15),
        facility="Mercy General ED",
    )
    with services.context.write() as session:
        patient = session.get(Patient, patient_id)
        record_discharge(session, services.context, patient, stay)
        record_emergency_visit(session, services.context, patient, visit)


def encounter_keys(services) -> list[tuple]:
    """Every encounter by MRN: what it was, when, where, why, how learned, TCM linked."""
    with services.context.read() as session:
        rows = session.execute(
            select(Patient.mrn, Encounter).join(Patient, Patient.id == Encounter.patient_id)
        ).all()
        keys = []
        for mrn, row in rows:
            diagnoses = session.execute(
                select(EncounterDiagnosis.display, EncounterDiagnosis.code)
                .where(EncounterDiagnosis.encounter_id == row.id)
                .order_by(EncounterDiagnosis.rank)
            ).all()
            keys.append(
                (
                    mrn,
                    row.encounter_class,
                    row.status,
                    row.facility,
                    row.admitted_at,
                    row.discharged_at,
                    row.disposition,
                    row.source,
                    row.source_key,
                    row.transition_id is not None,
                    tuple(tuple(item) for item in diagnoses),
                )
            )
    return sorted(keys)


def row_counts(services) -> dict[str, int]:
    with services.context.read() as session:
        return {
            table.__tablename__: session.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            for table in ALL_TABLES
        }


@pytest.fixture
def exported(services, tmp_path) -> Path:
    """The source caseload, exported as a FHIR bundle file."""
    first = services.patients.create("RT-1", "Rivera", "Ana", birth_date="1950-03-04")
    second = services.patients.create("RT-2", "Okoro", "Ben", birth_date="1948-07-09")
    build_plan(services, first.id, HEART)
    # A second plan of the same title and start: it stays a plan of its own.
    build_plan(services, first.id, HEART[1:])
    build_plan(services, second.id, HEART[::-1])
    add_readings(services, first.id)
    add_encounters(services, second.id)
    exporter = ExportService(services.context, fhir_builder=FhirBundleBuilder())
    plan = exporter.prepare(check_request("caseload", "fhir", all_nurses=True))
    target = tmp_path / "out" / plan.file_name()
    target.parent.mkdir(parents=True)
    exporter.run(plan, target)
    return target


def test_our_export_arrives_as_the_same_care_plan_trees(
    services, exported, tmp_path, databases, migrated_template
):
    source_trees = care_plan_trees(services)
    assert [len(plans) for plans in source_trees.values()] == [2, 1]
    source_readings = reading_keys(services)
    assert len(source_readings) == 7 * 3 + 4
    source_encounters = encounter_keys(services)
    assert [key[1:3] + key[9:10] for key in source_encounters] == [
        ("EMER", "in-progress", False),
        ("IMP", "finished", True),
    ]
    empty = make_engine(databases.copy(migrated_template, tmp_path / "empty" / "empty.db"))
    try:
        target = make_services(empty, FrozenClock(FROZEN_NOW))
        target.nurses.create("bob", "Bob Reyes", "RN")
        target.nurses.sign_in("bob")
        imported = FhirImportService(target.context).import_file(exported)
        assert imported.warnings == ()
        assert imported.tallies["care plans"].created == 3
        assert care_plan_trees(target) == source_trees
        assert imported.tallies["readings"].created == len(source_readings)
        assert reading_keys(target) == source_readings
        assert imported.tallies["encounters"].created == 2
        assert encounter_keys(target) == source_encounters
        # And the copy takes the same bundle again as a no-op.
        assert not FhirImportService(target.context).import_file(exported).changed
    finally:
        empty.dispose()


def test_our_export_imported_into_its_own_source_changes_nothing(services, exported):
    trees, counts = care_plan_trees(services), row_counts(services)
    readings = reading_keys(services)
    encounters = encounter_keys(services)
    result = FhirImportService(services.context).import_file(exported)
    assert result.warnings == ()
    assert result.tallies["readings"].unchanged == len(readings)
    for kind, tally in result.tallies.items():
        assert (kind, tally.created, tally.updated) == (kind, 0, 0)
    assert result.tallies["care plans"].unchanged == 3
    assert row_counts(services) == counts  # no row and no audit event
    assert care_plan_trees(services) == trees
    assert reading_keys(services) == readings
    assert result.tallies["encounters"].unchanged == 2
    assert encounter_keys(services) == encounters


def test_a_goal_names_its_problem_by_identifier(exported):
    bundle = json.loads(exported.read_bytes())
    plans = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    problems = {
        problem["identifier"][0]["value"]: problem["code"]["text"]
        for plan in plans
        for problem in plan["contained"]
    }
    goals = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Goal"]
    for goal in goals:
        (address,) = goal["addresses"]
        assert problems[address["identifier"]["value"]] == address["display"]
    assert len(problems) == len(set(problems)) == 3 + 2 + 3
