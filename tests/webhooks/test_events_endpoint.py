"""The event receiver: verified, journaled, answered; bad input gets a 4xx and leaves
the journal unchanged."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlencode

import requests

from tests.webhooks.conftest import MEMBER, Receiver, task_event


def test_a_valid_event_is_journaled_and_answered_ok(receiver: Receiver) -> None:
    response = requests.post(receiver.events_url, data=task_event(), timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    [row] = receiver.journal.rows()
    assert (row["event"], row["object_key"], row["state"]) == ("ONTASKUPDATE", "task:31", "pending")
    assert row["payload"]["auth"]["access_token"] == "[redacted]"
    assert row["payload"]["auth"]["application_token"] == "[redacted]"
    assert "event-access-token" not in json.dumps(row["payload"])
    assert row["correlation_id"] == response.headers["X-Request-ID"]


def test_json_bodies_are_accepted_too(receiver: Receiver) -> None:
    from mappers.php_form import parse_form

    response = requests.post(receiver.events_url, json=parse_form(task_event()), timeout=10)
    assert response.status_code == 200
    assert receiver.journal.count(state="pending") == 1


def test_a_repeat_is_recorded_as_a_duplicate(receiver: Receiver) -> None:
    for _ in range(2):
        assert requests.post(receiver.events_url, data=task_event(), timeout=10).ok
    first, second = receiver.journal.rows()
    assert (first["state"], second["state"]) == ("pending", "duplicate")
    assert second["detail"] == {"duplicate_of": first["id"]}


def test_unknown_events_are_journaled_as_ignored(receiver: Receiver) -> None:
    response = requests.post(receiver.events_url, data=task_event("ONUSERADD"), timeout=10)
    assert response.status_code == 200
    assert receiver.journal.count(state="ignored") == 1


def test_wrong_application_token_is_refused(receiver: Receiver) -> None:
    response = requests.post(
        receiver.events_url, data=task_event(application_token="forged"), timeout=10
    )
    assert response.status_code == 401
    assert response.json() == {"status": "error", "error": "invalid_application_token"}
    assert receiver.journal.count() == 0


def test_unknown_member_is_refused(receiver: Receiver) -> None:
    response = requests.post(receiver.events_url, data=task_event(member_id="ffff"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_application_token"
    assert receiver.journal.count() == 0


def test_missing_auth_is_a_bad_request(receiver: Receiver) -> None:
    response = requests.post(receiver.events_url, data={"event": "ONTASKADD"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_event"
    assert receiver.journal.count() == 0


def test_a_truncated_body_is_a_bad_request(receiver: Receiver) -> None:
    body = urlencode(task_event()).encode()
    with socket.create_connection(("127.0.0.1", receiver.server.port), timeout=10) as conn:
        conn.sendall(
            b"POST /bitrix/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        conn.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: conn.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 400")
    assert receiver.journal.count() == 0


def test_a_malformed_key_is_a_bad_request(receiver: Receiver) -> None:
    data = urlencode(task_event()) + "&data[FIELDS_AFTER][ID=5"
    response = requests.post(
        receiver.events_url, data=data, timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_form"
    assert receiver.journal.count() == 0


def test_a_huge_body_is_too_large(receiver: Receiver) -> None:
    data = [*task_event(), ("data[PADDING]", "x" * 300000)]
    response = requests.post(receiver.events_url, data=data, timeout=10)
    assert response.status_code == 413
    assert receiver.journal.count() == 0


def test_ten_thousand_keys_are_a_bad_request(receiver: Receiver) -> None:
    data = task_event() + [(f"data[K{i}]", "1") for i in range(10_000)]
    response = requests.post(receiver.events_url, data=data, timeout=10)
    assert response.status_code == 400
    assert "max_keys limit of 500" in response.json()["error_description"]
    assert receiver.journal.count() == 0


def test_too_deep_is_a_bad_request(receiver: Receiver) -> None:
    data = [*task_event(), ("data" + "[a]" * 20, "1")]
    response = requests.post(receiver.events_url, data=data, timeout=10)
    assert response.status_code == 400
    assert receiver.journal.count() == 0


def test_a_non_form_content_type_is_refused(receiver: Receiver) -> None:
    response = requests.post(
        receiver.events_url, data=urlencode(task_event()), timeout=10,
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert receiver.journal.count() == 0


def test_an_event_naming_another_domain_is_verified_by_token_only(receiver: Receiver) -> None:
    data = task_event(domain="evil.example.net", client_endpoint="http://127.0.0.1:9/rest/")
    assert requests.post(receiver.events_url, data=data, timeout=10).status_code == 200
    assert receiver.storage.portals.get(MEMBER).client_endpoint == (
        "https://portal.example.com/rest/"
    )


def test_uninstall_with_clean_leaves_no_data(receiver: Receiver) -> None:
    requests.post(receiver.events_url, data=task_event(), timeout=10)
    data = [(k, v) for k, v in task_event("ONAPPUNINSTALL") if not k.startswith("data[")]
    response = requests.post(receiver.events_url, data=[*data, ("data[CLEAN]", "1")], timeout=10)
    assert response.status_code == 200
    assert receiver.storage.portals.find(MEMBER) is None
    assert receiver.journal.count() == 0
    again = requests.post(receiver.events_url, data=task_event(), timeout=10)
    assert again.status_code == 401


def test_uninstall_without_clean_keeps_data_and_refuses_later_events(receiver: Receiver) -> None:
    data = [(k, v) for k, v in task_event("ONAPPUNINSTALL") if not k.startswith("data[")]
    response = requests.post(receiver.events_url, data=[*data, ("data[CLEAN]", "0")], timeout=10)
    assert response.status_code == 200
    assert receiver.storage.portals.get(MEMBER).state == "uninstalled"
    later = requests.post(receiver.events_url, data=task_event(), timeout=10)
    assert later.status_code == 410
    assert receiver.journal.count() == 1
