"""§7.7: the deal is won with two open tasks, one with "check on completion": one goes
FINISHED, the other CONTROL_WAITING, whoever TaskBridge acts as (§5). The closing is
announced on the deal's timeline, naming each task, its new status and the reason."""

from __future__ import annotations

import pytest

from mappers.closing import ClosingReason
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, TaskCard, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

ADMIN = 1  # the user who installed TaskBridge: it acts as them
SUPPOSEDLY_COMPLETED, COMPLETED = 4, 5


@pytest.mark.parametrize("creator", ["manager", "admin"])
def test_winning_the_deal_closes_its_tasks(
    installed: TaskBridge, people: People, on_portal: AdminView, creator: str
) -> None:
    portal = installed.portal
    author = people.manager if creator == "manager" else ADMIN
    deal = portal.as_user(people.manager).create_deal("Big order", assigned_by=people.manager)
    plain = portal.as_user(author).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague, tags=["urgent"]
    )
    controlled = portal.as_user(author).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        task_control=True,
    )
    installed.drain()
    assert len(on_portal.new_entries("deal", deal)) == 2

    portal.as_user(people.manager).move_deal(deal, "WON")
    calls = installed.drain()

    assert on_portal.task(plain) == TaskCard(COMPLETED, frozenset({"urgent", "CRM"}))
    assert on_portal.task(controlled) == TaskCard(SUPPOSEDLY_COMPLETED, frozenset({"CRM"}))
    # Both changed in the same closing: either one is the last changed.
    assert on_portal.status("deal", deal) in {"FINISHED", "CONTROL_WAITING"}
    # The deal or lead is closed: its activity is closed, the badge leaves the card.
    assert on_portal.badge("deal", deal) == ""
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, "Send the invoice", "FINISHED", ClosingReason.ITEM_CLOSED)
    assert says(entry, "Prepare the contract", "CONTROL_WAITING", ClosingReason.UNDER_CONTROL)
    assert calls <= 6
