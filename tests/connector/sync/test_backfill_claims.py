"""Live events keep their latency while a backfill runs: a claim takes live rows before
backfill rows and at most one chunk after them, never a chunk as another row's follower,
and reads the waiting rows through an index; what a live pass stored is never overwritten
by a backfill's older reading. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_queries import HEADS
from connector.storage.portals import Installation
from connector.storage.schema import journal as journal_table
from connector.storage.snapshots import SnapshotStore, StoredItem, StoredTask
from connector.sync.backfill import BACKFILL_EVENT, CHUNK_EVENT, chunk_key
from mappers.bindings import CrmRef
from mappers.snapshots import TaskSnapshot
from mappers.statuses import CrmTaskStatus
from tests.support.stack import TaskBridge

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def portal_id(any_storage: Storage) -> int:
    """The installed portal the rows here belong to."""
    any_storage.portals.save(Installation(member_id="m-1", domain="m-1.example",
                                          client_endpoint="https://m-1.example/rest/"))
    any_storage.portals.mark_installed("m-1")
    return any_storage.portals.get("m-1").id


def live(journal: Journal, portal_id: int, task: int, at: datetime) -> int:
    return journal.enqueue(portal_id=portal_id, member_id="m-1", event="ONTASKUPDATE",
                           object_type="task", object_id=str(task), payload={},
                           source="online", now=at)


def backfill_with_chunks(journal: Journal, portal_id: int, chunks: int) -> list[int]:
    """A backfill whose request row read the lists and journaled `chunks` chunk rows."""
    journal.enqueue(portal_id=portal_id, member_id="m-1", event=BACKFILL_EVENT,
                    object_type="backfill", object_id="", payload={}, source="backfill",
                    now=NOW - timedelta(minutes=5))
    [request] = journal.claim_batch("w0", now=NOW - timedelta(minutes=5))
    return journal.spawn(request, [
        {"event": CHUNK_EVENT, "object_key": chunk_key(request.id), "payload": {"n": n},
         "detail": {"items": 50}} for n in range(chunks)],
        detail={}, now=NOW - timedelta(minutes=4))


def test_live_rows_are_claimed_before_older_backfill_chunks(any_storage: Storage,
                                                            portal_id: int) -> None:
    journal = Journal(any_storage.engine)
    chunks = backfill_with_chunks(journal, portal_id, 3)
    events = [live(journal, portal_id, task, NOW) for task in (1, 2, 3)]
    assert [row.id for row in journal.claim_batch("w1", limit=2, now=NOW)] == events[:2]
    # A chunk rides along only when live rows leave room, one at a time.
    assert {row.id for row in journal.claim_batch("w1", limit=2, now=NOW)} == {
        events[2], chunks[0]}


def test_chunks_run_one_at_a_time_and_never_as_followers(any_storage: Storage,
                                                         portal_id: int) -> None:
    journal = Journal(any_storage.engine)
    chunks = backfill_with_chunks(journal, portal_id, 3)
    [first] = journal.claim_batch("w1", now=NOW)
    assert first.id == chunks[0]  # its followers are not taken with it
    assert journal.claim_batch("w2", now=NOW) == []  # the next waits for it
    journal.finish([first.id])
    event = live(journal, portal_id, 7, NOW)
    assert {row.id for row in journal.claim_batch("w1", now=NOW)} == {event, chunks[1]}


def test_a_busy_portals_events_do_not_starve_its_backfill(taskbridge: TaskBridge) -> None:
    """Each claim takes the waiting events and one chunk: the worker handles the events
    first, then the chunk, so the backfill moves on while events keep coming."""
    taskbridge.install()
    portal = taskbridge.portal
    manager = portal.add_user("Maria")
    deals = [portal.as_user(manager).create_deal(f"Deal {n}") for n in range(3)]
    worker = taskbridge.worker()
    for deal in deals:  # an event arrives before every claim
        portal.as_user(manager).update_deal(deal, TITLE="renamed")
        assert portal.sender.wait_idle(timeout=10)
        worker.run_once()
    [request] = taskbridge.journal.rows(source="backfill")
    assert request["state"] == "done"
    first_events = taskbridge.journal.rows(object_key=f"deal:{deals[0]}")
    assert all(event["finished_at"] <= request["finished_at"] for event in first_events)


def test_a_spawned_chunk_keeps_its_request_portal_and_source(any_storage: Storage,
                                                            portal_id: int) -> None:
    journal = Journal(any_storage.engine)
    chunks = backfill_with_chunks(journal, portal_id, 2)
    rows = {row["id"]: row for row in journal.rows(portal_id=portal_id)}
    request = min(rows)
    assert rows[request]["state"] == "done"
    assert [rows[c]["source"] for c in chunks] == ["backfill", "backfill"]
    assert [rows[c]["object_key"] for c in chunks] == [chunk_key(request)] * 2
    assert [rows[c]["detail"] for c in chunks] == [{"items": 50}] * 2


def test_the_claim_reads_only_waiting_rows_through_an_index(any_storage: Storage,
                                                            portal_id: int) -> None:
    """Thousands of finished rows, a backfill's chunks and live rows waiting: the claim is
    answered from the waiting rows' indexes (the priority index keeps them in the claim's
    order; the planner may prefer the due-time index and sort the few it finds), never by
    reading the journal's history."""
    engine = any_storage.engine
    journal = Journal(engine)
    with engine.begin() as conn:  # a long history: rows finished long ago
        conn.execute(journal_table.insert(), [
            {"portal_id": portal_id, "member_id": "m-1", "received_at": NOW - timedelta(days=2),
             "source": "online", "event": "ONTASKUPDATE", "object_type": "task",
             "object_id": str(n), "object_key": f"task:{n}", "payload": {},
             "dedupe_key": f"online:{n}", "state": "done", "attempts": 1,
             "next_attempt_at": NOW - timedelta(days=2), "finished_at": NOW - timedelta(days=2)}
            for n in range(20_000)])
    backfill_with_chunks(journal, portal_id, 40)
    live(journal, portal_id, 1, NOW)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE journal" if engine.dialect.name == "postgresql"
                             else "ANALYZE")
        if engine.dialect.name == "postgresql":
            plan = " ".join(conn.execute(_explain(HEADS["postgresql"]),
                                         {"now": NOW, "limit": 50}).scalars())
            assert "Seq Scan on journal" not in plan, plan
        else:
            plan = " ".join(str(row[-1]) for row in conn.execute(
                _explain(HEADS["sqlite"], "EXPLAIN QUERY PLAN "), {"now": NOW, "limit": 50}))
            assert "SCAN j " not in plan, plan
    assert "ix_journal_claim" in plan, plan


