"""The verifiable audit trail: HMAC seals, the key and anchor file, and each tamper case.

An attacker is simulated with a raw database connection that drops the
append-only triggers first; ``verify`` must then name the first bad event and
say what happened to it.
"""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from nursecase.db.models import AuditEvent
from nursecase.paths import data_home
from nursecase.services import audit
from nursecase.services.audit import GENESIS_HASH, AuditService, event_hash, event_hmac
from nursecase.services.audit_anchor import (
    AuditKeyError,
    anchor_path,
    create_anchor,
    load_anchor,
    new_anchor,
    save_anchor,
)
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError
from tests.conftest import FROZEN_NOW
from tests.databases import attacker


def event_rows(engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def trail(services):
    """Services whose trail holds a handful of events (login, creates, an edit)."""
    first = services.patients.create("MRN-1", "Nguyen", "Linh")
    services.patients.create("MRN-2", "Okafor", "Ada")
    services.patients.update(first.id, first.version, phone="555 123 4567")
    return services


def test_events_are_sealed_with_hmac_under_a_key_kept_beside_the_database(
    trail, engine, database_path
):
    key_file = anchor_path(engine)
    if isinstance(database_path, Path):
        assert key_file == database_path.with_name("nursecase.db.audit-key")
    else:
        # A server database: one key file per server and database, in the data folder.
        database = make_url(database_path).database
        assert key_file == data_home() / f"audit-postgresql-127.0.0.1-{database}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    anchor = load_anchor(key_file)
    rows = event_rows(engine)
    assert len(rows) >= 5
    previous = GENESIS_HASH
    for row in rows:
        material = (
            row.previous_hash,
            row.occurred_at,
            row.nurse_id,
            row.action,
            row.entity,
            row.entity_id,
            row.changed_fields,
        )
        assert row.previous_hash == previous
        assert row.hash == event_hmac(anchor.key_bytes, *material)
        assert row.hash != event_hash(*material)
        previous = row.hash
    # The anchor reached the newest event, and the file holds no PHI.
    assert (anchor.base_id, anchor.last_id, anchor.last_hash, anchor.count) == (
        0,
        rows[-1].id,
        rows[-1].hash,
        len(rows),
    )
    text = key_file.read_text()
    assert "Nguyen" not in text and "MRN" not in text
    assert set(json.loads(text)) == {
        "version",
        "key",
        "base_id",
        "base_hash",
        "base_verifiable",
        "last_id",
        "last_hash",
        "count",
        "database_id",
    }
    # The trail's first event marks it as sealed, naming the key file's database id.
    assert (rows[0].action, rows[0].entity, rows[0].entity_id) == (
        "create",
        "audit-key",
        anchor.database_id,
    )
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (True, "ok", None)
    assert report.message == f"ok: {len(rows)} events verified"
    assert trail.audit.verify_chain() is None


def test_an_edited_event_is_named(trail, engine, database_path):
    target = event_rows(engine)[2].id
    with attacker(engine) as connection:
        connection.execute(
            "UPDATE audit_event SET changed_fields = 'nothing' WHERE id = ?", (target,)
        )
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "edited", target)
    assert f"event {target} was edited" in report.message
    assert trail.audit.verify_chain() == target


def test_an_edit_resealed_with_plain_sha256_is_still_caught(trail, engine, database_path):
    row = event_rows(engine)[1]
    forged = event_hash(
        row.previous_hash, row.occurred_at, None, row.action, row.entity, row.entity_id, None
    )
    with attacker(engine) as connection:
        connection.execute(
            "UPDATE audit_event SET nurse_id = NULL, changed_fields = NULL, hash = ? WHERE id = ?",
            (forged, row.id),
        )
    report = trail.audit.verify()
    assert (report.problem, report.first_bad_id) == ("edited", row.id)


def test_an_event_deleted_from_the_middle_is_named(trail, engine, database_path):
    rows = event_rows(engine)
    with attacker(engine) as connection:
        connection.execute("DELETE FROM audit_event WHERE id = ?", (rows[2].id,))
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "deleted", rows[3].id)
    assert f"before event {rows[3].id}" in report.message


def test_an_event_inserted_in_the_middle_is_named(trail, engine, database_path):
    rows = event_rows(engine)
    after = rows[2]
    with attacker(engine) as connection:
        # Make room (ids are not sealed), then slip a row in with a plausible link.
        connection.execute("UPDATE audit_event SET id = id + 100 WHERE id > ?", (after.id,))
        connection.execute(
            "INSERT INTO audit_event (id, occurred_at, nurse_id, action, entity, entity_id,"
            " changed_fields, previous_hash, hash) VALUES (?, ?, NULL, 'view', 'patient', 1,"
            " NULL, ?, ?)",
            (after.id + 1, "2026-11-27 09:00:00.000000", after.hash, "f" * 64),
        )
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "inserted", after.id + 1)


