"""Ids that arrive in requests, read once and strictly.

A portal id is a positive integer of ASCII digits. `str.isdigit` also accepts `"²"` and
`"٣"`, and `int("9" * 25)` overflows every column it meets, so neither is used on input:
`parse_id` accepts at most 18 ASCII digits (below 2**63, a BIGINT) and nothing else.
"""

from __future__ import annotations

import re

from mappers.errors import InvalidIdError

MAX_DIGITS = 18
_ID = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)


def parse_id(value: object, name: str = "id", *, allow_zero: bool = False) -> int:
    """The positive integer `value` spells (a str, or an int that is not a bool)."""
    if isinstance(value, bool):
        raise InvalidIdError(name, value)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidIdError(name, value)
    if not _ID.fullmatch(text):
        raise InvalidIdError(name, value)
    number = int(text)
    if number == 0 and not allow_zero:
        raise InvalidIdError(name, value)
    return number


def is_id(value: object) -> bool:
    """True when `parse_id` would accept `value`."""
    try:
        parse_id(value)
    except InvalidIdError:
        return False
    return True
