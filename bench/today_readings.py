"""Today's ranking with readings against the same caseload without them (issue 20).

Usage: python bench/today_readings.py --db SEEDED.db [--runs 5]

``--db`` is a caseload seeded by ``nursecase seed`` (which gives a share of the
patients home readings, enrolments and the alerts they raise). The script
copies it twice: one copy as it is, one with every reading, reading alert and
enrolment removed. On each copy, alternately, it ranks Today for every nurse
and for one nurse (``WorklistService.today``), ``--runs`` times each, and
reports the medians and their ratio: the readings must not make Today slower
by more than 20 %. The peak resident memory of the process is printed too.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.services import make_services

NURSE = "amoreno"
TARGET_RATIO = 1.2


def _without_readings(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        for table in ("reading_alert", "reading_threshold", "monitoring_enrolment", "reading"):
            connection.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed table names)
    connection.close()


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("patient", "reading", "reading_alert", "monitoring_enrolment")
        }


def _time_today(services, nurse_id: int | None) -> tuple[float, int]:
    started = time.perf_counter()
    rows = services.worklist.today(nurse_id)
    return (time.perf_counter() - started) * 1000, len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a caseload seeded by nursecase seed")
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        with_path = Path(folder) / "with.db"
        without_path = Path(folder) / "without.db"
        shutil.copy(arguments.db, with_path)
        shutil.copy(arguments.db, without_path)
        _without_readings(without_path)
        print("with readings:", _counts(with_path))
        print("without:      ", _counts(without_path))
        clock = SystemClock()
        copies = {}
        for name, path in (("with", with_path), ("without", without_path)):
            services = make_services(make_engine(str(path)), clock, nurse=NURSE)
            copies[name] = services
            services.worklist.today(None)  # warm: statement caches, page cache
        timings: dict[tuple[str, str], list[float]] = {}
        rows: dict[tuple[str, str], int] = {}
        for _ in range(arguments.runs):
            for name, services in copies.items():
                for scope, nurse_id in (("every nurse", None), ("mine", services.context.nurse_id)):
                    milliseconds, count = _time_today(services, nurse_id)
                    timings.setdefault((name, scope), []).append(milliseconds)
                    rows[(name, scope)] = count
        for scope in ("every nurse", "mine"):
            with_ms = statistics.median(timings[("with", scope)])
            without_ms = statistics.median(timings[("without", scope)])
            ratio = with_ms / without_ms
            verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
            print(
                f"Today, {scope}: with readings {with_ms:.0f} ms ({rows[('with', scope)]} rows), "
                f"without {without_ms:.0f} ms ({rows[('without', scope)]} rows), "
                f"ratio {ratio:.2f} x ({verdict} <= {TARGET_RATIO} x), n={arguments.runs} medians"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
