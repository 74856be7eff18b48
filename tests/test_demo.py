"""The demo caseload: deterministic, clinically consistent, legal and fast enough.

Every test seeds a real migrated temporary file database (tests/conftest.py)
and asserts on what the database holds afterwards.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, select, text

from nursecase.clock import FrozenClock
from nursecase.db.engine import integrity_problems, make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.db.models import (
    ALL_TABLES,
    Assessment,
    AssessmentAnswer,
    AuditEvent,
    CarePlan,
    CareTeamMember,
    Condition,
    Contact,
    Episode,
    EpisodeStatusHistory,
    Goal,
    Intervention,
    Medication,
    MonitoringEnrolment,
    Nurse,
    Patient,
    Problem,
    ProblemRating,
    Reading,
    ReadingAlert,
    ReadingThreshold,
    Referral,
    ReferralStatusHistory,
    SafetyCheck,
    Task,
    Transition,
)
from nursecase.demo import DEMO_NURSES, SeedSummary, demo_nurse_username, seed_database
from nursecase.domain.business_days import add_business_days
from nursecase.domain.codes import (
    CarePlanStatus,
    CareTeamRole,
    ConditionClinicalStatus,
    ContactMode,
    ContactOutcome,
    ContactWith,
    EpisodeStatus,
    GoalAchievementStatus,
    GoalLifecycleStatus,
    GoalPriority,
    Instrument,
    InterventionCategory,
    InterventionStatus,
    Measure,
    MedicationStatus,
    MonitoringFrequency,
    ReadingSource,
    ReferralPriority,
    ReferralStatus,
    RiskTier,
    ServiceType,
    Sex,
    TaskPriority,
    TaskSource,
    TaskStatus,
    ThresholdRule,
    allowed_values,
)
from nursecase.domain.instruments import get_instrument
from nursecase.domain.measures import check_plausible, measure_of, to_measure_unit
from nursecase.domain.omaha import PROBLEMS_BY_CODE
from nursecase.domain.referral_states import REASON_REQUIRED, allowed_next
from nursecase.domain.tcm import TcmFacts, TcmStep, period_end, tcm_status
from nursecase.services import audit
from nursecase.services.assessments import AssessmentService
from nursecase.services.audit import AuditService
from nursecase.services.context import ServiceContext
from nursecase.services.readings import NewReading, ReadingsService
from tests.conftest import FROZEN_NOW, fresh_folder
from tests.databases import Template, private_copy

PATIENTS = 150


def _table_digest(engine: Engine, tables=ALL_TABLES) -> dict[str, str]:
    """SHA-256 of every row of each table, in id order."""
    digests = {}
    with engine.connect() as connection:
        for model in tables:
            table = model.__table__
            digest = hashlib.sha256()
            for row in connection.execute(select(table).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def _fresh_engine(tmp_path, name: str) -> Engine:
    engine = make_engine(tmp_path / name / "nursecase.db")
    ensure_schema(engine)
    return engine


@pytest.fixture(scope="module")
def demo_template(databases, migrated_template) -> tuple[Template, SeedSummary]:
    """PATIENTS patients seeded once per backend (at FROZEN_NOW), and the seed's summary.

    Seeding 150 patients took 1-2 s per test and more on PostgreSQL; the tests
    that only read the result each get a copy of this instead (``engine`` below).
    """
    summaries: list[SeedSummary] = []

    def seed(location: str) -> None:
        seeding = make_engine(location)
        summaries.append(seed_database(seeding, FrozenClock(FROZEN_NOW), patients=PATIENTS, seed=7))
        seeding.dispose()

    template = databases.build("demo150", seed, base=migrated_template)
    return template, summaries[0]


@pytest.fixture
def engine(request, engine, engines, databases, database_folders):
    """The test's engine: on its own copy of the seeded caseload when it asks for ``seeded``."""
    if "seeded" not in request.fixturenames:
        yield engine
        return
    template, _summary = request.getfixturevalue("demo_template")
    destination = fresh_folder(database_folders / "demo") / "nursecase.db"
    with (
        private_copy(databases, template, destination) as location,
        engines.engine(location) as seeded_engine,
    ):
        yield seeded_engine


