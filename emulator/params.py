"""Reading REST parameters the forgiving way a portal does."""

from __future__ import annotations

from typing import Any

from emulator.errors import InvalidArgument

PAGE_SIZE = 50


def pick(params: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The first of ``names`` present, compared case-insensitively."""
    lowered = {str(k).lower(): v for k, v in params.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return default


def require(params: dict[str, Any], *names: str) -> Any:
    value = pick(params, *names)
    if value in (None, ""):
        raise InvalidArgument(f"Required parameter {names[0]} is missing")
    return value


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"Parameter {name} must be an integer") from exc


def as_dict(value: Any, name: str) -> dict[str, Any]:
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"Parameter {name} must be an object")
    return value


def start_of(params: dict[str, Any]) -> int:
    return as_int(pick(params, "start", default=0) or 0, "start")


def page(items: list[Any], start: int) -> tuple[list[Any], int | None, int | None]:
    """(page, total, next) for list methods; ``start=-1`` skips counting."""
    if start < 0:
        return items[:PAGE_SIZE], None, None
    chunk = items[start : start + PAGE_SIZE]
    following = start + PAGE_SIZE
    return chunk, len(items), following if following < len(items) else None


def sort_by_order(items: list[Any], order: Any, getters: dict[str, Any]) -> list[Any]:
    """Apply an ``order`` object ({FIELD: ASC|DESC}), last key least significant."""
    ordered = sorted(items, key=lambda i: getters["ID"](i))
    if not isinstance(order, dict):
        return ordered
    for field, direction in reversed(list(order.items())):
        getter = getters.get(str(field).upper())
        if getter is None:
            continue
        ordered.sort(key=lambda i, g=getter: _sortable(g(i)),
                     reverse=str(direction).upper() == "DESC")
    return ordered


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))
