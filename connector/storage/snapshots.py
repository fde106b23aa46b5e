"""What TaskBridge last saw of each task and CRM item, and the statuses it gave them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, String, cast, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from connector.storage.portals import INSTALLED
from connector.storage.schema import crm_item_statuses, portals, task_snapshots
from mappers.bindings import CrmRef
from mappers.item_status import TaskStatusRecord
from mappers.overdue import NOT_OVERDUE_REAL_STATUSES
from mappers.snapshots import TaskSnapshot
from mappers.statuses import CrmTaskStatus


@dataclass(frozen=True)
class StoredTask:
    snapshot: TaskSnapshot
    crm_status: CrmTaskStatus | None
    status_changed_at: datetime | None
    deleted: bool

    def record(self) -> TaskStatusRecord | None:
        if self.deleted or self.crm_status is None or self.status_changed_at is None:
            return None
        return TaskStatusRecord(self.snapshot.id, self.crm_status, self.status_changed_at)


@dataclass(frozen=True)
class StoredItem:
    ref: CrmRef
    status: CrmTaskStatus | None
    closed: bool
    held_final_stage: str | None
    # The configurable activity that shows the status on the kanban card, and what it
    # was last written to show (`mappers.kanban_card`).
    card_activity_id: int | None = None
    card_digest: str | None = None


class SnapshotStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tasks(self, portal_id: int, task_ids: Iterable[int]) -> dict[int, StoredTask]:
        ids = sorted(set(task_ids))
        if not ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(task_snapshots).where(
                    task_snapshots.c.portal_id == portal_id, task_snapshots.c.task_id.in_(ids)
                )
            ).all()
        return {row.task_id: _stored_task(row._mapping) for row in rows}

    def tasks_bound_to(self, portal_id: int, item: CrmRef) -> list[StoredTask]:
        """Every task (not deleted) whose last snapshot is bound to `item`."""
        pattern = f'%"{item.code}"%'
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(task_snapshots).where(
                    task_snapshots.c.portal_id == portal_id,
                    task_snapshots.c.deleted.is_(False),
                    cast(task_snapshots.c.bindings, String).like(pattern),
                )
            ).all()
        return [_stored_task(row._mapping) for row in rows]

    def open_tasks(self, portal_id: int) -> list[StoredTask]:
        """Tasks not deleted and not completed (every one of them: the sweep reads
        `overdue_candidates` instead)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(task_snapshots).where(
                    task_snapshots.c.portal_id == portal_id,
                    task_snapshots.c.deleted.is_(False),
                )
            ).all()
        stored = [_stored_task(row._mapping) for row in rows]
        return [task for task in stored if not task.snapshot.is_completed]

    def overdue_candidates(self, portal_id: int, now: datetime,
                           since: datetime | None = None) -> list[StoredTask]:
        """Bound tasks, open, not deleted and not EXPIRED, whose deadline is before `now`
        (and, given `since`, not before it): read from the sweep's index, so tasks that
        cannot be overdue are never read."""
        query = select(task_snapshots).where(
            task_snapshots.c.portal_id == portal_id,
            task_snapshots.c.overdue_after < now.astimezone(UTC),
        )
        if since is not None:
            query = query.where(task_snapshots.c.overdue_after >= since.astimezone(UTC))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_stored_task(row._mapping) for row in rows]

    def next_deadlines(self, since: datetime | None = None) -> dict[str, datetime]:
        """Per installed portal (by member_id), the earliest deadline in the overdue index
        (not before `since`, when given): one statement, one probe of the index per
        portal."""
        earliest = select(func.min(task_snapshots.c.overdue_after)).where(
            task_snapshots.c.portal_id == portals.c.id,
            task_snapshots.c.overdue_after.is_not(None),
        )
        if since is not None:
            earliest = earliest.where(task_snapshots.c.overdue_after >= since.astimezone(UTC))
        query = select(portals.c.member_id, earliest.scalar_subquery().label("at")).where(
            portals.c.state == INSTALLED)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {row.member_id: row.at for row in rows if row.at is not None}

    def stalest_open_tasks(self, portal_id: int, limit: int) -> list[StoredTask]:
        """Bound tasks not completed, the ones checked longest ago first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(task_snapshots)
                .where(
                    task_snapshots.c.portal_id == portal_id,
                    task_snapshots.c.deleted.is_(False),
                    or_(task_snapshots.c.crm_status.is_(None),
                        task_snapshots.c.crm_status != CrmTaskStatus.FINISHED.value),
                )
                .order_by(task_snapshots.c.updated_at)
                .limit(limit)
            ).all()
        return [_stored_task(row._mapping) for row in rows]

    def save_pass(self, portal_id: int, tasks: Iterable[StoredTask], deleted: Iterable[int],
                  items: Iterable[StoredItem]) -> dict[int, datetime]:
        """What one sync pass keeps, in one transaction: its tasks, the tasks it found
        deleted, its CRM items. Returns the deadline the overdue index now holds for each
        task saved that can still become overdue."""
        deadlines: dict[int, datetime] = {}
        with self._engine.begin() as conn:
            for task in tasks:
                if (at := self.save_task(conn, portal_id, task)) is not None:
                    deadlines[task.snapshot.id] = at
            for task_id in deleted:
                self.mark_deleted(conn, portal_id, task_id)
            for item in items:
                self.save_item(conn, portal_id, item)
        return deadlines

    def save_first_seen(self, portal_id: int, tasks: Iterable[StoredTask],
                        items: Iterable[StoredItem]) -> None:
        """What a backfill keeps, in one transaction: its tasks only where none is stored
        (a live pass that stored one meanwhile saw the task later), and its CRM items."""
        with self._engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            for task in tasks:
                conn.execute(insert(task_snapshots).values(
                    portal_id=portal_id, task_id=task.snapshot.id, **_task_values(task),
                ).on_conflict_do_nothing(index_elements=["portal_id", "task_id"]))
            for item in items:
                self.save_item(conn, portal_id, item)

    def save_task(self, conn: Connection, portal_id: int, task: StoredTask) -> datetime | None:
        """Upsert one task; returns the deadline kept in the overdue index (or None)."""
        values = _task_values(task)
        _upsert(conn, task_snapshots, {"portal_id": portal_id, "task_id": task.snapshot.id},
                values)
        return values["overdue_after"]

    def mark_deleted(self, conn: Connection, portal_id: int, task_id: int) -> None:
        conn.execute(
            task_snapshots.update()
            .where(task_snapshots.c.portal_id == portal_id, task_snapshots.c.task_id == task_id)
            .values(deleted=True, updated_at=datetime.now(UTC), overdue_after=None)
        )

    def items(self, portal_id: int, refs: Iterable[CrmRef]) -> dict[CrmRef, StoredItem]:
        wanted = set(refs)
        if not wanted:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(crm_item_statuses).where(
                    crm_item_statuses.c.portal_id == portal_id,
                    crm_item_statuses.c.item_id.in_(sorted({ref.id for ref in wanted})),
                )
            ).all()
        found = {}
        for row in rows:
            ref = CrmRef(row.entity_type_id, row.item_id)
            if ref in wanted:
                found[ref] = StoredItem(
                    ref, CrmTaskStatus(row.status) if row.status else None, row.closed,
                    row.held_final_stage, row.card_activity_id, row.card_digest,
                )
        return found

    def save_item(self, conn: Connection, portal_id: int, item: StoredItem) -> None:
        _upsert(
            conn,
            crm_item_statuses,
            {"portal_id": portal_id, "entity_type_id": item.ref.entity_type_id,
             "item_id": item.ref.id},
            {"status": item.status.value if item.status else None, "closed": item.closed,
             "held_final_stage": item.held_final_stage, "updated_at": datetime.now(UTC),
             "card_activity_id": item.card_activity_id, "card_digest": item.card_digest},
        )

    def save_cards(self, portal_id: int, cards: dict[CrmRef, tuple[int | None, str]]) -> None:
        """Keep each item's kanban-card activity id and digest, leaving its other columns."""
        with self._engine.begin() as conn:
            for ref, (activity_id, digest) in cards.items():
                key = {"portal_id": portal_id, "entity_type_id": ref.entity_type_id,
                       "item_id": ref.id}
                insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
                values = {"card_activity_id": activity_id, "card_digest": digest,
                          "updated_at": datetime.now(UTC)}
                conn.execute(insert(crm_item_statuses).values(**key, **values, closed=False)
                             .on_conflict_do_update(index_elements=list(key), set_=values))


