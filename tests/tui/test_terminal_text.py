"""A patient whose stored name holds ESC and BEL is shown escaped, never obeyed.

The name is written as a FHIR import would store it (as given); Today and the
patient detail must show "␛" and "␇" where the terminal would otherwise obey
them, and markup in a name ("[b]") literally.
"""

from __future__ import annotations

from sqlalchemy import text
from textual.widgets import Static

from nursecase.app import make_app
from nursecase.screens.patient_detail import PatientDetailScreen
from tests.tui.conftest import SIZE, lines_of, settings, settle, text_of

FAMILY = "Esc\x1b[31mape\x07"
GIVEN = "[b]Bell"
SHOWN = "Esc␛[31mape␇, [b]Bell"


async def test_today_and_the_patient_detail_show_control_characters_escaped(
    app_services, seeded_engine
):
    first = app_services.worklist.today(app_services.context.nurse_id)[0]
    with seeded_engine.begin() as connection:
        connection.execute(
            text("UPDATE patient SET family_name = :family, given_name = :given WHERE id = :id"),
            {"family": FAMILY, "given": GIVEN, "id": first.patient_id},
        )
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        today = lines_of(app.screen.table)
        assert "Esc␛[31mape␇" in today and "\x1b" not in today and "\x07" not in today
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PatientDetailScreen)
        widget = screen.query_one("#patient-header", Static)
        assert text_of(widget).startswith(SHOWN)
        assert screen.sub_title.startswith("Esc␛[31mape␇")
        painted = "\n".join(line.text for line in widget.render_lines(widget.region.reset_offset))
        assert SHOWN in painted and "\x1b" not in painted
