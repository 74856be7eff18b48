"""Each instrument scores exactly as DESIGN.md section 2, at every band edge."""

from __future__ import annotations

import pytest

from nursecase.domain.codes import Instrument
from nursecase.domain.instruments import (
    BRADEN,
    GAD7,
    INSTRUMENTS,
    KATZ,
    LACE,
    MORSE,
    PHQ2,
    PHQ9,
    InstrumentDefinition,
    get_instrument,
    score_lace,
)
from nursecase.domain.instruments.base import SEVERITIES, Band, validate_bands
from nursecase.domain.instruments.lace import (
    points_for_acuity,
    points_for_comorbidity,
    points_for_ed_visits,
    points_for_length_of_stay,
)
from nursecase.domain.validation import ValidationError


def answers_totalling(definition: InstrumentDefinition, total: int) -> dict[str, int]:
    """Fill items in order, each as high as needed, to reach exactly ``total``."""
    answers = {item.code: min(item.values) for item in definition.items}
    remaining = total - sum(answers.values())
    for item in definition.items:
        for value in sorted(item.values, reverse=True):
            extra = value - answers[item.code]
            if 0 <= extra <= remaining:
                answers[item.code] = value
                remaining -= extra
                break
    assert remaining == 0, f"cannot reach {total}"
    return answers


# -------------------------------------------------------------------- registry


#: One full entry per instrument: the option keys a nurse presses in the entry
#: dialog, item by item, then the answers stored and the total and band shown.
#: Values differ from keys where the instrument says so (LACE, Morse).
FULL_ENTRIES = [
    (
        "lace",
        ["5", "1", "2", "4"],
        {"L": 5, "A": 3, "C": 2, "E": 4},
        14,
        "high",
    ),
    (
        "phq-9",
        ["1", "2", "0", "3", "1", "2", "1", "0", "0"],
        {f"item{number}": value for number, value in enumerate([1, 2, 0, 3, 1, 2, 1, 0, 0], 1)},
        10,
        "moderate",
    ),
    ("phq-2", ["2", "1"], {"item1": 2, "item2": 1}, 3, "positive"),
    (
        "gad-7",
        ["3", "3", "2", "2", "1", "1", "3"],
        {f"item{number}": value for number, value in enumerate([3, 3, 2, 2, 1, 1, 3], 1)},
        15,
        "severe",
    ),
    (
        "morse",
        ["1", "1", "2", "0", "1", "1"],
        {
            "history_of_falling": 25,
            "secondary_diagnosis": 15,
            "ambulatory_aid": 30,
            "iv_access": 0,
            "gait": 10,
            "mental_status": 15,
        },
        95,
        "high",
    ),
    (
        "braden",
        ["1", "2", "3", "4", "4", "3"],
        {
            "sensory_perception": 1,
            "moisture": 2,
            "activity": 3,
            "mobility": 4,
            "nutrition": 4,
            "friction_shear": 3,
        },
        17,
        "mild",
    ),
    (
        "katz-adl",
        ["1", "1", "0", "1", "0", "1"],
        {
            "bathing": 1,
            "dressing": 1,
            "toileting": 0,
            "transferring": 1,
            "continence": 0,
            "feeding": 1,
        },
        4,
        "moderate impairment",
    ),
]


def test_every_instrument_has_a_full_entry_case():
    assert sorted(code for code, *_ in FULL_ENTRIES) == sorted(str(code) for code in INSTRUMENTS)


@pytest.mark.parametrize(
    ("code", "keys", "expected_answers", "total", "band"),
    FULL_ENTRIES,
    ids=[case[0] for case in FULL_ENTRIES],
)
def test_a_full_entry_by_option_keys_scores_every_instrument(
    code, keys, expected_answers, total, band
):
    """What the entry dialog does with each key: the item's option, its value, the score."""
    definition = get_instrument(code)
    answers = {}
    for item, key in zip(definition.items, keys, strict=True):
        option = item.option_for_key(key)
        assert option is not None, (code, item.code, key)
        answers[item.code] = option.value
    assert answers == expected_answers
    assert list(answers) == list(definition.item_codes)  # asked in this order
    score = definition.score(answers)
    assert (score.total, score.band.name, score.variant) == (total, band, "standard")


