"""§7.4: a task with "result required" gets a result: RESULT_ADDED (the portal says so
only through ONTASKCOMMENTADD)."""

from __future__ import annotations

from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

TITLE = "Write the audit summary"
PENDING = 2


def test_a_result_makes_it_task_summary(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Audit", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague, result_required=True,
    )
    installed.drain()
    on_portal.new_entries("deal", deal)

    portal.as_user(people.colleague).add_result(task, "Summary: all documents are in order")
    installed.drain()
    assert on_portal.status("deal", deal) == "RESULT_ADDED"
    assert on_portal.badge("deal", deal) == "RESULT_ADDED"
    # The result is the responsible's first action on the task: the first sign they saw it.
    viewed, summary = on_portal.new_entries("deal", deal)
    assert says(viewed, TITLE, "VIEWED", Rule.VIEWED)
    assert says(summary, TITLE, "RESULT_ADDED", Rule.RESULT_ADDED)
    assert on_portal.task(task).real_status == PENDING
