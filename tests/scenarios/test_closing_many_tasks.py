"""§5 for a deal with many tasks: every open task is closed, however many there are, and
completed tasks neither take the rows of the tasks still open nor cost requests."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _deal_with_tasks(installed: TaskBridge, people: People, *, completed: int,
                     open_: int, controlled: int = 0) -> tuple[int, list[int], list[int]]:
    """A deal whose oldest tasks are already completed, then `open_` open ones, the last
    `controlled` of them with "check on completion"."""
    portal = installed.portal
    manager = portal.as_user(people.manager)
    deal = manager.create_deal("Framework agreement", assigned_by=people.manager)
    done = [manager.create_task(f"D_{deal}", title=f"Done {n}", responsible=people.colleague)
            for n in range(completed)]
    for task in done:
        portal.as_user(people.colleague).complete_task(task)
    still_open = [
        manager.create_task(f"D_{deal}", title=f"Step {n}", responsible=people.colleague,
                            task_control=n >= open_ - controlled)
        for n in range(open_)
    ]
    installed.drain()
    return deal, done, still_open


def test_winning_a_deal_with_more_than_fifty_open_tasks_closes_them_all(
    installed: TaskBridge, people: People,
) -> None:
    portal = installed.portal
    deal, done, still_open = _deal_with_tasks(installed, people, completed=10, open_=62,
                                              controlled=2)
    plain, controlled = still_open[:-2], still_open[-2:]
    closed_dates = {task: portal.task(task)["closedDate"] for task in done}

    portal.as_user(people.manager).move_deal(deal, "WON")
    installed.drain()

    assert [t for t in plain if portal.task(t)["status"] != "5"] == []
    assert [portal.task(t)["status"] for t in controlled] == ["4", "4"]
    assert {t: portal.task(t)["closedDate"] for t in done} == closed_dates
    assert {installed.task_status(t) for t in plain} == {"FINISHED"}
    assert {installed.task_status(t) for t in controlled} == {"CONTROL_WAITING"}
    notes = " ".join(e.text for e in portal.emulator.state.timeline.values()
                     if e.entity_id == deal)
    assert "Step 0" in notes and "Step 59" in notes


def test_completed_tasks_do_not_push_open_ones_off_the_page(
    installed: TaskBridge, people: People,
) -> None:
    portal = installed.portal
    deal, _done, still_open = _deal_with_tasks(installed, people, completed=20, open_=45)

    portal.as_user(people.manager).move_deal(deal, "WON")
    calls = installed.drain()

    assert [t for t in still_open if portal.task(t)["status"] != "5"] == []
    # The deal, its open tasks, one write batch (BENCHMARKS.md's closing cost).
    assert calls <= 3
