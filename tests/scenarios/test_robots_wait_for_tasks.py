"""Automation rules, "Wait for the item's tasks": a deal in its review stage runs the rule,
then the built-in "change stage" to Won. The workflow is held, at no REST cost, until the
deal's last task is completed; then it moves to Won. The hold is kept in the database, so
it survives a worker restart; a hold on a deal with no open task ends at once."""

from __future__ import annotations

from typing import Any

from connector.settings import Settings
from connector.storage.engines import open_storage
from connector.sync.worker import Worker
from mappers.robot_calls import ROBOT_EVENT, WAIT_FOR_TASKS
from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge

UNDER_REVIEW = "EXECUTING"


def review_rules(**properties: str) -> list[dict[str, Any]]:
    return [{"robot": WAIT_FOR_TASKS, "properties": properties},
            {"builtin": "change_stage", "stage_id": "WON"}]


def the_call(taskbridge: TaskBridge) -> dict[str, Any]:
    [row] = [row for row in taskbridge.journal.rows() if row["event"] == ROBOT_EVENT]
    return row


def restarted_worker(settings: Settings) -> Worker:
    """A worker as a new process starts it: its own connection to the database."""
    return Worker(open_storage(settings), settings, batch_size=50)


def test_the_deal_moves_to_won_when_its_last_task_is_completed(installed: TaskBridge,
                                                               people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", UNDER_REVIEW, review_rules())
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    first = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    second = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague)
    installed.drain()

    portal.as_user(people.manager).move_deal(deal, UNDER_REVIEW)
    installed.drain()
    [workflow] = portal.workflows("deal", deal)
    assert workflow["state"] == "waiting"
    call = the_call(installed)
    assert call["detail"]["outcome"].startswith("waiting for 2 open tasks · workflow ")
    assert call["detail"]["requests"] == 0

    portal.as_user(people.colleague).complete_task(first)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == UNDER_REVIEW
    assert portal.workflow(workflow["id"])["state"] == "waiting"

    portal.as_user(people.colleague).complete_task(second)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == "WON"
    assert portal.workflow(workflow["id"])["state"] == "completed"
    released = [row["detail"].get("robots_released") for row in installed.journal.rows()
                if row["detail"] and row["detail"].get("robots_released")]
    assert released and released[-1][0]["workflow_id"] == workflow["id"]


def test_the_hold_survives_a_worker_restart(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", UNDER_REVIEW, review_rules())
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()
    portal.as_user(people.manager).move_deal(deal, UNDER_REVIEW)
    assert portal.emulator.sender.wait_idle(timeout=10)
    first_worker = restarted_worker(installed.settings)
    first_worker.run(until_idle=True)
    first_worker.stop()
    assert portal.workflows("deal", deal)[0]["state"] == "waiting"

    portal.as_user(people.colleague).complete_task(task)
    assert portal.emulator.sender.wait_idle(timeout=10)
    restarted_worker(installed.settings).run(until_idle=True)
    installed.drain()

    assert portal.deal(deal)["STAGE_ID"] == "WON"


def test_a_deal_with_no_open_task_goes_on_at_once(installed: TaskBridge,
                                                  people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", UNDER_REVIEW, review_rules())
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    installed.drain()
    portal.as_user(people.manager).move_deal(deal, UNDER_REVIEW)
    installed.drain()

    assert portal.deal(deal)["STAGE_ID"] == "WON"
    assert the_call(installed)["detail"]["requests"] == 1  # the answer


def test_pending_review_counts_as_done_when_the_rule_says_so(installed: TaskBridge,
                                                             people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", UNDER_REVIEW, review_rules(PendingReviewDone="Y"))
    deal = portal.as_user(people.manager).create_deal("Tender", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        task_control=True)
    installed.drain()
    portal.as_user(people.manager).move_deal(deal, UNDER_REVIEW)
    installed.drain()
    assert portal.deal(deal)["STAGE_ID"] == UNDER_REVIEW

    portal.as_user(people.colleague).complete_task(task)  # controlled: pending review
    installed.drain()
    assert portal.task(task)["status"] == "4"
    assert portal.deal(deal)["STAGE_ID"] == "WON"