@pytest.fixture
def seeded(demo_template) -> SeedSummary:
    """The summary of the seeded caseload the test's ``engine`` holds."""
    return demo_template[1]


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_rows_and_another_seed_does_not(engine, clock, tmp_path):
    seed_database(engine, clock, patients=PATIENTS, seed=7)
    twin = _fresh_engine(tmp_path, "twin")
    other = _fresh_engine(tmp_path, "other")
    try:
        seed_database(twin, clock, patients=PATIENTS, seed=7)
        seed_database(other, clock, patients=PATIENTS, seed=8)
        first, second, third = _table_digest(engine), _table_digest(twin), _table_digest(other)
    finally:
        twin.dispose()
        other.dispose()
    assert first == second
    for table in ("patient", "contact", "assessment", "referral", "task"):
        assert first[table] != third[table], table


def test_child_process_builds_the_same_rows_as_in_process(clock, tmp_path):
    in_process = _fresh_engine(tmp_path, "in-process")
    child = _fresh_engine(tmp_path, "child")
    try:
        seed_database(in_process, clock, patients=60, seed=11, parallel=False)
        seed_database(child, clock, patients=60, seed=11, parallel=True)
        assert _table_digest(in_process) == _table_digest(child)
    finally:
        in_process.dispose()
        child.dispose()


def test_summary_counts_match_the_tables_and_progress_reaches_the_total(engine, clock):
    calls: list[int] = []
    summary = seed_database(engine, clock, patients=PATIENTS, progress=calls.append)
    assert summary.patients == PATIENTS
    assert summary.nurses == len(DEMO_NURSES)
    assert calls and calls[-1] == PATIENTS and calls == sorted(calls)
    with engine.connect() as connection:
        for model in ALL_TABLES:
            table = model.__table__
            count = connection.execute(select(text("count(*)")).select_from(table)).scalar()
            assert summary.rows_by_table[table.name] == count, table.name
            # Snoozes are a nurse's actions on the worklist; a seed makes none.
            assert count > 0 or table.name == "worklist_snooze", table.name


# ---------------------------------------------------------------- referrals


def test_every_referral_status_is_present_with_a_legal_history(engine, seeded):
    with engine.connect() as connection:
        referrals = connection.execute(select(Referral)).all()
        history_rows = connection.execute(
            select(ReferralStatusHistory).order_by(
                ReferralStatusHistory.changed_at, ReferralStatusHistory.id
            )
        ).all()
    assert {referral.status for referral in referrals} == set(allowed_values(ReferralStatus))
    assert {referral.priority for referral in referrals} <= set(allowed_values(ReferralPriority))
    assert {referral.service_type for referral in referrals} <= set(allowed_values(ServiceType))
    histories = defaultdict(list)
    for row in history_rows:
        histories[row.referral_id].append(row)
    for referral in referrals:
        history = histories[referral.id]
        assert history[0].from_status is None and history[0].to_status == "draft"
        for earlier, later in zip(history, history[1:], strict=False):
            assert later.from_status == earlier.to_status
            assert later.to_status in allowed_next(earlier.to_status), (referral.id, later)
            assert later.changed_at > earlier.changed_at
            if later.to_status in REASON_REQUIRED:
                assert later.reason, (referral.id, later.to_status)
        assert history[-1].to_status == referral.status
        assert referral.status_changed_at == history[-1].changed_at
        if referral.status == "completed":
            assert referral.outcome
        else:
            assert referral.outcome is None
        if referral.status in ("draft", "ready"):
            assert referral.expected_reply_date is None
        else:
            assert referral.expected_reply_date is not None


def test_some_open_referrals_are_past_their_expected_reply(engine, clock, seeded):
    with engine.connect() as connection:
        overdue = connection.execute(
            select(Referral.id).where(
                Referral.status.in_(["requested", "received"]),
                Referral.expected_reply_date < clock.today(),
            )
        ).all()
    assert overdue


