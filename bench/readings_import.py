"""``nursecase import readings FILE.csv`` with one million readings (issue 20): rows/s, peak memory.

Usage: python bench/readings_import.py [--patients 2000] [--per-patient 500] [--keep DIR]

In a temporary folder (or ``--keep DIR``, left in place):

1. ``nursecase seed --db seeded.db --patients N`` (the demo's caseload, without readings);
2. a vendor's export of ``N x per-patient`` readings is written, sorted by time
   across patients as a vendor's export is (the hardest order for lookups by
   patient): for each patient a reading every few hours over about four years,
   cycling weight, systolic, diastolic, heart rate and glucose (a home meter,
   41653-7), so most are history, then the last six days' weights and
   pressures; every other patient's glucose is in mmol/L, every third time
   carries a "Z" zone, and one patient in five gains 0.6 kg a day (2.4 kg in
   the 4 days before today: an alert);
3. ``nursecase import readings`` imports it, in a child process of its own (its
   peak resident memory, /usr/bin/time's %M, is its own; the command's
   imports, the schema check and the summary are included in the wall time);
4. the same file again (every row already on file: the re-import).

Prints rows, wall and CPU seconds (user + system: on a shared machine the
wall time says more about the neighbours), rows/s and peak memory of each run, then the rows and
alerts on file afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

#: (LOINC code, unit, normal value, spread) cycled through each patient's readings.
MEASURES = (
    ("29463-7", "kg", 82.0, 6.0),
    ("8480-6", "mm[Hg]", 132.0, 14.0),
    ("8462-4", "mm[Hg]", 80.0, 8.0),
    ("8867-4", "/min", 72.0, 10.0),
    ("41653-7", "mg/dL", 120.0, 30.0),
)
#: About four years of history per patient, up to a week before the run.
SPAN = timedelta(days=4 * 365)
#: The recent readings of each patient: 5 days of morning weights and evening pressures.
RECENT = 10


def mrns(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [mrn for (mrn,) in connection.execute("SELECT mrn FROM patient ORDER BY id")]


def write_file(path: Path, patient_mrns: list[str], per_patient: int, now: datetime) -> int:
    """The vendor's export: every patient's readings, in time order across patients.

    The last ``RECENT`` readings of each patient are the last five days'
    weights and systolic pressures; the others are
    history, one every few days over four years.
    """
    history = per_patient - RECENT
    step = SPAN / history
    start = now - SPAN - timedelta(days=6)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("device_id,mrn,code,value,unit,time\n")
        for index in range(per_patient):
            for number, mrn in enumerate(patient_mrns):
                if index < history:
                    # Patients' readings are staggered by a second each, all within the step.
                    moment = start + step * index + timedelta(seconds=number)
                    code, unit, normal, spread = MEASURES[index % len(MEASURES)]
                    value = normal + spread * (((index * 7919 + number * 104729) % 201) - 100) / 100
                else:
                    recent = index - history
                    days_ago = 5 - recent // 2
                    # An hour before the run's time of day, so today's is never in the future.
                    moment = now.replace(microsecond=0) - timedelta(
                        days=days_ago, hours=1, seconds=len(patient_mrns) - number
                    )
                    code, unit, normal, spread = MEASURES[recent % 2]
                    value = normal + (0.6 * (5 - days_ago) if number % 5 == 0 else 0.1)
                if code == "41653-7" and number % 2:
                    value, unit = value / 18.016, "mmol/L"
                if index % 3 == 0:
                    # UTC with a "Z", as many vendors write it (a naive moment is local).
                    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                else:
                    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
                handle.write(f"D{number:05d},{mrn},{code},{value:.1f},{unit},{text}\n")
                rows += 1
    return rows


def run(arguments: list[str], environment: dict[str, str]) -> tuple[float, float, float, str]:
    """``python -m nursecase ARGUMENTS``: (wall seconds, CPU seconds (user + system) and peak
    RSS in MB of the child, its output)."""
    started = time.perf_counter()
    finished = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "maxrss_kb=%M cpu_s=%U+%S",
            sys.executable,
            "-m",
            "nursecase",
            *arguments,
        ],
        capture_output=True,
        text=True,
        env=environment,
    )
    seconds = time.perf_counter() - started
    figures = next(line for line in finished.stderr.splitlines() if line.startswith("maxrss_kb="))
    peak_part, cpu_part = figures.split()
    peak_kb = int(peak_part.split("=", 1)[1])
    user, system = cpu_part.split("=", 1)[1].split("+")
    output = finished.stdout + "".join(
        line + "\n" for line in finished.stderr.splitlines() if not line.startswith("maxrss_kb=")
    )
    return seconds, float(user) + float(system), peak_kb / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--per-patient", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="readings-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "seeded.db"
    readings = folder / "readings.csv"
    environment = {**os.environ, "NURSECASE_HOME": str(folder / "home")}
    environment.pop("NURSECASE_DB", None)
    environment.pop("NURSECASE_NURSE", None)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    if not database.exists():
        seconds, _cpu, _peak, output = run(
            ["seed", "--db", str(database), "--patients", str(options.patients)], environment
        )
        print(f"seed: {seconds:.1f} s; {output.strip()}")
    started = time.perf_counter()
    rows = write_file(readings, mrns(database), options.per_patient, datetime.now())
    size = readings.stat().st_size / 1_000_000
    print(f"file: {rows:,} rows, {size:.1f} MB, written in {time.perf_counter() - started:.1f} s")
    for label in ("import", "re-import"):
        seconds, cpu, peak, output = run(
            ["import", "readings", str(readings), "--db", str(database)], environment
        )
        print(
            f"{label}: {seconds:.1f} s wall ({rows / seconds:,.0f} rows/s),"
            f" {cpu:.1f} s CPU ({rows / cpu:,.0f} rows/s of CPU), peak RSS {peak:.0f} MB"
            f"\n  {output.strip()}"
        )
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT count(*) FROM reading").fetchone()[0]
        alerts = connection.execute("SELECT count(*) FROM reading_alert").fetchone()[0]
        events = connection.execute(
            "SELECT count(*) FROM audit_event WHERE entity = 'patient-readings'"
        ).fetchone()[0]
    print(f"on file: {stored:,} readings, {alerts:,} alerts, {events:,} import audit events")
    if options.keep is None:
        print(f"(files left in {folder}; remove them when done)")


if __name__ == "__main__":
    main()
