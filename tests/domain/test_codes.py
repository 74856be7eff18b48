"""Codes are spelled exactly as DESIGN.md section 2, with readable labels."""

from __future__ import annotations

import pytest

from nursecase.domain import codes
from nursecase.domain.codes import (
    CareTeamRole,
    ContactOutcome,
    EpisodeStatus,
    Instrument,
    InterventionCategory,
    ReferralPriority,
    ReferralStatus,
    RiskTier,
    ServiceType,
    is_interactive,
    parse_code,
)
from nursecase.domain.validation import ValidationError
from tests.code_lists import all_code_lists

EXPECTED_CODES = {
    codes.RiskTier: ["low", "moderate", "high", "not-assessed"],
    codes.Sex: ["male", "female", "other", "unknown"],
    codes.EpisodeStatus: ["planned", "waitlist", "active", "onhold", "finished", "cancelled"],
    codes.ContactMode: [
        "phone",
        "home-visit",
        "clinic-visit",
        "telehealth",
        "message",
        "case-conference",
    ],
    codes.ContactWith: ["patient", "caregiver", "provider"],
    codes.ContactOutcome: [
        "reached",
        "no-answer",
        "left-message",
        "wrong-number",
        "declined",
        "agreed-to-visit",
    ],
    codes.ConditionClinicalStatus: [
        "active",
        "recurrence",
        "relapse",
        "inactive",
        "remission",
        "resolved",
    ],
    codes.MedicationStatus: ["active", "on-hold", "stopped", "completed"],
    codes.CarePlanStatus: [
        "draft",
        "active",
        "on-hold",
        "revoked",
        "completed",
        "entered-in-error",
    ],
    codes.GoalLifecycleStatus: [
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    ],
    codes.GoalAchievementStatus: [
        "in-progress",
        "improving",
        "worsening",
        "no-change",
        "achieved",
        "sustaining",
        "not-achieved",
        "no-progress",
        "not-attainable",
    ],
    codes.GoalPriority: ["high-priority", "medium-priority", "low-priority"],
    codes.InterventionStatus: [
        "not-started",
        "scheduled",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "stopped",
        "entered-in-error",
    ],
    codes.InterventionCategory: [
        "teaching-guidance-counseling",
        "treatments-procedures",
        "case-management",
        "surveillance",
    ],
    codes.ReferralPriority: ["routine", "urgent", "asap", "stat"],
    codes.ReferralStatus: [
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    ],
    codes.ServiceType: [
        "home-health",
        "physical-therapy",
        "occupational-therapy",
        "durable-medical-equipment",
        "social-work",
        "behavioral-health",
        "nutrition",
        "specialist",
        "community-resource",
        "hospice-palliative",
    ],
    codes.TaskStatus: [
        "requested",
        "in-progress",
        "on-hold",
        "completed",
        "cancelled",
        "failed",
        "entered-in-error",
    ],
    codes.TaskSource: [
        "contact",
        "goal",
        "intervention",
        "referral",
        "assessment-trigger",
        "transition-clock",
        "encounter",
        "manual",
    ],
    codes.TaskPriority: ["routine", "urgent", "asap", "stat"],
    codes.AuditAction: [
        "create",
        "update",
        "delete",
        "view",
        "export",
        "login",
        "login-failed",
        "lock",
        "unlock",
        "export-finished",
    ],
    codes.CareTeamRole: [
        "pcp",
        "specialist",
        "caregiver",
        "pharmacist",
        "social-worker",
        "home-health",
        "other",
    ],
    codes.Instrument: ["lace", "phq-9", "phq-2", "gad-7", "morse", "braden", "katz-adl"],
}


@pytest.mark.parametrize("enum_class", list(EXPECTED_CODES), ids=lambda cls: cls.__name__)
def test_codes_are_spelled_exactly(enum_class):
    assert [member.value for member in enum_class] == EXPECTED_CODES[enum_class]


