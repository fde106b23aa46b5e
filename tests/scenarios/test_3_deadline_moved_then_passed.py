"""§7.3: the creator moves the deadline: DEADLINE_CHANGED. The deadline passes with the
task open: EXPIRED (no event fires for that: the overdue sweep finds it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.scheduler import overdue_sweep
from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def test_deadline_moved_then_passed(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Lease", assigned_by=people.manager)
    task = portal.as_user(people.auditor).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    installed.drain()
    deadline = datetime.now(UTC) + timedelta(days=2)
    portal.as_user(people.auditor).update_task(task, DEADLINE=deadline.isoformat())
    installed.drain()
    assert installed.task_status(task) == "DEADLINE_CHANGED"

    later = deadline + timedelta(hours=1)
    queued = overdue_sweep(installed.storage, now=later)
    assert queued == 1
    installed.drain(now=later)
    assert installed.task_status(task) == "EXPIRED"
    # A second sweep finds nothing new to check.
    assert overdue_sweep(installed.storage, now=later) == 0
