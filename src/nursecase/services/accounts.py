"""Accounts: passwords (Argon2id), roles, and checking a sign-in.

Two modes, decided by the data, never by a setting someone could flip:

- **Open** (a demo database, or one from before accounts): no account has a
  password. There is no login, so roles cannot mean anything: whoever runs
  nursecase may act as any nurse, and the role checks let everything through.
- **Enforced**: as soon as one account has a password. From then on every role
  check applies to the signed-in account, and account management needs an
  admin.

Bootstrap: while the database is open, the first ``add`` needs nobody signed in
and makes an admin (the default role then; another role is refused, since
nobody could manage accounts afterwards). Setting a password on an existing
account while open is allowed only for an admin for the same reason, and
disabling the last active admin who has a password is refused. An account that
ever had a password keeps the database enforced, even when disabled.

Passwords are hashed with Argon2id (argon2-cffi's current parameters); a hash
made with older parameters is replaced at the next successful sign-in. A
password is never stored, logged, audited or put in an error message; a
refused sign-in is audited as ``login-failed`` naming the account only when the
username exists (a username box sometimes receives a password by mistake).

Throttling (issue 17): every sign-in (the login screen, the lock screen, every
CLI command) first waits out what is left of the delay its account earned by
consecutive refusals (``domain.sign_in_delay``, NIST SP 800-63B 5.2.2). The
count lives in the database, as the ``login-failed`` events since the
account's last ``login``/``unlock``, so separate processes share it. An
unknown username is throttled the same way, per username: its events carry
``attempt:<keyed digest of the name>`` (never the name: it may be a password
typed in the wrong box), so its answer (message, delay, Argon2 work) is the
same as a wrong password's. The wait is a call to the injected ``sleep`` (the
clock's), so tests ask for delays without waiting for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from nursecase.db.models import AuditEvent, Nurse
from nursecase.domain.codes import ROLE_RANKS, AuditAction, Role, parse_code
from nursecase.domain.passwords import check_new_password
from nursecase.domain.sign_in_delay import delay_after_failures, remaining_wait
from nursecase.domain.validation import ValidationError, optional_text, require_text
from nursecase.services import audit
from nursecase.services.context import ServiceContext
from nursecase.services.errors import ServiceError
from nursecase.services.nurses import normalize_username

#: What a refused sign-in says, whichever of the two was wrong.
WRONG_LOGIN = "wrong username or password"


class PermissionDeniedError(ServiceError):
    """The signed-in account's role does not allow the action; the message says which is needed."""


class LoginFailedError(ServiceError):
    """A sign-in was refused (and audited); the message does not say which part was wrong.

    ``retry_after`` is the wait the refusal earned (seconds) before the next try.
    """

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class AccountRead:
    """An account as ``user list`` and the login screen see it (never the hash)."""

    id: int
    username: str
    display_name: str
    credentials: str
    role: str
    active: bool
    has_password: bool
    password_changed_at: datetime | None


def account_read(nurse: Nurse) -> AccountRead:
    """The read model of a nurse row as an account."""
    return AccountRead(
        id=nurse.id,
        username=nurse.username,
        display_name=nurse.display_name,
        credentials=nurse.credentials,
        role=nurse.role,
        active=nurse.active,
        has_password=nurse.password_hash is not None,
        password_changed_at=nurse.password_changed_at,
    )


def accounts_enforced(session: Session) -> bool:
    """True once any account (active or not) has a password: roles and login then apply."""
    query = select(Nurse.id).where(Nurse.password_hash.is_not(None)).limit(1)
    return session.execute(query).scalar() is not None


def role_allows(role: str | None, minimum: Role | str) -> bool:
    """True when ``role`` ranks at least ``minimum`` (an unknown role allows nothing)."""
    return ROLE_RANKS.get(role or "", 0) >= ROLE_RANKS[str(minimum)]


