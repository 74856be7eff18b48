"""The Vitals & labs tab of the patient screen: its words, then the tab driven by keys.

The words (latest values, changes, limits, threshold lines, readings as
received) are pure functions of the read models, tested without a terminal.
One Pilot session drives the tab by keys on the real app (open the patient,
8, move the highlight, change the window) and reads what the screen shows;
one SVG snapshot (frozen clock) shows a heart-failure patient's weight over 30
days with its threshold lines. Update it after an intended change with
``pytest tests/tui/test_vitals_tab.py --snapshot-update`` and review the SVG.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from nursecase.app import make_app
from nursecase.domain.codes import Measure, ReadingSource, ThresholdRule
from nursecase.domain.thresholds import RuleLimit, default_limits, limit_words
from nursecase.screens.vitals_pane import VitalsPane
from nursecase.screens.vitals_views import (
    display_units,
    latest_rows,
    latest_value_words,
    limits_by_rule,
    reading_rows,
    rule_words,
    threshold_lines,
)
from nursecase.services.readings import LatestValue, LimitRead, NewReading, ReadingRead
from tests.conftest import FROZEN_NOW
from tests.tui.conftest import SIZE, settings, settle, text_of
from tests.tui.test_patient_detail import (
    active_tab,
    fresh_patient,
    open_chart,
)

KG = display_units("kg", "mg/dL")
POUNDS_AND_MMOL = display_units("lb", "mmol/L")

#: A heart-failure patient's morning weights, newest first: 2.6 kg on in the last five days.
WEIGHTS = [84.1, 83.6, 82.9, 82.0, 81.6, 81.5, 81.7, 81.4, 81.6, 81.5, 81.8, 81.3, 81.6, 81.4]
WEIGHTS += [81.5, 81.7, 81.2, 81.6, 81.4, 81.5, 81.3, 81.6, 81.7, 81.4, 81.5, 81.2, 81.6, 81.5]


def reading(measure: str, value: float, unit: str, taken_at: datetime, **changes) -> ReadingRead:
    """A stored reading as the service returns it (in kg, mmHg, mg/dL unless said)."""
    fields = {
        "id": 1,
        "patient_id": 1,
        "measure": measure,
        "loinc": "",
        "value": value,
        "unit": unit,
        "measure_value": value,
        "taken_at": taken_at,
        "source": ReadingSource.device.value,
        "entered_by": None,
    }
    fields.update(changes)
    return ReadingRead(**fields)


def clinic_limits(**own: tuple[float, str]) -> dict:
    """The default limits by rule, with the patient's own (rule name -> (limit, reason))."""
    limits = []
    for rule, limit in default_limits().items():
        mine = own.get(rule.name)
        limits.append(
            LimitRead(
                rule.value,
                mine[0] if mine else limit.limit,
                limit.urgent,
                mine[1] if mine else None,
                "Alice Moreno" if mine else None,
                datetime(2026, 11, 27, 8, 0) if mine else None,
            )
        )
    return limits_by_rule(limits)


# ------------------------------------------------------------------ the words


def test_latest_values_their_change_and_blood_pressure_as_one_row():
    morning = datetime(2026, 11, 27, 8, 0)
    weight = LatestValue(
        "weight",
        reading("weight", 84.1, "kg", morning),
        reading("weight", 83.6, "kg", morning - timedelta(days=1)),
    )
    systolic = LatestValue(
        "systolic",
        reading("systolic", 148, "mm[Hg]", morning),
        reading("systolic", 142, "mm[Hg]", morning - timedelta(days=2)),
    )
    diastolic = LatestValue(
        "diastolic",
        reading("diastolic", 90, "mm[Hg]", morning),
        reading("diastolic", 92, "mm[Hg]", morning - timedelta(days=2)),
    )
    heart = LatestValue("heart-rate", reading("heart-rate", 72, "/min", morning), None)
    rows = latest_rows([weight, systolic, diastolic, heart], KG)
    assert [row.measure for row in rows] == [
        Measure.weight,
        Measure.blood_pressure,
        Measure.heart_rate,
    ]
    assert [latest_value_words(row, KG) for row in rows] == ["84.1 kg", "148/90 mmHg", "72 bpm"]
    assert [row.change for row in rows] == ["▲ 0.5 kg in 1 d", "▲ 6/▼ 2 mmHg in 2 d", ""]
    # A clinic that weighs in pounds sees pounds, the change too.
    [pounds] = latest_rows([weight], POUNDS_AND_MMOL)
    assert latest_value_words(pounds, POUNDS_AND_MMOL) == "185.4 lb"
    assert pounds.change == "▲ 1.1 lb in 1 d"


