"""The scheduler's jobs find what no delivered event reports: the offline queue holds the
changes whose online delivery was lost, the reconcile pass whatever changed since the last
pass; retention forgets old finished events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from connector.scheduler.offline_catch_up import offline_catch_up
from connector.scheduler.reconcile import reconcile
from connector.scheduler.retention import retention
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import DONE
from connector.storage.portals import Installation
from connector.storage.schema import write_log
from tests.support.stack import TaskBridge


def _offline(taskbridge: TaskBridge):  # type: ignore[no-untyped-def]
    """Deliveries to TaskBridge fail (its receiver answers 503) while the portal changes."""
    app = taskbridge.server.mount.app
    taskbridge.server.mount.app = None
    return app


def _people_and_deal(taskbridge: TaskBridge) -> tuple[int, int, int]:
    portal = taskbridge.portal
    manager, colleague = portal.add_user("Maria", "Rossi"), portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    return manager, colleague, deal


def test_the_offline_queue_heals_lost_deliveries(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    manager, colleague, deal = _people_and_deal(taskbridge)
    app = _offline(taskbridge)
    task = taskbridge.portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                                          responsible=colleague)
    taskbridge.portal.as_user(colleague).start_task(task)
    taskbridge.portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.server.mount.app = app
    assert taskbridge.task_status(task) is None
    assert offline_catch_up(taskbridge.storage, taskbridge.settings) >= 1
    taskbridge.drain()
    assert taskbridge.task_status(task) == "IN_PROGRESS"
    assert offline_catch_up(taskbridge.storage, taskbridge.settings) == 0  # cleared


def test_reconcile_finds_what_changed_since_the_last_pass(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    manager, colleague, deal = _people_and_deal(taskbridge)
    before = datetime.now(UTC) - timedelta(seconds=1)
    app = _offline(taskbridge)
    task = taskbridge.portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                                          responsible=colleague)
    taskbridge.portal.as_user(manager).move_deal(deal, "WON")
    taskbridge.portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.server.mount.app = app
    taskbridge.portal.emulator.offline.drop_client(taskbridge.settings.client_id)  # lost too
    queued = reconcile(taskbridge.storage, taskbridge.settings, since=before).queued
    assert queued >= 2  # the task and the deal
    taskbridge.drain()
    assert taskbridge.portal.task(task)["status"] == "5"
    assert taskbridge.task_status(task) == "FINISHED"


def test_retention_forgets_old_finished_events(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    _people_and_deal(taskbridge)
    taskbridge.drain()
    done = taskbridge.journal.count(state=DONE)
    assert done > 0
    assert retention(taskbridge.storage, taskbridge.settings) == 0
    later = datetime.now(UTC) + timedelta(days=taskbridge.settings.journal_retention_days + 1)
    assert retention(taskbridge.storage, taskbridge.settings, now=later) == done
    assert taskbridge.journal.count(state=DONE) == 0


def test_retention_keeps_dead_events_longer_and_prunes_the_write_log_behind_the_journal(
        any_storage: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = any_storage, make_settings()
    storage.portals.save(Installation(member_id="m-1", domain="m-1.example",
                                      client_endpoint="https://m-1.example/rest/"))
    storage.portals.mark_installed("m-1")
    portal_id = storage.portals.get("m-1").id
    journal = Journal(storage.engine)
    start = datetime.now(UTC)

    def event(task: int) -> int:
        return journal.enqueue(portal_id=portal_id, member_id="m-1", event="ONTASKUPDATE",
                               object_type="task", object_id=str(task), payload={},
                               source="online", now=start)

    done, dead = event(1), event(2)
    for row in journal.claim_batch("w1", now=start):
        if row.id == done:
            journal.finish([done], now=start)
        else:
            journal.fail([row], "portal answered 500", max_attempts=1, now=start)
    with storage.engine.begin() as conn:
        for key, journal_id in (("of-done", done), ("of-dead", dead), ("from-a-card", None)):
            conn.execute(insert(write_log).values(
                portal_id=portal_id, journal_id=journal_id, idempotency_key=key,
                method="crm.deal.update", params={}, state="done", created_at=start))

    def kept() -> tuple[list[str], list[str]]:
        with storage.engine.connect() as conn:
            keys = conn.execute(select(write_log.c.idempotency_key)
                                .order_by(write_log.c.idempotency_key)).scalars().all()
        return [row["state"] for row in journal.rows()], list(keys)

    days = settings.journal_retention_days
    assert retention(storage, settings, now=start + timedelta(days=days - 1)) == 0
    assert kept() == (["done", "dead"], ["from-a-card", "of-dead", "of-done"])
    # Past the retention: the finished event goes, its write-log row with it, and so does
    # the write made for no event; the dead event stays for support, with its writes.
    assert retention(storage, settings, now=start + timedelta(days=days + 1)) == 1
    assert kept() == (["dead"], ["of-dead"])
    assert retention(storage, settings, now=start + timedelta(days=3 * days - 1)) == 0
    assert retention(storage, settings, now=start + timedelta(days=3 * days + 1)) == 1
    assert kept() == ([], [])
