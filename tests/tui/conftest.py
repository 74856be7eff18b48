"""Fixtures for driving the app with Pilot on a seeded temporary database."""

from __future__ import annotations

import pytest

from nursecase.config import Settings
from nursecase.demo import demo_nurse_username, seed_database
from nursecase.services import make_services

SIZE = (120, 36)


@pytest.fixture
def seeded_engine(engine, clock):
    """The migrated temporary database with a small deterministic caseload."""
    seed_database(engine, clock, patients=40, seed=11)
    return engine


@pytest.fixture
def demo_nurse(seeded_engine) -> str:
    """The username the demo signs in as."""
    return demo_nurse_username(seeded_engine)


@pytest.fixture
def app_services(seeded_engine, clock, demo_nurse):
    """Services signed in as the demo nurse."""
    return make_services(seeded_engine, clock, nurse=demo_nurse)


async def settle(pilot) -> None:
    """Let workers finish and the screen repaint."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
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
