"""Jobs that find what no event reports, run on one elected worker at a time.

- the overdue sweep: a deadline passing fires nothing, so open tasks past their deadline
  are queued for a re-check (the rules then make them EXPIRED);
- the offline catch-up: events the portal kept in its offline queue (deliveries that
  never reached us) are journaled, then cleared;
- the reconcile pass: every open task is re-checked now and then, which finds what no
  event reports (a checklist item ticked inline).

Each job only queues journal rows: the worker does the fetching and deciding, so a job
costs at most a few REST calls itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, or_, select

from connector.journal import DEAD, PENDING, Journal
from connector.metrics_source import record_scheduler_run
from connector.portal_store import INSTALLED, Portal
from connector.rest_client import PortalClient
from connector.rest_errors import BitrixError
from connector.schema import journal as journal_table
from connector.schema import rest_calls, scheduler_runs, write_log
from connector.settings import Settings
from connector.snapshot_store import SnapshotStore
from connector.storage import Storage
from connector.user_tokens import poll_views
from mappers.overdue import is_overdue
from mappers.portal_events import OFFLINE_EVENTS, PortalEvent

log = logging.getLogger(__name__)

RECHECK = "TASKBRIDGE_RECHECK"
RECHECK_ITEM = "TASKBRIDGE_RECHECK_ITEM"
RECONCILE_SLACK = timedelta(minutes=5)  # clocks differ; a re-check costs little
ROLLING_CHECKS = 45
FINISHED_STATES = ("done", "ignored", "duplicate")
DEAD_KEPT_TIMES = 3  # dead events stay three times the retention: support looks into them
LEADER_LOCK = 727274002
OFFLINE_PAGE = 50
OFFLINE_ROUNDS = 20
# A single bigint advisory key shows in pg_locks as classid 0, objid the key, objsubid 1.
_HOLDS_LEADER_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    f" AND classid = 0 AND objid = {LEADER_LOCK} AND objsubid = 1"
    " AND pid = pg_backend_pid()"
)


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
        last = conn.execute(
            select(scheduler_runs.c.started_at, scheduler_runs.c.detail)
            .where(scheduler_runs.c.job == "reconcile",
                   scheduler_runs.c.outcome.in_(("ok", "partial")))
            .order_by(scheduler_runs.c.started_at.desc())
            .limit(1)
        ).first()
    if last is None:
        return {}, None
    marks = (last.detail or {}).get("marks")
    if marks is None:
        return {}, _aware(last.started_at)
    return {member: _aware(datetime.fromisoformat(mark)) for member, mark in marks.items()}, None


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def retention(storage: Storage, settings: Settings, *, now: datetime | None = None) -> int:
    """Forget what the sync log no longer needs; the number of journal rows deleted.

    Finished events go after TASKBRIDGE_JOURNAL_RETENTION_DAYS, and the REST calls
    recorded with them; dead events, which support comes back to, after three times that.
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
    return removed


def offline_catch_up(storage: Storage, settings: Settings, *,
                     client_for: Callable[[Portal], PortalClient] | None = None) -> int:
    """Journal what the portals' offline queues hold, then clear what was journaled."""
    total = 0
    for portal in _installed(storage):
        client = (client_for or (lambda p: PortalClient.for_portal(
            storage, settings, p.member_id)))(portal)
        try:
            total += _drain_offline(storage.engine, portal, client)
        except BitrixError as exc:
            log.warning("offline catch-up for portal %s stopped: %s", portal.member_id, exc)
        finally:
            client.close()
    return total


def _drain_offline(engine: Engine, portal: Portal, client: PortalClient) -> int:
    """Take back what an interrupted run left reserved, then read the queue page by page:
    each page is reserved (`clear=0`), journaled, then cleared or marked as errors."""
    journaled = _recover_reserved(engine, portal, client)
    for _ in range(OFFLINE_ROUNDS):
        answer = client.call("event.offline.get", {"clear": 0, "limit": OFFLINE_PAGE},
                             write=False).result or {}
        events = answer.get("events") or []
        if not events:
            break
        journaled += _settle_offline(engine, portal, client,
                                     str(answer.get("process_id") or ""), events)
        if len(events) < OFFLINE_PAGE:
            break
    return journaled


