"""The two task cards side by side (``api-reference/tasks/tasks-new.md``): in the new one
comments are chat messages (events with ``ID: 0`` and ``MESSAGE_ID``), results come back
with ``commentId: 0``, the old comment methods fail, and app widgets load only when the
user opens the app's row in the "Applications" block."""

from __future__ import annotations

import json

import pytest
import requests

from emulator import Portal
from tests.emulator.conftest import WEBHOOK_CODE, Receiver, Rest


@pytest.fixture(params=["classic", "new"])
def portal(request: pytest.FixtureRequest) -> Portal:
    return Portal(limits=False, webhook_code=WEBHOOK_CODE, task_card=request.param)


@pytest.fixture
def app(portal, install, make_rest, receiver: Receiver) -> Rest:
    rest = make_rest("oauth", install())
    rest.call("event.bind", {"event": "ONTASKCOMMENTADD",
                             "handler": f"{receiver.url}/bitrix/events"})
    rest.call("placement.bind", {"PLACEMENT": "TASK_VIEW_TAB", "TITLE": "TaskBridge",
                                 "HANDLER": f"{receiver.url}/bitrix/placement"})
    return rest


@pytest.fixture
def responsible(portal) -> int:
    return portal.add_user("Rita", "Responsible")


@pytest.fixture
def task_id(portal, responsible) -> int:
    return portal.as_user(1).create_task(title="Call the client", responsible=responsible)


def is_new(portal: Portal) -> bool:
    return portal.task_card == "new"


def add_comment(app: Rest, task_id: int, text: str) -> int:
    return app.call("task.commentitem.add", {"TASKID": task_id,
                                             "FIELDS": {"POST_MESSAGE": text}})


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


def test_a_comment_event_names_the_chat_message_in_the_new_card(portal, app, receiver,
                                                                 task_id, responsible):
    shown_id = portal.as_user(responsible).add_comment(task_id, "Called, no answer")
    receiver.wait_for(lambda seen: any(r.form.get("event") == "ONTASKCOMMENTADD"
                                       for r in seen))
    form = receiver.events("ONTASKCOMMENTADD")[0].form
    assert form["data[FIELDS_AFTER][TASK_ID]"] == str(task_id)
    if is_new(portal):
        assert form["data[FIELDS_AFTER][ID]"] == "0"
        assert form["data[FIELDS_AFTER][MESSAGE_ID]"] == str(shown_id)
    else:
        assert form["data[FIELDS_AFTER][ID]"] == str(shown_id)
        assert "data[FIELDS_AFTER][MESSAGE_ID]" not in form


def test_results_come_back_with_comment_id_zero_in_the_new_card(portal, app, task_id,
                                                                responsible):
    shown_id = portal.as_user(responsible).add_result(task_id, "Client signed")
    results = app.call("tasks.task.result.list", {"taskId": task_id})
    assert [(r["text"], r["commentId"]) for r in results] == [
        ("Client signed", 0 if is_new(portal) else shown_id)]


@pytest.mark.parametrize(("method", "params"), [
    ("task.commentitem.getlist", lambda t, c: {"TASKID": t}),
    ("task.commentitem.get", lambda t, c: {"TASKID": t, "ITEMID": c}),
    ("task.commentitem.update", lambda t, c: [t, c, {"POST_MESSAGE": "edited"}]),
    ("task.commentitem.delete", lambda t, c: [t, c]),
])
def test_the_old_comment_methods_fail_in_the_new_card(portal, app, task_id, method, params):
    comment_id = add_comment(app, task_id, "first")
    answer = app.raw(method, _positional(params(task_id, comment_id)))
    if is_new(portal):
        assert error_of(answer) == (400, "ERROR_CORE")
        assert "TASKS_ERROR_EXCEPTION" in answer.json()["error_description"]
    else:
        assert answer.status_code == 200, answer.text


def _positional(params: dict | list) -> dict:
    """Old ``task.*`` methods take ``[taskId, itemId, {fields}]`` as ``{"0":..., "1":...}``."""
    return params if isinstance(params, dict) else {str(i): v for i, v in enumerate(params)}


@pytest.mark.parametrize("portal", ["classic"], indirect=True)
def test_the_classic_comment_methods_read_change_and_delete(portal, app, task_id):
    comment_id = add_comment(app, task_id, "first")
    app.call("task.commentitem.update", _positional([task_id, comment_id,
                                                     {"POST_MESSAGE": "edited"}]))
    got = app.call("task.commentitem.get", {"TASKID": task_id, "ITEMID": comment_id})
    assert got["POST_MESSAGE"] == "edited"
    assert app.call("task.commentitem.delete", _positional([task_id, comment_id])) is True
    assert app.call("task.commentitem.getlist", {"TASKID": task_id}) == []
    missing = app.raw("task.commentitem.get", {"TASKID": task_id, "ITEMID": comment_id})
    assert error_of(missing) == (400, "ERROR_CORE")