def require_role(
    session: Session, context: ServiceContext, minimum: Role | str, action: str
) -> None:
    """Refuse ``action`` unless the signed-in account is at least ``minimum``.

    Open databases (no passwords anywhere) allow everything: see the module
    docstring. ``action`` starts the message: "<action> needs a supervisor account; ...".
    """
    if not accounts_enforced(session):
        return
    nurse = session.get(Nurse, context.require_nurse())
    if nurse is None or not nurse.active:
        raise PermissionDeniedError(f"{action} needs {_a(minimum)} account; sign in again")
    if not role_allows(nurse.role, minimum):
        raise PermissionDeniedError(
            f"{action} needs {_a(minimum)} account; {nurse.username} is {_a(nurse.role)}"
        )


def _a(role: object) -> str:
    """The role with its article: "a nurse", "an admin"."""
    word = str(role)
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _default_hasher():
    # Imported here: only commands that touch passwords pay for argon2.
    from argon2 import PasswordHasher

    return PasswordHasher()


class AccountService:
    """Adding accounts, passwords, disabling, listing, and verifying a sign-in."""

    def __init__(
        self,
        context: ServiceContext,
        hasher=None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``hasher`` is an ``argon2.PasswordHasher``; argon2-cffi's defaults when None.

        ``sleep`` waits out sign-in delays; the clock's ``sleep`` when None (a
        frozen clock moves forward instead of blocking).
        """
        self.context = context
        self._hasher = hasher
        self._dummy_hash: str | None = None
        if sleep is None:
            import time

            sleep = getattr(context.clock, "sleep", time.sleep)
        self.sleep = sleep

    @property
    def hasher(self):
        """The Argon2id password hasher in use."""
        if self._hasher is None:
            self._hasher = _default_hasher()
        return self._hasher

    # ----------------------------------------------------------------- reading

    def has_passwords(self) -> bool:
        """True when accounts are enforced (some account has a password)."""
        with self.context.read() as session:
            return accounts_enforced(session)

    def list_accounts(self) -> list[AccountRead]:
        """Every account, by username."""
        with self.context.read() as session:
            rows = session.execute(select(Nurse).order_by(Nurse.username)).scalars()
            return [account_read(nurse) for nurse in rows]

    def get(self, username: str) -> AccountRead | None:
        """The account with this username, or None."""
        name = (username or "").strip().lower()
        with self.context.read() as session:
            nurse = _by_username(session, name)
            return account_read(nurse) if nurse is not None else None

    # ----------------------------------------------------------------- writing

    def add(
        self,
        username: str,
        display_name: str,
        password: str,
        role: Role | str | None = None,
        credentials: str = "RN",
    ) -> AccountRead:
        """Add an account with a password (an admin's job; the first one is the bootstrap)."""
        name = normalize_username(username)
        display = require_text(display_name, "display_name", max_length=120)
        credential_text = optional_text(credentials, "credentials", max_length=64) or "RN"
        check_new_password(password, name)
        chosen = None if role is None else parse_code(Role, role, "role")
        # Hash before the transaction: Argon2 is slow on purpose, the write lock is not.
        password_hash = self.hasher.hash(password)
        with self.context.write() as session:
            if accounts_enforced(session):
                require_role(session, self.context, Role.admin, "adding an account")
                chosen = chosen or Role.nurse
            else:
                chosen = chosen or Role.admin
                if chosen is not Role.admin:
                    raise ValidationError(
                        "role",
                        "the first account with a password must be an admin"
                        " (nobody could manage accounts otherwise)",
                    )
            if _by_username(session, name) is not None:
                raise ValidationError(
                    "username", "is already taken; set its password with `user passwd`"
                )
            nurse = Nurse(
                username=name,
                display_name=display,
                credentials=credential_text,
                active=True,
                created_at=self.context.clock.now(),
                role=str(chosen),
                password_hash=password_hash,
                password_changed_at=self.context.clock.now(),
            )
            session.add(nurse)
            session.flush()
            audit.record(
                session,
                self.context,
                AuditAction.create,
                "nurse",
                nurse.id,
                ("username", "display_name", "credentials", "role", "password_hash"),
            )
            return account_read(nurse)

    def change_password(self, username: str, new_password: str) -> AccountRead:
        """Set a new password: one's own, or anyone's for an admin.

        The caller has already checked who is signed in (``verify_login``);
        the current password is not asked again here.
        """
        name = normalize_username(username)
        check_new_password(new_password, name)
        password_hash = self.hasher.hash(new_password)
        with self.context.write() as session:
            nurse = _require_account(session, name)
            if accounts_enforced(session):
                if nurse.id != self.context.require_nurse():
                    require_role(
                        session, self.context, Role.admin, "changing another account's password"
                    )
            elif nurse.role != Role.admin:
                raise ValidationError(
                    "username",
                    "the first password must be an admin's; add an admin with `user add` first",
                )
            nurse.password_hash = password_hash
            nurse.password_changed_at = self.context.clock.now()
            audit.record(
                session, self.context, AuditAction.update, "nurse", nurse.id, ("password_hash",)
            )
            return account_read(nurse)

    def disable(self, username: str) -> AccountRead:
        """Disable an account (an admin's job): it can no longer sign in. Rows stay."""
        name = normalize_username(username)
        with self.context.write() as session:
            require_role(session, self.context, Role.admin, "disabling an account")
            nurse = _require_account(session, name)
            if not nurse.active:
                raise ValidationError("username", f"{name} is already disabled")
            if nurse.id == self.context.nurse_id:
                raise ValidationError("username", "you cannot disable your own account")
            if nurse.role == Role.admin and nurse.password_hash is not None:
                others = session.execute(
                    select(func.count())
                    .select_from(Nurse)
                    .where(
                        Nurse.id != nurse.id,
                        Nurse.role == str(Role.admin),
                        Nurse.active.is_(True),
                        Nurse.password_hash.is_not(None),
                    )
                ).scalar_one()
                if not others:
                    raise ValidationError(
                        "username", f"{name} is the last active admin; add another admin first"
                    )
            nurse.active = False
            audit.record(session, self.context, AuditAction.update, "nurse", nurse.id, ("active",))
            return account_read(nurse)

    # ---------------------------------------------------------------- sign-in

    def lock(self) -> None:
        """Record that the signed-in nurse's screen was locked (idle, or by hand)."""
        nurse_id = self.context.require_nurse()
        with self.context.write() as session:
            audit.record(session, self.context, AuditAction.lock, "nurse", nurse_id)

    def unlock(self, password: str | None) -> None:
        """Unlock the signed-in nurse's screen; with passwords on, it takes theirs.

        A wrong password is audited as ``login-failed`` and raises
        LoginFailedError; a right one (or any, while no account has a
        password) records ``unlock``.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        nurse_id = self.context.require_nurse()
        with self.context.read() as session:
            nurse = session.get(Nurse, nurse_id)
            enforced = accounts_enforced(session)
            stored = None if nurse is None else nurse.password_hash
            failures = _failures(session, nurse_id, None) if enforced else (0, None)
        if enforced:
            self._wait_out(failures)
            try:
                matches = (
                    stored is not None
                    and isinstance(password, str)
                    and self.hasher.verify(stored, password)
                )
            except (VerificationError, InvalidHashError):
                matches = False
            if not matches:
                with self.context.write() as session:
                    audit.record(session, self.context, AuditAction.login_failed, "nurse", nurse_id)
                raise LoginFailedError("wrong password", delay_after_failures(failures[0] + 1))
        with self.context.write() as session:
            audit.record(session, self.context, AuditAction.unlock, "nurse", nurse_id)

    def verify_login(self, username: str, password: str) -> AccountRead:
        """Check a username and password; on success sign that account in.

        Success: the hash is renewed if argon2's parameters changed, the
        account becomes the context's nurse and a ``login`` event is recorded.
        Failure: a ``login-failed`` event (the account's id when the username
        exists; never the password) and LoginFailedError, with the same
        message whichever part was wrong.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        name = (username or "").strip().lower()
        # An unknown name is throttled per name, by a keyed digest (see the module docstring).
        attempt = audit.attempt_marker(self.context.engine, name)
        with self.context.read() as session:
            nurse = _by_username(session, name)
            nurse_id = None if nurse is None else nurse.id
            stored = None if nurse is None else nurse.password_hash
            active = nurse is not None and nurse.active
            failures = _failures(session, nurse_id, None if nurse is not None else attempt)
        self._wait_out(failures)
        matches = False
        try:
            if stored is not None and isinstance(password, str):
                matches = self.hasher.verify(stored, password)
            else:
                # The same work as a real check, so timing does not tell which
                # usernames exist.
                self.hasher.verify(self._dummy(), "not the password")
        except (VerificationError, InvalidHashError):
            matches = False
        if not matches or not active:
            with self.context.write() as session:
                audit.record(
                    session,
                    self.context,
                    AuditAction.login_failed,
                    "nurse",
                    nurse_id,
                    () if nurse_id is not None else (attempt,),
                )
            retry_after = delay_after_failures(failures[0] + 1)
            if matches:
                raise LoginFailedError(f"the account {name} is disabled; ask an admin", retry_after)
            raise LoginFailedError(WRONG_LOGIN, retry_after)
        renewed = self.hasher.hash(password) if self.hasher.check_needs_rehash(stored) else None
        previous = (self.context.nurse_id, self.context.nurse_name)
        try:
            with self.context.write() as session:
                nurse = session.get(Nurse, nurse_id)
                if nurse is None or not nurse.active or nurse.password_hash != stored:
                    # Changed between the check and now: do not sign in on stale facts.
                    raise LoginFailedError(WRONG_LOGIN)
                if renewed is not None:
                    # Same password, stronger parameters: not a password change.
                    nurse.password_hash = renewed
                # The audit event reads the nurse from the context, so set it first.
                self.context.nurse_id = nurse.id
                self.context.nurse_name = nurse.display_name
                audit.record(session, self.context, AuditAction.login, "nurse", nurse.id)
                return account_read(nurse)
        except Exception:
            self.context.nurse_id, self.context.nurse_name = previous
            raise

    def pause_after_refusal(self, error: LoginFailedError) -> None:
        """Wait the delay a refusal earned before answering (commands that exit at once).

        The login screen keeps its own timer instead; a command has none, so
        without this the next process could guess at once.
        """
        if error.retry_after > 0:
            self.sleep(error.retry_after)

    def _wait_out(self, failures: tuple[int, datetime | None]) -> None:
        """Wait what is left of the delay earned by ``failures`` (count, last refusal)."""
        count, last = failures
        if not count or last is None:
            return
        elapsed = (self.context.clock.now() - last).total_seconds()
        wait = remaining_wait(count, elapsed)
        if wait > 0:
            self.sleep(wait)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("nursecase timing equaliser")
        return self._dummy_hash


def _failures(
    session: Session, nurse_id: int | None, attempt: str | None
) -> tuple[int, datetime | None]:
    """Consecutive refusals of an account (or of an unknown name's ``attempt`` marker)
    since its last successful sign-in or unlock, and when the last one was."""
    refused = select(func.count(), func.max(AuditEvent.occurred_at)).where(
        AuditEvent.action == str(AuditAction.login_failed), AuditEvent.entity == "nurse"
    )
    if nurse_id is None:
        if attempt is None:
            return 0, None
        refused = refused.where(
            AuditEvent.entity_id.is_(None), AuditEvent.changed_fields == attempt
        )
    else:
        succeeded = session.execute(
            select(func.max(AuditEvent.id)).where(
                AuditEvent.entity == "nurse",
                AuditEvent.entity_id == nurse_id,
                or_(
                    AuditEvent.action == str(AuditAction.login),
                    AuditEvent.action == str(AuditAction.unlock),
                ),
            )
        ).scalar()
        refused = refused.where(AuditEvent.entity_id == nurse_id)
        if succeeded is not None:
            refused = refused.where(AuditEvent.id > succeeded)
    count, last = session.execute(refused).one()
    return count, last


def _by_username(session: Session, name: str) -> Nurse | None:
    return session.execute(select(Nurse).where(Nurse.username == name)).scalar_one_or_none()


def _require_account(session: Session, name: str) -> Nurse:
    nurse = _by_username(session, name)
    if nurse is None:
        raise ValidationError("username", f"no account with username '{name}'")
    return nurse
