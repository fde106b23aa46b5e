"""`POST /bitrix/robots`: a call of one of TaskBridge's automation rules is verified like an
event, journaled with its event token sealed, and answered 200; anything else gets a 4xx
with its reason and leaves the journal unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from mappers.php_form import encode_form
from mappers.robot_calls import CREATE_TASK, ROBOT_EVENT
from tests.webhooks.conftest import APP_TOKEN, MEMBER, Receiver

EVENT_TOKEN = "6751a0c2d4e5f6.12345678|A1_2_3|hsyUws1j4XiwqPqN45eH66CcQtEvpUIP.47dd5d"


def robot_call(**changes: Any) -> dict[str, Any]:
    """A "Create a task" call on deal 42, as the portal's queue server posts it."""
    body: dict[str, Any] = {
        "workflow_id": "6751a0c2d4e5f6.12345678",
        "code": CREATE_TASK,
        "document_id": ["crm", "CCrmDocumentDeal", "DEAL_42"],
        "document_type": ["crm", "CCrmDocumentDeal", "DEAL"],
        "event_token": EVENT_TOKEN,
        "properties": {"Title": "Prepare the contract", "Responsible": "user_7"},
        "use_subscription": "Y",
        "timeout_duration": "0",
        "ts": "1764150000",
        "auth": {"access_token": "robot-access-token", "expires_in": "3600",
                 "scope": "crm,task,bizproc", "domain": "portal.example.com",
                 "server_endpoint": "https://oauth.bitrix.info/rest/", "status": "L",
                 "client_endpoint": "https://portal.example.com/rest/", "member_id": MEMBER,
                 "user_id": "1", "refresh_token": "robot-refresh-token",
                 "application_token": APP_TOKEN},
    }
    body.update(changes)
    return body


def post(receiver: Receiver, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{receiver.server.url}/bitrix/robots", data=encode_form(body),
                         timeout=10)


def test_a_call_is_journaled_for_its_deal_and_answered_ok(receiver: Receiver) -> None:
    response = post(receiver, robot_call())
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}
    [row] = receiver.journal.rows()
    assert (row["event"], row["object_key"], row["source"], row["state"]) == (
        ROBOT_EVENT, "deal:42", "robot", "pending")
    assert str(row["id"]) == response.headers["X-TaskBridge-Journal-Id"]
    payload = row["payload"]
    assert payload["workflow_id"] == "6751a0c2d4e5f6.12345678"
    assert payload["properties"]["Title"] == "Prepare the contract"
    stored = json.dumps(payload)
    for secret in (EVENT_TOKEN, APP_TOKEN, "robot-access-token", "robot-refresh-token"):
        assert secret not in stored
    assert receiver.storage.cipher.decrypt(payload["sealed_event_token"]) == EVENT_TOKEN


def test_the_same_call_delivered_twice_is_journaled_once(receiver: Receiver) -> None:
    for _ in range(2):
        assert post(receiver, robot_call()).status_code == 200
    first, second = receiver.journal.rows()
    assert (first["state"], second["state"]) == ("pending", "duplicate")


def test_a_call_with_the_wrong_application_token_is_refused(receiver: Receiver) -> None:
    forged = robot_call()
    forged["auth"] = {**forged["auth"], "application_token": "forged"}
    response = post(receiver, forged)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_application_token"
    assert receiver.journal.count() == 0


def test_a_call_from_an_unknown_portal_is_refused(receiver: Receiver) -> None:
    stranger = robot_call()
    stranger["auth"] = {**stranger["auth"], "member_id": "ffff"}
    assert post(receiver, stranger).status_code == 401
    assert receiver.journal.count() == 0


@pytest.mark.parametrize(("changes", "field_name"), [
    ({"auth": ""}, "auth"),
    ({"code": "someone_elses_robot"}, "code"),
    ({"workflow_id": ""}, "workflow_id"),
    ({"event_token": ""}, "event_token"),
    ({"document_id": ["crm", "CCrmDocumentContact", "CONTACT_4"]}, "document_id"),
    ({"document_id": ["crm", "CCrmDocumentDeal", "DEAL_²"]}, "document_id"),
    ({"document_id": ["crm", "CCrmDocumentDeal", "DEAL_" + "9" * 25]}, "document_id"),
    ({"ts": "yesterday"}, "ts"),
])
def test_a_malformed_call_is_a_bad_request_naming_its_field(
        receiver: Receiver, changes: dict[str, Any], field_name: str) -> None:
    response = post(receiver, robot_call(**changes))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_robot_call"
    assert response.json()["field"] == field_name
    assert receiver.journal.count() == 0


def test_a_body_over_the_limit_is_refused(receiver: Receiver) -> None:
    huge = robot_call(properties={"Title": "x" * 2_000_000, "Responsible": "user_7"})
    response = post(receiver, huge)
    assert response.status_code == 413
    assert receiver.journal.count() == 0


def test_a_call_for_an_uninstalled_portal_is_gone(receiver: Receiver) -> None:
    receiver.storage.portals.mark_uninstalled(MEMBER)
    assert post(receiver, robot_call()).status_code == 410
    assert receiver.journal.count() == 0
