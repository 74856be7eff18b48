"""Caseload paging: every sort, both directions, NULLs last, filters, and index use.

One seeded database per module (120 demo patients plus hand-made ones with
empty birth dates, next-due dates and contacts); every walk is compared with a
plain Python sort of the rows the database holds.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.db.models import Patient
from nursecase.demo import seed_database
from nursecase.services import make_services
from nursecase.services.errors import ValidationError
from nursecase.services.patients import NULL_SEGMENT, SORTS, VALUE_SEGMENT

NOW = datetime(2026, 11, 27, 9, 0, 0)
TODAY = NOW.date()
SORT_NAMES = list(SORTS)
#: The stored column(s) behind each sort, and whether it runs opposite to the display.
SORT_COLUMNS = {
    "name": (("family_key", "given_key"), False),
    "mrn": (("mrn",), False),
    "age": (("birth_date",), True),
    "risk": (("risk_rank",), False),
    "last_contact": (("last_contact_at",), False),
    "next_due": (("next_contact_due",), False),
    "referrals": (("open_referral_count",), False),
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Services on a database with 120 demo patients and a few with empty columns."""
    path = tmp_path_factory.mktemp("paging") / "nursecase.db"
    engine = make_engine(path)
    ensure_schema(engine)
    clock = FrozenClock(NOW)
    seed_database(engine, clock, patients=120, seed=3)
    services = make_services(engine, clock)
    services.nurses.create("alice", "Alice Moreno")
    services.nurses.sign_in("alice")
    patients = services.patients
    # No birth date, no contact yet, and (for some) no next contact due: the
    # NULL segment of the age, last-contact and next-due sorts.
    for number in range(6):
        patient = patients.create(f"N{number:03d}", f"Nobirth{number % 3}", "Kim")
        if number % 2:
            patients.set_next_contact_due(patient.id, None)
    patients.create("N100", "Oldest", "Ann", birth_date=date(1900, 1, 1), risk_tier="high")
    patients.create("N101", "Newborn", "Ben", birth_date=TODAY, risk_tier="low")
    # Referrals through the service: the denormalised count follows them.
    patient_ids = [row.id for row in patients.list_page(limit=12)]
    sent = [
        services.referrals.create(patient_id, "physical-therapy", "PT Co", "gait")
        for patient_id in patient_ids
    ]
    for read in sent[:5]:
        services.referrals.transition(read.id, "cancelled", read.version, reason="declined")
    yield services
    engine.dispose()


def all_patients(services) -> list[Patient]:
    with Session(services.context.engine, expire_on_commit=False) as session:
        return list(session.execute(select(Patient)).scalars())


def nurse_with_most_patients(services) -> int:
    counts: dict[int, int] = {}
    for patient in all_patients(services):
        counts[patient.nurse_id] = counts.get(patient.nurse_id, 0) + 1
    return max(counts, key=counts.get)


def expected_order(patients: list[Patient], sort: str, descending: bool) -> list[int]:
    """A straightforward sort: rows with a value by (value, id), then NULL rows by id."""
    columns, inverted = SORT_COLUMNS[sort]
    column_descending = descending != inverted

    def values(patient):
        return tuple(getattr(patient, column) for column in columns)

    with_value = [patient for patient in patients if None not in values(patient)]
    without = [patient for patient in patients if None in values(patient)]
    with_value.sort(key=lambda patient: (values(patient), patient.id), reverse=column_descending)
    without.sort(key=lambda patient: patient.id)
    return [patient.id for patient in with_value + without]


def walk_forward(services, limit: int, **options) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = services.patients.list_page(after=after, limit=limit, **options)
        assert len(page) <= limit
        if not page:
            return seen
        seen.extend(row.id for row in page)
        after = page[-1].sort_key
        assert len(seen) < 10_000, "paging does not end"


