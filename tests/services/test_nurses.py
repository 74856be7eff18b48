"""NurseService: creating, listing and signing in nurses."""

from __future__ import annotations

import pytest

from nursecase.services import make_services
from nursecase.services.errors import ValidationError


def test_create_normalises_username_and_audits(services):
    nurse = services.nurses.create("  Bob.Lee_2 ", "Bob Lee", "RN")

    assert nurse.username == "bob.lee_2"
    assert services.nurses.get_by_username("BOB.LEE_2") == nurse
    assert [n.username for n in services.nurses.list_nurses()] == ["alice", "bob.lee_2"]
    events = services.audit.list_events("nurse", nurse.id)
    assert [event.action for event in events] == ["create"]
    assert events[0].nurse_username == "alice"


def test_duplicate_username_is_refused_and_nothing_written(services):
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.nurses.create("ALICE", "Another Alice")

    assert caught.value.field == "username"
    assert "already taken" in str(caught.value)
    assert services.nurses.count() == 1
    assert services.audit.count() == audit_before


@pytest.mark.parametrize("username", ["a", "al ice", "bob!", "x" * 65, ""])
def test_bad_usernames_name_the_field(services, username):
    with pytest.raises(ValidationError) as caught:
        services.nurses.create(username, "Someone")
    assert caught.value.field == "username"
    assert services.nurses.count() == 1


def test_blank_display_name_is_refused(services):
    with pytest.raises(ValidationError) as caught:
        services.nurses.create("bob", "  ")
    assert caught.value.field == "display_name"


def test_sign_in_sets_the_context_and_records_a_login(engine, clock):
    services = make_services(engine, clock)
    assert services.nurses.current() is None
    bob = services.nurses.create("bob", "Bob Lee", "RN, CCM")

    signed_in = services.nurses.sign_in("Bob")

    assert signed_in == bob
    assert services.context.nurse_id == bob.id
    assert services.context.nurse_name == "Bob Lee"
    assert services.nurses.current() == bob
    login = services.audit.list_events("nurse", bob.id)[0]
    assert login.action == "login"
    assert login.nurse_username == "bob"


def test_sign_in_unknown_lists_known_nurses_and_keeps_the_session(services):
    services.nurses.create("bob", "Bob Lee")
    audit_before = services.audit.count()
    alice_id = services.context.nurse_id

    with pytest.raises(ValidationError) as caught:
        services.nurses.sign_in("zed")

    assert caught.value.field == "nurse"
    assert str(caught.value) == "No nurse with username 'zed'; known: alice, bob"
    assert services.context.nurse_id == alice_id
    assert services.audit.count() == audit_before
