"""§5 review stage: a deal moved to a final stage with open tasks waits in its funnel's
review stage, says why on the timeline, and moves on to the final stage asked for once
its last open task is completed. Nothing is closed meanwhile."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge

REVIEW = "EXECUTING"


def test_a_won_deal_waits_for_its_tasks(installed: TaskBridge, people: People) -> None:
    installed.storage.portals.update_settings(
        installed.portal.member_id, {"review_stage": {"0": REVIEW}}
    )
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    first = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    second = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague
    )
    installed.drain()

    portal.as_user(people.manager).move_deal(deal, "WON")
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == REVIEW
    assert portal.task(first)["status"] == "2"
    notes = [e.text for e in portal.emulator.state.timeline.values() if e.entity_id == deal]
    assert any("review" in note.lower() for note in notes), notes

    portal.as_user(people.colleague).complete_task(first)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == REVIEW

    portal.as_user(people.colleague).complete_task(second)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == "WON"
    assert installed.task_status(second) == "FINISHED"


def test_moving_the_held_deal_by_hand_wins(installed: TaskBridge, people: People) -> None:
    installed.storage.portals.update_settings(
        installed.portal.member_id, {"review_stage": {"0": REVIEW}}
    )
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague
    )
    installed.drain()
    portal.as_user(people.manager).move_deal(deal, "LOSE")
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == REVIEW
    portal.as_user(people.manager).move_deal(deal, "PREPARATION")
    installed.drain()
    portal.as_user(people.colleague).complete_task(task)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == "PREPARATION"