def walk_backward(services, limit: int, **options) -> list[int]:
    """From the last page up to the first; the pages' rows joined in display order."""
    pages = [services.patients.last_page(limit, **options)]
    while pages[-1]:
        pages.append(
            services.patients.list_page(before=pages[-1][0].sort_key, limit=limit, **options)
        )
        assert len(pages) < 10_000, "paging does not end"
    return [row.id for page in reversed(pages) for row in page]


def test_the_data_has_nulls_ties_and_open_referrals(seeded):
    patients = all_patients(seeded)
    assert len(patients) == 128
    assert sum(patient.birth_date is None for patient in patients) == 6
    assert sum(patient.next_contact_due is None for patient in patients) >= 3
    assert sum(patient.last_contact_at is None for patient in patients) >= 8
    assert sum(patient.open_referral_count > 0 for patient in patients) >= 7
    assert {patient.risk_rank for patient in patients} == {1, 2, 3, 4}


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", SORT_NAMES)
def test_walking_every_page_matches_a_python_sort(seeded, sort, descending):
    expected = expected_order(all_patients(seeded), sort, descending)
    for limit in (1, 7, 50, 1000):
        assert walk_forward(seeded, limit, sort=sort, descending=descending) == expected
    assert walk_backward(seeded, 7, sort=sort, descending=descending) == expected
    assert walk_backward(seeded, 1, sort=sort, descending=descending) == expected
    last = seeded.patients.last_page(10, sort=sort, descending=descending)
    assert [row.id for row in last] == expected[-10:]
    assert seeded.patients.count() == len(expected)


@pytest.mark.parametrize("sort", SORT_NAMES)
def test_one_nurses_caseload_in_every_sort(seeded, sort):
    nurse_id = nurse_with_most_patients(seeded)
    mine = [patient for patient in all_patients(seeded) if patient.nurse_id == nurse_id]
    for descending in (False, True):
        expected = expected_order(mine, sort, descending)
        options = {"nurse_id": nurse_id, "sort": sort, "descending": descending}
        assert walk_forward(seeded, 9, **options) == expected
        assert walk_backward(seeded, 9, **options) == expected
    assert seeded.patients.count(nurse_id=nurse_id) == len(mine)


def test_age_ascending_is_youngest_first_and_nulls_last(seeded):
    rows = seeded.patients.list_page(sort="age", limit=1000)
    assert rows[0].family_name == "Newborn"
    ages = [row.age for row in rows if row.age is not None]
    assert ages == sorted(ages)
    assert all(row.birth_date is None for row in rows[-6:])
    descending = seeded.patients.list_page(sort="age", descending=True, limit=1000)
    assert descending[0].family_name == "Oldest"
    assert all(row.birth_date is None for row in descending[-6:])


def test_cursor_names_its_segment(seeded):
    rows = seeded.patients.list_page(sort="next_due", limit=1000)
    dated = [row for row in rows if row.next_contact_due is not None]
    undated = [row for row in rows if row.next_contact_due is None]
    assert dated[0].sort_key == (VALUE_SEGMENT, dated[0].next_contact_due, dated[0].id)
    assert undated[0].sort_key == (NULL_SEGMENT, None, undated[0].id)
    assert rows[-len(undated) :] == undated
    name_row = seeded.patients.list_page(limit=1)[0]
    stored = next(patient for patient in all_patients(seeded) if patient.id == name_row.id)
    assert name_row.sort_key == (VALUE_SEGMENT, (stored.family_key, stored.given_key), stored.id)
    # The page just before the first NULL row ends with the last dated row.
    before = seeded.patients.list_page(sort="next_due", before=undated[0].sort_key, limit=3)
    assert [row.id for row in before] == [row.id for row in dated[-3:]]
    after = seeded.patients.list_page(sort="next_due", after=dated[-1].sort_key, limit=2)
    assert [row.id for row in after] == [row.id for row in undated[:2]]


