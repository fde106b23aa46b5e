"""What every scheduled job shares: the result it reports, how a run is recorded, and the
re-check rows the jobs queue for the worker (a job never fetches or decides itself)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.storage.counters import record_scheduler_run
from connector.storage.engines import Engine, Storage
from connector.storage.journal import Journal
from connector.storage.portals import INSTALLED, Portal

log = logging.getLogger(__name__)

RECHECK = "TASKBRIDGE_RECHECK"
RECHECK_ITEM = "TASKBRIDGE_RECHECK_ITEM"


@dataclass(frozen=True)
class JobResult:
    """What a run did, as the scheduler records it: `failed` names the portals (by
    member_id, with the reason) the run could not do; `detail` is kept with the run."""

    queued: int
    failed: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return "partial" if self.failed else "ok"


def installed(storage: Storage) -> list[Portal]:
    """The portals the jobs work for."""
    return [portal for portal in storage.portals.all() if portal.state == INSTALLED]


def queue_rechecks(journal: Journal, portal: Portal, task_ids: list[int], source: str,
                   reason: str, now: datetime) -> int:
    """Queue a re-check of each task that has no row waiting yet; the number queued."""
    keys = {f"task:{task_id}": task_id for task_id in task_ids}
    waiting = journal.waiting_keys(portal.id, keys)
    for key, task_id in keys.items():
        if key not in waiting:
            journal.enqueue(portal_id=portal.id, member_id=portal.member_id, event=RECHECK,
                            object_type="task", object_id=str(task_id),
                            payload={"reason": reason}, source=source, now=now)
    return len(keys) - len(waiting & set(keys))


def run_job(engine: Engine, name: str, job: Callable[[], int | JobResult]) -> None:
    """Run one job and record the run: ok, partial (with the portals it could not do),
    or error. A failed run is only recorded; the next one comes anyway."""
    started = datetime.now(UTC)
    try:
        result = job()
    except Exception as exc:
        log.exception("scheduler job %s failed", name)
        outcome, detail = "error", {"error": f"{type(exc).__name__}: {exc}"}
    else:
        if not isinstance(result, JobResult):
            result = JobResult(queued=result)
        log.info("scheduler job %s queued %d%s", name, result.queued,
                 f"; failed for {sorted(result.failed)}" if result.failed else "")
        outcome = result.outcome
        detail = {"queued": result.queued, **result.detail}
        if result.failed:
            detail["failed"] = result.failed
    record_scheduler_run(engine, name, started_at=started, finished_at=datetime.now(UTC),
                         outcome=outcome, detail=detail)
