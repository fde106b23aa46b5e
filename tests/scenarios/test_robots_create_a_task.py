"""Automation rules, "Create a task": a deal reaching its contract stage runs TaskBridge's
rule; the task exists bound to the deal, tagged CRM, announced on its timeline, and its
ID goes back to the workflow. The same call delivered twice makes one task. It costs at
most 2 requests, the answer to the workflow included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.sync.worker import Worker
from mappers.robot_calls import CREATE_TASK, ROBOT_EVENT
from tests.scenarios.conftest import People
from tests.support.card_tasks import checklist, timeline, writes_of
from tests.support.stack import CLIENT_ID, TaskBridge

CONTRACT = "PREPARATION"  # "Preparing documents": the contract is drawn up here


def contract_rule(people: People, **more: str) -> list[dict[str, Any]]:
    return [{"robot": CREATE_TASK, "properties": {
        "Title": "Prepare the contract", "Responsible": f"user_{people.colleague}",
        "Description": "Terms as agreed", "DeadlineIn": "+3 days",
        "Checklist": "Draft the terms\nSend it to legal\nGet it signed",
        "CheckOnCompletion": "Y", **more}}]


def robot_rows(taskbridge: TaskBridge) -> list[dict[str, Any]]:
    return [row for row in taskbridge.journal.rows() if row["event"] == ROBOT_EVENT]


def only_robot_rule(workflow: dict[str, Any]) -> dict[str, Any]:
    [rule] = [rule for rule in workflow["rules"] if rule["kind"] == "robot"]
    return rule


def test_the_install_registers_three_rules_for_deals_and_leads(installed: TaskBridge) -> None:
    robots = {robot["code"]: robot for robot in installed.portal.robots(CLIENT_ID)}
    assert set(robots) == {"taskbridge_create_task", "taskbridge_wait_for_tasks",
                           "taskbridge_task_status"}
    create = robots[CREATE_TASK]
    assert create["handler"] == f"{installed.url}/bitrix/robots"
    assert create["name"] == {"en": "TaskBridge: create a task",
                              "it": "TaskBridge: crea un incarico"}
    assert create["use_subscription"] is True
    assert "TaskId" in create["return_properties"]
    assert installed.stored().robots["state"] == "registered"


def test_a_deal_entering_the_contract_stage_gets_its_task(installed: TaskBridge,
                                                          people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people))
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    installed.drain()

    portal.as_user(people.manager).move_deal(deal, CONTRACT)
    installed.drain()

    [workflow] = portal.workflows("deal", deal)
    assert workflow["state"] == "completed"
    rule = only_robot_rule(workflow)
    task_id = int(rule["return_values"]["TaskId"])
    assert rule["return_values"]["Error"] == ""
    task = portal.task(task_id)
    assert task["ufCrmTask"] == [f"D_{deal}"]
    assert "CRM" in str(task["tags"])
    assert task["responsibleId"] == str(people.colleague)
    assert task["taskControl"] == "Y"
    assert checklist(portal, task_id) == ["Draft the terms", "Send it to legal",
                                          "Get it signed"]
    assert any("automation rule" in note and str(task_id) in note
               for note in timeline(portal, "deal", deal))
    [row] = robot_rows(installed)
    assert row["state"] == "done"
    assert row["detail"]["workflow_id"] == workflow["id"]
    assert row["detail"]["returned"]["TaskId"] == task_id
    # The sync log's line for the call: its workflow and what it returned.
    assert row["detail"]["outcome"] == (
        f"answered · workflow {workflow['id']} · returned TaskId={task_id}")
    # REST 3.0 tasks.task.add, then one batch: tag, checklist, note and the answer.
    assert row["detail"]["requests"] <= 2
    installed.drain()
    assert installed.task_status(task_id) == "CREATED"


def test_the_same_call_delivered_twice_makes_one_task(installed: TaskBridge,
                                                      people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people))
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    portal.as_user(people.manager).move_deal(deal, CONTRACT)
    installed.drain()
    [workflow] = portal.workflows("deal", deal)

    portal.redeliver_robot_call(workflow["id"])
    installed.drain()

    assert writes_of(portal, "tasks.task.add") == 1
    tasks = [t for t in portal.emulator.state.tasks.values() if f"D_{deal}" in t.uf_crm_task]
    assert len(tasks) == 1
    first, again = robot_rows(installed)
    assert (first["state"], again["state"]) == ("done", "done")
    assert "repeated delivery" in again["detail"]["outcome"]
    assert again["detail"]["requests"] == 0


def v3_requests(taskbridge: TaskBridge) -> list[int]:
    """The statuses of the requests TaskBridge sent to the portal's `/rest/api/`."""
    return [call.status for call in taskbridge.portal.emulator.call_log.records()
            if call.api == "v3"]


