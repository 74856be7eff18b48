"""End to end: ``nursecase adt listen`` over MLLP, killed mid-stream, restarted, stopped by SIGTERM.

Forty patients' admissions (the A01 sample with its MSH-10, MRN and visit
number changed) are sent one at a time, each ACK read before the next. The
listener is killed with SIGKILL after 20 ACKs, with a 21st message sent and
its ACK not read; a second listener on the same database takes the rest on
two connections, the unacknowledged message resent first; SIGTERM then stops
it. Every acknowledged message must be in the inbox once, applied once: one
encounter and one admission notice per patient, no control id twice.
"""

from __future__ import annotations

import asyncio
import select
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

from nursecase.services.adt_inbox import AdtInbox

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "hl7" / "a01_admit.hl7"
PATIENTS = 40
KILLED_AFTER = 20
#: How long a listener may take to start (imports, the schema check) on a busy CI machine.
START_TIMEOUT = 20.0

pytestmark = pytest.mark.sqlite_only


def admission(number: int) -> bytes:
    """Patient ``number``'s admission: its own control id, MRN and visit number."""
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("MERCY-20241205-000101", f"E2E-{number:04}")
    text = text.replace("MRN-ADT-0001", f"MRN-E2E-{number:03}")
    return text.replace("V20241205-0001", f"V-E2E-{number:04}").encode("utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Listener:
    """``python -m nursecase adt listen`` on a port and a database, its start line awaited."""

    def __init__(self, database: Path, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nursecase", "adt", "listen"]
            + ["--port", str(port), "--db", str(database)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = [self._line(START_TIMEOUT)]
        assert self.lines[0].startswith(f"Listening for HL7 ADT on 127.0.0.1:{port} (MLLP)")

    def _line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            raise AssertionError(f"no output in {timeout} s: {self.process.stderr.read()}")
        return self.process.stdout.readline().rstrip("\n")

    def stop(self, how: signal.Signals) -> tuple[int, str, str]:
        """Send ``how``; (exit code, the rest of stdout, stderr)."""
        self.process.send_signal(how)
        out, err = self.process.communicate(timeout=15)
        return self.process.returncode, out, err


async def send(port: int, messages: list[bytes], *, last_unread: bool = False) -> list[bytes]:
    """Send ``messages`` on one connection, each ACK read before the next; the ACKs.

    With ``last_unread`` the last message is sent and its ACK never read.
    """
    import hl7.mllp

    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port)
    acks = []
    try:
        for index, message in enumerate(messages):
            writer.writeblock(message)
            await writer.drain()
            if last_unread and index == len(messages) - 1:
                break
            acks.append(await asyncio.wait_for(reader.readblock(), 10))
    finally:
        if not last_unread:
            writer.close()
    return acks


def accepted(ack: bytes, number: int) -> bool:
    return f"\rMSA|AA|E2E-{number:04}\r".encode() in ack


def test_every_acknowledged_message_is_applied_once_through_a_kill_and_a_sigterm(
    services, database_path
):
    for number in range(PATIENTS):
        services.patients.create(
            f"MRN-E2E-{number:03}", "Lindqvist", "Harold", birth_date="1948-03-12"
        )
    port = free_port()

    first = Listener(database_path, port)
    acks = asyncio.run(
        send(port, [admission(n) for n in range(KILLED_AFTER + 1)], last_unread=True)
    )
    assert all(accepted(ack, n) for n, ack in enumerate(acks)) and len(acks) == KILLED_AFTER
    first.process.kill()  # the 21st message in flight: filed or not, never acknowledged
    first.process.wait(timeout=10)

    second = Listener(database_path, port)
    resent = asyncio.run(send(port, [admission(KILLED_AFTER)]))
    assert accepted(resent[0], KILLED_AFTER)
    rest = list(range(KILLED_AFTER + 1, PATIENTS))

    async def two_connections() -> list[list[bytes]]:
        halves = [rest[0::2], rest[1::2]]
        return await asyncio.gather(*(send(port, [admission(n) for n in h]) for h in halves))

    for half, answers in zip([rest[0::2], rest[1::2]], asyncio.run(two_connections()), strict=True):
        assert all(accepted(ack, n) for n, ack in zip(half, answers, strict=True))
    code, out, err = second.stop(signal.SIGTERM)

    assert code == 0, err
    assert err == ""
    assert out.splitlines()[-1].startswith("Stopped: ")
    printed = "\n".join(first.lines + second.lines) + out
    assert "MRN-E2E" not in printed and "Lindqvist" not in printed  # counts only, no PHI

    # What SIGTERM left filed and not applied is applied at the next start (the same call).
    AdtInbox(services.context, zone=UTC).apply_pending()
    with sqlite3.connect(database_path) as connection:
        inbox = connection.execute("SELECT control_id, status FROM adt_message").fetchall()
        encounters = connection.execute(
            "SELECT patient_id, count(*) FROM encounter GROUP BY patient_id"
        ).fetchall()
        notices = connection.execute(
            "SELECT count(*), count(DISTINCT patient_id) FROM task WHERE source = 'encounter'"
        ).fetchone()
    assert sorted(control_id for control_id, _status in inbox) == [
        f"E2E-{n:04}" for n in range(PATIENTS)
    ]
    assert {status for _control_id, status in inbox} == {"applied"}
    assert len(encounters) == PATIENTS and {count for _patient, count in encounters} == {1}
    assert notices == (PATIENTS, PATIENTS)
