"""The overdue sweep: a deadline passing fires nothing, so open tasks past their deadline
are queued for a re-check (the rules then make them EXPIRED)."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.scheduler.jobs import installed, queue_rechecks
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.snapshots import SnapshotStore
from mappers.overdue import is_overdue


def overdue_sweep(storage: Storage, *, now: datetime | None = None) -> int:
    """Queue a re-check for every open bound task whose deadline has passed (found in
    the database alone: no REST call)."""
    now = now or datetime.now(UTC)
    journal, snapshots = Journal(storage.engine), SnapshotStore(storage.engine)
    queued = 0
    for portal in installed(storage):
        # The index narrows to the candidates; the rule itself still decides.
        due = [task.snapshot.id for task in snapshots.overdue_candidates(portal.id, now)
               if is_overdue(task.snapshot, now)]
        queued += queue_rechecks(journal, portal, due, "sweep", "deadline passed", now)
    return queued
