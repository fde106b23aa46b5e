"""The status a CRM item shows: that of its task whose status changed last (spec §4).

Each bound task contributes one ``TaskStatusRecord``: its current CRM status and when
that status last changed. Deleted or unbound tasks are left out (pass their IDs in
``excluded``), so the item falls back to the next most recent; no tasks, no status.
Ties on ``changed_at`` go to the higher ``sequence`` (the order TaskBridge applied the
changes in), then to the higher task ID, so the answer never depends on input order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mappers.statuses import CrmTaskStatus


@dataclass(frozen=True, slots=True)
class TaskStatusRecord:
    """A task's CRM status and when it took it."""

    task_id: int
    status: CrmTaskStatus
    changed_at: datetime
    sequence: int = 0

    def recency(self) -> tuple[datetime, int, int]:
        return (self.changed_at, self.sequence, self.task_id)


def latest_record(
    records: Iterable[TaskStatusRecord], *, excluded: frozenset[int] = frozenset()
) -> TaskStatusRecord | None:
    """The record of the task whose status changed most recently, or ``None``."""
    candidates = [record for record in records if record.task_id not in excluded]
    if not candidates:
        return None
    return max(candidates, key=TaskStatusRecord.recency)


def item_status(
    records: Iterable[TaskStatusRecord], *, excluded: frozenset[int] = frozenset()
) -> CrmTaskStatus | None:
    """The status the item shows: its most recently changed task's, or ``None``."""
    latest = latest_record(records, excluded=excluded)
    return None if latest is None else latest.status
