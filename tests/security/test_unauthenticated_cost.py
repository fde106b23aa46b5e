"""Whoever knows a portal's member_id and nothing else costs that portal a small, bounded
number of REST calls, and cannot read the member ids of the others from /metrics."""

from __future__ import annotations

import json
import secrets

import requests
from pydantic import SecretStr

from tests.support.stack import CLIENT_ID, TaskBridge
from webhooks.app import create_app
from webhooks.placement_verify import ATTEMPTS_PER_WINDOW, WINDOW_SECONDS

FLOOD = 100


def placement_post(bridge: TaskBridge, auth_id: str, task_id: int = 1) -> requests.Response:
    return requests.post(f"{bridge.url}/bitrix/placement", timeout=10, data={
        "AUTH_ID": auth_id, "AUTH_EXPIRES": "3600", "member_id": bridge.portal.member_id,
        "PLACEMENT": "TASK_VIEW_TAB", "PLACEMENT_OPTIONS": json.dumps({"taskId": str(task_id)})})


def test_a_flood_of_made_up_tokens_costs_the_portal_a_bounded_number_of_calls(
        secured: TaskBridge) -> None:
    calls = secured.rest_calls
    answers = [placement_post(secured, secrets.token_hex(16)) for _ in range(FLOOD)]
    codes = [answer.status_code for answer in answers]
    assert codes.count(401) == ATTEMPTS_PER_WINDOW
    assert codes.count(429) == FLOOD - ATTEMPTS_PER_WINDOW
    assert secured.rest_calls - calls == ATTEMPTS_PER_WINDOW
    limited = answers[-1]
    assert limited.json()["error"] == "too_many_attempts"
    assert 0 < int(limited.headers["Retry-After"]) <= WINDOW_SECONDS


def test_a_user_who_opened_the_app_still_gets_in_during_a_flood(secured: TaskBridge) -> None:
    emulator = secured.portal.emulator
    user = emulator.add_user("Luca", "Bianchi")
    task = emulator.as_user(1).create_task(title="Own task", responsible=user)
    genuine = emulator.issue_tokens(CLIENT_ID, user).access_token
    assert placement_post(secured, genuine, task).status_code == 200  # before the flood
    for _ in range(ATTEMPTS_PER_WINDOW + 5):
        placement_post(secured, secrets.token_hex(16))
    assert placement_post(secured, secrets.token_hex(16)).status_code == 429
    calls = secured.rest_calls
    answer = placement_post(secured, genuine, task)
    assert answer.status_code == 200 and "Own task" in answer.text
    assert secured.rest_calls - calls == 1


def test_a_busy_portals_many_users_are_never_throttled(secured: TaskBridge) -> None:
    """Only refused tokens count: more real users than the window holds all get in."""
    emulator = secured.portal.emulator
    task = emulator.as_user(1).create_task(title="Shared task", responsible=1)
    for _ in range(ATTEMPTS_PER_WINDOW + 10):
        genuine = emulator.issue_tokens(CLIENT_ID, 1).access_token
        assert placement_post(secured, genuine, task).status_code == 200


def test_metrics_do_not_list_portals_to_a_stranger(secured: TaskBridge) -> None:
    member_id = secured.portal.member_id
    assert member_id in requests.get(f"{secured.url}/metrics", timeout=10).text  # loopback
    stranger = {"REMOTE_ADDR": "203.0.113.5"}
    open_app = create_app(secured.settings, secured.storage)
    refused = open_app.test_client().get("/metrics", environ_base=stranger)
    assert refused.status_code == 403
    assert "TASKBRIDGE_METRICS_TOKEN" in refused.json["error_description"]
    assert member_id not in refused.get_data(as_text=True)

    token = "metrics-scrape-token-0123456789"
    settings = secured.settings.model_copy(update={"metrics_token": SecretStr(token)})
    guarded = create_app(settings, secured.storage).test_client()
    for headers in ({}, {"Authorization": "Bearer not-it"}):
        for address in ("127.0.0.1", "203.0.113.5"):
            answer = guarded.get("/metrics", headers=headers,
                                 environ_base={"REMOTE_ADDR": address})
            assert answer.status_code == 401
            assert member_id not in answer.get_data(as_text=True)
    scraped = guarded.get("/metrics", headers={"Authorization": f"Bearer {token}"},
                          environ_base=stranger)
    assert scraped.status_code == 200 and member_id in scraped.get_data(as_text=True)