def test_a_result_cannot_be_made_from_a_comment_in_the_new_card(portal, app, task_id):
    comment_id = add_comment(app, task_id, "done")
    answer = app.raw("tasks.task.result.addFromComment", {"commentId": comment_id})
    if is_new(portal):
        assert error_of(answer) == (400, "0")
        assert app.call("tasks.task.result.list", {"taskId": task_id}) == []
    else:
        assert answer.json()["result"]["commentId"] == comment_id


def test_the_task_chat_id_is_answered_in_the_new_card(portal, app, task_id):
    task = app.call("tasks.task.get", {"taskId": task_id, "select": ["ID", "CHAT_ID"]})["task"]
    assert (task["chatId"] is not None) == is_new(portal)


def test_rest_v3_answers_the_task_chat_in_the_new_card(portal, server, task_id):
    answer = requests.post(f"{server.url}/rest/api/1/{WEBHOOK_CODE}/tasks.task.get", json={
        "id": task_id, "select": ["id", "chat.id", "chat.entityId", "chat.entityType"]},
        timeout=10).json()["result"]["item"]
    if is_new(portal):
        assert answer["chat"]["entityId"] == task_id
        assert answer["chat"]["entityType"] == "TASKS_TASK" and answer["chat"]["id"]
    else:
        assert answer["chat"] == {"id": None, "entityId": None, "entityType": None}


def test_opening_a_task_loads_no_widget_in_either_card(portal, app, receiver, task_id,
                                                       responsible):
    portal.as_user(responsible).open_task(task_id)
    assert portal.task(task_id, viewer=responsible)["notViewed"] == "N"
    assert [r for r in receiver.requests if r.path == "/bitrix/placement"] == []


def test_the_widget_loads_from_the_tab_or_the_applications_block(portal, app, receiver,
                                                                 task_id, responsible):
    user = portal.as_user(responsible)
    opener, other = ((user.open_app_block, user.open_task_tab) if is_new(portal)
                     else (user.open_task_tab, user.open_app_block))
    with pytest.raises(ValueError):
        other(task_id)
    delivery = opener(task_id)
    assert delivery.delivered
    got = next(r for r in receiver.requests if r.path == "/bitrix/placement")
    assert got.form["PLACEMENT"] == "TASK_VIEW_TAB"
    assert json.loads(got.form["PLACEMENT_OPTIONS"])["taskId"] == str(task_id)
    assert got.query["DOMAIN"] == portal.domain and got.form["AUTH_ID"]
    seen_as = Rest(app.base, "oauth", got.form["AUTH_ID"]).call("user.current")
    assert seen_as["ID"] == str(responsible)
    assert portal.task(task_id, viewer=responsible)["notViewed"] == "N"


def test_no_widget_until_the_install_is_finished(portal, server, receiver, task_id,
                                                 responsible):
    portal.register_app("local.unfinished", "secret", "http://127.0.0.1:9/install")
    token = portal.install_app("local.unfinished", how="page").tokens.access_token
    Rest(server.url, "oauth", token).call("placement.bind", {
        "PLACEMENT": "TASK_VIEW_TAB", "HANDLER": f"{receiver.url}/bitrix/placement"})
    user = portal.as_user(responsible)
    with pytest.raises(LookupError):
        (user.open_app_block if is_new(portal) else user.open_task_tab)(task_id)


def test_the_control_api_opens_the_applications_block(portal, server, app, receiver,
                                                      task_id, responsible):
    action = "open_app_block" if is_new(portal) else "open_task_tab"
    answer = requests.post(f"{server.url}/_emulator/act", timeout=10, json={
        "user_id": responsible, "action": action, "args": [task_id]}).json()
    assert answer["ok"] and answer["result"]["status"] == 200
    wrong = "open_task_tab" if is_new(portal) else "open_app_block"
    refused = requests.post(f"{server.url}/_emulator/act", timeout=10, json={
        "user_id": responsible, "action": wrong, "args": [task_id]})
    assert refused.status_code == 400


def test_the_control_api_says_which_card_the_portal_shows(portal, server):
    health = requests.get(f"{server.url}/_emulator/health", timeout=10).json()
    assert (health["task_card"], health["language"]) == (portal.task_card, "en")


def test_an_unknown_task_card_is_refused():
    with pytest.raises(ValueError):
        Portal(task_card="tabs")