def test_an_event_appended_behind_the_services_back_is_named(trail, engine, database_path):
    last = event_rows(engine)[-1]
    with attacker(engine) as connection:
        connection.execute(
            "INSERT INTO audit_event (occurred_at, action, entity, previous_hash, hash)"
            " VALUES ('2026-11-27 09:00:00.000000', 'login', 'nurse', ?, ?)",
            (last.hash, "e" * 64),
        )
    report = trail.audit.verify()
    assert (report.problem, report.first_bad_id) == ("inserted", last.id + 1)


def test_truncating_the_newest_events_is_caught_by_the_anchor(trail, engine, database_path):
    rows = event_rows(engine)
    anchor_before = load_anchor(anchor_path(engine))
    with attacker(engine) as connection:
        connection.execute("DELETE FROM audit_event WHERE id >= ?", (rows[-2].id,))
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "truncated", rows[-1].id)
    assert f"the anchor records event {rows[-1].id} ({len(rows)} events)" in report.message
    assert f"ends at event {rows[-3].id} ({len(rows) - 2} events)" in report.message
    # A later change does not paper over it: an anchor ahead of the trail stays put.
    trail.patients.create("MRN-3", "Silva", "Rui")
    assert max(row.id for row in event_rows(engine)) >= rows[-1].id  # the ids were reused
    later = trail.audit.verify()
    assert (later.problem, later.first_bad_id) == ("truncated", rows[-1].id)
    assert load_anchor(anchor_path(engine)) == anchor_before


def test_a_missing_key_file_is_reported_clearly(trail, engine):
    key_file = anchor_path(engine)
    key_file.unlink()
    report = trail.audit.verify()
    assert (report.ok, report.problem) == (False, "key-missing")
    assert f"the audit key file {key_file} is missing" in report.message
    assert "events from 1 on cannot be verified" in report.message


def test_another_databases_key_file_is_reported_as_the_wrong_key(trail, engine):
    key_file = anchor_path(engine)
    current = load_anchor(key_file)
    foreign = new_anchor(0, GENESIS_HASH, True, 0).advanced(current.last_id, "a" * 64, 9)
    save_anchor(key_file, foreign)
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "key-wrong", 1)
    assert "the key file is not this database's" in report.message


def test_a_damaged_key_file_is_refused_in_one_clear_message(trail, engine):
    key_file = anchor_path(engine)
    key_file.write_text("{not json")
    report = trail.audit.verify()
    assert (report.ok, report.problem) == (False, "key-unreadable")
    assert report.message == f"the audit key file {key_file} is damaged or not a key file"
    with pytest.raises(AuditKeyError):
        trail.patients.create("MRN-3", "Silva", "Rui")


def test_an_anchor_left_behind_is_not_tampering_and_catches_up(trail, engine):
    key_file = anchor_path(engine)
    behind = load_anchor(key_file)
    trail.patients.create("MRN-3", "Silva", "Rui")
    save_anchor(key_file, behind)  # as after a crash between commit and anchor write
    report = trail.audit.verify()
    assert report.ok
    assert report.notes and "behind" in report.notes[0]
    trail.patients.create("MRN-4", "Moreau", "Lea")
    rows = event_rows(engine)
    caught_up = load_anchor(key_file)
    assert (caught_up.last_id, caught_up.count) == (rows[-1].id, len(rows))
    assert trail.audit.verify().notes == ()


def test_an_old_sha256_prefix_followed_by_hmac_events_verifies(engine, clock):
    context = ServiceContext(engine, clock)
    # Events written before this version: a plain SHA-256 chain, and no key file.
    previous = GENESIS_HASH
    with Session(engine) as session, session.begin():
        for number in range(3):
            moment = FROZEN_NOW - timedelta(days=3 - number)
            digest = event_hash(previous, moment, None, "login", "nurse", None, None)
            session.add(
                AuditEvent(
                    occurred_at=moment,
                    action="login",
                    entity="nurse",
                    previous_hash=previous,
                    hash=digest,
                )
            )
            previous = digest
    assert not anchor_path(engine).exists()
    legacy = AuditService(context).verify()
    assert legacy.ok and "no audit key yet" in legacy.notes[0]
    with context.write() as session:
        audit.record(session, context, "login", "nurse")
        audit.record(session, context, "view", "patient", 7)
    anchor = load_anchor(anchor_path(engine))
    assert (anchor.base_id, anchor.base_hash, anchor.base_verifiable) == (3, previous, True)
    rows = event_rows(engine)
    # The first keyed event is the marker that says the trail is sealed from here on.
    assert (rows[3].entity, rows[3].entity_id) == ("audit-key", anchor.database_id)
    assert rows[3].previous_hash == previous
    assert rows[5].hash == event_hmac(
        anchor.key_bytes, rows[4].hash, FROZEN_NOW, None, "view", "patient", 7, None
    )
    report = AuditService(context).verify()
    assert (report.ok, report.message, report.notes) == (True, "ok: 6 events verified", ())


