"""A risk tier rests on a score or on the nurse's reason (issue 16, item 3)."""

from __future__ import annotations

from datetime import datetime

import pytest

from nursecase.domain.codes import RiskTier
from nursecase.domain.validation import ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("MRN-1", "Okafor", "Grace", risk_tier="moderate")


RISK_FIELDS = {"risk_tier", "risk_basis", "risk_source", "risk_set_by", "risk_set_at"}


def last_fields(services, patient_id):
    return services.audit.list_events("patient", patient_id)[0].changed_fields


def test_a_tier_typed_at_enrolment_is_not_assessed_without_a_reason(services, patient):
    assert (patient.risk_tier, patient.risk_source, patient.risk_basis) == ("moderate", None, None)
    assert patient.risk_set_by_name is None and patient.risk_set_at is None
    chart = services.chart.load(patient.id)
    assert chart.risk.describe() == "moderate, no score or reason yet"


def test_a_tier_typed_at_enrolment_with_a_reason_is_the_nurses_override(services, clock):
    created = services.patients.create(
        "MRN-2", "Lee", "Ann", risk_tier="high", risk_reason="lives alone"
    )
    assert (created.risk_source, created.risk_basis) == ("override", "lives alone")
    assert (created.risk_set_by_name, created.risk_set_at) == ("Alice Moreno", clock.now())
    create_event = services.audit.list_events("patient", created.id)[0]
    assert {"risk_basis", "risk_source", "risk_set_by", "risk_set_at"} <= set(
        create_event.changed_fields
    )


def test_an_override_records_who_when_and_why(services, patient, clock):
    with pytest.raises(ValidationError) as caught:
        services.patients.change_risk_tier(patient.id, "high", "  ", patient.version)
    assert caught.value.field == "reason"

    changed = services.patients.change_risk_tier(patient.id, "high", "lives alone", patient.version)

    assert (changed.risk_tier, changed.risk_source, changed.risk_basis) == (
        "high",
        "override",
        "lives alone",
    )
    assert (changed.risk_set_by_name, changed.risk_set_at) == ("Alice Moreno", clock.now())
    assert set(last_fields(services, patient.id)) == RISK_FIELDS
    assert services.chart.load(patient.id).risk.describe() == (
        "high, set by A. Moreno: lives alone"
    )


def test_a_lace_of_another_band_offers_the_change_and_sets_nothing(services, patient, clock):
    # LACE 12 = L5 A3 C2 E2: high, on a moderate tier.
    result = services.assessments.record_lace(patient.id, 8, True, 2, 2)
    assert result.risk_offer is not None
    assert result.risk_offer.tier is RiskTier.high
    assert result.suggestions == (
        "LACE 12 = L5 A3 C2 E2: high risk; the tier is moderate. Set it to high?",
    )
    unchanged = services.patients.get(patient.id)
    assert (unchanged.risk_tier, unchanged.risk_source) == ("moderate", None)
    # Declined, the header says what the LACE suggests rather than a bare tier.
    assert services.chart.load(patient.id).risk.describe(clock.today()) == (
        "moderate, no score or reason yet; LACE 12 on 27 Nov suggests high"
    )


def test_set_risk_from_score_takes_the_band_summary_and_time(services, patient, clock):
    performed = datetime(2026, 11, 18, 10, 30)
    result = services.assessments.record_lace(patient.id, 8, True, 2, 2, performed_at=performed)

    changed = services.patients.set_risk_from_score(patient.id, result.assessment.id)

    assert (changed.risk_tier, changed.risk_source, changed.risk_basis) == (
        "high",
        "score",
        "LACE 12 = L5 A3 C2 E2",
    )
    assert (changed.risk_set_by_name, changed.risk_set_at) == ("Alice Moreno", performed)
    assert set(last_fields(services, patient.id)) == RISK_FIELDS
    assert services.chart.load(patient.id).risk.describe() == "high (LACE 12, 18 Nov)"
    # Set again from the same score: nothing changes, nothing is recorded.
    events = len(services.audit.list_events("patient", patient.id))
    services.patients.set_risk_from_score(patient.id, result.assessment.id, changed.version)
    assert len(services.audit.list_events("patient", patient.id)) == events


def test_a_lace_that_agrees_with_a_tier_resting_on_nothing_offers_to_be_its_basis(
    services, patient
):
    result = services.assessments.record_lace(patient.id, 2, False, 3, 1)  # LACE 6: moderate
    assert result.risk_offer is not None
    assert result.risk_offer.question == (
        "LACE 6 = L2 A0 C3 E1: moderate risk. Record LACE 6 as the basis of the moderate tier?"
    )
    services.patients.set_risk_from_score(patient.id, result.assessment.id)
    # The tier now rests on that score: the next agreeing LACE offers nothing.
    again = services.assessments.record_lace(patient.id, 3, False, 2, 1)  # LACE 6
    assert again.risk_offer is None and again.suggestions == ()


def test_only_the_patients_latest_lace_sets_the_tier(services, patient):
    other = services.patients.create("MRN-9", "Lee", "Ann")
    older = services.assessments.record_lace(
        patient.id, 8, True, 2, 2, performed_at=datetime(2026, 11, 1, 9)
    )
    services.assessments.record_lace(patient.id, 1, False, 1, 0)
    phq2 = services.assessments.record(patient.id, "phq-2", {"item1": 0, "item2": 0})
    theirs = services.assessments.record_lace(other.id, 1, False, 1, 0)
    for assessment_id, message in (
        (older.assessment.id, "a newer LACE has been recorded since"),
        (phq2.assessment.id, "is not a LACE: only LACE sets the tier"),
        (theirs.assessment.id, "is not an assessment of this patient"),
        (10_000, "is not an assessment of this patient"),
    ):
        with pytest.raises(ValidationError) as caught:
            services.patients.set_risk_from_score(patient.id, assessment_id)
        assert (caught.value.field, caught.value.message) == ("assessment_id", message)
    assert services.patients.get(patient.id).risk_source is None
