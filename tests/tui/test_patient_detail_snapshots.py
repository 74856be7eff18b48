"""SVG snapshots of the patient detail screen, one per tab, with the frozen clock.

The patient is the seeded caseload's flagged one (a PHQ-9 item 9 flag, an open
TCM clock, contacts, scores, medications, tasks, a referral and a care plan),
so every tab has rows. Update after an intended change with
``pytest tests/tui/test_patient_detail_snapshots.py --snapshot-update`` and
review the new SVGs.
"""

from __future__ import annotations

import pytest
from textual.widgets import ContentSwitcher, DataTable

from nursecase.app import make_app
from tests.tui.conftest import SIZE, settings, settle
from tests.tui.test_patient_detail import PANES, TAB_CHECKS, flagged_patient_id, open_chart


def showing_tab(patient_id: int, pane: str):
    """A run_before that opens the patient, presses the tab's key, and settles.

    It checks that the tab is shown with rows before the picture is taken: a
    key that crashed the app would otherwise leave a picture of an empty pane
    (the snapshot plugin does not re-raise the app's exception).
    """

    async def run_before(pilot):
        screen = await open_chart(pilot, patient_id)
        await pilot.press(str(PANES.index(pane) + 1))
        await settle(pilot)
        assert pilot.app.screen is screen
        assert screen.query_one("#panes", ContentSwitcher).current == pane
        table_id, _check = TAB_CHECKS[pane]
        if table_id is not None:
            assert screen.query_one(f"#{table_id}", DataTable).row_count > 0

    return run_before


class TestPatientDetailTabs:
    @pytest.mark.parametrize("pane", PANES)
    def test_tab(self, app_services, snap_compare, pane):
        run_before = showing_tab(flagged_patient_id(app_services), pane)
        app = make_app(app_services, settings())
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