def test_registry_holds_every_instrument():
    assert set(INSTRUMENTS) == set(Instrument)
    for code, definition in INSTRUMENTS.items():
        assert definition.code is code
        assert get_instrument(code) is definition
        assert get_instrument(code.value) is definition
    with pytest.raises(ValidationError) as caught:
        get_instrument("mmse")
    assert caught.value.field == "instrument"


@pytest.mark.parametrize("definition", list(INSTRUMENTS.values()), ids=lambda d: d.code.value)
def test_definitions_are_well_formed(definition):
    assert definition.citation
    assert validate_bands(definition.bands, definition.min_total, definition.max_total)
    assert all(band.severity in SEVERITIES for band in definition.bands)
    assert len(set(definition.item_codes)) == len(definition.items)
    for item in definition.items:
        assert item.prompt
        assert len({option.value for option in item.options}) == len(item.options)
        assert len({option.key for option in item.options}) == len(item.options)
        assert all(len(option.key) == 1 for option in item.options)
    lowest = sum(min(item.values) for item in definition.items)
    highest = sum(max(item.values) for item in definition.items)
    assert (lowest, highest) == (definition.min_total, definition.max_total)


# ------------------------------------------------------------------------ LACE


def test_lace_design_example():
    score = score_lace(7, True, 2, 2)
    assert score.total == 12
    assert score.summary == "LACE 12 = L5 A3 C2 E2"
    assert score.parts == {"L": 5, "A": 3, "C": 2, "E": 2}
    assert score.band.name == "high"
    assert score.instrument is Instrument.lace
    assert [trigger.code for trigger in score.triggers] == ["lace-high"]
    assert score.triggers[0].message == "LACE >= 10: suggest risk tier high"
    assert score.triggers[0].urgent is False


@pytest.mark.parametrize(
    ("days", "points"),
    [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (13, 5), (14, 7), (60, 7)],
)
def test_lace_length_of_stay_boundaries(days, points):
    assert points_for_length_of_stay(days) == points


@pytest.mark.parametrize(("charlson", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (9, 5)])
def test_lace_charlson(charlson, points):
    assert points_for_comorbidity(charlson) == points


@pytest.mark.parametrize(("visits", "points"), [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (12, 4)])
def test_lace_ed_visits(visits, points):
    assert points_for_ed_visits(visits) == points


def test_lace_acuity():
    assert points_for_acuity(True) == 3
    assert points_for_acuity(False) == 0
    with pytest.raises(ValidationError) as caught:
        points_for_acuity(1)
    assert caught.value.field == "acute_admission"


@pytest.mark.parametrize(
    ("facts", "total", "band", "summary"),
    [
        ((0, False, 0, 0), 0, "low", "LACE 0 = L0 A0 C0 E0"),
        ((4, False, 0, 0), 4, "low", "LACE 4 = L4 A0 C0 E0"),
        ((1, False, 1, 3), 5, "moderate", "LACE 5 = L1 A0 C1 E3"),
        ((3, True, 3, 0), 9, "moderate", "LACE 9 = L3 A3 C3 E0"),
        ((2, True, 3, 2), 10, "high", "LACE 10 = L2 A3 C3 E2"),
        ((14, True, 4, 4), 19, "high", "LACE 19 = L7 A3 C5 E4"),
    ],
)
def test_lace_band_edges(facts, total, band, summary):
    score = score_lace(*facts)
    assert (score.total, score.band.name, score.summary) == (total, band, summary)
    assert bool(score.triggers) is (total >= 10)


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ((-1, True, 0, 0), "length_of_stay_days"),
        ((2.5, True, 0, 0), "length_of_stay_days"),
        ((2, True, -1, 0), "charlson_index"),
        ((2, True, 0, -3), "ed_visits_6_months"),
        ((2, "yes", 0, 0), "acute_admission"),
    ],
)
def test_lace_rejects_bad_facts(facts, field):
    with pytest.raises(ValidationError) as caught:
        score_lace(*facts)
    assert caught.value.field == field


