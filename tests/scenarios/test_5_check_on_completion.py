"""§7.5: a task with "check on completion" is completed by its responsible:
CONTROL_WAITING; the creator accepts: FINISHED; returns it: WAITING."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _controlled(installed: TaskBridge, people: People) -> int:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        task_control=True,
    )
    portal.as_user(people.colleague).complete_task(task)
    installed.drain()
    assert installed.task_status(task) == "CONTROL_WAITING"
    return task


def test_the_creator_accepts(installed: TaskBridge, people: People) -> None:
    task = _controlled(installed, people)
    installed.portal.as_user(people.manager).approve_task(task)
    installed.drain()
    assert installed.task_status(task) == "FINISHED"


def test_the_creator_returns_it(installed: TaskBridge, people: People) -> None:
    task = _controlled(installed, people)
    installed.portal.as_user(people.manager).disapprove_task(task)
    installed.drain()
    assert installed.task_status(task) == "WAITING"
