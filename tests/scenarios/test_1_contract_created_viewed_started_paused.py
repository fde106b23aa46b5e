"""§7.1: a deal manager creates "Prepare the contract" for a colleague: CREATED; the
colleague opens it: VIEWED; starts it: IN_PROGRESS; pauses it: WAITING.

Opening a task fires no event: the colleague's view reaches TaskBridge when they open
TaskBridge in the task card (the classic card's TASK_VIEW_TAB tab; the new card's row in
its "Applications" block), or through an action of theirs. Each step is
checked on the portal: the deal's status field, one timeline entry per change, the
task's real status and its tags (the CRM tag added beside the user's own)."""

from __future__ import annotations

from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, TaskCard, opens_taskbridge, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

TITLE = "Prepare the contract"
PENDING, IN_PROGRESS = 2, 3


def test_created_viewed_started_paused(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME contract",
                                                      assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague, tags=["urgent"]
    )
    calls = installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "CREATED", Rule.FIRST_SEEN)
    assert on_portal.task(task).tags == {"urgent", "CRM"}
    assert calls <= 4

    portal.as_user(people.colleague).open_task(task)
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"  # opening a task fires nothing
    assert opens_taskbridge(portal, people.colleague, task) == 200
    installed.drain()
    assert on_portal.status("deal", deal) == "VIEWED"
    assert on_portal.badge("deal", deal) == "VIEWED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "VIEWED", Rule.VIEWED)

    portal.as_user(people.colleague).start_task(task)
    installed.drain()
    assert on_portal.task(task).real_status == IN_PROGRESS
    assert on_portal.status("deal", deal) == "IN_PROGRESS"
    assert on_portal.badge("deal", deal) == "IN_PROGRESS"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "IN_PROGRESS", Rule.STARTED)

    portal.as_user(people.colleague).pause_task(task)
    installed.drain()
    assert on_portal.task(task) == TaskCard(PENDING, frozenset({"urgent", "CRM"}))
    assert on_portal.status("deal", deal) == "WAITING"
    assert on_portal.badge("deal", deal) == "WAITING"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "WAITING", Rule.PENDING)


def test_the_manager_opening_the_tab_is_not_a_view(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague
    )
    installed.drain()
    on_portal.new_entries("deal", deal)
    assert opens_taskbridge(portal, people.manager, task) == 200
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    assert on_portal.new_entries("deal", deal) == []
