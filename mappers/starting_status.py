"""A task's starting status when TaskBridge first meets it already under way (the backfill
at install, or on demand), and since when by the portal's own dates.

The status comes from the first-seen rules of an ordinary observation, with no previous
snapshot and no event: ``what_changed`` (``FIRST_SEEN``, then ``REAL_STATUS`` for a task
found in 3 or 4, then ``OVERDUE`` past its deadline), ``decide_observation`` and
``status_kept``. So a task found in progress is ``IN_PROGRESS``, waiting for its creator
``CONTROL_WAITING``, past its deadline ``EXPIRED``, self-assigned ``VIEWED``, otherwise
``CREATED``; the actor rule holds back a start made by a bound item's responsible, as it
would live.

Only *since when* differs from a live observation: a live change is dated ``now``, but
these tasks took their statuses before TaskBridge looked, so an item must show the task
changed most recently on the portal, not the one read last. ``since`` is the task's
latest ``changedDate``/``statusChangedDate`` (its deadline when it is overdue since a
later moment), as the portal gives it, even ahead of ``now`` (clamping would tie every
task a fast portal clock dated later, and the tie would go to the highest task ID); a
task without dates is dated ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mappers.actors import task_actor
from mappers.changes import what_changed
from mappers.decisions import Decision, decide_observation
from mappers.item_status import TaskStatusRecord
from mappers.snapshots import TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.task_status import status_kept


@dataclass(frozen=True, slots=True)
class StartingStatus:
    """A task's first status, since when (on the portal's clock), and the decisions."""

    task_id: int
    status: CrmTaskStatus | None
    since: datetime
    decisions: tuple[Decision, ...]

    def record(self) -> TaskStatusRecord | None:
        """What the task contributes to its items' status (``item_status``)."""
        if self.status is None:
            return None
        return TaskStatusRecord(self.task_id, self.status, self.since)


def starting_status(
    task: TaskSnapshot, *, item_responsibles: frozenset[int], now: datetime
) -> StartingStatus:
    """The status ``task`` starts with, as first seen at ``now``."""
    changes = what_changed(None, task, actor_id=task_actor(task.changed_by, ()), now=now)
    decisions = tuple(decide_observation(None, changes, item_responsibles=item_responsibles,
                                         deadline=task.deadline, now=now))
    kept = status_kept(None, None, decisions, now=now)
    return StartingStatus(task.id, kept.status, portal_moment(task, kept.status, now), decisions)


def portal_moment(task: TaskSnapshot, status: CrmTaskStatus | None, now: datetime) -> datetime:
    """When the task took `status` by the portal's dates: its last change or status change,
    or the deadline it passed when that is later; ``now`` when it has no dates."""
    moments = [moment for moment in (task.changed_date, task.status_changed_date) if moment]
    if status is CrmTaskStatus.EXPIRED and task.deadline is not None:
        moments.append(task.deadline)
    return max(moments, default=now)
