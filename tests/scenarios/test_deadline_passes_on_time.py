"""Overdue at the deadline (§2, "deadline passed while not completed"): the creator moves
the deadline 20 s ahead and the task stays open. A deadline passing fires no event;
TaskBridge's worker, running with its scheduler as `taskbridge worker` runs them and at
the default settings, wakes when the deadline passes: the deal shows EXPIRED within 60 s
of the deadline, long before the next overdue sweep, and TaskBridge sends the portal no
request between the move and the deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from connector.settings import Settings
from connector.storage.schema import scheduler_runs
from mappers.decisions import Rule
from tests.scenarios.conftest import People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import CLIENT_ID, TaskBridge

TITLE = "Prepare the contract"
DEADLINE_AHEAD = timedelta(seconds=20)
ON_TIME = timedelta(seconds=60)
# The settings the outcome depends on, at their defaults (the test stack makes the
# worker's coalescing window 0 for speed; here it is the default too).
AT_DEFAULTS = ("worker_poll_interval", "worker_coalesce_seconds", "overdue_sweep_interval",
               "deadline_recheck_seconds", "reconcile_interval")
STARTUP_JOBS = {"overdue_sweep", "offline_catch_up", "reconcile", "retention",
                "responsible_views"}


def _wait_for(condition: Callable[[], bool], until: float, what: str) -> None:
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < until, what
        pause.wait(0.2)


def _settled(taskbridge: TaskBridge) -> bool:
    """Every event delivered and handled: nothing waits in the journal."""
    if not taskbridge.portal.emulator.sender.wait_idle(timeout=1):
        return False
    return not [row for row in taskbridge.journal.rows()
                if row["state"] in ("pending", "processing", "failed")]


def _quiet(taskbridge: TaskBridge, seconds: float = 2.0) -> bool:
    """Settled, and no request sent for `seconds`."""
    before = taskbridge.app_calls
    threading.Event().wait(seconds)
    return _settled(taskbridge) and taskbridge.app_calls == before


def _jobs_run(taskbridge: TaskBridge) -> set[str]:
    with taskbridge.storage.engine.connect() as conn:
        return set(conn.execute(select(scheduler_runs.c.job)).scalars())


def test_the_deal_shows_expired_within_a_minute_of_the_deadline(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Lease", assigned_by=people.manager)
    creator = people.auditor
    task = portal.as_user(creator).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague
    )
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    on_portal.new_entries("deal", deal)

    defaults = {name: Settings.model_fields[name].default for name in AT_DEFAULTS}
    with installed.worker_process(**defaults):
        # The scheduler's first runs (reconcile, catch-up, sweep) happen as it starts.
        soon = time.monotonic() + 60
        _wait_for(lambda: _jobs_run(installed) >= STARTUP_JOBS, soon, "the jobs never ran")
        _wait_for(lambda: _settled(installed), soon, "the start-up work never settled")

        deadline = (datetime.now(UTC) + DEADLINE_AHEAD).replace(microsecond=0)
        portal.as_user(creator).update_task(task, DEADLINE=deadline.isoformat())
        _wait_for(lambda: on_portal.status("deal", deal) == "DEADLINE_CHANGED"
                  and _settled(installed), time.monotonic() + 15,
                  "TaskBridge did not handle the move")
        [entry] = on_portal.new_entries("deal", deal)
        assert says(entry, TITLE, "DEADLINE_CHANGED", Rule.DEADLINE_CHANGED)
        # The move's writes echo back as events; once those are handled too, TaskBridge
        # has nothing left to ask until the deadline.
        _wait_for(lambda: _quiet(installed), time.monotonic() + 10, "TaskBridge never settled")
        assert not on_portal.is_overdue(task), "the deadline passed before the move was handled"
        calls = installed.app_calls
        seen = len(portal.emulator.call_log.records())

        on_portal.wait_until_overdue(task, timeout=DEADLINE_AHEAD.total_seconds() + 10)
        # Nothing asked between move and deadline.
        sent = [(call.method, call.params.get("cmd") or call.params)
                for call in portal.emulator.call_log.records()[seen:]
                if call.client_id == CLIENT_ID and not call.in_batch]
        assert installed.app_calls - calls == 0, sent

        bound = time.monotonic() + (deadline + ON_TIME - datetime.now(UTC)).total_seconds()
        _wait_for(lambda: on_portal.status("deal", deal) == "EXPIRED", bound,
                  "the deal did not show EXPIRED within 60 s of the deadline")

    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "EXPIRED", Rule.OVERDUE)
    # The deadline's own wake-up found it, not the sweep (next due minutes later).
    assert [row["object_id"] for row in installed.journal.rows(source="deadline")] == [str(task)]
    assert installed.journal.rows(source="sweep") == []