FILTERS = [
    ({"overdue": True}, lambda p: p.next_contact_due is not None and p.next_contact_due < TODAY),
    ({"open_referral": True}, lambda p: p.open_referral_count > 0),
    ({"episode_status": "onhold"}, lambda p: p.episode_status == "onhold"),
    ({"episode_status": "finished"}, lambda p: p.episode_status == "finished"),
    ({"risk_tier": "high"}, lambda p: p.risk_tier == "high"),
    (
        {"risk_tier": "moderate", "overdue": True},
        lambda p: (
            p.risk_tier == "moderate"
            and p.next_contact_due is not None
            and p.next_contact_due < TODAY
        ),
    ),
]


@pytest.mark.parametrize(("filters", "keep"), FILTERS, ids=[str(f[0]) for f in FILTERS])
def test_filters_page_and_count_together(seeded, filters, keep):
    kept = [patient for patient in all_patients(seeded) if keep(patient)]
    assert kept, "the seeded data should give every filter something to find"
    for sort in ("name", "next_due", "risk", "age"):
        for descending in (False, True):
            expected = expected_order(kept, sort, descending)
            options = {"sort": sort, "descending": descending, **filters}
            assert walk_forward(seeded, 4, **options) == expected
            assert walk_backward(seeded, 4, **options) == expected
    assert seeded.patients.count(**filters) == len(kept)


def test_the_open_referral_filter_follows_referral_changes(seeded):
    patient = seeded.patients.create("R001", "Referred", "Rita", start_episode=False)
    assert seeded.patients.list_page(search="referred", open_referral=True) == []
    sent = seeded.referrals.create(patient.id, "home-health", "Home Co", "wound care")
    rows = seeded.patients.list_page(search="referred", open_referral=True)
    assert [(row.id, row.open_referral_count) for row in rows] == [(patient.id, 1)]
    seeded.referrals.transition(sent.id, "rejected", sent.version, reason="out of area")
    assert seeded.patients.list_page(search="referred", open_referral=True) == []
    assert seeded.patients.list_page(search="referred")[0].open_referral_count == 0
    seeded.patients.delete(patient.id)


@pytest.mark.parametrize("sort", SORT_NAMES)
def test_search_combines_with_every_sort(seeded, sort):
    prefix = "m"
    matched = {row.id for row in seeded.patients.list_page(search=prefix, limit=1000)}
    assert 5 < len(matched) < 128
    chosen = [patient for patient in all_patients(seeded) if patient.id in matched]
    for descending in (False, True):
        expected = expected_order(chosen, sort, descending)
        options = {"search": prefix, "sort": sort, "descending": descending}
        assert walk_forward(seeded, 3, **options) == expected
        assert walk_backward(seeded, 3, **options) == expected
    assert seeded.patients.count(search=prefix) == len(matched)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"sort": "shoe size"}, "sort"),
        ({"sort": None}, "sort"),
        ({"descending": "yes"}, "descending"),
        ({"episode_status": "on-hold"}, "episode_status"),
        ({"overdue": "true"}, "overdue"),
        ({"open_referral": 1}, "open_referral"),
        ({"limit": 0}, "limit"),
        ({"after": (0, "smith", 1)}, "after"),  # a name cursor is a pair of keys
        ({"sort": "age", "after": (0, datetime(2000, 1, 1), 1)}, "after"),
        ({"sort": "risk", "after": (0, "3", 1)}, "after"),
        ({"sort": "risk", "after": (1, None, 1)}, "after"),  # risk has no NULL segment
        ({"sort": "next_due", "before": (2, None, 1)}, "before"),
        ({"sort": "mrn", "before": (0, "M1", "1")}, "before"),
        ({"after": (0, ("a", "b"), 1), "before": (0, ("a", "b"), 2)}, "before"),
    ],
)
def test_bad_paging_options_name_the_field(seeded, options, field):
    with pytest.raises(ValidationError) as caught:
        seeded.patients.list_page(**options)
    assert caught.value.field == field


