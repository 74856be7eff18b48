"""Accounts: Argon2id hashes, sign-in checks and their audit, the policy, roles, bootstrap."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from nursecase.domain.passwords import MIN_LENGTH, check_new_password
from nursecase.domain.validation import ValidationError
from nursecase.services.accounts import AccountService, LoginFailedError, PermissionDeniedError
from nursecase.services.errors import NoNurseError
from nursecase.services.exports import check_request

ADMIN_PASSWORD = "correct horse battery"
NURSE_PASSWORD = "tulip lantern orbit"
SUPERVISOR_PASSWORD = "granite meadow violin"


def fast_hasher(**overrides) -> PasswordHasher:
    """Argon2id with tiny costs: the tests check behaviour, not strength."""
    options = {"time_cost": 1, "memory_cost": 8, "parallelism": 1} | overrides
    return PasswordHasher(**options)


@pytest.fixture
def accounts(services) -> AccountService:
    """Accounts on the open database of the ``services`` fixture (alice, no password)."""
    return AccountService(services.context, hasher=fast_hasher())


@pytest.fixture
def staffed(services, accounts):
    """An enforced database: admin 'root', nurse 'nina', supervisor 'sam'; nobody signed in."""
    accounts.add("root", "Rita Root", ADMIN_PASSWORD)
    accounts.verify_login("root", ADMIN_PASSWORD)
    accounts.add("nina", "Nina Nurse", NURSE_PASSWORD, role="nurse")
    accounts.add("sam", "Sam Super", SUPERVISOR_PASSWORD, role="supervisor")
    services.context.nurse_id = services.context.nurse_name = None
    return accounts


def stored_hash(engine, username: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT password_hash FROM nurse WHERE username = :name"), {"name": username}
        ).scalar()


def audit_text(engine) -> str:
    """Every column of every audit event, as one string."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM audit_event")).fetchall()
    return "\n".join("|".join(str(value) for value in row) for row in rows)


def audit_actions(engine) -> list[tuple[str, int | None]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text("SELECT action, entity_id FROM audit_event ORDER BY id")
            )
        ]


def test_the_first_account_is_an_admin_with_an_argon2id_hash(engine, accounts):
    assert not accounts.has_passwords()
    account = accounts.add("root", "Rita Root", ADMIN_PASSWORD)
    assert account.role == "admin" and account.has_password
    stored = stored_hash(engine, "root")
    assert stored.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in stored
    assert ADMIN_PASSWORD not in audit_text(engine)
    assert accounts.has_passwords()


def test_the_first_account_cannot_be_below_admin(accounts):
    with pytest.raises(ValidationError) as caught:
        accounts.add("nina", "Nina Nurse", NURSE_PASSWORD, role="nurse")
    assert caught.value.field == "role"
    assert not accounts.has_passwords()


def test_the_first_password_on_an_existing_account_must_be_an_admins(accounts):
    with pytest.raises(ValidationError, match="first password must be an admin"):
        accounts.change_password("alice", NURSE_PASSWORD)
    assert not accounts.has_passwords()


def test_verify_login_signs_in_with_the_right_password(engine, services, staffed):
    account = staffed.verify_login(" NINA ", NURSE_PASSWORD)
    assert account.username == "nina" and account.role == "nurse"
    assert services.context.nurse_id == account.id
    assert audit_actions(engine)[-1] == ("login", account.id)


def test_a_wrong_password_is_refused_and_audited_without_the_password(engine, services, staffed):
    nina = staffed.get("nina")
    with pytest.raises(LoginFailedError, match="wrong username or password"):
        staffed.verify_login("nina", "not her password at all")
    assert services.context.nurse_id is None
    assert audit_actions(engine)[-1] == ("login-failed", nina.id)
    assert "not her password at all" not in audit_text(engine)


def test_an_unknown_username_is_audited_without_naming_it(engine, staffed):
    with pytest.raises(LoginFailedError, match="wrong username or password"):
        staffed.verify_login("tulip lantern orbit", "whatever it is")
    assert audit_actions(engine)[-1] == ("login-failed", None)
    assert "tulip lantern orbit" not in audit_text(engine)


def test_a_disabled_account_is_refused_even_with_its_password(engine, services, staffed):
    staffed.verify_login("root", ADMIN_PASSWORD)
    staffed.disable("nina")
    services.context.nurse_id = None
    with pytest.raises(LoginFailedError, match="disabled"):
        staffed.verify_login("nina", NURSE_PASSWORD)
    assert services.context.nurse_id is None
    assert audit_actions(engine)[-1][0] == "login-failed"
    assert not staffed.get("nina").active


