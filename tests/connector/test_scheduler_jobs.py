"""The scheduler's jobs find what no delivered event reports: the offline queue holds the
changes whose online delivery was lost, the reconcile pass whatever changed since the last
pass; retention forgets old finished events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.journal import DONE
from connector.scheduler import offline_catch_up, reconcile, retention
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
    queued = reconcile(taskbridge.storage, taskbridge.settings, since=before)
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
