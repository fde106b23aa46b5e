"""Checklists, comments, results and history of a task."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulator import task_card
from emulator.errors import RestError
from emulator.params import as_dict, as_int, pick, require
from emulator.registry import MethodRegistry
from emulator.state import ChecklistItem, TaskComment

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal


def _positional(params: dict[str, Any], index: int, *names: str) -> Any:
    """Old task.* methods take positional arrays too: ``[taskId, {fields}]``."""
    value = pick(params, *names)
    if value is None:
        value = params.get(str(index))
    return value


def _task_id(params: dict[str, Any]) -> Any:
    value = _positional(params, 0, "TASKID", "taskId")
    if value in (None, ""):
        raise RestError("ERROR_CORE", "TASKID is required")
    return value


def _checklist_row(portal: Portal, item: ChecklistItem) -> dict[str, Any]:
    return {
        "ID": str(item.id), "TASK_ID": str(item.task_id), "PARENT_ID": str(item.parent_id),
        "CREATED_BY": str(item.created_by), "TITLE": item.title,
        "SORT_INDEX": str(item.sort_index), "IS_COMPLETE": "Y" if item.is_complete else "N",
        "IS_IMPORTANT": "N", "TOGGLED_BY": None, "TOGGLED_DATE": "", "MEMBERS": [],
        "ATTACHMENTS": [],
    }


def checklist_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(_positional(params, 1, "FIELDS"), "FIELDS")
    done = str(pick(fields, "IS_COMPLETE", default="N")).upper() in ("Y", "1", "TRUE")
    sort_index = pick(fields, "SORT_INDEX")
    item = portal.tasks.add_checklist_item(
        ctx.change(), _task_id(params), str(pick(fields, "TITLE", default="")), done,
        None if sort_index in (None, "") else as_int(sort_index, "SORT_INDEX"),
        as_int(pick(fields, "PARENT_ID", default=0) or 0, "PARENT_ID"),
    )
    return item.id


def checklist_getlist(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = portal.tasks.require(_task_id(params), ctx.user_id)
    with portal.state.lock:
        items = [i for i in portal.state.checklist.values() if i.task_id == task.id]
    items.sort(key=lambda i: (i.sort_index, i.id))
    return [_checklist_row(portal, i) for i in items]


def _item_id(params: dict[str, Any]) -> Any:
    value = _positional(params, 1, "ITEMID")
    if value in (None, ""):
        raise RestError("ERROR_CORE", "ITEMID is required")
    return value


def checklist_complete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    portal.tasks.tick_checklist_item(ctx.change(), _item_id(params), True)
    return True


def checklist_renew(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    portal.tasks.tick_checklist_item(ctx.change(), _item_id(params), False)
    return True


def comment_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(_positional(params, 1, "FIELDS"), "FIELDS")
    is_result = str(pick(fields, "IS_RESULT", default="N")).upper() in ("Y", "1", "TRUE")
    comment = portal.tasks.add_comment(
        ctx.change(), _task_id(params), str(pick(fields, "POST_MESSAGE", default="")), is_result
    )
    return task_card.visible_id(portal, comment)


def _comment_row(portal: Portal, comment: TaskComment) -> dict[str, Any]:
    user = portal.state.users.get(comment.author_id)
    return {
        "ID": str(comment.id), "AUTHOR_ID": str(comment.author_id),
        "AUTHOR_NAME": f"{user.name} {user.last_name}".strip() if user else "",
        "POST_DATE": portal.clock.iso(comment.created), "POST_MESSAGE": comment.text,
    }


def comment_getlist(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task_card.refuse_comment_method(portal, "getlist")
    task = portal.tasks.require(_task_id(params), ctx.user_id)
    with portal.state.lock:
        comments = [c for c in portal.state.comments.values() if c.task_id == task.id]
    return [_comment_row(portal, c) for c in sorted(comments, key=lambda c: c.id)]


def _comment(portal: Portal, ctx: CallContext, params: dict[str, Any], action: str
             ) -> TaskComment:
    """The classic card's comment named by ``TASKID``/``ITEMID`` (errors as documented)."""
    task_card.refuse_comment_method(portal, action)
    task = portal.tasks.require(_task_id(params), ctx.user_id)
    comment = portal.state.comments.get(as_int(_item_id(params), "ITEMID"))
    if comment is None or comment.task_id != task.id:
        raise RestError("ERROR_CORE", (
            "TASKS_ERROR_EXCEPTION_#512; Comment not found or not accessible; "
            "512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE.<br>") if action == "get" else (
            "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED.<br>"))
    if action != "get" and comment.author_id != ctx.user_id and not portal.is_admin(
            ctx.user_id):
        raise RestError("ERROR_CORE", "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; "
                        "4/TE/ACTION_NOT_ALLOWED.<br>")
    return comment


