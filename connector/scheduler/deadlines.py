"""Overdue at the deadline: the scheduler wakes when the earliest deadline of an open task
passes, and queues a re-check of the tasks due then, and of those only.

The deadlines come from the stored snapshots (`task_snapshots.overdue_after`, the overdue
sweep's index), never from the portal: between two deadlines TaskBridge makes no REST
call for them. The watch keeps one date job armed at the earliest deadline it knows of.
It learns of a new one three ways: a sync pass in this process that stores a deadline
nudges it (`nudge`); a short interval re-reads the earliest deadline of each portal from
the database (`recheck`), which covers passes stored by other worker processes; and each
wake-up re-reads it before arming the next one. The periodic overdue sweep stays as the
safety net.

`handled_until` is the moment before which due tasks were queued: a wake-up queues the
tasks whose deadline lies from it up to now (every one past, on the first wake-up
of a process, so deadlines that passed while no worker led are queued at once). A
deadline that passes while a pass is deciding its task is queued by that pass itself
(`queue_passed_during_pass`), since the wake-up may have looked before it was stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from connector.scheduler.jobs import JobResult, queue_rechecks
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore
from mappers.overdue import is_overdue

SOURCE = "deadline"
REASON = "deadline passed"

Clock = Callable[[], datetime]
Arm = Callable[[datetime | None], None]


class DeadlineWatch:
    """When to wake next, and what to queue on waking; `arm(at)` sets the wake-up (None:
    no deadline ahead)."""

    def __init__(self, storage: Storage, arm: Arm, *, clock: Clock | None = None) -> None:
        self._storage = storage
        self._snapshots = SnapshotStore(storage.engine)
        self._journal = Journal(storage.engine)
        self._arm = arm
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self.handled_until: datetime | None = None
        self.armed_at: datetime | None = None

    def recheck(self) -> datetime | None:
        """Re-read the earliest deadline not handled yet and arm for it (a DB query)."""
        with self._lock:
            upcoming = self._snapshots.next_deadlines(since=self.handled_until)
            self._set_alarm(min(upcoming.values(), default=None))
            return self.armed_at

    def nudge(self, portal_id: int, deadline: datetime) -> None:
        """A pass stored `deadline` for a task of `portal_id`: wake earlier if it is."""
        with self._lock:
            deadline = deadline.astimezone(UTC)
            if self.handled_until is not None and deadline < self.handled_until:
                return  # passed already: the pass that stored it queued it
            if self.armed_at is None or deadline < self.armed_at:
                self._set_alarm(deadline)

    def wake(self) -> JobResult:
        """Queue a re-check of every task whose deadline passed since the last wake-up,
        then arm for the next deadline."""
        with self._lock:
            self.armed_at = None  # this alarm has rung: a failure below leaves none set
            now = self._clock()
            queued = 0
            # Only the portals with a deadline due are read, one by one.
            due = sorted(member_id for member_id, earliest
                         in self._snapshots.next_deadlines(since=self.handled_until).items()
                         if earliest < now)
            for member_id in due:
                portal = self._storage.portals.find(member_id)
                if portal is not None:
                    queued += self._queue_due(portal, now)
            self.handled_until = now
            upcoming = self._snapshots.next_deadlines(since=now)
            self._set_alarm(min(upcoming.values(), default=None))
            return JobResult(queued=queued, detail={"portals": len(due)})

    def _queue_due(self, portal: Portal, now: datetime) -> int:
        # The index narrows to the candidates; the rule itself still decides.
        due = [task.snapshot.id
               for task in self._snapshots.overdue_candidates(portal.id, now,
                                                               since=self.handled_until)
               if is_overdue(task.snapshot, now)]
        return queue_rechecks(self._journal, portal, due, SOURCE, REASON, now)

    def _set_alarm(self, at: datetime | None) -> None:
        # Armed again even when unchanged: a wake-up this process did not lead for left
        # no alarm behind.
        self.armed_at = at
        self._arm(at)


def queue_passed_during_pass(journal: Journal, portal: Portal, deadlines: dict[int, datetime],
                             decided_at: datetime, stored_at: datetime) -> int:
    """Queue a re-check of the tasks whose deadline passed after the pass decided them (at
    `decided_at`, when they were not overdue) and before they were stored: a wake-up in
    between may have read them before they were stored. No REST call."""
    passed = sorted(task_id for task_id, at in deadlines.items()
                    if decided_at <= at < stored_at)
    return queue_rechecks(journal, portal, passed, SOURCE, REASON, stored_at) if passed else 0