# ---------------------------------------------------------------- assessments


def test_stored_totals_bands_and_summaries_equal_the_domain_scoring(engine, seeded):
    answers = defaultdict(dict)
    with engine.connect() as connection:
        for row in connection.execute(select(AssessmentAnswer)):
            answers[row.assessment_id][row.item_code] = row.value
        assessments = connection.execute(select(Assessment)).all()
    assert {row.instrument for row in assessments} == set(allowed_values(Instrument))
    for row in assessments:
        score = get_instrument(row.instrument).score(answers[row.id])
        assert (row.total, row.band, row.summary, row.variant) == (
            score.total,
            score.band.name,
            score.summary,
            score.variant,
        ), row.id


def test_phq9_series_trend_down_for_most_patients(engine, seeded):
    series = defaultdict(list)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Assessment.patient_id, Assessment.total)
            .where(Assessment.instrument == "phq-9")
            .order_by(Assessment.performed_at, Assessment.id)
        )
        for patient_id, total in rows:
            series[patient_id].append(total)
    trends = [totals for totals in series.values() if len(totals) >= 2]
    assert trends
    falling = [totals for totals in trends if totals[-1] < totals[0]]
    assert len(falling) >= len(trends) * 0.6


def test_a_phq9_item9_answer_has_an_open_urgent_safety_task(engine, clock, seeded):
    with engine.connect() as connection:
        flagged = connection.execute(
            select(Assessment.id, Assessment.patient_id, Task.status, Task.priority, Task.due_date)
            .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id)
            .join(
                Task,
                (Task.source == "assessment-trigger") & (Task.source_id == Assessment.id),
            )
            .where(
                Assessment.instrument == "phq-9",
                AssessmentAnswer.item_code == "item9",
                AssessmentAnswer.value > 0,
            )
        ).all()
        item9_assessments = connection.execute(
            select(AssessmentAnswer.assessment_id).where(
                AssessmentAnswer.item_code == "item9", AssessmentAnswer.value > 0
            )
        ).all()
    # Every item-9 answer has its task, and at least one is still open and urgent.
    assert len(flagged) == len(item9_assessments) >= 1
    assert all(row.priority == "urgent" for row in flagged)
    open_rows = [row for row in flagged if row.status == "requested"]
    assert open_rows
    assert all(row.due_date <= clock.today() for row in open_rows)
    # The assessment service's safety query (the worklist's first section) finds it.
    service = AssessmentService(ServiceContext(engine, clock))
    flags = service.open_safety_flags(None)
    assert {flag.id for flag in flags} == {row.id for row in open_rows}


def test_each_completed_safety_task_was_completed_by_a_safety_check(engine, clock, seeded):
    """Issue 16: only a safety check completes a safety task, in the demo too."""
    with engine.connect() as connection:
        done = connection.execute(
            select(Task).where(
                Task.source == "assessment-trigger",
                Task.priority == "urgent",
                Task.status == "completed",
            )
        ).all()
        checks = connection.execute(select(SafetyCheck)).all()
    assert done and len(checks) == len(done)
    by_patient_day = {(check.patient_id, check.performed_at.date()): check for check in checks}
    for task in done:
        check = by_patient_day[task.patient_id, task.done_at.date()]
        assert check.performed_at == task.done_at and check.author_id == task.nurse_id
        assert check.performed_at >= task.created_at
        # Low risk or none, with a disposition that fits; never a signal of its own.
        assert (check.risk, check.disposition) in {
            ("low", "safety-plan-reviewed"),
            ("none", "no-current-risk"),
        }
        assert (check.method, check.intent, check.plan) == (None, None, None)
    assert {check.risk for check in checks} == {"low", "none"}


# ---------------------------------------------------------------- transitions