def test_limits_in_words_the_patients_own_like_a_risk_override():
    limits = clinic_limits(oxygen_low=(88, "COPD, retains CO2"))
    assert rule_words(ThresholdRule.oxygen_low, limits[ThresholdRule.oxygen_low], KG) == (
        "own limit: oxygen saturation under 88 % — COPD, retains CO2 (Alice Moreno, 27 Nov)"
    )
    assert rule_words(ThresholdRule.glucose_low, limits[ThresholdRule.glucose_low], KG) == (
        "glucose under 70 mg/dL"
    )
    # In the unit the clinic shows glucose in.
    glucose_low = RuleLimit(70, True)
    assert limit_words(ThresholdRule.glucose_low, glucose_low, "mmol/L") == (
        "glucose under 3.9 mmol/L"
    )
    assert limit_words(ThresholdRule.glucose_low, glucose_low) == "glucose under 70 mg/dL"


def test_threshold_lines_levels_and_where_the_next_weighing_breaches():
    limits = clinic_limits()
    assert threshold_lines(Measure.blood_pressure, [], limits, KG) == [
        ("Urgent: systolic pressure 180 mmHg or more", 180),
        ("Urgent: diastolic pressure 120 mmHg or more", 120),
        ("Urgent: systolic pressure under 90 mmHg", 90),
    ]
    # No weights, no weight lines: a gain needs a weight to gain from.
    assert threshold_lines(Measure.weight, [], limits, KG) == []
    # The day's first weighing stands for the day; the week's lowest of the last 7 days.
    day = datetime(2026, 11, 27, 7, 0)
    weights = [
        reading("weight", value, "kg", day - timedelta(days=days))
        for days, value in enumerate([82.0, 81.4, 81.0, 81.2, 81.5, 81.6, 81.3, 80.1])
    ]
    weights.append(reading("weight", 83.0, "kg", day + timedelta(hours=4)))  # after breakfast
    assert threshold_lines(Measure.weight, weights, limits, KG) == [
        ("Urgent: next weight over 82.9 kg (+0.9 kg in a day)", 82.9),
        ("Urgent: next weight over 83.3 kg (+2.3 kg in a week)", 83.3),
    ]
    assert threshold_lines(Measure.weight, weights, limits, POUNDS_AND_MMOL)[0] == (
        "Urgent: next weight over 182.8 lb (+2.0 lb in a day)",
        182.8,
    )


def test_readings_newest_first_with_the_value_as_received_when_it_reads_otherwise():
    day = datetime(2026, 11, 27, 8, 0)
    today = date(2026, 11, 27)
    weights = [
        reading("weight", 180.0, "[lb_av]", day - timedelta(days=1), measure_value=81.64656),
        reading("weight", 82, "kg", day, entered_by="Alice Moreno", source="keyed"),
    ]
    assert reading_rows(Measure.weight, weights, KG, today) == [
        ("27 Nov 08:00", "82.0 kg", "", "Keyed by A. Moreno"),
        ("26 Nov 08:00", "81.6 kg", "180 lb", "Home device"),
    ]
    pressure = [
        reading("systolic", 148, "mm[Hg]", day),
        reading("diastolic", 90, "mm[Hg]", day),
        reading("systolic", 151, "mm[Hg]", datetime(2025, 3, 2)),
    ]
    assert reading_rows(Measure.blood_pressure, pressure, KG, today) == [
        ("27 Nov 08:00", "148/90 mmHg", "", "Home device"),
        ("02 Mar 2025", "systolic 151 mmHg", "", "Home device"),
    ]
    glucose = [reading("glucose", 7.2, "mmol/L", day, measure_value=129.7152)]
    assert reading_rows(Measure.glucose, glucose, POUNDS_AND_MMOL, today) == [
        ("27 Nov 08:00", "7.2 mmol/L", "", "Home device")
    ]
    assert reading_rows(Measure.glucose, glucose, KG, today)[0][1:3] == ("130 mg/dL", "7.2 mmol/L")


# --------------------------------------------------------------------- the tab


def seed_readings(services, patient_id: int) -> None:
    """A month of daily weights (2.6 kg on in five days: an urgent alert), blood pressure
    every other morning, two keyed heart rates and the patient's own oxygen limit."""
    now = FROZEN_NOW
    rows = [
        NewReading(patient_id, "29463-7", value, "kg", now - timedelta(days=days, hours=1))
        for days, value in enumerate(WEIGHTS)
    ]
    for step in range(15):
        moment = now - timedelta(days=2 * step, hours=2)
        rows.append(NewReading(patient_id, "8480-6", 132 + step % 5 * 9, "mm[Hg]", moment))
        rows.append(NewReading(patient_id, "8462-4", 78 + step % 4 * 6, "mm[Hg]", moment))
    rows.append(NewReading(patient_id, "59408-5", 89, "%", now - timedelta(hours=2)))
    with services.context.write() as session:
        services.readings.store(session, rows, ReadingSource.device)
    services.readings.key(patient_id, {"heart-rate": (88, "/min")}, now - timedelta(hours=3))
    services.readings.key(patient_id, {"heart-rate": (84, "bpm")}, now - timedelta(hours=1))
    services.readings.set_limit(patient_id, "oxygen-low", 88, "COPD, retains CO2")


