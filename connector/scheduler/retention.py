"""Retention: the sync log forgets old events, and what was recorded with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.journal_rows import DEAD
from connector.storage.sync_log import forget_before

FINISHED_STATES = ("done", "ignored", "duplicate")
DEAD_KEPT_TIMES = 3  # dead events stay three times the retention: support looks into them


def retention(storage: Storage, settings: Settings, *, now: datetime | None = None) -> int:
    """Forget what the sync log no longer needs; the number of journal rows deleted.

    Finished events go after TASKBRIDGE_JOURNAL_RETENTION_DAYS, and so do the REST calls
    and scheduler runs recorded with them; dead events, which support comes back to,
    after three times that.
    A write-log row goes once its journal row is gone and it is older than the retention:
    nothing can replay that event any more, and the task snapshots, not the write log,
    are what keep an old observation from being decided again.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=settings.journal_retention_days)
    dead_cutoff = now - timedelta(days=settings.journal_retention_days * DEAD_KEPT_TIMES)
    # Old runs go too, except the reconcile pass whose marks the next pass reads.
    return forget_before(storage.engine, cutoff=cutoff, dead_cutoff=dead_cutoff,
                         finished=FINISHED_STATES, dead=DEAD)