def test_recent_discharges_have_both_tcm_tasks(engine, clock, seeded):
    today = clock.today()
    with engine.connect() as connection:
        transitions = connection.execute(select(Transition)).all()
        tasks = connection.execute(select(Task).where(Task.source == "transition-clock")).all()
    recent = [row for row in transitions if today - row.discharged_on <= timedelta(days=10)]
    assert recent
    by_transition = defaultdict(dict)
    for task in tasks:
        by_transition[task.source_id][task.description] = task
    for transition in transitions:
        assert transition.discharged_on < today
        pair = by_transition[transition.id]
        assert set(pair) == {"TCM interactive contact", "TCM face-to-face visit"}
        interactive = pair["TCM interactive contact"]
        visit = pair["TCM face-to-face visit"]
        assert interactive.patient_id == visit.patient_id == transition.patient_id
        assert interactive.due_date == add_business_days(transition.discharged_on, 2)
        window = 7 if transition.high_complexity else 14
        assert visit.due_date == transition.discharged_on + timedelta(days=window)
        # The tasks follow the TCM rule on the seeded facts: met steps completed,
        # missed ones failed once off Today, the rest open; nothing open after the period.
        status = tcm_status(
            TcmFacts(
                discharged_on=transition.discharged_on,
                high_complexity=transition.high_complexity,
                interactive_contact_on=transition.interactive_contact_on,
                interactive_attempts=transition.interactive_attempts,
                attempts_met_on=transition.attempts_met_on,
                face_to_face_on=transition.face_to_face_on,
            ),
            today,
        )
        for step, task in (
            (TcmStep.interactive_contact, interactive),
            (TcmStep.face_to_face_visit, visit),
        ):
            closing = status.closing_status(step)
            assert task.status == (str(closing) if closing else "requested")
        if today > period_end(transition.discharged_on):
            assert "requested" not in (interactive.status, visit.status)
    # Something of a recent discharge is still on Today, and two attempts met a contact.
    assert any(
        task.status == "requested" for pair in by_transition.values() for task in pair.values()
    )
    assert any(transition.attempts_met_on is not None for transition in transitions)


def test_a_transition_has_a_lace_assessment_on_its_discharge_day(engine, seeded):
    with engine.connect() as connection:
        rows = connection.execute(
            select(Transition.patient_id, Transition.discharged_on, Assessment.performed_at)
            .join(Assessment, Assessment.patient_id == Transition.patient_id)
            .where(Assessment.instrument == "lace")
        ).all()
    assert rows
    assert any(performed.date() == discharged for _, discharged, performed in rows)


# ---------------------------------------------------------------- consistency


def test_database_passes_integrity_and_foreign_key_checks(engine, seeded):
    with engine.connect() as connection:
        assert integrity_problems(connection) == []


def test_coded_columns_hold_only_their_fhir_codes(engine, seeded):
    checks = (
        (Patient.sex, Sex),
        (Patient.risk_tier, RiskTier),
        (Episode.status, EpisodeStatus),
        (EpisodeStatusHistory.to_status, EpisodeStatus),
        (Contact.mode, ContactMode),
        (Contact.with_whom, ContactWith),
        (Contact.outcome, ContactOutcome),
        (Condition.clinical_status, ConditionClinicalStatus),
        (Medication.status, MedicationStatus),
        (CareTeamMember.role, CareTeamRole),
        (CarePlan.status, CarePlanStatus),
        (Problem.priority, GoalPriority),
        (Goal.lifecycle_status, GoalLifecycleStatus),
        (Goal.priority, GoalPriority),
        (Intervention.status, InterventionStatus),
        (Intervention.category, InterventionCategory),
        (Task.status, TaskStatus),
        (Task.priority, TaskPriority),
        (Task.source, TaskSource),
        (Reading.measure, Measure),
        (Reading.source, ReadingSource),
        (ReadingAlert.measure, Measure),
        (ReadingThreshold.rule, ThresholdRule),
        (MonitoringEnrolment.measure, Measure),
        (MonitoringEnrolment.frequency, MonitoringFrequency),
    )
    with engine.connect() as connection:
        for column, codes in checks:
            values = set(connection.execute(select(column).distinct()).scalars())
            assert values and values <= set(allowed_values(codes)), column
        achievements = set(connection.execute(select(Goal.achievement_status).distinct()).scalars())
        assert achievements - {None} <= set(allowed_values(GoalAchievementStatus))
        omaha = set(connection.execute(select(Problem.omaha_code).distinct()).scalars())
        assert omaha <= set(PROBLEMS_BY_CODE)
        assert set(connection.execute(select(CarePlan.intent).distinct()).scalars()) == {"plan"}
        languages = set(connection.execute(select(Patient.preferred_language)).scalars())
        assert {"English", "Spanish"} <= languages
        assert len(set(connection.execute(select(Episode.status).distinct()).scalars())) >= 2


