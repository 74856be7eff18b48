"""``nursecase adt listen|import|status``: the hospital's ADT feed (HL7 v2) from the shell.

Issue 21, item 2. Every message goes through the ADT inbox
(``nursecase.services.adt_inbox``) in two steps: ``receive`` files it and
commits before it returns the acknowledgement, then ``apply_pending`` applies
what was filed, in the order it came.

- ``listen``: an MLLP server (python-hl7's ``hl7.mllp``, asyncio) on the
  configured host and port, loopback by default. On each connection the
  messages are handled strictly in order: filed (in a worker thread, so that
  other connections keep going), then acknowledged, then one applier thread
  is woken. The applier also runs once at start, so what a killed listener
  filed and did not apply is applied. SIGTERM or SIGINT stops it cleanly:
  no new connection is accepted, a message in hand is filed and acknowledged,
  the applier finishes the message it is applying, and a summary line is
  printed (exit 0). What is filed and not applied yet stays filed for the
  next start.
- ``import FILE...``: files of messages (one, several, or an HL7 batch), each
  message through the same ``receive`` and ``apply_pending``.
- ``status``: how many messages the inbox holds in each state, in words.

Nothing here prints a message's content or a patient's data (DESIGN.md
section 4): lines hold counts, positions in a file, and the inbox's reasons,
which name fields, never their values.

Text: HL7 v2 names its character set in MSH-18, which most feeds leave empty;
the bytes are read as UTF-8 (ASCII is a part of it, and today's interface
engines send it), else as ISO 8859-1 (latin-1, the older feeds' usual set,
which can read any byte), and the acknowledgement is written back in the same
encoding the message was read in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase.cli.runtime import (
    CommandError,
    CommandState,
    DbOption,
    SignInPasswordStdinOption,
    echo,
    handled,
    load_settings,
    nurse_option,
)

if TYPE_CHECKING:
    from hl7.mllp import HL7StreamReader, HL7StreamWriter

    from nursecase.domain.codes import AdtMessageStatus
    from nursecase.services import Services
    from nursecase.services.adt_inbox import AdtInbox

adt_app = typer.Typer(
    help="The hospital's ADT feed (HL7 v2 admissions, discharges, ED visits):"
    " listen, import files, see the inbox.",
    no_args_is_help=True,
)

#: The largest message the listener reads (MLLP block, bytes). An ADT message
#: is a few kilobytes; python-hl7's default limit, 64 KiB, is short for one
#: with many diagnoses or notes.
MESSAGE_LIMIT = 1024 * 1024
#: The listener prints a count line after every this many messages.
COUNT_EVERY = 1000
#: Refused messages of a file printed in full; the rest are counted.
REFUSALS_SHOWN = 50

NurseOption = Annotated[
    str | None,
    nurse_option(
        "Act as this nurse (username): the audit names them. Without it the messages are"
        " filed by the system, as a feed's are."
    ),
]


def decoded(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a message's bytes: UTF-8, else latin-1 (see the module docstring)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def _sign_in_if_named(
    state: CommandState, services: Services, why: str, password_stdin: bool
) -> None:
    """Sign in the nurse named by --nurse, if any; otherwise the system acts (no nurse)."""
    if state.nurse is not None:
        state.act_as(services, why, password_stdin=password_stdin)


# --- listen ----------------------------------------------------------------------


@dataclass
class Tally:
    """What the listener has done since it started (counts only: no content)."""

    received: int = 0
    repeats: int = 0
    refused: int = 0
    not_filed: int = 0
    #: Messages the applier settled: applied, unmatched, not acted on, or in error.
    applied: int = 0

    def line(self) -> str:
        """The counts in words."""
        return (
            f"{_count(self.received, 'message')} received"
            f" ({self.repeats:,} repeated, {self.refused:,} refused),"
            f" {self.applied:,} processed"
            + (f", {self.not_filed:,} not filed (not acknowledged)" if self.not_filed else "")
        )


class Applier:
    """One thread applying the inbox, one message per transaction, whenever it is woken.

    One thread, so that messages are applied in the order they were filed
    whatever the number of connections. Asked to stop, it finishes the
    message it is applying and leaves the rest filed for the next start.
    """

    def __init__(self, inbox: AdtInbox, tally: Tally, say: Callable[[str], None]) -> None:
        self.inbox = inbox
        self.tally = tally
        self.say = say
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="adt-applier", daemon=True)

    def start(self) -> None:
        """Start, applying at once what an earlier run filed and did not apply."""
        self._wake.set()
        self._thread.start()

    def wake(self) -> None:
        """A message was filed: apply it (cheap, never blocks)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the message in hand, then return (blocks until the thread has ended)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            while not self._stop.is_set():
                try:
                    applied = self.inbox.apply_pending(limit=1)
                except Exception as error:  # the database went away, a bug: say so, keep going
                    # The message stays filed; the next wake (the next message) tries again.
                    self.say(
                        f"nursecase: warning: a filed message could not be applied"
                        f" ({type(error).__name__}); it stays filed and is tried again"
                    )
                    break
                if not applied:
                    break
                self.tally.applied += applied


