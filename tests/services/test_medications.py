"""MedicationService: the medication list and reconciliation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nursecase.db.models import Medication
from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def test_add_update_delete_with_audit(services, patient):
    med = services.medications.add(patient.id, "Furosemide", "40 mg", "oral", "daily")
    assert (med.status, med.last_reconciled) == ("active", None)
    assert services.audit.list_events("medication", med.id)[0].action == "create"

    stopped = services.medications.update(med.id, status="stopped", dose="20 mg")
    assert (stopped.status, stopped.dose) == ("stopped", "20 mg")
    assert services.audit.list_events("medication", med.id)[0].changed_fields == (
        "dose",
        "status",
    )

    services.medications.delete(med.id)
    assert services.medications.list_for_patient(patient.id) == []
    assert services.audit.list_events("medication", med.id)[0].action == "delete"
    with pytest.raises(NotFoundError):
        services.medications.update(med.id, dose="1 mg")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"name": " "}, "name"), ({"status": "paused"}, "status"), ({"dose": "x" * 81}, "dose")],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, patient, arguments, field):
    with pytest.raises(ValidationError) as caught:
        services.medications.add(patient.id, **({"name": "Metformin"} | arguments))
    assert caught.value.field == field
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Medication)).scalar_one() == 0


def test_reconcile_marks_current_medications_only(services, patient, clock):
    active = services.medications.add(patient.id, "Metformin")
    held = services.medications.add(patient.id, "Warfarin", status="on-hold")
    stopped = services.medications.add(patient.id, "Aspirin", status="stopped")
    clock.advance(days=3)

    assert services.medications.reconcile(patient.id) == 2

    by_id = {m.id: m for m in services.medications.list_for_patient(patient.id)}
    assert by_id[active.id].last_reconciled == date(2026, 11, 30)
    assert by_id[held.id].last_reconciled == date(2026, 11, 30)
    assert by_id[stopped.id].last_reconciled is None
    assert [m.name for m in by_id.values()] == ["Metformin", "Warfarin", "Aspirin"]
    for medication_id in (active.id, held.id):
        event = services.audit.list_events("medication", medication_id)[0]
        assert (event.action, event.changed_fields) == ("update", ("last_reconciled",))
    assert services.audit.verify_chain() is None
