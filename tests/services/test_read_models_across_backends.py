"""Every read model the screens show is the same on SQLite and on PostgreSQL, row for row.

The Pilot tests (tests/tui) run on SQLite only, except a few marked
``both_backends`` (tests/conftest.py): a screen never sees the database, only
the frozen read models the services return. This module is what makes that
safe. It seeds the Pilot tests' caseload (40 patients, seed 11, at the frozen
clock; tests/tui/conftest.py) on BOTH backends in the same run and reads, with
the arguments the screens use, on each:

- Today (worklist screen): mine, everyone's and each nurse's, the next due
  date, the rounds card (``summary``) of every patient, the flags;
- the caseload: every sort of ``SORTS`` (the sort menu's, checked against the
  screen's list) in both directions, mine and everyone's, in pages walked
  forward from the first page and backward from the last, with the counts;
  every filter (each risk tier, overdue, open referral, each episode status);
- the caseload search (and the referral form's patient picker): name
  prefixes, "family, given", "given family", an MRN prefix, a phone prefix,
  upper case, a query matching nobody, in two sorts;
- the referral queue: mine and everyone's, open, every status, each status,
  each priority, each service and each receiving organisation (the filters
  built by the screen's own ``QueueFilter``), the detail pane of every
  referral, the organisations the new-referral form offers;
- patient detail: the whole chart of every patient;
- the care plan editor: every patient's plans and care team, every plan's
  history; the nurse list (sign-in, reassigning a task).

Two databases at once: without a PostgreSQL server the tests skip as every
other PostgreSQL test does locally, and fail under ``CI`` (tests/conftest.py
``require_postgresql``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.demo import demo_nurse_username, seed_database
from nursecase.domain.codes import (
    EpisodeStatus,
    ReferralPriority,
    ReferralStatus,
    RiskTier,
    ServiceType,
)
from nursecase.screens.referral_views import EVERY_STATUS, QueueFilter
from nursecase.screens.worklist_sources import SORT_COLUMNS
from nursecase.services import make_services
from nursecase.services.patients import SORTS
from tests.conftest import FROZEN_NOW, require_postgresql
from tests.databases import PostgresqlDatabases, SqliteDatabases

#: The Pilot tests' caseload (tests/tui/conftest.py ``seeded_template``).
PATIENTS = 40
SEED = 11
#: A small page, so that a walk through the caseload crosses many page boundaries.
PAGE = 7
#: More than the caseload: one page holds every row.
EVERY_ROW = 1000


def seed_caseload(location: str) -> None:
    """Migrate and seed the Pilot tests' caseload at the frozen time."""
    engine = make_engine(location)
    ensure_schema(engine)
    seed_database(engine, FrozenClock(FROZEN_NOW), patients=PATIENTS, seed=SEED)
    engine.dispose()


@pytest.fixture(scope="module")
def caseloads(tmp_path_factory) -> Iterator[dict[str, object]]:
    """Services signed in as the demo nurse on each backend's copy of the caseload."""
    url = require_postgresql()
    backends = (
        SqliteDatabases(tmp_path_factory.mktemp("across-backends")),
        # Its own prefix: this process's session may hold PostgreSQL databases too.
        PostgresqlDatabases(url, tag="across"),
    )
    engines = []
    try:
        services = {}
        for backend in backends:
            engine = make_engine(backend.build("caseload", seed_caseload).location)
            engines.append(engine)
            clock = FrozenClock(FROZEN_NOW)
            services[backend.backend] = make_services(
                engine, clock, nurse=demo_nurse_username(engine)
            )
            # What the worklist does before it reads Today (screens/worklist.py read_today).
            services[backend.backend].transitions.close_lapsed_today()
        yield services
    finally:
        for engine in engines:
            engine.dispose()
        for backend in backends:
            backend.close()


