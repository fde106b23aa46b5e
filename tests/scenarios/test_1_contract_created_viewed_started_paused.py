"""§7.1: a deal manager creates "Prepare the contract" for a colleague: CREATED; the
colleague opens it: VIEWED; starts it: IN_PROGRESS; pauses it: WAITING."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def test_created_then_started_then_paused(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME contract",
                                                      assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    calls = installed.drain()
    assert installed.task_status(task) == "CREATED"
    assert portal.deal(deal)["UF_CRM_TASKBRIDGE_STATUS"]
    assert "CRM" in str(portal.task(task)["tags"])
    assert calls <= 4

    portal.as_user(people.colleague).start_task(task)
    installed.drain()
    assert installed.task_status(task) == "IN_PROGRESS"

    portal.as_user(people.colleague).pause_task(task)
    installed.drain()
    assert installed.task_status(task) == "WAITING"
