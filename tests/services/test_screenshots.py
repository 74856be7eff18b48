"""Screenshots: written like an export (0600, atomic, never over a file) and audited as one."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import event

from nursecase.domain.validation import ValidationError

SVG = "<svg><text>Moreno, Alice</text></svg>"


def screenshot_events(services):
    return services.audit.list_events(entity="screenshot")[::-1]


def test_a_screenshot_is_recorded_before_it_appears_and_never_replaces_a_file(services, tmp_path):
    exports = tmp_path / "exports"  # not there yet: made 0700
    seen: list[list[str]] = []

    def on_commit(_connection) -> None:
        # Each transaction, as it commits: which files are in the folder?
        seen.append(sorted(item.name for item in exports.iterdir()) if exports.exists() else [])

    engine = services.context.engine
    event.listen(engine, "commit", on_commit)
    try:
        first = services.screenshots.save(SVG, exports, screen="patient-detail", patient_id=7)
    finally:
        event.remove(engine, "commit", on_commit)
    # The export event: only the hidden part file; its end: the picture itself.
    start_files, end_files = [files for files in seen if files]
    assert [name.endswith(".part") for name in start_files] == [True]
    assert end_files == ["screenshot-2026-11-27-090000.svg"]
    assert first.read_text() == SVG
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(exports.stat().st_mode) == 0o700
    # The same second again: a new file beside it.
    second = services.screenshots.save(SVG, exports, screen="worklist")
    assert second.name == "screenshot-2026-11-27-090000-2.svg"
    events = screenshot_events(services)
    assert [(event.action, event.entity_id) for event in events] == [
        ("export", 7),
        ("export-finished", 7),
        ("export", None),
        ("export-finished", None),
    ]
    assert events[0].changed_fields == (
        "format:svg",
        "scope:patient",
        "screen:patient-detail",
        "to:file",
    )
    assert events[1].changed_fields == ("outcome:completed", f"start:{events[0].id}")


def test_a_folder_that_cannot_be_private_is_refused_with_nothing_recorded(services, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone could read what lands there
    not_a_folder = tmp_path / "exports.txt"
    not_a_folder.write_text("kept")
    for folder in (shared, not_a_folder):
        with pytest.raises(ValidationError) as raised:
            services.screenshots.save(SVG, folder, screen="worklist")
        assert raised.value.field == "folder"
    assert screenshot_events(services) == []
    assert list(shared.iterdir()) == [] and not_a_folder.read_text() == "kept"