def test_patient_rows_agree_with_their_contacts_and_ages(engine, clock, seeded):
    now = clock.now()
    today = clock.today()
    with engine.connect() as connection:
        patients = connection.execute(select(Patient)).all()
        newest = dict(
            connection.execute(
                select(Contact.patient_id, func.max(Contact.occurred_at)).group_by(
                    Contact.patient_id
                )
            ).all()
        )
        assert connection.execute(select(func.max(Contact.occurred_at))).scalar() <= now
    assert len({patient.mrn for patient in patients}) == len(patients)
    due_dates = [patient.next_contact_due for patient in patients if patient.next_contact_due]
    assert any(due < today for due in due_dates) and any(due >= today for due in due_dates)
    for patient in patients:
        assert patient.mrn.isdigit() and len(patient.mrn) == 8
        assert patient.last_contact_at == newest[patient.id]
        age = (today - patient.birth_date).days / 365.25
        assert 34 <= age <= 96
        assert patient.family_key and patient.given_key
        assert patient.phone_digits and patient.phone_digits.isdigit()


def test_kbs_ratings_rise_and_stay_within_1_to_5(engine, seeded):
    ratings = defaultdict(list)
    with engine.connect() as connection:
        for row in connection.execute(
            select(ProblemRating).order_by(ProblemRating.rated_on, ProblemRating.id)
        ):
            ratings[row.problem_id].append((row.knowledge, row.behavior, row.status))
    assert any(len(series) >= 2 for series in ratings.values())
    for series in ratings.values():
        for knowledge, behavior, status in series:
            assert 1 <= knowledge <= 5 and 1 <= behavior <= 5 and 1 <= status <= 5
        for earlier, later in zip(series, series[1:], strict=False):
            assert all(b >= a for a, b in zip(earlier, later, strict=True))


def test_nothing_happened_after_now(engine, clock, seeded):
    now = clock.now()
    moments = (
        Contact.occurred_at,
        Assessment.performed_at,
        ReferralStatusHistory.changed_at,
        EpisodeStatusHistory.changed_at,
        Task.done_at,
        Task.created_at,
        Reading.taken_at,
        Reading.created_at,
        ReadingAlert.raised_at,
        ReadingThreshold.set_at,
        MonitoringEnrolment.created_at,
    )
    with engine.connect() as connection:
        for column in moments:
            latest = connection.execute(
                select(column).where(column.is_not(None)).order_by(column.desc()).limit(1)
            ).scalar()
            assert latest is not None and latest <= now, column


# ---------------------------------------------------------------- readings

#: The stories ``nursecase demo`` (150 patients, seed 7) tells, by MRN (demo_readings.SHOWCASES),
#: all on the demo nurse's (amoreno's) own caseload, so that she meets them on Today.
DEMO_ALERTS = {
    "13909602": ("I50.9", "weight", "weight +2.6 kg in 5 d", True),
    "13648275": ("I10", "blood-pressure", "BP 184/121 high", True),
    "14258038": ("E11.9", "hba1c", "HbA1c 10.4 % high", False),
}
DEMO_COPD_RETAINER = "13624518"
DEMO_SILENT_SCALE = "14202605"