def comment_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    with portal.state.lock:
        return _comment_row(portal, _comment(portal, ctx, params, "get"))


def comment_update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(_positional(params, 2, "FIELDS"), "FIELDS")
    with portal.state.lock:
        comment = _comment(portal, ctx, params, "update")
        text = str(pick(fields, "POST_MESSAGE", default="") or "")
        if not text:
            raise RestError("ERROR_CORE", "Comment text not specified.<br>")
        comment.text = text
    return True


def comment_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    with portal.state.lock:
        comment = _comment(portal, ctx, params, "delete")
        del portal.state.comments[comment.id]
        task = portal.state.tasks.get(comment.task_id)
        if task is not None:
            task.comments_count = max(0, task.comments_count - 1)
    return True


def _result_row(portal: Portal, comment: TaskComment) -> dict[str, Any]:
    created = portal.clock.iso(comment.created)
    return {
        "id": comment.id, "taskId": comment.task_id,
        "commentId": 0 if comment.message_id else comment.id,
        "createdBy": comment.author_id, "createdAt": created, "updatedAt": created,
        "status": comment.result_status, "text": comment.text,
        "formattedText": comment.text, "files": [],
    }


def result_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = portal.tasks.require(require(params, "taskId"), ctx.user_id)
    with portal.state.lock:
        results = [c for c in portal.state.comments.values()
                   if c.task_id == task.id and c.is_result]
    return [_result_row(portal, c) for c in sorted(results, key=lambda c: -c.id)]


def result_add_from_comment(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task_card.refuse_result_from_comment(portal)
    comment_id = require(params, "commentId")
    if isinstance(comment_id, bool) or not re.fullmatch(r"[0-9]+", str(comment_id)):
        raise RestError("100", f"Invalid value {comment_id} to match with parameter "
                        "{commentId}. Should be value of type int.")
    comment = portal.tasks.mark_result(ctx.change(), comment_id)
    return _result_row(portal, comment)


def history_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = portal.tasks.require(require(params, "taskId", "id"), ctx.user_id)
    with portal.state.lock:
        entries = [h for h in portal.state.history if h.task_id == task.id]
    rows = []
    for entry in entries:
        user = portal.state.users.get(entry.user_id)
        rows.append({
            "id": str(entry.id),
            "createdDate": portal.clock.iso(entry.created),
            "field": entry.field,
            "value": {"from": _history_value(entry.value_from),
                      "to": _history_value(entry.value_to)},
            "user": {"id": str(entry.user_id), "name": user.name if user else "",
                     "lastName": user.last_name if user else "",
                     "login": user.email if user else ""},
        })
    return {"list": rows}


def _history_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return str(int(value))  # DEADLINE from/to are Unix times
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def register(registry: MethodRegistry) -> None:
    for name, handler in (
        ("task.checklistitem.add", checklist_add),
        ("task.checklistitem.getlist", checklist_getlist),
        ("task.checklistitem.complete", checklist_complete),
        ("task.checklistitem.renew", checklist_renew),
        ("task.commentitem.add", comment_add),
        ("task.commentitem.getlist", comment_getlist),
        ("task.commentitem.get", comment_get),
        ("task.commentitem.update", comment_update),
        ("task.commentitem.delete", comment_delete),
        ("tasks.task.result.list", result_list),
        ("tasks.task.result.addFromComment", result_add_from_comment),
        ("tasks.task.history.list", history_list),
    ):
        registry.method(name, "task")(handler)
