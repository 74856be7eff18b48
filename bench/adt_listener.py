"""``nursecase adt listen`` under load (issue 21): messages per second over MLLP, send-to-ACK times.

Usage: python bench/adt_listener.py [--messages 10000] [--connections 1,4]
       [--patients 2000] [--postgresql URL] [--keep DIR]

For SQLite (a file in a temporary folder, or ``--keep DIR``) and, when
``--postgresql URL`` or NURSECASE_BENCH_POSTGRESQL is given, for PostgreSQL
(the URL's database must be empty or a previous run's: runs append):

1. ``nursecase seed --patients N`` (the demo's caseload);
2. a stream of MESSAGES messages is built from the hand-written samples of
   tests/data/hl7, five per patient in the order a hospital sends them:
   admission (A01), update (A08), discharge (A03, home health: the TCM
   clocks start), an ED visit (A04) and its change to an inpatient stay
   (A06); each with its own MSH-10, the patient's MRN and birth date, its own
   visit numbers;
3. for each number of connections: ``python -m nursecase adt listen`` is
   started on a free loopback port (a child process; its start-up is not
   timed), the stream is split over the connections by patient (a patient's
   messages stay in order on one connection), each connection sends a
   message and waits for its ACK before the next, as an interface engine
   does. Timed: from the first send to the last ACK (messages/s sustained),
   each message's send to its ACK (p50, p95), and from the first send until
   the inbox holds nothing filed and not applied (the applier's rate). Then
   SIGTERM, and the listener's exit code is checked.

Each run uses its own control ids and visit numbers, so runs on one database
are independent (the inbox and the encounters grow by MESSAGES each run).
Prints the machine, the command and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "hl7"
#: The five messages of one patient's story, in order (see the module docstring).
STORY = ("a01_admit.hl7", "a08_update.hl7", "a03_discharge.hl7", "a04_ed.hl7", "a06.hl7")


def nursecase(*arguments: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nursecase", *arguments],
        check=True,
        text=True,
        capture_output=capture,
    )


def patients_of(location: str, count: int) -> list[tuple[str, str]]:
    """(MRN, birth date as HL7 YYYYMMDD) of the first ``count`` patients."""
    from sqlalchemy import text

    from nursecase.db.engine import make_engine

    engine = make_engine(location)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT mrn, birth_date FROM patient ORDER BY id LIMIT :count"),
                {"count": count},
            ).all()
    finally:
        engine.dispose()
    # SQLite gives the date as text, PostgreSQL as a date: both read as YYYYMMDD.
    return [(mrn, str(birth or "").replace("-", "")[:8]) for mrn, birth in rows]


def stream(run: str, patients: list[tuple[str, str]], messages: int) -> list[list[bytes]]:
    """Each patient's messages, in order, until ``messages`` are made."""
    from nursecase.domain.adt import split_messages

    # The samples end their segments with \r, \n or \r\n: made \r, as a feed sends them.
    templates = [split_messages((SAMPLES / name).read_text("utf-8"))[0] for name in STORY]
    stories: list[list[bytes]] = []
    made = 0
    for number, (mrn, birth) in enumerate(patients):
        story = []
        for step, template in enumerate(templates):
            if made == messages:
                break
            text = template.replace("MRN-ADT-0001", mrn).replace("19480312", birth)
            text = text.replace("4410087", f"{run}{number:06}")
            text = text.replace("V20241205-0001", f"{run}-{number:06}-A")
            text = text.replace("V20241220-0031", f"{run}-{number:06}-E")
            control = f"{run}-{number:06}-{step}"
            header, rest = text.split("\r", 1)
            fields = header.split("|")
            fields[9] = control  # MSH-10 (MSH-1 is the separator itself)
            story.append(("|".join(fields) + "\r" + rest).encode("utf-8"))
            made += 1
        stories.append(story)
        if made == messages:
            break
    if made < messages:
        raise SystemExit(f"{len(patients)} patients make only {made} messages; seed more")
    return stories


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def send_all(port: int, queue: list[bytes], times: list[float]) -> None:
    """One connection: send each message, wait for its ACK (AA expected), note the time."""
    import hl7.mllp

    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", port, limit=1 << 20)
    try:
        for message in queue:
            started = time.perf_counter()
            writer.writeblock(message)
            await writer.drain()
            ack = await reader.readblock()
            times.append(time.perf_counter() - started)
            if b"MSA|AA|" not in ack:
                raise SystemExit(f"not accepted: {ack[:200]!r}")
    finally:
        writer.close()


