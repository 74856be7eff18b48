"""ConditionService: the problem list."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Condition
from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def test_add_update_delete_with_audit(services, patient):
    heart = services.conditions.add(
        patient.id, "Heart failure", code="i50.9", code_system="ICD-10", onset_date="2020-03-01"
    )
    old = services.conditions.add(patient.id, "Asthma", clinical_status="resolved")
    diabetes = services.conditions.add(patient.id, "Diabetes type 2")

    assert (heart.code, heart.code_system, heart.onset_date) == (
        "I50.9",
        "icd-10",
        date(2020, 3, 1),
    )
    assert [c.description for c in services.conditions.list_for_patient(patient.id)] == [
        "Diabetes type 2",
        "Heart failure",
        "Asthma",
    ]
    updated = services.conditions.update(heart.id, clinical_status="remission")
    assert updated.clinical_status == "remission"
    assert services.audit.list_events("condition", heart.id)[0].changed_fields == (
        "clinical_status",
    )
    services.conditions.delete(old.id)
    assert services.audit.list_events("condition", old.id)[0].action == "delete"
    assert {c.id for c in services.conditions.list_for_patient(patient.id)} == {
        heart.id,
        diabetes.id,
    }
    with pytest.raises(NotFoundError):
        services.conditions.delete(old.id)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"description": ""}, "description"),
        ({"code": "E11"}, "code_system"),
        ({"code_system": "snomed"}, "code"),
        ({"code": "E11", "code_system": "loinc"}, "code_system"),
        ({"clinical_status": "cured"}, "clinical_status"),
        ({"onset_date": "2026-11-28"}, "onset_date"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, patient, arguments, field):
    audit_before = services.audit.count()
    with pytest.raises(ValidationError) as caught:
        services.conditions.add(patient.id, **({"description": "Diabetes"} | arguments))
    assert caught.value.field == field
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Condition)).scalar_one() == 0
    assert services.audit.count() == audit_before


def test_update_keeps_code_and_system_together(services, patient):
    condition = services.conditions.add(patient.id, "COPD", code="J44.9", code_system="icd-10")
    with pytest.raises(ValidationError) as caught:
        services.conditions.update(condition.id, code_system=None)
    assert caught.value.field == "code_system"
    assert services.conditions.list_for_patient(patient.id)[0].code_system == "icd-10"
