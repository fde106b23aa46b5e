"""REST 3.0 under /rest/api/: JSON POST only, the unified answer and error shapes, and
repeated calls without duplicates through the Idempotency-Key header. A portal without
REST 3.0 answers every /rest/api/ call as its classic REST answers an unknown method."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulator import Portal
from emulator.limits import LimitSettings
from emulator.server import RunningServer, serve_in_thread
from tests.emulator.conftest import CLIENT_ID, WEBHOOK_CODE, install_app

NEW_TASK = {"fields": {"title": "Send the contract", "creatorId": 1, "responsibleId": 1,
                       "crmItemIds": ["D_42"], "deadline": "2026-12-31T18:00:00+00:00",
                       "requireResult": True}}


class V3:
    """Calls /rest/api/ as an app (``auth`` in the body) or through the webhook."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token
        self.session = requests.Session()

    def post(self, method: str, body: Any = None, key: str | None = None,
             **kwargs: Any) -> requests.Response:
        if self.token:
            url = f"{self.base}/rest/api/{method}"
            if isinstance(body, dict):
                body = {**body, "auth": self.token}
        else:
            url = f"{self.base}/rest/api/1/{WEBHOOK_CODE}/{method}"
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.session.post(url, json=body, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def app_v3(server, install) -> V3:
    return V3(server.url, install())


@pytest.fixture
def hook_v3(server) -> V3:
    return V3(server.url)


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_add_answers_the_item_and_the_task_is_the_classic_apis_too(portal, app_v3):
    response = app_v3.post("tasks.task.add", NEW_TASK)
    assert response.status_code == 200
    body = response.json()
    item = body["result"]["item"]
    assert set(body) == {"result", "time"}
    assert (item["title"], item["status"], item["crmItemIds"]) == (
        "Send the contract", "pending", ["D_42"])
    assert item["requireResult"] is True
    assert "Idempotent-Replayed" not in response.headers
    classic = portal.task(item["id"])
    assert classic["ufCrmTask"] == ["D_42"]
    assert classic["tags"] == {}


def test_a_repeated_call_with_the_same_key_replays_the_stored_answer(portal, app_v3):
    first = app_v3.post("tasks.task.add", NEW_TASK, key="wf-1|token-1")
    again = app_v3.post("tasks.task.add", NEW_TASK, key="wf-1|token-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Idempotency-Key"] == first.headers["Idempotency-Key"] == (
        "wf-1|token-1")
    assert len(portal.state.tasks) == 1
    assert portal.call_log.count("tasks.task.add") == 2


def test_the_key_with_another_body_is_422(portal, app_v3):
    app_v3.post("tasks.task.add", NEW_TASK, key="k")
    other = {"fields": {**NEW_TASK["fields"], "title": "Another"}}
    response = app_v3.post("tasks.task.add", other, key="k")
    assert error_of(response) == (422, "BITRIX_REST_V3_EXCEPTION_IDEMPOTENCYKEYREUSEDEXCEPTION")
    assert len(portal.state.tasks) == 1


def test_a_refreshed_token_is_the_same_body(portal, app_v3):
    app_v3.post("tasks.task.add", NEW_TASK, key="k")
    app_v3.token = portal.issue_tokens(CLIENT_ID, 1).access_token
    again = app_v3.post("tasks.task.add", NEW_TASK, key="k")
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_lasts_24_hours(portal, app_v3):
    app_v3.post("tasks.task.add", NEW_TASK, key="k")
    portal.advance_time(24 * 3600 + 1)
    app_v3.token = portal.issue_tokens(CLIENT_ID, 1).access_token  # the old one expired
    fresh = app_v3.post("tasks.task.add", NEW_TASK, key="k")
    assert "Idempotent-Replayed" not in fresh.headers
    assert len(portal.state.tasks) == 2


def test_a_key_is_per_method_and_a_failed_call_is_not_stored(portal, app_v3):
    refused = app_v3.post("tasks.task.add", {"fields": {"title": "x"}}, key="k")
    assert refused.status_code == 400
    created = app_v3.post("tasks.task.add", NEW_TASK, key="k")
    assert "Idempotent-Replayed" not in created.headers
    task_id = created.json()["result"]["item"]["id"]
    updated = app_v3.post("tasks.task.update", {"id": task_id, "fields": {"title": "New"}},
                          key="k")
    assert updated.json()["result"] == {"result": True}
    assert "Idempotent-Replayed" not in updated.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_key_outside_1_to_255_printable_ascii_is_400(app_v3, key):
    response = app_v3.post("tasks.task.add", NEW_TASK, key=key)
    assert error_of(response) == (400, "BITRIX_REST_V3_EXCEPTION_INVALIDIDEMPOTENCYKEYEXCEPTION")


def test_reading_ignores_the_key(app_v3):
    task_id = app_v3.post("tasks.task.add", NEW_TASK).json()["result"]["item"]["id"]
    got = app_v3.post("tasks.task.get", {"id": task_id}, key="")
    assert got.status_code == 200
    assert "Idempotency-Key" not in got.headers


def test_validation_errors_name_the_field(app_v3):
    response = app_v3.post("tasks.task.add", {"fields": {"title": "t", "creatorId": 1}})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION"
    assert error["validation"] == [{"message": "Required field `responsibleId` is not "
                                               "specified", "field": "responsibleId"}]
    wrong = app_v3.post("tasks.task.add", {"fields": {**NEW_TASK["fields"],
                                                      "deadline": "soon"}})
    assert wrong.json()["error"]["validation"][0]["field"] == "deadline"
    missing_user = app_v3.post("tasks.task.add", {"fields": {**NEW_TASK["fields"],
                                                             "responsibleId": 999}})
    assert missing_user.json()["error"]["validation"][0]["field"] == "responsibleId"


def test_only_a_json_body_is_read(server, app_v3):
    form = requests.post(f"{server.url}/rest/api/tasks.task.add", data={"auth": "x"},
                         timeout=5)
    assert error_of(form) == (400, "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION")
    query = requests.get(f"{server.url}/rest/api/1/{WEBHOOK_CODE}/tasks.task.get?id=1",
                         timeout=5)
    assert error_of(query) == (
        400, "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION")


def test_get_select_and_access(portal, hook_v3):
    task_id = hook_v3.post("tasks.task.add", NEW_TASK).json()["result"]["item"]["id"]
    got = hook_v3.post("tasks.task.get", {"id": task_id, "select": [
        "id", "title", "stageId", "responsible.name"]})
    assert got.json()["result"]["item"] == {"id": task_id, "title": "Send the contract",
                                            "responsible": {"name": "Admin Portal"}}
    unknown = hook_v3.post("tasks.task.get", {"id": task_id, "select": ["responsible.x"]})
    assert error_of(unknown) == (400, "BITRIX_REST_V3_EXCEPTION_UNKNOWNDTOPROPERTYEXCEPTION")
    missing = hook_v3.post("tasks.task.get", {"id": 999})
    assert error_of(missing) == (403, "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION")


def test_update_cannot_change_the_creator(hook_v3):
    task_id = hook_v3.post("tasks.task.add", NEW_TASK).json()["result"]["item"]["id"]
    response = hook_v3.post("tasks.task.update", {"id": task_id, "fields": {"creatorId": 1}})
    assert response.json()["error"]["validation"][0]["field"] == "creatorId"


def test_the_app_needs_the_tasks_scope_and_a_valid_token(portal, server):
    portal.register_app("local.crm.only", "s", "http://127.0.0.1:9/x", scope=["crm"])
    token = portal.install_app("local.crm.only", how="event").tokens.access_token
    response = V3(server.url, token).post("tasks.task.add", NEW_TASK)
    assert error_of(response) == (403, "BITRIX_REST_V3_EXCEPTION_INSUFFICIENTSCOPEEXCEPTION")
    assert error_of(V3(server.url, "bogus").post("tasks.task.add", NEW_TASK))[0] == 401


def test_batch_is_a_json_array_answered_in_order(hook_v3):
    task_id = hook_v3.post("tasks.task.add", NEW_TASK).json()["result"]["item"]["id"]
    response = hook_v3.post("batch", [
        {"method": "tasks.task.get", "query": {"id": task_id, "select": ["id"]}},
        {"method": "tasks.task.update", "query": {"id": task_id, "fields": {"title": "B"}}},
    ])
    assert response.json()["result"] == [{"item": {"id": task_id}}, {"result": True}]
    classic = hook_v3.post("batch", {"cmd": {"a": "tasks.task.get?id=1"}})
    assert error_of(classic) == (400, "BITRIX_REST_V3_EXCEPTION_INVALIDSELECTEXCEPTION")


def test_calls_are_logged_as_rest_3(portal, app_v3):
    app_v3.post("tasks.task.add", NEW_TASK)
    (record,) = portal.call_log.records()
    assert (record.method, record.api, record.client_id) == (
        "tasks.task.add", "v3", "local.taskbridge.test")
    assert record.params["auth"] == "***"


@pytest.mark.parametrize("body", [
    {"fields": []}, {"fields": {"title": ["x"], "creatorId": "1", "responsibleId": True}},
    {"fields": {**NEW_TASK["fields"], "priority": "urgent"}},
    {"fields": {**NEW_TASK["fields"], "accomplices": [1, "2"]}},
    {"fields": {**NEW_TASK["fields"], "crmItemIds": "D_1"}},
    {"id": {"a": 1}}, {"id": 1, "select": "title"}, {"id": 1, "select": ["responsible."]},
])
def test_hostile_input_is_a_clear_4xx(hook_v3, body):
    hook_v3.post("tasks.task.add", NEW_TASK)
    method = "tasks.task.get" if "id" in body else "tasks.task.add"
    response = hook_v3.post(method, body)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"].startswith("BITRIX_REST_V3_EXCEPTION_")


def test_a_deeply_nested_body_is_a_clear_4xx(server):
    nested = "[" * 100_000 + "]" * 100_000
    response = requests.post(f"{server.url}/rest/api/1/{WEBHOOK_CODE}/tasks.task.add",
                             data=nested, headers={"Content-Type": "application/json"},
                             timeout=10)
    assert error_of(response) == (400, "BITRIX_REST_V3_EXCEPTION_INVALIDJSONEXCEPTION")


# A portal without REST 3.0 ------------------------------------------------------------

NOT_OFFERED = {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


@pytest.fixture
def without_v3() -> Iterator[tuple[Portal, RunningServer]]:
    portal = Portal(limits=False, webhook_code=WEBHOOK_CODE, rest_v3=False)
    running = serve_in_thread(portal)
    yield portal, running
    running.stop()
    portal.close()


@pytest.mark.parametrize("method, body, key", [
    ("tasks.task.add", NEW_TASK, "wf-1|token-1"), ("tasks.task.add", NEW_TASK, None),
    ("tasks.task.get", {"id": 1}, None), ("rest.documentation.openapi", {}, None),
    ("batch", [{"method": "tasks.task.get", "query": {"id": 1}}], None),
])
def test_a_portal_without_rest_3_answers_every_call_404_method_not_found(
        without_v3, method, body, key):
    portal, running = without_v3
    token = install_app(portal)
    for caller in (V3(running.url, token), V3(running.url)):
        response = caller.post(method, body, key=key)
        assert response.status_code == 404
        assert response.json() == NOT_OFFERED  # the classic shape: no REST 3.0 formatter
        assert "Idempotency-Key" not in response.headers
    assert portal.state.tasks == {}


def test_without_rest_3_the_classic_api_still_creates_the_task(without_v3):
    portal, running = without_v3
    refused = V3(running.url).post("tasks.task.add", NEW_TASK, key="k")
    classic = requests.post(f"{running.url}/rest/1/{WEBHOOK_CODE}/tasks.task.add.json",
                            json={"fields": {"TITLE": "Send the contract",
                                             "RESPONSIBLE_ID": 1}}, timeout=10)
    assert refused.status_code == 404
    assert classic.status_code == 200
    assert [task.title for task in portal.state.tasks.values()] == ["Send the contract"]


def test_without_rest_3_a_refused_call_is_logged_as_rest_3(without_v3):
    portal, running = without_v3
    V3(running.url, install_app(portal)).post("tasks.task.add", NEW_TASK)
    (record,) = portal.call_log.records()
    assert (record.method, record.api, record.status, record.error) == (
        "tasks.task.add", "v3", 404, "ERROR_METHOD_NOT_FOUND")
    assert record.params["auth"] == "***"


def test_without_rest_3_bad_credentials_or_a_bad_body_are_the_same_404(without_v3):
    _portal, running = without_v3
    bogus = V3(running.url, "bogus").post("tasks.task.add", NEW_TASK)
    form = requests.post(f"{running.url}/rest/api/tasks.task.add", data={"auth": "x"},
                         timeout=5)
    query = requests.get(f"{running.url}/rest/api/1/{WEBHOOK_CODE}/tasks.task.get?id=1",
                         timeout=5)
    assert [(r.status_code, r.json()) for r in (bogus, form, query)] == [
        (404, NOT_OFFERED)] * 3


def test_without_rest_3_a_refused_call_still_counts_against_the_bucket():
    portal = Portal(limits=LimitSettings(capacity=2, drain_rate=0.01), rest_v3=False,
                    webhook_code=WEBHOOK_CODE)
    running = serve_in_thread(portal)
    try:
        statuses = [V3(running.url).post("tasks.task.add", NEW_TASK).status_code
                    for _ in range(3)]
        assert statuses == [404, 404, 503]
    finally:
        running.stop()
        portal.close()


def test_without_rest_3_faults_still_apply_and_a_reset_keeps_it_off(without_v3):
    portal, running = without_v3
    portal.set_faults(error_500_rate=1.0, methods=["tasks.task.add"])
    assert V3(running.url).post("tasks.task.add", NEW_TASK).status_code == 500
    portal.reset()
    assert V3(running.url).post("tasks.task.add", NEW_TASK).status_code == 404