def test_lace_item_entry_matches_facts():
    by_items = LACE.score({"L": 5, "A": 3, "C": 2, "E": 2})
    assert by_items == score_lace(7, True, 2, 2)
    length_item = LACE.item("L")
    assert [(option.label, option.value) for option in length_item.options] == [
        ("<1 day", 0),
        ("1 day", 1),
        ("2 days", 2),
        ("3 days", 3),
        ("4-6 days", 4),
        ("7-13 days", 5),
        (">=14 days", 7),
    ]
    assert length_item.option_for_key("6").value == 7
    assert LACE.item("C").option_for_key("4").value == 5
    assert LACE.item("E").option_for_key("4").value == 4
    assert [option.value for option in LACE.item("A").options] == [0, 3]


def test_lace_item_entry_refuses_points_that_do_not_exist():
    with pytest.raises(ValidationError) as caught:
        LACE.score({"L": 6, "A": 3, "C": 2, "E": 2})
    assert caught.value.field == "L"
    assert caught.value.message == "must be one of 0, 1, 2, 3, 4, 5, 7"


# ----------------------------------------------------------------------- PHQ-9


@pytest.mark.parametrize(
    ("total", "band", "severity"),
    [
        (0, "minimal", "none"),
        (4, "minimal", "none"),
        (5, "mild", "low"),
        (9, "mild", "low"),
        (10, "moderate", "moderate"),
        (14, "moderate", "moderate"),
        (15, "moderately severe", "high"),
        (19, "moderately severe", "high"),
        (20, "severe", "severe"),
        (27, "severe", "severe"),
    ],
)
def test_phq9_band_edges(total, band, severity):
    score = PHQ9.score(answers_totalling(PHQ9, total))
    assert score.total == total
    assert (score.band.name, score.band.severity) == (band, severity)
    assert score.summary == f"PHQ-9 {total} {band}"


def test_phq9_example_moderate_without_item9():
    answers = {
        f"item{number}": value for number, value in enumerate([2, 2, 3, 2, 1, 2, 2, 0, 0], 1)
    }
    score = PHQ9.score(answers)
    assert score.total == 14
    assert score.summary == "PHQ-9 14 moderate"
    assert score.triggers == ()
    assert score.has_urgent_trigger is False


def test_phq9_item9_triggers_urgent_follow_up_even_when_total_is_minimal():
    answers = {f"item{number}": 0 for number in range(1, 10)}
    answers["item9"] = 1
    score = PHQ9.score(answers)
    assert score.total == 1
    assert score.band.name == "minimal"
    assert len(score.triggers) == 1
    trigger = score.triggers[0]
    assert trigger.code == "phq9-item9"
    assert trigger.message == "PHQ-9 item 9 answered above 0: urgent safety follow-up"
    assert trigger.urgent is True
    assert score.has_urgent_trigger is True


def test_phq9_items_are_standard():
    assert PHQ9.item_codes == tuple(f"item{number}" for number in range(1, 10))
    assert PHQ9.items[0].prompt == "Little interest or pleasure in doing things"
    assert PHQ9.items[1].prompt == "Feeling down, depressed, or hopeless"
    assert PHQ9.items[8].prompt.startswith("Thoughts that you would be better off dead")
    assert [(option.key, option.label) for option in PHQ9.items[0].options] == [
        ("0", "Not at all"),
        ("1", "Several days"),
        ("2", "More than half the days"),
        ("3", "Nearly every day"),
    ]


def test_missing_answer_names_the_item():
    answers = {f"item{number}": 1 for number in range(1, 9)}
    with pytest.raises(ValidationError) as caught:
        PHQ9.score(answers)
    assert str(caught.value) == "Item 9 is not answered"


@pytest.mark.parametrize("bad", [4, -1, True, "2", 1.0, None])
def test_invalid_answer_names_the_item(bad):
    answers = {f"item{number}": 0 for number in range(1, 10)}
    answers["item3"] = bad
    with pytest.raises(ValidationError) as caught:
        PHQ9.score(answers)
    assert caught.value.field == "item3"


