"""Robot calls are believed only with their portal's application token: a forged call is
refused before the journal, and creates nothing. The event token of a real call never
reaches the journal or the sync log in clear."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests

from emulator import php_form
from mappers.robot_calls import CREATE_TASK
from tests.security.conftest import ADMIN_TOKEN
from tests.support.stack import TaskBridge

CONTRACT = "PREPARATION"


@pytest.fixture
def robot_call(secured: TaskBridge) -> dict[str, Any]:
    """The form of a real "Create a task" call the portal delivered: valid, to break."""
    portal = secured.portal
    portal.set_automation_rules("deal", CONTRACT, [{"robot": CREATE_TASK, "properties": {
        "Title": "Prepare the contract", "Responsible": "user_1"}}])
    deal = portal.as_user(1).create_deal("ACME")
    portal.as_user(1).move_deal(deal, CONTRACT)
    assert portal.sender.wait_idle(timeout=10)
    secured.drain()
    [delivered] = [d for d in portal.delivered_events if d.payload.get("code") == CREATE_TASK]
    return delivered.payload


def post_call(bridge: TaskBridge, payload: dict[str, Any]) -> requests.Response:
    return requests.post(f"{bridge.url}/bitrix/robots", data=php_form.encode(payload),
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         timeout=10)


def tasks_of(bridge: TaskBridge) -> int:
    return len(bridge.portal.emulator.state.tasks)


@pytest.mark.parametrize("forge", [
    lambda call: call["auth"].update(application_token="f" * 32),
    lambda call: call["auth"].pop("application_token"),
    lambda call: call["auth"].update(member_id="0" * 32),
])
def test_a_forged_call_is_refused_and_creates_nothing(secured: TaskBridge,
                                                      robot_call: dict[str, Any],
                                                      forge: Any) -> None:
    forged = copy.deepcopy(robot_call)
    forged["workflow_id"] = "forged.workflow"
    forged["event_token"] = "forged|token"
    forge(forged)
    journaled, tasks, calls = secured.journal.count(), tasks_of(secured), secured.rest_calls
    answer = post_call(secured, forged)
    assert answer.status_code in (400, 401)
    assert secured.journal.count() == journaled
    secured.drain()
    assert tasks_of(secured) == tasks
    assert secured.rest_calls == calls


def test_the_event_token_is_kept_sealed(secured: TaskBridge, robot_call: dict[str, Any]) -> None:
    token = robot_call["event_token"]
    rows = secured.journal.rows()
    stored = json.dumps([(row["payload"], row["detail"]) for row in rows], default=str)
    assert token not in stored
    assert robot_call["auth"]["application_token"] not in stored
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    [call] = [row for row in rows if row["source"] == "robot"]
    for path in ("/admin/", f"/admin/events/{call['id']}"):
        page = requests.get(f"{secured.url}{path}", headers=bearer, timeout=10)
        assert page.status_code == 200
        assert token not in page.text
    assert robot_call["workflow_id"] in page.text
