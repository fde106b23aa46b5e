"""Backfill at install: a portal that already holds deals and leads with open tasks gets
every item's status from the first minute, without a task being changed or a timeline
entry written per task; a worker killed half-way resumes without writing anything twice."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.scenarios.portal_view import AdminView
from tests.support.stack import TaskBridge


def test_a_few_deals_show_their_tasks_status_after_install(
        taskbridge: TaskBridge, people: People, on_portal: AdminView) -> None:
    portal = taskbridge.portal
    manager = portal.as_user(people.manager)
    colleague = portal.as_user(people.colleague)
    started = manager.create_deal("Started", assigned_by=people.manager)
    task = manager.create_task(f"D_{started}", title="Call", responsible=people.colleague)
    colleague.start_task(task)
    waiting = manager.create_lead("Waiting", assigned_by=people.manager)
    manager.create_task(f"L_{waiting}", title="Mail", responsible=people.colleague,
                        tags=["urgent"])
    taskbridge.install("page")
    assert taskbridge.drain() <= 3  # the list, the items with the field values, the writes
    assert on_portal.status("deal", started) == "IN_PROGRESS"
    assert on_portal.status("lead", waiting) == "CREATED"
    assert on_portal.task(task).tags == {"CRM"}