def test_unknown_item_is_refused():
    answers = {f"item{number}": 0 for number in range(1, 10)}
    answers["item10"] = 0
    with pytest.raises(ValidationError) as caught:
        PHQ9.score(answers)
    assert str(caught.value) == "Item 10 is not an item of PHQ-9"


# ----------------------------------------------------------------------- PHQ-2


@pytest.mark.parametrize(
    ("item1", "item2", "band", "triggered"),
    [
        (0, 0, "negative", False),
        (1, 1, "negative", False),
        (2, 0, "negative", False),
        (2, 1, "positive", True),
        (0, 3, "positive", True),
        (3, 3, "positive", True),
    ],
)
def test_phq2(item1, item2, band, triggered):
    score = PHQ2.score({"item1": item1, "item2": item2})
    assert score.total == item1 + item2
    assert score.band.name == band
    assert score.summary == f"PHQ-2 {item1 + item2} {band}"
    if triggered:
        assert [trigger.code for trigger in score.triggers] == ["phq2-positive"]
        assert score.triggers[0].message == "PHQ-2 positive: suggest a PHQ-9"
        assert score.triggers[0].urgent is False
    else:
        assert score.triggers == ()


def test_phq2_is_items_one_and_two_of_phq9():
    assert PHQ2.items == PHQ9.items[:2]
    assert (PHQ2.min_total, PHQ2.max_total) == (0, 6)


# ----------------------------------------------------------------------- GAD-7


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total, band):
    score = GAD7.score(answers_totalling(GAD7, total))
    assert (score.total, score.band.name) == (total, band)
    assert score.summary == f"GAD-7 {total} {band}"
    assert score.triggers == ()


def test_gad7_items():
    assert len(GAD7.items) == 7
    assert GAD7.items[0].prompt == "Feeling nervous, anxious, or on edge"
    assert GAD7.items[6].prompt == "Feeling afraid, as if something awful might happen"


# ----------------------------------------------------------------------- Morse


def morse(**overrides: int) -> dict[str, int]:
    answers = {
        "history_of_falling": 0,
        "secondary_diagnosis": 0,
        "ambulatory_aid": 0,
        "iv_access": 0,
        "gait": 0,
        "mental_status": 0,
    }
    answers.update(overrides)
    return answers


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        (morse(), 0, "low"),
        (morse(secondary_diagnosis=15, gait=10), 25, "moderate"),
        (morse(ambulatory_aid=15, gait=10), 25, "moderate"),
        (morse(history_of_falling=25), 25, "moderate"),
        (morse(secondary_diagnosis=15, ambulatory_aid=15, gait=10), 40, "moderate"),
        (morse(history_of_falling=25, iv_access=20), 45, "high"),
        (
            morse(
                history_of_falling=25,
                secondary_diagnosis=15,
                ambulatory_aid=30,
                iv_access=20,
                gait=20,
                mental_status=15,
            ),
            125,
            "high",
        ),
    ],
)
def test_morse_totals(answers, total, band):
    score = MORSE.score(answers)
    assert (score.total, score.band.name) == (total, band)
    assert score.summary == f"Morse {total} {band} risk"


def test_morse_band_edges_24_25_44_45():
    # Real totals are multiples of 5, so the 24/25 and 44/45 edges are checked on the bands.
    bands = MORSE.bands
    assert [(band.name, band.low, band.high) for band in bands] == [
        ("low", 0, 24),
        ("moderate", 25, 44),
        ("high", 45, 125),
    ]
    assert bands[0].contains(24) and not bands[0].contains(25)
    assert bands[1].contains(25) and bands[1].contains(44) and not bands[1].contains(45)
    assert bands[2].contains(45)


def test_morse_options_use_index_keys():
    aid = MORSE.item("ambulatory_aid")
    assert [(option.key, option.value) for option in aid.options] == [
        ("0", 0),
        ("1", 15),
        ("2", 30),
    ]
    gait = MORSE.item("gait")
    assert [option.value for option in gait.options] == [0, 10, 20]


def test_morse_rejects_weights_not_on_the_scale():
    with pytest.raises(ValidationError) as caught:
        MORSE.score(morse(ambulatory_aid=1))
    assert caught.value.field == "ambulatory_aid"
    assert caught.value.message == "must be one of 0, 15, 30"