def not_applied(location: str) -> int:
    from sqlalchemy import text

    from nursecase.db.engine import make_engine

    engine = make_engine(location)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM adt_message WHERE status = 'received'")
            ).scalar_one()
    finally:
        engine.dispose()


def one_run(location: str, stories: list[list[bytes]], connections: int) -> dict[str, float]:
    port = free_port()
    listener = subprocess.Popen(
        [sys.executable, "-m", "nursecase", "adt", "listen", "--port", str(port), "--db", location],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        return _timed(location, stories, connections, port, listener)
    finally:
        if listener.poll() is None:
            listener.kill()  # the run failed: never leave a listener behind


def _timed(
    location: str,
    stories: list[list[bytes]],
    connections: int,
    port: int,
    listener: subprocess.Popen[str],
) -> dict[str, float]:
    assert listener.stdout is not None
    first = listener.stdout.readline()
    if not first.startswith("Listening"):
        raise SystemExit(f"the listener did not start: {first!r}")
    queues: list[list[bytes]] = [[] for _ in range(connections)]
    for number, story in enumerate(stories):
        queues[number % connections].extend(story)
    times: list[float] = []

    async def everything() -> None:
        await asyncio.gather(*(send_all(port, queue, times) for queue in queues))

    started = time.perf_counter()
    try:
        asyncio.run(everything())
    except (ConnectionError, asyncio.IncompleteReadError) as error:
        listener.send_signal(signal.SIGTERM)
        out, _ = listener.communicate(timeout=60)
        raise SystemExit(f"a connection failed ({error!r}); the listener said:\n{out}") from None
    last_ack = time.perf_counter() - started
    while not_applied(location):
        time.sleep(0.05)
    all_applied = time.perf_counter() - started
    listener.send_signal(signal.SIGTERM)
    out, _ = listener.communicate(timeout=60)
    if listener.returncode != 0:
        raise SystemExit(f"the listener exited {listener.returncode}")
    quantiles = statistics.quantiles(times, n=100)
    count = len(times)
    return {
        "messages": count,
        "seconds": last_ack,
        "per_second": count / last_ack,
        "p50": quantiles[49] * 1000,
        "p95": quantiles[94] * 1000,
        "applied_seconds": all_applied,
        "applied_per_second": count / all_applied,
        "summary": out.strip().splitlines()[-1] if out.strip() else "",
    }


def row(backend: str, connections: int, r: dict[str, float]) -> str:
    """One line of the results table."""
    return (
        f"| {backend} | {connections} | {r['messages']:,.0f} | {r['seconds']:.1f} s"
        f" | {r['per_second']:.0f} | {r['p50']:.1f} ms | {r['p95']:.1f} ms"
        f" | {r['applied_seconds']:.1f} s | {r['applied_per_second']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", default="1,4")
    parser.add_argument("--patients", type=int, default=2_000)
    parser.add_argument("--postgresql", default=os.environ.get("NURSECASE_BENCH_POSTGRESQL"))
    parser.add_argument("--keep", type=Path)
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="nc-bench-adt-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NURSECASE_HOME", str(folder / "home"))
    print(f"command: python bench/adt_listener.py {' '.join(sys.argv[1:])}")
    load = os.getloadavg()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, load average {load[0]:.1f} at the start"
    )
    backends = [("SQLite", str(folder / "bench_adt.db"))]
    if options.postgresql:
        backends.append(("PostgreSQL", options.postgresql))
    rows = []
    for backend, location in backends:
        seeded = time.perf_counter()
        nursecase("seed", "--db", location, "--patients", str(options.patients), capture=True)
        print(
            f"{backend}: seeded {options.patients} patients in {time.perf_counter() - seeded:.0f} s"
        )
        patients = patients_of(location, options.patients)
        for connections in (int(part) for part in options.connections.split(",")):
            run = f"B{int(time.time()) % 100000}C{connections}"
            result = one_run(location, stream(run, patients, options.messages), connections)
            rows.append((backend, connections, result))
            print(f"  {connections} connection(s): {result['summary']}", flush=True)
            print(f"  {row(backend, connections, result)}", flush=True)
    print()
    print(
        "| database | connections | messages | send to last ACK | messages/s | p50 send->ACK"
        " | p95 send->ACK | all applied | applied/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, connections, result in rows:
        print(row(backend, connections, result))
    if options.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
