"""A rule's call TaskBridge cannot carry out, however often it tries, still gets an
answer: on the last try the workflow is told why, with the `Error` value and a line in
its log, instead of waiting for ever."""

from __future__ import annotations

from typing import Any

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.storage.robot_waits import ANSWERED, RobotWaitStore
from connector.sync.worker import Worker
from emulator.faults import FaultSettings
from mappers.robot_calls import CREATE_TASK, ROBOT_EVENT
from tests.support.stack import TaskBridge

CONTRACT = "PREPARATION"


def test_a_call_that_keeps_failing_is_answered_with_why(taskbridge: TaskBridge) -> None:
    taskbridge.install("page")
    taskbridge.drain()
    portal = taskbridge.portal
    portal.set_automation_rules("deal", CONTRACT, [{"robot": CREATE_TASK, "properties": {
        "Title": "Prepare the contract", "Responsible": "user_1"}}])
    deal = portal.as_user(1).create_deal("ACME")
    taskbridge.drain()
    portal.emulator.faults.configure(FaultSettings(error_500_rate=1.0,
                                                   methods=frozenset({"tasks.task.add"})))
    portal.as_user(1).move_deal(deal, CONTRACT)
    assert portal.sender.wait_idle(timeout=10)

    settings = taskbridge.settings.model_copy(update={"worker_max_attempts": 1})

    def client(stored: Any, sink: Any) -> PortalClient:
        return PortalClient.for_portal(taskbridge.storage, settings, stored.member_id,
                                       on_call=sink, policy=RetryPolicy(max_attempts=1))

    Worker(taskbridge.storage, settings, client_factory=client).run(until_idle=True)

    [row] = [row for row in taskbridge.journal.rows() if row["event"] == ROBOT_EVENT]
    assert row["state"] == "dead"
    [workflow] = portal.workflows("deal", deal)
    [rule] = workflow["rules"]
    assert workflow["state"] == "completed"
    assert rule["return_values"]["Error"]
    assert any("TaskBridge could not run this rule" in line for line in rule["log"])
    # A later delivery of the same call finds it answered.
    stored = taskbridge.stored()
    assert RobotWaitStore(taskbridge.storage.engine, taskbridge.storage.cipher).count(
        stored.id, ANSWERED) == 1
