"""§6: a task created from a CRM item's card is bound to it (UF_CRM_TASK), tagged CRM,
given its checklist, announced on the item's timeline, and shown in the item's status at
once; it then follows the statuses like any task."""

from __future__ import annotations

import re

import requests

from tests.scenarios.conftest import People
from tests.support.card_tasks import checklist, status_code, timeline, writes_of
from tests.support.stack import TaskBridge


def test_prepare_the_contract_from_the_deal_card(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    installed.drain()
    tab = installed.open_tab(people.manager, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    assert tab.status_code == 200
    assert "Prepare the contract" in tab.text
    assert 'name="checklist"' in tab.text
    token = re.search(r'name="token" value="([^"]+)"', tab.text).group(1)
    calls = installed.rest_calls
    created = requests.post(
        f"{installed.url}/bitrix/placement/tasks",
        data={"token": token, "title": "Prepare the contract",
              "responsible": str(people.colleague), "task_control": "on",
              "checklist": "Draft the terms\r\n\r\nSend it to legal\nGet it signed\n"},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    # One batch creates the task, its checklist and the note; one more shows its status.
    assert installed.rest_calls - calls == 2
    task_id = int(re.search(r"Task (\d+)", created.text).group(1))
    task = portal.task(task_id)
    assert task["ufCrmTask"] == [f"D_{deal}"]
    assert "CRM" in str(task["tags"])
    assert task["createdBy"] == str(people.manager)
    assert task["taskControl"] == "Y"
    assert checklist(portal, task_id) == ["Draft the terms", "Send it to legal", "Get it signed"]
    notes = timeline(portal, "deal", deal)
    assert any("created from the card" in note and str(task_id) in note for note in notes)
    assert status_code(portal, "deal", deal) == "CREATED"

    status_writes = writes_of(portal, "crm.deal.update")
    assert status_writes == 1
    entries = len(timeline(portal, "deal", deal))
    installed.drain()
    assert installed.task_status(task_id) == "CREATED"
    assert status_code(portal, "deal", deal) == "CREATED"
    # The ONTASKADD pass finds its writes done: nothing is written twice.
    assert writes_of(portal, "crm.deal.update") == status_writes
    assert len(timeline(portal, "deal", deal)) == entries


def test_a_task_for_oneself_shows_viewed_at_once(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    lead = portal.as_user(people.manager).create_lead("Call ACME")
    installed.drain()
    tab = installed.open_tab(people.manager, "CRM_LEAD_DETAIL_TAB", {"ID": str(lead)})
    token = re.search(r'name="token" value="([^"]+)"', tab.text).group(1)
    created = requests.post(
        f"{installed.url}/bitrix/placement/tasks",
        data={"token": token, "title": "Call back", "responsible": str(people.manager)},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    task_id = int(re.search(r"Task (\d+)", created.text).group(1))
    assert portal.task(task_id)["ufCrmTask"] == [f"L_{lead}"]
    assert status_code(portal, "lead", lead) == "VIEWED"
    installed.drain()
    assert installed.task_status(task_id) == "VIEWED"
    assert status_code(portal, "lead", lead) == "VIEWED"


def test_the_tab_speaks_the_portals_language(installed: TaskBridge, people: People) -> None:
    installed.storage.portals.update_settings(installed.portal.member_id, {"language": "it"})
    deal = installed.portal.as_user(people.manager).create_deal("ACME")
    tab = installed.open_tab(people.manager, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    assert tab.status_code == 200
    assert "Nuova attività" in tab.text
    assert "Preparare il contratto" in tab.text
    assert "una voce per riga" in tab.text
    assert "New task" not in tab.text


def test_the_timeline_note_speaks_the_portals_language(installed: TaskBridge,
                                                      people: People) -> None:
    installed.storage.portals.update_settings(installed.portal.member_id, {"language": "it"})
    deal = installed.portal.as_user(people.manager).create_deal("ACME")
    installed.drain()
    tab = installed.open_tab(people.manager, "CRM_DEAL_DETAIL_TAB", {"ID": str(deal)})
    token = re.search(r'name="token" value="([^"]+)"', tab.text).group(1)
    created = requests.post(
        f"{installed.url}/bitrix/placement/tasks",
        data={"token": token, "title": "Preparare il contratto",
              "responsible": str(people.colleague)},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    [task_id] = [t.id for t in installed.portal.emulator.state.tasks.values()
                 if t.title == "Preparare il contratto"]
    notes = timeline(installed.portal, "deal", deal)
    assert (f"Incarico «Preparare il contratto» creato dalla scheda per l'utente "
            f"{people.colleague} (incarico {task_id}) · TaskBridge") in notes
    assert not any("created from the card" in note for note in notes)


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