def _open_alerts(engine: Engine) -> set[tuple]:
    with engine.connect() as connection:
        return {
            tuple(row)
            for row in connection.execute(
                select(
                    ReadingAlert.patient_id,
                    ReadingAlert.measure,
                    ReadingAlert.rules,
                    ReadingAlert.urgent,
                    ReadingAlert.why,
                    ReadingAlert.reading_at,
                ).where(ReadingAlert.status == "open")
            )
        }


def _alerts_the_service_raises(engine: Engine, clock) -> tuple[set[tuple], set[tuple]]:
    """(the seeded open alerts, what ReadingsService.store opens for the same readings).

    The seeded readings and alerts are taken out, then the readings are stored
    again through the service, with the patients' own limits still in place.
    """
    seeded_alerts = _open_alerts(engine)
    with engine.begin() as connection:
        readings = [
            NewReading(*row)
            for row in connection.execute(
                select(
                    Reading.patient_id, Reading.loinc, Reading.value, Reading.unit, Reading.taken_at
                )
            )
        ]
        connection.execute(delete(ReadingAlert))
        connection.execute(delete(Reading))
    context = ServiceContext(engine, clock)
    with context.write() as session:
        ReadingsService(context).store(session, readings, ReadingSource.device)
    return seeded_alerts, _open_alerts(engine)


def test_the_demo_shows_monitoring_at_work_as_the_rules_say(engine, clock, seeded):
    today = clock.today()
    with engine.connect() as connection:
        mrns = dict(connection.execute(select(Patient.mrn, Patient.id)).all())
        conditions = defaultdict(set)
        for patient_id, code in connection.execute(
            select(Condition.patient_id, Condition.code).where(
                Condition.clinical_status == "active"
            )
        ):
            conditions[patient_id].add(code)
        limits = connection.execute(
            select(
                ReadingThreshold.rule, ReadingThreshold.threshold, ReadingThreshold.reason
            ).where(ReadingThreshold.patient_id == mrns[DEMO_COPD_RETAINER])
        ).all()
        saturations = (
            connection.execute(
                select(Reading.measure_value).where(
                    Reading.patient_id == mrns[DEMO_COPD_RETAINER],
                    Reading.measure == "oxygen-saturation",
                    Reading.taken_at
                    >= datetime.combine(today - timedelta(days=7), datetime.min.time()),
                )
            )
            .scalars()
            .all()
        )
        silent = connection.execute(
            select(
                MonitoringEnrolment.measure,
                MonitoringEnrolment.frequency,
                func.max(Reading.taken_at),
            )
            .join(Reading, Reading.patient_id == MonitoringEnrolment.patient_id)
            .where(
                MonitoringEnrolment.patient_id == mrns[DEMO_SILENT_SCALE],
                Reading.measure == "weight",
                Reading.source == "device",
            )
            .group_by(MonitoringEnrolment.measure, MonitoringEnrolment.frequency)
        ).all()
        monitored = connection.execute(
            select(func.count(MonitoringEnrolment.patient_id.distinct()))
        ).scalar_one()
        years = connection.execute(
            select(func.min(Reading.taken_at)).where(Reading.source == "import")
        ).scalar_one()
        showcase_nurses = set(
            connection.execute(
                select(Nurse.username)
                .join(Patient, Patient.nurse_id == Nurse.id)
                .where(Patient.mrn.in_([*DEMO_ALERTS, DEMO_COPD_RETAINER, DEMO_SILENT_SCALE]))
            ).scalars()
        )
    # All on the demo nurse's own Today.
    assert showcase_nurses == {"amoreno"}
    alerts = {
        (patient_id, measure): (why, urgent)
        for patient_id, measure, _rules, urgent, why, _at in _open_alerts(engine)
    }
    # The heart-failure weight gain, the hypertensive crisis, the diabetic's HbA1c.
    for mrn, (condition, measure, why, urgent) in DEMO_ALERTS.items():
        assert condition in conditions[mrns[mrn]], mrn
        assert alerts[mrns[mrn], measure] == (why, urgent), mrn
    # The COPD patient runs at 88-91 % under her own limit of 88: no alert.
    assert "J44.9" in conditions[mrns[DEMO_COPD_RETAINER]]
    assert limits == [("oxygen-low", 88.0, "COPD, retains CO2: target 88-92 %")]
    assert saturations and min(saturations) >= 88 and min(saturations) < 90
    assert not [key for key in alerts if key[0] == mrns[DEMO_COPD_RETAINER]]
    # Enrolled for daily weights, silent for 4 days: Today's gap.
    [(measure, frequency, last_weight)] = silent
    assert (measure, frequency) == ("weight", "daily")
    assert (today - last_weight.date()).days == 4
    assert not [key for key in alerts if key[0] == mrns[DEMO_SILENT_SCALE]]
    # About one patient in ten is monitored; clinic results go back years.
    assert 0.05 * PATIENTS <= monitored <= 0.2 * PATIENTS
    assert (today - years.date()).days > 2 * 365
    # Every open alert is the one the readings service raises for the same readings.
    seeded_alerts, raised = _alerts_the_service_raises(engine, clock)
    assert seeded_alerts == raised


