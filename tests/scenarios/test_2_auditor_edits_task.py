"""§7.2: an auditor (not the deal's manager) edits the description or adds a checklist:
UPDATED. The deal's manager doing the same: no change."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _task(installed: TaskBridge, people: People) -> int:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Supply", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        auditors=[people.auditor],
    )
    installed.drain()
    assert installed.task_status(task) == "CREATED"
    return task


def test_an_auditor_editing_the_description_makes_it_updated(
    installed: TaskBridge, people: People
) -> None:
    task = _task(installed, people)
    installed.portal.as_user(people.auditor).update_task(task, DESCRIPTION="Use the new template")
    installed.drain()
    assert installed.task_status(task) == "UPDATED"


def test_an_auditor_adding_a_checklist_item_makes_it_updated(
    installed: TaskBridge, people: People
) -> None:
    task = _task(installed, people)
    installed.portal.as_user(people.auditor).add_checklist_item(task, "Check the VAT number")
    installed.drain()
    assert installed.task_status(task) == "UPDATED"


def test_the_deal_manager_editing_changes_nothing(installed: TaskBridge, people: People) -> None:
    task = _task(installed, people)
    installed.portal.as_user(people.manager).update_task(task, DESCRIPTION="Manager's note")
    installed.portal.as_user(people.manager).add_checklist_item(task, "Call the client")
    installed.drain()
    assert installed.task_status(task) == "CREATED"