def first_difference(sqlite: object, postgresql: object, path: str) -> str | None:
    """Where two read models differ first (type or value), or None when they are equal.

    Dataclasses field by field, sequences item by item, mappings key by key;
    a leaf must have the same type as well as the same value (25 and 25.0, or
    a naive and an aware datetime, would look different on screen).
    """
    if dataclasses.is_dataclass(sqlite) and type(sqlite) is type(postgresql):
        for field in dataclasses.fields(sqlite):
            found = first_difference(
                getattr(sqlite, field.name), getattr(postgresql, field.name), f"{path}.{field.name}"
            )
            if found:
                return found
        return None
    if isinstance(sqlite, list | tuple) and type(sqlite) is type(postgresql):
        if len(sqlite) != len(postgresql):
            return f"{path}: {len(sqlite)} rows on SQLite, {len(postgresql)} on PostgreSQL"
        for index, (left, right) in enumerate(zip(sqlite, postgresql, strict=True)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(sqlite, dict) and type(sqlite) is type(postgresql):
        if list(sqlite) != list(postgresql):
            return f"{path}: keys {list(sqlite)} on SQLite, {list(postgresql)} on PostgreSQL"
        for key in sqlite:
            found = first_difference(sqlite[key], postgresql[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if type(sqlite) is not type(postgresql) or sqlite != postgresql:
        return f"{path}:\n  SQLite:     {sqlite!r}\n  PostgreSQL: {postgresql!r}"
    return None


def same_on_both(caseloads, what: str, read: Callable[[object], object]):
    """``read(services)`` on each backend; fails naming the first difference; SQLite's result."""
    sqlite = read(caseloads["sqlite"])
    postgresql = read(caseloads["postgresql"])
    found = first_difference(sqlite, postgresql, what)
    assert found is None, f"the backends disagree at {found}"
    return sqlite


def demo_nurses(services) -> list[int | None]:
    """Each nurse's id, then None (everyone)."""
    return [nurse.id for nurse in services.nurses.list_nurses()] + [None]


def patient_ids(services) -> list[int]:
    """Every patient, by name."""
    return [row.id for row in services.patients.list_page(limit=EVERY_ROW)]


# ------------------------------------------------------------------- Today


def test_today_and_the_rounds_card_are_the_same(caseloads):
    nurses = same_on_both(caseloads, "nurses", lambda services: services.nurses.list_nurses())
    assert len(nurses) == 4
    everyone = same_on_both(
        caseloads, "today(None)", lambda services: services.worklist.today(None)
    )
    assert len(everyone) > 20
    for nurse in nurses:
        rows = same_on_both(
            caseloads,
            f"today({nurse.username})",
            lambda services, nurse_id=nurse.id: services.worklist.today(nurse_id),
        )
        assert {row.patient_id for row in rows} <= {row.patient_id for row in everyone}
        same_on_both(
            caseloads,
            f"next_due_date({nurse.username})",
            lambda services, nurse_id=nurse.id: services.worklist.next_due_date(nurse_id),
        )
    ids = same_on_both(caseloads, "patients", patient_ids)
    assert len(ids) == PATIENTS
    flags = same_on_both(caseloads, "flags_for", lambda services: services.worklist.flags_for(ids))
    assert any(flags.values())
    for patient_id in ids:
        same_on_both(
            caseloads,
            f"summary({patient_id})",
            lambda services, patient_id=patient_id: services.worklist.summary(patient_id),
        )


# ---------------------------------------------------------------- caseload


def walk_forward(services, **query) -> list[list]:
    """The caseload page by page from the top, as the table scrolls down."""
    pages = [services.patients.list_page(limit=PAGE, **query)]
    while len(pages[-1]) == PAGE:
        after = pages[-1][-1].sort_key
        pages.append(services.patients.list_page(after=after, limit=PAGE, **query))
    return pages


def walk_backward(services, **query) -> list[list]:
    """The caseload page by page from the bottom (End), as the table scrolls up."""
    pages = [services.patients.last_page(PAGE, **query)]
    while len(pages[-1]) == PAGE:
        before = pages[-1][0].sort_key
        pages.append(services.patients.list_page(before=before, limit=PAGE, **query))
    return pages


def test_the_screen_offers_exactly_the_sorts_compared_here():
    assert set(SORT_COLUMNS) == set(SORTS)


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_every_caseload_sort_is_the_same_page_by_page(caseloads, sort):
    mine = caseloads["sqlite"].context.nurse_id
    for nurse_id in (mine, None):
        for descending in (False, True):
            query = {"nurse_id": nurse_id, "sort": sort, "descending": descending}
            name = f"caseload(nurse={nurse_id}, sort={sort}, descending={descending})"
            whole = same_on_both(
                caseloads,
                name,
                lambda services, query=query: services.patients.list_page(limit=EVERY_ROW, **query),
            )
            assert len(whole) == caseloads["sqlite"].patients.count(nurse_id=nurse_id) > 10
            forward = same_on_both(
                caseloads,
                f"{name} forward",
                lambda services, query=query: walk_forward(services, **query),
            )
            assert [row for page in forward for row in page] == whole
            backward = same_on_both(
                caseloads,
                f"{name} backward",
                lambda services, query=query: walk_backward(services, **query),
            )
            assert [row for page in reversed(backward) for row in page] == whole


def caseload_filters() -> list[dict]:
    """Each filter of the caseload's filter menu, one at a time."""
    filters: list[dict] = [{"overdue": True}, {"open_referral": True}]
    filters += [{"risk_tier": str(tier)} for tier in RiskTier]
    filters += [{"episode_status": str(status)} for status in EpisodeStatus]
    return filters


def test_every_caseload_filter_is_the_same(caseloads):
    mine = caseloads["sqlite"].context.nurse_id
    matched = 0
    for nurse_id in (mine, None):
        for filters in caseload_filters():
            name = f"caseload(nurse={nurse_id}, {filters})"
            rows = same_on_both(
                caseloads,
                name,
                lambda services, filters=filters, nurse_id=nurse_id: services.patients.list_page(
                    nurse_id=nurse_id, limit=EVERY_ROW, **filters
                ),
            )
            count = same_on_both(
                caseloads,
                f"count {name}",
                lambda services, filters=filters, nurse_id=nurse_id: services.patients.count(
                    nurse_id=nurse_id, **filters
                ),
            )
            assert count == len(rows)
            matched += bool(rows)
    assert matched >= 10  # most filters find someone: the comparison is not of empty lists


def search_queries(services) -> list[str]:
    """Searches a nurse types, built from the signed-in nurse's first patient."""
    mine = services.patients.list_page(nurse_id=services.context.nurse_id, limit=1)
    first = services.patients.get(mine[0].id)
    digits = "".join(character for character in first.phone or "" if character.isdigit())
    return [
        first.family_name[:1].lower(),
        first.family_name[:3].lower(),
        first.family_name.upper(),
        f"{first.family_name} {first.given_name[:2]}",
        f"{first.family_name}, {first.given_name[:1]}",
        f"{first.given_name} {first.family_name}",
        first.mrn[:4],
        digits[:3],
        digits[:6],
        "zzqx",
    ]


def test_caseload_searches_are_the_same(caseloads):
    queries = search_queries(caseloads["sqlite"])
    mine = caseloads["sqlite"].context.nurse_id
    found = 0
    for search in queries:
        for nurse_id in (mine, None):
            for sort, descending in (("name", False), ("next_due", True)):
                name = f"search({search!r}, nurse={nurse_id}, sort={sort})"
                query = {
                    "nurse_id": nurse_id,
                    "search": search,
                    "sort": sort,
                    "descending": descending,
                }
                rows = same_on_both(
                    caseloads,
                    name,
                    lambda services, query=query: services.patients.list_page(
                        limit=EVERY_ROW, **query
                    ),
                )
                same_on_both(
                    caseloads,
                    f"{name} pages",
                    lambda services, query=query: walk_forward(services, **query),
                )
                found += bool(rows)
            same_on_both(
                caseloads,
                f"count search({search!r}, nurse={nurse_id})",
                lambda services, search=search, nurse_id=nurse_id: services.patients.count(
                    nurse_id=nurse_id, search=search
                ),
            )
    assert found == 36  # every query but "zzqx" finds the first patient at least


# ---------------------------------------------------------- referral queue


def queue_filters(organisations: list[str]) -> list[QueueFilter]:
    """Every choice of the queue's filter dialog, one at a time, mine and everyone's."""
    filters = []
    for everyone in (False, True):
        base = QueueFilter(everyone=everyone)
        filters.append(base)
        filters.append(base.with_changes(status=EVERY_STATUS))
        filters += [base.with_changes(status=str(status)) for status in ReferralStatus]
        filters += [
            base.with_changes(status=EVERY_STATUS, priority=str(priority))
            for priority in ReferralPriority
        ]
        filters += [
            base.with_changes(status=EVERY_STATUS, service_type=str(service))
            for service in ServiceType
        ]
        filters += [
            base.with_changes(status=EVERY_STATUS, organisation=organisation)
            for organisation in organisations
        ]
    return filters


def test_the_referral_queue_is_the_same_under_every_filter(caseloads):
    organisations = same_on_both(
        caseloads, "organisations", lambda services: services.referrals.organisations()
    )
    assert len(organisations) > 10
    same_on_both(
        caseloads,
        "recent_organisations",
        lambda services: services.referrals.recent_organisations(),
    )
    mine = caseloads["sqlite"].context.nurse_id
    shown = set()
    for queue_filter in queue_filters(organisations):
        page = same_on_both(
            caseloads,
            f"queue({queue_filter})",
            lambda services, arguments=queue_filter.query(mine): services.referrals.queue(
                **arguments
            ),
        )
        shown |= {referral.id for referral in page.referrals}
        assert page.total == len(page.referrals)
    every = caseloads["sqlite"].referrals.queue(open_only=False).referrals
    assert shown == {referral.id for referral in every}  # each referral was in some list
    assert len({referral.status for referral in every}) >= 10
    for referral_id in sorted(shown):
        same_on_both(
            caseloads,
            f"details({referral_id})",
            lambda services, referral_id=referral_id: services.referrals.details(referral_id),
        )


# ------------------------------------------------ patient detail, care plan


def test_every_chart_and_care_plan_is_the_same(caseloads):
    ids = same_on_both(caseloads, "patients", patient_ids)
    plans = 0
    for patient_id in ids:
        chart = same_on_both(
            caseloads,
            f"chart({patient_id})",
            lambda services, patient_id=patient_id: services.chart.load(patient_id),
        )
        assert chart.patient.id == patient_id
        for_patient = same_on_both(
            caseloads,
            f"care_plans({patient_id})",
            lambda services, patient_id=patient_id: services.care_plans.for_patient(patient_id),
        )
        same_on_both(
            caseloads,
            f"care_team({patient_id})",
            lambda services, patient_id=patient_id: services.care_team.list_for_patient(patient_id),
        )
        for plan in for_patient:
            plans += 1
            same_on_both(
                caseloads,
                f"care_plan_history({plan.id})",
                lambda services, plan_id=plan.id: services.care_plans.history(plan_id),
            )
    assert plans > 20


def test_every_patients_readings_are_the_same(caseloads):
    """The Vitals & labs tab, the rounds card line and the RPM month, patient by patient."""
    ids = same_on_both(caseloads, "patients", patient_ids)
    with_readings = 0
    for patient_id in ids:
        latest = same_on_both(
            caseloads,
            f"latest({patient_id})",
            lambda services, patient_id=patient_id: services.readings.latest(patient_id),
        )
        for reads in (
            (
                "alerts",
                lambda services, patient_id=patient_id: services.readings.alerts(patient_id),
            ),
            (
                "limits",
                lambda services, patient_id=patient_id: services.readings.limits(patient_id),
            ),
            (
                "enrolments",
                lambda services, patient_id=patient_id: services.readings.enrolments(patient_id),
            ),
            ("month", lambda services, patient_id=patient_id: services.readings.month(patient_id)),
        ):
            same_on_both(caseloads, f"{reads[0]}({patient_id})", reads[1])
        if latest:
            with_readings += 1
        for value in latest:
            same_on_both(
                caseloads,
                f"series({patient_id}, {value.measure})",
                lambda services, patient_id=patient_id, measure=value.measure: (
                    services.readings.series(patient_id, measure)
                ),
            )
    same_on_both(caseloads, "summary_lines", lambda services: services.readings.summary_lines(ids))
    assert with_readings > 0
