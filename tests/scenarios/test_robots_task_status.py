"""Automation rules, "Task status": the rule returns the deal's CRM task status (the code
and the label its field shows) and its number of open tasks, for conditions in the rules
after it. It reads what TaskBridge stored: the answer is its only request."""

from __future__ import annotations

from typing import Any

from mappers.robot_calls import ROBOT_EVENT, TASK_STATUS
from tests.scenarios.conftest import People
from tests.support.card_tasks import status_code
from tests.support.stack import TaskBridge

CHECKED = "FINAL_INVOICE"


def returned(portal: Any, deal: int) -> dict[str, Any]:
    [rule] = [rule for workflow in portal.workflows("deal", deal) for rule in workflow["rules"]
              if rule["kind"] == "robot"]
    return rule["return_values"]


def test_the_rule_returns_what_the_field_shows(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CHECKED, [{"robot": TASK_STATUS, "properties": {}}])
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague)
    installed.drain()
    portal.as_user(people.colleague).start_task(task)
    installed.drain()
    shown = status_code(portal, "deal", deal)
    assert shown == "IN_PROGRESS"

    portal.as_user(people.manager).move_deal(deal, CHECKED)
    installed.drain()

    values = returned(portal, deal)
    assert values["StatusCode"] == shown
    assert values["StatusLabel"] == "In progress"
    assert int(values["OpenTasks"]) == 2
    assert values["Error"] == ""
    [row] = [row for row in installed.journal.rows() if row["event"] == ROBOT_EVENT]
    assert row["detail"]["requests"] == 1
    assert row["detail"]["returned"]["StatusCode"] == shown


def test_a_deal_without_tasks_has_no_status_and_none_open(installed: TaskBridge,
                                                          people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CHECKED, [{"robot": TASK_STATUS, "properties": {}}])
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    portal.as_user(people.manager).move_deal(deal, CHECKED)
    installed.drain()

    values = returned(portal, deal)
    assert (values["StatusCode"], int(values["OpenTasks"])) == ("", 0)
