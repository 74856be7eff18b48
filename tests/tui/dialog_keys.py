"""Filling a FormDialog by keys, as a nurse does: tab to a field, type, choose."""

from __future__ import annotations

from textual.widgets import Select

from nursecase.screens.form_dialog import FormDialog


async def focus_field(pilot, name: str) -> None:
    """Press tab until the dialog's field has the focus."""
    for _ in range(20):
        focused = pilot.app.screen.focused
        if focused is not None and focused.id == f"field-{name}":
            return
        await pilot.press("tab")
        await pilot.pause()
    raise AssertionError(f"tab never reached field {name}")


async def type_into(pilot, name: str, text: str) -> None:
    """Tab to an input, clear it (end, ctrl+u) and type ``text``."""
    await focus_field(pilot, name)
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


def choices_of(dialog: FormDialog, name: str) -> dict[str, str]:
    """The (label -> code) choices the dialog offers for a field."""
    [field] = [field for field in dialog.fields if field.name == name]
    return dict(field.choices)


async def choose(pilot, name: str, label: str) -> None:
    """Tab to a choice, open it with enter, go down to ``label`` and take it with enter."""
    await focus_field(pilot, name)
    dialog = pilot.app.screen
    select = dialog.query_one(f"#field-{name}", Select)
    await pilot.press("enter")
    await pilot.pause()
    overlay = select.query_one("SelectOverlay")
    for _ in range(overlay.option_count + 1):
        highlighted = overlay.highlighted
        if highlighted is not None and str(overlay.get_option_at_index(highlighted).prompt) == (
            label
        ):
            await pilot.press("enter")
            await pilot.pause()
            assert select.value == choices_of(dialog, name)[label]
            return
        await pilot.press("down")
        await pilot.pause()
    raise AssertionError(f"no choice {label!r} in {name}")
