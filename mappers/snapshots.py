"""Typed, frozen snapshots of a task and of a CRM item, built from REST answers.

The tasks API answers camelCase with every value a string (``"Y"``/``"N"``, ISO
dates with offsets, ``ufCrmTask`` either ``false`` or a list); the CRM API answers
UPPER_CASE. ``from_rest`` turns those into proper types and raises ``SnapshotError``
(or ``BindingCodeError`` for a bad ``UF_CRM_TASK`` code) when the shape is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from mappers.bindings import DEAL, LEAD, CrmRef, parse_bindings
from mappers.errors import SnapshotError

# Real task statuses (tasks API ``status`` / ``REAL_STATUS``).
NEW, PENDING, IN_PROGRESS, SUPPOSEDLY_COMPLETED, COMPLETED, DEFERRED, DECLINED = range(1, 8)

RESULT_REQUIRED_PARAMETER = 3  # SE_PARAMETER code: "the task needs a result"
TASKBRIDGE_TAG = "CRM"

_FROZEN = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


def _describe(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors()
    )


def _flag(value: object) -> bool:
    """Read a Bitrix24 ``Y``/``N`` flag (also a real bool)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in {"Y", "N"}:
        return value.upper() == "Y"
    raise ValueError(f"expected 'Y' or 'N', got {value!r}")


def _values(value: object) -> list[Any]:
    """A JSON list, or a PHP array that arrived as an object, as a list."""
    if value is None or value is False or value == "":
        return []
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"expected a list, got {type(value).__name__}")


class TaskSnapshot(BaseModel):
    """What TaskBridge knows about a task at one moment."""

    model_config = _FROZEN

    id: int = Field(gt=0)
    title: str = ""
    description: str = ""
    real_status: int
    created_by: int
    responsible_id: int
    accomplices: tuple[int, ...] = ()
    auditors: tuple[int, ...] = ()
    changed_by: int | None = None
    status_changed_by: int | None = None
    changed_date: AwareDatetime | None = None
    status_changed_date: AwareDatetime | None = None
    deadline: AwareDatetime | None = None
    closed_date: AwareDatetime | None = None
    task_control: bool = False
    result_required: bool = False
    crm_bindings: tuple[CrmRef, ...] = ()
    tags: tuple[str, ...] = ()
    group_id: int = 0
    checklist_digest: str | None = None
    checklist_count: int | None = None
    result_count: int | None = None
    not_viewed_by_responsible: bool | None = None

    @field_validator(
        "changed_date", "status_changed_date", "deadline", "closed_date", mode="before"
    )
    @classmethod
    def _blank_date_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("changed_date", "status_changed_date", "deadline", "closed_date")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # The same instant, in one time zone: the rules compare and format these dates on
        # every observation, which costs far less between dates of one time zone.
        return None if value is None else value.astimezone(UTC)

    @field_validator("changed_by", "status_changed_by", mode="before")
    @classmethod
    def _blank_user_is_none(cls, value: object) -> object:
        return None if value in ("", "0", 0) else value

    @field_validator("group_id", mode="before")
    @classmethod
    def _no_group_is_zero(cls, value: object) -> object:
        return 0 if value in (None, "") else value

    @field_validator("task_control", "result_required", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> bool:
        return _flag(value)

    @field_validator("accomplices", "auditors", mode="before")
    @classmethod
    def _user_ids(cls, value: object) -> tuple[int, ...]:
        items = _values(value)
        if not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items):
            raise ValueError("user IDs must be strings or integers")
        return tuple(sorted({int(item) for item in items}))

    @property
    def is_completed(self) -> bool:
        """Real status 5: completed (accepted, when the task is under control)."""
        return self.real_status == COMPLETED

    @property
    def has_taskbridge_tag(self) -> bool:
        return TASKBRIDGE_TAG in self.tags

    @classmethod
    def from_rest(
        cls,
        task: Mapping[str, Any],
        *,
        viewer_id: int | None = None,
        result_count: int | None = None,
    ) -> TaskSnapshot:
        """Build from a ``tasks.task.get``/``list`` task (camelCase, string values).

        ``viewer_id`` is the user whose token fetched the task: ``notViewed`` describes
        that user, so it tells about the responsible only when they are the same.
        ``result_count`` comes from ``tasks.task.result.list`` when it was fetched.
        """
        if isinstance(task, Mapping) and set(task) == {"task"}:
            task = task["task"]
        if not isinstance(task, Mapping):
            raise SnapshotError(f"a task answer must be an object, got {type(task).__name__}")
        try:
            fields = _task_fields(task, viewer_id)
        except ValueError as exc:
            raise SnapshotError(f"task {task.get('id')!r}: {exc}") from exc
        fields["crm_bindings"] = parse_bindings(task.get("ufCrmTask"))
        fields["result_count"] = result_count
        try:
            return cls.model_validate(fields)
        except pydantic.ValidationError as exc:
            raise SnapshotError(f"task {task.get('id')!r}: {_describe(exc)}") from exc


_TASK_KEYS = {
    "id": "id",
    "title": "title",
    "description": "description",
    "createdBy": "created_by",
    "responsibleId": "responsible_id",
    "accomplices": "accomplices",
    "auditors": "auditors",
    "changedBy": "changed_by",
    "statusChangedBy": "status_changed_by",
    "changedDate": "changed_date",
    "statusChangedDate": "status_changed_date",
    "deadline": "deadline",
    "closedDate": "closed_date",
    "taskControl": "task_control",
    "groupId": "group_id",
}