def test_morse_custom_bands():
    unit_bands = (
        Band("low", 0, 44, "low"),
        Band("moderate", 45, 50, "moderate"),
        Band("high", 51, 125, "high"),
    )
    answers = morse(history_of_falling=25, iv_access=20)
    assert MORSE.score(answers).band.name == "high"
    custom = MORSE.score(answers, bands=unit_bands)
    assert custom.band.name == "moderate"
    assert custom.variant == "custom bands"
    assert MORSE.score(answers).variant == "standard"


@pytest.mark.parametrize(
    "bands",
    [
        (Band("low", 0, 40, "low"), Band("high", 45, 125, "high")),  # gap
        (Band("low", 0, 45, "low"), Band("high", 45, 125, "high")),  # overlap
        (Band("low", 0, 100, "low"),),  # short of the maximum
        (Band("low", 0, 125, "purple"),),  # unknown severity
        (),
    ],
)
def test_bad_custom_bands_are_refused(bands):
    with pytest.raises(ValidationError) as caught:
        MORSE.score(morse(), bands=bands)
    assert caught.value.field == "bands"


# ---------------------------------------------------------------------- Braden


@pytest.mark.parametrize(
    ("total", "band", "summary"),
    [
        (6, "very high", "Braden 6 very high risk"),
        (9, "very high", "Braden 9 very high risk"),
        (10, "high", "Braden 10 high risk"),
        (12, "high", "Braden 12 high risk"),
        (13, "moderate", "Braden 13 moderate risk"),
        (14, "moderate", "Braden 14 moderate risk"),
        (15, "mild", "Braden 15 mild risk"),
        (18, "mild", "Braden 18 mild risk"),
        (19, "no risk", "Braden 19 no risk"),
        (23, "no risk", "Braden 23 no risk"),
    ],
)
def test_braden_band_edges(total, band, summary):
    score = BRADEN.score(answers_totalling(BRADEN, total))
    assert (score.total, score.band.name, score.summary) == (total, band, summary)


def test_braden_item_ranges():
    ranges = {item.code: item.values for item in BRADEN.items}
    assert ranges == {
        "sensory_perception": (1, 2, 3, 4),
        "moisture": (1, 2, 3, 4),
        "activity": (1, 2, 3, 4),
        "mobility": (1, 2, 3, 4),
        "nutrition": (1, 2, 3, 4),
        "friction_shear": (1, 2, 3),
    }
    with pytest.raises(ValidationError) as caught:
        BRADEN.score(
            {
                "sensory_perception": 3,
                "moisture": 3,
                "activity": 3,
                "mobility": 3,
                "nutrition": 3,
                "friction_shear": 4,
            }
        )
    assert caught.value.field == "friction_shear"


def test_braden_custom_bands():
    answers = answers_totalling(BRADEN, 18)
    stricter = (Band("at risk", 6, 18, "moderate"), Band("no risk", 19, 23, "none"))
    score = BRADEN.score(answers, bands=stricter)
    assert score.band.name == "at risk"
    assert score.summary == "Braden 18 at risk"


# ------------------------------------------------------------------------ Katz


@pytest.mark.parametrize(
    ("total", "band", "severity"),
    [
        (0, "severe impairment", "severe"),
        (2, "severe impairment", "severe"),
        (3, "moderate impairment", "moderate"),
        (5, "moderate impairment", "moderate"),
        (6, "full function", "none"),
    ],
)
def test_katz_bands(total, band, severity):
    score = KATZ.score(answers_totalling(KATZ, total))
    assert (score.total, score.band.name, score.band.severity) == (total, band, severity)
    assert score.summary == f"Katz ADL {total} {band}"


def test_katz_items_and_keys():
    assert KATZ.item_codes == (
        "bathing",
        "dressing",
        "toileting",
        "transferring",
        "continence",
        "feeding",
    )
    bathing = KATZ.item("bathing")
    assert bathing.option_for_key("1").label == "Independent"
    assert bathing.option_for_key("0").label == "Dependent"
    assert bathing.option_for_key("2") is None
    assert bathing.option_for_value(1).key == "1"
