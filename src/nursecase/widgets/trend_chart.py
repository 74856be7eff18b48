"""A trend chart: one measure's readings over a window of days, thresholds drawn as lines.

The Vitals & labs tab of the patient screen draws the chosen measure (a
weight, blood pressure's two series, a lab value) over 7, 30 or 90 days, with
the patient's threshold limits as horizontal lines, each named in words in the
key under the plot. The dates under the plot read "05 Dec"; the values are in
the measure's unit, named in the heading. Every word (title, unit, series and
line labels) is the caller's: this widget shows no code.

Drawing is plotext's, through textual-plotext's ``Plot`` (a plotext figure
without plotext's module-wide state). The chart is redrawn from the readings
kept by :meth:`TrendChart.show` whenever Textual repaints it, so a resize
redraws it at the new size; a few hundred readings take a few milliseconds.

This module is imported lazily, by the Vitals & labs tab when it first draws a
chart, never at app launch: plotext and textual-plotext add to the import time
that the launch budget (DESIGN.md section 5) has no room for.

Nothing here reads the clock: the window's start and end are the caller's, so a
snapshot taken with a frozen clock is the same picture on every run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual.color import Color
from textual.widget import Widget
from textual_plotext import Plot

from nursecase.widgets.cut_text import cut_line

#: Seconds in a day: the x axis counts days from the window's start.
_DAY = 86400.0
#: The smallest plot that still reads as a chart (cells); smaller shows the latest values.
MINIMUM_PLOT_WIDTH = 24
MINIMUM_PLOT_HEIGHT = 6
#: Days between two date labels, the fewest that leave each label room.
_DATE_STEPS = (1, 2, 3, 7, 14, 28, 56, 91, 182, 364)
#: Cells one date label ("05 Dec") needs, with the space around it.
_DATE_LABEL_ROOM = 9
#: More date labels than this make a busy axis: a month reads by weeks, not every third day.
_MOST_DATE_LABELS = 8
#: Readings are dots on their line; a second series gets its own mark.
_MARKS = ("•", "◆", "▪", "+")
#: Theme colours of the series, in order, and of the threshold lines.
_SERIES_COLOURS = ("primary", "accent", "success", "secondary")
_LINE_COLOUR = "error"


@dataclass(frozen=True)
class TrendPoint:
    """One reading: when it was taken and its value, in the chart's unit."""

    taken_at: datetime
    value: float


@dataclass(frozen=True)
class TrendSeries:
    """A named run of readings ("Systolic"); blood pressure has two."""

    label: str
    points: Sequence[TrendPoint]


@dataclass(frozen=True)
class TrendLine:
    """A threshold drawn across the window at ``value``, named in words ("Alert above 180")."""

    label: str
    value: float


@dataclass(frozen=True)
class Trend:
    """What a chart draws: its series (readings inside the window only, oldest first) and lines."""

    title: str
    unit: str
    series: tuple[TrendSeries, ...]
    lines: tuple[TrendLine, ...]
    start: datetime
    end: datetime

    @property
    def has_readings(self) -> bool:
        """Whether any series has a reading in the window."""
        return any(series.points for series in self.series)


@dataclass(frozen=True)
class ValueAxis:
    """The y axis: its range and its ticks with their labels."""

    lower: float
    upper: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


def trend_in_window(
    title: str,
    unit: str,
    series: Sequence[TrendSeries],
    lines: Sequence[TrendLine],
    start: datetime,
    end: datetime,
) -> Trend:
    """The trend to draw: each series keeps its readings from ``start`` to ``end``, oldest first.

    A value that is not a number (NaN, infinite) has no place on a plot and is left out.
    """

    def kept(points: Sequence[TrendPoint]) -> tuple[TrendPoint, ...]:
        inside = (
            point
            for point in points
            if start <= point.taken_at <= end and math.isfinite(point.value)
        )
        return tuple(sorted(inside, key=lambda point: point.taken_at))

    return Trend(
        title,
        unit,
        tuple(TrendSeries(one.label, kept(one.points)) for one in series),
        tuple(lines),
        start,
        end,
    )


def no_readings_words(start: datetime, end: datetime) -> str:
    """What an empty window says: "No readings in the last 30 days"."""
    days = round((end - start) / timedelta(days=1))
    if days <= 1:
        return "No readings in the last day"
    return f"No readings in the last {days} days"