def test_a_hash_with_old_parameters_is_renewed_at_sign_in(engine, services, staffed):
    old = stored_hash(engine, "nina")
    assert "m=8," in old
    stronger = AccountService(services.context, hasher=fast_hasher(memory_cost=16, time_cost=2))
    stronger.verify_login("nina", NURSE_PASSWORD)
    renewed = stored_hash(engine, "nina")
    assert renewed != old and renewed.startswith("$argon2id$") and "m=16,t=2" in renewed
    # The renewed hash still takes the same password; an unchanged one is left alone.
    stronger.verify_login("nina", NURSE_PASSWORD)
    assert stored_hash(engine, "nina") == renewed


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "is required"),
        ("short one", f"at least {MIN_LENGTH} characters"),
        ("            ", "only spaces"),
        ("abababababababab", "more than a few different characters"),
        ("nina-is-my-password", "must not contain the username"),
        ("two\nlines and more", "line breaks"),
        ("x" * 200 + "y" * 57 + "za", "at most 256 characters"),
    ],
)
def test_the_password_policy_says_what_is_wrong_in_one_line(password, message):
    with pytest.raises(ValidationError) as caught:
        check_new_password(password, "nina")
    assert caught.value.field == "password"
    assert message in caught.value.message
    assert "\n" not in str(caught.value)
    if password.strip():
        assert password not in str(caught.value)


def test_a_refused_password_is_not_stored(accounts):
    with pytest.raises(ValidationError, match="Password must be at least"):
        accounts.add("root", "Rita Root", "too short")
    assert accounts.get("root") is None


def test_after_bootstrap_only_an_admin_manages_accounts(services, staffed):
    with pytest.raises(NoNurseError):
        staffed.add("zoe", "Zoe Zed", "another long passphrase")
    staffed.verify_login("nina", NURSE_PASSWORD)
    with pytest.raises(PermissionDeniedError, match="needs an admin account; nina is a nurse"):
        staffed.add("zoe", "Zoe Zed", "another long passphrase")
    with pytest.raises(PermissionDeniedError, match="admin"):
        staffed.disable("sam")
    with pytest.raises(PermissionDeniedError, match="another account's password"):
        staffed.change_password("sam", "a brand new passphrase")
    # Her own password, she may change.
    staffed.change_password("nina", "a brand new passphrase")
    staffed.verify_login("root", ADMIN_PASSWORD)
    zoe = staffed.add("zoe", "Zoe Zed", "another long passphrase")
    assert zoe.role == "nurse"
    staffed.change_password("sam", "reset passphrase here")
    staffed.verify_login("sam", "reset passphrase here")
    assert [account.username for account in staffed.list_accounts()] == [
        "alice",
        "nina",
        "root",
        "sam",
        "zoe",
    ]


def test_oneself_and_the_last_admin_with_a_password_cannot_be_disabled(engine, services, staffed):
    staffed.verify_login("root", ADMIN_PASSWORD)
    with pytest.raises(ValidationError, match="your own account"):
        staffed.disable("root")
    # An admin without a password (signed in the old way, by username) may not
    # lock everyone out by disabling the only admin who can sign in.
    with engine.begin() as connection:
        connection.execute(text("UPDATE nurse SET role = 'admin' WHERE username = 'alice'"))
    services.nurses.sign_in("alice")
    with pytest.raises(ValidationError, match="Root is the last active admin"):
        staffed.disable("root")
    staffed.verify_login("root", ADMIN_PASSWORD)
    staffed.add("ada", "Ada Admin", "second admin passphrase", role="admin")
    staffed.verify_login("ada", "second admin passphrase")
    assert not staffed.disable("root").active
    with pytest.raises(LoginFailedError, match="disabled"):
        staffed.verify_login("root", ADMIN_PASSWORD)


def test_a_nurse_cannot_export_across_nurses_but_a_supervisor_can(services, staffed):
    exporter = services.exports
    staffed.verify_login("nina", NURSE_PASSWORD)
    exporter.prepare(check_request("caseload", "csv"))  # her own caseload
    with pytest.raises(PermissionDeniedError, match="every nurse's patients needs a supervisor"):
        exporter.prepare(check_request("caseload", "csv", all_nurses=True))
    with pytest.raises(PermissionDeniedError, match="supervisor report needs a supervisor"):
        exporter.prepare(check_request("supervisor", "csv"))
    staffed.verify_login("sam", SUPERVISOR_PASSWORD)
    assert (
        exporter.prepare(check_request("caseload", "csv", all_nurses=True)).scope.nurse_id is None
    )
    exporter.prepare(check_request("supervisor", "csv"))
    staffed.verify_login("root", ADMIN_PASSWORD)
    exporter.prepare(check_request("supervisor", "csv"))


def test_an_open_database_applies_no_role_rules(services):
    """No passwords anywhere (demo): alice, a plain nurse, may export across nurses."""
    plan = services.exports.prepare(check_request("caseload", "csv", all_nurses=True))
    assert plan.scope.nurse_id is None
    services.exports.prepare(check_request("supervisor", "csv"))


