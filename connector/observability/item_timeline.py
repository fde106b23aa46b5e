"""One CRM item over time: its current status, the badge its kanban card shows, its tasks'
statuses, and every decision the journal holds about it or its tasks (for the per-item
page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.redaction import redact
from connector.storage.engines import Engine
from connector.storage.snapshots import SnapshotStore
from connector.storage.sync_log import LogFilter, LogRow, SyncLog, binding_code
from mappers.bindings import CrmRef

ENTITY_TYPES = {"lead": 1, "deal": 2}


@dataclass(frozen=True)
class TaskLine:
    task_id: int
    crm_status: str | None
    status_changed_at: datetime | None
    deleted: bool
    title: str = ""
    responsible_id: int | None = None
    completed: bool = False

    @property
    def open(self) -> bool:
        """Not deleted and not completed: what keeps the item's activity, and its badge,
        on the kanban card."""
        return not self.deleted and not self.completed


@dataclass(frozen=True)
class StatusChange:
    at: datetime | None
    journal_id: int
    event: str
    task_id: Any
    previous: Any
    desired: Any
    outcome: Any
    rule: Any
    reason: Any


@dataclass
class ItemTimeline:
    object_key: str
    status: str | None = None
    closed: bool = False
    tasks: list[TaskLine] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    entries: list[LogRow] = field(default_factory=list)
    # The configurable activity whose badge the kanban card shows (`mappers.kanban_card`),
    # once TaskBridge has written one for the item.
    card_activity_id: int | None = None

    @property
    def card_status(self) -> str | None:
        """The status whose badge the item's kanban card shows now: the item's stored
        status while its activity exists, the item is open and it has an open task
        (TaskBridge closes the activity otherwise, and the badge leaves the card, as
        `mappers.kanban_card.plan_card` decides); None when the card shows none."""
        if self.card_activity_id is None or self.closed or not self.status \
                or not any(task.open for task in self.tasks):
            return None
        return self.status


def item_timeline(engine: Engine, portal_id: int, object_key: str,
                  limit: int = 200) -> ItemTimeline:
    """Newest first; degrades to what exists when the worker has not filled a table."""
    kind, _, number = object_key.partition(":")
    timeline = ItemTimeline(object_key=object_key)
    log = SyncLog(engine)
    current, tasks = log.item_rows(portal_id, ENTITY_TYPES.get(kind, 0), int(number or 0),
                                   binding_code(object_key))
    if current is not None:
        timeline.status, timeline.closed = current
    snapshots = SnapshotStore(engine)
    if kind in ENTITY_TYPES and number.isdigit() and int(number) > 0:
        ref = CrmRef(ENTITY_TYPES[kind], int(number))
        item = snapshots.items(portal_id, [ref]).get(ref)
        timeline.card_activity_id = item.card_activity_id if item else None
    stored = snapshots.tasks(portal_id, [row[0] for row in tasks])
    timeline.tasks = []
    for task_id, crm_status, changed_at, deleted in tasks:
        snapshot = stored[task_id].snapshot if task_id in stored else None
        timeline.tasks.append(TaskLine(
            task_id, crm_status, changed_at, bool(deleted),
            title=snapshot.title if snapshot else "",
            responsible_id=snapshot.responsible_id if snapshot else None,
            completed=snapshot.is_completed if snapshot else False,
        ))
    where = LogFilter(portal_id=portal_id, item=object_key)
    timeline.entries = list(log.iterate(where, batch=limit, limit=limit))
    timeline.changes = _changes(log, [row.id for row in timeline.entries])
    return timeline


def _changes(log: SyncLog, ids: list[int]) -> list[StatusChange]:
    changes = []
    for row_id, event, finished_at, row_detail in log.decided(ids):
        detail = row_detail if isinstance(row_detail, Mapping) else {}
        for decision in detail.get("decisions") or []:
            if not isinstance(decision, Mapping):
                continue
            d = redact(dict(decision))
            changes.append(StatusChange(
                at=finished_at, journal_id=row_id, event=event,
                task_id=d.get("task_id"), previous=d.get("previous"), desired=d.get("desired"),
                outcome=d.get("outcome"), rule=d.get("rule"), reason=d.get("reason"),
            ))
    return changes