def test_a_seed_holds_readings_in_range_and_the_alerts_the_rules_raise(engine, clock):
    seed_database(engine, clock, patients=200, seed=4)
    with engine.connect() as connection:
        readings = connection.execute(
            select(
                Reading.measure, Reading.loinc, Reading.value, Reading.unit, Reading.measure_value
            )
        ).all()
        patients = connection.execute(
            select(Reading.patient_id, Episode.status)
            .join(Episode, Episode.patient_id == Reading.patient_id)
            .distinct()
        ).all()
    assert readings and {status for _, status in patients} == {"active"}
    for measure, loinc, value, unit, measure_value in readings:
        assert measure_of(loinc) == measure
        assert to_measure_unit(measure, value, unit) == measure_value
        check_plausible(measure, measure_value)
    assert {unit for _, _, _, unit, _ in readings} >= {"kg", "[lb_av]", "mm[Hg]", "mg/dL", "%"}
    seeded_alerts, raised = _alerts_the_service_raises(engine, clock)
    assert seeded_alerts and seeded_alerts == raised


# ---------------------------------------------------------------- hospital events


def test_the_demo_shows_a_stay_an_ed_visit_a_readmission_and_two_waiting_messages(
    engine, clock, seeded
):
    from nursecase.demo_encounters import seed_hospital_events
    from nursecase.domain.flags import Flag
    from nursecase.services import make_services

    assert seed_hospital_events(engine, clock) == 8
    services = make_services(engine, clock, nurse=demo_nurse_username(engine))
    today = clock.today()
    rows = {row.family_name: row for row in services.worklist.today(services.context.nurse_id)}
    by_why = {reason.split(": ", 1)[-1]: row for row in rows.values() for reason in row.reasons}
    admitted = today - timedelta(days=2)
    stay_row = by_why[f"Admitted {admitted:%d %b} to Mercy General"]
    stay = services.encounters.current(stay_row.patient_id)
    assert stay is not None and stay.facility == "Mercy General"
    assert stay.admitted_at.date() == admitted
    visit = today - timedelta(days=3)
    follow_up = f"Follow up ED visit of {visit:%d %b} (by {visit + timedelta(days=7):%d %b})"
    assert follow_up in by_why
    readmitted = [row for row in rows.values() if Flag.readmission in row.flags]
    assert len(readmitted) == 1 and Flag.tcm in readmitted[0].flags
    waiting = services.adt.waiting()
    assert [message.reason for message in waiting] == [
        "no patient with this identifier",
        "the identifier is a patient's with another birth date",
    ]
    # Again (seed --add): the same control ids are repeats, nothing new is filed.
    assert seed_hospital_events(engine, clock) == 0
    assert len(services.adt.waiting()) == 2


# ---------------------------------------------------------------- audit and nurses


