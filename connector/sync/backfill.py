"""The backfill: every open task bound to a deal or lead gets its starting status, and every
item its status, when TaskBridge is installed (and on demand), before any event arrives.

    request_backfill(storage, portal_id, requested_by="install", correlation_id=None)
        -> journal row id
    backfill_progress(storage, portal_id) -> BackfillProgress | None

It runs through the journal like any other work (`backfill_pass` does it):

1. A `TASKBRIDGE_BACKFILL` row (source "backfill", object `backfill`) reads the open bound
   tasks (`tasks.task.list`, chained pages, 50 to a batch) and their deals and leads
   (ID-filtered pages, 50 to a batch, with the status field's values), plans chunks of at
   most 50 items (`mappers.backfill_chunks`), and journals one `TASKBRIDGE_BACKFILL_CHUNK`
   row per chunk with what was read, finishing itself in the same transaction.
2. Each chunk row decides its tasks' starting statuses (`mappers.starting_status`) and its
   items' statuses, stores the snapshots and statuses as a normal pass does, and writes
   the statuses with the missing `CRM` tags (50 commands to a batch, through the write
   log, so a chunk that runs again sends nothing twice). No timeline entry is written.

The chunks share one object key, so they run one after another; a claim takes the live
rows first and then at most one chunk, which the worker runs after them, as a pass of its
own (`journal_queries`, `Journal.claim_batch`). So a live event waits at most for one
chunk (two batch requests of writes), and a busy portal's events never starve its
backfill. A second request while one is queued or running is that one (two requests at
the same instant may both journal one; the second then finds everything done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.errors import PortalNotFound
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_queries import BACKFILL, object_rows, requests_made
from connector.storage.journal_rows import DEAD, DONE, PROCESSING, WAITING

BACKFILL_EVENT = "TASKBRIDGE_BACKFILL"
CHUNK_EVENT = "TASKBRIDGE_BACKFILL_CHUNK"
EVENTS = frozenset({BACKFILL_EVENT, CHUNK_EVENT})
OBJECT = "backfill"  # the object type (and the request row's key) of a backfill's rows
QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "done", "failed"
WRITES_PER_BATCH = 50


def chunk_key(backfill_id: int) -> str:
    """The object key every chunk of one backfill shares: they run one at a time."""
    return f"{OBJECT}:{backfill_id}"


@dataclass(frozen=True)
class BackfillProgress:
    """Where a portal's latest backfill stands."""

    state: str                # "queued" | "running" | "done" | "failed"
    items_done: int
    items_total: int | None   # None until the task lists have been read
    tasks_seen: int
    requests_spent: int       # REST requests this backfill made so far
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    id: int | None = None     # its journal row (what `request_backfill` returned)
    requests_per_second: float = 2.0  # the portal's REST budget (drain rate)

    @property
    def items_left(self) -> int | None:
        if self.items_total is None:
            return None
        return max(0, self.items_total - self.items_done)

    def eta_seconds(self, now: datetime) -> float | None:
        """Seconds left: the rate so far, never faster than the REST budget allows (each
        item left needs its share of the requests spent per item so far, at least one
        write in a batch of 50); None before the lists are read or once it failed."""
        left = self.items_left
        if self.state == FINISHED or left == 0:
            return 0.0
        if left is None or self.state == FAILED:
            return None
        per_item = max(1 / WRITES_PER_BATCH,
                       self.requests_spent / self.items_done if self.items_done else 0.0)
        by_budget = left * per_item / max(self.requests_per_second, 0.01)
        if not self.items_done or self.started_at is None:
            return by_budget
        elapsed = max(0.0, (now - self.started_at).total_seconds())
        return max(by_budget, elapsed * left / self.items_done)


def request_backfill(storage: Storage, portal_id: int, *, requested_by: str,
                     correlation_id: str | None = None, now: datetime | None = None) -> int:
    """Journal a backfill of the portal; its journal row id. While one is queued or
    running, that one's id (no second). `correlation_id` names the request that asked
    (its rows, the chunks' too, carry it in the sync log); a request that joins a
    running backfill leaves that one's as it was."""
    latest = _latest(storage, portal_id)
    if latest is not None and _progress(storage, portal_id, latest).state in (QUEUED, RUNNING):
        return int(latest["id"])
    portal = storage.portals.by_id(portal_id)
    if portal is None:
        raise PortalNotFound(f"portal id {portal_id}")
    return Journal(storage.engine).enqueue(
        portal_id=portal_id, member_id=portal.member_id, event=BACKFILL_EVENT,
        object_type=OBJECT, object_id="", payload={"requested_by": requested_by},
        source=BACKFILL, now=now, correlation_id=correlation_id)


def backfill_progress(storage: Storage, portal_id: int) -> BackfillProgress | None:
    """The latest backfill of the portal, or None if it never had one."""
    latest = _latest(storage, portal_id)
    if latest is None:
        return None
    progress = _progress(storage, portal_id, latest)
    portal = storage.portals.by_id(portal_id)
    if portal is None:
        return progress
    return BackfillProgress(**{**progress.__dict__, "requests_per_second": portal.rate_drain})


def _latest(storage: Storage, portal_id: int) -> dict[str, Any] | None:
    rows = object_rows(storage.engine, portal_id, OBJECT, last=True)
    return rows[0] if rows else None


def _progress(storage: Storage, portal_id: int, request: dict[str, Any]) -> BackfillProgress:
    detail = request["detail"] or {}
    if request["state"] != DONE:
        state = {DEAD: FAILED, PROCESSING: RUNNING}.get(request["state"], QUEUED)
        if request["state"] in WAITING and request["attempts"]:
            state = RUNNING  # tried, failed, waiting to try again
        return BackfillProgress(
            state=state, items_done=0, items_total=None, tasks_seen=0,
            requests_spent=requests_made(storage.engine, [request["id"]]),
            started_at=request["locked_at"], finished_at=request["finished_at"],
            error=request["error"] if request["attempts"] else None, id=request["id"])
    chunks = object_rows(storage.engine, portal_id, chunk_key(request["id"]))
    done = [chunk for chunk in chunks if chunk["state"] == DONE]
    dead = [chunk for chunk in chunks if chunk["state"] == DEAD]
    state = FAILED if dead else FINISHED if len(done) == len(chunks) else RUNNING
    ends = [row["finished_at"] for row in (dead or done or [request]) if row["finished_at"]]
    return BackfillProgress(
        state=state,
        items_done=sum(int((chunk["detail"] or {}).get("items", 0)) for chunk in done),
        items_total=int(detail.get("items_total", 0)),
        tasks_seen=int(detail.get("tasks_seen", 0)),
        requests_spent=requests_made(storage.engine,
                                     [request["id"], *(chunk["id"] for chunk in chunks)]),
        started_at=_moment(detail.get("started_at")) or request["received_at"],
        finished_at=max(ends) if state != RUNNING and ends else None,
        error=dead[0]["error"] if dead else None, id=request["id"])


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

