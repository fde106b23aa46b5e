"""The reconcile pass: what changed on each portal since its last pass is re-checked, and
a few of the open tasks checked longest ago, which finds what no event reports (a
checklist item ticked inline). A deal or lead an automation rule still waits on although
its stored tasks are all done (its release was missed) is re-checked too: the pass that
handles it ends the hold."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.scheduler.jobs import RECHECK_ITEM, JobResult, installed, queue_rechecks
from connector.settings import Settings
from connector.storage.counters import last_reconcile_run
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.portals import Portal
from connector.storage.robot_waits import RobotWaitStore
from connector.storage.snapshots import SnapshotStore
from mappers.bindings import CrmRef
from mappers.robot_calls import open_count

log = logging.getLogger(__name__)

RECONCILE_SLACK = timedelta(minutes=5)  # clocks differ; a re-check costs little
ROLLING_CHECKS = 45


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
    for portal in installed(storage):
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
    queued = queue_rechecks(journal, portal, sorted(set(task_ids)), "reconcile",
                            "changed since the last pass", now)
    changed_items = {kind: set(ids) for kind, ids in changed.items()}
    for ref in _missed_releases(storage, snapshots, portal):
        changed_items.setdefault(ref.kind, set()).add(ref.id)
    changed = {kind: sorted(ids) for kind, ids in changed_items.items()}
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


def _missed_releases(storage: Storage, snapshots: SnapshotStore, portal: Portal) -> list[CrmRef]:
    """Items an automation rule still waits on although their stored tasks are done (the
    pass that saw the last one could not answer the workflow): a re-check ends the hold.
    A hold whose tasks are still open costs nothing here."""
    found = []
    for wait in RobotWaitStore(storage.engine, storage.cipher).waiting(portal.id):
        statuses = [task.snapshot.real_status
                    for task in snapshots.tasks_bound_to(portal.id, wait.item)]
        if open_count(statuses, pending_review_done=bool(
                wait.options.get("pending_review_done"))) == 0:
            found.append(wait.item)
    return found


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
    last = last_reconcile_run(storage.engine)
    if last is None:
        return {}, None
    started_at, detail = last
    marks = (detail or {}).get("marks")
    if marks is None:
        return {}, started_at
    return {member: _mark_time(mark) for member, mark in marks.items()}, None


def _mark_time(text: str) -> datetime:
    """A portal's mark as a run's detail keeps it (ISO text, UTC; an offset may lack)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
