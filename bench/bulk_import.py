"""Bulk work beside other writers: FHIR import time and memory, and other writers' waits.

Usage:
  python bench/bulk_import.py import [conditions ...]      (default 1000 10000 100000)
  python bench/bulk_import.py wait-import [conditions]     (default 20000)
  python bench/bulk_import.py wait-seed [patients]         (default 20000)

``import``: for each size, one bundle holding one patient with that many
conditions (the shape of the probe of issue 17) is written to a file and
imported by ``nursecase import fhir`` in a fresh database, in a child process
of its own, so that its peak resident memory (ru_maxrss) is its own. Prints
seconds, seconds per 1,000 conditions and peak memory.

``wait-import`` / ``wait-seed``: while a large import (or a seed) runs in one
process, another process adds a nurse (the smallest audited write) every 50 ms
and records how long each write took, its wait for the write lock included.
Prints the longest and the median and how many writes failed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
#: A few SNOMED problems, cycled, with distinct onset days so that every condition is new.
CODES = ("84114007", "44054006", "38341003", "13645005", "49436004", "35489007")


def condition_bundle(conditions: int, patients: int = 1) -> dict:
    """A transaction bundle: ``patients`` patients sharing ``conditions`` conditions."""
    entries: list[dict] = []
    for index in range(patients):
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{index:012d}",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "type": MR_TYPE,
                            "system": "http://hospital.example.org",
                            "value": f"B-{index:06d}",
                        }
                    ],
                    "name": [{"family": "Okafor", "given": ["Grace"]}],
                    "birthDate": "1950-04-02",
                },
            }
        )
    for index in range(conditions):
        year, day = divmod(index, 365)
        onset = f"{1900 + year % 120:04d}-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}"
        owner = index % patients
        entries.append(
            {
                "fullUrl": f"urn:uuid:10000000-0000-4000-8000-{index:012d}",
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": CODES[index % len(CODES)],
                            }
                        ],
                        "text": f"Problem {index}",
                    },
                    "subject": {"reference": f"urn:uuid:00000000-0000-4000-8000-{owner:012d}"},
                    "onsetDateTime": f"{onset}T{index // 43800 % 24:02d}:00:00",
                },
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _environment() -> dict[str, str]:
    # BENCH_SOURCE: another checkout's src folder, to measure it the same way.
    source = os.environ.get("BENCH_SOURCE") or str(Path(__file__).resolve().parents[1] / "src")
    return {
        **os.environ,
        "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "NURSECASE_HOME": os.environ.get("NURSECASE_HOME", tempfile.mkdtemp()),
    }


def _nursecase(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nursecase", *arguments],
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _fresh_database(folder: Path) -> Path:
    database = folder / "bench.db"
    process = _nursecase("db", "upgrade", "--db", str(database))
    process.communicate()
    return database


#: Runs the CLI and reports the process's own peak memory and CPU time on stderr.
_MEASURED = r"""
import resource, sys
from nursecase.cli import main
try:
    main(sys.argv[1:])
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("usage", usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def measure_import(sizes: list[int]) -> None:
    """Import one bundle of each size into a fresh database; time and peak memory."""
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores"
    )
    print("| conditions | seconds | CPU seconds | CPU s per 1,000 | peak memory (MB) |")
    print("|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            database = _fresh_database(folder)
            bundle = folder / "bundle.json"
            bundle.write_text(json.dumps(condition_bundle(size)))
            started = time.perf_counter()
            process = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _MEASURED,
                    "import",
                    "fhir",
                    "--db",
                    str(database),
                    str(bundle),
                ],
                env=_environment(),
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            usage = [line for line in process.stderr.splitlines() if line.startswith("usage ")]
            if process.returncode != 0 or not usage:
                print(f"import of {size} failed: {process.stderr.strip()[-300:]}", file=sys.stderr)
                continue
            _, peak_kib, cpu = usage[-1].split()
            cpu_seconds = float(cpu)
            print(
                f"| {size:,} | {seconds:.1f} | {cpu_seconds:.1f} | {cpu_seconds / size * 1000:.2f}"
                f" | {int(peak_kib) / 1024:.0f} |"
            )


_WRITER = r"""
import os, sys, time
from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.services import make_services
engine = make_engine(sys.argv[1])
services = make_services(engine, SystemClock())
stop_file = sys.argv[2]
waits, failures = [], 0
print("ready", flush=True)
while not os.path.exists(stop_file):
    started = time.perf_counter()
    try:
        services.nurses.create(f"w{len(waits)}-{time.time_ns()}", "Writer Probe", "RN")
        waits.append(time.perf_counter() - started)
    except Exception as error:
        failures += 1
        print(type(error).__name__, str(error)[:80], file=sys.stderr)
    time.sleep(0.05)
waits.sort()
print(len(waits), failures, waits[-1] if waits else 0, waits[len(waits) // 2] if waits else 0)
"""


def measure_wait(kind: str, size: int) -> None:
    """While a bulk job runs, another process writes one audited row every 50 ms.

    The writer (a nurse added: the smallest audited write) starts first and
    runs until the job has ended; each write's time, lock wait included, is
    recorded. SQLite's busy timeout is 5 s: a longer wait fails the write.
    """
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database = _fresh_database(folder)
        stop_file = folder / "stop"
        if kind == "import":
            bundle = folder / "bundle.json"
            bundle.write_text(json.dumps(condition_bundle(size)))
            arguments = ("import", "fhir", "--db", str(database), str(bundle))
        else:
            arguments = ("seed", "--db", str(database), "--patients", str(size))
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(database), str(stop_file)],
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        writer.stdout.readline()  # "ready": its imports are done
        started = time.perf_counter()
        job = _nursecase(*arguments)
        _output, job_errors = job.communicate()
        job_seconds = time.perf_counter() - started
        stop_file.touch()
        output, errors = writer.communicate()
        print(f"{kind} of {size:,}: exit {job.returncode}, {job_seconds:.1f} s")
        if job.returncode:
            print("  " + (job_errors.strip().splitlines() or ["?"])[-1])
        fields = output.split()
        if len(fields) == 4:
            count, failed, longest, median = fields
            print(
                f"  other writer: {count} writes, {failed} failed,"
                f" longest {float(longest):.2f} s, median {float(median) * 1000:.0f} ms"
            )
        if errors.strip():
            print("  writer errors: " + " | ".join(errors.strip().splitlines()[:3]))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "import"
    numbers = [int(value) for value in sys.argv[2:]]
    if command == "import":
        measure_import(numbers or [1_000, 10_000, 100_000])
    elif command == "wait-import":
        measure_wait("import", (numbers or [20_000])[0])
    elif command == "wait-seed":
        measure_wait("seed", (numbers or [20_000])[0])
    else:
        raise SystemExit(__doc__)
