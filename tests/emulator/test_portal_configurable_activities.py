"""Configurable activities (``crm.activity.configurable.*``): app context only, changed by
their own app only, bound to a CRM item, with a layout checked as the docs' ``structure/``
pages describe it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from emulator.php_form import encode
from tests.emulator.conftest import Rest

OTHER_APP = "local.other.app"


def layout(**changes: Any) -> dict[str, Any]:
    """A timeline card like TaskBridge's: a status tag, a link per task, a button."""
    base: dict[str, Any] = {
        "icon": {"code": "info"},
        "header": {"title": {"en": "Tasks", "it": "Attività"},
                   "tags": {"status": {"title": "In progress", "type": "primary"}}},
        "body": {"logo": {"code": "info"}, "blocks": {
            "task_5": {"type": "lineOfBlocks", "properties": {"blocks": {
                "link": {"type": "link", "properties": {
                    "text": "Call the client", "action": {
                        "type": "redirect", "uri": "/company/personal/user/1/tasks/task/view/5/"}}},
                "status": {"type": "text", "properties": {"value": "In progress",
                                                          "bold": True}}}}},
            "summary": {"type": "withTitle", "properties": {
                "title": "Status", "inline": True,
                "block": {"type": "text", "properties": {"value": "In progress"}}}},
        }},
        "footer": {"buttons": {"open": {"title": "Open TaskBridge", "type": "secondary",
                                        "action": {"type": "openRestApp"}}}},
    }
    base.update(changes)
    return base


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.fixture
def app(portal, install, make_rest) -> Rest:
    return make_rest("oauth", install())


@pytest.fixture
def other_app(portal, server, make_rest) -> Rest:
    portal.register_app(OTHER_APP, "other-secret", "http://127.0.0.1:9/other")
    tokens = portal.install_app(OTHER_APP, how="event").tokens
    return make_rest("oauth", tokens.access_token)


@pytest.fixture
def deal_id(portal) -> int:
    return portal.as_user(1).create_deal("Website redesign")


def add(rest: Rest, deal_id: int, **fields: Any) -> requests.Response:
    return rest.raw("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "fields": fields, "layout": layout()})


def test_an_activity_is_bound_to_its_item_and_read_back(app: Rest, deal_id: int):
    app.call("crm.activity.badge.add", {"code": "tb_progress", "title": "Status",
                                        "value": "In progress", "type": "primary"})
    added = app.call("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "layout": layout(),
        "fields": {"badgeCode": "tb_progress", "responsibleId": 1, "originatorId": "taskbridge",
                   "originId": f"deal-{deal_id}", "completed": "N"}})
    got = app.call("crm.activity.configurable.get", {"id": added["activity"]["id"]})
    assert got == {"activity": {
        "id": added["activity"]["id"], "ownerTypeId": 2, "ownerId": deal_id,
        "fields": {"typeId": "CONFIGURABLE", "completed": False, "deadline": None,
                   "pingOffsets": [], "isIncomingChannel": False, "responsibleId": 1,
                   "badgeCode": "tb_progress", "originatorId": "taskbridge",
                   "originId": f"deal-{deal_id}"},
        "layout": layout()}}


def test_an_update_keeps_fields_not_given_and_replaces_the_layout(app: Rest, deal_id: int):
    activity_id = add(app, deal_id, originId="o1").json()["result"]["activity"]["id"]
    new_layout = layout(header={"title": "Tasks: all done"})
    app.call("crm.activity.configurable.update", {
        "id": activity_id, "fields": {"completed": True}, "layout": new_layout})
    got = app.call("crm.activity.configurable.get", {"id": activity_id})["activity"]
    assert (got["fields"]["completed"], got["fields"]["originId"]) == (True, "o1")
    assert got["layout"] == new_layout


