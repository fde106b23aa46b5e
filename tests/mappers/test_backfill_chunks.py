"""A backfill's chunks: at most 50 items each, closed before their writes pass whole
batches, a shared task's tag counted once, the items' order kept."""

from __future__ import annotations

import pytest

from mappers.backfill_chunks import Chunk, plan_chunks
from mappers.bindings import DEAL, LEAD, CrmRef


def deals(count: int, start: int = 1) -> list[CrmRef]:
    return [CrmRef(DEAL, n) for n in range(start, start + count)]


def test_no_items_no_chunks() -> None:
    assert plan_chunks({}, status_writes=(), untagged=()) == []


def test_tagged_tasks_fill_chunks_of_fifty_items_one_batch_each() -> None:
    items = deals(120)
    chunks = plan_chunks({item: [item.id] for item in items}, status_writes=set(items),
                         untagged=())
    assert [len(chunk.items) for chunk in chunks] == [50, 50, 20]
    assert [chunk.batches for chunk in chunks] == [1, 1, 1]


def test_three_untagged_tasks_per_deal_make_two_full_batches_per_chunk() -> None:
    items = deals(100)
    tasks_of = {item: [item.id * 10 + n for n in range(3)] for item in items}
    untagged = {task for tasks in tasks_of.values() for task in tasks}
    chunks = plan_chunks(tasks_of, status_writes=set(items), untagged=untagged)
    assert [(len(c.items), c.writes, c.batches) for c in chunks] == [(25, 100, 2)] * 4


def test_a_chunk_closes_before_its_writes_pass_whole_batches() -> None:
    busy = CrmRef(LEAD, 1)
    tasks_of = {busy: list(range(1, 181)), **{item: [1000 + item.id] for item in deals(30)}}
    untagged = set(range(1, 181)) | {1000 + n for n in range(1, 31)}
    chunks = plan_chunks(tasks_of, status_writes=set(tasks_of), untagged=untagged,
                         max_writes=200)
    assert [c.writes for c in chunks] == [181 + 2 * 9, 2 * 21]
    assert all(c.writes <= 200 for c in chunks)


def test_an_item_alone_may_pass_the_limit_rather_than_be_split() -> None:
    huge = CrmRef(DEAL, 1)
    chunks = plan_chunks({huge: list(range(300))}, status_writes={huge},
                         untagged=set(range(300)))
    assert chunks == [Chunk((huge,), tuple(range(300)), 301)]


def test_a_task_of_two_items_is_in_both_chunks_and_tagged_in_the_first() -> None:
    first, second = deals(1)[0], CrmRef(LEAD, 9)
    chunks = plan_chunks({first: [5], second: [5, 6]}, status_writes={first, second},
                         untagged={5, 6}, max_items=1)
    assert chunks == [Chunk((first,), (5,), 2), Chunk((second,), (5, 6), 2)]


@pytest.mark.parametrize("closed", [True, False])
def test_an_item_whose_status_is_not_written_costs_only_its_tags(closed: bool) -> None:
    item = deals(1)[0]
    [chunk] = plan_chunks({item: [1]}, status_writes=set() if closed else {item},
                          untagged={1})
    assert chunk.writes == (1 if closed else 2)
