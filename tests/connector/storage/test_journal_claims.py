"""Claiming journal rows: per-object order, coalescing, installed portals only, backoff,
dead after the last try, stale rows released; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import DEAD, DONE, FAILED, PENDING
from connector.storage.portals import Installation

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def installed_portals(any_storage: Storage) -> None:
    """The installed portals the journal rows here belong to."""
    for member in ("m-1", "m-2"):
        any_storage.portals.save(Installation(member_id=member, domain=f"{member}.example",
                                              client_endpoint=f"https://{member}.example/rest/"))
        any_storage.portals.mark_installed(member)


def _enqueue(journal: Journal, any_storage: Storage, member: str, key: str, at: datetime) -> int:
    kind, _, object_id = key.partition(":")
    return journal.enqueue(portal_id=any_storage.portals.get(member).id, member_id=member,
                           event="ONTASKUPDATE", object_type=kind, object_id=object_id,
                           payload={}, source="online", now=at)


def test_one_object_is_claimed_whole_and_in_order(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    ids = [_enqueue(journal, any_storage, "m-1", "task:1", NOW + timedelta(seconds=i))
           for i in range(10)]
    other = _enqueue(journal, any_storage, "m-1", "task:2", NOW + timedelta(seconds=20))
    claimed = journal.claim_batch("w1", limit=50, now=NOW + timedelta(minutes=1))
    assert [row.id for row in claimed] == [*ids, other]
    assert journal.claim_batch("w2", limit=50, now=NOW + timedelta(minutes=1)) == []


def test_a_later_row_waits_while_an_earlier_one_of_its_object_is_held(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    first = _enqueue(journal, any_storage, "m-1", "task:1", NOW)
    [held] = journal.claim_batch("w1", limit=50, now=NOW)
    assert held.id == first
    _enqueue(journal, any_storage, "m-1", "task:1", NOW + timedelta(seconds=1))
    assert journal.claim_batch("w2", limit=50, now=NOW + timedelta(seconds=2)) == []
    journal.finish([first])
    [later] = journal.claim_batch("w2", limit=50, now=NOW + timedelta(seconds=2))
    assert later.id != first


def test_rows_of_a_portal_that_is_not_installed_wait(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    row = _enqueue(journal, any_storage, "m-2", "task:1", NOW)
    any_storage.portals.mark_needs_reinstall("m-2", "invalid_grant")
    assert journal.claim_batch("w1", now=NOW) == []
    any_storage.portals.mark_installed("m-2")
    assert [r.id for r in journal.claim_batch("w1", now=NOW)] == [row]


def test_failures_back_off_then_die_with_the_reason(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    row_id = _enqueue(journal, any_storage, "m-1", "task:1", NOW)
    now = NOW
    for attempt in range(1, 4):
        [row] = journal.claim_batch("w1", now=now)
        assert row.attempts == attempt
        state = journal.fail([row], "portal answered 500", max_attempts=3, now=now)
        assert state == (DEAD if attempt == 3 else FAILED)
        assert journal.claim_batch("w1", now=now) == []  # not due yet
        now += timedelta(hours=2)
    [dead] = journal.rows(id=row_id)
    assert (dead["state"], dead["error"]) == (DEAD, "portal answered 500")


def test_a_dead_workers_rows_are_released(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    _enqueue(journal, any_storage, "m-1", "task:1", NOW)
    journal.claim_batch("crashed", now=NOW)
    assert journal.release_stale(older_than=timedelta(minutes=5),
                                 now=NOW + timedelta(minutes=1)) == 0
    assert journal.release_stale(older_than=timedelta(minutes=5),
                                 now=NOW + timedelta(minutes=6)) == 1
    [row] = journal.claim_batch("w2", now=NOW + timedelta(minutes=6))
    journal.finish([row.id])
    assert journal.count(state=DONE) == 1
    assert journal.count(state=PENDING) == 0


def test_a_heartbeat_keeps_a_long_pass_from_being_taken_back(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    _enqueue(journal, any_storage, "m-1", "task:1", NOW)
    [row] = journal.claim_batch("busy", now=NOW)
    journal.heartbeat([row.id], now=NOW + timedelta(minutes=4))
    assert journal.release_stale(older_than=timedelta(minutes=2),
                                 now=NOW + timedelta(minutes=5)) == 0
    assert journal.release_stale(older_than=timedelta(minutes=2),
                                 now=NOW + timedelta(minutes=7)) == 1
