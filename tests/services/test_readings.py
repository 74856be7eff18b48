"""ReadingsService: readings in (keyed, imported), the alerts they raise, limits, enrolment."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.config import Settings
from nursecase.db.models import AuditEvent, Reading, ReadingAlert
from nursecase.domain.codes import ReadingSource
from nursecase.services import make_services
from nursecase.services.errors import ServiceError, ValidationError
from nursecase.services.readings import NewReading


@pytest.fixture
def patient(services):
    return services.patients.create("HF-1", "Heart", "Ann", birth_date=date(1950, 3, 4))


def morning(clock, days_ago: int) -> datetime:
    return datetime.combine(clock.today() - timedelta(days=days_ago), time(7, 30))


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def weights(patient_id, clock, values: dict[int, float], unit="kg"):
    return [
        NewReading(patient_id, "29463-7", value, unit, morning(clock, days_ago))
        for days_ago, value in values.items()
    ]


def store(services, readings, source=ReadingSource.device):
    with services.context.write() as session:
        return services.readings.store(session, readings, source)


def test_a_weight_gain_over_a_week_opens_one_alert_with_the_why(services, patient, clock):
    result = store(services, weights(patient.id, clock, {5: 80.0, 3: 80.9, 1: 81.6, 0: 82.6}))

    assert (result.added, result.alerts_opened) == (4, 1)
    [alert] = services.readings.alerts(patient.id, open_only=True)
    assert alert.measure == "weight"
    assert alert.why == "weight +1.0 kg in 1 d, +2.6 kg in 5 d"
    assert alert.urgent


def test_a_second_import_changes_nothing_and_a_new_breach_updates_the_open_alert(
    services, patient, clock, engine
):
    readings = weights(patient.id, clock, {2: 80.0, 1: 81.0})
    assert store(services, readings).alerts_opened == 1
    again = store(services, readings)
    assert (again.added, again.unchanged, again.alerts_opened, again.alerts_updated) == (0, 2, 0, 0)

    later = store(services, weights(patient.id, clock, {0: 82.5}))

    assert (later.alerts_opened, later.alerts_updated) == (0, 1)
    assert count(engine, ReadingAlert) == 1
    [alert] = services.readings.alerts(patient.id)
    assert alert.why == "weight +1.5 kg in 1 d, +2.5 kg in 2 d"


def test_pounds_are_kept_as_received_and_compared_in_kilograms(services, patient, clock, engine):
    store(services, weights(patient.id, clock, {1: 176.0, 0: 178.5}, unit="[lb_av]"))

    [alert] = services.readings.alerts(patient.id)
    assert alert.why == "weight +1.1 kg in 1 d"
    with Session(engine) as session:
        row = session.scalars(select(Reading).order_by(Reading.taken_at.desc())).first()
    assert (row.value, row.unit, round(row.measure_value, 2)) == (178.5, "[lb_av]", 80.97)


def test_old_readings_are_history_and_raise_no_alert(services, patient, clock):
    result = store(services, weights(patient.id, clock, {400: 70.0, 399: 75.0}))
    assert (result.added, result.alerts_opened) == (2, 0)


def test_a_closed_alert_is_not_reopened_by_the_same_days_second_weighing(services, patient, clock):
    store(services, weights(patient.id, clock, {1: 80.0, 0: 81.5}))
    [alert] = services.readings.alerts(patient.id)
    services.readings.close_with_note(alert.id, "Called: furosemide dose raised by the PCP")

    evening = NewReading(patient.id, "29463-7", 82.0, "kg", morning(clock, 0) + timedelta(hours=10))
    result = store(services, [evening])

    assert result.alerts_opened == 0
    with pytest.raises(ServiceError):
        services.readings.close_with_note(alert.id, "again")


def test_keyed_blood_pressure_is_one_alert_in_words_and_audited(services, patient, engine):
    readings = services.readings.key(
        patient.id, {"systolic": ("184", "mmHg"), "diastolic": ("121", "mmHg")}
    )

    assert {reading.entered_by for reading in readings} == {"Alice Moreno"}
    [alert] = services.readings.alerts(patient.id)
    assert (alert.measure, alert.why, alert.urgent) == ("blood-pressure", "BP 184/121 high", True)
    with Session(engine) as session:
        entities = session.scalars(select(AuditEvent.entity)).all()
    assert entities.count("reading") == 2 and entities.count("reading_alert") == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"weight": ("eighty", "kg")}, 'Weight must be a number, not "eighty"'),
        ({"weight": ("80", "mg/dL")}, "is not a unit for weight"),
        ({"oxygen-saturation": ("190", "%")}, "is not a possible oxygen saturation"),
    ],
)
def test_a_bad_keyed_value_is_refused_naming_the_measure(
    services, patient, engine, values, message
):
    with pytest.raises(ValidationError) as refused:
        services.readings.key(patient.id, values)
    assert message in str(refused.value)
    assert count(engine, Reading) == 0


def test_a_patients_own_limit_applies_to_readings_after_it(services, patient):
    services.readings.set_limit(patient.id, "oxygen-low", 88, "COPD, retains CO2: target 88-92%")
    services.readings.key(patient.id, {"oxygen-saturation": ("89", "%")})
    assert services.readings.alerts(patient.id) == []

    services.readings.key(
        patient.id,
        {"oxygen-saturation": ("87", "%")},
        taken_at=services.clock.now() + timedelta(seconds=-60),
    )
    [alert] = services.readings.alerts(patient.id)
    assert alert.why == "SpO2 87 % low"
    [own] = [limit for limit in services.readings.limits(patient.id) if limit.reason]
    assert (own.rule, own.limit, own.set_by) == ("oxygen-low", 88, "Alice Moreno")


def test_remote_monitoring_month_counts_device_days_and_review_minutes(services, patient, clock):
    first = clock.today().replace(day=1)
    days = (clock.today() - first).days
    store(services, weights(patient.id, clock, {day: 80.0 for day in range(days + 1)}))
    enrolment = services.readings.enrol(patient.id, "weight", "daily")

    month = services.readings.month(patient.id)

    assert enrolment.gap_days == 3
    assert month.days_with_readings == days + 1
    assert month.review_minutes == 0


# ------------------------------------------------------------ the summary line


def test_the_summary_line_gives_the_weeks_change_and_the_latest_blood_pressure(
    services, patient, clock
):
    store(services, weights(patient.id, clock, {9: 79.0, 5: 80.0, 3: 80.9, 1: 81.6, 0: 82.6}))
    services.readings.key(
        patient.id,
        {"systolic": ("148", "mmHg"), "diastolic": ("92", "mmHg")},
        taken_at=morning(clock, 0),
    )

    line = services.readings.summary_lines([patient.id])[patient.id]

    # The reading 9 days back is outside the week: the change runs from 5 days back.
    assert line == "wt 82.6 kg +2.6 kg/5 d ▲, BP 148/92"
    # The rounds card shows the same line.
    assert services.worklist.summary(patient.id).readings_line == line


def test_the_summary_line_compares_morning_to_morning_in_the_clinics_unit(
    engine, services, patient, clock
):
    store(services, weights(patient.id, clock, {2: 81.0, 0: 80.0}))
    # Weighed again after breakfast: neither the weight shown nor a gain.
    evening = NewReading(patient.id, "29463-7", 81.5, "kg", morning(clock, 0) + timedelta(hours=9))
    store(services, [evening])
    pounds = make_services(engine, clock, nurse="alice", settings=Settings(weight_unit="lb"))

    line = pounds.readings.summary_lines([patient.id])[patient.id]

    assert line == "wt 176.4 lb -2.2 lb/2 d ▼"


def test_the_summary_line_dates_a_value_older_than_a_week(services, patient, clock):
    store(services, weights(patient.id, clock, {40: 70.0}), source=ReadingSource.imported)

    line = services.readings.summary_lines([patient.id])[patient.id]

    day = clock.today() - timedelta(days=40)
    assert line == f"wt 70.0 kg ({day.day} {day:%b %Y})"
    assert services.readings.summary_lines([]) == {}


def test_a_weight_that_arrives_late_checks_the_days_after_it_again(services, patient, clock):
    assert store(services, weights(patient.id, clock, {1: 82.0, 0: 82.6})).alerts_opened == 0

    # The device uploads a missed weighing of 5 days ago: today is now 2.6 kg
    # over the week's low.
    result = store(services, weights(patient.id, clock, {5: 80.0}))

    assert result.alerts_opened == 1
    [alert] = services.readings.alerts(patient.id)
    assert alert.why == "weight +2.6 kg in 5 d"
