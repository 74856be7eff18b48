"""The worklist and the 100,000-patient caseload, measured in one run (DESIGN.md section 5).

Usage: python bench/caseload.py [--db PATH] [--runs 5]

Without ``--db`` it seeds 100,000 patients (``nursecase.demo.seed_database``,
the system clock, as ``nursecase demo`` does) into a temporary file; with
``--db`` it reuses that database (opening patients there writes "view" audit
events, as the app does). Then, each in a fresh process started by this one:

1. launch to the first painted rows of the home screen (Today of "amoreno"),
   built as ``nursecase.cli.launch.launch`` builds the app, run headless at 120x36,
   against an empty Textual app that imports the same modules and paints one
   Static; the clock starts in the parent just before the process is spawned.
   In the same app run: ``t`` (the nurse's caseload) and ``a`` (every nurse's,
   100,000 patients), each to the table's next ``VirtualTable.Loaded``;
2. search keystrokes at 100,000 patients and from Today, key press to Loaded;
3. resident memory (VmRSS, and the peak VmHWM) after the caseload is shown and
   after 50 page-downs and End, next to the baseline app's;
4. End and Home to the repainted cursor (checked against the service's
   ``last_page`` and ``list_page``), and 50 page-downs;
5. enter on a caseload row to the patient detail's header painted with data.

"Painted" means the frame has been composed (a ``call_after_refresh`` callback
ran, which is also when the table posts ``Loaded``); the headless driver skips
only writing the frame to a terminal, for both apps alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: When this script started running (after the interpreter's own start-up).
SCRIPT_STARTED = time.time()

LAUNCH_RATIO_TARGET = 1.3
KEYSTROKE_TARGET_MS = 50.0
RSS_TARGET_MB = 120.0
DETAIL_TARGET_MS = 100.0
PATIENTS = 100_000
NURSE = "amoreno"
SIZE = (120, 36)
PAGE_DOWNS = 50
#: Two-letter search prefixes typed one key at a time (common family/given name starts).
PREFIXES = ("sm", "ma", "jo", "br", "wi", "ch", "ha", "ro", "da", "le")
TODAY_PREFIXES = ("sm", "jo", "ma", "br", "wi")
TIMEOUT_SECONDS = 60.0
#: Idle time before each timed key, so that each figure is the latency of one key
#: pressed on a settled screen (about a typist's pace), not of a queue of keys.
SETTLE_SECONDS = 0.2


# --------------------------------------------------------------------- children
# Everything below until the parent section runs in the child processes. This
# module imports only the standard library at the top, so both children pay the
# same small cost for it.


def _rss_megabytes() -> dict[str, float]:
    """VmRSS and VmHWM (peak) of this process, in MB (10^6 bytes)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, amount, _unit = line.split()
                values[name.rstrip(":")] = int(amount) * 1024 / 1e6
    return values


