"""Two workstations on one database file, writing at the same moment.

Each process logs contacts through the services; BEGIN IMMEDIATE makes them
queue for the write lock, so both succeed, nothing is lost, and the audit
hash chain (whose "previous hash" is read inside each write transaction)
stays intact.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from nursecase.clock import FrozenClock
    from nursecase.db.engine import make_engine
    from nursecase.services import make_services

    database, nurse = sys.argv[1], sys.argv[2]
    patient_id, start = int(sys.argv[3]), float(sys.argv[4])
    clock = FrozenClock(datetime(2026, 11, 27, 9))
    services = make_services(make_engine(database), clock, nurse=nurse)
    while time.time() < start:
        time.sleep(0.001)
    for minute in range(25):
        services.contacts.log(
            patient_id, datetime(2026, 11, 26, 8, minute), "phone", "patient", "reached", 5 + minute
        )
    """
)


def test_two_processes_logging_contacts_both_succeed(services, database_path):
    services.nurses.create("bob", "Bob Reyes", "RN")
    patient = services.patients.create("MRN-C1", "Shared", "Patient")
    start = str(time.time() + 1.5)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(database_path), nurse, str(patient.id), start],
            stderr=subprocess.PIPE,
        )
        for nurse in ("alice", "bob")
    ]
    for writer in writers:
        _, error = writer.communicate(timeout=120)
        assert writer.returncode == 0, error.decode()
    contacts = services.contacts.list_for_patient(patient.id, limit=500)
    by_author: dict[str, int] = {}
    for contact in contacts:
        by_author[contact.author_username] = by_author.get(contact.author_username, 0) + 1
    assert by_author == {"alice": 25, "bob": 25}
    assert services.audit.verify_chain() is None