def test_an_edit_in_the_old_sha256_prefix_is_still_named(engine, clock, database_path):
    context = ServiceContext(engine, clock)
    # An event from before keys (plain SHA-256), and a key based on it.
    legacy = event_hash(GENESIS_HASH, FROZEN_NOW, None, "login", "nurse", None, None)
    with Session(engine) as session, session.begin():
        session.add(
            AuditEvent(
                occurred_at=FROZEN_NOW,
                action="login",
                entity="nurse",
                previous_hash=GENESIS_HASH,
                hash=legacy,
            )
        )
    row = event_rows(engine)[0]
    save_anchor(anchor_path(engine), new_anchor(row.id, legacy, True, 1))
    assert AuditService(context).verify().ok
    with attacker(engine) as connection:
        connection.execute("UPDATE audit_event SET entity = 'patient'")
    report = AuditService(context).verify()
    assert (report.problem, report.first_bad_id) == ("edited", row.id)


def test_two_writers_making_a_key_at_once_agree_on_the_first(tmp_path):
    path = tmp_path / "x.db.audit-key"
    first = create_anchor(path, new_anchor(0, GENESIS_HASH, True, 0))
    second = create_anchor(path, new_anchor(0, GENESIS_HASH, True, 0))
    assert second.key == first.key == load_anchor(path).key
    assert [item.name for item in tmp_path.iterdir()] == [path.name]


def test_a_rolled_back_change_leaves_the_anchor_alone(trail, engine):
    key_file = anchor_path(engine)
    before = load_anchor(key_file)
    context = trail.context
    with pytest.raises(RuntimeError), context.write() as session:
        audit.record(session, context, "login", "nurse")
        raise RuntimeError("the caller's change failed")
    assert load_anchor(key_file) == before
    assert trail.audit.verify().ok


def test_opening_a_chart_records_a_view_event(trail):
    patient = trail.patients.get_by_mrn("MRN-2")
    trail.chart.open(patient.id)
    newest = trail.audit.list_events(limit=1)[0]
    assert (newest.action, newest.entity, newest.entity_id) == ("view", "patient", patient.id)
    assert newest.nurse_username == "alice"
    # Reading the chart without opening it (a refresh) records nothing more.
    trail.chart.load(patient.id)
    assert trail.audit.list_events(limit=1)[0].id == newest.id
    assert trail.audit.verify().ok


def test_list_events_filters_by_nurse_and_moment(trail, engine, clock):
    trail.nurses.create("bruno", "Bruno Diaz", "RN")
    trail.nurses.sign_in("bruno")
    clock.advance(days=2)
    trail.patients.create("MRN-3", "Silva", "Rui")
    brunos = trail.audit.list_events(nurse_username="bruno")
    assert brunos and {event.nurse_username for event in brunos} == {"bruno"}
    later = trail.audit.list_events(since=datetime(2026, 11, 28))
    assert later and all(event.occurred_at >= datetime(2026, 11, 28) for event in later)
    assert {event.nurse_username for event in later} == {"bruno"}
    assert len(trail.audit.list_events()) > len(later)


def test_an_event_in_a_rolled_back_savepoint_does_not_move_the_anchor(trail, engine):
    context = trail.context
    with context.write() as session:
        audit.record(session, context, "login", "nurse")
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, context, "view", "patient", 1)
            raise RuntimeError("this part of the change failed")
    rows = event_rows(engine)
    anchor = load_anchor(anchor_path(engine))
    assert rows[-1].action == "login"
    assert (anchor.last_id, anchor.last_hash, anchor.count) == (
        rows[-1].id,
        rows[-1].hash,
        len(rows),
    )
    assert trail.audit.verify().ok