def test_an_incoming_webhook_gets_wrong_context(portal, app: Rest, webhook: Rest,
                                                deal_id: int):
    activity_id = add(app, deal_id).json()["result"]["activity"]["id"]
    assert error_of(add(webhook, deal_id)) == (400, "ERROR_WRONG_CONTEXT")
    for method, params in (
        ("crm.activity.configurable.get", {"id": activity_id}),
        ("crm.activity.configurable.update", {"id": activity_id, "fields": {},
                                              "layout": layout()}),
        ("crm.activity.delete", {"id": activity_id}),
    ):
        assert error_of(webhook.raw(method, params)) == (400, "ERROR_WRONG_CONTEXT"), method
    assert len(portal.configurable_activities("deal", deal_id)) == 1


def test_only_the_app_that_added_an_activity_changes_or_deletes_it(
        app: Rest, other_app: Rest, deal_id: int):
    activity_id = add(app, deal_id).json()["result"]["activity"]["id"]
    refused = other_app.raw("crm.activity.configurable.update", {
        "id": activity_id, "fields": {"completed": True}, "layout": layout()})
    assert error_of(refused) == (400, "ERROR_WRONG_APPLICATION")
    assert error_of(other_app.raw("crm.activity.delete", {"id": activity_id})) == (
        400, "ERROR_WRONG_APPLICATION")
    seen = other_app.call("crm.activity.configurable.get", {"id": activity_id})["activity"]
    assert seen["fields"]["completed"] is False
    assert app.call("crm.activity.delete", {"id": activity_id}) is True
    assert error_of(app.raw("crm.activity.configurable.get", {"id": activity_id})) == (
        400, "NOT_FOUND")


