"""§7.4: a task with "result required" gets a result: RESULT_ADDED (the portal says so
only through ONTASKCOMMENTADD)."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def test_a_result_makes_it_task_summary(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Audit", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Write the audit summary", responsible=people.colleague,
        result_required=True,
    )
    installed.drain()
    portal.as_user(people.colleague).add_result(task, "Summary: all documents are in order")
    installed.drain()
    assert installed.task_status(task) == "RESULT_ADDED"
    assert installed.journal.count(event="ONTASKCOMMENTADD", state="done") == 1