def _child_baseline(started: float, modules_file: str | None, out: str) -> None:
    """An empty Textual app with the launch's imports, timed to its first paint."""
    import importlib

    failed = 0
    imported = 0
    names = json.loads(Path(modules_file).read_text()) if modules_file else []
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
            imported += 1
        except Exception:  # a module that only loads as a side effect of another
            failed += 1
    # The launch path's own imports, in case no module list was given.
    import asyncio

    from textual.app import App, ComposeResult
    from textual.widgets import Static

    import nursecase.app  # noqa: F401
    import nursecase.cli  # noqa: F401
    import nursecase.services  # noqa: F401

    result: dict = {
        "modules": len(sys.modules),
        "import_failures": failed,
        "imported": imported,
        "script_seconds": SCRIPT_STARTED - started,
    }

    class Baseline(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("first paint", id="only")

        def on_mount(self) -> None:
            self.call_after_refresh(self._painted)

        def _painted(self) -> None:
            result["launch_seconds"] = time.time() - started
            result["rss"] = _rss_megabytes()

    async def drive() -> None:
        app = Baseline()
        async with app.run_test(size=SIZE) as pilot:
            while "launch_seconds" not in result:
                await pilot.pause(0.01)

    asyncio.run(drive())
    Path(out).write_text(json.dumps(result))


def _child_app(
    started: float,
    location: str,
    out: str,
    scenario: bool,
    modules_out: str | None,
    heavy_patient: int | None,
) -> None:
    """The real app, launched as ``nursecase.cli.launch.launch`` does, headless."""
    from dataclasses import replace

    from nursecase.cli.runtime import CommandState, load_settings
    from nursecase.clock import SystemClock
    from nursecase.services import make_services

    settings = replace(load_settings(), demo=False)
    with CommandState(location).engine() as engine:
        services = make_services(engine, SystemClock(), settings=settings)
        services.nurses.sign_in(NURSE)
        from nursecase.app import make_app

        app = make_app(services, settings)
        import asyncio

        result = asyncio.run(_drive(app, started, scenario, heavy_patient))
        if modules_out:
            Path(modules_out).write_text(json.dumps(result.pop("module_names")))
        result.pop("module_names", None)
        Path(out).write_text(json.dumps(result))


class _Recorder:
    """Times of every ``VirtualTable.Loaded``, from the app's message hook."""

    def __init__(self, started: float) -> None:
        import asyncio

        self.started = started
        self.loaded: list[tuple[float, int]] = []
        self.first_loaded_wall: float | None = None
        self.module_names: list[str] = []
        self.seen: list = []
        self.changed = asyncio.Event()

    def hook(self, message) -> None:
        from nursecase.widgets.virtual_table import VirtualTable

        # A Loaded bubbles (table, screen, app): count it once, at the table.
        if not isinstance(message, VirtualTable.Loaded):
            return
        if any(earlier is message for earlier in self.seen):
            return
        self.seen.append(message)
        now = time.perf_counter()
        if self.first_loaded_wall is None:
            self.first_loaded_wall = time.time()
            self.module_names = list(sys.modules)
        self.loaded.append((now, message.count))
        self.changed.set()

    async def next_loaded(self, seen: int) -> tuple[float, int]:
        """The first Loaded after the ``seen`` already recorded."""
        import asyncio

        deadline = time.perf_counter() + TIMEOUT_SECONDS
        while len(self.loaded) <= seen:
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("no VirtualTable.Loaded")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.loaded[seen]


#: Characters of the named keys the scenario presses (as a terminal would send them).
_KEY_CHARACTERS = {"slash": "/", "enter": "\r", "escape": "\x1b", "backspace": "\x7f"}


async def _press(app, key: str) -> float:
    """Post one key event as the driver would, and return the time it was posted.

    ``Pilot.press`` is not used for timing: it returns only after sleeping until
    the process looks idle (20 ms at least), which would be counted as latency.
    """
    import asyncio

    from textual import events

    await asyncio.sleep(SETTLE_SECONDS)
    character = key if len(key) == 1 else _KEY_CHARACTERS.get(key)
    event = events.Key(key, character)
    event.set_sender(app)
    pressed = time.perf_counter()
    app.post_message(event)
    await asyncio.sleep(0)
    return pressed


async def _press_to_loaded(app, recorder: _Recorder, key: str) -> tuple[float, int]:
    """Press ``key``; milliseconds to the next Loaded, and its row count."""
    seen = len(recorder.loaded)
    pressed = await _press(app, key)
    at, count = await recorder.next_loaded(seen)
    return (at - pressed) * 1000, count


async def _painted(widget) -> float:
    """The time the next frame including ``widget`` has been composed."""
    import asyncio

    done = asyncio.get_running_loop().create_future()
    widget.call_after_refresh(lambda: done.set_result(time.perf_counter()))
    return await asyncio.wait_for(done, TIMEOUT_SECONDS)


async def _until(condition) -> None:
    import asyncio

    deadline = time.perf_counter() + TIMEOUT_SECONDS
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.0005)


async def _drive(app, started: float, scenario: bool, heavy_patient: int | None) -> dict:
    """Wait for the first rows; then, in a scenario run, the measurements 1-5."""
    recorder = _Recorder(started)
    result: dict = {}
    async with app.run_test(size=SIZE, message_hook=recorder.hook):
        _, today_count = await recorder.next_loaded(0)
        result["launch_seconds"] = recorder.first_loaded_wall - started
        result["script_seconds"] = SCRIPT_STARTED - started
        result["module_names"] = recorder.module_names
        result["modules"] = len(recorder.module_names)
        result["today_count"] = today_count
        result["rss_home"] = _rss_megabytes()
        if scenario:
            result.update(await _scenario(app, recorder, heavy_patient))
    return result


