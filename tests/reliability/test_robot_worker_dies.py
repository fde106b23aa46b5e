"""A worker that dies right after the portal created a rule's task, before TaskBridge
recorded it: the next worker finds the same task and answers the workflow with it. REST
3.0 replays the stored answer to the same Idempotency-Key; a portal without REST 3.0 is
asked for the task (by its item, title and time) before anything is sent again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connector.rest.call_log import CallRecord
from connector.storage.journal_rows import Claimed
from connector.sync.worker import Worker
from mappers.robot_calls import CREATE_TASK
from tests.support.stack import TaskBridge

CONTRACT = "PREPARATION"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


@pytest.fixture
def installed(taskbridge: TaskBridge) -> TaskBridge:
    taskbridge.install("page")
    taskbridge.drain()
    return taskbridge


def _die_after_creating(record: CallRecord, _row: Claimed) -> None:
    # A refused REST 3.0 request (a portal without it) created nothing: go on to the next.
    if "tasks.task.add" in (record.method + str(record.params)) and record.error_code is None:
        raise Killed


def deal_in_contract_stage(bridge: TaskBridge) -> int:
    portal = bridge.portal
    portal.set_automation_rules("deal", CONTRACT, [{"robot": CREATE_TASK, "properties": {
        "Title": "Prepare the contract", "Responsible": "user_1"}}])
    deal = portal.as_user(1).create_deal("ACME")
    bridge.drain()
    portal.as_user(1).move_deal(deal, CONTRACT)
    assert portal.sender.wait_idle(timeout=10)
    return deal


def tasks_of(bridge: TaskBridge, deal: int) -> list[Any]:
    return [t for t in bridge.portal.emulator.state.tasks.values()
            if f"D_{deal}" in t.uf_crm_task]


def v3_requests(bridge: TaskBridge) -> list[int]:
    """The statuses of the requests TaskBridge sent to the portal's `/rest/api/`."""
    return [call.status for call in bridge.portal.emulator.call_log.records()
            if call.api == "v3"]


def look_ups(bridge: TaskBridge) -> int:
    """The `tasks.task.list` calls that looked for the rule's task by its title."""
    return sum(1 for call in bridge.portal.emulator.call_log.records()
               if call.method == "tasks.task.list"
               and "TITLE" in (call.params.get("filter") or {}))


@pytest.mark.parametrize("portal", [{}, {"rest_v3": False}], indirect=True,
                         ids=["rest 3.0", "classic"])
def test_the_task_a_dead_worker_created_is_not_created_again(installed: TaskBridge) -> None:
    rest_v3 = installed.portal.emulator.offers_rest_v3
    deal = deal_in_contract_stage(installed)
    doomed = Worker(installed.storage, installed.settings, on_call=_die_after_creating)
    with pytest.raises(Killed):
        doomed.run(until_idle=True)
    assert len(tasks_of(installed, deal)) == 1, "the portal created the task"
    # REST 3.0 created it; a portal without it refused the one REST 3.0 request.
    assert v3_requests(installed) == ([200] if rest_v3 else [404])
    installed.journal.release_stale(older_than=timedelta(0))  # its lock expired

    installed.drain()

    [task] = tasks_of(installed, deal)
    [workflow] = installed.portal.workflows("deal", deal)
    assert workflow["state"] == "completed"
    [rule] = workflow["rules"]
    assert int(rule["return_values"]["TaskId"]) == task.id
    # REST 3.0 replays the stored answer to the same key; a portal without it is asked
    # for the task, with no second REST 3.0 request (it is remembered as without it).
    assert v3_requests(installed) == ([200, 200] if rest_v3 else [404])
    assert look_ups(installed) == (0 if rest_v3 else 1)
