"""SVG snapshots of each screen state, with a frozen clock and a seeded caseload.

Update after an intended change with ``pytest tests/tui --snapshot-update`` and
review the new SVGs (``snapshot_report.html`` shows the differences).
"""

from __future__ import annotations

from nursecase.app import make_app
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle


def _app(app_services, **changes):
    return make_app(app_services, settings(**changes))


class TestCaseload:
    def test_my_caseload(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=settle)

    def test_search(self, app_services, snap_compare):
        async def search(pilot):
            await settle(pilot)
            await pilot.press("slash", "m")
            await settle(pilot)

        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=search)

    def test_demo_header(self, app_services, snap_compare):
        assert snap_compare(_app(app_services, demo=True), terminal_size=SIZE, run_before=settle)


class TestPatientDetail:
    def test_open_patient(self, app_services, snap_compare):
        async def open_first(pilot):
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)

        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=open_first)


class TestReferralQueue:
    def test_my_referrals(self, app_services, snap_compare):
        async def referrals(pilot):
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)

        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=referrals)


class TestHelp:
    def test_help_on_caseload(self, app_services, snap_compare):
        async def help_screen(pilot):
            await settle(pilot)
            await pilot.press("question_mark")
            await settle(pilot)

        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=help_screen)


class TestSignIn:
    def test_first_run(self, engine, clock, snap_compare):
        app = make_app(make_services(engine, clock), settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)

    def test_nurse_picker(self, seeded_engine, clock, snap_compare):
        app = make_app(make_services(seeded_engine, clock), settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)