async def _scenario(app, recorder: _Recorder, heavy_patient: int | None) -> dict:
    from nursecase.screens.patient_detail import PatientDetailScreen
    from nursecase.widgets.virtual_table import VirtualTable

    services = app.services
    screen = app.screen
    table = screen.query_one("#rows", VirtualTable)
    search = screen.query_one("#search")
    out: dict = {}

    async def focus(key: str, widget) -> None:
        await _press(app, key)
        await _until(lambda: app.focused is widget)

    # 1b. Today -> my caseload -> every nurse's caseload.
    out["t_ms"], out["mine_count"] = await _press_to_loaded(app, recorder, "t")
    out["a_ms"], out["all_count"] = await _press_to_loaded(app, recorder, "a")
    out["all_count_service"] = services.patients.count()
    assert out["all_count"] == out["all_count_service"], "caseload count differs from service"
    await _until(lambda: not table.is_loading)
    out["rss_caseload"] = _rss_megabytes()

    # 2. Search keystrokes over every nurse's caseload.
    await focus("slash", search)
    typed, deleted = [], []
    for prefix in PREFIXES:
        for character in prefix:
            milliseconds, count = await _press_to_loaded(app, recorder, character)
            typed.append({"key": character, "ms": milliseconds, "count": count})
        for _ in prefix:
            milliseconds, count = await _press_to_loaded(app, recorder, "backspace")
            deleted.append({"ms": milliseconds, "count": count})
    assert deleted[-1]["count"] == out["all_count"]
    out["search_all"] = typed
    out["backspace_all"] = deleted

    # 2b. From Today (mine): the first key switches to the caseload.
    await focus("escape", table)  # the search is empty: escape only returns to the table
    await _press_to_loaded(app, recorder, "a")  # mine
    await _press_to_loaded(app, recorder, "t")  # Today
    from_today, back_today = [], []
    for prefix in TODAY_PREFIXES:
        await focus("slash", search)
        for character in prefix:
            milliseconds, count = await _press_to_loaded(app, recorder, character)
            from_today.append({"key": character, "ms": milliseconds, "count": count})
        milliseconds, count = await _press_to_loaded(app, recorder, "escape")
        back_today.append({"ms": milliseconds, "count": count})
        assert screen.view == "today"
    out["search_today"] = from_today
    out["escape_to_today"] = back_today

    # 3 and 4. Every nurse's caseload: 50 page-downs, End, Home.
    await _press_to_loaded(app, recorder, "t")
    _, count = await _press_to_loaded(app, recorder, "a")
    assert count == out["all_count"] and screen.view == "caseload" and screen.everyone
    await _until(lambda: not table.is_loading)
    visible = table.visible_row_count
    page_times = []
    for page in range(1, PAGE_DOWNS + 1):
        pressed = await _press(app, "pagedown")
        await _until(lambda: table.cursor_index == page * visible and not table.is_loading)  # noqa: B023
        page_times.append((await _painted(table) - pressed) * 1000)
    out["page_down_ms"] = page_times
    out["cursor_after_page_downs"] = table.cursor_index
    out["cursor_expected_after_page_downs"] = PAGE_DOWNS * visible
    assert table.cursor_index == PAGE_DOWNS * visible, (table.cursor_index, visible)
    out["loaded_rows_after_page_downs"] = table.loaded_row_count

    last = services.patients.last_page(1)[0]
    first = services.patients.list_page(limit=1)[0]
    pressed = await _press(app, "end")
    await _until(
        lambda: (
            not table.is_loading and table.cursor_row is not None and table.cursor_row.id == last.id
        )
    )
    out["end_ms"] = (await _painted(table) - pressed) * 1000
    assert table.cursor_index == out["all_count"] - 1, table.cursor_index
    out["rss_after_end"] = _rss_megabytes()
    out["loaded_rows_after_end"] = table.loaded_row_count

    pressed = await _press(app, "home")
    await _until(lambda: not table.is_loading and table.cursor_row.id == first.id)
    out["home_ms"] = (await _painted(table) - pressed) * 1000
    assert table.cursor_index == 0

    # 5. Open patients: the first few rows, then the one with the most contacts.
    async def open_row() -> dict:
        patient_id = table.cursor_row.id
        pressed = await _press(app, "enter")

        def shown() -> bool:
            detail = app.screen
            if not isinstance(detail, PatientDetailScreen):
                return False
            headers = detail.query("#patient-header")  # empty until composed
            return bool(headers) and str(headers.first().content) != "Loading…"

        await _until(shown)
        milliseconds = (await _painted(app.screen.query_one("#patient-header")) - pressed) * 1000
        await _press_to_loaded(app, recorder, "escape")  # back; the table reloads in place
        return {"patient_id": patient_id, "ms": milliseconds}

    opened = []
    for _ in range(5):
        opened.append(await open_row())
        index = table.cursor_index
        await _press(app, "down")
        await _until(lambda: table.cursor_index == index + 1)  # noqa: B023
    out["open_detail"] = opened
    if heavy_patient is not None:
        mrn = services.patients.get(heavy_patient).mrn
        await focus("slash", search)
        for character in mrn:
            await _press_to_loaded(app, recorder, character)
        await focus("enter", table)  # to the results
        # Eight digits also search phone numbers: there may be another match.
        assert table.move_cursor_to_key(heavy_patient)
        out["open_heavy"] = await open_row()
    out["rss_end_of_run"] = _rss_megabytes()
    return out


