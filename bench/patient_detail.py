"""Opening the patient detail screen of a heavy chart (DESIGN.md section 5).

Usage: python bench/patient_detail.py [--opens 15] [--db PATH]

Without ``--db`` it builds a temporary database holding one patient with 200
contacts and 30 assessments (plus conditions, medications, care team, tasks,
referrals and a discharge), through the services, as a nurse would have.
Then it runs the real app headless at 120x36 and opens that patient's detail
screen ``--opens`` times as the worklist does (``app.open_patient``): from the
call to the frame in which the header and the summary tab are painted with the
chart (the callback of the first refresh after the chart arrived; the other
tabs fill when first shown). The first opening is reported apart: it
includes compiling the queries once per process.
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

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.services import make_services

TARGET_MS = 100.0
CONTACTS = 200
ASSESSMENTS = 30
NOW = datetime(2026, 11, 27, 9, 0, 0)
SIZE = (120, 36)
INSTRUMENT_ANSWERS = {
    "phq-9": {f"item{number}": 1 for number in range(1, 10)},
    "gad-7": {f"item{number}": 1 for number in range(1, 8)},
    "phq-2": {"item1": 1, "item2": 0},
}


def build_heavy_patient(services) -> int:
    """One patient with a long history, written through the services."""
    services.nurses.create("bench", "Bench Nurse")
    services.nurses.sign_in("bench")
    patient = services.patients.create(
        "90000001", "Heavy", "Chart", birth_date="1948-02-03", risk_tier="high"
    )
    modes = ("phone", "home-visit", "telehealth", "clinic-visit")
    outcomes = ("reached", "no-answer", "left-message", "reached")
    for number in range(CONTACTS):
        services.contacts.log(
            patient.id,
            NOW - timedelta(days=number * 2, hours=number % 7),
            modes[number % len(modes)],
            "patient",
            outcomes[number % len(outcomes)],
            5 + number % 40,
            note=f"Follow-up call number {number}: symptoms, medications, plan reviewed.",
        )
    instruments = list(INSTRUMENT_ANSWERS)
    for number in range(ASSESSMENTS):
        instrument = instruments[number % len(instruments)]
        services.assessments.record(
            patient.id,
            instrument,
            INSTRUMENT_ANSWERS[instrument],
            NOW - timedelta(days=number * 10, hours=1),
        )
    for name in ("Heart failure", "Type 2 diabetes", "COPD", "Hypertension"):
        services.conditions.add(patient.id, name)
    for name in ("Furosemide", "Metformin", "Lisinopril", "Tiotropium", "Atorvastatin"):
        services.medications.add(patient.id, name, dose="1 tab", frequency="daily")
    services.care_team.add(patient.id, "Dr Lee", "pcp", organisation="Main St Clinic")
    services.care_team.add(patient.id, "Sam Ray", "caregiver", phone="555-0101")
    for number in range(12):
        services.tasks.add(patient.id, f"Task {number}", (NOW + timedelta(days=number)).date())
    for service in ("physical-therapy", "home-health", "nutrition"):
        services.referrals.create(patient.id, service, "Community Services", "needs support")
    services.transitions.record_discharge(patient.id, (NOW - timedelta(days=1)).date(), "General")
    return patient.id


async def measure(services, patient_id: int, opens: int) -> list[float]:
    """Milliseconds from pushing the detail screen to its first full paint, per opening."""
    from nursecase.app import make_app

    app = make_app(services)
    times: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        for _ in range(opens):
            painted = asyncio.get_running_loop().create_future()
            started = time.perf_counter()
            app.open_patient(patient_id)
            # The app reuses one detail screen: hook this opening's paint of the chart.
            screen = app.patient_screen
            original_show = type(screen)._show

            def show(chart, screen=screen, original_show=original_show, painted=painted):
                original_show(screen, chart)
                if not painted.done():
                    screen.call_after_refresh(lambda: painted.set_result(time.perf_counter()))

            screen._show = show
            finished = await asyncio.wait_for(painted, 30)
            times.append((finished - started) * 1000)
            await pilot.pause(0.2)
            app.pop_screen()
            await pilot.pause(0.2)
    return times


def main() -> None:
    """Build or open the database, open the chart repeatedly, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=15)
    parser.add_argument("--db", help="use this database (its first patient with most contacts)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(options.db) if options.db else Path(folder) / "detail.db"
        engine = make_engine(path)
        ensure_schema(engine)
        services = make_services(engine, FrozenClock(NOW))
        patient_id = build_heavy_patient(services)
        chart = services.chart.load(patient_id)
        times = asyncio.run(measure(services, patient_id, options.opens))
        engine.dispose()
    first, rest = times[0], times[1:]
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"command: python bench/patient_detail.py --opens {options.opens}")
    print(
        f"chart: {len(chart.contacts)} contacts, "
        f"{sum(len(h.assessments) for h in chart.instruments)} assessments, "
        f"{len(chart.timeline)} timeline events, {len(chart.tasks)} tasks"
    )
    print(f"first opening (compiles the queries)      {first:7.1f} ms")
    verdict = "pass" if statistics.median(rest) <= TARGET_MS else "OVER"
    print(
        f"opening to painted, median of {len(rest):2d}          {statistics.median(rest):7.1f} ms"
        f"   <= {TARGET_MS:.0f} ms  {verdict}"
    )
    print(f"  fastest / slowest                        {min(rest):7.1f} / {max(rest):.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
