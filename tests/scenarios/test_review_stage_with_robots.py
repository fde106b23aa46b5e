"""The article's review-stage workaround written with automation rules only, no TaskBridge
setting: the funnel's review stage runs "TaskBridge: wait for the item's tasks", then the
built-in "change stage" to Won. A deal moved there with open tasks waits; its last task
completed moves it on. Moving the deal out of the review stage by hand ends its workflow,
and the hold with it: the hand wins. (`test_review_stage_hold.py` is the same story with
the `review_stage` setting; the README says when to use which.)"""

from __future__ import annotations

from mappers.robot_calls import WAIT_FOR_TASKS
from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge

REVIEW = "FINAL_INVOICE"  # the funnel's extra stage, "awaiting the tasks"
RULES = [{"robot": WAIT_FOR_TASKS, "properties": {}},
         {"builtin": "change_stage", "stage_id": "WON"}]


def test_a_deal_in_review_is_won_once_its_tasks_are_done(installed: TaskBridge,
                                                         people: People) -> None:
    assert installed.stored().settings.get("review_stage", {}) == {}
    portal = installed.portal
    portal.set_automation_rules("deal", REVIEW, RULES)
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()

    portal.as_user(people.manager).move_deal(deal, REVIEW)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == REVIEW
    assert portal.task(task)["status"] == "2"  # nothing is closed meanwhile

    portal.as_user(people.colleague).complete_task(task)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == "WON"
    assert installed.task_status(task) == "FINISHED"


def test_moving_the_waiting_deal_by_hand_wins(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", REVIEW, RULES)
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()
    portal.as_user(people.manager).move_deal(deal, REVIEW)
    installed.drain()
    [workflow] = portal.workflows("deal", deal)

    portal.as_user(people.manager).move_deal(deal, "PREPARATION")
    installed.drain()
    assert portal.workflow(workflow["id"])["state"] == "terminated"
    portal.as_user(people.colleague).complete_task(task)
    installed.drain()

    assert portal.deal(deal)["STAGE_ID"] == "PREPARATION"
    released = [entry for row in installed.journal.rows()
                for entry in (row["detail"] or {}).get("robots_released", [])]
    assert [entry["outcome"] for entry in released] == [
        "the workflow no longer waits for this call"]
