"""§7.5: a task with "check on completion" is completed by its responsible:
CONTROL_WAITING; the creator accepts: FINISHED; returns it: WAITING."""

from __future__ import annotations

from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

TITLE = "Prepare the contract"
PENDING, SUPPOSEDLY_COMPLETED, COMPLETED = 2, 4, 5


def _completed_by_its_responsible(installed: TaskBridge, people: People,
                                  on_portal: AdminView) -> tuple[int, int]:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague, task_control=True,
    )
    installed.drain()
    on_portal.new_entries("deal", deal)

    portal.as_user(people.colleague).complete_task(task)
    installed.drain()
    assert on_portal.task(task).real_status == SUPPOSEDLY_COMPLETED
    assert on_portal.status("deal", deal) == "CONTROL_WAITING"
    assert on_portal.badge("deal", deal) == "CONTROL_WAITING"
    # Completing is the responsible's first action on the task: the first sign they saw it.
    viewed, completed = on_portal.new_entries("deal", deal)
    assert says(viewed, TITLE, "VIEWED", Rule.VIEWED)
    assert says(completed, TITLE, "CONTROL_WAITING", Rule.SUPPOSEDLY_COMPLETED)
    return deal, task


def test_the_creator_accepts(installed: TaskBridge, people: People, on_portal: AdminView
                             ) -> None:
    deal, task = _completed_by_its_responsible(installed, people, on_portal)
    installed.portal.as_user(people.manager).approve_task(task)
    installed.drain()
    assert on_portal.task(task).real_status == COMPLETED
    assert on_portal.status("deal", deal) == "FINISHED"
    # Its only task is done: the activity is closed and the badge leaves the card.
    assert on_portal.badge("deal", deal) == ""
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "FINISHED", Rule.COMPLETED)


def test_the_creator_returns_it(installed: TaskBridge, people: People, on_portal: AdminView
                                ) -> None:
    deal, task = _completed_by_its_responsible(installed, people, on_portal)
    installed.portal.as_user(people.manager).disapprove_task(task)
    installed.drain()
    assert on_portal.task(task).real_status == PENDING
    assert on_portal.status("deal", deal) == "WAITING"
    assert on_portal.badge("deal", deal) == "WAITING"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "WAITING", Rule.PENDING)


def test_completed_and_returned_twice_the_card_follows_each_time(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    deal, task = _completed_by_its_responsible(installed, people, on_portal)
    portal = installed.portal
    for _ in range(2):
        # A minute between steps: the portal dates a task's changes to the second.
        portal.clock.advance(60)
        portal.as_user(people.manager).disapprove_task(task)
        installed.drain()
        assert on_portal.status("deal", deal) == on_portal.badge("deal", deal) == "WAITING"
        portal.clock.advance(60)
        portal.as_user(people.colleague).complete_task(task)
        installed.drain()
        assert on_portal.status("deal", deal) == "CONTROL_WAITING"
        assert on_portal.badge("deal", deal) == "CONTROL_WAITING"
    assert len(portal.configurable_activities("deal", deal)) == 1