# ----------------------------------------------------------------------- parent


def _spawn(kind: str, arguments: list[str], environment: dict[str, str]) -> dict:
    """Run a child; the clock starts here, just before the process is created."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    try:
        started = time.time()
        command = [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--started",
            repr(started),
            "--out",
            out,
            *arguments,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, env=environment)
        if completed.returncode != 0:
            raise RuntimeError(f"{kind} child failed:\n{completed.stdout}\n{completed.stderr}")
        return json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)


def _seed(path: Path) -> tuple[float, int]:
    from nursecase.clock import SystemClock
    from nursecase.db.engine import make_engine
    from nursecase.db.maintenance.migrate import ensure_schema
    from nursecase.demo import seed_database

    engine = make_engine(path)
    ensure_schema(engine)
    begun = time.perf_counter()
    summary = seed_database(engine, SystemClock(), patients=PATIENTS)
    seconds = time.perf_counter() - begun
    engine.dispose()
    return seconds, summary.nurses


def _heaviest_patient(location: str) -> tuple[int, int, int]:
    """The patient with the most contacts: (id, contacts, assessments), on either backend."""
    from sqlalchemy import text

    from nursecase.db.engine import make_engine

    engine = make_engine(location)
    try:
        with engine.connect() as connection:
            patient_id, contacts = connection.execute(
                text(
                    "SELECT patient_id, COUNT(*) FROM contact GROUP BY patient_id"
                    " ORDER BY COUNT(*) DESC, patient_id LIMIT 1"
                )
            ).one()
            assessments = connection.execute(
                text("SELECT COUNT(*) FROM assessment WHERE patient_id = :patient"),
                {"patient": patient_id},
            ).scalar_one()
    finally:
        engine.dispose()
    return patient_id, contacts, assessments


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _verdict(value: float, target: float) -> str:
    return "pass" if value <= target else "OVER"


def main() -> None:
    """Seed (or reuse) the database, run the children, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="reuse this database instead of seeding a temporary one")
    parser.add_argument("--runs", type=int, default=5, help="launches of each app (default 5)")
    parser.add_argument("--child", choices=("app", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--modules-in", help=argparse.SUPPRESS)
    parser.add_argument("--modules-out", help=argparse.SUPPRESS)
    parser.add_argument("--heavy", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "baseline":
        _child_baseline(options.started, options.modules_in, options.out)
        return
    if options.child == "app":
        _child_app(
            options.started,
            options.db,
            options.out,
            options.scenario,
            options.modules_out,
            options.heavy,
        )
        return

    with tempfile.TemporaryDirectory(prefix="nursecase-bench-") as folder:
        seed_seconds = None
        if options.db:
            location = options.db
        else:
            location = str(Path(folder) / "caseload.db")
            print(f"seeding {PATIENTS:,} patients into {location} ...", file=sys.stderr)
            seed_seconds, nurses = _seed(Path(location))
            print(f"seeded in {seed_seconds:.1f} s ({nurses} nurses)", file=sys.stderr)
        # A home of its own: no user config.toml, no backups folder touched.
        home = Path(folder) / "home"
        home.mkdir()
        environment = {**os.environ, "NURSECASE_HOME": str(home)}
        # Compiled modules cached in a folder of this run (as an installed app has
        # them), not compiled again at every launch and not written into the tree.
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        environment["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        heavy_id, heavy_contacts, heavy_assessments = _heaviest_patient(location)
        modules_file = str(Path(folder) / "modules.json")

        # A warm-up launch (file cache, .pyc) that also lists the launch's modules.
        warm = _spawn("app", ["--db", location, "--modules-out", modules_file], environment)
        app_runs, baseline_runs = [], []
        for run in range(options.runs):
            print(f"run {run + 1}/{options.runs}", file=sys.stderr)
            baseline_runs.append(_spawn("baseline", ["--modules-in", modules_file], environment))
            app_runs.append(
                _spawn(
                    "app",
                    ["--db", location, "--scenario", "--heavy", str(heavy_id)],
                    environment,
                )
            )
        _report(
            options,
            location,
            seed_seconds,
            warm,
            app_runs,
            baseline_runs,
            (heavy_id, heavy_contacts, heavy_assessments),
        )


def _report(options, location, seed_seconds, warm, app_runs, baseline_runs, heavy) -> None:
    app_launch = _median([run["launch_seconds"] for run in app_runs])
    base_launch = _median([run["launch_seconds"] for run in baseline_runs])
    ratio = app_launch / base_launch
    rows: list[tuple[str, str, str, str]] = []

    def add(what: str, figure: str, target: str, verdict: str = "") -> None:
        rows.append((what, figure, target, verdict))

    add(
        f"launch to first painted rows (Today, {app_runs[0]['today_count']} rows)",
        f"{app_launch:.3f} s",
        f"<= {LAUNCH_RATIO_TARGET} x baseline",
        f"{ratio:.2f} x {_verdict(ratio, LAUNCH_RATIO_TARGET)}",
    )
    add(
        f"baseline: empty app, same {warm['modules']} modules, one Static",
        f"{base_launch:.3f} s",
        "",
    )
    t_ms = _median([run["t_ms"] for run in app_runs])
    a_ms = _median([run["a_ms"] for run in app_runs])
    add(f"t: my caseload ({app_runs[0]['mine_count']} rows) to Loaded", f"{t_ms:.1f} ms", "")
    add(
        f"a: every nurse's caseload ({app_runs[0]['all_count']:,} rows) to Loaded",
        f"{a_ms:.1f} ms",
        "",
    )
    typed = [key["ms"] for run in app_runs for key in run["search_all"]]
    first_keys = [
        key["ms"] for run in app_runs for key in run["search_all"][0::2]
    ]  # first character of each prefix
    second_keys = [key["ms"] for run in app_runs for key in run["search_all"][1::2]]
    add(
        f"search keystroke, 100k caseload (n={len(typed)}, median)",
        f"{_median(typed):.1f} ms",
        f"<= {KEYSTROKE_TARGET_MS:.0f} ms",
        _verdict(_median(typed), KEYSTROKE_TARGET_MS),
    )
    add(
        "  first character / second character (median)",
        f"{_median(first_keys):.1f} / {_median(second_keys):.1f} ms",
        "",
    )
    add("  90th percentile / worst", f"{_p90(typed):.1f} / {max(typed):.1f} ms", "")
    deleted = [key["ms"] for run in app_runs for key in run["backspace_all"]]
    add(
        "backspace, 100k caseload (median; last one back to all 100k)",
        f"{_median(deleted):.1f} ms",
        f"<= {KEYSTROKE_TARGET_MS:.0f} ms",
        _verdict(_median(deleted), KEYSTROKE_TARGET_MS),
    )
    from_today = [key["ms"] for run in app_runs for key in run["search_today"]]
    add(
        f"search keystroke from Today of {NURSE} (n={len(from_today)}, median)",
        f"{_median(from_today):.1f} ms",
        f"<= {KEYSTROKE_TARGET_MS:.0f} ms",
        _verdict(_median(from_today), KEYSTROKE_TARGET_MS),
    )
    first_today = [key["ms"] for run in app_runs for key in run["search_today"][0::2]]
    add(
        "  first key (switches Today to the caseload), median", f"{_median(first_today):.1f} ms", ""
    )
    escape_today = [key["ms"] for run in app_runs for key in run["escape_to_today"]]
    add("escape back to Today (median)", f"{_median(escape_today):.1f} ms", "")
    rss_caseload = max(run["rss_caseload"]["VmRSS"] for run in app_runs)
    rss_end = max(run["rss_after_end"]["VmRSS"] for run in app_runs)
    peak = max(run["rss_end_of_run"]["VmHWM"] for run in app_runs)
    base_rss = max(run["rss"]["VmRSS"] for run in baseline_runs)
    home_rss = max(run["rss_home"]["VmRSS"] for run in app_runs)
    add("RSS at first rows (Today), worst run", f"{home_rss:.1f} MB", "")
    add(
        "RSS, 100k caseload shown, worst run",
        f"{rss_caseload:.1f} MB",
        f"<= {RSS_TARGET_MB:.0f} MB",
        _verdict(rss_caseload, RSS_TARGET_MB),
    )
    add(
        f"RSS after {PAGE_DOWNS} page-downs and End, worst run",
        f"{rss_end:.1f} MB",
        f"<= {RSS_TARGET_MB:.0f} MB",
        _verdict(rss_end, RSS_TARGET_MB),
    )
    add(
        "peak RSS (VmHWM) over the whole run",
        f"{peak:.1f} MB",
        f"<= {RSS_TARGET_MB:.0f} MB",
        _verdict(peak, RSS_TARGET_MB),
    )
    add("baseline app RSS", f"{base_rss:.1f} MB", "")
    pages = [value for run in app_runs for value in run["page_down_ms"]]
    add(
        f"page-down to painted (n={len(pages)}, median / worst)",
        f"{_median(pages):.1f} / {max(pages):.1f} ms",
        "",
    )
    run0 = app_runs[0]
    add(
        f"  cursor after {PAGE_DOWNS} page-downs",
        f"{run0['cursor_after_page_downs']:,}",
        f"= {run0['cursor_expected_after_page_downs']:,}",
        "ok",
    )
    add(
        "End to painted last row (median)",
        f"{_median([r['end_ms'] for r in app_runs]):.1f} ms",
        "",
        "cursor on last_page row: ok",
    )
    add(
        "Home to painted first row (median)",
        f"{_median([r['home_ms'] for r in app_runs]):.1f} ms",
        "",
        "cursor on first row: ok",
    )
    add("  rows held by the table after End", f"{run0['loaded_rows_after_end']}", "", "")
    opened = [row["ms"] for run in app_runs for row in run["open_detail"]]
    add(
        f"open patient detail, caseload rows (n={len(opened)}, median)",
        f"{_median(opened):.1f} ms",
        f"<= {DETAIL_TARGET_MS:.0f} ms",
        _verdict(_median(opened), DETAIL_TARGET_MS),
    )
    heavy_id, heavy_contacts, heavy_assessments = heavy
    heavy_ms = _median([run["open_heavy"]["ms"] for run in app_runs])
    add(
        f"open patient detail, most contacts ({heavy_contacts} contacts,"
        f" {heavy_assessments} assessments)",
        f"{heavy_ms:.1f} ms",
        f"<= {DETAIL_TARGET_MS:.0f} ms",
        _verdict(heavy_ms, DETAIL_TARGET_MS),
    )

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, SQLite {_sqlite_version()}"
    )
    if seed_seconds is not None:
        print(f"seeded {PATIENTS:,} patients in {seed_seconds:.1f} s")
    print(f"database: {location}; {options.runs} launches of each app, alternating")
    print("launch seconds, app:     " + " ".join(f"{r['launch_seconds']:.3f}" for r in app_runs))
    print(
        "launch seconds, baseline: " + " ".join(f"{r['launch_seconds']:.3f}" for r in baseline_runs)
    )
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main()
