"""The password policy: what a new password must be, in one clear line each.

Pure checks (no hashing here: the account service hashes with Argon2id). A
password is taken exactly as typed, spaces included: a passphrase of several
words is the easiest long password to remember, so length is what the policy
asks for, not a mix of character classes (NIST SP 800-63B). Messages never
repeat the password.
"""

from __future__ import annotations

from nursecase.domain.validation import ValidationError

MIN_LENGTH = 12
#: Long enough for any passphrase; the cap keeps one hash from costing much.
MAX_LENGTH = 256
FIELD = "password"


def check_new_password(password: object, username: str | None = None) -> str:
    """Return ``password`` unchanged if the policy accepts it, else a ValidationError."""
    if not isinstance(password, str) or password == "":
        raise ValidationError(FIELD, "is required")
    if len(password) < MIN_LENGTH:
        raise ValidationError(
            FIELD, f"must be at least {MIN_LENGTH} characters (a few words make a good one)"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationError(FIELD, f"must be at most {MAX_LENGTH} characters")
    if any(character in password for character in "\x00\r\n"):
        raise ValidationError(FIELD, "must not contain line breaks or NUL characters")
    if not password.strip():
        raise ValidationError(FIELD, "must not be only spaces")
    if len(set(password)) < 4:
        raise ValidationError(FIELD, "must use more than a few different characters")
    if username and username.strip().lower() in password.lower():
        raise ValidationError(FIELD, "must not contain the username")
    return password
