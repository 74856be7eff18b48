"""EpisodeService: starting episodes and moving them through FHIR EpisodeOfCare statuses."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from nursecase.db.models import Patient
from nursecase.services.errors import NotFoundError, ValidationError


@pytest.fixture
def patient(services):
    return services.patients.create("M1", "Smith", "Jo")


def test_new_patient_has_an_active_episode_with_history(services, patient):
    episode = services.episodes.current(patient.id)
    assert episode.status == "active"
    assert episode.start == date(2026, 11, 27)
    assert episode.is_open
    assert [(c.from_status, c.to_status, c.nurse_username) for c in episode.history] == [
        (None, "active", "alice")
    ]


def test_hold_then_finish_needs_a_reason_and_sets_the_end(services, patient, clock):
    episode = services.episodes.current(patient.id)
    services.episodes.change_status(episode.id, "onhold", reason="in hospital")
    clock.advance(days=3)
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.episodes.change_status(episode.id, "finished")
    assert caught.value.field == "reason"
    assert services.audit.count() == audit_before
    assert services.episodes.current(patient.id).status == "onhold"

    finished = services.episodes.change_status(episode.id, "finished", reason="goals met")

    assert finished.status == "finished"
    assert finished.end == date(2026, 11, 30)
    assert finished.closure_reason == "goals met"
    assert not finished.is_open
    assert [(c.from_status, c.to_status, c.reason) for c in finished.history] == [
        (None, "active", None),
        ("active", "onhold", "in hospital"),
        ("onhold", "finished", "goals met"),
    ]
    event = services.audit.list_events("episode", episode.id)[0]
    assert event.action == "update"
    assert event.changed_fields == ("closure_reason", "end", "status")
    assert services.patients.get(patient.id).episode_status == "finished"


def test_closed_episode_cannot_change_but_a_new_one_can_start(services, patient):
    episode = services.episodes.current(patient.id)
    services.episodes.change_status(episode.id, "cancelled", reason="moved away")

    with pytest.raises(ValidationError) as caught:
        services.episodes.change_status(episode.id, "active")
    assert caught.value.field == "status"

    started = services.episodes.start(patient.id, "planned")
    assert started.status == "planned"
    assert [e.id for e in services.episodes.list_for_patient(patient.id)] == [
        started.id,
        episode.id,
    ]
    assert services.episodes.current(patient.id).id == started.id
    assert services.audit.list_events("episode", started.id)[0].action == "create"


def test_only_one_open_episode_at_a_time(services, patient):
    with pytest.raises(ValidationError) as caught:
        services.episodes.start(patient.id)
    assert caught.value.field == "episode"
    assert len(services.episodes.list_for_patient(patient.id)) == 1


@pytest.mark.parametrize("status", ["on-hold-ish", "finished", ""])
def test_bad_status_codes(services, patient, status):
    services.episodes.change_status(services.episodes.current(patient.id).id, "cancelled", "x")
    with pytest.raises(ValidationError) as caught:
        services.episodes.start(patient.id, status)
    assert caught.value.field == "status"


def test_same_status_and_missing_episode(services, patient):
    episode = services.episodes.current(patient.id)
    with pytest.raises(ValidationError):
        services.episodes.change_status(episode.id, "active")
    with pytest.raises(NotFoundError):
        services.episodes.change_status(999, "onhold")


def test_patient_without_episode(services):
    patient = services.patients.create("M2", "Jones", "Al", start_episode=False)
    assert services.episodes.current(patient.id) is None
    assert services.episodes.list_for_patient(patient.id) == []


def stored_episode_status(services, patient_id: int) -> tuple[str | None, int]:
    """(episode_status, version) as the patient row holds them."""
    with services.context.read() as session:
        row = session.execute(
            select(Patient.episode_status, Patient.version).where(Patient.id == patient_id)
        ).one()
    return row.episode_status, row.version


def test_patient_row_follows_the_current_episode_status(services, patient):
    chart = services.patients.get(patient.id)
    assert stored_episode_status(services, patient.id) == ("active", chart.version)
    episode = services.episodes.current(patient.id)
    services.episodes.change_status(episode.id, "onhold", reason="in hospital")
    assert stored_episode_status(services, patient.id) == ("onhold", chart.version)
    services.episodes.change_status(episode.id, "finished", reason="goals met")
    assert stored_episode_status(services, patient.id) == ("finished", chart.version)
    services.episodes.start(patient.id, status="waitlist")
    assert stored_episode_status(services, patient.id) == ("waitlist", chart.version)
    assert services.patients.list_page()[0].episode_status == "waitlist"
    assert services.patients.count(episode_status="waitlist") == 1
    assert services.patients.count(episode_status="active") == 0
    # The chart edit opened before the episode changes still saves.
    saved = services.patients.update(patient.id, chart.version, address="1 Main St")
    assert saved.episode_status == "waitlist"


def test_refused_episode_change_leaves_the_patient_row(services, patient):
    episode = services.episodes.current(patient.id)
    with pytest.raises(ValidationError):
        services.episodes.change_status(episode.id, "finished")  # no reason
    with pytest.raises(ValidationError):
        services.episodes.start(patient.id)  # one open episode already
    assert stored_episode_status(services, patient.id)[0] == "active"


def test_patient_created_without_episode_has_no_episode_status(services):
    patient = services.patients.create("M9", "Lone", "Ann", start_episode=False)
    assert stored_episode_status(services, patient.id)[0] is None
    services.episodes.start(patient.id, status="planned")
    assert stored_episode_status(services, patient.id)[0] == "planned"
