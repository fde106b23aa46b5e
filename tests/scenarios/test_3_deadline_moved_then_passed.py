"""§7.3: the creator moves the deadline: DEADLINE_CHANGED. The deadline passes with the
task open: EXPIRED.

A deadline passing fires no event: the deadline here is set a moment ahead and passes in
real time, and the overdue sweep the worker's scheduler runs (on its own clock) finds it.
When the responsible starts the task after the deadline passed and before TaskBridge saw
it pass, both reach TaskBridge in one observation, applied in the order they happened: the
task stays EXPIRED (§3: an overdue task stays EXPIRED when started)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.scheduler.overdue import overdue_sweep
from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

TITLE = "Prepare the contract"
PENDING, IN_PROGRESS = 2, 3
# Long enough for TaskBridge to handle the move before the deadline passes.
DEADLINE_AHEAD = timedelta(seconds=2)


def test_deadline_moved_then_passed(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Lease", assigned_by=people.manager)
    creator = people.auditor
    task = portal.as_user(creator).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague
    )
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    on_portal.new_entries("deal", deal)

    deadline = datetime.now(UTC) + DEADLINE_AHEAD
    portal.as_user(creator).update_task(task, DEADLINE=deadline.isoformat())
    installed.drain()
    assert not on_portal.is_overdue(task), "the deadline passed before TaskBridge saw the move"
    assert on_portal.status("deal", deal) == "DEADLINE_CHANGED"
    assert on_portal.badge("deal", deal) == "DEADLINE_CHANGED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "DEADLINE_CHANGED", Rule.DEADLINE_CHANGED)

    on_portal.wait_until_overdue(task)
    assert overdue_sweep(installed.storage) == 1
    installed.drain()
    assert on_portal.status("deal", deal) == "EXPIRED"
    assert on_portal.badge("deal", deal) == "EXPIRED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "EXPIRED", Rule.OVERDUE)
    assert on_portal.task(task).real_status == PENDING

    # The next sweep finds nothing new: no second entry.
    assert overdue_sweep(installed.storage) == 0
    installed.drain()
    assert on_portal.new_entries("deal", deal) == []


def test_started_after_the_deadline_passed_before_taskbridge_saw_it(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    """The responsible starts the task after it became overdue and before TaskBridge saw the
    deadline pass: the worker is held back (nothing is drained) until both have happened,
    so one observation holds the passed deadline and the later start. §3: the task was
    overdue before it was started, so it stays EXPIRED; the start is refused, and the deal
    gets one timeline entry."""
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Lease", assigned_by=people.manager)
    creator = people.auditor
    task = portal.as_user(creator).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague
    )
    installed.drain()
    deadline = datetime.now(UTC) + DEADLINE_AHEAD
    portal.as_user(creator).update_task(task, DEADLINE=deadline.isoformat())
    installed.drain()
    assert not on_portal.is_overdue(task), "the deadline passed before TaskBridge saw the move"
    assert on_portal.status("deal", deal) == "DEADLINE_CHANGED"
    assert on_portal.badge("deal", deal) == "DEADLINE_CHANGED"
    on_portal.new_entries("deal", deal)

    on_portal.wait_until_overdue(task)
    # A minute after the deadline (on the portal's clock: its dates are whole seconds, and
    # a start stamped the deadline's own second would tie with it).
    portal.advance_time(60)
    portal.as_user(people.colleague).start_task(task)
    assert on_portal.task(task).real_status == IN_PROGRESS
    calls = installed.drain()

    assert on_portal.status("deal", deal) == "EXPIRED"

    assert on_portal.badge("deal", deal) == "EXPIRED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "EXPIRED", Rule.OVERDUE)
    assert on_portal.task(task).real_status == IN_PROGRESS  # TaskBridge left the task as it is
    # One batch reads the task and the deal, one writes the deal's field and its entry.
    assert calls <= 2