@pytest.mark.parametrize("portal", [{"rest_v3": False}], indirect=True)
def test_a_portal_without_rest_3_gets_its_task_in_one_batch(installed: TaskBridge,
                                                            people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people))
    deals = [portal.as_user(people.manager).create_deal(title, assigned_by=people.manager)
             for title in ("ACME", "Globex", "Initech")]
    installed.drain()

    for deal in deals[:2]:  # two calls in one pass of the worker
        portal.as_user(people.manager).move_deal(deal, CONTRACT)
    installed.drain()
    portal.as_user(people.manager).move_deal(deals[2], CONTRACT)  # a later pass
    installed.drain()

    for deal in deals:
        rule = only_robot_rule(portal.workflows("deal", deal)[0])
        task = portal.task(int(rule["return_values"]["TaskId"]))
        assert task["ufCrmTask"] == [f"D_{deal}"] and "CRM" in str(task["tags"])
    # The first call costs the one REST 3.0 request the portal refuses, then one batch;
    # TaskBridge remembers the portal has no REST 3.0, so later calls go straight to it.
    assert v3_requests(installed) == [404]
    assert [row["detail"]["requests"] for row in robot_rows(installed)] == [2, 1, 1]
    assert installed.stored().robots["rest_v3"] is False
    assert writes_of(portal, "tasks.task.add") == 4  # the refused one and three in batches


@pytest.mark.parametrize("fault", [{"error_500_rate": 1.0}, {"drop_rate": 1.0}],
                         ids=["5xx", "dropped"])
def test_a_rest_3_failure_for_a_moment_is_not_taken_for_a_portal_without_it(
        installed: TaskBridge, people: People, fault: dict[str, float]) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people))
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    installed.drain()
    portal.set_faults(methods=["tasks.task.add"], **fault)
    portal.as_user(people.manager).move_deal(deal, CONTRACT)
    assert portal.sender.wait_idle(timeout=10)

    def client(stored: Any, sink: Any) -> PortalClient:
        return PortalClient.for_portal(installed.storage, installed.settings,
                                       stored.member_id, on_call=sink,
                                       policy=RetryPolicy(max_attempts=1))

    Worker(installed.storage, installed.settings, client_factory=client).run(until_idle=True)

    [row] = robot_rows(installed)
    assert row["state"] == "failed"  # tried again later, with the same Idempotency-Key
    assert installed.stored().robots.get("rest_v3") is not False
    assert "tasks.task.add" in row["error"]
    # The fault answered before the method ran, and no classic batch was tried instead.
    assert writes_of(portal, "tasks.task.add") == 0
    portal.set_faults()
    installed.drain(now=datetime.now(UTC) + timedelta(minutes=1))

    [row] = robot_rows(installed)
    assert row["state"] == "done"
    assert installed.stored().robots.get("rest_v3") is not False
    assert v3_requests(installed)[-1] == 200
    tasks = [t for t in portal.emulator.state.tasks.values() if f"D_{deal}" in t.uf_crm_task]
    assert len(tasks) == 1


def test_a_rule_with_an_unreadable_deadline_is_answered_with_an_error_in_the_log(
        installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people, DeadlineIn="soon"))
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    portal.as_user(people.manager).move_deal(deal, CONTRACT)
    installed.drain()

    rule = only_robot_rule(portal.workflows("deal", deal)[0])
    assert rule["return_values"]["TaskId"] in (0, "0")
    assert "DeadlineIn" in rule["return_values"]["Error"]
    assert any("TaskBridge could not run this rule" in line for line in rule["log"])
    assert writes_of(portal, "tasks.task.add") == 0


def test_a_responsible_the_portal_does_not_know_is_answered_with_an_error(
        installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("deal", CONTRACT, contract_rule(people, Responsible="user_999"))
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    portal.as_user(people.manager).move_deal(deal, CONTRACT)
    installed.drain()

    [workflow] = portal.workflows("deal", deal)
    assert workflow["state"] == "completed"
    rule = only_robot_rule(workflow)
    assert rule["return_values"]["TaskId"] in (0, "0")
    assert rule["return_values"]["Error"]
    assert any("TaskBridge could not run this rule" in line for line in rule["log"])
    assert [t for t in portal.emulator.state.tasks.values() if f"D_{deal}" in t.uf_crm_task] == []
    [row] = robot_rows(installed)
    assert row["state"] == "done"


def test_a_lead_gets_its_task_too(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    portal.set_automation_rules("lead", "IN_PROCESS", contract_rule(people))
    lead = portal.as_user(people.manager).create_lead("Call ACME")
    installed.drain()
    portal.as_user(people.manager).move_lead(lead, "IN_PROCESS")
    installed.drain()

    rule = only_robot_rule(portal.workflows("lead", lead)[0])
    task = portal.task(int(rule["return_values"]["TaskId"]))
    assert task["ufCrmTask"] == [f"L_{lead}"] and "CRM" in str(task["tags"])
    assert any("automation rule" in note for note in timeline(portal, "lead", lead))
