"""ChartService (the patient detail read model) and the safety follow-up rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from nursecase.services.chart import instrument_histories
from nursecase.services.errors import NotFoundError

PHQ9_ZERO = {f"item{number}": 0 for number in range(1, 10)}


@pytest.fixture
def patient(services):
    return services.patients.create(
        "MRN-7", "Okafor", "Grace", birth_date=date(1950, 3, 1), risk_tier="moderate"
    )


def log_call(services, patient_id, when, outcome="reached", with_whom="patient", minutes=15):
    return services.contacts.log(patient_id, when, "phone", with_whom, outcome, minutes)


def test_open_records_a_view_and_load_does_not(services, patient):
    def views():
        return [event for event in services.audit.list_events() if event.action == "view"]

    before = len(views())
    services.chart.load(patient.id)
    assert len(views()) == before
    chart = services.chart.open(patient.id)
    assert len(views()) == before + 1
    assert chart.patient.id == patient.id


def transactions_begun(engine, action) -> int:
    """How many database transactions ``action()`` begins on ``engine``."""
    begun = []

    def count(_connection) -> None:
        begun.append(1)

    event.listen(engine, "begin", count)
    try:
        action()
    finally:
        event.remove(engine, "begin", count)
    return len(begun)


def test_the_chart_is_read_in_one_transaction(services, engine, patient, clock):
    # A chart with something in each section that the services read.
    log_call(services, patient.id, clock.now() - timedelta(days=1))
    services.assessments.record(patient.id, "phq-9", PHQ9_ZERO)
    services.tasks.add(patient.id, "Call back", clock.today())
    services.referrals.create(patient.id, "physical-therapy", "PT Co", "gait")

    assert transactions_begun(engine, lambda: services.chart.load(patient.id)) == 1
    # Opening adds the transaction of its "view" audit event, and no other.
    assert transactions_begun(engine, lambda: services.chart.open(patient.id)) == 2
    # Each service's own read still opens its own when it is not part of a chart.
    assert transactions_begun(engine, lambda: services.tasks.list_for_patient(patient.id)) == 1


def test_opening_a_missing_patient_fails_and_records_nothing(services):
    def events():
        return len(services.audit.list_events())

    before = events()
    with pytest.raises(NotFoundError):
        services.chart.open(999_999)
    assert events() == before


def test_chart_holds_every_section(services, patient, clock):
    now = clock.now()
    log_call(services, patient.id, now - timedelta(days=2), minutes=25)
    log_call(services, patient.id, now - timedelta(days=40), minutes=10)
    services.assessments.record(patient.id, "phq-9", dict(PHQ9_ZERO, item1=2), now - timedelta(3))
    services.assessments.record(patient.id, "phq-9", dict(PHQ9_ZERO, item1=3), now - timedelta(1))
    services.assessments.record(patient.id, "gad-7", {f"item{n}": 1 for n in range(1, 8)})
    services.conditions.add(patient.id, "Heart failure")
    services.medications.add(patient.id, "Furosemide", dose="40 mg")
    services.care_team.add(patient.id, "Dr Lee", "PCP", organisation="Main St Clinic")
    task = services.tasks.add(patient.id, "Weigh daily review", now.date() + timedelta(days=3))
    done = services.tasks.add(patient.id, "Send leaflet", now.date())
    services.tasks.complete(done.id)
    services.referrals.create(patient.id, "physical-therapy", "PT Co", "gait")
    services.transitions.record_discharge(patient.id, now.date() - timedelta(days=1), "General")

    chart = services.chart.load(patient.id)

    assert [contact.minutes for contact in chart.contacts] == [25, 10]  # newest first
    # CCM counts this calendar month only (the frozen clock: 27 November).
    assert chart.ccm.minutes == 25
    assert [history.short_name for history in chart.instruments] == ["PHQ-9", "GAD-7"]
    phq9 = chart.instruments[0]
    assert phq9.trend == (2, 3) and phq9.latest.total == 3
    assert [condition.description for condition in chart.conditions] == ["Heart failure"]
    assert [member.name for member in chart.care_team] == ["Dr Lee"]
    assert task.description in [item.description for item in chart.open_tasks]
    assert chart.tasks[-1].description == "Send leaflet"  # done tasks after open ones
    assert chart.episode is not None and chart.episode.status == "active"
    assert len(chart.open_transitions) == 1
    due = [item.what for item in chart.due_next]
    assert "TCM interactive contact" in due and "next contact" in due
    assert [item.due for item in chart.due_next] == sorted(item.due for item in chart.due_next)
    kinds = {event.kind for event in chart.timeline}
    assert {"contact", "assessment", "task", "referral", "discharge", "episode"} <= kinds
    moments = [event.when for event in chart.timeline]
    assert moments == sorted(moments, reverse=True)


def test_instrument_histories_keep_the_instrument_order_and_trend_points(services, patient):
    for total in range(15):
        services.assessments.record(
            patient.id,
            "phq-9",
            dict(PHQ9_ZERO, item1=total % 4),
            datetime(2026, 11, 1, 9) + timedelta(hours=total),
        )
    histories = instrument_histories(services.assessments.list_for_patient(patient.id))
    assert len(histories) == 1
    # The last 12 totals, oldest first: item1 cycles 0,1,2,3 over 15 entries.
    assert histories[0].trend == tuple(number % 4 for number in range(3, 15))


NO_RISK = {"wish_dead": False, "suicidal_thoughts": False, "behaviour": False}


def test_safety_flag_stays_until_a_safety_check_is_recorded(services, patient, clock):
    """Issue 16: no call clears the flag, however it went; only a safety check does."""
    result = services.assessments.record(patient.id, "phq-9", dict(PHQ9_ZERO, item9=1))
    assert result.safety_task_id is not None
    assert len(services.chart.load(patient.id).safety_flags) == 1

    # A voicemail, a call with the caregiver, and reaching the patient: none is the follow-up.
    log_call(services, patient.id, clock.now(), outcome="left-message")
    log_call(services, patient.id, clock.now(), with_whom="caregiver")
    log_call(services, patient.id, clock.now())
    [flag] = services.chart.load(patient.id).safety_flags
    assert (flag.task_id, flag.item9) == (result.safety_task_id, 1)
    assert services.tasks.get(result.safety_task_id).status == "requested"

    services.safety_checks.record(patient.id, NO_RISK, "no-current-risk")
    chart = services.chart.load(patient.id)
    assert chart.safety_flags == ()
    task = services.tasks.get(result.safety_task_id)
    assert task.status == "completed" and task.done_at == clock.now()
    [event] = [event for event in chart.timeline if event.kind == "safety check"]
    assert event.when == clock.now()
    assert event.text == "Safety check (C-SSRS): no risk identified; no current risk"


def test_a_contact_before_the_assessment_does_not_clear_its_flag(services, patient, clock):
    services.assessments.record(patient.id, "phq-9", dict(PHQ9_ZERO, item9=2))
    # Logged late, about a call that happened the day before the screening.
    log_call(services, patient.id, clock.now() - timedelta(days=1))
    assert len(services.chart.load(patient.id).safety_flags) == 1
