"""Task fields in (UPPER_CASE from clients) and out (camelCase strings, as the portal answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import task_card, task_rules
from emulator.clock import parse_datetime
from emulator.errors import InvalidArgument
from emulator.state import Task

if TYPE_CHECKING:
    from emulator.portal import Portal

# UPPER name -> camelCase key, for the fields a default select returns.
DEFAULT_FIELDS: dict[str, str] = {
    "ID": "id",
    "PARENT_ID": "parentId",
    "TITLE": "title",
    "DESCRIPTION": "description",
    "MARK": "mark",
    "PRIORITY": "priority",
    "MULTITASK": "multitask",
    "NOT_VIEWED": "notViewed",
    "REPLICATE": "replicate",
    "GROUP_ID": "groupId",
    "STAGE_ID": "stageId",
    "CREATED_BY": "createdBy",
    "CREATED_DATE": "createdDate",
    "RESPONSIBLE_ID": "responsibleId",
    "ACCOMPLICES": "accomplices",
    "AUDITORS": "auditors",
    "CHANGED_BY": "changedBy",
    "CHANGED_DATE": "changedDate",
    "STATUS_CHANGED_BY": "statusChangedBy",
    "STATUS_CHANGED_DATE": "statusChangedDate",
    "CLOSED_BY": "closedBy",
    "CLOSED_DATE": "closedDate",
    "ACTIVITY_DATE": "activityDate",
    "DATE_START": "dateStart",
    "DEADLINE": "deadline",
    "TASK_CONTROL": "taskControl",
    "COMMENTS_COUNT": "commentsCount",
    "VIEWED_DATE": "viewedDate",
    "STATUS": "status",
    "SUB_STATUS": "subStatus",
    "FAVORITE": "favorite",
}
EXTRA_FIELDS: dict[str, str] = {
    "REAL_STATUS": "realStatus",
    "UF_CRM_TASK": "ufCrmTask",
    "TAGS": "tags",
    "SE_PARAMETER": "seParameter",
    "CHAT_ID": "chatId",  # the task chat of the new task card; null in the classic one
}
ALL_FIELDS = {**DEFAULT_FIELDS, **EXTRA_FIELDS}


def _flag(value: Any) -> bool:
    return str(value).upper() in ("Y", "1", "TRUE")


def _id_list(value: Any) -> list[int]:
    if value in (None, "", False):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [int(v) for v in items if str(v).strip()]


def _str_list(value: Any) -> list[str]:
    if value in (None, "", False):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def _se_parameters(value: Any) -> dict[int, str]:
    rows = value if isinstance(value, list) else list((value or {}).values())
    result = {}
    for row in rows:
        if isinstance(row, dict) and "CODE" in row:
            result[int(row["CODE"])] = "Y" if _flag(row.get("VALUE")) else "N"
    return result


_PARSERS = {
    "TITLE": ("title", str),
    "DESCRIPTION": ("description", str),
    "RESPONSIBLE_ID": ("responsible_id", int),
    "CREATED_BY": ("created_by", int),
    "ACCOMPLICES": ("accomplices", _id_list),
    "AUDITORS": ("auditors", _id_list),
    "DEADLINE": ("deadline", parse_datetime),
    "TASK_CONTROL": ("task_control", _flag),
    "SE_PARAMETER": ("se_parameters", _se_parameters),
    "UF_CRM_TASK": ("uf_crm_task", _str_list),
    "TAGS": ("tags", _str_list),
    "GROUP_ID": ("group_id", int),
    "PRIORITY": ("priority", int),
    "STATUS": ("status", int),
}


def parse_fields(raw: Any) -> dict[str, Any]:
    """``fields`` of tasks.task.add/update -> Task attribute values."""
    if not isinstance(raw, dict):
        raise InvalidArgument("fields must be an object")
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        spec = _PARSERS.get(str(key).upper())
        if spec is None:
            continue
        attribute, convert = spec
        try:
            parsed[attribute] = convert(value)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"Wrong value of field {key}") from exc
    return parsed


def wanted_fields(select: Any) -> dict[str, str]:
    """A ``select`` -> the UPPER -> camelCase pairs to render."""
    if select in (None, "", []):
        return DEFAULT_FIELDS
    names = select if isinstance(select, list) else [select]
    upper = [str(n).upper() for n in names]
    if "*" in upper:
        return {**DEFAULT_FIELDS, **{k: v for k, v in EXTRA_FIELDS.items() if k in upper}}
    chosen = {n: ALL_FIELDS[n] for n in upper if n in ALL_FIELDS}
    chosen.setdefault("ID", "id")
    return chosen


def render(portal: Portal, task: Task, viewer_id: int, select: Any = None) -> dict[str, Any]:
    """A task as ``tasks.task.get`` shows it to ``viewer_id``."""
    values = _values(portal, task, viewer_id)
    rendered = {camel: values[upper] for upper, camel in wanted_fields(select).items()}
    if "CREATED_BY" in wanted_fields(select):
        rendered["creator"] = portal.user_card(task.created_by)
    if "RESPONSIBLE_ID" in wanted_fields(select):
        rendered["responsible"] = portal.user_card(task.responsible_id)
    return rendered


def _values(portal: Portal, task: Task, viewer_id: int) -> dict[str, Any]:
    iso = portal.clock.iso

    def date(ts: float | None) -> str | None:
        return iso(ts) if ts else None

    view = task.views.get(viewer_id)
    return {
        "ID": str(task.id),
        "PARENT_ID": None,
        "TITLE": task.title,
        "DESCRIPTION": task.description,
        "MARK": None,
        "PRIORITY": str(task.priority),
        "MULTITASK": "N",
        "NOT_VIEWED": "Y" if task_rules.is_unviewed(task, viewer_id) else "N",
        "REPLICATE": "N",
        "GROUP_ID": str(task.group_id),
        "STAGE_ID": "0",
        "CREATED_BY": str(task.created_by),
        "CREATED_DATE": date(task.created_date),
        "RESPONSIBLE_ID": str(task.responsible_id),
        "ACCOMPLICES": [str(u) for u in task.accomplices],
        "AUDITORS": [str(u) for u in task.auditors],
        "CHANGED_BY": str(task.changed_by),
        "CHANGED_DATE": date(task.changed_date),
        "STATUS_CHANGED_BY": str(task.status_changed_by),
        "STATUS_CHANGED_DATE": date(task.status_changed_date),
        "CLOSED_BY": str(task.closed_by) if task.closed_by else None,
        "CLOSED_DATE": date(task.closed_date),
        "ACTIVITY_DATE": date(task.changed_date),
        "DATE_START": date(task.date_start),
        "DEADLINE": date(task.deadline),
        "TASK_CONTROL": "Y" if task.task_control else "N",
        "COMMENTS_COUNT": str(task.comments_count),
        "VIEWED_DATE": date(view),
        "STATUS": str(task.status),
        "REAL_STATUS": str(task.status),
        "SUB_STATUS": str(task_rules.sub_status(task, viewer_id, portal.clock.now())),
        "FAVORITE": "N",
        "UF_CRM_TASK": list(task.uf_crm_task) or False,
        "TAGS": {str(i + 1): {"id": str(i + 1), "title": t} for i, t in enumerate(task.tags)},
        "SE_PARAMETER": [
            {"CODE": str(code), "VALUE": value} for code, value in task.se_parameters.items()
        ],
        "CHAT_ID": task_card.chat_id(task.id) if task_card.is_new(portal) else None,
    }
