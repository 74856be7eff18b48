"""Readings on Today (issue 20, items 4 and 5): alerts and monitoring gaps, their actions,
their flag, and remote-monitoring minutes kept out of every CCM sum."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from nursecase.db.models import ReadingAlert
from nursecase.domain.codes import ReadingSource
from nursecase.domain.flags import Flag
from nursecase.domain.worklist import DueKind
from nursecase.services.errors import NotFoundError, ServiceError, ValidationError
from nursecase.services.exports.ccm import month_query
from nursecase.services.exports.common import ExportScope
from nursecase.services.readings import NewReading

TODAY = date(2026, 11, 27)  # conftest's frozen clock
_mrn = iter(range(5000, 9000))


def add_patient(services, nurse=None) -> int:
    return services.patients.create(
        mrn=f"R{next(_mrn)}",
        family_name="Reading",
        given_name="Pat",
        birth_date="1950-06-01",
        nurse_username=nurse,
        next_contact_due=TODAY + timedelta(days=20),
    ).id


def at(days_ago: int, hour: int = 7) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour, 0))


def high_pressure(services, patient_id, days_ago: int = 0) -> None:
    services.readings.key(
        patient_id, {"systolic": (184, "mm[Hg]"), "diastolic": (121, "mm[Hg]")}, at(days_ago)
    )


def row_of(services, patient_id, nurse_id=None):
    rows = [row for row in services.worklist.today(nurse_id) if row.patient_id == patient_id]
    return rows[0] if rows else None


def open_alerts(services, patient_id):
    return services.readings.alerts(patient_id, open_only=True)


# ------------------------------------------------------------------ alerts on Today


def test_an_urgent_breach_is_an_urgent_signal_with_its_why_and_out_of_range(services):
    patient_id = add_patient(services)
    high_pressure(services, patient_id, days_ago=1)

    row = row_of(services, patient_id)
    assert row.group == 0
    assert [item.kind for item in row.items] == [DueKind.reading]
    assert row.items[0].urgent and row.items[0].label == "blood-pressure"
    assert row.why == open_alerts(services, patient_id)[0].why
    assert "184/121" in row.why
    assert row.flags == (Flag.out_of_range,)
    assert row.days_overdue == 1
    # The header, the rounds card and the caseload say the same.
    assert services.worklist.flags_for([patient_id])[patient_id] == (Flag.out_of_range,)
    assert services.worklist.summary(patient_id).flags == (Flag.out_of_range,)


def test_a_non_urgent_breach_is_due_work_without_a_flag(services):
    patient_id = add_patient(services)
    services.readings.key(patient_id, {"hba1c": (10.4, "%")}, at(0))

    row = row_of(services, patient_id)
    assert (row.group, row.flags) == (2, ())
    assert row.items[0].kind is DueKind.reading and not row.items[0].urgent
    assert "HbA1c" in row.why
    assert services.worklist.flags_for([patient_id])[patient_id] == ()


def test_today_of_a_nurse_leaves_out_other_nurses_alerts(services):
    services.nurses.create("bob", "Bob Okafor")
    theirs = add_patient(services, nurse="bob")
    high_pressure(services, theirs)
    mine = add_patient(services)
    high_pressure(services, mine)
    nurse_id = services.context.nurse_id
    other = services.patients.get(theirs).nurse_id
    assert other != nurse_id

    assert row_of(services, mine, nurse_id) is not None
    assert row_of(services, theirs, nurse_id) is None
    assert row_of(services, theirs, other) is not None


def test_done_closes_an_alert_with_the_note_and_undo_reopens_it(services, engine):
    patient_id = add_patient(services)
    high_pressure(services, patient_id)
    item = row_of(services, patient_id).due_item

    with pytest.raises(ValidationError) as refused:
        services.worklist.done(patient_id, item)
    assert refused.value.field == "note"
    with pytest.raises(ValidationError, match="is not snoozed"):
        services.worklist.snooze(patient_id, item, TODAY + timedelta(days=2), "later")
    with pytest.raises(NotFoundError):  # someone else's alert under this patient
        services.worklist.done(add_patient(services), item, "called")
    assert len(open_alerts(services, patient_id)) == 1

    token = services.worklist.done(patient_id, item, "Called: took missed dose, recheck 2 h")

    assert row_of(services, patient_id) is None
    with Session(engine) as session:
        alert = session.get(ReadingAlert, item.item_id)
        assert (alert.status, alert.note) == ("closed", "Called: took missed dose, recheck 2 h")
        assert alert.closed_by_id == services.context.nurse_id and alert.contact_id is None

    services.worklist.undo(token)

    assert row_of(services, patient_id).due_item == item
    assert [alert.note for alert in open_alerts(services, patient_id)] == [None]
    with pytest.raises(ServiceError, match="cannot be undone"):
        services.worklist.undo(token)


def test_undo_refuses_to_reopen_beside_a_newer_alert_of_the_measure(services, clock):
    patient_id = add_patient(services)
    high_pressure(services, patient_id, days_ago=1)
    item = row_of(services, patient_id).due_item
    token = services.worklist.close_alert(patient_id, item, "seen in clinic")
    high_pressure(services, patient_id)  # a new breach opens a new alert

    with pytest.raises(ServiceError, match="newer reading"):
        services.worklist.undo(token)
    assert [alert.id for alert in open_alerts(services, patient_id)] != [item.item_id]


# ------------------------------------------------------------------ monitoring gaps


def test_a_gap_is_due_from_the_day_it_reached_its_days_and_a_reading_clears_it(services):
    patient_id = add_patient(services)
    services.readings.enrol(patient_id, "weight", "daily", gap_days=3, started_on=at(20).date())
    services.readings.key(patient_id, {"weight": (80.0, "kg")}, at(2))
    assert row_of(services, patient_id) is None  # 2 days without: not yet

    services.readings.enrol(
        patient_id, "blood-pressure", "daily", gap_days=3, started_on=at(20).date()
    )
    services.readings.key(
        patient_id, {"systolic": (130, "mm[Hg]"), "diastolic": (80, "mm[Hg]")}, at(4)
    )
    row = row_of(services, patient_id)
    assert row.why == "no blood pressure for 4 d"
    assert (row.group, row.flags, row.days_overdue) == (2, (), 1)
    assert row.due_item.due_date == TODAY - timedelta(days=1)

    services.readings.key(
        patient_id, {"systolic": (128, "mm[Hg]"), "diastolic": (78, "mm[Hg]")}, at(0)
    )
    assert row_of(services, patient_id) is None


def test_a_new_enrolment_without_readings_counts_from_its_start(services):
    patient_id = add_patient(services)
    services.readings.enrol(patient_id, "weight", "daily", gap_days=3, started_on=at(5).date())
    services.readings.key(patient_id, {"weight": (80.0, "kg")}, at(9))  # before the enrolment

    assert row_of(services, patient_id).why == "no weight for 5 d"


def test_done_on_a_gap_is_refused_and_a_snooze_hides_it_until_its_day(services, clock):
    patient_id = add_patient(services)
    services.readings.enrol(patient_id, "weight", "daily", gap_days=3, started_on=at(6).date())
    item = row_of(services, patient_id).due_item
    assert item.kind is DueKind.reading_gap

    with pytest.raises(ValidationError, match="reading clears a monitoring gap"):
        services.worklist.done(patient_id, item)
    token = services.worklist.snooze(
        patient_id, item, TODAY + timedelta(days=2), "scale broken, new one Monday"
    )
    assert row_of(services, patient_id) is None
    assert services.worklist.snoozes(patient_id)[0].item_kind == "reading-gap"

    services.worklist.undo(token)
    assert row_of(services, patient_id).due_item == item

    services.worklist.snooze(patient_id, item, TODAY + timedelta(days=2), "scale broken")
    clock.advance(days=2)
    assert row_of(services, patient_id).why == "no weight for 8 d"


def test_an_ended_enrolment_leaves_no_gap(services):
    patient_id = add_patient(services)
    enrolment = services.readings.enrol(
        patient_id, "weight", "daily", gap_days=3, started_on=at(10).date()
    )
    assert row_of(services, patient_id) is not None
    services.readings.end_enrolment(enrolment.id)
    assert row_of(services, patient_id) is None


# ------------------------------------------------------------------ contacts and minutes


def test_a_contact_that_addresses_an_alert_closes_it_in_its_transaction(services):
    patient_id = add_patient(services)
    high_pressure(services, patient_id)
    [alert] = open_alerts(services, patient_id)
    other = add_patient(services)
    high_pressure(services, other)
    [theirs] = open_alerts(services, other)
    before = len(services.contacts.list_for_patient(patient_id))

    with pytest.raises(ValidationError):
        services.contacts.log(
            patient_id, at(0, 8), "phone", "patient", "reached", 10, addresses=[theirs.id]
        )
    # Nothing half-written: no contact, both alerts still open.
    assert len(services.contacts.list_for_patient(patient_id)) == before
    assert len(open_alerts(services, other)) == 1

    contact = services.contacts.log(
        patient_id, at(0, 8), "phone", "patient", "reached", 10, addresses=[alert.id]
    )

    [closed] = services.readings.alerts(patient_id)
    assert (closed.status, closed.contact_id) == ("closed", contact.id)
    assert row_of(services, patient_id) is None or all(
        item.kind is not DueKind.reading for item in row_of(services, patient_id).items
    )


def test_a_routine_contact_never_closes_an_alert_by_itself(services):
    patient_id = add_patient(services)
    high_pressure(services, patient_id)
    services.contacts.log(patient_id, at(0, 8), "phone", "patient", "reached", 10)
    assert len(open_alerts(services, patient_id)) == 1


def test_monitoring_minutes_are_rpm_minutes_never_ccm_minutes(services, engine):
    patient_id = add_patient(services)
    services.patients.set_ccm_enrolment(patient_id, "standard", date(2026, 11, 1))
    services.contacts.log(patient_id, at(1, 9), "phone", "patient", "reached", 15)
    monitoring = services.contacts.log(
        patient_id, at(0, 8), "phone", "patient", "reached", 25, for_monitoring=True
    )
    assert monitoring.for_monitoring

    assert services.contacts.minutes_in_month(patient_id, 2026, 11) == 15
    assert services.chart.load(patient_id).ccm.minutes == 15
    assert services.worklist.summary(patient_id).ccm.minutes == 15
    assert services.readings.month(patient_id).review_minutes == 25
    start = datetime(2026, 11, 1)
    scope = ExportScope(TODAY, start, None, "every nurse", patient_id=patient_id)
    with Session(engine) as session:
        [row] = [
            row
            for row in session.execute(month_query(scope, start, datetime(2026, 12, 1)))
            if row.id == patient_id
        ]
    assert (row.minutes, row.contacts, row.ccm_minutes) == (15, 1, 15)


def test_the_chart_carries_the_rpm_month_when_enrolled(services):
    patient_id = add_patient(services)
    assert services.chart.load(patient_id).rpm is None
    services.readings.enrol(patient_id, "weight", "daily", started_on=at(10).date())
    with services.context.write() as session:
        services.readings.store(
            session,
            [NewReading(patient_id, "29463-7", 80.0, "kg", at(days)) for days in (1, 2, 3)],
            ReadingSource.device,
        )
    services.contacts.log(
        patient_id, at(0, 8), "phone", "patient", "reached", 12, for_monitoring=True
    )

    rpm = services.chart.load(patient_id).rpm
    assert rpm.describe() == "RPM: 3 d of readings, 12 min · 99445, 99470"
    assert "more days of readings to 99454" in rpm.next_step


def test_the_next_due_date_counts_the_day_a_gap_would_begin(services):
    patient_id = add_patient(services)  # next contact in 20 days
    services.readings.enrol(patient_id, "weight", "daily", gap_days=3, started_on=at(5).date())
    services.readings.key(patient_id, {"weight": (80.0, "kg")}, at(0))

    assert services.worklist.today(None) == []
    assert services.worklist.next_due_date(None) == TODAY + timedelta(days=3)
