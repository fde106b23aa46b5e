"""Request arguments ⇄ `LogFilter`: the list, export and replay forms share these names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from connector.sync_log import FilterError, LogFilter, parse_item

FIELDS = ("portal", "item", "task", "event", "outcome", "since", "until", "q")


def read_filter(args: Mapping[str, str], *, portal_id: int | None) -> LogFilter:
    """Parse form/query values; a portal admin's `portal_id` overrides any `portal` asked."""
    values = {name: (args.get(name) or "").strip() for name in FIELDS}
    return LogFilter(
        portal_id=portal_id if portal_id is not None else read_int("portal", values["portal"]),
        item=parse_item(values["item"]) if values["item"] else None,
        task=read_int("task", values["task"]),
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


def read_int(name: str, value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise FilterError(f"{name}: {value[:40]!r} is not a number")
    return int(value)


def _time(name: str, value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"{name}: {value[:40]!r} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _show(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""
