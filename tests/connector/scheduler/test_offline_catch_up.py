"""The offline catch-up reserves what the portal's offline queue holds (`clear=0`),
journals it, then clears it; what it cannot journal is marked with `event.offline.error`;
what a run that died left reserved is taken back by the next run."""

from __future__ import annotations

from typing import Any

from connector.portals.install import AUTH_CONNECTOR
from connector.rest.client import PortalClient
from connector.scheduler.offline_catch_up import offline_catch_up
from connector.storage.journal import Journal
from tests.support.stack import TaskBridge


def _offline(taskbridge: TaskBridge) -> Any:
    """Deliveries to TaskBridge fail (its receiver answers 503) while the portal changes."""
    app = taskbridge.server.mount.app
    taskbridge.server.mount.app = None
    return app


def _queue(taskbridge: TaskBridge) -> list[dict[str, Any]]:
    """The portal's offline records for TaskBridge, with their reservation and error mark."""
    return taskbridge.portal.emulator.offline.list(taskbridge.settings.client_id, None, None)


def _task_started_while_offline(taskbridge: TaskBridge) -> int:
    taskbridge.install()
    taskbridge.drain()
    portal = taskbridge.portal
    manager, colleague = portal.add_user("Maria", "Rossi"), portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    taskbridge.drain()
    app = _offline(taskbridge)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                               responsible=colleague)
    portal.as_user(colleague).start_task(task)
    portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.server.mount.app = app
    return task


def test_records_a_dead_run_left_reserved_are_taken_back(taskbridge: TaskBridge) -> None:
    task = _task_started_while_offline(taskbridge)
    # A run reserves the queue, then dies before journaling or clearing anything.
    client = PortalClient.for_portal(taskbridge.storage, taskbridge.settings,
                                     taskbridge.stored().member_id)
    try:
        answer = client.call("event.offline.get", {"clear": 0, "limit": 50,
                                                   "auth_connector": AUTH_CONNECTOR},
                             write=False)
    finally:
        client.close()
    reserved = answer.result["events"]
    assert reserved
    assert all(record["PROCESS_ID"] == answer.result["process_id"]
               for record in _queue(taskbridge))
    # Reserved records are hidden from event.offline.get: only their recovery finds them.
    assert offline_catch_up(taskbridge.storage, taskbridge.settings) >= 1
    assert _queue(taskbridge) == []  # cleared under the dead run's process_id
    recovered = [row for row in taskbridge.journal.rows(source="offline")
                 if row["object_key"] == f"task:{task}"]
    assert recovered
    assert recovered[0]["payload"]["process_id"] == answer.result["process_id"]
    taskbridge.drain()
    assert taskbridge.task_status(task) == "IN_PROGRESS"
    assert taskbridge.portal.task(task)["status"] == "3"


def test_records_that_cannot_be_journaled_are_marked_as_errors(taskbridge: TaskBridge) -> None:
    task = _task_started_while_offline(taskbridge)
    queue = taskbridge.portal.emulator.offline
    client_id = taskbridge.settings.client_id
    queue.add(client_id, "ONTASKUPDATE", {"FIELDS_AFTER": {"ID": "not a number"}}, {},
              "task:broken", connector=AUTH_CONNECTOR)
    queue.add(client_id, "ONCRMCONTACTUPDATE", {"FIELDS": {"ID": "5"}}, {}, "contact:5",
              connector=AUTH_CONNECTOR)
    before = taskbridge.portal.call_log.count("event.offline.error")

    assert offline_catch_up(taskbridge.storage, taskbridge.settings) >= 1
    assert taskbridge.portal.call_log.count("event.offline.error") == before + 1
    left = _queue(taskbridge)
    # The two it could not use stay on the portal, marked, for support to look at ...
    assert sorted(record["EVENT_NAME"] for record in left) == ["ONCRMCONTACTUPDATE",
                                                              "ONTASKUPDATE"]
    assert all(record["ERROR"] == 1 and record["PROCESS_ID"] == "" for record in left)
    # ... and never come back to the catch-up; the usable ones were journaled and cleared.
    assert offline_catch_up(taskbridge.storage, taskbridge.settings) == 0
    taskbridge.drain()
    assert taskbridge.task_status(task) == "IN_PROGRESS"


def test_a_row_already_being_processed_does_not_swallow_a_later_change(
        taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    portal = taskbridge.portal
    manager, colleague = portal.add_user("Maria", "Rossi"), portal.add_user("Luca", "Bianchi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                               responsible=colleague)
    taskbridge.drain()
    stored = taskbridge.stored()
    journal = Journal(taskbridge.storage.engine)
    # A worker holds a row of the task: it may have fetched the task already.
    journal.enqueue(portal_id=stored.id, member_id=stored.member_id, event="ONTASKUPDATE",
                    object_type="task", object_id=str(task), payload={}, source="online")
    [held] = journal.claim_batch("busy-worker")
    portal.emulator.offline.drop_client(taskbridge.settings.client_id)  # delivered already
    app = _offline(taskbridge)
    portal.as_user(colleague).start_task(task)  # the change it may not have seen
    portal.emulator.sender.wait_idle(timeout=10)
    taskbridge.server.mount.app = app

    assert offline_catch_up(taskbridge.storage, taskbridge.settings) == 1
    [waiting] = [row for row in journal.rows(state="pending")
                 if row["object_key"] == held.object_key]
    assert waiting["source"] == "offline"


def test_an_unclaimed_row_of_the_object_covers_the_change(taskbridge: TaskBridge) -> None:
    task = _task_started_while_offline(taskbridge)
    stored = taskbridge.stored()
    journal = Journal(taskbridge.storage.engine)
    journal.enqueue(portal_id=stored.id, member_id=stored.member_id, event="ONTASKUPDATE",
                    object_type="task", object_id=str(task), payload={}, source="online")
    journaled = offline_catch_up(taskbridge.storage, taskbridge.settings)
    pending = [row["source"] for row in journal.rows(state="pending")
               if row["object_key"] == f"task:{task}"]
    assert pending == ["online"]  # the waiting row fetches the task after the change
    assert journaled >= 0 and _queue(taskbridge) == []
    taskbridge.drain()
    assert taskbridge.task_status(task) == "IN_PROGRESS"
