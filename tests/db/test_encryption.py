"""Encryption at rest (SQLCipher): conversion both ways, keys, detection, backups."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from nursecase.db import encryption, key_source
from nursecase.db.encryption import (
    EncryptionError,
    KeyParameters,
    derive_key,
    is_encrypted,
    key_for,
    read_parameters,
)
from nursecase.db.engine import make_engine
from nursecase.db.locations import AUDIT_KEY_SUFFIX, salt_file
from nursecase.db.maintenance.backup import backup_sqlite
from nursecase.db.maintenance.conversion import decrypt_database, encrypt_database
from nursecase.db.maintenance.migrate import downgrade, ensure_schema
from nursecase.db.schema import revision_state, revisions_before_head
from nursecase.services import make_services

# SQLCipher encrypts an SQLite file; a server encrypts its disk and its connections.
pytestmark = pytest.mark.sqlite_only

PASSPHRASE = "correct horse battery staple"
#: Argon2id costs small enough for tests; the real defaults are tested on their own.
FAST = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


@pytest.fixture(autouse=True)
def no_key_sources(monkeypatch):
    """No key file from the environment or an earlier test, no remembered keys, no prompt."""
    monkeypatch.delenv(key_source.KEY_FILE_ENV, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    key_source.choose_prompt(None)
    encryption.forget_keys()
    yield
    key_source.choose_prompt(None)
    encryption.forget_keys()


def key_of(path) -> bytes:
    return derive_key(PASSPHRASE, read_parameters(path))


def dump(path) -> list[str]:
    """Every statement that rebuilds a plain database (schema and rows), sorted:
    the conversion may list schema objects in another order."""
    with sqlite3.connect(path) as connection:
        lines = sorted(connection.iterdump())
    connection.close()
    return lines


def add_patient(engine, clock, mrn: str = "MRN-1") -> None:
    services = make_services(engine, clock)
    if services.nurses.get_by_username("alice") is None:
        services.nurses.create("alice", "Alice Moreno", "RN")
    services.nurses.sign_in("alice")
    services.patients.create(mrn, "Moreno", "Ana", birth_date="1950-01-02")


@pytest.fixture
def filled(database_path, clock):
    """The migrated test database holding one nurse and one patient, closed."""
    engine = make_engine(database_path)
    add_patient(engine, clock)
    engine.dispose()
    return database_path


def test_round_trip_keeps_every_row_and_the_schema(filled):
    before = dump(filled)

    encrypt_database(filled, PASSPHRASE, costs=FAST)
    assert is_encrypted(filled)
    decrypt_database(filled, PASSPHRASE)

    assert not is_encrypted(filled)
    assert dump(filled) == before
    assert not salt_file(filled).exists()
    leftovers = sorted(p.name for p in filled.parent.iterdir())
    assert leftovers == [filled.name, filled.name + AUDIT_KEY_SUFFIX], leftovers


def test_an_encrypted_database_is_unreadable_by_plain_sqlite(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)

    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(filled).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert b"Moreno" not in filled.read_bytes()
    # The plain original (PHI in clear) is gone once the conversion is proven.
    names = sorted(p.name for p in filled.parent.iterdir())
    assert names == [filled.name, filled.name + AUDIT_KEY_SUFFIX, filled.name + ".salt"], names


def test_the_salt_file_is_private_and_fresh_per_database(filled, tmp_path, migrated_template):
    other = tmp_path / "other" / "b.db"
    other.parent.mkdir(mode=0o700)
    other.write_bytes(Path(migrated_template.location).read_bytes())
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encrypt_database(other, PASSPHRASE, costs=FAST)

    assert stat.S_IMODE(filled.stat().st_mode) == 0o600
    assert stat.S_IMODE(salt_file(filled).stat().st_mode) == 0o600
    stored = json.loads(salt_file(filled).read_text())
    assert stored["kdf"] == "argon2id"
    assert len(bytes.fromhex(stored["salt"])) == 16
    assert read_parameters(filled).salt != read_parameters(other).salt
    assert key_of(filled) != key_of(other)


def test_the_default_costs_follow_rfc_9106():
    parameters = KeyParameters.fresh()
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (3, 65536, 4)
    assert len(derive_key("a passphrase", parameters)) == 32


def test_services_work_on_an_encrypted_engine(filled, clock):
    encrypt_database(filled, PASSPHRASE, costs=FAST)

    engine = make_engine(filled, key=key_of(filled))
    try:
        services = make_services(engine, clock)
        services.nurses.sign_in("alice")
        assert services.patients.get_by_mrn("MRN-1").family_name == "Moreno"
        services.patients.create("MRN-2", "Okafor", "Ben", birth_date="1961-03-04")
        assert services.patients.get_by_mrn("MRN-2").given_name == "Ben"
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    assert b"Okafor" not in filled.read_bytes()
    for suffix in ("-wal", "-shm"):
        sidecar = filled.with_name(filled.name + suffix)
        assert not sidecar.exists() or b"Okafor" not in sidecar.read_bytes()


def test_a_wrong_key_is_one_clear_error(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)

    engine = make_engine(filled, key=derive_key("not the passphrase", read_parameters(filled)))
    with pytest.raises(EncryptionError, match="wrong passphrase"), engine.connect():
        pass
    engine.dispose()
    with pytest.raises(EncryptionError, match="wrong passphrase"):
        decrypt_database(filled, "not the passphrase")
    assert is_encrypted(filled)


def test_without_a_key_and_without_a_terminal_the_engine_says_how_to_give_one(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()

    with pytest.raises(EncryptionError, match="--key-file PATH or NURSECASE_KEY_FILE"):
        make_engine(filled)


def test_the_key_file_comes_from_the_environment_or_the_command_line(filled, tmp_path, monkeypatch):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()
    right = tmp_path / "right.key"
    right.write_text(PASSPHRASE + "\n")
    right.chmod(0o600)
    wrong = tmp_path / "wrong.key"
    wrong.write_text("something else entirely\n")
    wrong.chmod(0o600)

    monkeypatch.setenv(key_source.KEY_FILE_ENV, str(right))
    assert key_for(filled) == key_of(filled)
    engine = make_engine(filled)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patient")).scalar() == 1
    engine.dispose()

    # A key file chosen on the command line wins over the environment.
    key_source.choose_key_file(wrong)
    try:
        with (
            pytest.raises(EncryptionError, match="wrong passphrase"),
            make_engine(filled).connect(),
        ):
            pass
    finally:
        key_source.choose_key_file(None)


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    loose = tmp_path / "loose.key"
    loose.write_text(PASSPHRASE)
    loose.chmod(0o644)
    with pytest.raises(EncryptionError, match="chmod 600"):
        encryption.read_key_file(loose)


def test_a_missing_salt_file_is_named(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    salt_file(filled).unlink()
    with pytest.raises(EncryptionError, match="its salt file .* is missing"):
        make_engine(filled)


def test_converting_twice_or_the_wrong_way_is_refused(filled):
    with pytest.raises(EncryptionError, match="not encrypted"):
        decrypt_database(filled, PASSPHRASE)
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    with pytest.raises(EncryptionError, match="already encrypted"):
        encrypt_database(filled, PASSPHRASE, costs=FAST)


def test_a_database_in_use_is_not_converted(filled):
    before = dump(filled)
    engine = make_engine(filled)
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM patient")).scalar()
        with pytest.raises(EncryptionError, match="in use"):
            encrypt_database(filled, PASSPHRASE, costs=FAST)
    engine.dispose()
    assert not is_encrypted(filled)
    assert dump(filled) == before


def test_a_backup_of_an_encrypted_database_stays_encrypted(filled, tmp_path):
    audit_key = filled.with_name(filled.name + AUDIT_KEY_SUFFIX)
    audit_key.write_bytes(b"audit key material")
    audit_key.chmod(0o600)
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()
    key_file = tmp_path / "pass.key"
    key_file.write_text(PASSPHRASE)
    key_file.chmod(0o600)
    key_source.choose_key_file(key_file)
    try:
        copy = backup_sqlite(filled, tmp_path / "backups" / "copy.db")
    finally:
        key_source.choose_key_file(None)

    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(copy).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(salt_file(copy).stat().st_mode) == 0o600
    assert copy.with_name(copy.name + AUDIT_KEY_SUFFIX).read_bytes() == b"audit key material"
    engine = make_engine(copy, key=derive_key(PASSPHRASE, read_parameters(copy)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT family_name FROM patient")).scalar() == "Moreno"
    engine.dispose()


def test_the_backup_before_a_migration_stays_encrypted(database_path, tmp_path):
    url = f"sqlite:///{database_path}"
    downgrade(url, revisions_before_head()[-1])
    encrypt_database(database_path, PASSPHRASE, costs=FAST)

    engine = make_engine(database_path, key=key_of(database_path))
    try:
        backup = ensure_schema(engine, backup_folder=tmp_path / "backups")
        assert revision_state(engine).up_to_date
    finally:
        engine.dispose()

    assert backup is not None and backup.exists()
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(backup).execute("SELECT count(*) FROM sqlite_master").fetchone()
    copy = make_engine(backup, key=key_of(backup))
    assert revision_state(copy).current == revisions_before_head()[-1]
    copy.dispose()


def test_a_prompted_passphrase_is_asked_once_per_process(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()
    asked: list[Path] = []

    def prompt(database: Path) -> str:
        asked.append(database)
        return PASSPHRASE

    key_source.choose_prompt(prompt)
    for _ in range(2):
        engine = make_engine(filled)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM patient")).scalar() == 1
        engine.dispose()

    assert asked == [filled]


def test_a_wrong_prompted_passphrase_is_forgotten_so_the_next_try_asks_again(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()
    answers = iter(["not the passphrase", PASSPHRASE])
    asked: list[Path] = []

    def prompt(database: Path) -> str:
        asked.append(database)
        return next(answers)

    key_source.choose_prompt(prompt)
    wrong = make_engine(filled)
    with pytest.raises(EncryptionError, match="wrong passphrase"), wrong.connect():
        pass
    wrong.dispose()
    engine = make_engine(filled)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patient")).scalar() == 1
    engine.dispose()

    assert asked == [filled, filled]


def test_a_prompt_with_nobody_to_ask_says_how_to_give_a_key(filled):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    encryption.forget_keys()
    key_source.choose_prompt(lambda _database: None)

    with pytest.raises(EncryptionError, match="--key-file PATH or NURSECASE_KEY_FILE"):
        make_engine(filled)


def test_without_sqlcipher_installed_an_encrypted_database_names_the_extra(filled, monkeypatch):
    encrypt_database(filled, PASSPHRASE, costs=FAST)
    monkeypatch.setitem(sys.modules, "sqlcipher3", None)
    with pytest.raises(EncryptionError, match=r"nursecase\[encryption\]"):
        make_engine(filled, key=key_of(filled))
