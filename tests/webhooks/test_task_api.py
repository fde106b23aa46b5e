"""`POST /bitrix/tasks`: automations create a task bound to a deal or lead, authenticated
with the portal's bearer token, against the emulated portal over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connector.portals.automation_token import automation_token
from tests.scenarios import conftest as scenario
from tests.scenarios.conftest import People
from tests.support.card_tasks import checklist, status_code, timeline, writes_of
from tests.support.stack import TaskBridge

installed = scenario.installed  # the scenarios' fixtures: an installed TaskBridge, its people
people = scenario.people


def _post(stack: TaskBridge, body: dict[str, Any], token: str | None = None) -> Any:
    token = automation_token(stack.settings, stack.portal.member_id) if token is None else token
    return requests.post(f"{stack.url}/bitrix/tasks", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _valid(stack: TaskBridge, people: People, deal: int) -> dict[str, Any]:
    return {
        "member_id": stack.portal.member_id, "entity": "deal", "item_id": deal,
        "title": "Send the offer", "responsible_id": people.colleague,
        "created_by": people.manager, "description": "Prices of 2026",
        "deadline": "2030-05-04T17:00:00+02:00",
        "checklist": ["Prices", "Delivery terms"], "task_control": True,
        "result_required": True,
    }


@pytest.fixture
def deal(installed: TaskBridge, people: People) -> int:
    made = installed.portal.as_user(people.manager).create_deal("ACME",
                                                                 assigned_by=people.manager)
    installed.drain()
    return int(made)


def test_an_automation_creates_a_bound_task(installed: TaskBridge, people: People,
                                            deal: int) -> None:
    portal = installed.portal
    calls = installed.rest_calls
    response = _post(installed, _valid(installed, people, deal))
    assert response.status_code == 201, response.text
    task_id = response.json()["task_id"]
    assert installed.rest_calls - calls == 2  # the creation batch, the status write
    task = portal.task(task_id)
    assert task["title"] == "Send the offer"
    assert task["description"] == "Prices of 2026"
    assert task["ufCrmTask"] == [f"D_{deal}"]
    assert "CRM" in str(task["tags"])
    assert task["createdBy"] == str(people.manager)
    assert task["responsibleId"] == str(people.colleague)
    assert task["taskControl"] == "Y"
    assert task["deadline"].startswith("2030-05-04T15:00:00")
    assert checklist(portal, task_id) == ["Prices", "Delivery terms"]
    assert any("created from the card" in note and str(task_id) in note
               for note in timeline(portal, "deal", deal))
    assert status_code(portal, "deal", deal) == "CREATED"
    written = writes_of(portal, "crm.deal.update")
    installed.drain()
    assert installed.task_status(task_id) == "CREATED"
    assert writes_of(portal, "crm.deal.update") == written


@pytest.mark.parametrize(("break_it", "field"), [
    ({"entity": "contact"}, "entity"),
    ({"entity": {"a": "b"}}, "entity"),
    ({"entity": ["deal"]}, "entity"),
    ({"item_id": "D_1"}, "item_id"),
    ({"title": "  "}, "title"),
    ({"title": None}, "title"),
    ({"responsible_id": True}, "responsible_id"),
    ({"created_by": -3}, "created_by"),
    ({"deadline": "next friday"}, "deadline"),
    ({"checklist": "Prices"}, "checklist"),
    ({"checklist": ["ok", ""]}, "checklist"),
    ({"task_control": "yes"}, "task_control"),
    ({"result_required": 1}, "result_required"),
    ({"priority": "high"}, "priority"),
])
def test_a_bad_field_is_named(installed: TaskBridge, people: People, deal: int,
                              break_it: dict[str, Any], field: str) -> None:
    calls = installed.rest_calls
    response = _post(installed, {**_valid(installed, people, deal), **break_it})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_field"
    assert response.json()["field"] == field
    assert response.json()["error_description"].startswith(f"{field}: ")
    assert installed.rest_calls == calls


def test_a_wrong_token_is_refused(installed: TaskBridge, people: People,
                                  deal: int) -> None:
    calls = installed.rest_calls
    response = _post(installed, _valid(installed, people, deal), token="0" * 64)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    missing = requests.post(f"{installed.url}/bitrix/tasks",
                            json=_valid(installed, people, deal), timeout=10)
    assert missing.status_code == 401
    other = automation_token(installed.settings, "another-portal")
    assert _post(installed, _valid(installed, people, deal), token=other).status_code == 401
    assert installed.rest_calls == calls


def test_an_unknown_member_is_refused(installed: TaskBridge, people: People,
                                      deal: int) -> None:
    body = {**_valid(installed, people, deal), "member_id": "unknown-member"}
    response = _post(installed, body, token=automation_token(installed.settings,
                                                              "unknown-member"))
    assert response.status_code == 401
    assert response.json()["error"] == "unknown_portal"


def test_a_missing_item_creates_nothing(installed: TaskBridge, people: People,
                                        deal: int) -> None:
    tasks_before = len(installed.portal.emulator.state.tasks)
    response = _post(installed, {**_valid(installed, people, deal), "item_id": deal + 1000})
    assert response.status_code == 404, response.text
    assert response.json()["field"] == "item_id"
    assert len(installed.portal.emulator.state.tasks) == tasks_before


def test_only_json_is_read(installed: TaskBridge) -> None:
    response = requests.post(f"{installed.url}/bitrix/tasks", data={"title": "x"}, timeout=10)
    assert response.status_code == 415
    broken = requests.post(f"{installed.url}/bitrix/tasks", data="[1]", timeout=10,
                           headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_json"


def test_a_responsible_the_portal_does_not_know_is_the_senders_error(
        installed: TaskBridge, people: People, deal: int) -> None:
    tasks_before = len(installed.portal.emulator.state.tasks)
    response = _post(installed, {**_valid(installed, people, deal), "responsible_id": 9999})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "portal_refused"
    assert len(installed.portal.emulator.state.tasks) == tasks_before
