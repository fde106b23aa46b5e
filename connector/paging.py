"""Reading a whole list in the fewest requests, as a generator.

1. The first page is an ordinary call (`order ID ASC`, `start=0`): it gives the total.
2. The rest goes in batches: each batch anchors an ID window at the last ID seen
   (`>ID`) and packs up to 50 page offsets inside it; the window keeps offsets small and
   unaffected by rows added or removed before it. 10,000 items: 1 call + 4 batches.
3. When only one page is left it is one call with `start=-1` (no counting) in the window.
4. It stops at the first short page, or once the first answer's total has been read.

Items come out in ID order, each once; memory holds at most one batch (2,500 items).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from connector.batching import MAX_COMMANDS

if TYPE_CHECKING:
    from connector.rest_client import PortalClient

PAGE = 50


def iterate(
    client: PortalClient, method: str, params: Mapping[str, Any] | None, *,
    id_field: str = "ID", page_key: str | None = None,
) -> Iterator[dict[str, Any]]:
    base = dict(params or {})
    if {k.lower() for k in base} & {"order", "start"}:
        raise ValueError("list_all() sets order and start itself; leave them out")
    conditions = dict(base.pop("filter", None) or {})
    floor = conditions.pop(f">{id_field}", None)

    def page_params(after: Any, start: int) -> dict[str, Any]:
        window = dict(conditions)
        if after is not None:
            window[f">{id_field}"] = after
        return {**base, "filter": window, "order": {id_field: "ASC"}, "start": start}

    first = client.call(method, page_params(floor, 0), write=False)
    items = extract(first.result, page_key)
    last = floor
    for item in items:
        last = item_id(item, id_field)
        yield item
    remaining = (first.total or 0) - len(items)
    more = first.next is not None and len(items) == PAGE
    # The first answer's total bounds the read: rows added after it are not waited for.
    while more and remaining > 0:
        if remaining <= PAGE:
            page = client.call(method, page_params(last, -1), write=False)
            pages = [extract(page.result, page_key)]
            remaining -= len(pages[0])
        else:
            pages, remaining = _batch_pages(client, method, page_params, last, remaining,
                                            page_key)
        for chunk in pages:
            for item in chunk:
                key = item_id(item, id_field)
                if last is None or _after(key, last):
                    last = key
                    yield item
            more = len(chunk) == PAGE
            if not more:
                break


def _batch_pages(
    client: PortalClient, method: str, page_params: Any, last: Any, remaining: int,
    page_key: str | None,
) -> tuple[list[list[dict[str, Any]]], int]:
    count = min(MAX_COMMANDS, max(1, math.ceil(remaining / PAGE)))
    commands = {f"p{i}": (method, page_params(last, i * PAGE)) for i in range(count)}
    done = client.batch(commands)
    if done.errors:
        raise next(iter(done.errors.values()))
    pages = [extract(done.results.get(f"p{i}"), page_key) for i in range(count)]
    in_window = done.totals.get("p0", remaining)
    return pages, in_window - sum(len(p) for p in pages)


def extract(result: Any, page_key: str | None) -> list[dict[str, Any]]:
    """The items of one page: the result itself, or the list under `page_key` (tasks)."""
    if page_key is not None:
        result = result.get(page_key, []) if isinstance(result, Mapping) else []
    elif isinstance(result, Mapping):
        lists = [v for v in result.values() if isinstance(v, list)]
        result = lists[0] if len(lists) == 1 else list(result.values())
    return list(result or [])


def item_id(item: Mapping[str, Any], id_field: str) -> Any:
    """An item's ID whether the method answers `ID` or camelCase `id`."""
    for key in (id_field, id_field.lower(), id_field[:1].lower() + id_field[1:]):
        if key in item:
            return item[key]
    raise KeyError(f"list item without {id_field}")


def _after(candidate: Any, last: Any) -> bool:
    try:
        return int(candidate) > int(last)
    except (TypeError, ValueError):
        return str(candidate) > str(last)
