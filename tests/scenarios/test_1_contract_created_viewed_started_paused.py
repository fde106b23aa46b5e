"""§7.1: a deal manager creates "Prepare the contract" for a colleague: CREATED; the
colleague opens it: VIEWED; starts it: IN_PROGRESS; pauses it: WAITING.

Opening a task fires no event: the colleague's view reaches TaskBridge when they open
its tab in the task card (TASK_VIEW_TAB), or through an action of theirs."""

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

    portal.as_user(people.colleague).open_task(task)
    page = installed.open_tab(people.colleague, "TASK_VIEW_TAB", {"taskId": str(task)})
    assert page.status_code == 200
    installed.drain()
    assert installed.task_status(task) == "VIEWED"

    portal.as_user(people.colleague).start_task(task)
    installed.drain()
    assert installed.task_status(task) == "IN_PROGRESS"

    portal.as_user(people.colleague).pause_task(task)
    installed.drain()
    assert installed.task_status(task) == "WAITING"


def test_the_manager_opening_the_tab_is_not_a_view(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    installed.drain()
    assert installed.open_tab(people.manager, "TASK_VIEW_TAB", {"taskId": str(task)}).ok
    installed.drain()
    assert installed.task_status(task) == "CREATED"
