"""§6: a task created from a CRM item's card is bound to it (UF_CRM_TASK), tagged CRM,
and announced on the item's timeline; it then follows the statuses like any task."""

from __future__ import annotations

import re

import requests

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def test_prepare_the_contract_from_the_deal_card(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    installed.drain()
    tab = installed.open_tab(people.manager, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    assert tab.status_code == 200
    assert "Prepare the contract" in tab.text
    token = re.search(r'name="token" value="([^"]+)"', tab.text).group(1)
    calls = installed.rest_calls
    created = requests.post(
        f"{installed.url}/bitrix/placement/tasks",
        data={"token": token, "title": "Prepare the contract",
              "responsible": str(people.colleague), "task_control": "on"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    assert installed.rest_calls - calls == 1
    task_id = int(re.search(r"Task (\d+)", created.text).group(1))
    task = portal.task(task_id)
    assert task["ufCrmTask"] == [f"D_{deal}"]
    assert "CRM" in str(task["tags"])
    assert task["createdBy"] == str(people.manager)
    assert task["taskControl"] == "Y"
    notes = [e.text for e in portal.emulator.state.timeline.values() if e.entity_id == deal]
    assert any("created from the card" in note and str(task_id) in note for note in notes)
    installed.drain()
    assert installed.task_status(task_id) == "CREATED"


def test_a_forged_form_is_refused(installed: TaskBridge) -> None:
    response = requests.post(f"{installed.url}/bitrix/placement/tasks",
                             data={"token": "forged", "title": "x", "responsible": "1"},
                             timeout=10)
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_form_token"


def test_a_form_without_a_title_is_refused(installed: TaskBridge, people: People) -> None:
    deal = installed.portal.as_user(people.manager).create_deal("ACME")
    tab = installed.open_tab(people.manager, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    token = re.search(r'name="token" value="([^"]+)"', tab.text).group(1)
    response = requests.post(f"{installed.url}/bitrix/placement/tasks",
                             data={"token": token, "title": " ", "responsible": "1"},
                             timeout=10)
    assert response.status_code == 400
    assert "title" in response.json()["error_description"]
