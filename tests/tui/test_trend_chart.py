"""The trend chart of the Vitals & labs tab: readings over a window, thresholds as named lines.

The chart is drawn from fixed readings and a fixed window (the widget reads no
clock), so its SVG snapshot is the same picture on every run. Update after an
intended change with ``pytest tests/tui/test_trend_chart.py --snapshot-update``
and review the new SVG.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from nursecase.widgets.trend_chart import (
    TrendChart,
    TrendLine,
    TrendPoint,
    TrendSeries,
    date_ticks,
    no_readings_words,
    value_axis,
)
from tests.tui.conftest import SIZE, lines_of

END = datetime(2026, 11, 27, 9, 0)
MONTH = END - timedelta(days=30)

#: A heart-failure patient's morning weights, climbing 2.6 kg over the last five days.
WEIGHTS = [
    TrendPoint(END - timedelta(days=days, hours=1), value)
    for days, value in enumerate(
        [84.1, 83.6, 82.9, 82.0, 81.6, 81.5, 81.7, 81.4, 81.6, 81.5, 81.8, 81.3, 81.6, 81.4]
        + [81.5, 81.7, 81.2, 81.6, 81.4, 81.5, 81.3, 81.6, 81.7, 81.4, 81.5, 81.2, 81.6, 81.5]
    )
]
#: Home blood pressure every other morning: systolic and diastolic, some high.
SYSTOLIC = [TrendPoint(END - timedelta(days=2 * n, hours=2), 132 + (n % 5) * 9) for n in range(15)]
DIASTOLIC = [TrendPoint(END - timedelta(days=2 * n, hours=2), 78 + (n % 4) * 6) for n in range(15)]


class ChartsApp(App[None]):
    """Two charts, one above the other: a weight with one threshold and a blood pressure."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield TrendChart(id="weight")
            yield TrendChart(id="pressure")

    def on_mount(self) -> None:
        self.query_one("#weight", TrendChart).show(
            "Weight",
            "kg",
            [TrendSeries("Weight", WEIGHTS)],
            [TrendLine("Alert above 83.5 kg (dry weight + 2 kg)", 83.5)],
            MONTH,
            END,
        )
        self.query_one("#pressure", TrendChart).show(
            "Blood pressure",
            "mmHg",
            [TrendSeries("Systolic", SYSTOLIC), TrendSeries("Diastolic", DIASTOLIC)],
            [
                TrendLine("Urgent: systolic 180 or above", 180),
                TrendLine("Low: systolic below 90", 90),
            ],
            MONTH,
            END,
        )


def test_weights_and_blood_pressure_over_thirty_days(snap_compare):
    assert snap_compare(ChartsApp(), terminal_size=SIZE)


class OneChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TrendChart()


async def test_empty_window_single_reading_equal_readings_and_a_tiny_terminal():
    app = OneChartApp()
    async with app.run_test(size=(60, 16)) as pilot:
        chart = app.query_one(TrendChart)
        week = END - timedelta(days=7)

        # Readings older than the window are left out: the window is empty.
        chart.show("Weight", "kg", [TrendSeries("Weight", WEIGHTS[10:])], [], week, END)
        await pilot.pause()
        assert lines_of(chart).splitlines()[:2] == ["Weight (kg)", "No readings in the last 7 days"]

        chart.show("Weight", "kg", [TrendSeries("Weight", WEIGHTS[:1])], [], week, END)
        await pilot.pause()
        single = lines_of(chart)
        assert "•" in single and "27 Nov" in single

        equal = [TrendPoint(point.taken_at, 80.0) for point in WEIGHTS]
        chart.show("Weight", "kg", [TrendSeries("Weight", equal)], [], MONTH, END)
        await pilot.pause()
        assert "80┤" in lines_of(chart)

        await pilot.resize_terminal(20, 5)
        await pilot.pause()
        assert lines_of(chart).splitlines()[:2] == ["Weight (kg)", "Weight 80 kg, 27 Nov"]
        assert app.return_code is None  # nothing crashed


@pytest.mark.parametrize(
    ("values", "rows", "marked", "ticks"),
    [
        # Round steps around the values, with a margin.
        ([81.2, 84.1], 15, [], ("81", "82", "83", "84", "85")),
        # A threshold line is a tick of its own; a round tick beside it is left out.
        ([81.2, 84.1], 15, [83.5], ("81", "82", "83.5", "85")),
        # Equal values get a range around them.
        ([80.0], 15, [], ("76", "78", "80", "82", "84")),
        # A line far above the readings is inside the range.
        # (200 is left out: too close to 180 on a plot 9 rows high.)
        ([120, 150], 9, [180], ("100", "150", "180")),
    ],
)
def test_value_axis(values, rows, marked, ticks):
    axis = value_axis(values, rows, marked)
    assert axis.labels == ticks
    assert axis.lower <= min(values + marked) and max(values + marked) <= axis.upper


def test_date_ticks_name_the_last_day_and_leave_each_label_room():
    assert [label for _at, label in date_ticks(MONTH, END, 100)] == [
        "30 Oct",
        "06 Nov",
        "13 Nov",
        "20 Nov",
        "27 Nov",
    ]
    week = date_ticks(END - timedelta(days=7), END, 100)
    assert [label for _at, label in week][0] == "21 Nov" and len(week) == 7
    # A narrow plot names every third day of the week, the last day always.
    narrow = date_ticks(END - timedelta(days=7), END, 35)
    assert [label for _at, label in narrow] == ["21 Nov", "24 Nov", "27 Nov"]
    assert no_readings_words(MONTH, END) == "No readings in the last 30 days"
