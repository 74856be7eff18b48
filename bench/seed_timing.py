"""Time ``nursecase.demo.seed_database`` for a large caseload in a temporary file.

Usage: python bench/seed_timing.py [patients]   (default 100000)

Prints the seconds the seed took, the rows per table, and the database checks
(integrity_check and foreign_key_check) run afterwards, which are not timed.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from nursecase.clock import FrozenClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.demo import seed_database

#: The same frozen moment as the test suite, so runs are comparable.
FROZEN_NOW = datetime(2026, 11, 27, 9, 0, 0)


def main(patients: int) -> None:
    """Seed ``patients`` into a fresh temporary database and report."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.db"
        engine = make_engine(path)
        ensure_schema(engine)

        def report(done: int) -> None:
            print(f"\r{done:>8} patients", end="", file=sys.stderr, flush=True)

        started = time.perf_counter()
        summary = seed_database(engine, FrozenClock(FROZEN_NOW), patients=patients, progress=report)
        elapsed = time.perf_counter() - started
        print(file=sys.stderr)
        total_rows = sum(summary.rows_by_table.values())
        print(f"machine: {platform.machine()} {platform.python_version()}, cores: {_cores()}")
        print(f"patients: {summary.patients}  nurses: {summary.nurses}")
        print(f"seconds: {elapsed:.1f}  ({total_rows / elapsed:,.0f} rows/s)")
        for table, count in summary.rows_by_table.items():
            print(f"  {table:<24} {count:>10,}")
        print(f"  {'total':<24} {total_rows:>10,}")
        with engine.connect() as connection:
            integrity = connection.execute(text("PRAGMA integrity_check")).scalar()
            foreign_keys = connection.execute(text("PRAGMA foreign_key_check")).all()
        print(f"integrity_check: {integrity}  foreign_key_check rows: {len(foreign_keys)}")
        print(f"database size: {path.stat().st_size / 1e6:.0f} MB")
        engine.dispose()


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
