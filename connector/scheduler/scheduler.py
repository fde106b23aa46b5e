"""Jobs that find what no event reports, run on one elected worker at a time
(`connector.storage.leadership`).

- the overdue sweep: a deadline passing fires nothing, so open tasks past their deadline
  are queued for a re-check (the rules then make them EXPIRED);
- the offline catch-up (`connector.scheduler.offline_catch_up`): events the portal kept in its
  offline queue (deliveries that never reached us) are journaled, then cleared;
- the reconcile pass: what changed on each portal since its last pass is re-checked, and
  a few of the open tasks checked longest ago, which finds what no event reports (a
  checklist item ticked inline);
- retention: the sync log forgets old events.

Each job only queues journal rows: the worker does the fetching and deciding, so a job
costs at most a few REST calls itself. Every run is recorded in `scheduler_runs`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, delete, or_, select

from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.scheduler.offline_catch_up import offline_catch_up
from connector.settings import Settings
from connector.storage.counters import record_scheduler_run
from connector.storage.journal import Journal
from connector.storage.journal_rows import DEAD
from connector.storage.leadership import Leadership
from connector.storage.portals import INSTALLED, Portal
from connector.storage.schema import journal as journal_table
from connector.storage.schema import rest_calls, scheduler_runs, write_log
from connector.storage.snapshots import SnapshotStore
from connector.storage.store import Storage
from connector.storage.user_tokens import poll_views
from mappers.overdue import is_overdue

log = logging.getLogger(__name__)

RECHECK = "TASKBRIDGE_RECHECK"
RECHECK_ITEM = "TASKBRIDGE_RECHECK_ITEM"
RECONCILE_SLACK = timedelta(minutes=5)  # clocks differ; a re-check costs little
ROLLING_CHECKS = 45
FINISHED_STATES = ("done", "ignored", "duplicate")
DEAD_KEPT_TIMES = 3  # dead events stay three times the retention: support looks into them


def _installed(storage: Storage) -> list[Portal]:
    return [portal for portal in storage.portals.all() if portal.state == INSTALLED]


def _queue_rechecks(journal: Journal, portal: Portal, task_ids: list[int], source: str,
                    reason: str, now: datetime) -> int:
    keys = {f"task:{task_id}": task_id for task_id in task_ids}
    waiting = journal.waiting_keys(portal.id, keys)
    for key, task_id in keys.items():
        if key not in waiting:
            journal.enqueue(portal_id=portal.id, member_id=portal.member_id, event=RECHECK,
                            object_type="task", object_id=str(task_id),
                            payload={"reason": reason}, source=source, now=now)
    return len(keys) - len(waiting & set(keys))


def overdue_sweep(storage: Storage, *, now: datetime | None = None) -> int:
    """Queue a re-check for every open bound task whose deadline has passed (found in
    the database alone: no REST call)."""
    now = now or datetime.now(UTC)
    journal, snapshots = Journal(storage.engine), SnapshotStore(storage.engine)
    queued = 0
    for portal in _installed(storage):
        # The index narrows to the candidates; the rule itself still decides.
        due = [task.snapshot.id for task in snapshots.overdue_candidates(portal.id, now)
               if is_overdue(task.snapshot, now)]
        queued += _queue_rechecks(journal, portal, due, "sweep", "deadline passed", now)
    return queued


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


def reconcile(storage: Storage, settings: Settings, *, now: datetime | None = None,
              since: datetime | None = None,
              client_for: Callable[[Portal], PortalClient] | None = None) -> JobResult:
    """The last safety net: re-check what changed on each portal since its last pass.

    Tasks and deals/leads changed since then (`CHANGED_DATE`, `DATE_MODIFY`, read with
    filtered lists) are queued; so are the open bound tasks checked longest ago, a few
    each pass, which finds what changes no date (a checklist item ticked inline). Each
    portal keeps its own mark (in the run's detail): a portal the pass could not read
    keeps the old one, so its window is read again next pass.
    """
    now = now or datetime.now(UTC)
    marks, default = _reconcile_marks(storage)
    fallback = default or now - timedelta(seconds=2 * settings.reconcile_interval)
    known = {portal.member_id for portal in storage.portals.all()}
    next_marks = {member: mark.isoformat() for member, mark in marks.items() if member in known}
    failed: dict[str, str] = {}
    queued = 0
    for portal in _installed(storage):
        start = since or marks.get(portal.member_id) or fallback
        try:
            queued += _reconcile_portal(storage, settings, portal, start - RECONCILE_SLACK,
                                        now, client_for)
        except BitrixError as exc:
            log.warning("reconcile for portal %s stopped: %s", portal.member_id, exc)
            failed[portal.member_id] = str(exc)[:300]
            next_marks[portal.member_id] = start.isoformat()
        else:
            next_marks[portal.member_id] = now.isoformat()
    return JobResult(queued=queued, failed=failed, detail={"marks": next_marks})


def _reconcile_portal(storage: Storage, settings: Settings, portal: Portal, since: datetime,
                      now: datetime,
                      client_for: Callable[[Portal], PortalClient] | None) -> int:
    client = (client_for or (lambda p: PortalClient.for_portal(
        storage, settings, p.member_id)))(portal)
    try:
        changed = _changed_since(client, since)
    finally:
        client.close()
    journal, snapshots = Journal(storage.engine), SnapshotStore(storage.engine)
    task_ids = changed.pop("task", []) + [
        task.snapshot.id for task in snapshots.stalest_open_tasks(portal.id, ROLLING_CHECKS)
    ]
    queued = _queue_rechecks(journal, portal, sorted(set(task_ids)), "reconcile",
                             "changed since the last pass", now)
    for kind, item_ids in changed.items():
        keys = {f"{kind}:{item_id}": item_id for item_id in item_ids}
        waiting = journal.waiting_keys(portal.id, keys)
        for key, item_id in keys.items():
            if key not in waiting:
                journal.enqueue(portal_id=portal.id, member_id=portal.member_id,
                                event=RECHECK_ITEM, object_type=kind,
                                object_id=str(item_id), payload={"reason": "modified"},
                                source="reconcile", now=now)
                queued += 1
    return queued


def _changed_since(client: PortalClient, since: datetime) -> dict[str, list[int]]:
    stamp = since.isoformat()
    changed: dict[str, list[int]] = {"task": []}
    for task in client.list_all("tasks.task.list", {
            "filter": {">=CHANGED_DATE": stamp}, "select": ["ID", "UF_CRM_TASK"]},
            page_key="tasks"):
        if task.get("ufCrmTask"):
            changed["task"].append(int(task["id"]))
    for kind, method in (("deal", "crm.deal.list"), ("lead", "crm.lead.list")):
        changed[kind] = [int(item["ID"]) for item in client.list_all(
            method, {"filter": {">=DATE_MODIFY": stamp}, "select": ["ID"]})]
    return changed


def _reconcile_marks(storage: Storage) -> tuple[dict[str, datetime], datetime | None]:
    """Each portal's mark from the last recorded pass; and, for a pass recorded before
    marks were kept per portal, its start, which covered every portal."""
    with storage.engine.connect() as conn:
        last = conn.execute(_last_reconcile_run()).first()
    if last is None:
        return {}, None
    marks = (last.detail or {}).get("marks")
    if marks is None:
        return {}, _aware(last.started_at)
    return {member: _aware(datetime.fromisoformat(mark)) for member, mark in marks.items()}, None


def _last_reconcile_run() -> Select[Any]:
    return (select(scheduler_runs.c.id, scheduler_runs.c.started_at, scheduler_runs.c.detail)
            .where(scheduler_runs.c.job == "reconcile",
                   scheduler_runs.c.outcome.in_(("ok", "partial")))
            .order_by(scheduler_runs.c.started_at.desc())
            .limit(1))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


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
    with storage.engine.begin() as conn:
        conn.execute(delete(rest_calls).where(rest_calls.c.at < cutoff))
        removed = conn.execute(
            delete(journal_table).where(or_(
                and_(journal_table.c.state.in_(FINISHED_STATES),
                     journal_table.c.received_at < cutoff),
                and_(journal_table.c.state == DEAD, journal_table.c.received_at < dead_cutoff),
            ))
        ).rowcount
        # Deleting journal rows set their write-log rows' journal_id to NULL.
        conn.execute(delete(write_log).where(write_log.c.journal_id.is_(None),
                                             write_log.c.created_at < cutoff))
        # Old runs go too, except the reconcile pass whose marks the next pass reads.
        marks_run = _last_reconcile_run().with_only_columns(scheduler_runs.c.id)
        conn.execute(delete(scheduler_runs).where(
            scheduler_runs.c.started_at < cutoff,
            scheduler_runs.c.id.not_in(select(marks_run.subquery().c.id)),
        ))
    return removed


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


class Scheduler:
    """Runs the jobs on an interval in a background thread while this process leads."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.storage = storage
        self.settings = settings
        self.leadership = Leadership(storage.engine)
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        jobs = {
            "overdue_sweep": (lambda: overdue_sweep(storage), settings.overdue_sweep_interval),
            "offline_catch_up": (lambda: offline_catch_up(storage, settings),
                                 settings.reconcile_interval // 3 or 60),
            "reconcile": (lambda: reconcile(storage, settings), settings.reconcile_interval),
            "retention": (lambda: retention(storage, settings), 3600),
            "responsible_views": (lambda: poll_views(storage, settings),
                                  max(60, settings.overdue_sweep_interval // 5)),
        }
        for name, (job, seconds) in jobs.items():
            self._scheduler.add_job(self._guarded(name, job), "interval", seconds=seconds,
                                    id=name, next_run_time=datetime.now(UTC),
                                    max_instances=1, coalesce=True)

    def _guarded(self, name: str, job: Callable[[], int | JobResult]) -> Callable[[], None]:
        def run() -> None:
            with self._lock:
                if self.leadership.is_leader():
                    run_job(self.storage.engine, name, job)
        return run

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        self.leadership.resign()