def reading_lines(pane: VitalsPane) -> list[tuple[str, ...]]:
    return pane.readings_lines.rows


async def test_the_tab_by_keys_latest_values_chart_readings_and_windows(app_services):
    patient = fresh_patient(app_services)
    seed_readings(app_services, patient.id)
    nurse = app_services.context.nurse_name
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_chart(pilot, patient.id)
        await pilot.press("w")  # the window key does nothing off the tab
        await pilot.press("8")
        await settle(pilot)
        assert active_tab(screen) == "vitals"
        pane = screen.query_one(VitalsPane)
        latest = pane.latest_list
        assert screen.focused is latest

        # The open alert in words, the latest values with their change, source and limits.
        assert text_of(pane.alerts).splitlines()[:2] == [
            "Urgent: weight +2.7 kg in 7 d  (reading of 27 Nov 08:00)",
            "Urgent: SpO2 89 % low  (reading of 27 Nov 07:00)",
        ]
        rows = pane.latest_list.rows
        assert [row[:3] for row in rows] == [
            ("Weight", "84.1 kg", "▲ 0.5 kg in 1 d"),
            ("Blood pressure", "132/78 mmHg", "▼ 9/▼ 6 mmHg in 2 d"),
            ("Heart rate", "84 bpm", "▼ 4 bpm in 2 h"),
            ("Oxygen saturation", "89 %", ""),
        ]
        short_name = f"{nurse.split()[0][0]}. {nurse.split()[-1]}"
        assert rows[2][4] == f"Keyed by {short_name}"
        assert rows[3][5].startswith("own limit: oxygen saturation under 88 % — COPD, retains CO2")

        # The weight chart over 30 days with its lines; the readings newest first.
        chart = pane.query_one("#vitals-chart")
        assert chart.trend.title == "Weight, last 30 days"
        assert [line.label for line in chart.trend.lines] == [
            "Urgent: next weight over 85.0 kg (+0.9 kg in a day)",
            "Urgent: next weight over 83.8 kg (+2.3 kg in a week)",
        ]
        assert len(chart.trend.series[0].points) == 28
        assert reading_lines(pane)[0] == ("27 Nov 08:00", "84.1 kg", "", "Home device")
        assert "Weight limits: weight gain over 0.9 kg in a day" in text_of(pane.limits_text)

        # Down: blood pressure, one chart of two series, its readings in pairs.
        await pilot.press("down")
        await settle(pilot)
        assert chart.trend.title == "Blood pressure, last 30 days"
        assert [series.label for series in chart.trend.series] == ["Systolic", "Diastolic"]
        assert [line.value for line in chart.trend.lines] == [180, 120, 90]
        assert reading_lines(pane)[:2] == [
            ("27 Nov 07:00", "132/78 mmHg", "", "Home device"),
            ("25 Nov 07:00", "141/84 mmHg", "", "Home device"),
        ]
        assert len(reading_lines(pane)) == 15

        # w: 90 days, then 7 (the readings are cut from those read, no read again).
        await pilot.press("w")
        await settle(pilot)
        assert chart.trend.title == "Blood pressure, last 90 days"
        await pilot.press("w")
        await settle(pilot)
        assert chart.trend.title == "Blood pressure, last 7 days"
        assert [row[0] for row in reading_lines(pane)] == [
            "27 Nov 07:00",
            "25 Nov 07:00",
            "23 Nov 07:00",
            "21 Nov 07:00",
        ]
        # Down twice: oxygen saturation with the patient's own limit drawn.
        await pilot.press("down", "down")
        await settle(pilot)
        assert [line.label for line in chart.trend.lines] == [
            "Urgent (own limit): oxygen saturation under 88 %"
        ]
        assert "own limit: oxygen saturation under 88 % — COPD, retains CO2" in text_of(
            pane.limits_text
        )

        # Back, and another patient on the same (reused) screen: nothing of the first
        # patient's readings is shown for them.
        await pilot.press("escape")
        other = app_services.patients.create("PD-101", "Other", "Sam", birth_date=date(1951, 2, 3))
        screen = await open_chart(pilot, other.id)
        assert active_tab(screen) == "summary"
        await pilot.press("8")
        await settle(pilot)
        assert text_of(pane.alerts).strip() == "No readings on file for this patient."
        assert not latest.display and reading_lines(pane) == []
        assert app.return_code is None


def test_snapshot_weight_over_thirty_days_with_its_threshold_lines(app_services, snap_compare):
    patient = fresh_patient(app_services)
    seed_readings(app_services, patient.id)

    async def run_before(pilot):
        screen = await open_chart(pilot, patient.id)
        await pilot.press("8")
        await settle(pilot)
        assert active_tab(screen) == "vitals"
        assert screen.query_one(VitalsPane).query_one("#vitals-chart").trend.has_readings

    app = make_app(app_services, settings())
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
