"""The Vitals & labs tab of the patient screen: latest values, a trend chart, the readings.

At the top, the patient's open reading alerts in words; then each measure's
latest value with its change, its source and the patient's limits (their own
limit shown like a risk override, with its reason); then, for the measure
under the cursor, its limits in full, its trend chart over 7, 30 or 90 days
(the window key steps through them) with the thresholds drawn as lines, and
its readings in that window, newest first. Moving the cursor redraws the
chart and the readings for the measure under it.

Reading: one background call reads the latest values (one small indexed query
per measure), the limits, the open alerts and the readings of the measure
under the cursor over the longest window; a change of window cuts those
readings again without a read, and another measure is read once and kept
until the tab is read again. That same call imports the chart module, which
costs tens of milliseconds and must never be paid at launch
(tests/test_architecture.py): the thread that waits on the database pays it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from nursecase.domain.codes import Measure
from nursecase.domain.terminal_text import printable
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.formatting import safe_cell
from nursecase.screens.intents import Intent
from nursecase.screens.vitals_views import (
    DEFAULT_WINDOW,
    LATEST_COLUMNS,
    LATEST_TEXT,
    LONGEST_WINDOW,
    READING_COLUMNS,
    WINDOWS,
    VitalsRead,
    alert_lines,
    chart_title,
    display_units,
    in_window,
    latest_rows,
    latest_table_rows,
    limits_by_rule,
    limits_line,
    reading_rows,
    threshold_lines,
    trend_lines,
    trend_series,
    unit_of,
)
from nursecase.widgets.cut_text import cut_line
from nursecase.widgets.fitted_table import FittedTable

if TYPE_CHECKING:
    from nursecase.config import Settings
    from nursecase.services import Services
    from nursecase.services.readings import ReadingRead

#: The pane id of the tab on the patient screen, and its title in the tab bar.
VITALS_PANE = "vitals"
VITALS_TITLE = "Vitals & labs"
#: The window key's hint, beside the limits.
WINDOW_WORDS = f"{', '.join(map(str, WINDOWS[:-1]))} or {WINDOWS[-1]} days"
#: Measures the latest-values table shows without scrolling.
LATEST_ROWS = 7
#: Narrower than this (cells), the chart stands above the readings instead of beside them.
SIDE_BY_SIDE_WIDTH = 100
#: The module drawn charts come from, imported by the tab's first read.
CHART_MODULE = "nursecase.widgets.trend_chart"

VITALS_INTENTS = (
    Intent(
        "patient.vitals.window",
        "w",
        "vitals_window",
        "7/30/90 days",
        "Chart and list the last 7, 30 or 90 days of the measure (each press the next)",
        # Off the footer, like the other tabs' own keys: a footer that changed with the
        # tab would be built again on each showing (tens of ms; bench/vitals_tab.py).
        # The tab says the key itself, beside the limits.
        show=False,
    ),
)
#: The screen's actions that belong to this tab (disabled on the others).
VITALS_ACTIONS = frozenset({"vitals_window"})


def read_vitals(
    services: Services, patient_id: int, wanted: Measure | None, now: datetime
) -> VitalsRead:
    """The tab's read (in a worker thread): latest values, limits, open alerts, one series.

    One read session (one snapshot) for all of it. The series is ``wanted``'s
    when the patient still has it, else the first measure's, over the longest
    window. It also imports the chart module.
    """
    importlib.import_module(CHART_MODULE)
    readings = services.readings
    with services.context.reading():
        latest = tuple(readings.latest(patient_id))
        present = [row.measure for row in latest_rows(latest, {})]
        measure = wanted if wanted in present else (present[0] if present else None)
        since = now - timedelta(days=LONGEST_WINDOW)
        series = tuple(readings.series(patient_id, measure, since=since)) if measure else ()
        return VitalsRead(
            patient_id,
            latest,
            tuple(readings.limits(patient_id)),
            tuple(readings.alerts(patient_id, open_only=True)),
            measure,
            series,
            now,
        )


def column_lines(
    labels: tuple[str, ...], rows: list[tuple[str, ...]], width: int, gap: int = 2
) -> list[Text]:
    """A heading and rows in columns as wide as their widest cell, in ``width`` cells.

    The last column (words, such as the source) takes what is left and is
    cut at a word when it does not fit; with no room left it is left out.
    """
    widths = [
        max([cell_len(label), *(cell_len(row[index]) for row in rows)])
        for index, label in enumerate(labels)
    ]
    lines = []
    for index, cells in enumerate([labels, *rows]):
        line = Text(style="bold" if index == 0 else "")
        used = 0
        for column, (cell, cell_width) in enumerate(zip(cells, widths, strict=True)):
            if column == len(cells) - 1:
                room = width - used
                if room > 0:
                    line.append_text(cut_line(Text(cell), room))
            else:
                line.append(cell.ljust(cell_width + gap - (cell_len(cell) - len(cell))))
                used += cell_width + gap
        lines.append(line)
    return lines


class ReadingLines(Widget):
    """The readings of the window as lines of columns, or their heading.

    A table nobody moves a cursor in: plain lines paint in a fraction of the
    time a DataTable takes (bench/vitals_tab.py), and the tab must paint in
    100 ms. The heading and the lines are two widgets (the lines scroll under
    the heading) that lay their columns out alike from the same rows.
    """

    DEFAULT_CSS = """
    ReadingLines {
        height: auto;
    }
    """

    def __init__(self, *, heading: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.heading = heading
        self.labels: tuple[str, ...] = ()
        self.rows: list[tuple[str, ...]] = []

    def show(self, labels: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        """Show these rows (all of them; the heading lays its columns out for them)."""
        self.labels, self.rows = (
            labels,
            [tuple(printable(str(cell)) for cell in row) for row in rows],
        )
        self.refresh(layout=not self.heading)

    def get_content_height(self, container, viewport, width: int) -> int:
        """One line for the heading; one a reading."""
        return 1 if self.heading else len(self.rows)

    def render(self) -> Text:
        """The heading or the rows, in columns fitted to the widget's width."""
        if not self.labels:
            return Text()
        lines = column_lines(self.labels, self.rows, self.size.width)
        return lines[0] if self.heading else Text("\n").join(lines[1:])


