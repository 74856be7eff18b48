"""SVG snapshots of each screen state, with a frozen clock and a seeded caseload.

Update after an intended change with ``pytest tests/tui --snapshot-update`` and
review the new SVGs (``snapshot_report.html`` shows the differences).
"""

from __future__ import annotations

from datetime import date

from nursecase.app import make_app
from nursecase.services import make_services
from tests.tui.conftest import SIZE, settings, settle


def _app(app_services, **changes):
    return make_app(app_services, settings(**changes))


def pressing(*keys: str):
    """A run_before that settles, presses keys, and settles again."""

    async def run_before(pilot):
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause(0.2)  # the card waits for the cursor to rest
        await settle(pilot)

    return run_before


class TestWorklist:
    def test_today(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=settle)

    def test_caseload(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=pressing("t"))

    def test_search_results(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=pressing("slash", "m")
        )

    def test_rounds_with_the_contact_dialog_open(self, app_services, snap_compare):
        # The dialog's time comes from the frozen clock; its minutes from the
        # timer, which reads 1 within the first minute.
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=pressing("r", "n", "c")
        )

    def test_demo_header(self, app_services, snap_compare):
        assert snap_compare(_app(app_services, demo=True), terminal_size=SIZE, run_before=settle)


class TestEmptyStates:
    def test_no_patients_yet(self, engine, clock, snap_compare):
        services = make_services(engine, clock)
        services.nurses.create("jlee", "Jordan Lee", "RN")
        services.nurses.sign_in("jlee")
        assert snap_compare(make_app(services, settings()), terminal_size=SIZE, run_before=settle)

    def test_nothing_due_today(self, engine, clock, snap_compare):
        services = make_services(engine, clock)
        services.nurses.create("jlee", "Jordan Lee", "RN")
        services.nurses.sign_in("jlee")
        services.patients.create("B-1", "Quiet", "Pat", next_contact_due=date(2026, 12, 1))
        assert snap_compare(make_app(services, settings()), terminal_size=SIZE, run_before=settle)


class TestPatientDetail:
    def test_open_patient(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=pressing("enter"))


class TestReferralQueue:
    def test_my_referrals(self, app_services, snap_compare):
        assert snap_compare(_app(app_services), terminal_size=SIZE, run_before=pressing("2"))


class TestHelp:
    def test_help_on_the_worklist(self, app_services, snap_compare):
        assert snap_compare(
            _app(app_services), terminal_size=SIZE, run_before=pressing("question_mark")
        )


class TestSignIn:
    def test_first_run(self, engine, clock, snap_compare):
        app = make_app(make_services(engine, clock), settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)

    def test_nurse_picker(self, seeded_engine, clock, snap_compare):
        app = make_app(make_services(seeded_engine, clock), settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=settle)
