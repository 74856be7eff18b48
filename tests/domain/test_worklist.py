"""The worklist ranking: inclusion, order and the plain-words reasons (DESIGN.md section 2)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nursecase.domain.worklist import (
    DueItem,
    DueKind,
    WorklistCandidate,
    WorklistEntry,
    rank_worklist,
    reason_text,
)

TODAY = date(2026, 11, 27)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def item(
    kind: DueKind,
    due: date = TODAY,
    label: str = "",
    item_id: int | None = 1,
    detail="",
    urgent: bool = False,
):
    return DueItem(
        kind=kind, due_date=due, label=label, item_id=item_id, detail=detail, urgent=urgent
    )


def alert(due: date = TODAY, why: str = "BP 184/121 high", urgent: bool = True, item_id=1):
    return item(DueKind.reading, due, "blood-pressure", item_id, why, urgent)


def candidate(
    patient_id: int,
    *items: DueItem,
    risk_tier: str = "moderate",
    last_contact_on: date | None = date(2026, 11, 1),
) -> WorklistCandidate:
    return WorklistCandidate(
        patient_id=patient_id,
        risk_tier=risk_tier,
        last_contact_on=last_contact_on,
        items=tuple(items),
    )


def ranked_ids(*candidates: WorklistCandidate) -> list[int]:
    return [entry.patient_id for entry in rank_worklist(candidates, TODAY)]


# ---------------------------------------------------------------- reason texts


@pytest.mark.parametrize(
    ("due_item", "expected"),
    [
        (item(DueKind.safety, days_ago(3)), "PHQ-9 item 9"),
        (item(DueKind.safety, TODAY), "PHQ-9 item 9"),
        (
            item(DueKind.safety_risk, date(2026, 12, 5), detail="high"),
            "C-SSRS high risk 5 Dec: check safety again",
        ),
        (
            item(DueKind.safety_risk, days_ago(20), detail="moderate"),
            "C-SSRS moderate risk 7 Nov: check safety again",
        ),
        (item(DueKind.stuck_referral, days_ago(3), "PT"), "urgent referral to PT: no reply 3 d"),
        (
            item(DueKind.stuck_referral, days_ago(1), "SW", detail="stat"),
            "STAT referral to SW: no reply 1 d",
        ),
        (item(DueKind.stuck_referral, TODAY, "OT"), "urgent referral to OT: no reply 0 d"),
        (item(DueKind.tcm, TODAY, detail="TCM day 2 of 2"), "TCM day 2 of 2"),
        (
            item(DueKind.tcm, TODAY + timedelta(days=5), detail="TCM visit day 3 of 14"),
            "TCM visit day 3 of 14",
        ),
        (item(DueKind.tcm, days_ago(2)), "TCM overdue 2 d"),
        (item(DueKind.task, TODAY, "Call pharmacy"), "task due today: Call pharmacy"),
        (item(DueKind.task, days_ago(2), "Call pharmacy"), "task overdue 2 d: Call pharmacy"),
        (item(DueKind.contact, TODAY, item_id=None), "contact due today"),
        # Reading alerts say the why the readings service stored, whatever the date.
        (alert(days_ago(2), "weight +2.6 kg in 5 d"), "weight +2.6 kg in 5 d"),
        (alert(TODAY, "BP 184/121 high"), "BP 184/121 high"),
        (alert(TODAY, "HbA1c 10.4 % high", urgent=False), "HbA1c 10.4 % high"),
        (item(DueKind.reading, TODAY, "oxygen-saturation"), "oxygen saturation out of range"),
        # Gaps: the gap days (detail) plus the days since the gap began.
        (item(DueKind.reading_gap, TODAY, "weight", detail="3"), "no weight for 3 d"),
        (
            item(DueKind.reading_gap, days_ago(1), "blood-pressure", detail="3"),
            "no blood pressure for 4 d",
        ),
        (item(DueKind.reading_gap, days_ago(2), "hba1c", detail="30"), "no HbA1c for 32 d"),
        (item(DueKind.reading_gap, TODAY, "egfr", detail="7"), "no eGFR for 7 d"),
        (item(DueKind.reading_gap, TODAY, "nt-probnp", detail="7"), "no NT-proBNP for 7 d"),
        (item(DueKind.reading_gap, TODAY, "ldl", detail="7"), "no LDL cholesterol for 7 d"),
        (item(DueKind.contact, days_ago(4), item_id=None), "contact overdue 4 d"),
        (item(DueKind.referral_reply, days_ago(9), "PT"), "referral to PT: no reply 9 d"),
        (item(DueKind.referral_reply, TODAY, "DME"), "referral to DME: no reply 0 d"),
        (item(DueKind.goal, TODAY, "Walks daily"), "goal due today: Walks daily"),
        (item(DueKind.goal, days_ago(3), "Walks daily"), "goal overdue 3 d: Walks daily"),
        (
            item(DueKind.intervention, TODAY, "Teach inhaler"),
            "intervention due today: Teach inhaler",
        ),
        (
            item(DueKind.intervention, days_ago(1), "Teach inhaler"),
            "intervention overdue 1 d: Teach inhaler",
        ),
    ],
)
def test_reason_text(due_item: DueItem, expected: str) -> None:
    assert reason_text(due_item, TODAY) == expected


def test_every_due_kind_has_a_reason_text() -> None:
    for kind in DueKind:
        text = reason_text(item(kind, days_ago(1), "PT", detail="TCM day 2 of 2"), TODAY)
        assert text.strip()


@pytest.mark.parametrize("kind", [DueKind.goal, DueKind.intervention])
def test_long_goal_and_intervention_labels_are_cut_to_forty_characters(kind: DueKind) -> None:
    long_label = "Walks to the mailbox and back every single morning without help"
    text = reason_text(item(kind, TODAY, long_label), TODAY)
    prefix = f"{kind.value} due today: "
    assert text.startswith(prefix)
    shown = text.removeprefix(prefix)
    # At most forty with the ellipsis, after a whole word: "single" would not fit whole.
    assert shown == "Walks to the mailbox and back every…"
    assert len(shown) <= 40


@pytest.mark.parametrize("kind", [DueKind.goal, DueKind.intervention])
def test_labels_of_exactly_forty_characters_are_kept_whole(kind: DueKind) -> None:
    label = "x" * 40
    assert reason_text(item(kind, TODAY, label), TODAY) == f"{kind.value} due today: {label}"


# ---------------------------------------------------------------- inclusion


@pytest.mark.parametrize(
    "kind",
    [
        DueKind.task,
        DueKind.contact,
        DueKind.reading_gap,
        DueKind.referral_reply,
        DueKind.goal,
        DueKind.intervention,
    ],
)
def test_future_items_that_are_not_flags_are_left_out(kind: DueKind) -> None:
    tomorrow = TODAY + timedelta(days=1)
    assert rank_worklist([candidate(1, item(kind, tomorrow, "x"))], TODAY) == []
    # The same item due today is on the list, so the exclusion above is about the date.
    assert ranked_ids(candidate(1, item(kind, TODAY, "x"))) == [1]


@pytest.mark.parametrize(
    "kind",
    [DueKind.safety, DueKind.safety_risk, DueKind.reading, DueKind.stuck_referral, DueKind.tcm],
)
def test_flags_and_open_clocks_are_always_included(kind: DueKind) -> None:
    far_future = TODAY + timedelta(days=30)
    entries = rank_worklist([candidate(1, item(kind, far_future, "PT"))], TODAY)
    assert [entry.patient_id for entry in entries] == [1]
    assert entries[0].days_overdue == 0


def test_candidates_with_nothing_included_are_dropped() -> None:
    future = TODAY + timedelta(days=2)
    entries = rank_worklist(
        [
            candidate(1),
            candidate(2, item(DueKind.task, future, "Later"), item(DueKind.contact, future)),
            candidate(3, item(DueKind.contact, TODAY, item_id=None)),
        ],
        TODAY,
    )
    assert [entry.patient_id for entry in entries] == [3]


def test_excluded_items_do_not_appear_in_the_entry() -> None:
    future = TODAY + timedelta(days=2)
    (entry,) = rank_worklist(
        [candidate(1, item(DueKind.task, future, "Later"), item(DueKind.task, TODAY, "Now"))],
        TODAY,
    )
    assert [due.label for due in entry.items] == ["Now"]
    assert entry.why == "task due today: Now"


# ---------------------------------------------------------------- patient order


def test_safety_before_tcm_before_others_whatever_the_days_overdue() -> None:
    other = candidate(1, item(DueKind.contact, days_ago(60), item_id=None), risk_tier="high")
    tcm = candidate(2, item(DueKind.tcm, TODAY + timedelta(days=1), detail="TCM day 1 of 2"))
    safety = candidate(3, item(DueKind.safety, TODAY), risk_tier="low")
    stuck = candidate(4, item(DueKind.stuck_referral, days_ago(1), "PT"), risk_tier="low")
    entries = rank_worklist([other, tcm, safety, stuck], TODAY)
    # The PHQ-9 item 9 patient leads even though the referral is more overdue.
    assert [(entry.patient_id, entry.group) for entry in entries] == [
        (3, 0),
        (4, 0),
        (2, 1),
        (1, 2),
    ]


def test_a_cssrs_risk_ranks_with_the_phq9_flag_before_a_stuck_referral() -> None:
    stuck = candidate(1, item(DueKind.stuck_referral, days_ago(9), "PT"), risk_tier="high")
    risk = candidate(2, item(DueKind.safety_risk, days_ago(1), detail="moderate"))
    phq9 = candidate(3, item(DueKind.safety, days_ago(3)))
    tcm = candidate(4, item(DueKind.tcm, TODAY, detail="TCM day 2 of 2"))
    entries = rank_worklist([stuck, risk, phq9, tcm], TODAY)
    # Both patient-safety signals come first (most days first), then the referral.
    assert [(entry.patient_id, entry.group) for entry in entries] == [
        (3, 0),
        (2, 0),
        (1, 0),
        (4, 1),
    ]


def test_an_urgent_reading_alert_ranks_after_safety_and_before_a_stuck_referral_and_tcm() -> None:
    """DESIGN.md's urgent signals in their order: safety, urgent vital-sign breach, stuck
    referral; however long the referral has waited, and never as a safety signal."""
    stuck = candidate(1, item(DueKind.stuck_referral, days_ago(9), "PT"), risk_tier="high")
    breach = candidate(2, alert(TODAY), risk_tier="low")
    safety = candidate(3, item(DueKind.safety, TODAY), risk_tier="low")
    tcm = candidate(4, item(DueKind.tcm, days_ago(2), detail="TCM day 2 of 2"))
    older_breach = candidate(5, alert(days_ago(1), "weight +2.6 kg in 5 d"))
    entries = rank_worklist([stuck, breach, safety, tcm, older_breach], TODAY)
    assert [(entry.patient_id, entry.group) for entry in entries] == [
        (3, 0),
        (5, 0),  # among the breaches, days overdue as usual
        (2, 0),
        (1, 0),
        (4, 1),
    ]


def test_a_non_urgent_reading_alert_is_due_work_and_always_on_the_list() -> None:
    hba1c = candidate(1, alert(TODAY + timedelta(days=3), "HbA1c 10.4 % high", urgent=False))
    contact = candidate(2, item(DueKind.contact, days_ago(1), item_id=None))
    tcm = candidate(3, item(DueKind.tcm, TODAY, detail="TCM day 1 of 2"))
    entries = rank_worklist([hba1c, contact, tcm], TODAY)
    # Shown whatever its date (like a flag), ranked in the due group by days overdue.
    assert [(entry.patient_id, entry.group) for entry in entries] == [(3, 1), (2, 2), (1, 2)]
    assert entries[2].why == "HbA1c 10.4 % high"


def test_a_gap_is_due_work_from_the_day_it_reached_its_days() -> None:
    gap = candidate(1, item(DueKind.reading_gap, days_ago(4), "weight", 7, "3"))
    contact = candidate(2, item(DueKind.contact, days_ago(2), item_id=None))
    entries = rank_worklist([contact, gap], TODAY)
    assert [(entry.patient_id, entry.group) for entry in entries] == [(1, 2), (2, 2)]
    assert entries[0].why == "no weight for 7 d"


def test_an_urgent_alert_leads_its_patients_items_after_safety() -> None:
    (entry,) = rank_worklist(
        [
            candidate(
                1,
                item(DueKind.reading_gap, days_ago(3), "weight", 8, "3"),
                item(DueKind.tcm, TODAY, detail="TCM day 2 of 2", item_id=20),
                alert(TODAY, item_id=9),
                item(DueKind.safety, TODAY, item_id=11),
            )
        ],
        TODAY,
    )
    assert [due.kind for due in entry.items] == [
        DueKind.safety,  # same day: the kind order puts safety first
        DueKind.reading,
        DueKind.tcm,
        DueKind.reading_gap,
    ]
    assert entry.reasons == (
        "PHQ-9 item 9",
        "BP 184/121 high",
        "TCM day 2 of 2",
        "no weight for 6 d",
    )


def test_safety_item_puts_the_patient_in_group_zero_even_with_tcm_and_others() -> None:
    mixed = candidate(
        1,
        item(DueKind.task, days_ago(5), "Call"),
        item(DueKind.tcm, TODAY, detail="TCM day 2 of 2"),
        item(DueKind.safety, TODAY),
    )
    (entry,) = rank_worklist([mixed], TODAY)
    assert entry.group == 0
    assert entry.days_overdue == 5


def test_within_a_group_more_days_overdue_first() -> None:
    assert ranked_ids(
        candidate(1, item(DueKind.task, days_ago(1), "a")),
        candidate(2, item(DueKind.task, days_ago(7), "b")),
        candidate(3, item(DueKind.contact, days_ago(3), item_id=None)),
    ) == [2, 3, 1]


def test_days_overdue_beats_risk_tier() -> None:
    assert ranked_ids(
        candidate(1, item(DueKind.task, days_ago(1), "a"), risk_tier="high"),
        candidate(2, item(DueKind.task, days_ago(2), "b"), risk_tier="low"),
    ) == [2, 1]


def test_same_days_overdue_then_risk_tier_high_moderate_low() -> None:
    due = item(DueKind.contact, days_ago(2), item_id=None)
    assert ranked_ids(
        candidate(1, due, risk_tier="low"),
        candidate(2, due, risk_tier="high"),
        candidate(3, due, risk_tier="moderate"),
    ) == [2, 3, 1]


def test_not_assessed_ranks_after_high_and_before_moderate_never_as_moderate() -> None:
    """Unknown risk may be high: such a patient needs assessing before a known
    moderate or low one, but a known high risk still comes first."""
    due = item(DueKind.contact, days_ago(2), item_id=None)
    assert ranked_ids(
        candidate(1, due, risk_tier="low"),
        candidate(2, due, risk_tier="moderate", last_contact_on=None),
        candidate(3, due, risk_tier="not-assessed", last_contact_on=days_ago(1)),
        candidate(4, due, risk_tier="high", last_contact_on=days_ago(1)),
    ) == [4, 3, 2, 1]
    # Days overdue still come before the tier.
    assert ranked_ids(
        candidate(1, item(DueKind.contact, days_ago(3), item_id=None), risk_tier="moderate"),
        candidate(2, due, risk_tier="not-assessed"),
    ) == [1, 2]


def test_same_tier_then_oldest_last_contact_with_never_contacted_first() -> None:
    due = item(DueKind.contact, TODAY, item_id=None)
    assert ranked_ids(
        candidate(1, due, last_contact_on=days_ago(5)),
        candidate(2, due, last_contact_on=None),
        candidate(3, due, last_contact_on=days_ago(40)),
    ) == [2, 3, 1]


def test_risk_tier_beats_last_contact() -> None:
    due = item(DueKind.contact, TODAY, item_id=None)
    assert ranked_ids(
        candidate(1, due, risk_tier="low", last_contact_on=None),
        candidate(2, due, risk_tier="high", last_contact_on=days_ago(1)),
    ) == [2, 1]


def test_full_tie_falls_back_to_patient_id() -> None:
    due = item(DueKind.task, days_ago(1), "same")
    assert ranked_ids(candidate(9, due), candidate(4, due), candidate(7, due)) == [4, 7, 9]


def test_days_overdue_orders_within_the_safety_and_tcm_groups_too() -> None:
    assert ranked_ids(
        candidate(1, item(DueKind.safety, days_ago(1))),
        candidate(5, item(DueKind.safety, days_ago(3))),
        candidate(2, item(DueKind.stuck_referral, days_ago(6), "PT")),
        candidate(6, item(DueKind.stuck_referral, days_ago(9), "OT")),
        candidate(3, item(DueKind.tcm, TODAY, detail="TCM day 2 of 2")),
        candidate(4, item(DueKind.tcm, days_ago(2), detail="TCM contact overdue")),
    ) == [5, 1, 6, 2, 4, 3]


# ---------------------------------------------------------------- items within an entry


def test_items_within_an_entry_are_most_pressing_first() -> None:
    (entry,) = rank_worklist(
        [
            candidate(
                1,
                item(DueKind.intervention, days_ago(9), "Teach", item_id=50),
                item(DueKind.contact, days_ago(2), item_id=None),
                item(DueKind.tcm, TODAY, detail="TCM day 2 of 2", item_id=20),
                item(DueKind.task, days_ago(2), "Call pharmacy", item_id=30),
                item(DueKind.stuck_referral, days_ago(1), "PT", item_id=10),
                item(DueKind.safety, TODAY, item_id=11),
            )
        ],
        TODAY,
    )
    assert [due.kind for due in entry.items] == [
        DueKind.stuck_referral,  # group 0, one day overdue beats the safety item due today
        DueKind.safety,
        DueKind.tcm,
        DueKind.intervention,  # group 2, nine days overdue
        DueKind.task,  # two days overdue: task before contact by kind order
        DueKind.contact,
    ]
    assert entry.items[0].item_id == 10
    assert entry.reasons == (
        "urgent referral to PT: no reply 1 d",
        "PHQ-9 item 9",
        "TCM day 2 of 2",
        "intervention overdue 9 d: Teach",
        "task overdue 2 d: Call pharmacy",
        "contact overdue 2 d",
    )
    assert entry.why == "; ".join(entry.reasons)
    assert entry.days_overdue == 9
    assert entry.group == 0


def test_kind_order_breaks_ties_at_equal_days_overdue() -> None:
    kinds_in_order = [
        DueKind.safety,
        DueKind.stuck_referral,
        DueKind.tcm,
        DueKind.task,
        DueKind.contact,
        DueKind.referral_reply,
        DueKind.goal,
        DueKind.intervention,
    ]
    shuffled = kinds_in_order[::-1]
    (entry,) = rank_worklist(
        [candidate(1, *(item(kind, days_ago(3), "x") for kind in shuffled))], TODAY
    )
    assert [due.kind for due in entry.items] == kinds_in_order


def test_entry_copies_patient_facts_and_why_for_a_single_item() -> None:
    (entry,) = rank_worklist(
        [
            candidate(
                5,
                item(DueKind.referral_reply, days_ago(9), "PT", item_id=8),
                risk_tier="high",
                last_contact_on=days_ago(12),
            )
        ],
        TODAY,
    )
    assert entry == WorklistEntry(
        patient_id=5,
        items=(item(DueKind.referral_reply, days_ago(9), "PT", item_id=8),),
        reasons=("referral to PT: no reply 9 d",),
        why="referral to PT: no reply 9 d",
        group=2,
        days_overdue=9,
        risk_tier="high",
        last_contact_on=days_ago(12),
    )


# ---------------------------------------------------------------- properties

due_items = st.builds(
    DueItem,
    kind=st.sampled_from(list(DueKind)),
    due_date=st.integers(min_value=-20, max_value=20).map(lambda offset: days_ago(offset)),
    label=st.sampled_from(["", "PT", "Call pharmacy", "Walks to the mailbox and back each day"]),
    item_id=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    detail=st.sampled_from(["", "stat", "TCM day 2 of 2", "3"]),
    urgent=st.booleans(),
)

candidate_lists = st.lists(
    st.builds(
        WorklistCandidate,
        patient_id=st.integers(min_value=1, max_value=10_000),
        risk_tier=st.sampled_from(["high", "moderate", "low"]),
        last_contact_on=st.one_of(
            st.none(), st.integers(min_value=0, max_value=90).map(lambda offset: days_ago(offset))
        ),
        items=st.lists(due_items, max_size=5).map(tuple),
    ),
    max_size=12,
    unique_by=lambda generated: generated.patient_id,
)


def order_key(entry: WorklistEntry) -> tuple:
    """The documented order, restated independently of the implementation."""
    rank = {"high": 0, "moderate": 1, "low": 2}[entry.risk_tier]
    contact = (0, date.min) if entry.last_contact_on is None else (1, entry.last_contact_on)
    safety_kinds = (DueKind.safety, DueKind.safety_risk)
    if any(item.kind in safety_kinds for item in entry.items):
        signal = 0
    elif any(item.kind is DueKind.reading and item.urgent for item in entry.items):
        signal = 1
    else:
        signal = 2
    return (entry.group, signal, -entry.days_overdue, rank, contact, entry.patient_id)


@given(candidate_lists, st.randoms(use_true_random=False))
def test_ranking_is_a_total_order_independent_of_input_order(candidates, shuffler) -> None:
    ranked = rank_worklist(candidates, TODAY)
    shuffled = list(candidates)
    shuffler.shuffle(shuffled)
    assert rank_worklist(shuffled, TODAY) == ranked
    keys = [order_key(entry) for entry in ranked]
    # Strictly increasing: no two entries tie, so the order is total.
    assert all(earlier < later for earlier, later in zip(keys, keys[1:], strict=False))


@given(candidate_lists)
def test_every_entry_has_a_reason_for_each_item(candidates) -> None:
    ranked = rank_worklist(candidates, TODAY)
    for entry in ranked:
        assert entry.items
        assert len(entry.reasons) == len(entry.items)
        assert all(reason.strip() for reason in entry.reasons)
        assert entry.why == "; ".join(entry.reasons)
        assert entry.days_overdue >= 0
        assert entry.group in (0, 1, 2)
    # Exactly the candidates with an included item are on the list.
    expected = {
        generated.patient_id
        for generated in candidates
        if any(
            due.kind
            in (
                DueKind.safety,
                DueKind.safety_risk,
                DueKind.reading,
                DueKind.stuck_referral,
                DueKind.tcm,
            )
            or due.due_date <= TODAY
            for due in generated.items
        )
    }
    assert {entry.patient_id for entry in ranked} == expected


@given(st.lists(due_items, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_item_order_within_an_entry_is_deterministic(items, shuffler) -> None:
    shuffled = list(items)
    shuffler.shuffle(shuffled)
    first = rank_worklist([candidate(1, *items)], TODAY)
    second = rank_worklist([candidate(1, *shuffled)], TODAY)
    assert first == second


def test_shuffling_a_fixed_caseload_never_changes_the_ranking() -> None:
    caseload = [
        candidate(
            patient_id,
            item(list(DueKind)[patient_id % len(DueKind)], days_ago(patient_id % 5), "x"),
            risk_tier=("high", "moderate", "low")[patient_id % 3],
            last_contact_on=None if patient_id % 4 == 0 else days_ago(patient_id % 7),
        )
        for patient_id in range(1, 41)
    ]
    expected = rank_worklist(caseload, TODAY)
    shuffler = random.Random(7)
    for _ in range(20):
        shuffler.shuffle(caseload)
        assert rank_worklist(caseload, TODAY) == expected