class VitalsPane(Vertical):
    """The Vitals & labs tab's widgets and what they show (see the module docstring)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.patient_id: int | None = None
        self.vitals: VitalsRead | None = None
        #: The measure under the cursor, whose chart and readings are shown.
        self.measure: Measure | None = None
        #: Each measure's readings of the longest window, as read since the tab's last read.
        self.series: dict[Measure, tuple[ReadingRead, ...]] = {}
        self.window_days = DEFAULT_WINDOW
        self.units: dict[Measure, str] = {}
        self.services: Services | None = None
        #: Called once the read under way is in place (``load``).
        self.when_read: Callable[[], None] | None = None
        # Built here, not in compose: the screen fills the tab in the same
        # call that mounts it, before compose has run.
        self.alerts = Static("", id="vitals-alerts")
        self.latest_table = FittedTable(LATEST_COLUMNS, LATEST_TEXT, id="vitals-latest")
        self.limits_text = Static("", id="vitals-limits")
        self.chart_box = Vertical(id="vitals-chart-box")
        self.body = Horizontal(id="vitals-body")
        self.readings_heading = ReadingLines(heading=True, id="vitals-readings-heading")
        self.readings_lines = ReadingLines(id="vitals-readings-lines")
        self.readings_scroll = VerticalScroll(self.readings_lines, id="vitals-readings-scroll")

    def compose(self) -> ComposeResult:
        """Alerts, the latest values, the highlighted measure's limits, its chart and readings."""
        yield self.alerts
        yield self.latest_table
        yield self.limits_text
        with self.body:
            yield self.chart_box
            with Vertical(id="vitals-readings"):
                yield self.readings_heading
                yield self.readings_scroll

    def on_mount(self) -> None:
        """Mounted with the tab shown: the keyboard goes to the latest values.

        (The screen focuses a tab's first table when it shows the tab, but this
        one's tables may join the screen only after that.)
        """
        if self.parent is not None and self.parent.display:
            self.latest_table.focus()

    def on_resize(self, event: events.Resize) -> None:
        """A narrow terminal puts the chart above the readings (each keeps its words whole)."""
        self.set_class(event.size.width < SIDE_BY_SIDE_WIDTH, "-narrow")

    # --- reading ------------------------------------------------------------

    def load(
        self,
        services: Services,
        settings: Settings,
        patient_id: int,
        when_read: Callable[[], None] | None = None,
    ) -> None:
        """Read the patient's readings again (the tab is shown, or the chart was read again).

        Another patient's readings are cleared at once, never shown under
        this one's name; the same patient's stay until the new read arrives.
        ``when_read`` is called once they are in place (or the read failed):
        the screen shows the tab then.
        """
        self.services = services
        self.when_read = when_read
        self.units = display_units(settings.weight_unit, settings.glucose_unit)
        if patient_id != self.patient_id:
            self.forget()
            self.patient_id = patient_id
        clock, wanted = services.clock, self.measure
        run_in_background(
            self,
            lambda: read_vitals(services, patient_id, wanted, clock.now()),
            self._arrived,
            self._failed,
            group="vitals",
            exclusive=True,
        )

    def forget(self) -> None:
        """Show nothing until the next read (the screen is about to show another opening).

        Nothing of the last reading stays on screen, and nothing stale is
        painted when the tab is shown again only to be painted over by its read.
        """
        self.patient_id = None
        self.vitals = None
        self.measure = None
        self.series = {}
        self.alerts.update("Loading…")
        self.limits_text.update("")
        self.latest_table.show_rows([], None)
        self._show_readings([])
        # Hidden, not taken out of the layout: nothing moves when it is shown again.
        self.body.visible = False

    def _failed(self, error: BaseException) -> None:
        self.alerts.update(user_message(error))
        self._call_when_read()

    def _call_when_read(self) -> None:
        callback, self.when_read = self.when_read, None
        if callback is not None:
            callback()

    def _arrived(self, vitals: VitalsRead) -> None:
        if vitals.patient_id != self.patient_id:
            return  # read for the patient before this one
        self.vitals = vitals
        self.series = {vitals.measure: vitals.series} if vitals.measure is not None else {}
        self.measure = vitals.measure
        today = vitals.now.date()
        alerts = self.alerts
        rows = latest_rows(vitals.latest, self.units)
        if vitals.alerts:
            alerts.update(alert_lines(vitals.alerts, today))
        elif not rows:
            alerts.update("No readings on file for this patient.")
        else:
            alerts.update("No open alerts.")
        limits = limits_by_rule(vitals.limits)
        table = self.latest_table
        table.show_rows(
            [
                tuple(safe_cell(cell) for cell in row)
                for row in latest_table_rows(rows, limits, self.units, today)
            ],
            [row.measure.value for row in rows],
        )
        # As high as its rows (a header and up to LATEST_ROWS), set after the rows: laid
        # out first at the full height, the table reserves no scroll bar it will not show,
        # and does not lay its columns out a second time when it shrinks.
        height = min(len(rows), LATEST_ROWS) + 1
        table.display = bool(rows)  # no heading over nothing
        if table.styles.height is None or table.styles.height.value != height:
            table.styles.height = height
        if self.measure is not None:
            # The cursor stays on the measure shown (the table keeps it by its key).
            keys = [row.measure for row in rows]
            if keys.index(self.measure) != table.cursor_row:
                table.move_cursor(row=keys.index(self.measure))
        self._draw()
        self._call_when_read()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor on another measure: show its chart and readings (read once)."""
        if event.data_table.id != "vitals-latest" or event.row_key.value is None:
            return
        measure = Measure(event.row_key.value)
        if measure == self.measure or self.vitals is None or self.services is None:
            return
        self.measure = measure
        if measure in self.series:
            self._draw()
            return
        readings, patient_id, now = self.services.readings, self.vitals.patient_id, self.vitals.now
        since = now - timedelta(days=LONGEST_WINDOW)
        run_in_background(
            self,
            lambda: (measure, tuple(readings.series(patient_id, measure, since=since))),
            self._series_arrived,
            self._failed,
            group="vitals-series",
            exclusive=True,
        )

    def _series_arrived(self, answer: tuple[Measure, tuple[ReadingRead, ...]]) -> None:
        measure, series = answer
        if self.vitals is None:
            return
        self.series[measure] = series
        if measure == self.measure:
            self._draw()

    # --- showing ------------------------------------------------------------

    def next_window(self) -> None:
        """Show the next window (7, 30, 90 days, then 7 again): no read, the readings are here."""
        self.window_days = WINDOWS[(WINDOWS.index(self.window_days) + 1) % len(WINDOWS)]
        self._draw()

    def _draw(self) -> None:
        """The highlighted measure's limits, chart and readings in the window."""
        vitals, measure = self.vitals, self.measure
        box, limits_text = self.chart_box, self.limits_text
        self.body.visible = vitals is not None and measure is not None
        if vitals is None or measure is None:
            self._show_readings([])
            limits_text.update("")
            return
        from nursecase.widgets.trend_chart import TrendChart  # imported by the read already

        start = vitals.now - timedelta(days=self.window_days)
        series = in_window(self.series.get(measure, ()), start, vitals.now)
        limits = limits_by_rule(vitals.limits)
        line = limits_line(measure, limits, self.units)
        line.append(f"   w: {WINDOW_WORDS}", style="dim")
        limits_text.update(line)
        charts = box.query(TrendChart)
        chart = charts.first() if charts else TrendChart(id="vitals-chart")
        if not charts:
            box.mount(chart)
        chart.show(
            chart_title(measure, self.window_days),
            unit_of(measure, self.units),
            trend_series(measure, series, self.units),
            # The weight lines stand on the latest weights, whatever the window shows.
            trend_lines(threshold_lines(measure, self.series.get(measure, ()), limits, self.units)),
            start,
            vitals.now,
        )
        self._show_readings(reading_rows(measure, series, self.units, vitals.now.date()))

    def _show_readings(self, rows: list[tuple[str, ...]]) -> None:
        """The readings under their heading, the newest at the top."""
        self.readings_heading.show(READING_COLUMNS, rows)
        self.readings_lines.show(READING_COLUMNS, rows)
        self.readings_scroll.scroll_home(animate=False)


__all__ = [
    "VITALS_ACTIONS",
    "VITALS_INTENTS",
    "VITALS_PANE",
    "VITALS_TITLE",
    "VitalsPane",
    "read_vitals",
]
