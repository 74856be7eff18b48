"""Migrations: the models and the scripts agree; upgrades back up first and keep rows."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import inspect, text

from nursecase.db import schema
from nursecase.db.engine import make_engine
from nursecase.db.maintenance import migrate
from nursecase.db.models import ALL_TABLES


def test_head_constant_matches_the_migration_scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS_FOLDER))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.HEAD_REVISION


def test_models_and_migrations_agree(engine):
    """What `alembic check` does: autogenerate finds nothing to add or change."""
    assert schema.schema_differences(engine) == []


def test_every_model_table_exists_after_upgrade(engine):
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
    assert {table.__tablename__ for table in ALL_TABLES} <= names


def test_a_fresh_database_is_upgraded_without_backup(tmp_path):
    engine = make_engine(tmp_path / "fresh.db")
    assert schema.revision_state(engine).current is None
    assert migrate.ensure_schema(engine, backup_folder=tmp_path / "backups") is None
    assert schema.revision_state(engine).up_to_date
    assert not (tmp_path / "backups").exists()
    # A second launch finds it current and does nothing.
    assert migrate.ensure_schema(engine, backup_folder=tmp_path / "backups") is None
    engine.dispose()


def test_a_new_database_gets_its_schema_and_one_with_tables_is_refused(tmp_path):
    """create_schema takes no backup, so it never touches a database holding rows."""
    fresh = make_engine(tmp_path / "new.db")
    schema.create_schema(fresh)
    assert schema.revision_state(fresh).up_to_date
    fresh.dispose()
    path = tmp_path / "legacy.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT)")
    raw.commit()
    raw.close()
    engine = make_engine(path)
    with pytest.raises(schema.MigrationError, match="nursecase db upgrade"):
        schema.create_schema(engine)
    assert schema.revision_state(engine).current is None
    engine.dispose()


def test_upgrade_takes_a_private_backup_when_tables_exist(tmp_path):
    """A file with tables but no schema stamp is backed up before anything changes."""
    path = tmp_path / "db.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT)")
    raw.execute("INSERT INTO legacy_notes (body) VALUES ('kept')")
    raw.commit()
    raw.close()
    engine = make_engine(path)
    backup = migrate.ensure_schema(engine, backup_folder=tmp_path / "backups")
    assert backup is not None and backup.exists()
    assert (backup.stat().st_mode & 0o777) == 0o600
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT body FROM legacy_notes").fetchall() == [("kept",)]
    copy.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM legacy_notes")).scalar() == "kept"
    assert schema.revision_state(engine).up_to_date
    engine.dispose()


def test_an_upgrade_backs_up_each_kind_of_database_first(services, engine, tmp_path):
    """SQLite: the online backup API; a server: pg_dump (0600, restorable with pg_restore)."""
    services.patients.create("MRN-B1", "Backup", "Before")
    location = engine.url.render_as_string(hide_password=False)
    migrate.downgrade(location, schema.revisions_before_head()[-1])
    backup = migrate.ensure_schema(engine, backup_folder=tmp_path / "backups")
    assert backup is not None and backup.parent == tmp_path / "backups"
    assert (backup.stat().st_mode & 0o777) == 0o600
    if engine.dialect.name == "sqlite":
        copy = sqlite3.connect(backup)
        assert copy.execute("SELECT mrn FROM patient").fetchall() == [("MRN-B1",)]
        copy.close()
    else:
        assert backup.suffix == ".dump"
        assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert schema.revision_state(engine).up_to_date
    assert services.patients.get_by_mrn("MRN-B1") is not None


def test_a_newer_database_is_refused(tmp_path):
    engine = make_engine(tmp_path / "newer.db")
    migrate.ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(schema.MigrationError, match="made by a newer nursecase"):
        migrate.ensure_schema(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("'9999_future'", "made by a newer nursecase \\(revision 9999_future"),
        ("'0003_not_ours'", "not a nursecase database \\(unknown schema revision '0003_not_ours'"),
        ("'zzz'", "not a nursecase database"),
        ("X'ff00'", "not a nursecase database \\(unknown schema revision b'\\\\xff"),
    ],
)
def test_an_unknown_revision_is_refused_before_any_backup(tmp_path, stored, message):
    engine = make_engine(tmp_path / "unknown.db")
    migrate.ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE alembic_version SET version_num = {stored}"))
    backups = tmp_path / "backups"
    for _attempt in range(2):
        with pytest.raises(schema.MigrationError, match=message):
            migrate.ensure_schema(engine, backup_folder=backups)
    engine.dispose()
    assert not backups.exists() or not any(backups.iterdir())


def test_the_audit_table_refuses_update_and_delete(engine):
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (occurred_at, action, entity, previous_hash, hash)"
                " VALUES ('2026-11-27 09:00:00', 'login', 'nurse', 'a', 'b')"
            )
        )
    for statement in ("UPDATE audit_event SET action = 'view'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT action FROM audit_event")).scalar() == "login"


@pytest.mark.parametrize("revision", schema.revisions_before_head())
def test_a_database_from_an_earlier_revision_upgrades_keeping_every_row(tmp_path, clock, revision):
    """Seed at head, step back to ``revision``, then launch: every row survives."""
    from nursecase.demo import seed_database

    path = tmp_path / "older.db"
    engine = make_engine(path)
    migrate.ensure_schema(engine)
    seed_database(engine, clock, patients=60, seed=5)
    engine.dispose()
    migrate.downgrade(str(path), revision)

    def counts() -> dict[str, int]:
        with sqlite3.connect(path) as connection:
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type='table' AND name != 'alembic_version'"
                )
            ]
            return {
                name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in names
            }

    before = counts()
    assert before["patient"] == 60 and before["contact"] > 0
    engine = make_engine(path)
    backup = migrate.ensure_schema(engine, backup_folder=tmp_path / "backups")
    engine.dispose()
    assert backup is not None and backup.exists()
    after = counts()
    for table, count in before.items():
        assert after[table] == count, table
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_nurses_from_before_accounts_become_passwordless_nurses(tmp_path, clock):
    """0005_accounts: every existing nurse is kept, as role "nurse" without a password,
    so the upgraded database still runs open (no login) until someone sets one."""
    from nursecase.demo import seed_database

    path = tmp_path / "before-accounts.db"
    engine = make_engine(path)
    migrate.ensure_schema(engine)
    seed_database(engine, clock, patients=8, seed=3)
    engine.dispose()
    migrate.downgrade(str(path), "0004_contact_referral")
    with sqlite3.connect(path) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(nurse)")}
        usernames = [row[0] for row in connection.execute("SELECT username FROM nurse")]
    assert "role" not in columns and "password_hash" not in columns
    engine = make_engine(path)
    migrate.ensure_schema(engine, backup_folder=tmp_path / "backups")
    engine.dispose()
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT username, role, password_hash, password_changed_at FROM nurse"
        ).fetchall()
    assert usernames and sorted(rows) == sorted(
        (username, "nurse", None, None) for username in usernames
    )


def test_mrn_keys_and_risk_ranks_are_filled_from_the_stored_patients(services, engine, tmp_path):
    """0008_patient_identifiers: every stored MRN gets its key (found without its
    hyphen), high moves to rank 4; down again, not assessed becomes moderate."""
    services.patients.create("MRN-B1", "Key", "Kim", risk_tier="high")
    services.patients.create("B2", "Key", "Lee")  # no tier chosen: not assessed
    location = engine.url.render_as_string(hide_password=False)
    migrate.downgrade(location, "0007_trustworthy_flags")
    query = text("SELECT mrn, risk_tier, risk_rank FROM patient ORDER BY id")
    with engine.connect() as connection:
        assert connection.execute(query).all() == [("MRN-B1", "high", 3), ("B2", "moderate", 2)]
    migrate.ensure_schema(engine, backup_folder=tmp_path / "backups")
    query = text("SELECT mrn, mrn_key, risk_tier, risk_rank FROM patient ORDER BY id")
    with engine.connect() as connection:
        assert connection.execute(query).all() == [
            ("MRN-B1", "MRNB1", "high", 4),
            ("B2", "B2", "moderate", 2),
        ]
    assert [row.mrn for row in services.patients.list_page(search="mrnb1")] == ["MRN-B1"]