def test_a_released_savepoint_of_a_change_that_then_fails_leaves_the_anchor_alone(trail, engine):
    # SQLAlchemy calls after_commit when a savepoint is released, before the
    # transaction's own commit (the ADT inbox applies a message in one).
    key_file = anchor_path(engine)
    before = load_anchor(key_file)
    context = trail.context
    with pytest.raises(RuntimeError), context.write() as session:
        with session.begin_nested():
            audit.record(session, context, "view", "patient", 1)
        raise RuntimeError("the rest of the change failed")
    assert load_anchor(key_file) == before
    assert trail.audit.verify().ok


def test_a_copy_without_its_key_file_keeps_working_but_cannot_vouch_for_old_events(trail, engine):
    old_events = len(event_rows(engine))
    anchor_path(engine).unlink()  # as when only the database file was copied
    trail.patients.create("MRN-3", "Silva", "Rui")
    anchor = load_anchor(anchor_path(engine))
    assert (anchor.base_id, anchor.base_verifiable) == (old_events, False)
    report = trail.audit.verify()
    assert (report.ok, report.problem, report.first_bad_id) == (False, "unverifiable", None)
    assert f"events 1 to {old_events} were sealed with an audit key" in report.message
    assert trail.audit.verify_chain() is None


def test_a_team_names_its_shared_key_file(trail, engine, tmp_path, monkeypatch):
    """NURSECASE_AUDIT_KEY_FILE: every workstation of a team server seals with one key."""
    shared = tmp_path / "share" / "clinic.audit-key"
    shared.parent.mkdir()
    shared.write_bytes(anchor_path(engine).read_bytes())
    shared.chmod(0o600)  # a key file others can read is refused (issue 17)
    monkeypatch.setenv("NURSECASE_AUDIT_KEY_FILE", str(shared))
    assert anchor_path(engine) == shared
    trail.patients.create("MRN-3", "Silva", "Ana")
    assert load_anchor(shared).count == len(event_rows(engine))
    assert AuditService(ServiceContext(engine, trail.context.clock)).verify().ok


# --- issue 17, item 6: the trail cannot be rewritten quietly --------------------


def rewrite(engine, key: bytes | None, edited_id: int, keep=lambda row: True) -> None:
    """The attacker: edit one event, then recompute every link and seal after it.

    ``key`` None rewrites the trail as a plain SHA-256 chain (as before keys);
    ``keep`` drops the rows it refuses (a deletion hidden by the new links).
    """
    rows = [row for row in event_rows(engine)]
    previous = GENESIS_HASH
    with attacker(engine) as connection:
        for row in rows:
            if not keep(row):
                connection.execute("DELETE FROM audit_event WHERE id = ?", (row.id,))
                continue
            fields = "tampered" if row.id == edited_id else row.changed_fields
            material = (row.occurred_at, row.nurse_id, row.action, row.entity, row.entity_id)
            digest = (
                event_hash(previous, *material, fields)
                if key is None
                else event_hmac(key, previous, *material, fields)
            )
            connection.execute(
                "UPDATE audit_event SET changed_fields = ?, previous_hash = ?, hash = ?"
                " WHERE id = ?",
                (fields, previous, digest, row.id),
            )
            previous = digest


def test_a_sealed_trail_rewritten_as_sha256_without_its_key_file_fails(trail, engine):
    """The probe: rewrite the chain as plain SHA-256, delete the key file: not "ok"."""
    key_file = anchor_path(engine)
    rewrite(engine, None, edited_id=3)
    key_file.unlink()
    report = trail.audit.verify()
    assert (report.ok, report.problem) == (False, "key-missing")
    assert f"the audit key file {key_file} is missing" in report.message
    assert "the trail was sealed with a key from event 1 on" in report.message


def test_an_audit_key_file_others_can_read_is_refused_like_a_passphrase_file(trail, engine):
    key_file = anchor_path(engine)
    key_file.chmod(0o644)
    report = trail.audit.verify()
    assert (report.ok, report.problem) == (False, "key-unreadable")
    assert report.message == (
        f"the audit key file {key_file} is readable by others; run: chmod 600 {key_file}"
    )
    with pytest.raises(AuditKeyError, match="readable by others"):
        trail.patients.create("MRN-3", "Silva", "Rui")


def test_another_databases_key_file_is_named_as_such_not_as_an_edit(trail, engine):
    key_file = anchor_path(engine)
    ours = load_anchor(key_file)
    theirs = new_anchor(0, GENESIS_HASH, True, 0, database_id=ours.database_id + 1)
    save_anchor(key_file, theirs.advanced(ours.last_id, ours.last_hash, ours.count))
    report = trail.audit.verify()
    assert (report.ok, report.problem) == (False, "key-foreign")
    assert report.message.startswith(f"the audit key file {key_file} belongs to another database")
    # Nothing is sealed with it either: two trails' seals would be mixed.
    with pytest.raises(AuditKeyError, match="belongs to another database"):
        trail.patients.create("MRN-3", "Silva", "Rui")


