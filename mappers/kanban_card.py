"""The configurable activity that puts an item's status on its kanban card (spec §4, §6).

Each deal or lead with bound tasks gets one activity of TaskBridge's
(``crm.activity.configurable.add``, then ``update`` by its id). Its ``badgeCode`` is the
badge of the item's status, so the kanban card shows the status while the activity is
open; its timeline card lists the item's tasks: the header carries the item's status as
a tag, the body a link to each task with its status label. It has no deadline (it never
counts as an overdue activity), and it is closed once the item has no open task left or
is closed itself, so the badge leaves the card then.

``plan_card`` returns one ``ITEM_CARD`` write, or nothing when the card already shows
what it would write (the ``digest`` of what was last written, kept per item).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from mappers.badges import badge_code, badge_type
from mappers.bindings import DEAL, LEAD, CrmRef
from mappers.statuses import CrmTaskStatus, labels_for, language_code
from mappers.write_plan import Write, WriteKind, idempotency_key

# A body holds 1 to 20 blocks (REST docs: configurable/structure/body.md): past 19 tasks
# the last block says how many more there are.
MAX_BLOCKS = 20
ICON_CODE = "info"
LOGO_CODE = "info"
ORIGINATOR_ID = "taskbridge"
_CARD_TYPES = frozenset({LEAD, DEAL})

_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Tasks (TaskBridge)",
        "none": "No tasks",
        "more": "and {n} more tasks",
        "no_status": "No status",
    },
    "it": {
        "title": "Incarichi (TaskBridge)",
        "none": "Nessun incarico",
        "more": "e altri {n} incarichi",
        "no_status": "Nessuno stato",
    },
}


class CardTask(NamedTuple):
    """One task the card lists: its title, CRM status, and whether it is still open."""

    task_id: int
    title: str
    status: CrmTaskStatus | None
    open: bool
    responsible_id: int = 0


class CardShown(NamedTuple):
    """What TaskBridge last wrote to an item's activity: its id and the card's digest."""

    activity_id: int | None = None
    digest: str | None = None


NOTHING_SHOWN = CardShown()


def task_url(task: CardTask) -> str:
    """The task's page on the portal, relative to the portal's address."""
    return f"/company/personal/user/{task.responsible_id}/tasks/task/view/{task.task_id}/"


def _words(language: str) -> Mapping[str, str]:
    return _WORDS.get(language_code(language), _WORDS["en"])


def card_layout(
    tasks: Sequence[CardTask], status: CrmTaskStatus | None, *, language: str = "en"
) -> dict[str, Any]:
    """The activity's ``LayoutDto``: a tag for the item's status, a line per task."""
    words, labels = _words(language), labels_for(language)
    header: dict[str, Any] = {"title": words["title"]}
    if status is not None:
        header["tags"] = {"status": {"title": labels[status], "type": badge_type(status)}}
    ordered = sorted(tasks, key=lambda t: t.task_id)
    shown = ordered if len(ordered) <= MAX_BLOCKS else ordered[: MAX_BLOCKS - 1]
    blocks: dict[str, Any] = {
        f"task_{task.task_id}": {
            "type": "withTitle",
            "properties": {
                "title": labels[task.status] if task.status else words["no_status"],
                "inline": True,
                "block": {
                    "type": "link",
                    "properties": {
                        "text": task.title or f"#{task.task_id}",
                        "action": {"type": "redirect", "uri": task_url(task)},
                    },
                },
            },
        }
        for task in shown
    }
    if len(shown) < len(ordered):
        more = words["more"].format(n=len(ordered) - len(shown))
        blocks["more"] = {"type": "text", "properties": {"value": more}}
    if not blocks:
        blocks["none"] = {"type": "text", "properties": {"value": words["none"]}}
    return {
        "icon": {"code": ICON_CODE},
        "header": header,
        "body": {"logo": {"code": LOGO_CODE}, "blocks": blocks},
    }


def plan_card(
    item: CrmRef,
    tasks: Sequence[CardTask],
    status: CrmTaskStatus | None,
    *,
    item_closed: bool,
    shown: CardShown = NOTHING_SHOWN,
    language: str = "en",
    cause: str = "",
) -> Write | None:
    """The write that brings the item's activity to show ``status`` and ``tasks``.

    Nothing for a contact, company or smart-process item, for a card that already shows
    this, or for an item that has no activity and nothing open to show. The key names the
    card before and after the write and its ``cause`` (the change that moved the item,
    e.g. the key of its status write), so a replayed pass writes nothing twice, while a
    card that goes back and forth (A, B, A, B: a task completed, returned, completed
    again) is written every time.
    """
    if item.entity_type_id not in _CARD_TYPES:
        return None
    completed = item_closed or status is None or not any(task.open for task in tasks)
    if shown.activity_id is None and completed:
        return None
    layout = json.dumps(
        card_layout(tasks, status, language=language),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    code = badge_code(status) if status is not None else ""
    digest = hashlib.sha256(f"{layout}\x1f{code}\x1f{completed}".encode()).hexdigest()[:32]
    if digest == shown.digest:
        return None
    return Write(
        WriteKind.ITEM_CARD,
        idempotency_key(WriteKind.ITEM_CARD, item.code, shown.digest or "-", digest, cause),
        item=item,
        fields=(
            ("activity_id", "" if shown.activity_id is None else str(shown.activity_id)),
            ("status", "" if status is None else status.value),
            ("badge_code", code),
            ("completed", "Y" if completed else "N"),
            ("layout", layout),
            ("digest", digest),
        ),
    )


def configurable_params(write: Write, found_id: int | None = None) -> tuple[str, dict[str, Any]]:
    """The ``crm.activity.configurable.add`` or ``update`` call an ``ITEM_CARD`` write makes;
    ``found_id`` is the item's activity found on the portal when the write knew none."""
    item = write.item
    assert item is not None and write.kind is WriteKind.ITEM_CARD, write
    fields: dict[str, Any] = {
        "completed": write.field("completed"),
        "originatorId": ORIGINATOR_ID,
        "originId": item.code,
    }
    if write.field("badge_code"):
        fields["badgeCode"] = write.field("badge_code")
    layout = json.loads(str(write.field("layout")))
    activity_id = str(write.field("activity_id")) or ("" if found_id is None else str(found_id))
    if activity_id:
        return "crm.activity.configurable.update", {
            "id": int(activity_id),
            "fields": fields,
            "layout": layout,
        }
    return "crm.activity.configurable.add", {
        "ownerTypeId": item.entity_type_id,
        "ownerId": item.id,
        "fields": fields,
        "layout": layout,
    }


def added_activity_id(answer: Any) -> int | None:
    """The activity id in ``crm.activity.configurable.add``'s answer (``{"activity": {"id"}}``)."""
    activity = answer.get("activity") if isinstance(answer, Mapping) else None
    found = activity.get("id") if isinstance(activity, Mapping) else None
    try:
        return int(found) if found is not None else None
    except (TypeError, ValueError):
        return None