def test_audit_chain_is_valid_and_counts_each_table(engine, clock):
    # Seeded here: the chain's key file lives beside the database, and a copy
    # of the shared caseload has none.
    seeded = seed_database(engine, clock, patients=PATIENTS, seed=7)
    context = ServiceContext(engine, clock)
    assert AuditService(context).verify_chain() is None
    with engine.connect() as connection:
        events = connection.execute(select(AuditEvent).order_by(AuditEvent.id)).all()
    totals = defaultdict(int)
    for event in events:
        assert event.action == "create" and event.entity_id is None
        assert event.changed_fields.startswith("bulk-seed:")
        totals[event.entity] += int(event.changed_fields.split(":")[1])
    for table, count in seeded.rows_by_table.items():
        if table != "audit_event":
            assert totals[table] == count, table


def test_seeding_continues_an_existing_chain_and_reuses_the_nurses(engine, clock):
    context = ServiceContext(engine, clock)
    with context.write() as session:
        audit.record(session, context, "login", "nurse", None)
    seed_database(engine, clock, patients=40, seed=3)
    seed_database(engine, clock, patients=40, seed=3)
    assert AuditService(context).verify_chain() is None
    with engine.connect() as connection:
        nurses = connection.execute(select(Nurse.username)).scalars().all()
        mrns = connection.execute(select(Patient.mrn)).scalars().all()
        assert integrity_problems(connection) == []
    assert sorted(nurses) == sorted(name for name, _, _, _ in DEMO_NURSES)
    assert len(mrns) == 80 and len(set(mrns)) == 80


def test_demo_nurse_username_is_the_first_demo_nurse(engine, clock):
    assert demo_nurse_username(engine) is None
    seed_database(engine, clock, patients=10)
    assert demo_nurse_username(engine) == "amoreno"
    with engine.connect() as connection:
        owners = connection.execute(select(Patient.nurse_id).distinct()).scalars().all()
    assert len(owners) >= 2


def test_a_tiny_seed_still_shows_every_referral_status_and_a_safety_flag(engine, clock):
    seed_database(engine, clock, patients=3)
    with engine.connect() as connection:
        statuses = set(connection.execute(select(Referral.status)).scalars())
        open_safety = connection.execute(
            select(Task.id).where(
                Task.source == "assessment-trigger",
                Task.status == "requested",
                Task.priority == "urgent",
            )
        ).all()
        recent_transitions = connection.execute(select(Transition.id)).all()
    assert statuses == set(allowed_values(ReferralStatus))
    assert open_safety
    assert recent_transitions


def test_negative_patient_count_is_refused_before_anything_is_written(engine, clock):
    with pytest.raises(ValueError, match="patients"):
        seed_database(engine, clock, patients=-1)
    with engine.connect() as connection:
        assert connection.execute(select(text("count(*)")).select_from(Nurse)).scalar() == 0


# ---------------------------------------------------------------- speed


def test_a_small_seed_takes_a_few_seconds_at_most(engine, clock):
    started = time.perf_counter()
    summary = seed_database(engine, clock, patients=300)
    elapsed = time.perf_counter() - started
    assert summary.rows_by_table["patient"] == 300
    assert elapsed < 5.0, f"300 patients took {elapsed:.1f} s"


def test_large_seeds_add_team_nurses_so_each_caseload_stays_realistic(engine, clock):
    from nursecase.demo import PATIENTS_PER_NURSE, nurse_roster

    assert len(nurse_roster(300)) == 4
    roster = nurse_roster(100_000)
    assert len(roster) == 834
    assert abs(sum(share for *_, share in roster) - 1) < 1e-9
    summary = seed_database(engine, clock, patients=1_200, seed=4)
    assert summary.nurses == 10
    with engine.connect() as connection:
        sizes = [
            count
            for (count,) in connection.execute(
                text("SELECT count(*) FROM patient GROUP BY nurse_id")
            )
        ]
    assert len(sizes) == 10
    assert all(PATIENTS_PER_NURSE * 0.5 < size < PATIENTS_PER_NURSE * 1.6 for size in sizes)