def test_an_activity_needs_an_existing_owner_and_fields(app: Rest, deal_id: int):
    assert error_of(app.raw("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id + 100, "fields": {}, "layout": layout()})) == (
        400, "NOT_FOUND")
    assert error_of(app.raw("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "layout": layout()})) == (400, "100")
    assert error_of(app.raw("crm.activity.configurable.add", {
        "ownerId": deal_id, "fields": {}, "layout": layout()})) == (400, "100")


@pytest.mark.parametrize(("fields", "code"), [
    ({"badgeCode": "no_such_badge"}, "WRONG_FIELD_VALUE"),
    ({"typeId": "MY_TYPE"}, "WRONG_FIELD_VALUE"),
    ({"deadline": "next week"}, "WRONG_FIELD_VALUE"),
    ({"completed": "maybe"}, "WRONG_FIELD_VALUE"),
    ({"responsibleId": 999}, "WRONG_FIELD_VALUE"),
    ({"isIncomingChannel": "Y", "deadline": "2030-01-01T10:00:00+00:00"},
     "INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE"),
])
def test_wrong_field_values_are_refused(app: Rest, deal_id: int, fields: dict, code: str):
    assert error_of(add(app, deal_id, **fields)) == (400, code)


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    """The layout with the value at ``path`` replaced (``...`` removes the key)."""
    broken = copy.deepcopy(layout())
    node = broken
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return broken


@pytest.mark.parametrize(("path", "value", "code"), [
    (["header"], ..., "FIELD_IS_REQUIRED"),
    (["icon"], ..., "FIELD_IS_REQUIRED"),
    (["body", "logo"], ..., "FIELD_IS_REQUIRED"),
    (["header", "title"], ..., "FIELD_IS_REQUIRED"),
    (["header", "subtitle"], "x", "FIELD_IS_REDUNDANT"),
    (["colour"], "red", "FIELD_IS_REDUNDANT"),
    (["header", "tags", "status", "type"], "lavender", "ENUM_FIELD"),
    (["header", "tags"], {f"t{i}": {"title": "x", "type": "primary"} for i in range(3)},
     "TOO_MANY_ITEMS"),
    (["footer", "buttons"], {f"b{i}": {"title": "x", "type": "primary",
                                       "action": {"type": "openRestApp"}} for i in range(3)},
     "TOO_MANY_ITEMS"),
    (["body", "blocks"], {f"k{i}": {"type": "text", "properties": {"value": "x"}}
                          for i in range(21)}, "TOO_MANY_ITEMS"),
    (["body", "blocks"], {"task 5": {"type": "text", "properties": {"value": "x"}}},
     "KEY_CONTAIN_WRONG_SYMBOLS"),
    (["body", "blocks", "summary", "type"], "chart", "ENUM_FIELD"),
    (["body", "blocks", "summary", "properties", "block", "type"], "largeText",
     "ENUM_FIELD"),
    (["footer", "buttons", "open", "action"], {"type": "download"}, "ENUM_FIELD"),
    (["footer", "buttons", "open", "action"], ..., "FIELD_IS_REQUIRED"),
    (["header", "title"], {"xx": "Tasks"}, "WRONG_LANG"),
])
def test_malformed_layouts_are_refused_with_the_documented_code(
        app: Rest, deal_id: int, path: list[str], value: Any, code: str):
    refused = app.raw("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "fields": {}, "layout": _broken(path, value)})
    assert error_of(refused) == (400, code), refused.json()["error_description"]


def test_an_empty_layout_is_refused(app: Rest, deal_id: int):
    for empty in (None, {}):
        refused = app.raw("crm.activity.configurable.add", {
            "ownerTypeId": 2, "ownerId": deal_id, "fields": {}, "layout": empty})
        assert error_of(refused) == (400, "ERROR_EMPTY_LAYOUT")


def test_a_refused_update_leaves_the_activity_as_it_was(app: Rest, deal_id: int):
    activity_id = add(app, deal_id).json()["result"]["activity"]["id"]
    refused = app.raw("crm.activity.configurable.update", {
        "id": activity_id, "fields": {"completed": True},
        "layout": _broken(["header", "tags", "status", "type"], "lavender")})
    assert error_of(refused) == (400, "ENUM_FIELD")
    got = app.call("crm.activity.configurable.get", {"id": activity_id})["activity"]
    assert (got["fields"]["completed"], got["layout"]) == (False, layout())


def test_form_encoded_calls_work_as_json_ones(app: Rest, deal_id: int):
    added = app.call("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "fields": {"completed": "N"},
        "layout": layout()}, form=True)
    got = app.call("crm.activity.configurable.get", {"id": added["activity"]["id"]})
    assert got["activity"]["layout"]["header"]["title"] == {"en": "Tasks", "it": "Attività"}


def test_activity_list_finds_an_items_configurable_activities(app: Rest, deal_id: int):
    first = add(app, deal_id).json()["result"]["activity"]["id"]
    add(app, deal_id, completed=True)
    rows = app.call("crm.activity.list", {"filter": {
        "OWNER_TYPE_ID": 2, "OWNER_ID": deal_id, "PROVIDER_ID": "CONFIGURABLE_REST_APP",
        "COMPLETED": "N"}})
    assert [(r["ID"], r["PROVIDER_ID"], r["COMPLETED"]) for r in rows] == [
        (str(first), "CONFIGURABLE_REST_APP", "N")]


def test_an_activity_is_written_in_the_same_batch_as_the_status_field(
        portal, app: Rest, webhook: Rest, deal_id: int):
    card = "crm.activity.configurable.add?" + encode({
        "ownerTypeId": 2, "ownerId": deal_id, "fields": {"originId": "x"}, "layout": layout()})
    field = f"crm.deal.update?id={deal_id}&fields[TITLE]=Redesign"
    done = app.call("batch", {"halt": 0, "cmd": {"field": field, "card": card}})
    assert done["result_error"] == [] and done["result"]["card"]["activity"]["id"]
    by_webhook = webhook.call("batch", {"halt": 0, "cmd": {"card": card}})
    assert by_webhook["result_error"]["card"]["error"] == "ERROR_WRONG_CONTEXT"
    [activity] = portal.configurable_activities("deal", deal_id)
    assert activity["layout"]["header"]["title"] == {"en": "Tasks", "it": "Attività"}
