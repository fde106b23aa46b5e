"""Several workers claiming from one PostgreSQL journal at the same moment take disjoint
objects (`FOR UPDATE SKIP LOCKED`), and each object's events still run in order."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Installation

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OBJECTS, EVENTS_EACH, WORKERS = 24, 3, 2


def _filled_journal(storage: Storage) -> dict[str, list[int]]:
    storage.portals.save(Installation(member_id="m-1", domain="m-1.example",
                                      client_endpoint="https://m-1.example/rest/"))
    storage.portals.mark_installed("m-1")
    portal_id = storage.portals.get("m-1").id
    journal = Journal(storage.engine)
    ids: dict[str, list[int]] = defaultdict(list)
    for round_ in range(EVENTS_EACH):  # interleaved, as events of many tasks arrive
        for task in range(OBJECTS):
            ids[f"task:{task}"].append(journal.enqueue(
                portal_id=portal_id, member_id="m-1", event="ONTASKUPDATE",
                object_type="task", object_id=str(task), payload={"round": round_},
                source="online", now=NOW + timedelta(milliseconds=round_)))
    return ids


def _run_workers(pg_url: str, make_settings: Callable[..., Settings],
                 coalesce: bool) -> tuple[list[list[set[str]]], list[int], dict[str, list[int]]]:
    """Workers (each with its own engine) claim in lockstep: all claim, all compare what they
    hold, all finish; until nothing is left. Returns the held sets of each step, the order
    rows were finished in, and the rows enqueued per object."""
    settings = make_settings(database_url=pg_url)
    storages = [open_storage(settings) for _ in range(WORKERS)]
    enqueued = _filled_journal(storages[0])
    journals = [Journal(storage.engine) for storage in storages]
    barrier = threading.Barrier(WORKERS)
    steps: list[list[set[str]]] = []
    finished: list[int] = []
    lock = threading.Lock()
    held: dict[int, list[Claimed]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(200):
                barrier.wait(timeout=30)
                claimed = journals[n].claim_batch(f"w{n}", limit=5, now=NOW + timedelta(1),
                                                  coalesce=coalesce)
                with lock:
                    held[n] = claimed
                if barrier.wait(timeout=30) == 0:  # one of them records the step
                    steps.append([{row.object_key for row in held[i]} for i in range(WORKERS)])
                barrier.wait(timeout=30)
                with lock:
                    finished.extend(row.id for row in claimed)
                journals[n].finish([row.id for row in claimed])
                barrier.wait(timeout=30)
                if not any(held.values()):
                    return
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for storage in storages:
        storage.engine.dispose()
    assert not errors, errors
    return steps, finished, enqueued


@pytest.mark.parametrize("coalesce", [True, False], ids=["coalesced", "one-at-a-time"])
def test_concurrent_claims_take_disjoint_objects_in_order(
        pg_url: str, make_settings: Callable[..., Settings], coalesce: bool) -> None:
    steps, finished, enqueued = _run_workers(pg_url, make_settings, coalesce)
    busy_steps = [held for held in steps if all(held)]
    assert busy_steps, "the workers never held claims at the same time"
    for held in steps:
        first, second = held
        assert not first & second  # no object is held by two workers at once
    # Every event ran exactly once, and each object's events in the order they arrived.
    assert sorted(finished) == sorted(i for ids in enqueued.values() for i in ids)
    position = {row_id: n for n, row_id in enumerate(finished)}
    for ids in enqueued.values():
        assert sorted(ids, key=position.__getitem__) == ids
