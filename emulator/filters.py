"""List filters with operator prefixes (``>=ID``, ``!@STATUS``, ``%TITLE``...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emulator.clock import parse_datetime
from emulator.errors import InvalidArgument

# Longest first so ">=" wins over ">".
OPERATORS = ("!><", "><", ">=", "<=", "!=", "!@", "!%", ">", "<", "@", "%", "=", "!")

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


def split_operator(key: str) -> tuple[str, str]:
    for op in OPERATORS:
        if key.startswith(op):
            return op, key[len(op) :]
    return "", key


def parse(raw: Any) -> list[Condition]:
    """A ``filter`` parameter -> conditions on upper-case field names."""
    if raw in (None, "", []):
        return []
    if not isinstance(raw, Mapping):
        raise InvalidArgument("filter must be an object")
    conditions = []
    for key, value in raw.items():
        op, name = split_operator(str(key))
        conditions.append(Condition(name.upper(), op, value))
    return conditions


def matches(
    item: Any,
    conditions: list[Condition],
    getters: Mapping[str, Getter],
    date_fields: frozenset[str] = frozenset(),
) -> bool:
    for condition in conditions:
        getter = getters.get(condition.field)
        if getter is None:
            continue  # a real portal ignores filters it does not know for these methods
        actual = getter(item)
        convert = _to_time if condition.field in date_fields else _to_scalar
        if not _test(actual, condition.op, condition.value, convert):
            return False
    return True


def _to_scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _to_time(value: Any) -> Any:
    return parse_datetime(value)


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _test(actual: Any, op: str, expected: Any, convert: Callable[[Any], Any]) -> bool:
    if op in ("!", "!=", "!@"):
        return not _test(actual, "=", expected, convert)
    if op == "!%":
        return not _test(actual, "%", expected, convert)
    actual_values = [convert(v) for v in _values(actual)]
    if op in ("", "=", "@"):
        wanted = {_key(convert(v)) for v in _values(expected)}
        if not actual_values:
            return _key(None) in wanted or _key("") in wanted or _key(False) in wanted
        return any(_key(v) in wanted for v in actual_values)
    if op == "%":
        needle = str(expected).lower()
        return any(needle in str(v).lower() for v in actual_values)
    if op in ("><", "!><"):
        low, high = (convert(v) for v in _values(expected)[:2])
        inside = any(_ordered(low, v) and _ordered(v, high) for v in actual_values)
        return inside if op == "><" else not inside
    bound = convert(expected)
    return any(_compare(v, op, bound) for v in actual_values)


def _key(value: Any) -> Any:
    if value is None or value is False or value == "":
        return ""
    return str(value)


def _ordered(low: Any, high: Any) -> bool:
    return _compare(low, "<=", high)


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    try:
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
        if op == "<":
            return left < right
        return left <= right
    except TypeError:
        return False


def id_window(conditions: list[Condition], field: str = "ID") -> tuple[int | None, int | None]:
    """The [low, high] bounds that ``>``/``>=``/``<``/``<=`` conditions put on an ID field.

    Lists keyed by ascending IDs use it to skip straight to the window, the way a real
    portal's index does, instead of testing every row (the conditions still apply).
    """
    low: int | None = None
    high: int | None = None
    for condition in conditions:
        if condition.field != field or condition.op not in (">", ">=", "<", "<="):
            continue
        try:
            bound = int(str(condition.value))
        except ValueError:
            continue
        if condition.op in (">", ">="):
            bound += condition.op == ">"
            low = bound if low is None else max(low, bound)
        else:
            bound -= condition.op == "<"
            high = bound if high is None else min(high, bound)
    return low, high
