"""``tasks.task.*``: add, update, get, list, delete and the status actions."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

from emulator import filters, task_fields, task_rules
from emulator.params import PAGE_SIZE, as_int, page, pick, require, sort_by_order, start_of
from emulator.registry import MethodRegistry, Paged
from emulator.state import Task

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_GETTERS: dict[str, Any] = {
    "ID": lambda t: t.id,
    "TITLE": lambda t: t.title,
    "REAL_STATUS": lambda t: t.status,
    "RESPONSIBLE_ID": lambda t: t.responsible_id,
    "CREATED_BY": lambda t: t.created_by,
    "UF_CRM_TASK": lambda t: t.uf_crm_task,
    "TAG": lambda t: t.tags,
    "CHANGED_DATE": lambda t: t.changed_date,
    "CREATED_DATE": lambda t: t.created_date,
    "CLOSED_DATE": lambda t: t.closed_date,
    "DEADLINE": lambda t: t.deadline,
    "GROUP_ID": lambda t: t.group_id,
    "ACCOMPLICE": lambda t: t.accomplices,
    "AUDITOR": lambda t: t.auditors,
    "MEMBER": lambda t: sorted(t.members()),
    "PRIORITY": lambda t: t.priority,
}
_DATES = frozenset({"CHANGED_DATE", "CREATED_DATE", "CLOSED_DATE", "DEADLINE"})


def _task_id(params: dict[str, Any]) -> Any:
    return require(params, "taskId", "id")


def _one(portal: Portal, ctx: CallContext, task: Task) -> dict[str, Any]:
    return {"task": task_fields.render(portal, task, ctx.user_id, "*")}


def add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = task_fields.parse_fields(require(params, "fields"))
    return _one(portal, ctx, portal.tasks.add(ctx.change(), fields))


def update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = task_fields.parse_fields(require(params, "fields"))
    return _one(portal, ctx, portal.tasks.update(ctx.change(), _task_id(params), fields))


def get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    task = portal.tasks.find(as_int(_task_id(params), "taskId"), ctx.user_id)
    if task is None:
        return []
    select = pick(params, "select")
    return {"task": task_fields.render(portal, task, ctx.user_id, select)}


def list_(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    conditions = filters.parse(pick(params, "filter"))
    meta = [c for c in conditions if c.field == "STATUS"]
    plain = [c for c in conditions if c.field != "STATUS"]
    now = portal.clock.now()
    order = pick(params, "order")
    start = start_of(params)
    with portal.state.lock:
        window = _in_id_window(portal.state.tasks, plain)
        direction = _by_id(order)
        if not meta and _only_id_bounds(plain) and direction is not None:
            # Like an index scan: the window is the answer, already in ID order either
            # way; without counting (start=-1) the scan stops at the page's last row.
            scan = reversed(window) if direction == "DESC" else window
            if start < 0:
                ordered = list(islice(
                    (t for t in scan if portal.tasks.can_read(t, ctx.user_id)), PAGE_SIZE))
            else:
                ordered = [t for t in scan if portal.tasks.can_read(t, ctx.user_id)]
        else:
            visible = [
                t for t in window
                if portal.tasks.can_read(t, ctx.user_id)
                and filters.matches(t, plain, _GETTERS, _DATES)
                and all(_meta_ok(t, c, ctx.user_id, now) for c in meta)
            ]
            ordered = sort_by_order(visible, order, _GETTERS)
        chunk, total, following = page(ordered, start)
        select = pick(params, "select")
        rendered = [task_fields.render(portal, t, ctx.user_id, select) for t in chunk]
    return Paged({"tasks": rendered}, total, following)


def _in_id_window(tasks: dict[int, Task], conditions: list[filters.Condition]) -> list[Task]:
    """Tasks are keyed by ascending ID: bisect to an ID window instead of scanning all."""
    low, high = filters.id_window(conditions)
    if low is None and high is None:
        return list(tasks.values())
    ids = list(tasks)  # insertion order is ID order: IDs only grow
    start = bisect_left(ids, low) if low is not None else 0
    stop = bisect_right(ids, high) if high is not None else len(ids)
    return [tasks[task_id] for task_id in ids[start:stop]]


def _only_id_bounds(conditions: list[filters.Condition]) -> bool:
    return all(c.field == "ID" and c.op in (">", ">=", "<", "<=") for c in conditions)


def _by_id(order: Any) -> str | None:
    """`ASC` or `DESC` when the list is ordered by ID alone (the default order is ID ASC)."""
    if order in (None, "", []):
        return "ASC"
    if not (isinstance(order, dict) and len(order) == 1):
        return None
    field, direction = next(iter(order.items()))
    direction = str(direction).upper()
    return direction if str(field).upper() == "ID" and direction in ("ASC", "DESC") else None


def _meta_ok(task: Task, condition: filters.Condition, viewer: int, now: float) -> bool:
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    hit = any(task_rules.matches_meta(task, int(v), viewer, now) for v in values)
    return not hit if condition.op.startswith("!") else hit


def delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    portal.tasks.delete(ctx.change(), _task_id(params))
    return {"task": True}


def action(name: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    user_id = pick(params, "userId")
    task = portal.tasks.act(
        ctx.change(), _task_id(params), name,
        user_id=as_int(user_id, "userId") if user_id not in (None, "") else None,
    )
    return _one(portal, ctx, task)


def register(registry: MethodRegistry) -> None:
    for name, handler in (("add", add), ("update", update), ("get", get),
                          ("list", list_), ("delete", delete)):
        registry.method(f"tasks.task.{name}", "task")(handler)
    for name in ("start", "pause", "defer", "renew", "complete", "approve", "disapprove",
                 "delegate"):
        registry.method(f"tasks.task.{name}", "task")(partial(action, name))