def number_words(value: float) -> str:
    """A value as a nurse reads it: 82.4, 148, 0.35 (no trailing zeros, no exponent)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def value_axis(values: Sequence[float], rows: int, marked: Sequence[float] = ()) -> ValueAxis:
    """A y axis ``rows`` high, round ticks (1, 2 or 5 times a power of ten) around ``values``.

    The range holds every value and every ``marked`` one with a margin, so a
    threshold line is never drawn on the frame or left out; equal values get a
    range around them. Each ``marked`` value (a threshold line's) is a tick of
    its own, labelled with its value, and a round tick closer to it than two
    rows is left out so the labels do not run into each other.
    """
    low, high = min([*values, *marked]), max([*values, *marked])
    if high - low < 1e-9:
        half = max(abs(low) * 0.05, 0.5)
        low, high = low - half, high + half
    else:
        margin = (high - low) * 0.05
        low, high = low - margin, high + margin
    wanted = max(3, rows // 3)
    raw_step = (high - low) / wanted
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    decimals = max(0, -math.floor(math.log10(step)))
    first, last = math.floor(low / step), math.ceil(high / step)
    lower, upper = first * step, last * step
    row_height = (upper - lower) / max(1, rows - 1)
    # Round ticks show the same decimals (80.0 beside 80.5); a line's value is shown as given.
    ticks = {
        value: f"{value:.{decimals}f}"
        for value in (round(index * step, decimals + 2) for index in range(first, last + 1))
        if all(abs(value - mark) >= 2 * row_height for mark in marked)
    }
    ticks.update({mark: number_words(mark) for mark in marked})
    ordered = sorted(ticks)
    return ValueAxis(lower, upper, tuple(ordered), tuple(ticks[value] for value in ordered))


def date_ticks(start: datetime, end: datetime, room: int) -> list[tuple[float, str]]:
    """Date labels ("05 Dec") under a plot ``room`` cells wide, as (days from start, label).

    The labels fall on midnights counted back from the window's last day, so
    the latest day is always named; their step (a day, two, three, a week, two
    weeks, four...) is the smallest that leaves each label room and makes at
    most eight labels.
    """
    last = datetime.combine(end.date(), datetime.min.time(), tzinfo=end.tzinfo)
    days_back = max(0.0, (last - start).total_seconds() / _DAY)
    most = max(1, min(_MOST_DATE_LABELS, room // _DATE_LABEL_ROOM))
    step = next(
        (days for days in _DATE_STEPS if math.floor(days_back / days) + 1 <= most),
        _DATE_STEPS[-1],
    )
    ticks: list[tuple[float, str]] = []
    day = last
    while day >= start:
        ticks.append(((day - start).total_seconds() / _DAY, f"{day:%d %b}"))
        day -= timedelta(days=step)
    return ticks[::-1]


class TrendChart(Widget):
    """One measure's readings over a window of days, with threshold lines named in words.

    Call :meth:`show` with what to draw; it replaces what was drawn. A window
    without readings says so in words instead of drawing an empty plot; a
    widget too small for a plot shows each series' latest reading instead.
    """

    DEFAULT_CSS = """
    TrendChart {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._trend: Trend | None = None
        #: The last drawing and what it was drawn from (trend, size, theme): a repaint
        #: of the same chart (a layout pass, the screen shown again) draws nothing anew.
        self._drawn: tuple[Trend, tuple[int, int, str], Text] | None = None

    def on_mount(self) -> None:
        """Redraw in the new colours when the app's theme changes (the plot takes them then)."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    @property
    def trend(self) -> Trend | None:
        """What the chart draws (None until :meth:`show` is called)."""
        return self._trend

    def show(
        self,
        title: str,
        unit: str,
        series: Sequence[TrendSeries],
        lines: Sequence[TrendLine],
        start: datetime,
        end: datetime,
    ) -> None:
        """Draw ``series`` from ``start`` to ``end`` with threshold ``lines``, replacing the chart.

        ``title`` and ``unit`` are words ("Weight", "kg"); readings outside
        the window are left out. ``start`` and ``end`` are the same kind of
        datetime as the readings' (naive local times in nursecase).
        """
        self._trend = trend_in_window(title, unit, series, lines, start, end)
        self.refresh()

    def render(self) -> Text:
        """The heading, then the plot and its key (or the words that stand for them)."""
        shown = self._trend
        if shown is None:
            return Text()
        width, height = self.size.width, self.size.height
        drawn = self._drawn
        looks = (width, height, self.app.theme)
        # The trend itself is kept (compared by identity), so it cannot be a new one at
        # the same address.
        if drawn is None or drawn[0] is not shown or drawn[1] != looks:
            drawn = self._drawn = (shown, looks, self._draw(shown, width, height))
        return drawn[2].copy()

    def _draw(self, shown: Trend, width: int, height: int) -> Text:
        """The chart drawn at ``width`` x ``height`` cells."""
        title = f"{shown.title} ({shown.unit})" if shown.unit else shown.title
        heading = cut_line(Text(title, style="bold"), width)
        if not shown.has_readings:
            return Text("\n").join([heading, Text(no_readings_words(shown.start, shown.end))])
        key = self._key(shown, width)
        plot_height = height - 1 - len(key)
        if width < MINIMUM_PLOT_WIDTH or plot_height < MINIMUM_PLOT_HEIGHT:
            return Text("\n").join([heading, *self._latest(shown, width)])
        plot = Text.from_ansi(self._plot(shown, width, plot_height), no_wrap=True)
        plot.rstrip()  # from_ansi ends with a line break; the key goes right under the dates
        return Text("\n").join([heading, plot, *key])

    def _colour(self, variable: str) -> tuple[int, int, int]:
        """A theme colour as plotext takes it (red, green, blue)."""
        return Color.parse(self.app.theme_variables[variable]).rgb

    def _style(self, variable: str) -> str:
        """A theme colour as a Rich style, for the key's words."""
        return Color.parse(self.app.theme_variables[variable]).hex

    def _series_variable(self, index: int) -> str:
        """The theme variable naming the colour of the ``index``-th series."""
        return _SERIES_COLOURS[index % len(_SERIES_COLOURS)]

    def _plot(self, shown: Trend, width: int, height: int) -> str:
        """The plot, drawn by plotext at ``width`` x ``height`` cells, as ANSI text."""
        plot = Plot()
        plot.theme("clear")  # the widget's own background and text colours
        plot.plotsize(width, height)
        plot._set_size(width, height)  # as textual-plotext's PlotextPlot does, see its issue 5
        readings = [point.value for series in shown.series for point in series.points]
        # Rows inside the frame: the plot less its frame and the date labels.
        axis = value_axis(readings, height - 3, [line.value for line in shown.lines])
        plot.ylim(axis.lower, axis.upper)
        plot.yticks(list(axis.ticks), list(axis.labels))
        span = (shown.end - shown.start).total_seconds() / _DAY
        plot.xlim(0, max(span, 1 / 24))  # a window of no time would have no width
        room = width - max(len(label) for label in axis.labels) - 2
        dates = date_ticks(shown.start, shown.end, room)
        plot.xticks([at for at, _label in dates], [label for _at, label in dates])
        for line in shown.lines:
            plot.horizontal_line(line.value, color=self._colour(_LINE_COLOUR))
        for index, series in enumerate(shown.series):
            if not series.points:
                continue
            days = [
                (point.taken_at - shown.start).total_seconds() / _DAY for point in series.points
            ]
            values = [point.value for point in series.points]
            colour = self._colour(self._series_variable(index))
            if len(days) > 1:
                plot.plot(days, values, marker="braille", color=colour)
            plot.scatter(days, values, marker=_MARKS[index % len(_MARKS)], color=colour)
        return plot.build()

    def _key(self, shown: Trend, width: int) -> list[Text]:
        """The key under the plot: the series (when more than one), then each threshold line."""
        entries: list[Text] = []
        if len(shown.series) > 1:
            for index, series in enumerate(shown.series):
                style = self._style(self._series_variable(index))
                entries.append(Text(f"{_MARKS[index % len(_MARKS)]} {series.label}", style=style))
        line_style = self._style(_LINE_COLOUR)
        for line in shown.lines:
            entries.append(Text(f"── {line.label}", style=line_style))
        return _packed(entries, width)

    def _latest(self, shown: Trend, width: int) -> list[Text]:
        """Each series' latest reading in words, for a widget too small to plot in."""
        latest: list[Text] = []
        for series in shown.series:
            if series.points:
                point = series.points[-1]
                words = f"{series.label} {number_words(point.value)} {shown.unit}"
                latest.append(cut_line(Text(f"{words}, {point.taken_at:%d %b}"), width))
        return latest


def _packed(entries: list[Text], width: int, gap: str = "   ") -> list[Text]:
    """Key entries on as few lines of ``width`` cells as they fit, each cut at a word if alone."""
    lines: list[Text] = []
    for entry in entries:
        if lines and lines[-1].cell_len + len(gap) + entry.cell_len <= width:
            lines[-1].append(gap)
            lines[-1].append_text(entry)
        else:
            lines.append(cut_line(entry, width))
    return lines


__all__ = [
    "Trend",
    "TrendChart",
    "TrendLine",
    "TrendPoint",
    "TrendSeries",
    "ValueAxis",
    "date_ticks",
    "no_readings_words",
    "number_words",
    "trend_in_window",
    "value_axis",
]
