"""Opening the Vitals & labs tab of a patient with 5 years of daily readings (DESIGN.md section 5).

Usage: python bench/vitals_tab.py [--opens 15] [--years 5]

It builds a temporary database holding one patient with a reading a day for
``--years`` years of weight, blood pressure (systolic and diastolic), heart
rate, oxygen saturation and glucose (about 11,000 readings), stored through
``services.readings.store`` in one transaction as a device file import does,
and prints the query plans of the tab's reads (each must search the index
ix_reading_patient_measure_when, never scan the patient's readings).

Then it runs the real app headless at 120x36 and, ``--opens`` times, opens the
patient as the worklist does (``app.open_patient``) and presses 8, twice per
round: once the detail screen has been shown a moment (the tab was read
ahead, in the background, after the detail screen's paint), and in the very
frame the detail screen is painted in (the tab's read, 5 years of readings,
is then still to come). The time is from the key to the end of the frame that
draws the tab (see ``measure``). The same run times opening the detail
screen and its contacts tab (key 2) the same way: the figures the target is
set against, under the same load of the machine. The process's CPU time over
each is printed beside it (on a loaded machine the wall time waits for the
CPU, the CPU time much less). The first opening of the tab is reported apart
(its widgets are mounted once per process, like the other tabs', and the
chart module is imported then).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.domain.codes import ReadingSource
from nursecase.services import make_services
from nursecase.services.readings import NewReading

TARGET_MS = 100.0
NOW = datetime(2026, 11, 27, 9, 0, 0)
SIZE = (120, 36)
INDEX = "ix_reading_patient_measure_when"
#: The screen's methods that lay out and draw a frame (Textual 8.2, pinned).
FRAMES = ("_refresh_layout", "_compositor_refresh")


def daily_readings(patient_id: int, days: int) -> list[NewReading]:
    """A reading a day of each measure, with a little daily variation, oldest first."""
    readings = []
    for day in range(days, 0, -1):
        morning = NOW - timedelta(days=day - 1, hours=1, minutes=day % 17)
        wobble = (day * 7919) % 11 - 5  # a fixed pseudo-random -5..5
        readings += [
            NewReading(patient_id, "29463-7", round(81.5 + wobble * 0.1, 1), "kg", morning),
            NewReading(patient_id, "8480-6", 138 + wobble * 2, "mm[Hg]", morning),
            NewReading(patient_id, "8462-4", 84 + wobble, "mm[Hg]", morning),
            NewReading(patient_id, "8867-4", 72 + wobble, "/min", morning),
            NewReading(patient_id, "59408-5", 95 + wobble % 3, "%", morning),
            NewReading(patient_id, "41653-7", 120 + wobble * 6, "mg/dL", morning),
        ]
    return readings


def build_patient(services, years: int) -> tuple[int, int]:
    """One patient with ``years`` years of daily readings; (patient id, readings stored)."""
    services.nurses.create("bench", "Bench Nurse")
    services.nurses.sign_in("bench")
    patient = services.patients.create(
        "90000002", "Daily", "Readings", birth_date="1948-02-03", risk_tier="high"
    )
    readings = daily_readings(patient.id, round(365.25 * years))
    with services.context.write() as session:
        result = services.readings.store(session, readings, ReadingSource.device)
    return patient.id, result.added


def query_plans(engine, services, patient_id: int) -> list[tuple[str, str]]:
    """(the statement's start, its plan) for each statement of the tab's reads."""
    statements: list[tuple[str, object]] = []

    def capture(_connection, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM reading" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        services.readings.latest(patient_id)
        services.readings.series(patient_id, "weight", since=NOW - timedelta(days=90))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = "; ".join(str(row[-1]) for row in rows)
            plans.append((" ".join(statement.split())[:90], plan))
        connection.execute(text("SELECT 1"))
    return plans


async def measure(services, patient_id: int, opens: int) -> dict[str, list[float]]:
    """Per opening, milliseconds to painted: the detail screen, its contacts tab, the vitals tab.

    The vitals tab twice: its key pressed once the detail screen has been
    shown a moment (the tab was read ahead, in the background, after the
    detail screen's paint), and its key pressed at once, in the frame the
    detail screen is painted in (the tab's read, five years of readings, is
    then on the way: from the key to the paint of the read tab). The detail
    screen and its contacts tab are measured in the same run, so that the
    figure the target names ("like the detail screen") is read under the same
    load of the machine.

    "Painted" is the end of the first frame that draws the widget that shows
    the thing measured (the summary of the chart, the contacts table, the
    table of latest values): the first refresh after a key may be a frame of
    the tab bar alone, which bench/patient_detail.py's callback would take
    for the paint.
    """
    from textual._styles_cache import StylesCache
    from textual.screen import Screen

    from nursecase.app import make_app

    waiting: list[tuple[str, asyncio.Future]] = []
    drawn: list[str] = []
    original_render_widget = StylesCache.render_widget
    original_frames = {name: getattr(Screen, name) for name in FRAMES}

    def render_widget(cache, widget, crop):
        if waiting and widget.id == waiting[-1][0]:
            drawn.append(widget.id)
        return original_render_widget(cache, widget, crop)

    def framed(name: str):
        def frame(screen, *arguments, **keywords):
            result = original_frames[name](screen, *arguments, **keywords)
            if drawn and waiting and not waiting[-1][1].done():
                waiting[-1][1].set_result((time.perf_counter(), time.process_time()))
            return result

        return frame

    StylesCache.render_widget = render_widget  # type: ignore[method-assign]
    for name in FRAMES:
        setattr(Screen, name, framed(name))
    app = make_app(services)
    times: dict[str, list[float]] = {}

    async def timed(what: str, marker: str, start, pause: float = 0.2) -> None:
        drawn.clear()
        waiting.append((marker, asyncio.get_running_loop().create_future()))
        started, cpu_started = time.perf_counter(), time.process_time()
        await start()
        finished, cpu_finished = await asyncio.wait_for(waiting[-1][1], 30)
        times.setdefault(what, []).append((finished - started) * 1000)
        times.setdefault(f"{what} cpu", []).append((cpu_finished - cpu_started) * 1000)
        if pause:
            await pilot.pause(pause)

    async def open_detail() -> None:
        app.open_patient(patient_id)

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        for _ in range(opens):
            await timed("detail", "summary-body", open_detail)
            await timed("contacts", "contacts-table", lambda: pilot.press("2"))
            await pilot.press("1")
            await pilot.pause(0.2)
            await timed("vitals", "vitals-latest", lambda: pilot.press("8"))
            app.pop_screen()
            await pilot.pause(0.2)
            # Again, the key pressed in the very frame the detail screen is painted in.
            await timed("detail again", "summary-body", open_detail, pause=0)
            await timed("vitals at once", "vitals-latest", lambda: pilot.press("8"))
            app.pop_screen()
            await pilot.pause(0.2)
    StylesCache.render_widget = original_render_widget  # type: ignore[method-assign]
    for name, method in original_frames.items():
        setattr(Screen, name, method)
    return times


def main() -> None:
    """Build the database, open the tab repeatedly, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=15)
    parser.add_argument("--years", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(Path(folder) / "vitals.db")
        ensure_schema(engine)
        services = make_services(engine, FrozenClock(NOW))
        started = time.perf_counter()
        patient_id, stored = build_patient(services, options.years)
        seeded = time.perf_counter() - started
        plans = query_plans(engine, services, patient_id)
        times = asyncio.run(measure(services, patient_id, options.opens))
        engine.dispose()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"command: python bench/vitals_tab.py --opens {options.opens} --years {options.years}")
    print(f"patient: {stored} readings over {options.years} years, stored in {seeded:.1f} s")
    for statement, plan in plans:
        verdict = "index" if INDEX in plan and "SCAN reading" not in plan else "CHECK"
        print(f"  plan [{verdict}] {plan}\n      for {statement}")
    print(f"first opening of the tab (imports the chart) {times['vitals'][0]:7.1f} ms")
    for what, words in (
        ("vitals", "key 8 to the vitals tab painted"),
        ("vitals at once", "  the same, key 8 as the detail paints"),
        ("detail", "opening the detail screen (same run)"),
        ("contacts", "key 2 to the contacts tab painted"),
    ):
        rest = times[what][1:]
        median = statistics.median(rest)
        verdict = ("pass" if median <= TARGET_MS else "OVER") if "vitals" in what else ""
        cpu = statistics.median(times[f"{what} cpu"][1:])
        print(
            f"{words:40s} median of {len(rest):2d} {median:7.1f} ms"
            f"  ({min(rest):.1f} to {max(rest):.1f}; CPU {cpu:.1f} ms)  {verdict}"
        )


if __name__ == "__main__":
    sys.exit(main())
