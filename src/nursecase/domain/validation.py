"""Input validation shared by every layer: clear, field-named errors for bad input.

Every helper either returns a clean value or raises :class:`ValidationError` naming
the field, so forms, CLI options and importers can all show the same message.
The helpers never echo the rejected value back: it may be PHI.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import TypeVar

DEFAULT_MAX_TEXT_LENGTH = 200
#: An MRN as its source writes it: a Synthea UUID with its hyphens is 36 characters.
MRN_MAX_LENGTH = 64
PHONE_MIN_DIGITS = 7
PHONE_MAX_DIGITS = 15  # E.164 allows at most 15 digits.
MINUTES_LOW = 1
MINUTES_HIGH = 480  # One contact longer than a full working day is a typing slip.

# A date or a datetime, returned as given (Python 3.11 has no PEP 695 syntax).
Moment = TypeVar("Moment", date, datetime)

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MRN = re.compile(r"[A-Z0-9-]+")
_MRN_AS_WRITTEN = re.compile(r"[A-Za-z0-9-]+")
# What an MRN key keeps: ASCII letters and digits (an MRN holds no other letter).
_MRN_KEY_DROPS = re.compile(r"[^A-Z0-9]")
# Separators people type inside phone numbers; anything else is probably a typo.
_PHONE_SEPARATORS = frozenset(" +-().")


#: Fields whose words are not simply their name with spaces ("next_contact_due"
#: reads "Next contact due" without an entry here).
FIELD_WORDS: dict[str, str] = {
    "mrn": "MRN",
    "nurse_id": "Nurse",
    "goal_id": "Goal",
    "assessment_id": "Assessment",
    "omaha_code": "Omaha problem",
    "with_whom": "Contact with",
    "lace_total": "LACE total",
    "ccm_start": "CCM start",
    "ccm_programme": "CCM programme",
    "risk_tier": "Risk tier",
    "sex": "Sex",
    "dose": "Dose",
    "acute_admission": "Acute admission",
    "length_of_stay_days": "Length of stay",
    "charlson_index": "Charlson index",
    "cadence_days": "Contact cadence",
    "rated_on": "Rating date",
    "occurred_at": "Contact time",
    "due_date": "Due date",
    "until": "End date",
    "nurse_username": "Nurse",
    "expected_reply_date": "Expected reply date",
    "out": "Output file",
    "reply-days": "--reply-days",
}

# A message that starts with one of these words says something about its field
# ("is required"), so the field's words go first; any other message is a whole
# sentence of its own ("no account with username 'x'").
_NUMBERED = re.compile(r"([a-z])([0-9]+)$")
_PREDICATE_WORDS = frozenset(
    {"is", "are", "must", "may", "cannot", "can", "was", "has", "needs", "applies", "should"}
)


def field_words(field: str) -> str:
    """What a person calls a field: "birth_date" -> "Birth date", "mrn" -> "MRN"."""
    if field in FIELD_WORDS:
        return FIELD_WORDS[field]
    words = field.replace("_", " ").replace("-", " ").strip()
    words = _NUMBERED.sub(r"\1 \2", words)  # "item9" -> "item 9"
    return words[:1].upper() + words[1:]


def error_sentence(field: str, message: str, subject: str | None = None) -> str:
    """One readable sentence (without its full stop) for a refused field.

    ``subject`` replaces the field's words (a CLI names its option, "--name").
    "birth_date", "is not a real calendar date" -> "Birth date is not a real
    calendar date"; a message that is a sentence of its own is only capitalised.
    """
    first_word = message.split(" ", 1)[0]
    if first_word in _PREDICATE_WORDS:
        return f"{subject or field_words(field)} {message}"
    return message[:1].upper() + message[1:]


class ValidationError(ValueError):
    """Bad input for one named field; ``str()`` is a sentence naming it in words.

    ``field`` stays the machine name (forms find the widget by it) and
    ``message`` the bare predicate ("is required"); ``str()`` reads "Birth date
    is required" (see :func:`error_sentence`).
    """

    def __init__(self, field: str, message: str) -> None:
        """Keep the field and message apart so forms can highlight the field."""
        super().__init__(error_sentence(field, message))
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[ValidationError], tuple[str, str]]:
        """Pickle with both arguments (the default would pass only the joined text)."""
        return (self.__class__, (self.field, self.message))


def require_text(value: object, field: str, max_length: int = DEFAULT_MAX_TEXT_LENGTH) -> str:
    """Return ``value`` stripped; raise if it is missing, blank, not text or too long."""
    if value is None:
        raise ValidationError(field, "is required")
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    stripped = value.strip()
    if not stripped:
        raise ValidationError(field, "is required")
    if len(stripped) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    if "\x00" in stripped:
        # NUL bytes truncate strings in some drivers and terminals.
        raise ValidationError(field, "must not contain NUL characters")
    return stripped


def optional_text(
    value: object, field: str, max_length: int = DEFAULT_MAX_TEXT_LENGTH
) -> str | None:
    """Return ``value`` stripped, or None when it is missing or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return require_text(value, field, max_length=max_length)


