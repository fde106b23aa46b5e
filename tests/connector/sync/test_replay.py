"""Replay puts failed and dead rows back in the queue and remembers who asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, update

from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation
from connector.storage.schema import journal
from connector.storage.sync_log import LogFilter
from connector.sync.replay import ReplayRefused, replay_matching, replay_one

NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def finished_rows(storage: Storage) -> None:
    """Journal rows 1-5 of portal m: dead, failed, done, dead, pending."""
    storage.portals.save(Installation(member_id="m", domain="m.example",
                                      client_endpoint="https://m.example/rest/"))
    states = ["dead", "failed", "done", "dead", "pending"]
    with storage.engine.begin() as conn:
        conn.execute(insert(journal), [
            dict(portal_id=1, member_id="m", received_at=NOW, source="online",
                 event="ONTASKUPDATE", object_type="task", object_id=str(n),
                 object_key=f"task:{n}", payload={}, dedupe_key=str(n), state=state,
                 attempts=8 if state == "dead" else 1, error=f"error {n}",
                 detail={"outcome": "error"}, finished_at=NOW)
            for n, state in enumerate(states, start=1)
        ])


def test_a_dead_event_is_pending_again_with_its_history(storage: Storage) -> None:
    result = replay_one(storage.engine, 1, by="staff", now=NOW)
    assert result.ids == [1]
    row = Journal(storage.engine).rows(id=1)[0]
    assert (row["state"], row["attempts"], row["finished_at"]) == ("pending", 0, None)
    assert row["next_attempt_at"].replace(tzinfo=UTC) == NOW
    assert row["detail"]["outcome"] == "error"
    assert row["detail"]["replays"] == [{
        "by": "staff", "at": "2025-04-01T12:00:00+00:00", "previous_state": "dead",
        "previous_error": "error 1", "previous_attempts": 8,
    }]


@pytest.mark.parametrize(("entry_id", "message"), [
    (3, "event 3 is done; only failed or dead events replay"),
    (99, "event 99 does not exist"),
])
def test_only_existing_failed_or_dead_events_replay(storage: Storage, entry_id: int,
                                                    message: str) -> None:
    with pytest.raises(ReplayRefused, match=message):
        replay_one(storage.engine, entry_id, by="staff")


def test_another_portal_cannot_replay_it(storage: Storage) -> None:
    with pytest.raises(ReplayRefused, match="does not exist"):
        replay_one(storage.engine, 1, by="x", portal_id=2)


def test_a_filter_replays_every_failed_and_dead_match(storage: Storage) -> None:
    assert replay_matching(storage.engine, LogFilter(), by="staff").ids == [1, 2, 4]
    assert Journal(storage.engine).count(state="pending") == 4


def test_a_dry_run_changes_nothing(storage: Storage) -> None:
    result = replay_matching(storage.engine, LogFilter(state="dead"), by="s", dry_run=True)
    assert (result.ids, result.dry_run) == ([1, 4], True)
    assert Journal(storage.engine).count(state="dead") == 2


def test_a_filter_on_another_state_is_refused(storage: Storage) -> None:
    with pytest.raises(ReplayRefused, match="not done"):
        replay_matching(storage.engine, LogFilter(state="done"), by="s")


def test_a_row_picked_up_meanwhile_is_left_alone(storage: Storage,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.storage import journal as journal_module

    original = journal_module.requeue_row

    def racing(conn, row, *args):  # type: ignore[no-untyped-def]
        conn.execute(update(journal).where(journal.c.id == row.id).values(state="processing"))
        return original(conn, row, *args)

    monkeypatch.setattr(journal_module, "requeue_row", racing)
    result = replay_matching(storage.engine, LogFilter(state="failed"), by="s")
    assert (result.ids, result.skipped) == ([], [2])
