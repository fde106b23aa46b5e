"""A backfill on demand, through the journal: one at a time per portal, its progress from
queued to done (items, tasks, REST requests, time left) or failed with the reason; a run
again refreshes cards without undoing what events decided; and a worker that dies while
reading or after writing leaves nothing doubled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connector.rest.call_log import CallRecord
from connector.storage.journal_rows import DONE, Claimed
from connector.storage.schema import write_log
from connector.sync.backfill import (
    BACKFILL_EVENT,
    CHUNK_EVENT,
    BackfillProgress,
    backfill_progress,
    request_backfill,
)
from connector.sync.replay import replay_one
from connector.sync.worker import Worker
from emulator.lossy_delivery import lose_deliveries
from tests.connector.sync.conftest import People
from tests.support.card_tasks import status_code, timeline
from tests.support.stack import TaskBridge

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


@pytest.fixture
def unheard_of(installed: TaskBridge, people: People) -> Iterator[list[int]]:
    """Three deals with a task in progress whose events never reached TaskBridge."""
    portal = installed.portal
    lost = lose_deliveries(portal.emulator, 1.0)
    deals = []
    try:
        for n in range(3):
            deal = portal.as_user(people.manager).create_deal(f"Deal {n}",
                                                              assigned_by=people.manager)
            task = portal.as_user(people.manager).create_task(
                f"D_{deal}", title=f"Task {n}", responsible=people.colleague)
            portal.as_user(people.colleague).start_task(task)
            deals.append(deal)
    finally:
        lost.stop()
    yield deals


def progress_of(bridge: TaskBridge) -> BackfillProgress:
    progress = backfill_progress(bridge.storage, bridge.stored().id)
    assert progress is not None
    return progress


def test_a_portal_never_backfilled_has_no_progress(taskbridge: TaskBridge) -> None:
    taskbridge.install()  # the install queues one: before it, there is none
    assert progress_of(taskbridge).state == "queued"


def test_a_second_request_while_one_waits_is_the_same_backfill(installed: TaskBridge) -> None:
    portal_id = installed.stored().id
    first = request_backfill(installed.storage, portal_id, requested_by="cli")
    assert request_backfill(installed.storage, portal_id, requested_by="page") == first
    installed.drain()
    assert request_backfill(installed.storage, portal_id, requested_by="page") != first


def test_the_request_that_asked_names_the_backfill_and_its_chunks(
        installed: TaskBridge, unheard_of: list[int]) -> None:
    installed.drain()  # the install's own backfill is done
    portal_id = installed.stored().id
    backfill = request_backfill(installed.storage, portal_id, requested_by="page",
                                correlation_id="req-backfill-1")
    # A second request while it waits joins it, and leaves it named as it was.
    assert request_backfill(installed.storage, portal_id, requested_by="cli",
                            correlation_id="req-backfill-2") == backfill
    installed.drain()

    rows = [row for row in installed.journal.rows(source="backfill")
            if row["id"] == backfill or row["object_id"] == str(backfill)]
    assert {row["event"] for row in rows} == {BACKFILL_EVENT, CHUNK_EVENT}
    assert {row["correlation_id"] for row in rows} == {"req-backfill-1"}
    assert not installed.journal.rows(correlation_id="req-backfill-2")


def test_progress_from_queued_to_done(installed: TaskBridge, unheard_of: list[int]) -> None:
    request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    queued = progress_of(installed)
    assert (queued.state, queued.items_total, queued.items_left) == ("queued", None, None)
    assert queued.eta_seconds(NOW) is None
    calls = installed.rest_calls
    worker = installed.worker()
    worker.run_once()  # the request row: the lists are read, the chunks journaled
    read = progress_of(installed)
    assert (read.state, read.items_done, read.items_total, read.tasks_seen) == (
        "running", 0, 3, 3)
    assert read.eta_seconds(datetime.now(UTC)) == pytest.approx(3 / 50 / 2)
    installed.drain()
    done = progress_of(installed)
    assert (done.state, done.items_done, done.items_left, done.error) == ("done", 3, 0, None)
    assert done.requests_spent == installed.rest_calls - calls
    assert done.started_at is not None and done.finished_at is not None
    assert done.started_at <= done.finished_at and done.eta_seconds(NOW) == 0.0
    assert [status_code(installed.portal, "deal", deal) for deal in unheard_of] == [
        "IN_PROGRESS"] * 3
    assert not any(timeline(installed.portal, "deal", deal) for deal in unheard_of)


def test_a_chunk_the_portal_keeps_refusing_fails_the_backfill_until_replayed(
        installed: TaskBridge, unheard_of: list[int]) -> None:
    request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    settings = installed.settings.model_copy(update={"worker_max_attempts": 1})
    worker = Worker(installed.storage, settings)
    worker.run_once()
    installed.portal.set_faults(error_500_rate=1.0, methods=["batch"])
    worker.run_once()
    failed = progress_of(installed)
    assert failed.state == "failed" and failed.eta_seconds(NOW) is None
    assert failed.error is not None and "500" in failed.error
    installed.portal.set_faults(error_500_rate=0.0)
    [dead] = installed.journal.rows(event=CHUNK_EVENT, state="dead")
    replay_one(installed.storage.engine, dead["id"], by="support")
    assert progress_of(installed).state == "running"
    installed.drain()
    assert progress_of(installed).state == "done"
    assert [status_code(installed.portal, "deal", deal) for deal in unheard_of] == [
        "IN_PROGRESS"] * 3


def test_a_deal_deleted_while_the_backfill_runs_holds_nothing_back(
        installed: TaskBridge, people: People, unheard_of: list[int]) -> None:
    request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    installed.worker().run_once()  # the lists are read: three deals
    installed.portal.as_user(people.manager).delete_deal(unheard_of[0])
    installed.drain()
    done = progress_of(installed)
    assert (done.state, done.items_done, done.error) == ("done", 3, None)
    [chunk] = installed.journal.rows(event=CHUNK_EVENT)
    assert chunk["detail"]["writes_refused"] == 1
    assert [status_code(installed.portal, "deal", deal) for deal in unheard_of[1:]] == [
        "IN_PROGRESS"] * 2


def test_a_live_event_is_handled_while_the_lists_are_read(
        installed: TaskBridge, people: People, unheard_of: list[int]) -> None:
    request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    portal = installed.portal
    live_deals: list[int] = []

    def a_deal_is_made_meanwhile(record: CallRecord, _row: Claimed) -> None:
        if record.method == "tasks.task.list" and not live_deals:  # the first page is in
            live_deals.append(portal.as_user(people.manager).create_deal(
                "Live", assigned_by=people.manager))
            assert portal.sender.wait_idle(timeout=10)

    worker = Worker(installed.storage, installed.settings, on_call=a_deal_is_made_meanwhile)
    worker.run_once()  # the backfill's request row: it reads the lists
    [live] = installed.journal.rows(object_key=f"deal:{live_deals[0]}")
    [request] = [row for row in installed.journal.rows(event=BACKFILL_EVENT)
                 if row["state"] == DONE][-1:]
    assert live["state"] == DONE and live["finished_at"] <= request["finished_at"]


def test_the_time_left_follows_the_rate_so_far_and_the_rest_budget() -> None:
    half = BackfillProgress(state="running", items_done=100, items_total=200, tasks_seen=300,
                            requests_spent=10, started_at=NOW - timedelta(seconds=50),
                            finished_at=None, error=None)
    assert half.eta_seconds(NOW) == 50.0  # as fast as the first half
    slow_budget = BackfillProgress(**{**half.__dict__, "requests_per_second": 0.1})
    assert slow_budget.eta_seconds(NOW) == 100.0  # 10 requests left at 0.1/s


def test_run_again_it_repairs_a_card_and_keeps_what_events_decided(
        installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Seen live", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(f"D_{deal}", title="Call",
                                                      responsible=people.colleague)
    portal.as_user(people.colleague).open_task(task)
    portal.as_user(people.colleague).add_comment(task, "on it")  # seen: VIEWED
    installed.drain()
    assert installed.task_status(task) == "VIEWED"
    portal.as_user(people.manager).update_deal(deal, UF_CRM_TASKBRIDGE_STATUS="")
    installed.drain()
    request_backfill(installed.storage, installed.stored().id, requested_by="page")
    installed.drain()
    assert installed.task_status(task) == "VIEWED"  # not first-seen again (CREATED)
    assert status_code(portal, "deal", deal) == "VIEWED"


def _kill_on(method: str, params_hint: str = "") -> object:
    def die(record: CallRecord, row: Claimed) -> None:
        if record.method == method and params_hint in str(record.params):
            raise Killed

    return die


def test_a_worker_killed_after_the_portal_ran_its_writes_resumes_without_repeating_them(
        installed: TaskBridge, unheard_of: list[int]) -> None:
    request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    doomed = Worker(installed.storage, installed.settings,
                    on_call=_kill_on("batch", "tasks.task.update"))  # type: ignore[arg-type]
    with pytest.raises(Killed):
        doomed.run(until_idle=True)
    installed.journal.release_stale(older_than=timedelta(0))
    installed.drain()
    assert progress_of(installed).state == "done"
    updates = Counter((r.method, str(r.params.get("id") or r.params.get("taskId")))
                      for r in installed.portal.emulator.call_log.records()
                      if r.method in ("crm.deal.update", "tasks.task.update"))
    assert len(updates) == 6 and set(updates.values()) == {1}
    with installed.storage.engine.connect() as conn:
        assert {row.state for row in conn.execute(write_log.select())} == {"done"}


def test_a_worker_killed_while_reading_leaves_no_chunk_behind(
        installed: TaskBridge, unheard_of: list[int]) -> None:
    backfill = request_backfill(installed.storage, installed.stored().id, requested_by="cli")
    doomed = Worker(installed.storage, installed.settings,
                    on_call=_kill_on("batch", "crm.deal.list"))  # type: ignore[arg-type]
    with pytest.raises(Killed):
        doomed.run(until_idle=True)
    assert installed.journal.rows(event=CHUNK_EVENT) == []
    installed.journal.release_stale(older_than=timedelta(0))
    installed.drain()
    [request] = [r for r in installed.journal.rows(event=BACKFILL_EVENT) if r["id"] == backfill]
    assert (request["state"], request["attempts"]) == (DONE, 2)
    assert len(installed.journal.rows(event=CHUNK_EVENT)) == 1
    assert [status_code(installed.portal, "deal", deal) for deal in unheard_of] == [
        "IN_PROGRESS"] * 3