@pytest.mark.parametrize("enum_class", list(EXPECTED_CODES), ids=lambda cls: cls.__name__)
def test_member_names_are_codes_with_underscores(enum_class):
    for member in enum_class:
        assert member.name == member.value.replace("-", "_")
        assert member == member.value  # StrEnum: compares equal to its code
        assert isinstance(member.label, str) and member.label


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (codes.ContactMode.home_visit, "Home visit"),
        (codes.ContactOutcome.agreed_to_visit, "Agreed to visit"),
        (codes.ContactOutcome.no_answer, "No answer"),
        (codes.GoalPriority.high_priority, "High"),
        (codes.TaskSource.assessment_trigger, "Assessment result"),
        (codes.TaskSource.transition_clock, "Transition of care"),
        (codes.ReferralStatus.ready, "Ready to start"),
        (codes.AuditAction.login_failed, "Sign-in refused"),
        (EpisodeStatus.onhold, "On hold"),
        (EpisodeStatus.active, "Active"),
        (CareTeamRole.pcp, "Primary care physician"),
        (CareTeamRole.social_worker, "Social worker"),
        (ReferralPriority.asap, "ASAP"),
        (ReferralPriority.stat, "STAT"),
        (codes.TaskPriority.routine, "Routine"),
        (codes.TaskStatus.failed, "Missed"),  # a clock step whose deadline passed unmet
        (codes.TaskStatus.in_progress, "In progress"),
        (Instrument.phq_9, "PHQ-9"),
        (Instrument.katz_adl, "Katz ADL"),
        (InterventionCategory.teaching_guidance_counseling, "Teaching, Guidance, and Counseling"),
        (InterventionCategory.treatments_procedures, "Treatments and Procedures"),
        (InterventionCategory.case_management, "Case Management"),
        (InterventionCategory.surveillance, "Surveillance"),
        (ServiceType.physical_therapy, "Physical therapy"),
        (ServiceType.home_health, "Home health"),
    ],
)
def test_labels(member, label):
    assert member.label == label


def test_the_label_table_covers_every_code_of_every_code_list_and_nothing_else():
    code_lists = all_code_lists()
    assert len(code_lists) > 25
    assert set(codes.LABELS) == {code_list.__name__ for code_list in code_lists}
    for code_list in code_lists:
        assert list(codes.LABELS[code_list.__name__]) == [member.value for member in code_list]


@pytest.mark.parametrize("code_list", all_code_lists(), ids=lambda cls: cls.__name__)
def test_labels_are_distinct_words_a_person_reads(code_list):
    labels = [member.label for member in code_list]
    assert len(set(labels)) == len(labels)  # two codes never read the same
    for label in labels:
        # A capital or a digit first, or an abbreviation spelled as clinicians
        # spell it ("eGFR").
        assert label[0].isupper() or label[0].isdigit() or label[1:2].isupper(), label
        assert label == label.strip() and "  " not in label and "_" not in label


def test_service_type_abbreviations():
    assert {service.value: service.abbreviation for service in ServiceType} == {
        "home-health": "HH",
        "physical-therapy": "PT",
        "occupational-therapy": "OT",
        "durable-medical-equipment": "DME",
        "social-work": "SW",
        "behavioral-health": "BH",
        "nutrition": "Nutrition",
        "specialist": "Specialist",
        "community-resource": "Community",
        "hospice-palliative": "Hospice",
    }


@pytest.mark.parametrize(
    ("outcome", "interactive"),
    [
        (ContactOutcome.reached, True),
        (ContactOutcome.agreed_to_visit, True),
        (ContactOutcome.declined, True),
        (ContactOutcome.no_answer, False),
        (ContactOutcome.left_message, False),
        (ContactOutcome.wrong_number, False),
        ("reached", True),
        ("left-message", False),
    ],
)
def test_is_interactive(outcome, interactive):
    assert is_interactive(outcome) is interactive


def test_parse_code_accepts_members_codes_and_names():
    assert parse_code(RiskTier, RiskTier.high, "risk_tier") is RiskTier.high
    assert parse_code(RiskTier, "high", "risk_tier") is RiskTier.high
    assert parse_code(RiskTier, "  HIGH ", "risk_tier") is RiskTier.high
    assert parse_code(ReferralStatus, "in_progress", "status") is ReferralStatus.in_progress
    assert parse_code(ReferralStatus, "in-progress", "status") is ReferralStatus.in_progress


@pytest.mark.parametrize("bad", ["severe", "", "   ", None, 3, "on hold"])
def test_parse_code_rejects_with_field_and_allowed_values(bad):
    with pytest.raises(ValidationError) as caught:
        parse_code(RiskTier, bad, "risk_tier")
    assert caught.value.field == "risk_tier"
    assert "low, moderate, high" in caught.value.message
    assert str(caught.value).startswith("Risk tier ")


def test_parse_code_does_not_cross_enums():
    with pytest.raises(ValidationError):
        parse_code(EpisodeStatus, "on-hold", "status")  # EpisodeOfCare spells it "onhold"
    assert parse_code(EpisodeStatus, "onhold", "status") is EpisodeStatus.onhold
