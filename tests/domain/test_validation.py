"""Validators return clean values or raise ValidationError naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nursecase.domain.validation import (
    ValidationError,
    minutes,
    mrn_as_written,
    mrn_key,
    normalize_mrn,
    normalize_phone,
    not_in_future,
    optional_date,
    optional_text,
    parse_date,
    require_int_range,
    require_text,
    search_key,
)


def test_validation_error_shape():
    error = ValidationError("mrn", "is required")
    assert isinstance(error, ValueError)
    assert error.field == "mrn"
    assert error.message == "is required"
    assert str(error) == "MRN is required"


def test_require_text_strips():
    assert require_text("  Ada  ", "given_name") == "Ada"


@pytest.mark.parametrize("value", [None, "", "   \t\n"])
def test_require_text_missing(value):
    with pytest.raises(ValidationError) as caught:
        require_text(value, "given_name")
    assert str(caught.value) == "Given name is required"


def test_require_text_length_and_type():
    assert require_text("x" * 10, "note", max_length=10) == "x" * 10
    with pytest.raises(ValidationError, match="Note must be at most 10 characters"):
        require_text("x" * 11, "note", max_length=10)
    with pytest.raises(ValidationError, match="Note must be text"):
        require_text(12, "note")
    with pytest.raises(ValidationError, match="NUL"):
        require_text("a\x00b", "note")


def test_optional_text():
    assert optional_text(None, "note") is None
    assert optional_text("   ", "note") is None
    assert optional_text(" hi ", "note") == "hi"
    with pytest.raises(ValidationError, match="Note must be at most 3 characters"):
        optional_text("four", "note", max_length=3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), (480, 480), ("25", 25), (" 30 ", 30), ("+5", 5), (45.0, 45)],
)
def test_minutes_accepts(value, expected):
    assert minutes(value) == expected


@pytest.mark.parametrize("value", [0, 481, -1, "0", "481", "2.5", 2.5, "ten", True, [], "1e2"])
def test_minutes_rejects_with_clear_message(value):
    with pytest.raises(ValidationError) as caught:
        minutes(value)
    assert str(caught.value) == "Minutes must be a whole number from 1 to 480"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_require_int_range_missing(value):
    with pytest.raises(ValidationError, match="Charlson index is required"):
        require_int_range(value, "charlson_index", 0, 99)


def test_parse_date():
    assert parse_date(date(2024, 3, 4), "birth_date") == date(2024, 3, 4)
    assert parse_date(" 2024-03-04 ", "birth_date") == date(2024, 3, 4)
    assert parse_date(datetime(2024, 3, 4, 10, 30), "birth_date") == date(2024, 3, 4)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("03/04/2024", "Birth date must be a date as YYYY-MM-DD"),
        ("20240304", "Birth date must be a date as YYYY-MM-DD"),
        ("2024-02-30", "Birth date is not a real calendar date"),
        (None, "Birth date is required"),
        ("", "Birth date is required"),
        (20240304, "Birth date must be a date as YYYY-MM-DD"),
    ],
)
def test_parse_date_rejects(value, message):
    with pytest.raises(ValidationError) as caught:
        parse_date(value, "birth_date")
    assert str(caught.value) == message


def test_optional_date():
    assert optional_date(None, "due") is None
    assert optional_date("", "due") is None
    assert optional_date("2024-12-31", "due") == date(2024, 12, 31)


def test_not_in_future_dates_and_datetimes():
    now = datetime(2024, 3, 4, 12, 0)
    assert not_in_future(date(2024, 3, 4), "contact_date", now) == date(2024, 3, 4)
    assert not_in_future(datetime(2024, 3, 4, 11, 59), "occurred_at", now)
    with pytest.raises(ValidationError, match="Contact time must not be in the future"):
        not_in_future(datetime(2024, 3, 4, 12, 1), "occurred_at", now)
    with pytest.raises(ValidationError, match="Contact date must not be in the future"):
        not_in_future(date(2024, 3, 5), "contact_date", now)
    assert not_in_future(date(2024, 3, 4), "contact_date", date(2024, 3, 4))
    aware_now = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        not_in_future(datetime(2024, 3, 5, tzinfo=UTC), "occurred_at", aware_now)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" ab-123 ", "AB-123"), ("x", "X"), ("A" * 32, "A" * 32), ("0007", "0007")],
)
def test_normalize_mrn(value, expected):
    assert normalize_mrn(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "MRN is required"),
        (None, "MRN is required"),
        ("A" * 65, "MRN must be at most 64 characters"),
        ("AB 12", "MRN may contain only letters, digits and hyphens"),
        ("Ab_12", "MRN may contain only letters, digits and hyphens"),
        ("ÄB12", "MRN may contain only letters, digits and hyphens"),
    ],
)
def test_normalize_mrn_rejects(value, message):
    with pytest.raises(ValidationError) as caught:
        normalize_mrn(value)
    assert str(caught.value) == message
    # An imported MRN is checked alike, only never upper-cased.
    with pytest.raises(ValidationError) as caught:
        mrn_as_written(value)
    assert str(caught.value) == message


def test_an_imported_mrn_is_kept_as_written_and_keyed_without_punctuation():
    synthea = "ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423"
    assert mrn_as_written(f" {synthea} ") == synthea
    assert mrn_key(synthea) == "AD2E3FC52B5D4CB98D039EA0F4AC8423"
    # Typed any way, the beginning of the MRN gives the same key prefix.
    for typed in ("ad2e3fc5-2b5d", "AD2E3FC52B5D", "ad2e3fc5 2b5d", "ad2e.3fc5/2b5d"):
        assert mrn_key(typed) == "AD2E3FC52B5D"
    assert mrn_key("-- ") == ""
    assert mrn_key(None) == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("(555) 123-4567", "5551234567"),
        ("+1 555.123.4567", "15551234567"),
        ("123-4567", "1234567"),
        ("123456789012345", "123456789012345"),
        (None, None),
        ("   ", None),
    ],
)
def test_normalize_phone(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("123456", "Phone must have 7 to 15 digits"),
        ("1234567890123456", "Phone must have 7 to 15 digits"),
        ("555-CALL-NOW", "Phone may contain only digits, spaces and + - ( ) ."),
        ("555 123 4567 x2", "Phone may contain only digits, spaces and + - ( ) ."),
        ("٥٥٥١٢٣٤٥٦٧", "Phone may contain only digits, spaces and + - ( ) ."),
        (5551234567, "Phone must be text"),
    ],
)
def test_normalize_phone_rejects(value, message):
    with pytest.raises(ValidationError) as caught:
        normalize_phone(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("O'Brien-Zoë", "obrienzoe"),
        ("  José  María ", "josemaria"),
        ("STRAßE", "strasse"),
        ("Nguyễn", "nguyen"),
        ("", ""),
        (None, ""),
        ("--", ""),
        ("MRN-0042", "mrn0042"),
    ],
)
def test_search_key(text, key):
    assert search_key(text) == key


# ------------------------------------------------------------- property tests


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans()))
def test_normalize_phone_never_crashes(value):
    try:
        result = normalize_phone(value)
    except ValidationError as error:
        assert error.field == "phone"
        return
    if result is not None:
        assert result.isascii() and result.isdigit()
        assert 7 <= len(result) <= 15


@given(st.text(alphabet="0123456789 +-().", max_size=40))
def test_normalize_phone_keeps_exactly_the_digits(value):
    digits = "".join(character for character in value if character.isdigit())
    try:
        result = normalize_phone(value)
    except ValidationError:
        assert not 7 <= len(digits) <= 15
        return
    assert result == (digits or None)


@given(
    st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans()),
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=0, max_value=1000),
)
def test_require_int_range_never_crashes(value, low, span):
    high = low + span
    try:
        result = require_int_range(value, "count", low, high)
    except ValidationError as error:
        assert error.field == "count"
        return
    assert isinstance(result, int) and not isinstance(result, bool)
    assert low <= result <= high


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_require_int_range_round_trips_numeric_strings(number):
    inside = 1 <= number <= 480
    for value in (number, str(number), f"  {number} "):
        if inside:
            assert require_int_range(value, "minutes", 1, 480) == number
        else:
            with pytest.raises(ValidationError):
                require_int_range(value, "minutes", 1, 480)


@given(st.one_of(st.none(), st.text(), st.integers()))
def test_search_key_never_crashes_and_is_normalised(text):
    key = search_key(text)
    assert isinstance(key, str)
    assert all(character.isalnum() for character in key)
    assert key == key.casefold()
    assert search_key(key) == key


@given(st.text())
def test_normalize_mrn_never_crashes(value):
    try:
        result = normalize_mrn(value)
    except ValidationError as error:
        assert error.field == "mrn"
        return
    assert 1 <= len(result) <= 32
    assert result == result.upper().strip()


class TestParseMoment:
    def test_date_and_time(self):
        from datetime import datetime

        from nursecase.domain.validation import parse_moment

        assert parse_moment("2026-11-27 14:05", "when") == datetime(2026, 11, 27, 14, 5)
        assert parse_moment("2026-11-27T09:30", "when") == datetime(2026, 11, 27, 9, 30)
        assert parse_moment("2026-11-27", "when") == datetime(2026, 11, 27)

    @pytest.mark.parametrize(
        "value", ["", "27/11/2026 10:00", "2026-11-27 25:00", "2026-02-30 10:00", None, 5]
    )
    def test_bad_values_name_the_field(self, value):
        from nursecase.domain.validation import ValidationError, parse_moment

        with pytest.raises(ValidationError) as error:
            parse_moment(value, "when")
        assert error.value.field == "when"
