"""One CRM item over time: its current status, its tasks' statuses, and every decision
the journal holds about it or its tasks (for the per-item page)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, String, cast, select

from connector.storage.schema import crm_item_statuses, journal, task_snapshots
from connector.storage.sync_log import LogFilter, LogRow, SyncLog, binding_code, scrub

ENTITY_TYPES = {"lead": 1, "deal": 2}


@dataclass(frozen=True)
class TaskLine:
    task_id: int
    crm_status: str | None
    status_changed_at: datetime | None
    deleted: bool


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


def item_timeline(engine: Engine, portal_id: int, object_key: str,
                  limit: int = 200) -> ItemTimeline:
    """Newest first; degrades to what exists when the worker has not filled a table."""
    kind, _, number = object_key.partition(":")
    timeline = ItemTimeline(object_key=object_key)
    with engine.connect() as conn:
        current = conn.execute(
            select(crm_item_statuses.c.status, crm_item_statuses.c.closed).where(
                crm_item_statuses.c.portal_id == portal_id,
                crm_item_statuses.c.entity_type_id == ENTITY_TYPES.get(kind, 0),
                crm_item_statuses.c.item_id == int(number or 0),
            )
        ).first()
        if current is not None:
            timeline.status, timeline.closed = current.status, bool(current.closed)
        tasks = conn.execute(
            select(task_snapshots.c.task_id, task_snapshots.c.crm_status,
                   task_snapshots.c.status_changed_at, task_snapshots.c.deleted)
            .where(task_snapshots.c.portal_id == portal_id,
                   cast(task_snapshots.c.bindings, String).like(
                       f'%"{binding_code(object_key)}"%'))
            .order_by(task_snapshots.c.task_id)
        ).all()
    timeline.tasks = [
        TaskLine(t.task_id, t.crm_status, _aware(t.status_changed_at), bool(t.deleted))
        for t in tasks
    ]
    where = LogFilter(portal_id=portal_id, item=object_key)
    timeline.entries = list(SyncLog(engine).iterate(where, batch=limit, limit=limit))
    timeline.changes = _changes(engine, [row.id for row in timeline.entries])
    return timeline


def _changes(engine: Engine, ids: list[int]) -> list[StatusChange]:
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(journal.c.id, journal.c.event, journal.c.finished_at, journal.c.detail)
            .where(journal.c.id.in_(ids)).order_by(journal.c.id.desc())
        ).all()
    changes = []
    for row in rows:
        detail = row.detail if isinstance(row.detail, Mapping) else {}
        for decision in detail.get("decisions") or []:
            if not isinstance(decision, Mapping):
                continue
            d = scrub(dict(decision))
            changes.append(StatusChange(
                at=_aware(row.finished_at), journal_id=row.id, event=row.event,
                task_id=d.get("task_id"), previous=d.get("previous"), desired=d.get("desired"),
                outcome=d.get("outcome"), rule=d.get("rule"), reason=d.get("reason"),
            ))
    return changes


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
