"""Every event ends done, failed (tried again) or dead (with why); a portal that must be
reinstalled makes its events wait visibly; replaying an event writes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from connector.rest.call_log import CallRecord
from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.storage.journal_rows import DEAD, DONE, FAILED, PENDING
from connector.storage.rest_state import RestCallStore
from connector.storage.schema import write_log
from connector.sync.replay import replay_one
from connector.sync.worker import Worker
from tests.support.stack import CLIENT_ID, TaskBridge


def _deal_with_task(taskbridge: TaskBridge) -> tuple[int, int, int]:
    portal = taskbridge.portal
    manager = portal.add_user("Maria", "Rossi")
    colleague = portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Prepare the contract",
                                               responsible=colleague)
    return deal, task, colleague


def _impatient(taskbridge: TaskBridge):  # type: ignore[no-untyped-def]
    """Clients that give up after two quick tries, so failures show without waiting."""
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
    return lambda portal, sink: PortalClient.for_portal(
        taskbridge.storage, taskbridge.settings, portal.member_id, policy=policy, on_call=sink)


def _writes(taskbridge: TaskBridge) -> int:
    with taskbridge.storage.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(write_log)).scalar_one()


def test_a_failing_portal_fails_the_event_then_it_dies_with_the_reason(
    taskbridge: TaskBridge,
) -> None:
    taskbridge.install()
    taskbridge.drain()
    _deal_with_task(taskbridge)
    taskbridge.portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.portal.set_faults(error_500_rate=1.0, methods=["batch"])
    now = datetime.now(UTC)
    settings = taskbridge.settings.model_copy(update={"worker_max_attempts": 3})
    worker = Worker(taskbridge.storage, settings, client_factory=_impatient(taskbridge))
    for _ in range(3):
        worker.run_once(now=now)
        now += timedelta(hours=2)
    # The install's backfill (an empty portal's) ended done before the portal failed.
    rows = [row for row in taskbridge.journal.rows() if row["source"] != "backfill"]
    assert {row["state"] for row in rows} == {DEAD}
    assert all("500" in row["error"] or "Server" in row["error"] for row in rows)
    calls = RestCallStore(taskbridge.storage.engine)
    assert calls.for_journal(rows[0]["id"])


def test_a_failed_event_succeeds_on_a_later_try(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    _deal_with_task(taskbridge)
    taskbridge.portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.portal.set_faults(error_500_rate=1.0, methods=["batch"])
    worker = Worker(taskbridge.storage, taskbridge.settings,
                    client_factory=_impatient(taskbridge))
    worker.run_once()
    assert taskbridge.journal.count(state=FAILED) > 0
    taskbridge.portal.set_faults()
    taskbridge.drain(now=datetime.now(UTC) + timedelta(hours=1))
    assert taskbridge.journal.count(state=FAILED) == 0
    assert taskbridge.journal.count(state=DONE) == len(taskbridge.journal.rows()) - (
        taskbridge.journal.count(state="duplicate"))


def test_events_of_a_portal_that_needs_reinstall_wait(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    _deal_with_task(taskbridge)
    taskbridge.portal.emulator.sender.wait_idle(timeout=10)
    # Someone else spent TaskBridge's refresh token; then its access token expires.
    taskbridge.portal.emulator.tokens.refresh(CLIENT_ID, taskbridge.stored().refresh_token)
    taskbridge.portal.expire_tokens()
    taskbridge.worker().run_once()
    assert taskbridge.stored().state == "needs_reinstall"
    waiting = taskbridge.journal.rows(state=PENDING)
    assert waiting
    assert all(row["error"].startswith("waiting: portal needs reinstall") for row in waiting)
    assert taskbridge.worker().run_once() == 0  # nothing is claimed for it meanwhile


def test_replaying_an_event_writes_nothing_twice(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    deal, task, _ = _deal_with_task(taskbridge)
    taskbridge.drain()
    timeline = len(taskbridge.portal.emulator.state.timeline)
    writes = _writes(taskbridge)
    [added] = taskbridge.journal.rows(event="ONTASKADD")
    with taskbridge.storage.engine.begin() as conn:  # as if it had failed after writing
        conn.execute(
            taskbridge.journal_table.update().where(taskbridge.journal_table.c.id == added["id"])
            .values(state=DEAD)
        )
    replay_one(taskbridge.storage.engine, added["id"], by="test")
    taskbridge.drain()
    assert taskbridge.journal.rows(id=added["id"])[0]["state"] == DONE
    assert len(taskbridge.portal.emulator.state.timeline) == timeline
    assert _writes(taskbridge) == writes
    assert taskbridge.task_status(task) == "CREATED"
    assert deal


def test_a_replayed_event_keeps_who_replayed_it(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    _deal_with_task(taskbridge)
    taskbridge.drain()
    [added] = taskbridge.journal.rows(event="ONTASKADD")
    with taskbridge.storage.engine.begin() as conn:
        conn.execute(
            taskbridge.journal_table.update().where(taskbridge.journal_table.c.id == added["id"])
            .values(state=DEAD)
        )
    replay_one(taskbridge.storage.engine, added["id"], by="support@example")
    taskbridge.drain()
    [row] = taskbridge.journal.rows(id=added["id"])
    assert row["state"] == DONE
    assert [entry["by"] for entry in row["detail"]["replays"]] == ["support@example"]
    assert row["detail"]["status"] == "CREATED"  # nothing new was decided


def _fetches_tasks(record: CallRecord) -> bool:
    commands = record.params.get("cmd") or {}
    return record.method == "tasks.task.list" or "tasks.task.list" in commands.values()


def test_a_write_the_portal_refuses_fails_only_the_events_of_its_object(
    taskbridge: TaskBridge,
) -> None:
    taskbridge.install()
    taskbridge.drain()
    portal = taskbridge.portal
    manager = portal.add_user("Maria", "Rossi")
    colleague = portal.add_user("Luca", "Bianchi")
    deal_a = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    deal_b = portal.as_user(manager).create_deal("Globex", assigned_by=manager)
    kept = portal.as_user(manager).create_task(f"D_{deal_a}", title="Contract",
                                               responsible=colleague)
    doomed = portal.as_user(manager).create_task(f"D_{deal_b}", title="Offer",
                                                 responsible=colleague)
    portal.emulator.sender.wait_idle(timeout=10)

    def delete_after_the_fetch(record: CallRecord, _row: object) -> None:
        # The manager deletes one task between TaskBridge's fetch and its writes: the
        # portal refuses that task's tag in the batch, and runs the other commands.
        if _fetches_tasks(record) and doomed in portal.emulator.state.tasks:
            portal.as_user(manager).delete_task(doomed)

    worker = Worker(taskbridge.storage, taskbridge.settings, on_call=delete_after_the_fetch)
    worker.run_once()

    [kept_row] = taskbridge.journal.rows(event="ONTASKADD", object_key=f"task:{kept}")
    [doomed_row] = taskbridge.journal.rows(event="ONTASKADD", object_key=f"task:{doomed}")
    assert kept_row["state"] == DONE
    assert taskbridge.task_status(kept) == "CREATED"
    assert [tag["title"] for tag in portal.task(kept)["tags"].values()] == ["CRM"]
    assert portal.deal(deal_a)["UF_CRM_TASKBRIDGE_STATUS"]
    assert doomed_row["state"] == FAILED
    assert "not found" in doomed_row["error"]
    assert doomed_row["detail"]["decisions"]  # what it decided stays readable
    assert taskbridge.task_status(doomed) is None  # decided again on its next try

    # Its next try finds the task gone and the deletion's own event: nothing is left failed.
    taskbridge.drain(now=datetime.now(UTC) + timedelta(hours=1))
    assert taskbridge.journal.rows(id=doomed_row["id"])[0]["state"] == DONE
    assert taskbridge.journal.count(state=FAILED) == 0


def test_a_dead_closing_keeps_what_it_decided_and_succeeds_when_replayed(
    taskbridge: TaskBridge,
) -> None:
    taskbridge.install()
    taskbridge.drain()
    deal, task, _colleague = _deal_with_task(taskbridge)
    taskbridge.drain()
    portal = taskbridge.portal

    def outage_after_the_fetch(record: CallRecord, _row: object) -> None:
        if _fetches_tasks(record):  # the deal's tasks are read; its writes meet an outage
            portal.set_faults(error_500_rate=1.0, methods=["batch"])

    portal.as_user(1).move_deal(deal, "WON")
    portal.emulator.sender.wait_idle(timeout=10)
    settings = taskbridge.settings.model_copy(update={"worker_max_attempts": 1})
    policy = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01)
    Worker(taskbridge.storage, settings, on_call=outage_after_the_fetch,
           client_factory=lambda p, sink: PortalClient.for_portal(
               taskbridge.storage, settings, p.member_id, policy=policy, on_call=sink),
           ).run_once()
    [closed] = [row for row in taskbridge.journal.rows(object_key=f"deal:{deal}")
                if row["state"] == DEAD]
    assert [d["reason"] for d in closed["detail"]["decisions"]] == [
        "CREATED → FINISHED: closed automatically with its CRM item"]
    assert closed["detail"]["rest_calls"][-1]["method"] == "batch"
    assert closed["detail"]["rest_calls"][-1]["http_status"] == 500

    portal.set_faults()
    replay_one(taskbridge.storage.engine, closed["id"], by="support@example")
    taskbridge.drain()
    assert taskbridge.journal.rows(id=closed["id"])[0]["state"] == DONE
    assert portal.task(task)["status"] == "5"
    assert taskbridge.task_status(task) == "FINISHED"
