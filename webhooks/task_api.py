"""`POST /bitrix/tasks`: automations create a task bound to a deal or lead.

The body is JSON: `member_id`, `entity` ("deal" or "lead"), `item_id`, `title`,
`responsible_id`, `created_by`, and optionally `description`, `deadline` (ISO 8601),
`checklist` (strings), `task_control` and `result_required` (booleans). The caller
authenticates with `Authorization: Bearer <token>`, the portal's token from
`taskbridge task token --portal MEMBER_ID` (`connector.portals.automation_token`). The task is
created as from a card (`connector.sync.task_creation.create_and_show`); the answer is
201 `{"task_id": N}`. Refusals are JSON with `error`, `error_description` and, when one
value is at fault, `field`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from connector.portals.automation_token import token_matches
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.sync.task_creation import (
    InvalidNewTask,
    ItemUnavailable,
    NewTask,
    TaskNotCreated,
    TaskPartlyCreated,
    create_and_show,
    parse_deadline,
)
from mappers.bindings import DEAL, LEAD, CrmRef
from mappers.errors import InvalidIdError
from mappers.ids import parse_id
from webhooks import answers
from webhooks.answers import portal_refusal_status
from webhooks.errors import BodyError, TaskApiRefused
from webhooks.request_body import read_json

log = logging.getLogger(__name__)

blueprint = answers.register(Blueprint("task_api", __name__))

ENTITIES = {"deal": DEAL, "lead": LEAD}
REQUIRED = ("member_id", "entity", "item_id", "title", "responsible_id", "created_by")
OPTIONAL = ("description", "deadline", "checklist", "task_control", "result_required")
# A portal's member_id, as events carry it (`EventAuth`): it is logged, so nothing else.
MEMBER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)


@blueprint.post("/bitrix/tasks")
def create_task():  # type: ignore[no-untyped-def]
    """Create a task bound to a deal or lead, for an automation of the portal."""
    try:
        body = read_json(request)
    except BodyError as exc:
        if exc.status != 400:
            raise
        raise TaskApiRefused(400, "invalid_json", exc.description) from exc
    member_id = body.get("member_id")
    if not isinstance(member_id, str) or not MEMBER_ID.fullmatch(member_id):
        raise TaskApiRefused(400, "invalid_field", "member_id: required, a portal's member_id",
                             "member_id")
    settings = current_app.extensions["taskbridge.settings"]
    storage = current_app.extensions["taskbridge.storage"]
    if not token_matches(settings, member_id, _bearer()):
        log.warning("task api: refused a request for portal %s: wrong or missing token",
                    member_id)
        raise TaskApiRefused(401, "invalid_token", "no valid bearer token for this portal")
    portal = storage.portals.find(member_id)
    if portal is None:
        log.warning("task api: refused a request for unknown portal %s", member_id)
        raise TaskApiRefused(401, "unknown_portal",
                             "TaskBridge knows no portal with this member_id")
    if portal.state != "installed":
        raise TaskApiRefused(410, "portal_unavailable",
                             "TaskBridge is not installed on this portal")
    try:
        new_task = parse_new_task(body)
    except InvalidNewTask as exc:
        raise TaskApiRefused(400, "invalid_field", str(exc), exc.field) from exc
    client = PortalClient.for_portal(storage, settings, portal.member_id)
    try:
        task_id = create_and_show(storage.engine, client, portal, new_task)
    except ItemUnavailable as exc:
        raise TaskApiRefused(404, "item_not_found", exc.description or str(exc),
                             "item_id") from exc
    except TaskPartlyCreated as exc:
        raise TaskApiRefused(502, "task_incomplete", exc.description or str(exc),
                             task_id=exc.task_id) from exc
    except (TaskNotCreated, BitrixError) as exc:
        raise TaskApiRefused(portal_refusal_status(exc), "portal_refused",
                             exc.description or str(exc)) from exc
    finally:
        client.close()
    log.info("task api: portal %s: task %s created for %s", member_id, task_id,
             new_task.item.code)
    return jsonify({"task_id": task_id}), 201


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def parse_new_task(body: dict[str, Any]) -> NewTask:
    """The new task a JSON body asks for; `InvalidNewTask` names the first bad field."""
    unknown = sorted(set(body) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise InvalidNewTask(unknown[0], "not a field of this endpoint")
    for name in REQUIRED:
        if body.get(name) in (None, ""):
            raise InvalidNewTask(name, "required")
    entity = body["entity"]
    if not isinstance(entity, str) or entity not in ENTITIES:
        raise InvalidNewTask("entity", 'must be "deal" or "lead"')
    deadline = _text(body, "deadline")
    return NewTask(
        item=CrmRef(ENTITIES[entity], _user_or_item_id(body, "item_id")),
        title=_text(body, "title").strip(),
        responsible_id=_user_or_item_id(body, "responsible_id"),
        created_by=_user_or_item_id(body, "created_by"),
        description=_text(body, "description"),
        deadline=parse_deadline(deadline) if deadline else None,
        checklist=_checklist(body),
        task_control=_flag(body, "task_control"),
        result_required=_flag(body, "result_required"),
    )


def _user_or_item_id(body: dict[str, Any], name: str) -> int:
    try:
        return parse_id(body.get(name), name)
    except InvalidIdError as exc:
        raise InvalidNewTask(name, "must be a positive integer ID (1 to 18 ASCII digits)"
                             ) from exc


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidNewTask(name, "must be a string")
    return value


def _checklist(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("checklist")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidNewTask("checklist", "must be a list of strings")
    return tuple(item.strip() for item in value)


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidNewTask(name, "must be true or false")
    return value
