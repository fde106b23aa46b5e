"""Reading a whole list in the fewest requests, as a generator.

1. The first page is an ordinary call (`order ID ASC`, `start=0`): it gives the total.
2. The rest goes in batches of 50 page offsets inside an ID window (`>ID` the first
   page's last ID), so rows added or removed before the window cannot shift it.
   10,000 items: 1 call + 4 batches, up to 4 batches in flight at once (each still takes
   a slot from the rate budget).
3. When only one page is left it is one call with `start=-1` (no counting) in the window.
4. It stops at the first short page, or once the first answer's total has been read.

Items come out in ID order, each once; memory holds at most 4 batches (10,000 items),
whatever the list's length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from connector.batching import MAX_COMMANDS

if TYPE_CHECKING:
    from connector.rest_client import PortalClient

PAGE = 50
PARALLEL = 4  # batches in flight: the rate budget still spaces them; memory stays bounded


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
    if first.next is None or len(items) < PAGE or remaining <= 0:
        return
    # The first answer's total bounds the read: rows added after it are not waited for.
    if remaining <= PAGE:
        page = client.call(method, page_params(last, -1), write=False)
        pages: Iterator[list[dict[str, Any]]] = iter([extract(page.result, page_key)])
    else:
        pages = _batched_pages(client, method, lambda start: page_params(last, start),
                               remaining, page_key)
    for chunk in pages:
        for item in chunk:
            key = item_id(item, id_field)
            if last is None or _after(key, last):
                last = key
                yield item
        if len(chunk) < PAGE:
            return


def _batched_pages(
    client: PortalClient, method: str, params_at: Callable[[int], dict[str, Any]],
    remaining: int, page_key: str | None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the window in offset order; up to PARALLEL batches in flight at once."""
    offsets = [n * PAGE for n in range(math.ceil(remaining / PAGE))]
    groups = [offsets[i:i + MAX_COMMANDS] for i in range(0, len(offsets), MAX_COMMANDS)]

    def fetch(group: list[int]) -> list[list[dict[str, Any]]]:
        done = client.batch({f"p{start}": (method, params_at(start)) for start in group})
        if done.errors:
            raise next(iter(done.errors.values()))
        return [extract(done.results.get(f"p{start}"), page_key) for start in group]

    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="list_all") as pool:
        pending = [pool.submit(fetch, group) for group in groups[:PARALLEL]]
        following = PARALLEL
        try:
            while pending:
                pages = pending.pop(0).result()
                if following < len(groups):
                    pending.append(pool.submit(fetch, groups[following]))
                    following += 1
                yield from pages
        finally:
            for future in pending:
                future.cancel()


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
