"""Ids from requests: ASCII digits, bounded, positive; everything else is refused."""

from __future__ import annotations

import pytest

from mappers.errors import InvalidIdError, ValidationError
from mappers.ids import MAX_DIGITS, is_id, parse_id


@pytest.mark.parametrize(("given", "expected"), [
    ("1", 1), ("31", 31), ("007", 7), (42, 42), ("9" * MAX_DIGITS, int("9" * MAX_DIGITS)),
])
def test_ascii_digits_are_an_id(given: object, expected: int) -> None:
    assert parse_id(given) == expected
    assert is_id(given)


@pytest.mark.parametrize("given", [
    "", "0", 0, "-1", -1, "+1", " 1", "1 ", "1\n", "1.0", "1e3", "0x10",
    "²", "٣", "\uff11", "9" * (MAX_DIGITS + 1), 10 ** MAX_DIGITS, True, False, None, 1.0,
    ["1"], {"ID": "1"},
])
def test_anything_else_is_refused_with_the_name(given: object) -> None:
    with pytest.raises(InvalidIdError, match=r"^taskId: expected an id"):
        parse_id(given, "taskId")
    assert not is_id(given)


def test_zero_only_when_asked() -> None:
    assert parse_id("0", allow_zero=True) == 0


def test_refusal_is_a_validation_error_and_does_not_echo_long_input() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_id("x" * 5000, "ID")
    assert len(str(caught.value)) < 120
