"""SVG snapshots of the referral queue's states, on the seeded caseload with a frozen clock.

Each picture is taken after keys, with a check that the screen reached the
state first. Update after an intended change with
``pytest tests/tui/test_referral_queue_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from nursecase.app import make_app
from nursecase.screens.choice_picker import ChoicePicker
from nursecase.screens.form_dialog import FormDialog
from nursecase.screens.referral_dialogs import ReferralForm, ReferralReadView
from nursecase.screens.referral_queue import ReferralQueueScreen
from tests.tui.conftest import SIZE, settings, settle
from tests.tui.dialog_keys import choose
from tests.tui.test_referral_queue import move_to


def on_queue(then):
    """A run_before: open the queue, then run ``then(pilot, screen)``."""

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ReferralQueueScreen) and screen.referrals
        await then(pilot, screen)
        await settle(pilot)

    return run_before


def first_with(screen, status: str):
    return next(r for r in screen.referrals.values() if r.status == status)


def _app(app_services):
    return make_app(app_services, settings())


async def nothing(pilot, screen):
    pass


async def grouped_by_status(pilot, screen):
    await pilot.press("g", "2")
    await settle(pilot)
    assert screen.queue_filter.group_by == "status"


async def status_picker(pilot, screen):
    await move_to(pilot, screen, first_with(screen, "requested").id)
    await pilot.press("x")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoicePicker)


async def completing(pilot, screen):
    await move_to(pilot, screen, first_with(screen, "in-progress").id)
    await pilot.press("x", "1")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FormDialog)


async def follow_up(pilot, screen):
    overdue = next(r for r in screen.referrals.values() if r.reply_overdue)
    await move_to(pilot, screen, overdue.id)
    await pilot.press("f")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FormDialog)


async def reading_in_full(pilot, screen):
    await move_to(pilot, screen, first_with(screen, "requested").id)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReferralReadView)


async def new_referral(pilot, screen):
    await pilot.press("n")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReferralForm)
    await choose(pilot, "service_type", "Home health")
    await settle(pilot)


class TestReferralQueue:
    def test_queue_with_detail(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=on_queue(nothing))

    def test_grouped_by_status(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=on_queue(grouped_by_status)
        )

    def test_enter_reads_the_referral_in_full(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=on_queue(reading_in_full)
        )

    def test_status_picker_with_illegal_moves_disabled(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=on_queue(status_picker)
        )

    def test_completing_asks_for_the_outcome(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=on_queue(completing))

    def test_follow_up_call(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=on_queue(follow_up))

    def test_new_referral_fills_the_last_organisation(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=on_queue(new_referral)
        )