def test_every_account_change_writes_an_audit_event(engine, services, accounts):
    counts = [services.audit.count()]
    accounts.add("root", "Rita Root", ADMIN_PASSWORD)
    counts.append(services.audit.count())
    accounts.verify_login("root", ADMIN_PASSWORD)
    counts.append(services.audit.count())
    accounts.add("nina", "Nina Park", "a long enough passphrase", role="nurse")
    counts.append(services.audit.count())
    accounts.change_password("nina", "another long passphrase")
    counts.append(services.audit.count())
    accounts.disable("nina")
    counts.append(services.audit.count())
    assert all(after > before for before, after in zip(counts, counts[1:], strict=False))
    assert [action for action, _ in audit_actions(engine)[-5:]] == [
        "create",
        "login",
        "create",
        "update",
        "update",
    ]
    assert services.audit.verify().ok


# --- issue 17, item 7: sign-in throttled everywhere ---------------------------


class CountingHasher:
    """A fast hasher that counts verifications (the Argon2 work of one answer)."""

    def __init__(self) -> None:
        self.inner = fast_hasher()
        self.verified = 0

    def verify(self, stored, password):
        self.verified += 1
        return self.inner.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def throttled(services, hasher=None) -> tuple[AccountService, list[float]]:
    """An AccountService (as a separate process would build) whose sleeps are recorded."""
    waits: list[float] = []
    service = AccountService(services.context, hasher=hasher or fast_hasher(), sleep=waits.append)
    return service, waits


def refusal(accounts: AccountService, username: str, password: str) -> LoginFailedError:
    with pytest.raises(LoginFailedError) as caught:
        accounts.verify_login(username, password)
    return caught.value


def test_refusals_earn_a_growing_delay_kept_in_the_database_per_account(services, staffed):
    first, waits = throttled(services)
    assert [refusal(first, "nina", "guess number one").retry_after for _ in range(3)] == [1, 2, 4]
    # Each try first waits out what is left of the last refusal's delay (the
    # clock is frozen, so all of it).
    assert waits == [1, 2]
    # Another process (a new service on the same database) sees the same count.
    second, later_waits = throttled(services)
    assert refusal(second, "nina", "guess number four").retry_after == 8
    assert later_waits == [4]
    # The delay is the account's: another account starts from nothing.
    assert refusal(second, "sam", "guess number one").retry_after == 1
    # A successful sign-in (after the wait) ends the streak.
    second.verify_login("nina", NURSE_PASSWORD)
    assert refusal(second, "nina", "guess number five").retry_after == 1


def test_time_passing_counts_toward_the_wait(services, clock, staffed):
    accounts, waits = throttled(services)
    refusal(accounts, "nina", "guess number one")
    refusal(accounts, "nina", "guess number two")  # waited 1 s
    clock.advance(seconds=1.5)
    refusal(accounts, "nina", "guess number three")
    assert waits == [1, pytest.approx(0.5)]


def test_an_unknown_username_is_answered_exactly_as_a_wrong_password(engine, services, staffed):
    hasher = CountingHasher()
    accounts, waits = throttled(services, hasher)
    known = [refusal(accounts, "nina", "guess number one") for _ in range(3)]
    known_waits, known_work = list(waits), hasher.verified
    waits.clear()
    unknown = [refusal(accounts, "nobody-here", "guess number one") for _ in range(3)]
    # Same message, same delays, same Argon2 work (a dummy hash for the unknown name).
    assert [str(error) for error in unknown] == [str(error) for error in known]
    assert [error.retry_after for error in unknown] == [error.retry_after for error in known]
    assert waits == known_waits
    assert hasher.verified == 2 * known_work
    # Each unknown name has its own count, like an account, and is never stored.
    assert refusal(accounts, "someone-else", "guess").retry_after == 1
    assert "nobody-here" not in audit_text(engine) and "someone-else" not in audit_text(engine)


def test_the_lock_screens_unlock_is_throttled_too(services, staffed):
    accounts, waits = throttled(services)
    accounts.verify_login("nina", NURSE_PASSWORD)
    with pytest.raises(LoginFailedError) as first:
        accounts.unlock("not it at all")
    with pytest.raises(LoginFailedError) as second:
        accounts.unlock("not it either")
    assert (first.value.retry_after, second.value.retry_after, waits) == (1, 2, [1])
    accounts.unlock(NURSE_PASSWORD)
    assert refusal(accounts, "nina", "guess").retry_after == 1


def test_a_command_answers_a_refusal_after_its_delay(services, staffed):
    accounts, waits = throttled(services)
    accounts.pause_after_refusal(refusal(accounts, "nina", "guess number one"))
    accounts.pause_after_refusal(refusal(accounts, "nina", "guess number two"))
    # 1 (answer), 1 (what was left of it on the frozen clock), 2 (answer).
    assert waits == [1, 1, 2]