def require_int_range(value: object, field: str, low: int, high: int) -> int:
    """Return ``value`` as an int within ``low..high`` (inclusive).

    Accepts an int, a float with no fractional part, or a string of digits with an
    optional sign; booleans are refused because ``True`` is an int in Python.
    """
    message = f"must be a whole number from {low} to {high}"
    number: int
    if isinstance(value, bool):
        raise ValidationError(field, message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValidationError(field, message)
        number = int(value)
    elif isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise ValidationError(field, "is required")
        if not _WHOLE_NUMBER.fullmatch(stripped):
            raise ValidationError(field, message)
        number = int(stripped)
    elif value is None:
        raise ValidationError(field, "is required")
    else:
        raise ValidationError(field, message)
    if not low <= number <= high:
        raise ValidationError(field, message)
    return number


def minutes(value: object) -> int:
    """Return the minutes spent on a contact (1-480)."""
    return require_int_range(value, "minutes", MINUTES_LOW, MINUTES_HIGH)


def parse_date(value: object, field: str) -> date:
    """Return a date from a ``date`` or an ISO "YYYY-MM-DD" string.

    A ``datetime`` is reduced to its date. Only the strict ISO form is accepted
    because "03/04/2024" means different days in different countries.
    """
    if value is None:
        raise ValidationError(field, "is required")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise ValidationError(field, "is required")
        if _ISO_DATE.fullmatch(stripped):
            try:
                return date.fromisoformat(stripped)
            except ValueError:
                raise ValidationError(field, "is not a real calendar date") from None
    raise ValidationError(field, "must be a date as YYYY-MM-DD")


def optional_date(value: object, field: str) -> date | None:
    """Return a date like :func:`parse_date`, or None when missing or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, field)


_ISO_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})")


def parse_moment(value: object, field: str) -> datetime:
    """Return a datetime from a ``datetime`` or "YYYY-MM-DD HH:MM" (a bare date is midnight)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        match = _ISO_MOMENT.fullmatch(stripped)
        if match:
            day = parse_date(match.group(1), field)
            hour, minute = int(match.group(2)), int(match.group(3))
            if hour > 23 or minute > 59:
                raise ValidationError(field, "has no such time of day")
            return datetime(day.year, day.month, day.day, hour, minute)
        if _ISO_DATE.fullmatch(stripped):
            day = parse_date(stripped, field)
            return datetime(day.year, day.month, day.day)
        if not stripped:
            raise ValidationError(field, "is required")
    if value is None:
        raise ValidationError(field, "is required")
    raise ValidationError(field, "must be a date and time as YYYY-MM-DD HH:MM")


def not_in_future(moment: Moment, field: str, now: date | datetime) -> Moment:
    """Return ``moment`` unchanged; raise if it lies after ``now``.

    A date is compared with the date of ``now``; a datetime with ``now`` itself
    (both naive or both aware, as the clock supplies them).
    """
    if isinstance(moment, datetime) and isinstance(now, datetime):
        later = moment > now
    else:
        moment_day = moment.date() if isinstance(moment, datetime) else moment
        now_day = now.date() if isinstance(now, datetime) else now
        later = moment_day > now_day
    if later:
        raise ValidationError(field, "must not be in the future")
    return moment


def normalize_mrn(value: object) -> str:
    """Return a medical record number stripped and upper-cased.

    Required; 1-64 characters of letters, digits and hyphens, so it is safe as a
    key, in file names and in exports. This is how an MRN typed by a nurse is
    kept; an imported one is kept as written (``mrn_as_written``).
    """
    text = require_text(value, "mrn", max_length=MRN_MAX_LENGTH).upper()
    if not _MRN.fullmatch(text):
        raise ValidationError("mrn", "may contain only letters, digits and hyphens")
    return text


def mrn_as_written(value: object) -> str:
    """Return an imported MRN exactly as its source wrote it (only surrounding blanks go).

    The same characters as ``normalize_mrn`` allows (letters of either case,
    digits, hyphens; 1-64), but nothing is upper-cased or dropped: the
    patient's own identifier ("ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423") is shown
    and exported as the hospital wrote it.
    """
    text = require_text(value, "mrn", max_length=MRN_MAX_LENGTH)
    if not _MRN_AS_WRITTEN.fullmatch(text):
        raise ValidationError("mrn", "may contain only letters, digits and hyphens")
    return text


def mrn_key(text: object) -> str:
    """Return an MRN's key: its letters upper-cased and its digits, punctuation dropped.

    "ad2e3fc5-2b5d", "AD2E3FC5 2B5D" and "ad2e3fc52b5d" share the key
    "AD2E3FC52B5D". The key is the MRN's identity (the patient service refuses
    a second patient with the key of another's MRN) and what search matches a
    prefix of, so an MRN is found with or without its punctuation or capitals.
    Never raises; None gives "".
    """
    if not isinstance(text, str):
        return ""
    return _MRN_KEY_DROPS.sub("", text.upper())


def normalize_phone(value: object) -> str | None:
    """Return the digits of a phone number, or None when it is missing or blank.

    Spaces and ``+ - ( ) .`` are dropped; any other character, or fewer than 7 or
    more than 15 digits, is an error.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("phone", "must be text")
    stripped = value.strip()
    if not stripped:
        return None
    digits: list[str] = []
    for character in stripped:
        # Only ASCII digits: str.isdigit() also accepts superscripts and other scripts.
        if "0" <= character <= "9":
            digits.append(character)
        elif character not in _PHONE_SEPARATORS:
            raise ValidationError("phone", "may contain only digits, spaces and + - ( ) .")
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        raise ValidationError("phone", f"must have {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits")
    return "".join(digits)


def search_key(text: object) -> str:
    """Return the normalised form of a name used for indexed prefix search.

    Case-folded, accents removed, and everything but letters and digits dropped, so
    "O'Brien-Zoë" and "obrienzoe" find each other. Never raises; None gives "".
    """
    if not isinstance(text, str):
        return ""
    # Decompose, drop combining marks, then fold; repeat the pass once more because
    # case folding can produce characters that decompose again (e.g. some ligatures).
    key = text
    for _ in range(2):
        decomposed = unicodedata.normalize("NFKD", key.casefold())
        key = "".join(
            character
            for character in decomposed
            if character.isalnum() and not unicodedata.combining(character)
        )
    return key


def performed_moment(value: datetime | date | str | None, field: str, now: datetime) -> datetime:
    """When something was done: a local date and time, not in the future.

    None is now; a bare date is that day (now, when it is today); text is
    read as YYYY-MM-DD HH:MM. A time zone is refused (wall-clock times are
    stored), and seconds' fractions are dropped.
    """
    if value is None:
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, "must be a date and time as YYYY-MM-DD HH:MM") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValidationError(field, "must be a local time without a time zone")
        moment = value.replace(microsecond=0)
    elif isinstance(value, date):
        moment = now if value == now.date() else datetime.combine(value, datetime.min.time())
    else:
        raise ValidationError(field, "must be a date and time")
    return not_in_future(moment, field, now)