def _recover_reserved(engine: Engine, portal: Portal, client: PortalClient) -> int:
    """Records reserved by a run that died between `event.offline.get` and
    `event.offline.clear` stay hidden from `get` for good; `event.offline.list` shows
    them with their PROCESS_ID, under which they can still be cleared. The catch-up runs
    on the elected worker, one run at a time, so whatever is reserved when a run starts
    was left by an earlier one. (Should a deposed leader still be mid-run, its records
    are journaled twice: a second look at an object costs a fetch, nothing more.)"""
    journaled = 0
    for _ in range(OFFLINE_ROUNDS):
        page = client.call("event.offline.list", {
            "filter": {"!PROCESS_ID": "", "ERROR": 0}, "order": {"ID": "ASC"},
        }, write=False).result or []
        reserved = [record for record in page if record.get("PROCESS_ID")]
        if not reserved:
            break
        by_process: dict[str, list[dict[str, Any]]] = {}
        for record in reserved:
            by_process.setdefault(str(record["PROCESS_ID"]), []).append(record)
        for process_id, records in by_process.items():
            log.info("offline catch-up for portal %s: %d records left reserved by process "
                     "%s taken back", portal.member_id, len(records), process_id)
            journaled += _settle_offline(engine, portal, client, process_id, records)
        if len(page) < OFFLINE_PAGE:
            break
    return journaled


def _settle_offline(engine: Engine, portal: Portal, client: PortalClient,
                    process_id: str, records: list[dict[str, Any]]) -> int:
    """Journal reserved records, mark those that cannot be journaled as errors (the portal
    keeps them for `event.offline.get` with `error=1`), and clear the rest."""
    journaled, cleared, broken = 0, [], []
    for record in records:
        try:
            journaled += _journal_offline(engine, portal, record, process_id)
        except UnusableOfflineRecord as exc:
            log.warning("offline record %s (%s) of portal %s marked as an error: %s",
                        record.get("ID"), record.get("EVENT_NAME"), portal.member_id, exc)
            if record.get("MESSAGE_ID"):
                broken.append(record["MESSAGE_ID"])
                continue
        cleared.append(record.get("ID"))
    if broken:
        client.call("event.offline.error", {"process_id": process_id, "message_id": broken},
                    idempotent=True)
    if cleared:  # never without ids: that would clear every record of the process
        client.call("event.offline.clear", {"process_id": process_id, "id": cleared},
                    idempotent=True)
    return journaled


class UnusableOfflineRecord(ValueError):
    """An offline record that names no event or object TaskBridge can act on."""


def _journal_offline(engine: Engine, portal: Portal, record: dict[str, Any],
                     process_id: str) -> int:
    """1 when journaled, 0 when a row of the object still waits unclaimed (its fetch will
    see this change too); raises `UnusableOfflineRecord`."""
    name = str(record.get("EVENT_NAME", "")).upper()
    if name not in OFFLINE_EVENTS:
        raise UnusableOfflineRecord(f"an event TaskBridge does not handle: {name or '-'}")
    data = record.get("EVENT_DATA")
    if not isinstance(data, dict):
        raise UnusableOfflineRecord("EVENT_DATA is not an object")
    event = PortalEvent(name=name, data=_as_form_values(data),
                        auth={"member_id": portal.member_id})
    if not event.object_id:
        raise UnusableOfflineRecord("EVENT_DATA names no object ID")
    # Only a row not yet claimed covers this change: a row being processed may have
    # fetched the object before it changed (the receiver skips the same way).
    if _has_unclaimed_row(engine, portal.id, event.object_key):
        return 0
    Journal(engine).enqueue(portal_id=portal.id, member_id=portal.member_id, event=name,
                    object_type=event.object_type, object_id=event.object_id,
                    payload={"offline_id": str(record.get("ID", "")),
                             "process_id": process_id, "data": event.data},
                    source="offline")
    return 1


def _has_unclaimed_row(engine: Engine, portal_id: int, object_key: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(
            select(journal_table.c.id).where(
                journal_table.c.portal_id == portal_id,
                journal_table.c.object_key == object_key,
                journal_table.c.state == PENDING,
            ).limit(1)
        ).first() is not None


def _as_form_values(value: Any) -> Any:
    """Numbers as the strings an online event's form carries (the parsers expect those)."""
    if isinstance(value, dict):
        return {key: _as_form_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_form_values(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class Leadership:
    """Who runs the jobs: on PostgreSQL the holder of an advisory lock; SQLite has one.

    The lock is a session lock held on a connection of its own, in autocommit: the
    liveness probe then opens no transaction, so a server's
    `idle_in_transaction_session_timeout` never ends the session (and the leadership).
    When the session dies, the lock goes with it and another worker takes over.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None

    def is_leader(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        if self._connection is not None:
            try:
                return bool(self._connection.exec_driver_sql(_HOLDS_LEADER_LOCK).scalar())
            except Exception:  # the session died, and the lock with it
                self._connection.invalidate()
                self._connection = None
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({LEADER_LOCK})").scalar()
        except Exception:
            connection.invalidate()
            raise
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def resign(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


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
