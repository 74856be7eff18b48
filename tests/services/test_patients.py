"""PatientService: create, read, edit, delete, and the paged caseload list."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from nursecase.db.models import (
    Contact,
    Episode,
    EpisodeStatusHistory,
    Patient,
    Task,
)
from nursecase.services import make_services
from nursecase.services import patients as patients_module
from nursecase.services.errors import NotFoundError, StaleEditError, ValidationError

TODAY = date(2026, 11, 27)


def table_count(engine, model) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_create_fills_defaults_keys_episode_and_audit(services, engine):
    patient = services.patients.create(
        " mrn-001 ",
        "O'Brien-Zoë",
        "Ann",
        birth_date="1950-11-28",
        phone="(555) 123-4567",
    )

    assert patient.mrn == "MRN-001"
    assert patient.nurse_username == "alice"
    assert patient.nurse_display_name == "Alice Moreno"
    assert patient.age == 75  # the 76th birthday is tomorrow
    # No tier chosen: not assessed (issue 19, item 4), contacted at the moderate cadence.
    assert patient.risk_tier == "not-assessed"
    assert patient.next_contact_due == TODAY + timedelta(days=14)
    assert patient.episode_status == "active"
    assert patient.version == 1
    assert patient.open_task_count == 0
    with Session(engine) as session:
        row = session.get(Patient, patient.id)
        assert (row.family_key, row.given_key, row.phone_digits, row.mrn_key) == (
            "obrienzoe",
            "ann",
            "5551234567",
            "MRN001",
        )
        history = session.execute(select(EpisodeStatusHistory)).scalars().all()
        assert [(h.from_status, h.to_status) for h in history] == [(None, "active")]
    events = services.audit.list_events("patient", patient.id)
    assert [e.action for e in events] == ["create"]
    assert "family_name" in events[0].changed_fields
    assert services.audit.list_events("episode")[0].action == "create"


def test_create_uses_the_configured_cadence_and_named_nurse(services):
    services.nurses.create("bob", "Bob Lee")
    patient = services.patients.create(
        "M2", "Smith", "Jo", risk_tier="HIGH", nurse_username="bob", start_episode=False
    )
    assert patient.next_contact_due == TODAY + timedelta(days=7)
    assert patient.nurse_username == "bob"
    assert patient.episode_status is None


def test_duplicate_mrn_is_refused_and_nothing_written(services, engine):
    services.patients.create("M1", "Smith", "Jo")
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.patients.create("m1", "Jones", "Al")

    assert caught.value.field == "mrn"
    assert str(caught.value) == "MRN M1 is already used by another patient"
    assert table_count(engine, Patient) == 1
    assert table_count(engine, Episode) == 1
    assert services.audit.count() == audit_before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_date": "2026-11-28"}, "birth_date"),
        ({"birth_date": "1950-02-30"}, "birth_date"),
        ({"sex": "x"}, "sex"),
        ({"risk_tier": "extreme"}, "risk_tier"),
        ({"phone": "12"}, "phone"),
        ({"nurse_username": "nobody"}, "nurse_username"),
        ({"family_name": "   "}, "family_name"),
        ({"family_name": "!!!"}, "family_name"),
        ({"next_contact_due": "soon"}, "next_contact_due"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(services, engine, changes, field):
    arguments = {"mrn": "M1", "family_name": "Smith", "given_name": "Jo"} | changes
    audit_before = services.audit.count()

    with pytest.raises(ValidationError) as caught:
        services.patients.create(**arguments)

    assert caught.value.field == field
    assert table_count(engine, Patient) == 0
    assert table_count(engine, Episode) == 0
    assert services.audit.count() == audit_before


def test_update_changes_only_given_fields_and_keeps_keys_in_sync(services, engine, clock):
    patient = services.patients.create("M1", "Smith", "Jo", phone="555 000 1111")
    clock.advance(hours=1)

    updated = services.patients.update(
        patient.id, patient.version, family_name="Müller", phone="", given_name="Jo"
    )

    assert updated.family_name == "Müller"
    assert updated.given_name == "Jo"
    assert updated.phone is None
    assert updated.version == 2
    assert updated.updated_at == datetime(2026, 11, 27, 10, 0)
    assert updated.updated_by_username == "alice"
    with Session(engine) as session:
        row = session.get(Patient, patient.id)
        assert (row.family_key, row.phone_digits) == ("muller", None)
    event_ = services.audit.list_events("patient", patient.id)[0]
    assert event_.action == "update"
    assert event_.changed_fields == ("family_name", "phone")  # names only, no values


def test_stale_update_names_who_saved_and_when(services, engine, clock):
    patient = services.patients.create("M1", "Smith", "Jo")
    services.nurses.create("bob", "Bob Lee")
    bob = make_services(engine, clock, nurse="bob")
    clock.advance(minutes=5)
    bob.patients.update(patient.id, patient.version, address="1 Main St")

    with pytest.raises(StaleEditError) as caught:
        services.patients.update(patient.id, patient.version, address="2 Oak Ave")

    assert caught.value.changed_by == "Bob Lee"
    assert caught.value.changed_at == datetime(2026, 11, 27, 9, 5)
    assert "Bob Lee" in str(caught.value) and "2026-11-27 09:05" in str(caught.value)
    assert services.patients.get(patient.id).address == "1 Main St"


def test_update_refuses_unknown_fields_and_risk_tier(services):
    patient = services.patients.create("M1", "Smith", "Jo")
    with pytest.raises(ValidationError) as caught:
        services.patients.update(patient.id, patient.version, risk_tier="high")
    assert caught.value.field == "risk_tier"
    with pytest.raises(ValidationError) as caught:
        services.patients.update(patient.id, patient.version, shoe_size=9)
    assert caught.value.field == "shoe_size"


def test_update_to_an_mrn_in_use_is_refused(services):
    services.patients.create("M1", "Smith", "Jo")
    other = services.patients.create("M2", "Jones", "Al")
    with pytest.raises(ValidationError) as caught:
        services.patients.update(other.id, other.version, mrn="m1")
    assert caught.value.field == "mrn"
    assert services.patients.get(other.id).mrn == "M2"


def test_change_risk_tier_needs_a_reason_and_keeps_it(services):
    patient = services.patients.create("M1", "Smith", "Jo")
    with pytest.raises(ValidationError) as caught:
        services.patients.change_risk_tier(patient.id, "high", " ", patient.version)
    assert caught.value.field == "reason"

    changed = services.patients.change_risk_tier(
        patient.id, "high", "LACE 12 after readmission", patient.version
    )

    assert (changed.risk_tier, changed.risk_basis) == ("high", "LACE 12 after readmission")
    # The nurse's override: who set it and when are recorded beside the reason.
    assert changed.risk_source == "override"
    assert set(services.audit.list_events("patient", patient.id)[0].changed_fields) == {
        "risk_basis",
        "risk_source",
        "risk_set_at",
        "risk_set_by",
        "risk_tier",
    }


def test_set_next_contact_due(services):
    patient = services.patients.create("M1", "Smith", "Jo")
    changed = services.patients.set_next_contact_due(patient.id, "2026-12-01")
    assert changed.next_contact_due == date(2026, 12, 1)
    assert services.audit.list_events("patient", patient.id)[0].changed_fields == (
        "next_contact_due",
    )


def test_delete_cascades_and_is_audited(services, engine):
    patient = services.patients.create("M1", "Smith", "Jo")
    services.contacts.log(patient.id, "2026-11-27 08:00", "phone", "patient", "reached", 10)
    services.tasks.add(patient.id, "Call back", "2026-11-30")

    services.patients.delete(patient.id)

    for model in (Patient, Episode, EpisodeStatusHistory, Contact, Task):
        assert table_count(engine, model) == 0
    assert services.audit.list_events("patient", patient.id)[0].action == "delete"
    with pytest.raises(NotFoundError):
        services.patients.get(patient.id)
    assert services.audit.verify_chain() is None


def test_record_view_is_an_audited_access(services):
    patient = services.patients.create("M1", "Smith", "Jo")
    services.patients.record_view(patient.id)
    assert services.audit.list_events("patient", patient.id)[0].action == "view"
    with pytest.raises(NotFoundError):
        services.patients.record_view(9999)


def test_get_missing_patient(services):
    with pytest.raises(NotFoundError):
        services.patients.get(42)


# ------------------------------------------------------------------ caseload


@pytest.fixture
def caseload(services):
    services.nurses.create("bob", "Bob Lee")
    people = [
        ("M100", "Smith", "Jo", "alice", "555-111-2222"),
        ("M101", "Smith", "Anna", "alice", None),
        ("M102", "Smithers", "Ben", "bob", None),
        ("M103", "Müller", "Zoë", "alice", "555 333 4444"),
        ("M104", "van der Berg", "Kim", "bob", None),
        ("X200", "Adams", "Smith", "alice", None),
        ("X201", "Brown", "Carl", "alice", "999 111 2222"),
    ]
    created = {}
    for mrn, family, given, nurse, phone in people:
        created[mrn] = services.patients.create(
            mrn, family, given, nurse_username=nurse, phone=phone
        )
    return created


@pytest.fixture(params=["narrow", "broad"])
def search_plan(request, monkeypatch):
    """Both ways of reading a search page: collect-and-sort (narrow) and walk-and-filter."""
    threshold = 10**9 if request.param == "narrow" else 1
    monkeypatch.setattr(patients_module, "BROAD_SEARCH_MATCHES", threshold)
    return request.param


def names(rows):
    return [f"{row.family_name}, {row.given_name}" for row in rows]


def test_pages_follow_the_name_order_without_gaps_or_repeats(services, caseload):
    seen = []
    after = None
    while True:
        page = services.patients.list_page(after=after, limit=3)
        if not page:
            break
        seen.extend(page)
        after = page[-1].sort_key
    assert names(seen) == [
        "Adams, Smith",
        "Brown, Carl",
        "Müller, Zoë",
        "Smith, Anna",
        "Smith, Jo",
        "Smithers, Ben",
        "van der Berg, Kim",
    ]
    assert services.patients.count() == 7


def test_nurse_and_risk_filters(services, caseload):
    alice = services.context.nurse_id
    assert services.patients.count(nurse_id=alice) == 5
    services.patients.change_risk_tier(caseload["M101"].id, "high", "frail")
    rows = services.patients.list_page(nurse_id=alice, risk_tier="high")
    assert names(rows) == ["Smith, Anna"]
    # A page leaves the flags to whoever shows it (the worklist's flags_for).
    assert rows[0].flags == ()


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("smith", ["Adams, Smith", "Smith, Anna", "Smith, Jo", "Smithers, Ben"]),
        ("SMITH jo", ["Smith, Jo"]),
        ("jo smith", ["Smith, Jo"]),
        ("smith, a", ["Smith, Anna"]),
        ("muller", ["Müller, Zoë"]),
        ("zoe", ["Müller, Zoë"]),
        ("van der", ["van der Berg, Kim"]),
        ("m10", ["Müller, Zoë", "Smith, Anna", "Smith, Jo", "Smithers, Ben", "van der Berg, Kim"]),
        ("x2", ["Adams, Smith", "Brown, Carl"]),
        ("555", ["Müller, Zoë", "Smith, Jo"]),
        ("(555) 33", ["Müller, Zoë"]),
        ("99", []),  # two digits are not a phone search
        ("'''", []),
        ("nobody", []),
    ],
)
def test_search(services, caseload, search_plan, search, expected):
    assert names(services.patients.list_page(search=search)) == expected
    assert services.patients.count(search=search) == len(expected)


def test_search_pages_with_the_keyset_cursor(services, caseload, search_plan):
    first = services.patients.list_page(search="smith", limit=2)
    second = services.patients.list_page(search="smith", limit=2, after=first[-1].sort_key)
    assert names(first + second) == [
        "Adams, Smith",
        "Smith, Anna",
        "Smith, Jo",
        "Smithers, Ben",
    ]
    last = services.patients.last_page(limit=2, search="smith", sort="mrn", descending=True)
    above = services.patients.list_page(
        search="smith", limit=2, sort="mrn", descending=True, before=last[0].sort_key
    )
    assert [row.mrn for row in above + last] == ["X200", "M102", "M101", "M100"]


def test_rows_carry_age_flags_nurse_and_open_referral_counts(services, caseload):
    smith = caseload["M100"]
    services.patients.set_next_contact_due(smith.id, "2026-11-20")
    referrals = services.referrals
    for _ in range(3):
        referrals.create(smith.id, "physical-therapy", "PT Co", "gait")
    done = referrals.list_for_patient(smith.id)[0]
    done = referrals.transition(done.id, "accepted", done.version)
    done = referrals.transition(done.id, "in-progress", done.version)
    referrals.transition(done.id, "completed", done.version, outcome="walking")
    row = services.patients.list_page(search="smith jo")[0]
    assert row.open_referral_count == 2
    assert row.flags == ()
    assert row.nurse_username == "alice"
    assert row.episode_status == "active"
    assert row.risk_rank == 3  # not assessed: between high (4) and moderate (2)
    assert services.patients.get(smith.id).open_referral_count == 2
    assert services.patients.list_page(search="smith an")[0].open_referral_count == 0


def test_list_page_limit_is_validated(services):
    with pytest.raises(ValidationError) as caught:
        services.patients.list_page(limit=0)
    assert caught.value.field == "limit"


def captured_plans(engine, action):
    """EXPLAIN QUERY PLAN of every SELECT on patient that ``action`` runs."""
    statements = []

    def capture(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM patient" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append(" / ".join(row[-1] for row in rows))
    return plans


@pytest.mark.parametrize(
    ("filters", "range_reads"),
    [
        ({}, []),
        ({"nurse": True}, []),
        ({"search": "smith"}, ["family_key>? AND family_key<?", "given_key>? AND given_key<?"]),
        ({"search": "555"}, ["phone_digits>? AND phone_digits<?"]),
        # An MRN typed with punctuation it is not stored with: the key's index.
        ({"search": "m-10"}, ["mrn_key>? AND mrn_key<?"]),
        ({"search": "smith jo", "nurse": True}, ["family_key>? AND family_key<?"]),
    ],
)
@pytest.mark.sqlite_only  # reads SQLite's EXPLAIN QUERY PLAN; bench/ measures PostgreSQL
def test_caseload_queries_use_indexes(services, engine, caseload, filters, range_reads):
    nurse_id = services.context.nurse_id if filters.get("nurse") else None
    search = filters.get("search", "")

    def action():
        page = services.patients.list_page(nurse_id=nurse_id, search=search, limit=2)
        services.patients.list_page(nurse_id=nurse_id, search=search, after=page[-1].sort_key)

    plans = captured_plans(engine, action)
    # The first page; then the next page as two pieces: the cursor's ties, the
    # rest; each page after a probe counting its matches when there is a search.
    assert len(plans) == (5 if search else 3)
    probes = [plans[0], plans[2]] if search else []
    pages = [plan for plan in plans if plan not in probes] if search else plans
    for plan in plans:
        # Every access to patient goes through an index or the primary key, never a full scan.
        steps = [step for step in plan.split(" / ") if "patient" in step]
        assert steps, plan
        for step in steps:
            assert "INDEX" in step or "PRIMARY KEY" in step, plan
    for plan in pages:
        # The search prefixes are read as index ranges, not filtered row by row.
        steps = plan.split(" / ")
        for range_read in range_reads:
            assert any("INDEX" in step and range_read in step for step in steps), plan


@pytest.mark.sqlite_only  # reads SQLite's EXPLAIN QUERY PLAN
def test_a_broad_search_walks_the_sort_index_instead_of_sorting(
    services, engine, caseload, monkeypatch
):
    monkeypatch.setattr(patients_module, "BROAD_SEARCH_MATCHES", 3)

    def action():
        services.patients.list_page(search="smith", limit=2)
        services.patients.list_page(search="smithers", limit=2)

    probe_broad, page_broad, probe_narrow, page_narrow = captured_plans(engine, action)
    # Four "smith" matches reach the threshold: the page walks the name index in order.
    assert "ix_patient_name" in page_broad, page_broad
    assert "TEMP B-TREE" not in page_broad, page_broad
    # One "smithers" match: collected from the search indexes (a UNION), then sorted.
    assert "family_key>? AND family_key<?" in page_narrow, page_narrow
    assert "given_key>? AND given_key<?" in page_narrow, page_narrow
    for probe in (probe_broad, probe_narrow):
        assert "MULTI-INDEX OR" in probe, probe


def test_stale_delete_is_refused(services, engine):
    patient = services.patients.create("M1", "Smith", "Jo")
    services.patients.update(patient.id, patient.version, address="1 Main St")

    with pytest.raises(StaleEditError) as caught:
        services.patients.delete(patient.id, expected_version=patient.version)

    assert caught.value.changed_by == "Alice Moreno"
    assert table_count(engine, Patient) == 1


def stored_sort_columns(engine, patient_id):
    with Session(engine) as session:
        return session.execute(
            select(Patient.risk_rank, Patient.episode_status, Patient.open_referral_count).where(
                Patient.id == patient_id
            )
        ).one()


@pytest.mark.parametrize(
    ("tier", "rank"), [("high", 4), ("not-assessed", 3), ("moderate", 2), ("low", 1)]
)
def test_create_fills_the_caseload_sort_columns(services, engine, tier, rank):
    patient = services.patients.create("M1", "Smith", "Jo", risk_tier=tier)
    assert tuple(stored_sort_columns(engine, patient.id)) == (rank, "active", 0)
    row = services.patients.list_page()[0]
    assert (row.risk_rank, row.episode_status, row.open_referral_count) == (rank, "active", 0)


def test_create_without_episode_leaves_episode_status_empty(services, engine):
    patient = services.patients.create("M1", "Smith", "Jo", start_episode=False)
    assert stored_sort_columns(engine, patient.id).episode_status is None


def test_change_risk_tier_moves_the_risk_rank(services, engine):
    patient = services.patients.create("M1", "Smith", "Jo", risk_tier="low")
    services.patients.change_risk_tier(patient.id, "high", "fell twice")
    assert stored_sort_columns(engine, patient.id).risk_rank == 4
    services.patients.change_risk_tier(patient.id, "moderate", "steady")
    assert stored_sort_columns(engine, patient.id).risk_rank == 2
    with pytest.raises(ValidationError):
        services.patients.change_risk_tier(patient.id, "extreme", "?")
    # "Not assessed" is where a patient starts, not a tier set with a reason.
    with pytest.raises(ValidationError) as caught:
        services.patients.change_risk_tier(patient.id, "not-assessed", "no LACE yet")
    assert str(caught.value) == "Risk tier must be low, moderate or high"
    with pytest.raises(ValidationError) as caught:
        services.patients.create("M2", "Smith", "Al", risk_reason="lives alone")
    assert caught.value.field == "risk_reason"
    assert stored_sort_columns(engine, patient.id).risk_rank == 2