def test_last_page_and_count_validate_too(seeded):
    with pytest.raises(ValidationError) as caught:
        seeded.patients.last_page(10, sort="height")
    assert caught.value.field == "sort"
    with pytest.raises(ValidationError) as caught:
        seeded.patients.count(episode_status="paused")
    assert caught.value.field == "episode_status"


def test_rows_carry_the_new_columns(seeded):
    rows = seeded.patients.list_page(sort="risk", descending=True, limit=1000)
    by_id = {patient.id: patient for patient in all_patients(seeded)}
    for row in rows:
        stored = by_id[row.id]
        assert (row.risk_rank, row.episode_status, row.open_referral_count) == (
            stored.risk_rank,
            stored.episode_status,
            stored.open_referral_count,
        )
    assert [row.risk_rank for row in rows] == sorted((row.risk_rank for row in rows), reverse=True)


# ----------------------------------------------------------------- index use


def captured_plans(engine, action) -> list[str]:
    """EXPLAIN QUERY PLAN of every SELECT on patient that ``action`` sends."""
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


#: The index each sort's first page walks: (all nurses, one nurse). The MRN's
#: unique index (whatever name the database gave it) serves "mrn" for all nurses.
SORT_INDEXES = {
    "name": ("ix_patient_name", "ix_patient_nurse_name"),
    "mrn": (None, "ix_patient_nurse_mrn"),
    "age": ("ix_patient_birth", "ix_patient_nurse_birth"),
    "risk": ("ix_patient_risk", "ix_patient_nurse_risk"),
    "last_contact": ("ix_patient_last", "ix_patient_nurse_last"),
    "next_due": ("ix_patient_due_id", "ix_patient_nurse_due_id"),
    "referrals": ("ix_patient_referrals", "ix_patient_nurse_referrals"),
}


@pytest.mark.parametrize("nurse", [False, True], ids=["all nurses", "one nurse"])
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", SORT_NAMES)
def test_every_page_query_reads_an_index_in_order(seeded, sort, descending, nurse):
    nurse_id = nurse_with_most_patients(seeded) if nurse else None
    options = {"nurse_id": nurse_id, "sort": sort, "descending": descending}
    engine = seeded.context.engine

    pages = {}

    def first_page():
        pages["first"] = seeded.patients.list_page(limit=5, **options)

    def last_page():
        pages["last"] = seeded.patients.last_page(5, **options)

    first_plans = captured_plans(engine, first_page)
    last_plans = captured_plans(engine, last_page)
    next_plans = captured_plans(
        engine,
        lambda: seeded.patients.list_page(after=pages["first"][-1].sort_key, limit=5, **options),
    )
    before_plans = captured_plans(
        engine,
        lambda: seeded.patients.list_page(before=pages["last"][0].sort_key, limit=5, **options),
    )
    plans = first_plans + last_plans + next_plans + before_plans
    # The first page walks the sort column's index (mrn: its unique index) and stops.
    patient_steps = [step for step in first_plans[0].split(" / ") if "patient" in step]
    assert len(first_plans) == 1
    assert len(patient_steps) == 1, first_plans
    assert "INDEX" in patient_steps[0], first_plans
    index = SORT_INDEXES[sort][1 if nurse else 0]
    assert index is None or f"INDEX {index} " in patient_steps[0] + " ", first_plans
    for plan in plans:
        steps = [step for step in plan.split(" / ") if "patient" in step]
        assert steps, plan
        for step in steps:
            # An index (or the primary key) read in the wanted order: never the table, no sort.
            assert "INDEX" in step or "PRIMARY KEY" in step, plan
        assert "TEMP B-TREE" not in plan, plan
        if nurse:
            assert "nurse_id=?" in plan, plan
    # Past a cursor, the first piece seeks straight to it: equal value(s), then the id range.
    for cursor_plans in (next_plans, before_plans):
        seek = cursor_plans[0].split(" / ")[0]
        assert seek.startswith("SEARCH patient"), cursor_plans
        assert "id>?" in seek or "id<?" in seek, cursor_plans
