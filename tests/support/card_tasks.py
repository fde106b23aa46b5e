"""What the emulated portal holds for a CRM item and its tasks, read the way tests assert it."""

from __future__ import annotations

from typing import Any

from tests.support.stack import EmulatedPortal

STATUS_FIELD = "UF_CRM_TASKBRIDGE_STATUS"
ENTITY_IDS = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}


def status_code(portal: EmulatedPortal, entity: str, item_id: int) -> str:
    """The status code (XML_ID) the item's status field shows, "" when it is empty."""
    item: dict[str, Any] = portal.deal(item_id) if entity == "deal" else portal.lead(item_id)
    value = item.get(STATUS_FIELD)
    field = next(f for f in portal.emulator.state.user_fields.values()
                 if f.entity_id == ENTITY_IDS[entity] and f.field_name == STATUS_FIELD)
    return next((entry["XML_ID"] for entry in field.items if str(entry["ID"]) == str(value)), "")


def checklist(portal: EmulatedPortal, task_id: int) -> list[str]:
    """The task's checklist item titles, in their order."""
    items = [i for i in portal.emulator.state.checklist.values() if i.task_id == task_id]
    return [i.title for i in sorted(items, key=lambda i: (i.sort_index, i.id))]


def timeline(portal: EmulatedPortal, entity: str, item_id: int) -> list[str]:
    """The texts of the item's timeline entries, oldest first."""
    entries = [e for e in portal.emulator.state.timeline.values()
               if e.entity_type == entity and e.entity_id == item_id]
    return [e.text for e in sorted(entries, key=lambda e: e.id)]


def writes_of(portal: EmulatedPortal, method: str) -> int:
    """How many times the portal ran `method`, batched or not."""
    return int(portal.emulator.call_log.count(method, include_batched=True))