def _task_fields(task: Mapping[str, Any], viewer_id: int | None) -> dict[str, Any]:
    fields = {name: task[key] for key, name in _TASK_KEYS.items() if key in task}
    fields["real_status"] = task.get("realStatus", task.get("status"))
    fields["result_required"] = _result_required(task.get("seParameter"))
    fields["tags"] = _tags(task.get("tags"))
    if "checklist" in task:
        fields["checklist_digest"], fields["checklist_count"] = _checklist(task["checklist"])
    if viewer_id is not None and "notViewed" in task:
        responsible = task.get("responsibleId")
        if str(responsible) == str(viewer_id):
            fields["not_viewed_by_responsible"] = _flag(task["notViewed"])
    return fields


def _entry(entry: object, name: str) -> object:
    if not isinstance(entry, Mapping):
        raise ValueError(f"seParameter entries must be objects, got {entry!r}")
    return entry.get(name, entry.get(name.upper()))


def _result_required(parameters: object) -> bool:
    """``seParameter``: a list of ``{code, value}`` entries; code 3 = result required."""
    for entry in _values(parameters):
        if str(_entry(entry, "code")) == str(RESULT_REQUIRED_PARAMETER):
            return _flag(_entry(entry, "value"))
    return False


def _tags(value: object) -> tuple[str, ...]:
    """Tags as a list of names, of ``{title}``/``{NAME}`` objects, or a comma string."""
    if isinstance(value, str):
        names = value.split(",")
    else:
        names = []
        for item in _values(value):
            if isinstance(item, Mapping):
                item = item.get("title", item.get("name", item.get("NAME")))
            if not isinstance(item, str):
                raise ValueError(f"a tag must be a name, got {item!r}")
            names.append(item)
    return tuple(sorted({name.strip() for name in names if name.strip()}))


_CHECKLIST_KEYS = ("id", "parentId", "title", "isComplete", "sortIndex", "isImportant")


def _checklist(value: object) -> tuple[str, int]:
    """A digest of the checklist's items (what they say and whether they are ticked)."""
    items = []
    for item in _values(value):
        if not isinstance(item, Mapping):
            raise ValueError(f"checklist items must be objects, got {item!r}")
        items.append([str(item.get(key, "")) for key in _CHECKLIST_KEYS])
    items.sort()
    digest = hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()
    return digest[:32], len(items)


Semantic = Literal["P", "S", "F"]


class CrmItemSnapshot(BaseModel):
    """A lead or a deal as the CRM answered it, typed."""

    model_config = _FROZEN

    entity_type_id: int
    id: int = Field(gt=0)
    title: str = ""
    category_id: int = 0
    stage_id: str
    stage_semantic: Semantic
    closed: bool
    assigned_by_id: int | None = None
    status_field: str | None = None

    @field_validator("closed", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> bool:
        return _flag(value)

    @field_validator("category_id", mode="before")
    @classmethod
    def _no_category_is_zero(cls, value: object) -> object:
        return 0 if value in (None, "") else value

    @field_validator("assigned_by_id", "status_field", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value in ("", False) else value

    @property
    def ref(self) -> CrmRef:
        return CrmRef(self.entity_type_id, self.id)

    @property
    def is_final(self) -> bool:
        """The stage (status for leads) is a success (``S``) or failure (``F``) one."""
        return self.stage_semantic in ("S", "F")

    @classmethod
    def from_deal(cls, deal: Mapping[str, Any]) -> CrmItemSnapshot:
        """Build from a ``crm.deal.get`` answer (``STAGE_ID``, ``STAGE_SEMANTIC_ID``...)."""
        return _build(
            DEAL,
            deal,
            {
                "CATEGORY_ID": "category_id",
                "STAGE_ID": "stage_id",
                "STAGE_SEMANTIC_ID": "stage_semantic",
                "CLOSED": "closed",
            },
        )

    @classmethod
    def from_lead(cls, lead: Mapping[str, Any]) -> CrmItemSnapshot:
        """Build from a ``crm.lead.get`` answer (``STATUS_ID``, ``STATUS_SEMANTIC_ID``)."""
        item = _build(
            LEAD,
            lead,
            {"STATUS_ID": "stage_id", "STATUS_SEMANTIC_ID": "stage_semantic"},
            closed=False,
        )
        return item.model_copy(update={"closed": item.is_final})

    @classmethod
    def from_rest(cls, entity_type_id: int, answer: Mapping[str, Any]) -> CrmItemSnapshot:
        """Build from a deal (2) or lead (1) answer."""
        if entity_type_id == DEAL:
            return cls.from_deal(answer)
        if entity_type_id == LEAD:
            return cls.from_lead(answer)
        raise SnapshotError(f"entityTypeId {entity_type_id} is not a deal or a lead")


_COMMON_ITEM_KEYS = {
    "ID": "id",
    "TITLE": "title",
    "ASSIGNED_BY_ID": "assigned_by_id",
    "UF_CRM_TASKBRIDGE_STATUS": "status_field",
}


def _build(
    entity_type_id: int,
    answer: Mapping[str, Any],
    keys: Mapping[str, str],
    **extra: object,
) -> CrmItemSnapshot:
    if not isinstance(answer, Mapping):
        raise SnapshotError(f"a CRM answer must be an object, got {type(answer).__name__}")
    fields: dict[str, Any] = {"entity_type_id": entity_type_id, **extra}
    for key, name in {**_COMMON_ITEM_KEYS, **keys}.items():
        if key in answer:
            fields[name] = answer[key]
    try:
        return CrmItemSnapshot.model_validate(fields)
    except pydantic.ValidationError as exc:
        raise SnapshotError(
            f"CRM item {entity_type_id}/{answer.get('ID')!r}: {_describe(exc)}"
        ) from exc
