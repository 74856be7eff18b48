"""Flags that agree and a clean clinical check on a large seeded caseload (issue 16).

Usage: python bench/flags_and_check.py [--patients 10000] [--seed 7] [--db PATH]

Seeds ``--patients`` patients (as ``nursecase seed`` does) into a temporary file
with the system clock, or reads ``--db``; then:

1. runs the clinical consistency check (``nursecase db check --clinical``) and
   reports how long it took and what it found (it must find nothing in seeded
   data);
2. loads Today for every nurse once, and asks for each patient's flags the way
   the patient header does (``WorklistService.flags_for`` for one patient),
   counting the patients whose header flags differ from their Today row's
   (there must be none), with the time per patient.

Exits 1 when the check finds something or a flag disagrees.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from nursecase.clock import SystemClock
from nursecase.db.engine import make_engine
from nursecase.db.maintenance.migrate import ensure_schema
from nursecase.db.models import Patient
from nursecase.demo import seed_database
from nursecase.services import make_services
from nursecase.services.clinical_check import ClinicalCheckService


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="an existing database instead of a fresh seed")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        location = arguments.db or str(Path(folder) / "bench.db")
        engine = make_engine(location)
        ensure_schema(engine)
        clock = SystemClock()
        if arguments.db is None:
            started = time.perf_counter()
            seed_database(engine, clock, patients=arguments.patients, seed=arguments.seed)
            print(f"seeded {arguments.patients} patients in {time.perf_counter() - started:.1f} s")
        services = make_services(engine, clock, nurse="amoreno")
        print(f"machine: {platform.machine()}, Python {platform.python_version()}")

        started = time.perf_counter()
        findings = ClinicalCheckService(services.context).run()
        check_seconds = time.perf_counter() - started
        kinds = Counter(finding.kind.label for finding in findings)
        print(f"clinical check: {len(findings)} contradictions in {check_seconds:.2f} s")
        for label, count in kinds.items():
            print(f"  {label}: {count}")

        started = time.perf_counter()
        rows = {row.patient_id: row.flags for row in services.worklist.today(None)}
        today_seconds = time.perf_counter() - started
        with Session(engine) as session:
            patient_ids = list(session.execute(select(Patient.id).order_by(Patient.id)).scalars())
        differ = 0
        flagged = Counter()
        started = time.perf_counter()
        for patient_id in patient_ids:
            header = services.worklist.flags_for([patient_id])[patient_id]
            flagged.update(flag.label for flag in header)
            if header != rows.get(patient_id, ()):
                differ += 1
        per_patient_ms = (time.perf_counter() - started) * 1000 / max(len(patient_ids), 1)
        print(
            f"Today for every nurse: {len(rows)} rows in {today_seconds:.2f} s; "
            f"header flags of {len(patient_ids)} patients: {per_patient_ms:.2f} ms each"
        )
        print(f"patients per flag: {dict(sorted(flagged.items()))}")
        print(f"patients whose header and Today row flags differ: {differ}")
        engine.dispose()
    return 1 if findings or differ else 0


if __name__ == "__main__":
    sys.exit(main())
