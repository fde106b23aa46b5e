"""§7.7: the deal is won with two open tasks, one with "check on completion": one goes
FINISHED, the other CONTROL_WAITING, whoever TaskBridge acts as."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge

ADMIN = 1  # the user who installed TaskBridge: it acts as them


@pytest.mark.parametrize("creator", ["manager", "admin"])
def test_winning_the_deal_closes_its_tasks(
    installed: TaskBridge, people: People, creator: str
) -> None:
    portal = installed.portal
    author = people.manager if creator == "manager" else ADMIN
    deal = portal.as_user(people.manager).create_deal("Big order", assigned_by=people.manager)
    plain = portal.as_user(author).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague
    )
    controlled = portal.as_user(author).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        task_control=True,
    )
    installed.drain()

    portal.as_user(people.manager).move_deal(deal, "WON")
    calls = installed.drain()

    assert portal.task(plain)["status"] == "5"
    assert portal.task(controlled)["status"] == "4"
    assert installed.task_status(plain) == "FINISHED"
    assert installed.task_status(controlled) == "CONTROL_WAITING"
    notes = [e.text for e in portal.emulator.state.timeline.values() if e.entity_id == deal]
    assert any("Send the invoice" in note and "Completed" in note for note in notes)
    assert calls <= 6
