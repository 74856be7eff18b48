"""ReferralService against a real migrated file database and a frozen clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from nursecase.db.models import AuditEvent, Patient, Referral, ReferralStatusHistory
from nursecase.domain.codes import ReferralStatus
from nursecase.domain.referral_states import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    TransitionError,
    allowed_next,
)
from nursecase.services import make_services
from nursecase.services.audit import AuditService
from nursecase.services.context import ServiceContext
from nursecase.services.errors import NotFoundError, StaleEditError, ValidationError
from nursecase.services.referrals import ReferralService

#: A path of moves from "requested" (or from "draft" when it starts with "draft") to each status.
PATHS: dict[str, tuple[str, ...]] = {
    "draft": ("draft",),
    "requested": (),
    "received": ("received",),
    "accepted": ("accepted",),
    "ready": ("draft", "ready"),
    "in-progress": ("accepted", "in-progress"),
    "on-hold": ("accepted", "in-progress", "on-hold"),
    "completed": ("accepted", "in-progress", "completed"),
    "failed": ("accepted", "in-progress", "failed"),
    "cancelled": ("cancelled",),
    "rejected": ("rejected",),
    "entered-in-error": ("entered-in-error",),
}

LEGAL_MOVES = [
    (str(source), str(target)) for source in ReferralStatus for target in allowed_next(source)
]


def second_terminal(engine, clock, username: str, display_name: str):
    """Another workstation on the same database file, with its own signed-in nurse."""
    other = make_services(engine, clock)
    other.nurses.create(username, display_name)
    other.nurses.sign_in(username)
    return other


@pytest.fixture
def context(services) -> ServiceContext:
    return services.context


@pytest.fixture
def patient_id(services) -> int:
    return services.patients.create("MRN-100", "Garcia", "Rosa").id


@pytest.fixture
def referrals(services) -> ReferralService:
    return services.referrals


def count(context: ServiceContext, model) -> int:
    with context.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def send_physical_therapy(referrals, patient_id, **options):
    return referrals.create(
        patient_id,
        "physical-therapy",
        "Riverside PT",
        "Gait training after hip fracture",
        **options,
    )


def reach(referrals, patient_id, status: str):
    """Create a referral and walk it to ``status`` through the service."""
    path = PATHS[status]
    read = send_physical_therapy(referrals, patient_id, send=path[:1] != ("draft",))
    for step in path:
        if step == "draft":
            continue
        read = referrals.transition(read.id, step, read.version, reason="why", outcome="done")
    assert read.status == status
    return read


def test_create_sends_by_default_with_history_and_audit(context, referrals, patient_id):
    read = send_physical_therapy(referrals, patient_id, receiving_contact="Dana, intake")

    assert read.status == "requested"
    assert (read.patient_name, read.patient_mrn, read.nurse_username) == (
        "Garcia, Rosa",
        "MRN-100",
        "alice",
    )
    assert read.priority == "routine"
    assert read.expected_reply_date == date(2026, 12, 7)  # routine: 10 calendar days
    assert (read.days_in_status, read.aging_bucket, read.reply_overdue) == (0, "0-7", False)
    assert read.allowed_next == (
        "received",
        "accepted",
        "rejected",
        "cancelled",
        "entered-in-error",
    )
    assert read.version == 1
    history = referrals.history(read.id)
    assert [(row.from_status, row.to_status) for row in history] == [
        (None, "draft"),
        ("draft", "requested"),
    ]
    assert all(row.nurse_username == "alice" for row in history)
    with context.read() as session:
        stored = session.get(Referral, read.id)
        assert (stored.status, stored.receiving_contact) == ("requested", "Dana, intake")
    assert [event.action for event in AuditService(context).list_events("referral", read.id)] == [
        "create"
    ]


def test_create_as_draft_and_priority_default_reply(referrals, patient_id):
    draft = send_physical_therapy(referrals, patient_id, send=False, priority="stat")
    assert draft.status == "draft"
    assert draft.expected_reply_date == date(2026, 11, 28)  # stat: 1 day
    assert [(row.from_status, row.to_status) for row in referrals.history(draft.id)] == [
        (None, "draft")
    ]
    chosen = send_physical_therapy(referrals, patient_id, expected_reply_date="2026-12-02")
    assert chosen.expected_reply_date == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"service_type": "massage"}, "service_type"),
        ({"receiving_organisation": "  "}, "receiving_organisation"),
        ({"reason": ""}, "reason"),
        ({"priority": "whenever"}, "priority"),
        ({"expected_reply_date": "2026-11-26"}, "expected_reply_date"),
        ({"expected_reply_date": "12/01/2026"}, "expected_reply_date"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(
    context, referrals, patient_id, arguments, field
):
    events_before = count(context, AuditEvent)
    values = {
        "service_type": "social-work",
        "receiving_organisation": "County Aging Services",
        "reason": "Meals on wheels",
    } | arguments
    with pytest.raises(ValidationError) as raised:
        referrals.create(patient_id, **values)
    assert raised.value.field == field
    assert count(context, Referral) == 0
    assert count(context, ReferralStatusHistory) == 0
    assert count(context, AuditEvent) == events_before


def test_create_for_unknown_patient(context, referrals, patient_id):
    with pytest.raises(NotFoundError):
        send_physical_therapy(referrals, patient_id + 1)
    assert count(context, Referral) == 0


@pytest.mark.parametrize(("source", "target"), LEGAL_MOVES)
def test_every_legal_transition_succeeds(context, referrals, patient_id, source, target):
    start = reach(referrals, patient_id, source)
    history_before = len(referrals.history(start.id))
    context.clock.advance(hours=2)

    moved = referrals.transition(
        start.id,
        target,
        start.version,
        reason="patient asked",
        outcome="sessions delivered",
    )

    assert moved.status == target
    assert moved.version == start.version + 1
    assert moved.status_changed_at == context.clock.now()
    history = referrals.history(start.id)
    assert len(history) == history_before + 1
    last = history[-1]
    assert (last.from_status, last.to_status, last.reason) == (source, target, "patient asked")
    assert last.changed_at == context.clock.now()
    with context.read() as session:
        assert session.get(Referral, start.id).status == target
    events = AuditService(context).list_events("referral", start.id)
    assert events[0].action == "update" and "status" in events[0].changed_fields


def test_illegal_transitions_are_refused_with_nothing_written(context, referrals, patient_id):
    refused = 0
    for source in PATHS:
        start = reach(referrals, patient_id, source)
        history_before = len(referrals.history(start.id))
        events_before = count(context, AuditEvent)
        for target in ReferralStatus:
            if target in allowed_next(source):
                continue
            with pytest.raises(TransitionError) as raised:
                referrals.transition(start.id, target, start.version, reason="x", outcome="y")
            assert raised.value.field == "status"
            refused += 1
        after = referrals.get(start.id)
        assert (after.status, after.version) == (source, start.version)
        assert len(referrals.history(start.id)) == history_before
        assert count(context, AuditEvent) == events_before
    assert refused > 60  # every status was tried against every illegal target
    with pytest.raises(ValidationError) as raised:
        referrals.transition(start.id, "teleported", start.version)
    assert raised.value.field == "status"


@pytest.mark.parametrize(
    ("source", "target", "field"),
    [
        ("requested", "rejected", "reason"),
        ("received", "cancelled", "reason"),
        ("in-progress", "completed", "outcome"),
    ],
)
def test_reason_and_outcome_are_required(context, referrals, patient_id, source, target, field):
    start = reach(referrals, patient_id, source)
    history_before = len(referrals.history(start.id))
    with pytest.raises(TransitionError) as raised:
        referrals.transition(start.id, target, start.version, reason="   ", outcome="")
    assert raised.value.field == field
    after = referrals.get(start.id)
    assert (after.status, after.version) == (source, start.version)
    assert len(referrals.history(start.id)) == history_before


def test_completion_records_outcome_appointment_and_turnaround(context, referrals, patient_id):
    sent = send_physical_therapy(referrals, patient_id)
    assert referrals.turnaround_days(sent.id) is None
    context.clock.advance(days=3)
    accepted = referrals.transition(
        sent.id, "accepted", sent.version, appointment_date=date(2026, 12, 4)
    )
    assert accepted.appointment_date == date(2026, 12, 4)
    started = referrals.transition(sent.id, "in-progress", accepted.version)
    context.clock.advance(days=14)
    done = referrals.transition(
        sent.id, "completed", started.version, outcome="6 sessions; walks 100 m"
    )
    assert done.outcome == "6 sessions; walks 100 m"
    assert done.allowed_next == ("entered-in-error",)
    assert referrals.turnaround_days(sent.id) == 17
    with context.read() as session:
        stored = session.get(Referral, sent.id)
        assert (stored.outcome, stored.appointment_date) == (
            "6 sessions; walks 100 m",
            date(2026, 12, 4),
        )


def test_stale_version_is_refused_naming_who_and_when(
    engine, clock, context, referrals, patient_id
):
    sent = send_physical_therapy(referrals, patient_id)
    bob = second_terminal(engine, clock, "bob", "Bob Tanaka")
    clock.advance(minutes=30)
    bob.referrals.transition(sent.id, "received", sent.version)

    with pytest.raises(StaleEditError) as raised:
        referrals.transition(sent.id, "cancelled", sent.version, reason="duplicate")
    assert raised.value.changed_by == "Bob Tanaka"
    assert raised.value.changed_at == datetime(2026, 11, 27, 9, 30)
    after = referrals.get(sent.id)
    assert (after.status, after.version) == ("received", 2)
    assert [row.to_status for row in referrals.history(sent.id)][-1] == "received"
    assert referrals.history(sent.id)[-1].nurse_username == "bob"


def test_days_in_status_aging_and_overdue_come_from_history(context, referrals, patient_id):
    sent = send_physical_therapy(referrals, patient_id)
    context.clock.advance(days=9)
    nine = referrals.get(sent.id)
    assert (nine.days_in_status, nine.aging_bucket, nine.reply_overdue) == (9, "8-14", False)

    context.clock.advance(days=2)  # the routine reply was due on day 10
    eleven = referrals.get(sent.id)
    assert eleven.reply_overdue is True
    received = referrals.transition(sent.id, "received", eleven.version)
    assert received.days_in_status == 0 and received.reply_overdue is True

    context.clock.advance(days=6)
    accepted = referrals.transition(sent.id, "accepted", received.version)
    assert accepted.reply_overdue is False  # they replied
    context.clock.advance(days=15)
    later = referrals.get(sent.id)
    assert (later.days_in_status, later.aging_bucket) == (15, ">14")


def test_queue_order_and_filters(services, context, referrals, patient_id):
    other_patient = services.patients.create("MRN-200", "Ito", "Ken").id
    old_routine = send_physical_therapy(referrals, patient_id)
    context.clock.advance(days=5)
    new_routine = referrals.create(
        other_patient, "social-work", "County Aging Services", "Meals at home"
    )
    urgent = referrals.create(
        other_patient, "home-health", "Visiting Nurses", "Wound care", priority="urgent"
    )
    stat = referrals.create(
        patient_id, "durable-medical-equipment", "MedSupply", "Oxygen", priority="stat"
    )
    closed = referrals.transition(
        new_routine.id, "cancelled", new_routine.version, reason="family will arrange"
    )

    queue = referrals.list_for_nurse()
    assert [read.id for read in queue] == [stat.id, urgent.id, old_routine.id]
    assert [read.id for read in referrals.list_for_nurse(open_only=False)] == [
        stat.id,
        urgent.id,
        old_routine.id,
        closed.id,
    ]
    assert [read.id for read in referrals.list_for_nurse(statuses=["cancelled"])] == [closed.id]
    assert [read.id for read in referrals.list_for_nurse(priority="urgent")] == [urgent.id]
    assert [read.id for read in referrals.list_for_nurse(service_type="physical-therapy")] == [
        old_routine.id
    ]
    assert [
        read.id for read in referrals.list_for_nurse(receiving_organisation="Visiting Nurses")
    ] == [urgent.id]
    assert referrals.list_for_nurse(nurse_id=context.nurse_id + 1) == []
    assert len(referrals.list_for_nurse(limit=1)) == 1
    with pytest.raises(ValidationError) as raised:
        referrals.list_for_nurse(limit=0)
    assert raised.value.field == "limit"

    assert [read.id for read in referrals.list_for_patient(other_patient)] == [
        urgent.id,
        closed.id,
    ]
    assert [read.id for read in referrals.list_for_patient(other_patient, open_only=True)] == [
        urgent.id
    ]
    assert referrals.organisations() == [
        "County Aging Services",
        "MedSupply",
        "Riverside PT",
        "Visiting Nurses",
    ]
    assert referrals.organisations("home-health") == ["Visiting Nurses"]


def test_two_referrals_same_priority_longest_in_status_first(context, referrals, patient_id):
    first = send_physical_therapy(referrals, patient_id)
    context.clock.advance(days=1)
    second = send_physical_therapy(referrals, patient_id)
    context.clock.advance(days=1)
    # Moving the first one restarts its time in status: it now queues behind.
    first = referrals.transition(first.id, "received", first.version)
    assert [read.id for read in referrals.list_for_nurse()] == [second.id, first.id]
    assert [read.days_in_status for read in referrals.list_for_nurse()] == [1, 0]


def test_stuck_urgent(context, referrals, patient_id):
    urgent = send_physical_therapy(referrals, patient_id, priority="urgent")
    routine = send_physical_therapy(referrals, patient_id)
    stat = send_physical_therapy(referrals, patient_id, priority="stat")
    referrals.transition(stat.id, "accepted", stat.version)
    assert referrals.stuck_urgent(patient_id) == []

    context.clock.advance(days=4)  # urgent reply was due after 3 days; stat has replied
    assert [read.id for read in referrals.stuck_urgent(patient_id)] == [urgent.id]
    assert [read.id for read in referrals.stuck_urgent()] == [urgent.id]
    assert routine.id not in [read.id for read in referrals.stuck_urgent()]
    assert referrals.stuck_urgent(patient_id + 1) == []


def test_every_status_can_be_reached_only_through_the_machine():
    """The test paths above only use legal moves (guards the PATHS table itself)."""
    for status, path in PATHS.items():
        current = "draft" if path[:1] == ("draft",) else "requested"
        for step in path:
            if step == "draft":
                continue
            assert ReferralStatus(step) in (
                *TRANSITIONS[ReferralStatus(current)],
                "entered-in-error",
            )
            current = step
        assert current == status


# ------------------------------------------- the patient's open-referral count


def stored_patient(context: ServiceContext, patient_id: int) -> tuple[int, int]:
    """(open_referral_count, version) as the patient row holds them."""
    with context.read() as session:
        row = session.execute(
            select(Patient.open_referral_count, Patient.version).where(Patient.id == patient_id)
        ).one()
    return row.open_referral_count, row.version


def open_referrals_by_status(context: ServiceContext, patient_id: int) -> int:
    with context.read() as session:
        return session.execute(
            select(func.count())
            .select_from(Referral)
            .where(
                Referral.patient_id == patient_id,
                Referral.status.in_([str(status) for status in OPEN_STATUSES]),
            )
        ).scalar_one()


@pytest.mark.parametrize("status", list(PATHS))
def test_open_referral_count_follows_every_path(context, referrals, patient_id, status):
    _, version_before = stored_patient(context, patient_id)
    reach(referrals, patient_id, status)
    expected = 0 if ReferralStatus(status) in TERMINAL_STATUSES else 1
    assert stored_patient(context, patient_id) == (expected, version_before)
    assert open_referrals_by_status(context, patient_id) == expected


def test_open_referral_count_moves_once_per_referral(services, context, referrals, patient_id):
    first = send_physical_therapy(referrals, patient_id)
    draft = send_physical_therapy(referrals, patient_id, send=False)
    send_physical_therapy(referrals, patient_id)
    assert stored_patient(context, patient_id)[0] == 3
    rejected = referrals.transition(first.id, "rejected", first.version, reason="no capacity")
    assert stored_patient(context, patient_id)[0] == 2
    # Terminal -> entered-in-error: already closed, the count does not move again.
    referrals.transition(rejected.id, "entered-in-error", rejected.version)
    assert stored_patient(context, patient_id)[0] == 2
    referrals.transition(draft.id, "ready", draft.version)
    assert stored_patient(context, patient_id)[0] == 2
    assert open_referrals_by_status(context, patient_id) == 2
    row = services.patients.list_page(search="garcia")[0]
    assert row.open_referral_count == 2
    assert services.patients.get(patient_id).open_referral_count == 2


def test_refused_transition_leaves_the_count(context, referrals, patient_id):
    sent = send_physical_therapy(referrals, patient_id)
    with pytest.raises(TransitionError):
        referrals.transition(sent.id, "rejected", sent.version)  # no reason
    with pytest.raises(StaleEditError):
        referrals.transition(sent.id, "cancelled", sent.version - 1, reason="x")
    assert stored_patient(context, patient_id)[0] == 1


def test_a_referral_change_does_not_make_an_open_chart_edit_stale(services, referrals, patient_id):
    chart = services.patients.get(patient_id)
    sent = send_physical_therapy(referrals, patient_id)
    referrals.transition(sent.id, "cancelled", sent.version, reason="patient declined")
    saved = services.patients.update(patient_id, chart.version, address="2 Elm St")
    assert saved.address == "2 Elm St"
    assert saved.version == chart.version + 1
    assert saved.open_referral_count == 0


def test_histories_for_patient_match_each_referral_history(referrals, patient_id):
    first = referrals.create(patient_id, "physical-therapy", "PT Co", "gait")
    second = referrals.create(patient_id, "home-health", "Care Co", "wound care", send=False)
    histories = referrals.histories_for_patient(patient_id)
    assert histories == {
        first.id: referrals.history(first.id),
        second.id: referrals.history(second.id),
    }


def test_turnaround_per_stage_and_the_median_over_completed_referrals(
    context, referrals, patient_id
):
    def complete(accept_after: int, finish_after: int):
        sent = send_physical_therapy(referrals, patient_id)
        context.clock.advance(days=accept_after)
        accepted = referrals.transition(sent.id, "accepted", sent.version)
        started = referrals.transition(sent.id, "in-progress", accepted.version)
        context.clock.advance(days=finish_after)
        referrals.transition(sent.id, "completed", started.version, outcome="seen")
        return sent.id

    first = complete(2, 10)
    complete(4, 20)
    complete(6, 6)
    still_open = send_physical_therapy(referrals, patient_id)

    figures = referrals.turnaround(first)
    assert (figures.requested_to_accepted, figures.accepted_to_completed) == (2, 10)
    assert referrals.turnaround_days(first) == 12
    assert referrals.turnaround(still_open.id).requested_to_accepted is None

    summary = referrals.turnaround_summary()
    assert (summary.completed, summary.requested_to_accepted) == (3, 4.0)
    assert (summary.accepted_to_completed, summary.requested_to_completed) == (10.0, 12.0)
    # Completed on or after a day: only the last one finished today (day 48).
    later = referrals.turnaround_summary(completed_since=context.clock.today())
    assert later.completed == 1 and later.requested_to_completed == 12.0
    assert referrals.turnaround_summary(nurse_id=context.nurse_id).completed == 3
    assert referrals.turnaround_summary(nurse_id=context.nurse_id + 99).completed == 0
    with pytest.raises(ValidationError) as raised:
        referrals.turnaround_summary(completed_since="27/11/2026")
    assert raised.value.field == "completed_since"


# ------------------------------------------------------------------ follow-up


def test_a_follow_up_call_is_linked_and_moves_the_expected_reply(services, context, referrals):
    patient = services.patients.create("FU-1", "Chase", "Robin")
    sent = send_physical_therapy(referrals, patient.id)  # routine: reply due in 10 days
    context.clock.advance(days=12)  # two days past the expected reply
    overdue = [row for row in services.worklist.today(None) if row.patient_id == patient.id]
    assert [str(item.kind) for item in overdue[0].items] == ["referral-reply"]
    before = services.patients.get(patient.id)

    chased = referrals.log_follow_up(
        sent.id, sent.version, "left-message", 6, note="Left message with intake"
    )
    today = context.clock.today()
    assert chased.expected_reply_date == today + timedelta(days=10)
    assert chased.version == sent.version + 1 and chased.status == sent.status
    [call] = services.contacts.list_for_patient(patient.id)
    assert (call.referral_id, call.with_whom, call.mode, call.outcome, call.minutes) == (
        sent.id,
        "provider",
        "phone",
        "left-message",
        6,
    )
    # The patient was not the one called: their own contact clock stays.
    after = services.patients.get(patient.id)
    assert (after.last_contact_at, after.next_contact_due) == (
        before.last_contact_at,
        before.next_contact_due,
    )
    assert services.contacts.minutes_in_month(patient.id, today.year, today.month) == 6
    assert all(row.patient_id != patient.id for row in services.worklist.today(None))
    assert [e.action for e in services.audit.list_events("contact", call.id)] == ["create"]

    again = referrals.log_follow_up(
        sent.id, chased.version, "reached", 3, next_expected_reply=today
    )
    assert again.expected_reply_date == today


def test_a_follow_up_refuses_bad_input_stale_copies_and_closed_referrals(
    services, context, referrals, patient_id
):
    sent = send_physical_therapy(referrals, patient_id)
    for arguments, field in (
        (("shouted", 5), "outcome"),
        (("reached", 0), "minutes"),
        (("reached", 5, None, "2026-11-01"), "next_expected_reply"),
    ):
        with pytest.raises(ValidationError) as raised:
            referrals.log_follow_up(sent.id, sent.version, *arguments)
        assert raised.value.field == field
    with pytest.raises(StaleEditError):
        referrals.log_follow_up(sent.id, sent.version + 1, "reached", 5)
    cancelled = referrals.transition(sent.id, "cancelled", sent.version, reason="not needed")
    with pytest.raises(ValidationError) as raised:
        referrals.log_follow_up(sent.id, cancelled.version, "reached", 5)
    assert raised.value.field == "status"
    assert services.contacts.list_for_patient(patient_id) == []
    assert referrals.get(sent.id).expected_reply_date == sent.expected_reply_date


def test_queue_counts_every_match_and_returns_the_first_rows(services, context, referrals):
    patient = services.patients.create("QP-1", "Page", "Quinn")
    sent = [send_physical_therapy(referrals, patient.id) for _ in range(5)]
    referrals.transition(sent[0].id, "cancelled", sent[0].version, reason="not needed")
    page = referrals.queue(nurse_id=context.nurse_id, limit=3)
    assert page.total == 4
    assert [read.id for read in page.referrals] == [read.id for read in sent[1:4]]
    every = referrals.queue(nurse_id=context.nurse_id, open_only=False)
    assert every.total == 5 and len(every.referrals) == 5
    cancelled = referrals.queue(statuses=["cancelled"])
    assert [read.id for read in cancelled.referrals] == [sent[0].id]
    assert referrals.queue(priority="urgent").total == 0
    with pytest.raises(ValidationError) as raised:
        referrals.queue(limit=0)
    assert raised.value.field == "limit"
    with pytest.raises(ValidationError) as raised:
        referrals.queue(statuses=["lost"])
    assert raised.value.field == "statuses"


def test_recent_organisations_most_recent_first_each_once(services, context, referrals):
    patient = services.patients.create("RO-1", "Recent", "Rae")
    referrals.create(patient.id, "nutrition", "Meals on Wheels", "Meals")
    context.clock.advance(days=1)
    referrals.create(patient.id, "physical-therapy", "Valley PT", "Gait")
    context.clock.advance(days=1)
    referrals.create(patient.id, "nutrition", "Harbor Dietitians", "Weight")
    context.clock.advance(days=1)
    referrals.create(patient.id, "nutrition", "Meals on Wheels", "Meals again")
    assert referrals.recent_organisations() == [
        ("nutrition", "Meals on Wheels"),
        ("nutrition", "Harbor Dietitians"),
        ("physical-therapy", "Valley PT"),
    ]
    assert referrals.recent_organisations(limit=1) == [("nutrition", "Meals on Wheels")]


def test_details_hold_history_turnaround_and_follow_up_calls(services, context, referrals):
    patient = services.patients.create("DT-1", "Detail", "Dana")
    sent = send_physical_therapy(referrals, patient.id)
    context.clock.advance(days=3)
    accepted = referrals.transition(sent.id, "accepted", sent.version)
    context.clock.advance(days=1)
    chased = referrals.log_follow_up(sent.id, accepted.version, "reached", 7, note="Booked")
    details = referrals.details(sent.id)
    assert details.referral == referrals.get(sent.id) == chased
    assert [(c.from_status, c.to_status) for c in details.history] == [
        (None, "draft"),
        ("draft", "requested"),
        ("requested", "accepted"),
    ]
    assert details.turnaround.requested_to_accepted == 3
    assert details.turnaround.accepted_to_completed is None
    [call] = details.follow_ups
    assert (call.outcome, call.minutes, call.note, call.nurse_username) == (
        "reached",
        7,
        "Booked",
        "alice",
    )
    with pytest.raises(NotFoundError):
        referrals.details(sent.id + 100)


def test_correcting_a_contact_never_counts_a_follow_up_call_as_the_last_contact(
    services, context, referrals
):
    patient = services.patients.create("FU-2", "Clock", "Casey")
    visit = services.contacts.log(
        patient.id, context.clock.now(), "phone", "patient", "reached", 10
    )
    sent = send_physical_therapy(referrals, patient.id)
    context.clock.advance(days=2)
    referrals.log_follow_up(sent.id, sent.version, "reached", 5)
    services.contacts.update(visit.id, note="Reviewed medicines")
    assert services.patients.get(patient.id).last_contact_at == visit.occurred_at
    services.contacts.delete(visit.id)
    assert services.patients.get(patient.id).last_contact_at is None