def _explain(statement: Any, prefix: str = "EXPLAIN ") -> Any:
    return text(prefix + statement.text).bindparams(*statement._bindparams.values())


def test_a_backfill_never_overwrites_what_a_live_pass_stored(any_storage: Storage,
                                                            portal_id: int) -> None:
    snapshots = SnapshotStore(any_storage.engine)
    deal = CrmRef(2, 10)
    listed = TaskSnapshot(id=5, real_status=2, created_by=1, responsible_id=2,
                          crm_bindings=(deal,))
    live_seen = listed.model_copy(update={"real_status": 3})
    snapshots.save_pass(portal_id, [StoredTask(live_seen, CrmTaskStatus.IN_PROGRESS, NOW,
                                               deleted=False)], [], [])
    first_seen = StoredTask(listed, CrmTaskStatus.CREATED, NOW - timedelta(days=1),
                            deleted=False)
    fresh = StoredTask(listed.model_copy(update={"id": 6}), CrmTaskStatus.CREATED,
                       NOW - timedelta(days=1), deleted=False)
    snapshots.save_first_seen(portal_id, [first_seen, fresh],
                              [StoredItem(deal, CrmTaskStatus.IN_PROGRESS, False, None)])
    stored = snapshots.tasks(portal_id, [5, 6])
    assert stored[5].crm_status is CrmTaskStatus.IN_PROGRESS  # the live pass's stands
    assert stored[6] == fresh
    assert snapshots.items(portal_id, [deal])[deal].status is CrmTaskStatus.IN_PROGRESS
