"""REST 3.0 ``tasks.task.add|get|update|delete`` (``api-reference/tasks/*-rest-v3.md``).

Fields are camelCase with JSON types (``fields-rest-v3.md``); there is no ``tags`` field.
Tasks are the same records the classic ``tasks.task.*`` methods see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import task_card
from emulator.clock import parse_datetime
from emulator.rest_v3 import RestV3, V3Error, invalid, required
from emulator.state import Task

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

SCOPES = ("tasks", "task")
_STATUS = {1: "pending", 2: "pending", 3: "in_progress", 4: "supposedly_completed",
           5: "completed", 6: "deferred", 7: "declined"}
_PRIORITY = {"low": 0, "average": 1, "high": 2}
_RESULT_REQUIRED = 3  # SE_PARAMETER code


def _int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"Field `{field}` requires data type `int` for this request")
    return value


def _ints(field: str, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise invalid(field, f"Field `{field}` requires data type `array` for this request")
    return [_int(field, v) for v in value]


def _bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("Y", "N"):
        return value == "Y"
    raise invalid(field, f"Field `{field}` requires data type `bool` for this request")


def _str(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(field, f"Field `{field}` requires data type `string` for this request")
    return value


def _date(field: str, value: Any) -> float | None:
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise invalid(field, f"Field `{field}` requires data type `DateTime` for this request")
    return moment


def _user(portal: Portal, field: str, value: Any, message: str) -> int:
    user_id = _int(field, value)
    if user_id not in portal.state.users:
        raise invalid(field, message)
    return user_id


def _parse(portal: Portal, raw: Any, creating: bool) -> dict[str, Any]:
    """REST 3.0 ``fields`` -> Task attribute values (unknown names are ignored)."""
    if not isinstance(raw, dict) or (creating and not raw):
        raise required("fields")
    if creating:
        for name in ("title", "creatorId", "responsibleId"):
            if raw.get(name) in (None, ""):
                raise required(name)
    elif "creatorId" in raw:
        raise invalid("creatorId", "In DTO `TaskDto`, the field `creatorId` requires the "
                      "presence of the `Editable` attribute for such a request")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "title":
            out["title"] = _str(name, value)
        elif name == "description":
            out["description"] = _str(name, value)
        elif name == "creatorId":
            out["created_by"] = _user(portal, name, value, "")
        elif name == "responsibleId":
            out["responsible_id"] = _user(portal, name, value, 'User specified in the '
                                          '"Executor" field not found')
        elif name == "deadline":
            out["deadline"] = _date(name, value)
        elif name in ("startPlan", "endPlan"):
            _date(name, value)  # checked, not kept
        elif name == "needsControl":
            out["task_control"] = _bool(name, value)
        elif name == "requireResult":
            out["se_parameters"] = {_RESULT_REQUIRED: "Y" if _bool(name, value) else "N"}
        elif name in ("accomplices", "auditors"):
            out[name] = _ints(name, value)
        elif name == "groupId":
            out["group_id"] = _int(name, value)
        elif name == "priority":
            if value not in _PRIORITY:
                raise invalid(name, "Field `priority` requires one of `high`, `average`, `low`")
            out["priority"] = _PRIORITY[value]
        elif name == "crmItemIds":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise invalid(name, "Field `crmItemIds` requires data type `array` for this "
                              "request")
            out["uf_crm_task"] = list(value)
    return out


def render(portal: Portal, task: Task, viewer_id: int) -> dict[str, Any]:
    """A task as REST 3.0 shows it without a ``select`` (a subset of the documented set)."""
    iso = portal.clock.iso

    def date(ts: float | None) -> str | None:
        return iso(ts) if ts else None

    items = [c.id for c in portal.state.checklist.values() if c.task_id == task.id]
    return {
        "id": task.id, "title": task.title, "description": task.description,
        "creatorId": task.created_by, "responsibleId": task.responsible_id,
        "created": date(task.created_date), "deadline": date(task.deadline),
        "needsControl": task.task_control, "startPlan": None, "endPlan": None,
        "checklist": items, "groupId": task.group_id,
        "priority": {v: k for k, v in _PRIORITY.items()}.get(task.priority, "average"),
        "status": _STATUS.get(task.status, "pending"),
        "statusChanged": date(task.status_changed_date),
        "accomplices": list(task.accomplices), "auditors": list(task.auditors),
        "parentId": None, "containsChecklist": bool(items),
        "containsResults": any(c.is_result for c in portal.state.comments.values()
                               if c.task_id == task.id),
        "started": date(task.date_start), "changed": date(task.changed_date),
        "closed": date(task.closed_date), "activity": date(task.changed_date),
        "link": f"/company/personal/user/{viewer_id}/tasks/task/view/{task.id}/",
        "crmItemIds": list(task.uf_crm_task),
        "requireResult": task.se_parameters.get(_RESULT_REQUIRED) == "Y",
        "scenarios": ["crm" if task.uf_crm_task else "default"],
    }


def _select(portal: Portal, item: dict[str, Any], task: Task, select: Any) -> dict[str, Any]:
    if select in (None, []):
        return item
    if not isinstance(select, list) or not all(isinstance(s, str) for s in select):
        raise invalid("select", "Field `select` requires data type `array` for this request")
    chosen: dict[str, Any] = {}
    users = {"creator": task.created_by, "responsible": task.responsible_id}
    for name in select:
        if "." in name:
            relation, field = name.split(".", 1)
            if relation == "chat":  # the task chat of the new task card (none in classic)
                chat = ({"id": task_card.chat_id(task.id), "entityId": task.id,
                         "entityType": "TASKS_TASK"} if task_card.is_new(portal) else {})
                if field not in ("id", "entityId", "entityType"):
                    raise V3Error("UNKNOWNDTOPROPERTYEXCEPTION",
                                  f"Unknown field `{field}` for entity `ChatDto`")
                chosen.setdefault("chat", {})[field] = chat.get(field)
                continue
            if relation not in users:
                raise V3Error("UNKNOWNDTOPROPERTYEXCEPTION",
                              f"Unknown field `{relation}` for entity `TaskDto`")
            user = portal.state.users[users[relation]]
            card = {"id": user.id, "name": f"{user.name} {user.last_name}".strip(),
                    "email": user.email, "workPosition": user.work_position}
            if field not in card:
                raise V3Error("UNKNOWNDTOPROPERTYEXCEPTION",
                              f"Unknown field `{field}` for entity `UserDto`")
            chosen.setdefault(relation, {})[field] = card[field]
        elif name in item:
            chosen[name] = item[name]  # an unknown own field is left out, as documented
    return chosen


def _task(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Task:
    if params.get("id") in (None, ""):
        raise required("id")
    task = portal.tasks.find(_int("id", params["id"]), ctx.user_id)
    if task is None:
        raise V3Error("ACCESSDENIEDEXCEPTION", "Access denied", 403)
    return task


def add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = _parse(portal, params.get("fields"), creating=True)
    if not fields["title"].strip():
        raise required("title")
    task = portal.tasks.add(ctx.change(), fields)
    return {"item": render(portal, task, ctx.user_id)}


def get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = _task(portal, ctx, params)
    return {"item": _select(portal, render(portal, task, ctx.user_id), task,
                            params.get("select"))}


def update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = _task(portal, ctx, params)
    raw = params.get("fields")
    if not isinstance(raw, dict) or not raw:
        raise required("fields")
    portal.tasks.update(ctx.change(), task.id, _parse(portal, raw, creating=False))
    return {"result": True}


def delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = _task(portal, ctx, params)
    portal.tasks.delete(ctx.change(), task.id)
    return {"result": True}


def register(api: RestV3) -> None:
    api.method("tasks.task.add", SCOPES, writes=True)(add)
    api.method("tasks.task.get", SCOPES, writes=False)(get)
    api.method("tasks.task.update", SCOPES, writes=True)(update)
    api.method("tasks.task.delete", SCOPES, writes=True)(delete)
