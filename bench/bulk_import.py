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
process, another process writes one audited change (a note on a patient's
contact log... here: a nurse's display name, the smallest audited write) in a
loop and records how long each write waited for the write lock. Prints the
longest and the median wait and how many writes failed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
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
    source = str(Path(__file__).resolve().parents[1] / "src")
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


def measure_import(sizes: list[int]) -> None:
    """Import one bundle of each size into a fresh database; time and peak memory."""
    print(f"machine: {platform.machine()} Python {platform.python_version()}, cores {os.cpu_count()}")
    print("| conditions | seconds | seconds per 1,000 | peak memory (MB) |")
    print("|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            database = _fresh_database(folder)
            bundle = folder / "bundle.json"
            bundle.write_text(json.dumps(condition_bundle(size)))
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.perf_counter()
            process = _nursecase("import", "fhir", "--db", str(database), str(bundle))
            output, errors = process.communicate()
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            if process.returncode != 0:
                print(f"import of {size} failed: {errors.strip()}", file=sys.stderr)
                continue
            # ru_maxrss of the children is the largest child so far: sizes grow, so
            # each row's figure is this import's (a smaller later one would show as is).
            memory = max(peak, before) / 1024
            print(f"| {size:,} | {seconds:.1f} | {seconds / size * 1000:.2f} | {memory:.0f} |")


_WRITER = r"""
import sys, time
from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.services import make_services
engine = make_engine(sys.argv[1])
services = make_services(engine, SystemClock())
stop = time.monotonic() + float(sys.argv[2])
waits, failures = [], 0
while time.monotonic() < stop:
    started = time.perf_counter()
    try:
        services.nurses.create(f"w{len(waits)}-{time.time_ns()}", "Writer Probe", "RN")
        waits.append(time.perf_counter() - started)
    except Exception as error:
        failures += 1
        print(type(error).__name__, str(error)[:80], file=sys.stderr)
    time.sleep(0.05)
print(len(waits), failures, max(waits, default=0), sorted(waits)[len(waits)//2] if waits else 0)
"""


def measure_wait(kind: str, size: int) -> None:
    """While a bulk job runs, time another process's audited writes."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database = _fresh_database(folder)
        if kind == "import":
            bundle = folder / "bundle.json"
            bundle.write_text(json.dumps(condition_bundle(size)))
            job = _nursecase("import", "fhir", "--db", str(database), str(bundle))
        else:
            job = _nursecase("seed", "--db", str(database), "--patients", str(size))
        started = time.perf_counter()
        time.sleep(1.0)  # let the bulk job start writing
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(database), "3600"],
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        job_output, job_errors = job.communicate()
        job_seconds = time.perf_counter() - started
        writer.terminate()
        output, errors = writer.communicate()
        # A terminated writer prints nothing: run it for the job's length instead.
        print(f"bulk job: {kind} {size:,}, exit {job.returncode}, {job_seconds:.1f} s")
        if job.returncode:
            print("  " + job_errors.strip().splitlines()[-1])
        print(output.strip() or "(writer stopped before reporting)", errors.strip()[-400:])


def measure_wait_bounded(kind: str, size: int) -> None:
    """The same as measure_wait, with a writer that stops by itself when the job ends."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database = _fresh_database(folder)
        if kind == "import":
            bundle = folder / "bundle.json"
            bundle.write_text(json.dumps(condition_bundle(size)))
            arguments = ("import", "fhir", "--db", str(database), str(bundle))
        else:
            arguments = ("seed", "--db", str(database), "--patients", str(size))
        started = time.perf_counter()
        job = _nursecase(*arguments)
        writer = None
        waits: list[float] = []
        failures = 0
        while job.poll() is None:
            if writer is None:
                time.sleep(1.0)  # let the bulk job start writing
                writer = subprocess.Popen(
                    [sys.executable, "-c", _WRITER, str(database), "1"],
                    env=_environment(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            output, errors = writer.communicate()
            fields = output.split()
            if len(fields) == 4:
                count, failed, longest, _median = fields
                waits.append(float(longest))
                failures += int(failed)
            writer = None
        job_seconds = time.perf_counter() - started
        _output, job_errors = job.communicate()
        print(f"{kind} {size:,}: exit {job.returncode}, {job_seconds:.1f} s")
        if job.returncode:
            print("  " + (job_errors.strip().splitlines() or ["?"])[-1])
        if waits:
            print(
                f"  other writer: longest wait {max(waits):.2f} s,"
                f" median of per-second maxima {statistics.median(waits):.2f} s,"
                f" failed writes {failures}"
            )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "import"
    numbers = [int(value) for value in sys.argv[2:]]
    if command == "import":
        measure_import(numbers or [1_000, 10_000, 100_000])
    elif command == "wait-import":
        measure_wait_bounded("import", (numbers or [20_000])[0])
    elif command == "wait-seed":
        measure_wait_bounded("seed", (numbers or [20_000])[0])
    else:
        raise SystemExit(__doc__)
