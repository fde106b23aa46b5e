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
        body["event"] = draw(texts | st.sampled_from(["ONTASKADD", "ONTASKUPDATE",
                                                      "ONCRMLEADUPDATE", "ONAPPUNINSTALL"]))
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


def _placement_options(draw: st.DrawFn, keys: FuzzKeys) -> Any:
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
    placement = draw(st.sampled_from(PLACEMENTS) | texts)
    fields: dict[str, Any] = {
        "AUTH_ID": _either(draw, draw(st.sampled_from([keys.admin_auth, keys.user_auth])), 4),
        "member_id": _either(draw, keys.member_id, 4), "PLACEMENT": placement,
        "PLACEMENT_OPTIONS": _placement_options(draw, keys), "AUTH_EXPIRES": draw(odd_ids),
        "REFRESH_ID": draw(st.sampled_from(["", "refresh"]) | texts), "LANG": draw(texts)}
    content_type, body, how = _encoded(draw, fields)
    kind = f"placement {placement if placement in PLACEMENTS else 'odd'} {how}"
    return assemble(draw, rule, kind, methods=POST, target=target, content_type=content_type,
                    body=body)


@st.composite
def card_form_requests(draw: st.DrawFn, keys: FuzzKeys) -> Fuzzed:
    rule, path = "placement_tabs.create_task", "/bitrix/placement/tasks"
    if draw(st.integers(0, 4)) == 4:
        content_type, body, kind = draw(body_shapes())
        return assemble(draw, rule, kind, methods=POST, target=path.encode(),
                        content_type=content_type, body=body)
    token = draw(st.sampled_from(["genuine", "genuine", "tampered", "hostile"]))
    fields = {
        "token": {"genuine": keys.card_token, "tampered": keys.card_token[:-3] + "AAA",
                  "hostile": draw(texts)}[token],
        "title": draw(texts), "responsible": _either(draw, "1"),
        "deadline": draw(st.sampled_from(["", "2026-12-31T10:00"]) | texts | odd_ids),
        "description": draw(texts), "checklist": draw(texts),
        "task_control": draw(st.sampled_from(["on", ""]) | texts),
        "result_required": draw(st.sampled_from(["on", ""]) | texts)}
    if draw(st.booleans()):
        fields = {k: v for k, v in fields.items()
                  if k not in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3))}
    content_type, body, how = _encoded(draw, fields)
    return assemble(draw, rule, f"card form, {token} token {how}", methods=POST,
                    target=path.encode(), content_type=content_type, body=body)


def _task_fields(draw: st.DrawFn, keys: FuzzKeys) -> dict[str, Any]:
    def value(genuine: Any) -> Any:
        pick = draw(st.integers(0, 5))
        return genuine if pick < 3 else draw(odd_ids) if pick == 3 else draw(json_values)

    fields = {"member_id": value(keys.member_id), "entity": value("deal"),
              "item_id": value(keys.deal_id), "title": value("Fuzz"),
              "responsible_id": value(1), "created_by": value(1),
              "description": value(""), "deadline": value("2026-12-31T10:00:00+00:00"),
              "checklist": value(["one", "two"]), "task_control": value(False),
              "result_required": value(True)}
    dropped = draw(st.lists(st.sampled_from(sorted(fields)), max_size=3))
    fields = {k: v for k, v in fields.items() if k not in dropped}
    fields.update(draw(st.dictionaries(texts, json_values, max_size=1)))
    return fields


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
        content_type, body = "application/json", json.dumps(_task_fields(draw, keys)).encode()
    elif shape == "deep":
        content_type, body = "application/json", draw(deep_json())
    else:
        content_type, body, shape = draw(body_shapes())
    return assemble(draw, rule, f"tasks api {shape}, {bearer} bearer", methods=POST,
                    target=path.encode() + _hostile_query(draw, ("member_id", "token")),
                    content_type=content_type, body=body, headers=headers)
