"""§7.6: a deal with three tasks: the kanban shows the status of the one changed last.
Deleting that task falls back to the next most recent; no tasks, no status (§4)."""

from __future__ import annotations

from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS


def test_the_deal_shows_its_last_changed_task(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Fleet", assigned_by=people.manager)
    draft, review, sign = (
        portal.as_user(people.manager).create_task(
            f"D_{deal}", title=title, responsible=people.colleague
        )
        for title in ("Draft", "Review", "Sign")
    )
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    entries = on_portal.new_entries("deal", deal)
    assert len(entries) == 3
    assert all(says(entry, title, "CREATED", Rule.FIRST_SEEN)
               for entry, title in zip(entries, ("Draft", "Review", "Sign"), strict=True))

    portal.as_user(people.colleague).start_task(review)
    installed.drain()
    assert on_portal.status("deal", deal) == "IN_PROGRESS"
    assert on_portal.badge("deal", deal) == "IN_PROGRESS"
    # Starting is the colleague's first sign of having seen the task: VIEWED, then started.
    viewed, started = on_portal.new_entries("deal", deal)
    assert says(viewed, "Review", "VIEWED", Rule.VIEWED)
    assert says(started, "Review", "IN_PROGRESS", Rule.STARTED)

    portal.as_user(people.colleague).start_task(draft)
    installed.drain()
    portal.as_user(people.colleague).pause_task(draft)
    installed.drain()
    assert on_portal.status("deal", deal) == "WAITING"
    assert on_portal.badge("deal", deal) == "WAITING"
    viewed, started, paused = on_portal.new_entries("deal", deal)
    assert says(viewed, "Draft", "VIEWED", Rule.VIEWED)
    assert says(started, "Draft", "IN_PROGRESS", Rule.STARTED)
    assert says(paused, "Draft", "WAITING", Rule.PENDING)

    portal.as_user(people.manager).delete_task(draft)
    installed.drain()
    assert on_portal.status("deal", deal) == "IN_PROGRESS"
    assert on_portal.badge("deal", deal) == "IN_PROGRESS"

    portal.as_user(people.manager).delete_task(review)
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"

    portal.as_user(people.manager).delete_task(sign)
    installed.drain()
    assert on_portal.status("deal", deal) == ""
    assert on_portal.badge("deal", deal) == ""
    assert on_portal.new_entries("deal", deal) == []
