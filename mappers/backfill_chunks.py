"""Splitting a backfill into chunks of items, each handled by one journal row.

Each chunk holds at most ``max_items`` deals and leads and the open tasks bound to them.
Its writes (a status per item, a ``CRM`` tag per task that lacks it) go to the portal 50
to a batch request, so a chunk is closed before its writes would pass ``max_writes``
(a whole number of batches): chunks of full batches keep the requests near the floor
(every write once, 50 to a request). Two batches by default: a live event that arrives
while a chunk is written waits for at most two requests (a second at 2 requests/s).

A task bound to items of two chunks is listed in both, since each item's status needs all
its tasks, but its tag is counted (and written) in the first only. Items come in the order
given; the result is a pure function of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from mappers.bindings import CrmRef

BATCH = 50


@dataclass(frozen=True, slots=True)
class Chunk:
    """Items handled together, their tasks, and the writes they are expected to need."""

    items: tuple[CrmRef, ...]
    tasks: tuple[int, ...]
    writes: int

    @property
    def batches(self) -> int:
        """Batch requests its writes take (50 commands each)."""
        return -(-self.writes // BATCH)


def plan_chunks(
    tasks_of: Mapping[CrmRef, Sequence[int]],
    *,
    status_writes: Collection[CrmRef],
    untagged: Collection[int],
    max_items: int = BATCH,
    max_writes: int = 2 * BATCH,
) -> list[Chunk]:
    """Chunks over the items of `tasks_of` (item → its open task IDs), in order.

    `status_writes` are the items whose status field will be written, `untagged` the
    tasks that lack the ``CRM`` tag: together the writes each chunk is sized by.
    """
    chunks: list[Chunk] = []
    items: list[CrmRef] = []
    tasks: dict[int, None] = {}
    writes = 0
    tagged_before: set[int] = set()
    for item, task_ids in tasks_of.items():
        new_tags = {task for task in task_ids if task in untagged} - tagged_before
        cost = (item in status_writes) + len(new_tags)
        if items and (len(items) == max_items or writes + cost > max_writes):
            chunks.append(Chunk(tuple(items), tuple(tasks), writes))
            items, tasks, writes = [], {}, 0
        items.append(item)
        tasks.update(dict.fromkeys(task_ids))
        tagged_before |= new_tags
        writes += cost
    if items:
        chunks.append(Chunk(tuple(items), tuple(tasks), writes))
    return chunks
