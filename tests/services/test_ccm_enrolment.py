"""CCM enrolment: one programme per patient, minutes from the start (issue 16, item 5)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from nursecase.domain.codes import CcmProgramme
from nursecase.domain.validation import ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("MRN-1", "Okafor", "Grace")


def test_enrol_change_and_end(services, patient):
    enrolled = services.patients.set_ccm_enrolment(
        patient.id, "standard", "2026-10-01", patient.version
    )
    assert (enrolled.ccm_programme, enrolled.ccm_start) == ("standard", date(2026, 10, 1))
    events = services.audit.list_events("patient", patient.id)
    assert set(events[0].changed_fields) == {"ccm_programme", "ccm_start"}

    changed = services.patients.set_ccm_enrolment(
        patient.id, CcmProgramme.complex, date(2026, 10, 1), enrolled.version
    )
    assert changed.ccm_programme == "complex"
    assert services.audit.list_events("patient", patient.id)[0].changed_fields == ("ccm_programme",)

    ended = services.patients.set_ccm_enrolment(patient.id, None, "2026-11-01", changed.version)
    assert (ended.ccm_programme, ended.ccm_start) == (None, None)
    count = len(services.audit.list_events("patient", patient.id))
    services.patients.set_ccm_enrolment(patient.id, None)  # nothing to change, nothing recorded
    assert len(services.audit.list_events("patient", patient.id)) == count


@pytest.mark.parametrize(
    ("programme", "start", "field", "message"),
    [
        ("standard", None, "ccm_start", "is required when the patient is enrolled"),
        ("standard", "", "ccm_start", "is required when the patient is enrolled"),
        ("complex", "2026-11-28", "ccm_start", "must not be in the future"),
        ("premium", "2026-11-01", "ccm_programme", None),
        ("standard", "01/11/2026", "ccm_start", None),
    ],
)
def test_bad_enrolments_name_the_field_and_change_nothing(
    services, patient, programme, start, field, message
):
    with pytest.raises(ValidationError) as caught:
        services.patients.set_ccm_enrolment(patient.id, programme, start)
    assert caught.value.field == field
    if message is not None:
        assert caught.value.message == message
    stored = services.patients.get(patient.id)
    assert (stored.ccm_programme, stored.ccm_start, stored.version) == (None, None, patient.version)


def test_minutes_before_the_start_do_not_count(services, patient):
    for day, minutes in ((2, 25), (20, 30)):
        services.contacts.log(
            patient.id, datetime(2026, 11, day, 10), "phone", "patient", "reached", minutes
        )
    # Not enrolled: the month's minutes, no code.
    chart = services.chart.load(patient.id)
    assert (chart.ccm.programme, chart.ccm.minutes, chart.ccm.progress) == (None, 55, None)
    assert chart.ccm.describe() == "Not enrolled in CCM · 55 min this month"

    services.patients.set_ccm_enrolment(patient.id, "standard", date(2026, 11, 20))
    assert services.contacts.minutes_in_month(patient.id, 2026, 11, since=date(2026, 11, 20)) == 30
    chart = services.chart.load(patient.id)
    assert chart.ccm.minutes == 30
    assert chart.ccm.describe(date(2026, 11, 27)) == (
        "Standard CCM since 20 Nov · 30 min this month: 99490 · 10 min to 99439"
    )
    # The rounds card says the same.
    summary = services.worklist.summary(patient.id)
    assert summary.ccm == chart.ccm