def _upsert(conn: Connection, table: Any, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update in one statement, safe when two workers race on one row."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**key, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=values))


def _task_values(task: StoredTask) -> dict[str, Any]:
    return {
        "snapshot": task.snapshot.model_dump(mode="json"),
        "crm_status": task.crm_status.value if task.crm_status else None,
        "status_changed_at": task.status_changed_at,
        "bindings": [ref.code for ref in task.snapshot.crm_bindings],
        "deleted": task.deleted,
        "updated_at": datetime.now(UTC),
        "overdue_after": _overdue_after(task),
    }


def _overdue_after(task: StoredTask) -> datetime | None:
    """The deadline (UTC) the overdue sweep watches, or None while the task cannot become
    overdue: unbound, deleted, completed by the overdue rule's measure, or EXPIRED already.
    Kept on every write, so the sweep's index holds only the tasks it may have to queue."""
    snapshot = task.snapshot
    if (task.deleted or not snapshot.crm_bindings or snapshot.deadline is None
            or task.crm_status is CrmTaskStatus.EXPIRED
            or snapshot.real_status in NOT_OVERDUE_REAL_STATUSES):
        return None
    return snapshot.deadline.astimezone(UTC)


def _stored_task(row: Any) -> StoredTask:
    return StoredTask(
        snapshot=TaskSnapshot.model_validate(row["snapshot"]),
        crm_status=CrmTaskStatus(row["crm_status"]) if row["crm_status"] else None,
        status_changed_at=row["status_changed_at"],
        deleted=row["deleted"],
    )
