"""PHI stays on the screen: no clipboard copies unless the configuration allows them."""

from __future__ import annotations

from textual.app import App

from nursecase.app import make_app
from tests.tui.conftest import SIZE, settings, settle


async def test_copying_is_refused_by_default_and_says_how_to_allow_it(app_services, monkeypatch):
    copied: list[str] = []
    app = make_app(app_services, settings())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Textual's own copy (an OSC 52 escape to the terminal) is replaced by a recorder.
        monkeypatch.setattr(App, "copy_to_clipboard", lambda self, text: copied.append(text))
        app.copy_to_clipboard("Okafor, Grace 14638150")
        await settle(pilot)
        messages = [notification.message for notification in app._notifications]
    assert copied == []
    assert any("[privacy] allow_clipboard = true" in message for message in messages)


async def test_copying_works_when_allowed(app_services, monkeypatch):
    copied: list[str] = []
    app = make_app(app_services, settings(allow_clipboard=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr(App, "copy_to_clipboard", lambda self, text: copied.append(text))
        app.copy_to_clipboard("a note")
    assert copied == ["a note"]