class Listener:
    """The MLLP server's connections: each message filed, acknowledged, then applied."""

    def __init__(self, inbox: AdtInbox, say: Callable[[str], None]) -> None:
        self.inbox = inbox
        self.say = say
        self.tally = Tally()
        self.applier = Applier(inbox, self.tally, say)
        self.stopping = asyncio.Event()
        #: Each open connection's writer, and whether it has a message in hand.
        self._connections: dict[HL7StreamWriter, bool] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        """SIGTERM/SIGINT: stop reading; connections with a message in hand finish it first."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        for writer, busy in list(self._connections.items()):
            if not busy:
                writer.close()  # its reader then sees the end

    async def finish(self) -> None:
        """Wait for every connection to end (each finishes the message in hand)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def serve(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        """One connection: read, file, acknowledge, one message at a time, until it ends."""
        from hl7.mllp import InvalidBlockError

        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._connections[writer] = False
        try:
            while not self.stopping.is_set():
                try:
                    block = await reader.readblock()
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the sender closed the connection, or we did (stopping)
                except InvalidBlockError:
                    self.say("nursecase: warning: bytes outside an MLLP block were skipped")
                    continue
                except ValueError:  # longer than MESSAGE_LIMIT: it cannot be read whole
                    self.say(
                        f"nursecase: warning: a message longer than {MESSAGE_LIMIT:,} bytes"
                        " was not read; the connection is closed"
                    )
                    return
                self._connections[writer] = True
                try:
                    if not await self._answer(block, writer):
                        return
                finally:
                    self._connections[writer] = False
        finally:
            self._connections.pop(writer, None)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _answer(self, block: bytes, writer: HL7StreamWriter) -> bool:
        """File one message, send its acknowledgement, wake the applier; False to hang up."""
        text, encoding = decoded(block)
        try:
            receipt = await asyncio.to_thread(self.inbox.receive, text)
        except Exception as error:  # the database cannot be written: do not acknowledge
            self.tally.not_filed += 1
            self.say(
                f"nursecase: warning: a message could not be filed ({type(error).__name__});"
                " it was not acknowledged and the connection is closed, so the sender sends"
                " it again"
            )
            return False
        writer.writeblock(receipt.acknowledgement.encode(encoding, "replace"))
        try:
            await writer.drain()
        except ConnectionError:
            return False  # filed; the sender will resend it, answered as a repeat
        finally:
            self._counted(receipt.repeat, receipt.ack_code)
        return True

    def _counted(self, repeat: bool, ack_code: str) -> None:
        from nursecase.domain.adt import ACCEPT

        tally = self.tally
        tally.received += 1
        tally.repeats += repeat
        tally.refused += ack_code != ACCEPT
        if not repeat:
            self.applier.wake()
        if tally.received % COUNT_EVERY == 0:
            self.say(tally.line())


async def run_listener(
    inbox: AdtInbox, host: str, port: int, database: str, say: Callable[[str], None]
) -> Tally:
    """Listen until SIGTERM or SIGINT; what was done."""
    import hl7.mllp

    listener = Listener(inbox, say)
    try:
        server = await hl7.mllp.start_hl7_server(
            listener.serve, host, port, limit=MESSAGE_LIMIT, reuse_address=True
        )
    except OSError as error:
        # asyncio words a failed bind "error while attempting to bind on address ...":
        # the system's own words for the errno say it in one short line.
        if isinstance(error, socket.gaierror) or not error.errno:
            why = error.strerror or str(error) or type(error).__name__
        else:
            why = os.strerror(error.errno)
        raise CommandError(f"cannot listen on {host}:{port}: {why}") from None
    except (UnicodeError, ValueError, OverflowError) as error:  # a host name too long, ...
        raise CommandError(f"cannot listen on {host}:{port}: not a usable host ({error})") from None
    loop = asyncio.get_running_loop()
    # asyncio takes signals only in the main thread of a POSIX process; elsewhere
    # (Windows, a thread) ctrl+c ends the listener as it ends any command.
    signals = (
        (signal.SIGTERM, signal.SIGINT)
        if sys.platform != "win32" and threading.current_thread() is threading.main_thread()
        else ()
    )
    for number in signals:
        loop.add_signal_handler(number, listener.stop)
    bound = server.sockets[0].getsockname() if server.sockets else (host, port)
    say(f"Listening for HL7 ADT on {bound[0]}:{bound[1]} (MLLP); database {database}")
    listener.applier.start()
    try:
        await listener.stopping.wait()
    finally:
        server.close()
        listener.stop()
        await listener.finish()
        await asyncio.to_thread(listener.applier.stop)
        for number in signals:
            loop.remove_signal_handler(number)
    return listener.tally


def _say(line: str) -> None:
    """Print a line of the listener's; a closed standard output never stops the listening."""
    # The reader of a pipe may go away: the feed matters more than the log.
    with contextlib.suppress(OSError):
        echo(line)


@adt_app.command("listen")
@handled()
def listen(
    context: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="Address to listen on (default: [adt] host in config.toml, else 127.0.0.1)."
            " MLLP is not encrypted: keep it on loopback or a private network.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="TCP port (default: [adt] port in config.toml, else 2575).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    nurse: NurseOption = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """Receive the hospital's ADT messages over MLLP until stopped (SIGTERM or ctrl+c).

    Each message is filed in the inbox and committed before its
    acknowledgement (AA, or AE/AR with the reason) is sent, then applied:
    admissions, discharges (the TCM clocks), ED visits, updates and
    cancellations. A message for a patient nursecase does not know waits in
    the unmatched queue for a nurse. The same message again (same MSH-10) is
    acknowledged and not applied twice. Prints counts, never message content.
    """
    settings = load_settings()
    state = CommandState.of(context, db, nurse)
    with state.services(settings=settings) as services:
        _sign_in_if_named(state, services, "listening for ADT messages", password_stdin)
        tally = asyncio.run(
            run_listener(
                services.adt,
                host if host is not None else settings.adt_host,
                port if port is not None else settings.adt_port,
                state.shown,
                _say,
            )
        )
        waiting = services.adt.counts()
    from nursecase.domain.codes import AdtMessageStatus

    left = waiting.of(AdtMessageStatus.received)
    echo(
        f"Stopped: {tally.line()}"
        + (f"; {left:,} filed, to be applied at the next start." if left else ".")
    )


# --- import ----------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What became of one file's messages."""

    received: int = 0
    repeats: int = 0
    applied: int = 0
    unmatched: int = 0
    not_acted_on: int = 0
    errors: int = 0
    #: (position in the file, 1-based; "refused (AR)" or "not applied"; the reason).
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    def line(self, name: str) -> str:
        """The file's counts in words."""
        return (
            f"{name}: {_count(self.received, 'message')} received"
            + (f" ({self.repeats:,} already in the inbox)" if self.repeats else "")
            + f"; {self.applied:,} applied, {self.unmatched:,} unmatched,"
            f" {self.not_acted_on:,} not acted on, {_count(self.errors, 'error')}"
        )


@dataclass(frozen=True)
class Settled:
    """Where one filed message stands after applying."""

    status: AdtMessageStatus
    reason: str | None
    ack_code: str


def settled(services: Services, message_ids: list[int]) -> dict[int, Settled]:
    """Each filed message's state, reason and acknowledgement code, by inbox id."""
    from sqlalchemy import select
    from sqlmodel import col

    from nursecase.db.models import AdtMessage
    from nursecase.domain.codes import AdtMessageStatus

    states: dict[int, Settled] = {}
    columns = (
        col(AdtMessage.id),
        col(AdtMessage.status),
        col(AdtMessage.reason),
        col(AdtMessage.ack_code),
    )
    with services.context.read() as session:
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            for message_id, status, reason, code in session.execute(
                select(*columns).where(col(AdtMessage.id).in_(chunk))
            ):
                states[message_id or 0] = Settled(AdtMessageStatus(status), reason, code)
    return states


def import_file(services: Services, path: Path) -> FileOutcome:
    """Receive every message of one file, apply what is filed, and say what became of each."""
    from nursecase.domain.adt import ACCEPT, split_messages
    from nursecase.domain.codes import AdtMessageStatus

    text, _encoding = decoded(path.read_bytes())
    messages = split_messages(text)
    if not messages:
        raise CommandError(f"{path}: no HL7 message in the file")
    inbox = services.adt
    outcome = FileOutcome()
    filed: list[tuple[int, int]] = []  # (position in the file, inbox id) of the messages filed now
    for position, message in enumerate(messages, start=1):
        receipt = inbox.receive(message)
        outcome.received += 1
        if receipt.repeat:
            outcome.repeats += 1
        else:
            filed.append((position, receipt.message_id))
    inbox.apply_pending()
    states = settled(services, [message_id for _position, message_id in filed])
    for position, message_id in filed:
        state = states[message_id]
        if state.status is AdtMessageStatus.applied:
            outcome.applied += 1
        elif state.status is AdtMessageStatus.unmatched:
            outcome.unmatched += 1
        elif state.status is AdtMessageStatus.ignored:
            outcome.not_acted_on += 1
        elif state.status is AdtMessageStatus.error:
            # Refused on arrival (AE/AR) and failed when applied are both "error"
            # in the inbox; the acknowledgement code tells them apart.
            outcome.errors += 1
            kind = f"refused ({state.ack_code})" if state.ack_code != ACCEPT else "not applied"
            outcome.problems.append((position, kind, state.reason or "no reason given"))
    return outcome


@adt_app.command("import")
@handled()
def import_messages(
    context: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="Files of HL7 v2 messages: one message, several, or a batch (FHS/BHS).",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    nurse: NurseOption = None,
    password_stdin: SignInPasswordStdinOption = False,
) -> None:
    """File and apply HL7 v2 ADT messages from files, as if the feed had sent them.

    The same path as ``adt listen``: each message is filed, then applied in
    order. A message already in the inbox (same sender and MSH-10) is not
    applied again, so importing a file twice changes nothing. Prints for each
    file what was received, applied, unmatched and refused (with each refused
    message's position in the file and the reason).

    Exit status: 0 when every message was filed and none is in error
    (unmatched messages wait for a nurse: that is not an error); 1 when a
    message was refused or could not be applied, or a file could not be read.
    """
    state = CommandState.of(context, db, nurse)
    files = [path for path in paths if path.is_file()]
    for path in paths:
        if path not in files:
            echo(f"nursecase: error: no such file: {path}", err=True)
    failed = len(files) < len(paths)
    if not files:
        raise typer.Exit(1)  # nothing to import: the database is not even opened
    with state.services(settings=load_settings()) as services:
        _sign_in_if_named(state, services, "importing ADT messages", password_stdin)
        for path in files:
            try:
                outcome = import_file(services, path)
            except (CommandError, OSError) as error:
                failed = True
                why = str(error) if isinstance(error, CommandError) else error.strerror or error
                place = "" if isinstance(error, CommandError) else f"{path}: "
                echo(f"nursecase: error: {place}{why}", err=True)
                continue
            echo(outcome.line(path.name))
            problems = outcome.problems
            for position, kind, reason in problems[:REFUSALS_SHOWN]:
                echo(f"  message {position}: {kind}: {reason}")
            if len(problems) > REFUSALS_SHOWN:
                echo(f"  and {len(problems) - REFUSALS_SHOWN:,} more")
            failed = failed or outcome.errors > 0
    if failed:
        raise typer.Exit(1)


# --- status ----------------------------------------------------------------------

#: What a state means for the nurse, beside its label.
STATUS_NOTES = {
    "received": "filed, not applied yet",
    "unmatched": "waiting for a nurse to match or dismiss",
    "error": "waiting for a nurse",
}


@adt_app.command("status")
@handled()
def status(
    context: typer.Context,
    db: DbOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the counts as JSON (states as codes).")
    ] = False,
) -> None:
    """How many ADT messages the inbox holds in each state, and when the last one came."""
    from nursecase.domain.codes import AdtMessageStatus

    state = CommandState.of(context, db)
    state.require_existing()
    with state.services(settings=load_settings()) as services:
        counts = services.adt.counts()
    last = counts.last_received_at
    if as_json:
        document = {
            "database": state.shown,
            "counts": {str(code): counts.of(code) for code in AdtMessageStatus},
            "total": counts.total,
            "last_received_at": last.isoformat() if last is not None else None,
        }
        for line in json.dumps(document, indent=2).splitlines():
            echo(line)  # one line at a time: echo shows a line end inside a line as text
        return
    echo(f"ADT inbox of {state.shown}")
    width = max(len(code.label) for code in AdtMessageStatus)
    for code in AdtMessageStatus:
        note = STATUS_NOTES.get(str(code))
        number = counts.of(code)
        echo(f"  {code.label:<{width}}  {number:>7,}" + (f"  {note}" if note and number else ""))
    echo(f"  {'Total':<{width}}  {counts.total:>7,}")
    echo(f"Last message received {last:%d %b %Y %H:%M}" if last else "No message received yet")
