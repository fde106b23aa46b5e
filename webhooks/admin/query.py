"""Request arguments ⇄ `LogFilter`: the list, export and replay forms share these names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from connector.storage.sync_log import FilterError, LogFilter, parse_item
from mappers.errors import InvalidIdError
from mappers.ids import parse_id

FIELDS = ("portal", "item", "task", "event", "outcome", "since", "until", "q")


def read_filter(args: Mapping[str, str], *, portal_id: int | None) -> LogFilter:
    """Parse form/query values; a portal admin's `portal_id` overrides any `portal` asked."""
    values = {name: (args.get(name) or "").strip() for name in FIELDS}
    return LogFilter(
        portal_id=portal_id if portal_id is not None else read_id("portal", values["portal"]),
        item=read_item(values["item"]),
        task=read_id("task", values["task"]),
        event=values["event"].upper() or None,
        state=values["outcome"].lower() or None,
        since=_time("since", values["since"]),
        until=_time("until", values["until"]),
        text=values["q"] or None,
    )


def as_args(where: LogFilter) -> dict[str, str]:
    """The filter back as form values (for links and hidden fields)."""
    args = {
        "portal": str(where.portal_id) if where.portal_id is not None else "",
        "item": where.item or "",
        "task": str(where.task) if where.task is not None else "",
        "event": where.event or "",
        "outcome": where.state or "",
        "since": _show(where.since),
        "until": _show(where.until),
        "q": where.text or "",
    }
    return {k: v for k, v in args.items() if v}


def link(where: LogFilter, **extra: object) -> str:
    args = as_args(where)
    args.update({k: str(v) for k, v in extra.items() if v is not None})
    return urlencode(args)


def read_id(name: str, value: str) -> int | None:
    """An id filter: 1 to 18 ASCII digits (`mappers.ids`), or `FilterError` (a 400)."""
    if not value:
        return None
    try:
        return parse_id(value, name)
    except InvalidIdError as exc:
        raise FilterError(f"{name}: {value[:40]!r} is not an id (1 to 18 digits)") from exc


def read_item(value: str) -> str | None:
    """A CRM item (`D_12`, `deal:12`) whose number is an id `parse_id` accepts."""
    if not value:
        return None
    if not value.isascii():  # `str.isdigit` in parse_item takes "²", which int() refuses
        raise FilterError(f"item: {value[:40]!r} is not a CRM item such as D_12, deal:12 "
                          "or L_5")
    key = parse_item(value)
    read_id("item", key.partition(":")[2])
    return key


def _time(name: str, value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FilterError(f"{name}: {value[:40]!r} is not a date and time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _show(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""
