"""Strategies for what portals and automations call: install, events, placements, the
card's create-task form and the tasks API. Each mixes genuine credentials (`FuzzKeys`)
with hostile values so that input gets past the checks as well as into them."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from emulator import php_form
from tests.fuzz.fuzz_keys import FuzzKeys
from tests.fuzz.generated import Fuzzed, assemble
from tests.fuzz.hostile import (
    FORM,
    body_shapes,
    deep_json,
    json_values,
    odd_ids,
    query,
    texts,
)

POST = ("POST",)
PLACEMENTS = ("DEFAULT", "TASK_VIEW_TAB", "CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB")


def _either(draw: st.DrawFn, genuine: Any, weight: int = 2) -> Any:
    """The genuine value `weight` times in `weight + 2`, else a hostile one."""
    pick = draw(st.integers(0, weight + 1))
    if pick < weight:
        return genuine
    return draw(odd_ids) if pick == weight else draw(texts)


def _spoiled(draw: st.DrawFn, genuine: dict[str, Any],
             hostile: st.SearchStrategy[Any]) -> tuple[dict[str, Any], str]:
    """Genuine fields with none, one or a few made hostile (or dropped): each check is
    passed by the rest, so the hostile value reaches the code behind them."""
    fields = dict(genuine)
    spoiled = draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True))
    for name in spoiled:
        if draw(st.integers(0, 4)) == 4:
            del fields[name]
        else:
            fields[name] = draw(hostile)
    return fields, "+".join(spoiled) or "none"


def _encoded(draw: st.DrawFn, fields: dict[str, Any]) -> tuple[str, bytes, str]:
    """A dict as a PHP-bracket form (usually) or as JSON."""
    if draw(st.integers(0, 4)) == 4:
        return "application/json", json.dumps(fields).encode(), "json"
    return FORM, php_form.encode(fields).encode("utf-8", "surrogatepass"), "form"


def _hostile_query(draw: st.DrawFn, names: tuple[str, ...]) -> bytes:
    if draw(st.booleans()):
        return b""
    chosen = draw(st.lists(st.sampled_from(names), max_size=3))
    return query([(name, draw(texts)) for name in chosen])


@st.composite
def install_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "install.receive", "/bitrix/install"
    shape = draw(st.sampled_from(["page", "event", "body"]))
    target = path.encode() + _hostile_query(draw, ("member_id", "DOMAIN", "LANG", "event"))
    if shape == "body":
        content_type, body, kind = draw(body_shapes())
        return assemble(draw, rule, kind, methods=POST, target=target,
                        content_type=content_type, body=body)
    if shape == "page":
        fields: dict[str, Any] = {
            "member_id": _either(draw, keys.member_id), "DOMAIN": draw(texts),
            "REFRESH_ID": draw(texts), "APPLICATION_TOKEN": draw(texts),
            "AUTH_ID": draw(texts), "LANG": draw(texts)}
    else:
        fields = {"event": draw(st.sampled_from(["ONAPPINSTALL", "onappinstall"]) | texts),
                  "data": {"LANGUAGE_ID": draw(texts), "VERSION": draw(odd_ids)},
                  "auth": draw(st.dictionaries(
                      st.sampled_from(["member_id", "domain", "refresh_token",
                                       "application_token", "access_token"]),
                      texts | json_values, max_size=5))}
    content_type, body, how = _encoded(draw, fields)
    return assemble(draw, rule, f"install {shape} {how}", methods=POST, target=target,
                    content_type=content_type, body=body)


def _event(draw: st.DrawFn, keys: FuzzKeys) -> tuple[str, dict[str, Any]]:
    body = copy.deepcopy(keys.event)
    kind = draw(st.sampled_from(["replayed", "odd id", "odd id", "odd member", "odd token",
                                 "odd name", "odd ts", "wrong type", "extra fields"]))
    if kind == "odd id":
        body["data"]["FIELDS"]["ID"] = draw(odd_ids)
    elif kind == "odd member":
        body["auth"]["member_id"] = draw(texts)
    elif kind == "odd token":
        body["auth"]["application_token"] = draw(texts)
    elif kind == "odd name":
        # Not ONAPPUNINSTALL: with the genuine token it would end the run's portal.
        body["event"] = draw(texts | st.sampled_from(["ONTASKADD", "ONTASKUPDATE",
                                                      "ONCRMLEADUPDATE", "ONAPPUPDATE"]))
    elif kind == "odd ts":
        body["ts"] = draw(odd_ids | texts)
    elif kind == "wrong type":
        where = draw(st.sampled_from(["data", "FIELDS", "auth", "event"]))
        value = draw(json_values)
        if where == "FIELDS":
            body["data"]["FIELDS"] = value
        else:
            body[where] = value
    elif kind == "extra fields":
        body["data"]["FIELDS"].update(draw(st.dictionaries(texts, texts, max_size=4)))
    return kind, body


@st.composite
def event_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "events.receive", "/bitrix/events"
    target = path.encode() + _hostile_query(draw, ("event", "member_id", "a[]"))
    if draw(st.integers(0, 2)) == 2:
        content_type, body, kind = draw(body_shapes())
    else:
        kind, fields = _event(draw, keys)
        content_type, body, how = _encoded(draw, fields)
        kind = f"event {kind} {how}"
    return assemble(draw, rule, kind, methods=POST, target=target, content_type=content_type,
                    body=body)


@st.composite
def placement_options(draw: st.DrawFn, keys: FuzzKeys) -> Any:
    shape = draw(st.sampled_from(["task", "item", "json", "text", "deep", "dict"]))
    if shape == "task":
        return json.dumps({draw(st.sampled_from(["taskId", "TASK_ID"])): _either(draw, "1")})
    if shape == "item":
        return json.dumps({"ID": _either(draw, str(keys.deal_id))})
    if shape == "json":
        return json.dumps(draw(json_values))
    if shape == "deep":
        return draw(deep_json()).decode()
    if shape == "dict":  # PLACEMENT_OPTIONS[ID]=... arrives as a nested form value
        return {draw(st.sampled_from(["ID", "taskId"])): draw(odd_ids)}
    return draw(texts)


@st.composite
def placement_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "placement.open_placement", "/bitrix/placement"
    target = path.encode() + _hostile_query(
        draw, ("DOMAIN", "PROTOCOL", "LANG", "APP_SID", "PLACEMENT", "member_id"))
    if draw(st.integers(0, 4)) == 4:
        content_type, body, kind = draw(body_shapes())
        return assemble(draw, rule, kind, methods=POST, target=target,
                        content_type=content_type, body=body)
    placement = draw(st.sampled_from(PLACEMENTS))
    options = {"TASK_VIEW_TAB": {"taskId": "1"}, "DEFAULT": {},
               "CRM_DEAL_DETAIL_TAB": {"ID": str(keys.deal_id)},
               "CRM_LEAD_DETAIL_TAB": {"ID": "1"}}[placement]
    genuine = {"AUTH_ID": draw(st.sampled_from([keys.admin_auth, keys.user_auth])),
               "member_id": keys.member_id, "PLACEMENT": placement,
               "PLACEMENT_OPTIONS": json.dumps(options), "AUTH_EXPIRES": "3600",
               "REFRESH_ID": "", "LANG": "en"}
    fields, spoiled = _spoiled(draw, genuine, placement_options(keys) | odd_ids | texts)
    content_type, body, how = _encoded(draw, fields)
    return assemble(draw, rule, f"placement {placement}, hostile {spoiled} {how}",
                    methods=POST, target=target, content_type=content_type, body=body)


@st.composite
def card_form_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "placement_tabs.create_task", "/bitrix/placement/tasks"
    if draw(st.integers(0, 4)) == 4:
        content_type, body, kind = draw(body_shapes())
        return assemble(draw, rule, kind, methods=POST, target=path.encode(),
                        content_type=content_type, body=body)
    token = keys.fresh_card_token() if draw(st.booleans()) else keys.card_token
    genuine = {"token": token, "title": "Fuzz", "responsible": "1",
               "deadline": "2026-12-31T10:00", "description": "", "checklist": "a\nb",
               "task_control": "on", "result_required": ""}
    hostile = texts | odd_ids | st.just(keys.card_token[:-3] + "AAA")
    fields, spoiled = _spoiled(draw, genuine, hostile)
    content_type, body, how = _encoded(draw, fields)
    return assemble(draw, rule, f"card form, hostile {spoiled} {how}", methods=POST,
                    target=path.encode(), content_type=content_type, body=body)


def _task_fields(draw: st.DrawFn, keys: FuzzKeys) -> tuple[dict[str, Any], str]:
    genuine = {"member_id": keys.member_id, "entity": "deal", "item_id": keys.deal_id,
               "title": "Fuzz", "responsible_id": 1, "created_by": 1, "description": "",
               "deadline": "2026-12-31T10:00:00+00:00", "checklist": ["one", "two"],
               "task_control": False, "result_required": True}
    fields, spoiled = _spoiled(draw, genuine, odd_ids | json_values)
    if draw(st.integers(0, 5)) == 5:
        fields.update(draw(st.dictionaries(texts, json_values, min_size=1, max_size=1)))
        spoiled += "+unknown"
    return fields, spoiled


@st.composite
def task_api_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "task_api.create_task", "/bitrix/tasks"
    bearer = draw(st.sampled_from(["genuine", "genuine", "hostile", "none", "basic"]))
    authorization = {"genuine": b"Bearer " + keys.task_token.encode(),
                     "hostile": b"Bearer " + draw(texts).encode("utf-8", "surrogatepass"),
                     "basic": b"Basic " + keys.task_token.encode()}.get(bearer)
    headers = [(b"Authorization", authorization)] if authorization else []
    shape = draw(st.sampled_from(["fields", "fields", "fields", "deep", "body"]))
    if shape == "fields":
        fields, spoiled = _task_fields(draw, keys)
        content_type, body = "application/json", json.dumps(fields).encode()
        shape = f"hostile {spoiled}"
    elif shape == "deep":
        content_type, body = "application/json", draw(deep_json())
    else:
        content_type, body, shape = draw(body_shapes())
    return assemble(draw, rule, f"tasks api {shape}, {bearer} bearer", methods=POST,
                    target=path.encode() + _hostile_query(draw, ("member_id", "token")),
                    content_type=content_type, body=body, headers=headers)


ROBOT_CODES = ("taskbridge_create_task", "taskbridge_wait_for_tasks", "taskbridge_task_status")
ROBOT_DOCUMENTS = ("CCrmDocumentDeal", "CCrmDocumentLead", "CCrmDocumentContact")


@st.composite
def robot_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    """Calls of TaskBridge's automation rules: the portal's genuine auth block with hostile
    documents, codes, tokens and properties; or a body of any shape."""
    rule, path = "robots.receive", "/bitrix/robots"
    target = path.encode() + _hostile_query(draw, ("code", "workflow_id", "auth[member_id]"))
    if draw(st.integers(0, 4)) == 4:
        content_type, body, kind = draw(body_shapes())
        return assemble(draw, rule, kind, methods=POST, target=target,
                        content_type=content_type, body=body)
    document = draw(st.sampled_from(ROBOT_DOCUMENTS))
    prefix = "DEAL" if document == "CCrmDocumentDeal" else "LEAD"
    genuine = {
        "workflow_id": draw(st.from_regex(r"[a-f0-9]{14}\.[0-9]{8}", fullmatch=True)),
        "code": draw(st.sampled_from(ROBOT_CODES)),
        "document_id": ["crm", document, f"{prefix}_{keys.deal_id}"],
        "document_type": ["crm", document, prefix],
        "event_token": draw(st.from_regex(r"[a-z0-9.|_]{8,40}", fullmatch=True)),
        "properties": {"Title": "Fuzz", "Responsible": "user_1", "DeadlineIn": "+1 day",
                       "PendingReviewDone": "N"},
        "use_subscription": "Y", "timeout_duration": "0", "ts": "1764150000",
        "auth": copy.deepcopy(keys.event["auth"]),
    }
    hostile = (odd_ids | texts | json_values
               | st.lists(texts, max_size=4) | st.dictionaries(texts, texts, max_size=4))
    fields, spoiled = _spoiled(draw, genuine, hostile)
    if draw(st.booleans()) and isinstance(fields.get("properties"), dict):
        fields["properties"] = {**fields["properties"],
                                draw(st.sampled_from(["Title", "Deadline", "Checklist",
                                                      "Responsible"])): draw(hostile)}
    content_type, body, how = _encoded(draw, fields)
    return assemble(draw, rule, f"robot {document}, hostile {spoiled} {how}", methods=POST,
                    target=target, content_type=content_type, body=body)