def test_a_key_file_from_before_database_ids_still_works_and_gets_the_trails(trail, engine):
    key_file = anchor_path(engine)
    data = json.loads(key_file.read_text())
    marker_id = data.pop("database_id")
    key_file.write_text(json.dumps(data))
    assert load_anchor(key_file).database_id is None
    assert trail.audit.verify().ok
    trail.patients.create("MRN-3", "Silva", "Rui")
    assert load_anchor(key_file).database_id == marker_id
    assert trail.audit.verify().ok


def test_an_external_anchor_catches_a_rewrite_resealed_with_the_key(trail, engine, tmp_path):
    anchor_file = tmp_path / "supervisor" / "anchor.json"
    anchor_file.parent.mkdir()
    written = trail.audit.write_anchor(anchor_file)
    assert stat.S_IMODE(anchor_file.stat().st_mode) == 0o600
    text = anchor_file.read_text()
    key = load_anchor(anchor_path(engine))
    assert key.key not in text and "Nguyen" not in text and "MRN" not in text
    assert (written.count, written.database_id) == (len(event_rows(engine)), key.database_id)
    assert trail.audit.verify(anchor_file).ok
    trail.patients.create("MRN-3", "Silva", "Rui")  # later events do not disturb it
    intact = trail.audit.verify(anchor_file)
    assert intact.ok and "still holds the" in intact.notes[-1]
    # Rewrite event 3 and reseal everything after it with the key file: only the
    # anchor can tell.
    rewrite(engine, key.key_bytes, edited_id=3)
    rows = event_rows(engine)
    save_anchor(anchor_path(engine), key.advanced(rows[-1].id, rows[-1].hash, len(rows)))
    assert trail.audit.verify().ok
    report = trail.audit.verify(anchor_file)
    assert (report.ok, report.problem, report.first_bad_id) == (False, "anchor-mismatch", 3)
    assert "the trail was rewritten from event 3 on" in report.message


def test_an_external_anchor_catches_deleted_events_resealed_with_the_key(trail, engine, tmp_path):
    anchor_file = tmp_path / "anchor.json"
    trail.audit.write_anchor(anchor_file)
    key = load_anchor(anchor_path(engine))
    newest = event_rows(engine)[-1].id
    rewrite(engine, key.key_bytes, edited_id=0, keep=lambda row: row.id != newest)
    rows = event_rows(engine)
    save_anchor(anchor_path(engine), key.advanced(rows[-1].id, rows[-1].hash, len(rows)))
    assert trail.audit.verify().ok
    report = trail.audit.verify(anchor_file)
    assert (report.problem, report.first_bad_id) == ("anchor-mismatch", newest)
    assert f"event {newest} that the anchor of" in report.message and "is gone" in report.message


def test_no_anchor_is_written_for_a_trail_that_does_not_verify(trail, engine, tmp_path):
    with attacker(engine) as connection:
        connection.execute("UPDATE audit_event SET action = 'view' WHERE id = 2")
    with pytest.raises(ServiceError, match="does not verify"):
        trail.audit.write_anchor(tmp_path / "anchor.json")
    assert not (tmp_path / "anchor.json").exists()


def test_a_large_trails_anchor_names_the_range_of_the_first_change():
    """Above CHECKPOINTS events the anchor keeps evenly spaced hashes: a range is named."""
    from types import SimpleNamespace

    from nursecase.services.audit_external import CHECKPOINTS, anchor_of, check_anchor

    rows = [SimpleNamespace(id=number, hash=f"{number:064x}") for number in range(1, 1001)]
    external = anchor_of(rows, 7, "x.db", FROZEN_NOW)
    assert len(external.checkpoints) <= CHECKPOINTS + 1
    assert external.checkpoints[-1] == (1000, rows[-1].hash)
    assert check_anchor(rows, external, 7).ok
    changed = [row if row.id < 500 else SimpleNamespace(id=row.id, hash="f" * 64) for row in rows]
    found = check_anchor(changed, external, 7)
    kept = [event_id for event_id, _ in external.checkpoints]
    after = min(event_id for event_id in kept if event_id >= 500)
    before = max(event_id for event_id in kept if event_id < 500)
    assert (found.ok, found.first_bad_id) == (False, after)
    assert f"the first changed event is between {before + 1} and {after}" in found.message
    assert "belongs to another database" in check_anchor(rows, external, 8).message
