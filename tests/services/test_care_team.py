"""CareTeamService: the people involved in a patient's care."""

from __future__ import annotations

import pytest

from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def test_add_update_delete_with_audit(services, patient):
    doctor = services.care_team.add(
        patient.id, "Dr Rao", "PCP", organisation="Main St Clinic", phone="(555) 010-2000"
    )
    daughter = services.care_team.add(patient.id, "Mia Smith", "caregiver")

    assert (doctor.role, doctor.phone) == ("pcp", "(555) 010-2000")
    assert [m.name for m in services.care_team.list_for_patient(patient.id)] == [
        "Mia Smith",
        "Dr Rao",
    ]
    services.care_team.update(daughter.id, phone="555 123 9999")
    assert services.audit.list_events("care_team_member", daughter.id)[0].changed_fields == (
        "phone",
    )
    services.care_team.delete(doctor.id)
    assert [m.id for m in services.care_team.list_for_patient(patient.id)] == [daughter.id]
    assert services.audit.list_events("care_team_member", doctor.id)[0].action == "delete"
    with pytest.raises(NotFoundError):
        services.care_team.delete(doctor.id)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"name": ""}, "name"), ({"role": "friend"}, "role"), ({"phone": "12"}, "phone")],
)
def test_bad_input_names_the_field_and_writes_nothing(services, patient, arguments, field):
    audit_before = services.audit.count()
    with pytest.raises(ValidationError) as caught:
        services.care_team.add(patient.id, **({"name": "Dr Rao", "role": "pcp"} | arguments))
    assert caught.value.field == field
    assert services.care_team.list_for_patient(patient.id) == []
    assert services.audit.count() == audit_before
