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

Showing: the patient screen reads the tab ahead, hidden, just after it has
painted the chart (``PatientDetailScreen._read_ahead``), so that the tab's key
only shows it; pressed sooner, the key shows the tab once its read is in
place, in one frame, not empty first. The lists are lines in columns
(``widgets/column_list.py``), not DataTables, which take tens of milliseconds
more to paint: the tab has 100 (DESIGN.md section 5, bench/vitals_tab.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from nursecase.domain.codes import Measure
from nursecase.screens.background import run_in_background, user_message
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
from nursecase.widgets.column_list import ColumnLines, CursorList

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
        #: A read has been started and has not come back yet.
        self.read_pending = False
        # Built here, not in compose: the screen fills the tab in the same
        # call that mounts it, before compose has run.
        self.alerts = Static("", id="vitals-alerts")
        # Lines in columns, not DataTables: those take tens of milliseconds to paint
        # (widgets/column_list.py), and the tab has 100 (DESIGN.md section 5).
        self.latest_list = CursorList(
            LATEST_COLUMNS, LATEST_TEXT, rows_shown=LATEST_ROWS, id="vitals-latest"
        )
        self.limits_text = Static("", id="vitals-limits")
        self.chart_box = Vertical(id="vitals-chart-box")
        self.body = Horizontal(id="vitals-body")
        self.readings_heading = ColumnLines(
            READING_COLUMNS, heading=True, id="vitals-readings-heading"
        )
        self.readings_lines = ColumnLines(READING_COLUMNS, id="vitals-readings-lines")
        self.readings_scroll = VerticalScroll(self.readings_lines, id="vitals-readings-scroll")

    def compose(self) -> ComposeResult:
        """Alerts, the latest values, the highlighted measure's limits, its chart and readings."""
        yield self.alerts
        yield self.latest_list
        yield self.limits_text
        with self.body:
            yield self.chart_box
            with Vertical(id="vitals-readings"):
                yield self.readings_heading
                yield self.readings_scroll

    def on_show(self) -> None:
        """The tab is shown: the keyboard goes to the latest values.

        Here, once the frame that shows the tab is laid out, not when the
        screen shows the tab (as it does for its tables): a focus moved before
        that frame restyles the whole screen and paints a frame of the old tab
        first (about 40 ms; bench/vitals_tab.py).
        """
        self.latest_list.focus()

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
        self.read_pending = True
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
        self.latest_list.show_rows([], [])
        self._show_readings([])
        # Hidden, not taken out of the layout: nothing moves when it is shown again.
        self.body.visible = False

    def _failed(self, error: BaseException) -> None:
        self.read_pending = False
        self.alerts.update(user_message(error))
        self._call_when_read()

    @property
    def reading(self) -> bool:
        """Whether a read for the patient is under way with nothing of theirs shown yet."""
        return self.read_pending and self.vitals is None

    def _call_when_read(self) -> None:
        callback, self.when_read = self.when_read, None
        if callback is not None:
            callback()

    def _arrived(self, vitals: VitalsRead) -> None:
        if vitals.patient_id != self.patient_id:
            return  # read for the patient before this one
        self.read_pending = False
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
        latest = self.latest_list
        latest.show_rows(
            latest_table_rows(rows, limits, self.units, today),
            [row.measure.value for row in rows],
            at=self.measure.value if self.measure is not None else None,
        )
        latest.display = bool(rows)  # no heading over nothing
        self._draw()
        self._call_when_read()

    def on_cursor_list_highlighted(self, event: CursorList.Highlighted) -> None:
        """The cursor on another measure: show its chart and readings (read once)."""
        measure = Measure(event.key)
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
        self.readings_heading.show(rows)
        self.readings_lines.show(rows)
        self.readings_scroll.scroll_home(animate=False)


__all__ = [
    "VITALS_ACTIONS",
    "VITALS_INTENTS",
    "VITALS_PANE",
    "VITALS_TITLE",
    "VitalsPane",
    "read_vitals",
]
