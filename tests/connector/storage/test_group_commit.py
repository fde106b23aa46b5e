"""Group commit: events that arrive together share one transaction, each caller returns
only once its own event is committed, and one refused event costs the others nothing."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from connector.storage.engines import Storage
from connector.storage.group_commit import GroupCommit, _Slot
from connector.storage.journal import Journal
from connector.storage.journal_rows import DUPLICATE, PENDING, Arrival, Recorded
from connector.storage.portals import Installation
from mappers.portal_events import dedupe_key, parse_event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def installed_portals(any_storage: Storage) -> None:
    """The installed portals the journal rows here belong to."""
    any_storage.portals.save(Installation(member_id="m-1", domain="m-1.example",
                                          client_endpoint="https://m-1.example/rest/",
                                          application_token="app-token"))
    any_storage.portals.mark_installed("m-1")


def arrival(any_storage: Storage, task_id: int, *, payload: dict | None = None) -> Arrival:
    body = {"event": "ONTASKUPDATE", "ts": "1764150000",
            "data": {"FIELDS_AFTER": {"ID": str(task_id)}},
            "auth": {"member_id": "m-1", "application_token": "app-token", "user_id": "1",
                     "domain": "m-1.example"}}
    event = parse_event(body)
    return Arrival(event=event, portal_id=any_storage.portals.get("m-1").id,
                   payload=body if payload is None else payload,
                   dedupe_key=dedupe_key(event), received_at=NOW, due_in=timedelta(seconds=2))


class CountingJournal(Journal):
    """Counts transactions, and holds the first one long enough for others to queue."""

    def __init__(self, engine, hold: threading.Event) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine)
        self.batches: list[int] = []
        self.hold = hold

    def record_many(self, arrivals: Sequence[Arrival]) -> list[Recorded]:
        if not self.batches:
            self.hold.wait(5)
        self.batches.append(len(arrivals))
        return super().record_many(arrivals)


def test_events_arriving_together_share_one_commit_and_each_is_committed_on_return(
    any_storage: Storage,
) -> None:
    release = threading.Event()
    journal = CountingJournal(any_storage.engine, release)
    writer = GroupCommit(journal)
    results: dict[int, Recorded] = {}
    committed_on_return: list[bool] = []

    def post(task_id: int) -> None:
        recorded = writer.record(arrival(any_storage, task_id))
        committed_on_return.append(journal.count(id=recorded.id) == 1)
        results[task_id] = recorded

    first = threading.Thread(target=post, args=(1,))
    first.start()
    others = [threading.Thread(target=post, args=(n,)) for n in range(2, 10)]
    for thread in others:
        thread.start()
    release.set()  # the first commit ends; the eight that queued meanwhile go together
    for thread in [first, *others]:
        thread.join(10)
    assert sorted(results) == list(range(1, 10))
    assert len({r.id for r in results.values()}) == 9
    assert all(r.state == PENDING for r in results.values())
    assert all(committed_on_return)
    assert journal.batches[0] == 1 and sum(journal.batches) == 9
    assert len(journal.batches) < 9


def test_a_repeat_inside_one_batch_is_the_duplicate_of_the_first(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    first, again, other = journal.record_many(
        [arrival(any_storage, 5), arrival(any_storage, 5), arrival(any_storage, 6)])
    assert first.state == PENDING and other.state == PENDING
    assert again.state == DUPLICATE and again.duplicate_of == first.id
    [row] = journal.rows(id=again.id)
    assert row["detail"] == {"duplicate_of": first.id}
    # And a later delivery of the same event, while the first still waits.
    [later] = journal.record_many([arrival(any_storage, 5)])
    assert later.state == DUPLICATE and later.duplicate_of == first.id


def test_an_event_the_database_refuses_does_not_cost_the_others(any_storage: Storage) -> None:
    journal = Journal(any_storage.engine)
    writer = GroupCommit(journal)
    bad = arrival(any_storage, 8, payload={"not json": object()})
    # Three requests that queued while another one committed, written as one batch.
    slots = [_Slot(arrival(any_storage, 7)), _Slot(bad), _Slot(arrival(any_storage, 9))]
    writer._write(slots)
    assert slots[0].outcome().state == PENDING and slots[2].outcome().state == PENDING
    with pytest.raises(Exception, match="not JSON serializable"):
        slots[1].outcome()
    assert journal.count() == 2


def test_a_database_that_is_down_fails_every_waiting_event_at_once(any_storage: Storage) -> None:
    calls: list[int] = []

    class Down(Journal):
        def record_many(self, arrivals: Sequence[Arrival]) -> list[Recorded]:
            calls.append(len(arrivals))
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    writer = GroupCommit(Down(any_storage.engine))
    slots = [_Slot(arrival(any_storage, n)) for n in (1, 2, 3)]
    writer._write(slots)
    assert calls == [3]  # not retried one by one: each would wait for the lock again
    for slot in slots:
        with pytest.raises(OperationalError):
            slot.outcome()



def test_an_interrupted_write_fails_its_batch_instead_of_leaving_it_waiting(
    any_storage: Storage,
) -> None:
    class Interrupted(Journal):
        def record_many(self, arrivals: Sequence[Arrival]) -> list[Recorded]:
            raise KeyboardInterrupt

    writer = GroupCommit(Interrupted(any_storage.engine))
    slots = [_Slot(arrival(any_storage, n)) for n in (1, 2)]
    with pytest.raises(KeyboardInterrupt):
        writer._write(slots)
    assert all(slot.finished for slot in slots)
    with pytest.raises(KeyboardInterrupt):
        slots[1].outcome()
