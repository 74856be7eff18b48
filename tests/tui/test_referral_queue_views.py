"""What the referral queue shows, as pure functions: priority order, meanings, column widths.

No app here: the Pilot tests in test_referral_queue.py drive the same
functions by keys once.
"""

from __future__ import annotations

from rich.text import Text

from nursecase.domain.codes import ReferralPriority, ReferralStatus
from nursecase.screens.referral_views import (
    PRIORITY_ORDER,
    QUEUE_COLUMNS,
    STATUS_MEANINGS,
    column_widths,
    fitted,
    grouped,
    priority_choices,
    priority_rank,
)


def test_priorities_in_fhir_order_with_their_meanings():
    """FHIR R4 RequestPriority: routine < urgent < asap < stat (not the alphabet)."""
    assert [str(level) for level in PRIORITY_ORDER] == ["routine", "urgent", "asap", "stat"]
    assert set(PRIORITY_ORDER) == set(ReferralPriority)
    assert [priority_rank(code) for code in ("routine", "urgent", "asap", "stat")] == [0, 1, 2, 3]
    assert dict(priority_choices())["ASAP: as soon as possible, sooner than urgent"] == "asap"


class Referral:
    """The fields ``grouped`` reads."""

    def __init__(self, priority: str) -> None:
        self.priority = priority
        self.status = "requested"


def test_grouped_by_priority_puts_the_most_pressing_first():
    referrals = [Referral(code) for code in ("asap", "routine", "stat", "urgent")]
    assert [heading for heading, _ in grouped(referrals, "priority")] == [
        "STAT",
        "ASAP",
        "Urgent",
        "Routine",
    ]


def test_every_status_says_what_it_means():
    assert set(STATUS_MEANINGS) == set(ReferralStatus)
    assert STATUS_MEANINGS[ReferralStatus.ready] == "arranged without asking; nothing done yet"


def row(patient: str, service: str, organisation: str) -> tuple[Text, ...]:
    return (
        Text(patient),
        Text(service),
        Text(organisation),
        Text("Routine"),
        Text("In progress"),
        Text("24"),
        Text("25 Nov late"),
        Text(">14"),
    )


ROWS = [
    row("Frank, Carrie", "Hospice / palliative care", "South Wendyborough Hospice and Palliative"),
    row("Huerta, Diana", "Durable medical equipment", "Hernandezview Medical Supply"),
]


def test_the_widest_text_column_takes_the_free_width_and_is_the_one_cut():
    # The queue at 120 columns: 120 - scrollbar 2 - 8 columns x 2 padding.
    widths = column_widths(ROWS, 102)
    assert sum(widths) == 102
    patient, service, organisation = widths[:3]
    assert (patient, service) == (len("Frank, Carrie"), len("Durable medical equipment"))
    cells = [str(cell) for cell in fitted(ROWS[0], widths)]
    assert cells[:2] == ["Frank, Carrie", "Hospice / palliative care"]
    assert cells[2] == "South Wendyborough Hospice…"
    assert cells[2][:-1] + " " in "South Wendyborough Hospice and Palliative"


def test_room_to_spare_goes_to_the_widest_text_column():
    widths = column_widths(ROWS, 200)
    assert sum(widths) == 200
    assert widths[2] > len("South Wendyborough Hospice and Palliative")
    assert [str(cell) for cell in fitted(ROWS[0], widths)] == [str(cell) for cell in ROWS[0]]


def cut_at_a_word(shown: str, whole: str) -> bool:
    """``shown`` is ``whole`` cut after a whole word (its trailing comma dropped), with "…"."""
    kept = shown.removesuffix("…").split()
    words = whole.split()[: len(kept)]
    return shown.endswith("…") and kept[:-1] == words[:-1] and words[-1].rstrip(",") == kept[-1]


def test_a_narrow_terminal_cuts_at_words_and_keeps_a_readable_width():
    widths = column_widths(ROWS, 60)
    assert widths[:3] == [8, 8, 8]
    assert [column.free_text for column in QUEUE_COLUMNS[:4]] == [True, True, True, False]
    shown = [[str(cell) for cell in fitted(cells, widths)][:3] for cells in ROWS]
    assert shown == [["Frank…", "Hospice…", "South…"], ["Huerta…", "Durable…", "Hernand…"]]
    for cells, texts in zip(ROWS, shown, strict=True):
        for whole, text in zip(cells[:3], texts, strict=True):
            # A first word longer than the column is the one cut inside a word.
            if len(str(whole).split()[0]) < 8:
                assert cut_at_a_word(text, str(whole)), text
