"""Reading a whole list in the fewest requests, as a generator.

The Bitrix24 docs' way to read large lists (settings/performance/huge-data.md): order by
ID, filter `>ID` the last ID seen, `start=-1` so the portal does not count. Here:

1. The first page is an ordinary call (`order ID ASC`, `start=0`): the one count of the
   read, which sizes everything after it exactly.
2. The rest goes in batches of up to 50 chained pages: page k filters `>ID` on the last
   ID of page k-1 through a `$result[...]` reference, every page with `start=-1`. Since
   the count sizes each chain, every reference points at a full page; 10,000 items are
   1 call + 4 batches, 2,550 items 1 call + 1 batch.
3. When only one page is left it is one call with `start=-1`, not a one-command batch.
4. It stops at the first short page (rows deleted while reading end a chain early; a
   chain's pages after a short one are not read), or once the count has been read: rows
   added after the first answer are not waited for.

While the caller consumes one batch's items, the next batch is already on its way (its
filter needs only the last ID, known as soon as a batch arrives). Items come out in ID
order, each once; memory holds at most two batches (5,000 items), whatever the length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from connector.rest.batch import MAX_COMMANDS


class PageSource(Protocol):
    """What paging needs of a client: `PortalClient` is one."""

    def call(self, method: str, params: Mapping[str, Any] | None = None, *,
             write: bool | None = None, idempotent: bool | None = None) -> Any: ...

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *,
              halt: bool = False) -> Any: ...


PAGE = 50


@dataclass(frozen=True)
class _Shape:
    """Where a method's answer keeps its items, for `$result[...]` references."""

    wrapper: str | None  # `tasks` for tasks.task.list; None when the result is the list
    id_key: str  # the ID's spelling in the answer: `ID` or camelCase `id`


def iterate(
    client: PageSource, method: str, params: Mapping[str, Any] | None, *,
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
    if remaining <= PAGE:
        page = client.call(method, page_params(last, -1), write=False)
        yield from _newer(extract(page.result, page_key), last, id_field)
        return
    shape = _Shape(_wrapper(first.result, page_key), _id_key(items[-1], id_field))
    chains = _Chains(client, method, page_params, shape, id_field, page_key)
    yield from chains.read(last, remaining)


class _Chains:
    """Batches of chained pages, one in flight while the caller reads the one before."""

    def __init__(self, client: PageSource, method: str, page_params: Any, shape: _Shape,
                 id_field: str, page_key: str | None) -> None:
        self._client, self._method, self._page_params = client, method, page_params
        self._shape, self._id_field, self._page_key = shape, id_field, page_key

    def read(self, last: Any, remaining: int) -> Iterator[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="list_all") as pool:
            pending: Future | None = pool.submit(self._fetch, last, remaining)
            try:
                while pending is not None:
                    pages = pending.result()
                    remaining -= sum(len(page) for page in pages)
                    ended = any(len(page) < PAGE for page in pages)
                    chunk_last = _last_id(pages, self._id_field)
                    pending = None
                    if not ended and remaining > 0 and chunk_last is not None:
                        pending = pool.submit(self._fetch, chunk_last, remaining)
                    for page in pages:
                        for item in _newer(page, last, self._id_field):
                            last = item_id(item, self._id_field)
                            yield item
            finally:
                if pending is not None:
                    pending.cancel()

    def _fetch(self, after: Any, remaining: int) -> list[list[dict[str, Any]]]:
        """One batch: the chain's pages up to and including the first short one."""
        count = min(MAX_COMMANDS, math.ceil(remaining / PAGE))
        keys = [f"p{n}" for n in range(count)]
        commands = {keys[0]: (self._method, self._page_params(after, -1))}
        for previous, key in pairwise(keys):
            commands[key] = (self._method, self._page_params(self._reference(previous), -1))
        done = self._client.batch(commands)
        pages: list[list[dict[str, Any]]] = []
        for key in keys:
            if key in done.errors:
                raise done.errors[key]
            page = extract(done.results.get(key), self._page_key)
            pages.append(page)
            if len(page) < PAGE:
                break  # later pages refer to an item that does not exist
        return pages

    def _reference(self, key: str) -> str:
        wrapper = f"[{self._shape.wrapper}]" if self._shape.wrapper else ""
        return f"$result[{key}]{wrapper}[{PAGE - 1}][{self._shape.id_key}]"


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
    return item[_id_key(item, id_field)]


def _id_key(item: Mapping[str, Any], id_field: str) -> str:
    for key in (id_field, id_field.lower(), id_field[:1].lower() + id_field[1:]):
        if key in item:
            return key
    raise KeyError(f"list item without {id_field}")


def _wrapper(result: Any, page_key: str | None) -> str | None:
    """The key a page's items sit under (`tasks`), as `extract` finds them."""
    if page_key is not None or not isinstance(result, Mapping):
        return page_key
    lists = [key for key, value in result.items() if isinstance(value, list)]
    return lists[0] if len(lists) == 1 else None


def _last_id(pages: list[list[dict[str, Any]]], id_field: str) -> Any:
    for page in reversed(pages):
        if page:
            return item_id(page[-1], id_field)
    return None


def _newer(page: list[dict[str, Any]], last: Any, id_field: str) -> Iterator[dict[str, Any]]:
    """Items past `last`: a page never repeats what an earlier one gave."""
    for item in page:
        if last is None or _after(item_id(item, id_field), last):
            last = item_id(item, id_field)
            yield item


def _after(candidate: Any, last: Any) -> bool:
    try:
        return int(candidate) > int(last)
    except (TypeError, ValueError):
        return str(candidate) > str(last)
