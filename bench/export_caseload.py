"""``nursecase export caseload --format csv`` against a raw sqlite3 + csv loop (DESIGN.md 5).

Usage: python bench/export_caseload.py --db PATH [--runs 5]

The database must hold a caseload (for example a copy of one seeded with
``nursecase seed --patients 100000``); it is upgraded to the current schema
first, and every run appends a login and an export audit event to it, so use
a copy. Each run, alternating, in a fresh process:

- raw: ``python -c`` running the caseload report's own SELECT (compiled to
  SQL text) through the standard ``sqlite3`` module and writing every row
  with ``csv.writer``: the floor for "the same rows" in Python;
- cli: ``python -m nursecase export caseload --all --format csv --out FILE``,
  the real command (its imports, sign-in, count, the streamed rows, the
  atomic 0600 write and the audit event included).

Both write to files in a temporary folder; wall times include process start.
The children run with a bytecode cache (PYTHONPYCACHEPREFIX in the temporary
folder, filled by a warm-up run), as an installed nursecase does, even when
PYTHONDONTWRITEBYTECODE is set around the benchmark. CPU times (user + system
of the child) are printed beside wall times: on a shared machine they move
less with other people's load.
The ratio cli/raw of the medians is the figure the target (<= 2.5) is about.
The in-process time of the export service alone is printed too.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.services import make_services
from nursecase.services.exports import ExportService, check_request
from nursecase.services.exports.caseload import caseload_query

TARGET_RATIO = 2.5

RAW_LOOP = """
import csv, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
with open(sys.argv[3], "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    cursor = connection.execute(open(sys.argv[2]).read())
    writer.writerow([column[0] for column in cursor.description])
    for row in cursor:
        writer.writerow(row)
"""


def _caseload_sql(engine, scope) -> str:
    """The report's SELECT as SQL text with its values inlined (what the raw loop runs)."""
    return str(caseload_query(scope).compile(engine, compile_kwargs={"literal_binds": True}))


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a COPY of a seeded database")
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    database = arguments.db.resolve()

    engine = make_engine(database)
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder_name:
        folder = Path(folder_name)
        ensure_schema(engine, backup_folder=folder / "backups")
        services = make_services(engine, SystemClock())
        nurse = services.nurses.list_nurses()[0].username
        services.nurses.sign_in(nurse)
        exporter = ExportService(services.context)
        plan = exporter.prepare(check_request("caseload", "csv", all_nurses=True))
        sql_file = folder / "caseload.sql"
        sql_file.write_text(_caseload_sql(engine, plan.scope), encoding="utf-8")
        patients = sqlite3.connect(database).execute("SELECT count(*) FROM patient").fetchone()[0]

        # In process: the service alone (no interpreter start, no imports).
        started = time.perf_counter()
        result = exporter.run(plan, folder / "service.csv")
        service_seconds = time.perf_counter() - started
        engine.dispose()

        # As an installed nursecase runs: with a bytecode cache (kept in the temporary
        # folder, filled by the warm-up), not compiling every module at every start.
        env = {
            **os.environ,
            "NURSECASE_HOME": str(folder / "home"),
            "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        raw_command = [sys.executable, "-c", RAW_LOOP, str(database), str(sql_file)]
        cli_command = [sys.executable, "-m", "nursecase", "export", "caseload", "--all"]
        cli_command += ["--format", "csv", "--db", str(database), "--nurse", nurse]
        raw_times, cli_times = [], []
        # One warm-up of each (file cache, .pyc), then alternate.
        _timed([*raw_command, str(folder / "raw.csv")], env)
        _timed([*cli_command, "--out", str(folder / "cli.csv")], env)
        for _ in range(arguments.runs):
            raw_times.append(_timed([*raw_command, str(folder / "raw.csv")], env))
            cli_times.append(_timed([*cli_command, "--out", str(folder / "cli.csv")], env))
        raw_rows, cli_rows = _rows(folder / "raw.csv"), _rows(folder / "cli.csv")

    raw, cli = (
        statistics.median(t[0] for t in raw_times),
        statistics.median(t[0] for t in cli_times),
    )
    raw_cpu = statistics.median(t[1] for t in raw_times)
    cli_cpu = statistics.median(t[1] for t in cli_times)
    raw_best, cli_best = min(t[0] for t in raw_times), min(t[0] for t in cli_times)
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python},", end=" ")
    print(f"SQLite {sqlite3.sqlite_version}")
    print(f"database: {database} ({patients:,} patients)")
    print(f"rows written: raw {raw_rows:,}, cli {cli_rows:,}, service {result.rows:,}")
    print(f"runs: {arguments.runs} of each, alternating, after one warm-up each")
    print("                                 wall median   wall best   CPU median")
    print(f"raw sqlite3 + csv loop:          {raw:9.2f} s {raw_best:9.2f} s {raw_cpu:10.2f} s")
    print(f"nursecase export caseload (cli): {cli:9.2f} s {cli_best:9.2f} s {cli_cpu:10.2f} s")
    print(
        f"ratio cli / raw:                 {cli / raw:9.2f} x {cli_best / raw_best:9.2f} x", end=""
    )
    print(f" {cli_cpu / raw_cpu:10.2f} x   (target <= {TARGET_RATIO} x)")
    print(f"export service in process: {service_seconds:.2f} s wall (one run, no start-up)")


if __name__ == "__main__":
    main()
