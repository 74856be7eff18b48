"""Fixtures for driving the app with Pilot on a seeded temporary database."""

from __future__ import annotations

import asyncio
import re
from time import monotonic, process_time

import pytest
import textual.app
import textual.pilot
from textual._context import active_app

from nursecase.config import Settings
from nursecase.demo import demo_nurse_username, seed_database
from nursecase.services import make_services
from tests.conftest import fresh_folder
from tests.databases import private_copy

SIZE = (120, 36)

#: How long Pilot sleeps between two looks at whether the app has gone idle.
#: Textual waits in 20 ms steps (``textual._wait``) after every key a test
#: presses, and at least twice per key: that sleeping, not the app's work, was
#: most of a Pilot test's time (a 16 s test slept 9.6 s of it). 5 ms steps keep
#: Textual's own test of idleness (the process used under a twentieth of a
#: step's time) and took tests/tui from 328 s to 236 s on 3 workers.
IDLE_STEP_SECONDS = 0.005


async def wait_for_idle(min_sleep: float = IDLE_STEP_SECONDS, max_sleep: float = 1) -> None:
    """Textual's ``wait_for_idle`` with a finer step, and never while a message waits.

    Textual's rule alone (little CPU used over a step) also takes a worker
    that the other workers kept off the CPU for a step for an idle app; a
    message still queued for the app or a widget of its screen says it is not.
    """
    started = monotonic()
    while True:
        cpu_before = process_time()
        await asyncio.sleep(IDLE_STEP_SECONDS)
        elapsed = monotonic() - started
        if elapsed >= max_sleep:
            return
        quiet = process_time() - cpu_before < IDLE_STEP_SECONDS / 20
        if elapsed > min_sleep and quiet and not _messages_waiting():
            return


def _messages_waiting() -> bool:
    """Whether the running app or a widget of its screen has a message queued."""
    try:
        app = active_app.get()
        nodes = [app, *app.screen.walk_children(with_self=True)]
    except Exception:  # no app running, or no screen yet: nothing to wait for
        return False
    return any(node.message_queue_size for node in nodes)


# The two modules that call it (Pilot between keys, and the app pressing them).
textual.app.wait_for_idle = wait_for_idle  # type: ignore[attr-defined]
textual.pilot.wait_for_idle = wait_for_idle  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def seeded_template(databases, migrated_template):
    """A small deterministic caseload (seeded once per session at the frozen time)."""
    from nursecase.clock import FrozenClock
    from nursecase.db.engine import make_engine
    from tests.conftest import FROZEN_NOW

    def seed(location: str) -> None:
        engine = make_engine(location)
        seed_database(engine, FrozenClock(FROZEN_NOW), patients=40, seed=11)
        engine.dispose()

    return databases.build("seeded", seed, base=migrated_template)


@pytest.fixture
def seeded_database(databases, seeded_template, database_folders):
    """The location of a private copy of the seeded caseload."""
    destination = fresh_folder(database_folders / "seeded") / "nursecase.db"
    with private_copy(databases, seeded_template, destination) as location:
        yield location


@pytest.fixture
def seeded_engine(engines, seeded_database):
    """An engine on a private copy of the seeded caseload."""
    with engines.engine(seeded_database) as engine:
        yield engine


@pytest.fixture
def demo_nurse(seeded_engine) -> str:
    """The username the demo signs in as."""
    return demo_nurse_username(seeded_engine)


@pytest.fixture
def app_services(seeded_engine, clock, demo_nurse):
    """Services signed in as the demo nurse."""
    return make_services(seeded_engine, clock, nurse=demo_nurse)


async def settle(pilot) -> None:
    """Let every chain of workers finish (a load may start another) and repaint."""
    quiet_rounds = 0
    # A blinking text cursor would make snapshots depend on timing.
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    for _ in range(20):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if any(worker.is_running for worker in pilot.app.workers):
            quiet_rounds = 0
            continue
        quiet_rounds += 1
        if quiet_rounds == 2:
            break
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause()


def settings(**changes) -> Settings:
    """Default settings with changes."""
    return Settings(**changes)


def text_of(widget) -> str:
    """What a Static shows, as plain text (Rich renderables rendered at 120 columns)."""
    from rich.console import Console

    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def lines_of(widget) -> str:
    """What a line-API widget (the virtual table) shows, as plain text."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


#: The backend part of a test's parameters, as pytest writes it in the node name.
BACKEND_PARAMETER = re.compile(r"(?<=\[)(sqlite|postgresql)(-|(?=\]))")


@pytest.fixture
def snapshot(request):
    """syrupy's snapshot, named without the backend: both backends must draw the same screen.

    Pilot tests run on SQLite only unless marked ``both_backends``
    (tests/conftest.py); one SVG per screen state serves either backend, and
    tests/services/test_read_models_across_backends.py checks that SQLite and
    PostgreSQL give the screens exactly the same rows in the same order.
    """
    from syrupy import SnapshotAssertion
    from syrupy.extensions.amber import AmberSnapshotExtension
    from syrupy.location import PyTestLocation

    location = PyTestLocation(request.node)
    location.testname = BACKEND_PARAMETER.sub("", location.testname).replace("[]", "")
    return SnapshotAssertion(
        update_snapshots=request.config.option.update_snapshots,
        extension_class=AmberSnapshotExtension,
        test_location=location,
        session=request.session.config._syrupy,
    )


#: Parsed Textual CSS, shared by every app this test process runs (see below).
_PARSED_CSS: dict[tuple, list] = {}


@pytest.fixture(scope="session", autouse=True)
def css_parsed_once_per_process():
    """Parse each stylesheet source once per test process, not once per app.

    Textual caches a source's parsed rules on the app's own stylesheet, so
    each of the hundreds of apps these tests start parses every widget's CSS
    again (about a fifth of a second of CPU per test). The parse depends only
    on the CSS text, where it came from, its scope and the theme's variables,
    all in the key here; the product's single app is unchanged.
    """
    from textual.css.stylesheet import Stylesheet

    original = Stylesheet._parse_rules

    def parse_rules(self, css, read_from, is_default_rules=False, tie_breaker=0, scope=""):
        variables = tuple(sorted(self._variables.items()))
        key = (css, read_from, is_default_rules, tie_breaker, scope, variables)
        rules = _PARSED_CSS.get(key)
        if rules is None:
            rules = original(self, css, read_from, is_default_rules, tie_breaker, scope)
            _PARSED_CSS[key] = rules
        return rules

    Stylesheet._parse_rules = parse_rules
    yield
    Stylesheet._parse_rules = original
