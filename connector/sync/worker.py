"""The worker: claims journal rows, runs the sync flow per portal, records the outcome.

Every claimed row ends `done`, `failed` (tried again later, with backoff) or `dead`
(after `TASKBRIDGE_WORKER_MAX_ATTEMPTS`, with the reason). A row the pass cannot read (a
bad id or payload, `row_reading.unreadable`) ends `dead` at once, alone, with the reason,
and the rest of its batch is processed without it. Outcomes are per object: a
write the portal refuses fails the rows of the object whose events planned it, and the
others end done. Rows of a portal that must be reinstalled go back to wait, visibly,
instead of failing in a loop. Each row keeps the pass that handled it and the REST calls
that pass made (shared by every row it served).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import TaskBridgeError
from connector.observability.logging_setup import ServedPass, serving
from connector.portals.install import refresh_setup
from connector.rest.call_log import CallRecord
from connector.rest.client import PortalClient
from connector.rest.errors import ReinstallRequired
from connector.scheduler.deadlines import queue_passed_during_pass
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_queries import backfill_due
from connector.storage.journal_rows import DONE, IGNORED, Claimed
from connector.storage.portals import Portal
from connector.storage.rest_state import RestCallStore
from connector.storage.snapshots import SnapshotStore
from connector.sync.backfill import EVENTS as BACKFILL_EVENTS
from connector.sync.backfill_pass import BackfillPass
from connector.sync.fetch import forget_facts
from connector.sync.flow import SyncFlow
from connector.sync.pass_state import ITEM_EVENTS, TASK_EVENTS, Pass, rows_by_object
from connector.sync.robots import RobotCalls
from connector.sync.row_reading import unreadable
from mappers.errors import ValidationError
from mappers.robot_calls import ROBOT_EVENT

log = logging.getLogger(__name__)

ClientFactory = Callable[[Portal, Callable[[CallRecord], None]], PortalClient]
DeadlineNudge = Callable[[int, datetime], None]


class Worker:
    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        *,
        worker_id: str | None = None,
        batch_size: int = 200,
        stale_after: timedelta | None = None,
        client_factory: ClientFactory | None = None,
        on_call: Callable[[CallRecord, Claimed], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        coalesce: bool = True,
        on_deadline: DeadlineNudge | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.stale_after = stale_after or timedelta(seconds=settings.worker_stale_seconds)
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self.journal = Journal(storage.engine)
        self.flow = SyncFlow(SnapshotStore(storage.engine), storage.engine)
        self.robots = RobotCalls(storage)
        self._calls = RestCallStore(storage.engine)
        self._client_factory = client_factory or self._client
        self._on_call = on_call
        self._stop = threading.Event()
        self._beat_stop = threading.Event()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.coalesce = coalesce
        self._on_deadline = on_deadline

    def _client(self, portal: Portal, sink: Callable[[CallRecord], None]) -> PortalClient:
        return PortalClient.for_portal(self.storage, self.settings, portal.member_id,
                                       on_call=sink)

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, until_idle: bool = False, poll_interval: float | None = None) -> int:
        """Process rows until stopped (or, with `until_idle`, until none is ready)."""
        interval = poll_interval or self.settings.worker_poll_interval
        handled = 0
        last_release = 0.0
        beat = threading.Thread(target=self._heartbeat, name="journal-heartbeat", daemon=True)
        beat.start()
        while not self._stop.is_set():
            # A dead worker's rows come back once stale: look at least twice per stale
            # period, and every 30 s at most.
            if time.monotonic() - last_release > min(30.0, self.stale_after.total_seconds() / 2):
                self.journal.release_stale(older_than=self.stale_after)
                last_release = time.monotonic()
            count = self.run_once()
            handled += count
            if count == 0:
                if until_idle and not self._soon_due():
                    break
                self._stop.wait(interval if not until_idle else 0.05)
            elif count < self.batch_size and not backfill_due(self.storage.engine,
                                                              self._clock()):
                # Events are trickling in: let the next ones gather for one window rather
                # than spending a pass (and REST requests) on each few. A backfill's next
                # chunk, due already, is not kept waiting for them.
                self._stop.wait(self.settings.worker_coalesce_seconds)
        self._beat_stop.set()
        beat.join(timeout=5)
        self._beat_stop.clear()
        return handled

    def _heartbeat(self) -> None:
        """Keep the rows of a long pass ours: others take back rows held without a beat."""
        period = max(1.0, self.stale_after.total_seconds() / 4)
        while not self._beat_stop.wait(period):
            with self._held_lock:
                held = list(self._held)
            if held:
                self.journal.heartbeat(held)

    def _soon_due(self) -> bool:
        """Rows still inside their coalescing window count as work to wait for."""
        window = timedelta(seconds=self.settings.worker_coalesce_seconds)
        return self.journal.next_due(within=window, now=self._clock()) is not None

    def run_once(self, now: datetime | None = None) -> int:
        now = now or self._clock()
        claimed = self.journal.claim_batch(self.worker_id, limit=self.batch_size, now=now,
                                           coalesce=self.coalesce)
        by_portal: dict[str, list[Claimed]] = defaultdict(list)
        for row in claimed:
            by_portal[row.member_id].append(row)
        with self._held_lock:
            self._held = {row.id for row in claimed}
        try:
            for member_id, rows in by_portal.items():
                live = [row for row in rows if row.event not in BACKFILL_EVENTS]
                if live:
                    self._portal_pass(member_id, live, now)
            # A backfill row is a pass of its own, after every portal's live rows: its REST
            # calls are its own (its progress counts them).
            for row in claimed:
                if row.event in BACKFILL_EVENTS:
                    self._portal_pass(row.member_id, [row], now)
        finally:
            with self._held_lock:
                self._held = set()
        return len(claimed)

    def _portal_pass(self, member_id: str, rows: list[Claimed], now: datetime) -> None:
        portal = self.storage.portals.find(member_id)
        if portal is None:
            self.journal.fail(rows, "the portal is no longer stored", max_attempts=1)
            return
        served = ServedPass.of(f"pass-{uuid.uuid4().hex[:12]}", rows)
        calls: list[dict[str, Any]] = []

        def sink(record: CallRecord) -> None:
            calls.append({"at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                          "method": record.method,
                          "duration_ms": round(record.duration * 1000, 1),
                          "http_status": record.http_status, "error": record.error_code,
                          "retries": record.retries})
            # Stored once, under the pass's first row, for /metrics; every row's detail
            # keeps the pass's calls for its own page.
            self._calls.record(record, journal_id=rows[0].id, portal_id=portal.id)
            if self._on_call is not None:
                self._on_call(record, rows[0])

        client = self._client_factory(portal, sink)
        with serving(served):
            log.info("pass %s for portal %s: %d events, journal ids %s, correlation ids %s",
                     served.id, member_id, len(rows), list(served.journal_ids),
                     list(served.correlation_ids))
            self._guarded_pass(portal, client, rows, now, _PassRecord(served, calls))

    def _guarded_pass(self, portal: Portal, client: PortalClient, rows: list[Claimed],
                      now: datetime, record: _PassRecord) -> None:
        member_id = portal.member_id
        try:
            if rows[0].event in BACKFILL_EVENTS:
                self._backfill(portal, client, rows[0], now, record)
                return
            self._app_rows(portal, client, [r for r in rows if r.object_type == "app"])
            sync_rows = [r for r in rows if r.event in TASK_EVENTS | ITEM_EVENTS]
            robot_rows = [r for r in rows if r.event == ROBOT_EVENT]
            other = [r for r in rows if r.object_type != "app" and r not in sync_rows
                     and r not in robot_rows]
            sync_rows = self._readable(sync_rows, record)
            if other:
                self.journal.finish([r.id for r in other], state=IGNORED,
                                    detail={"outcome": "no rule acts on this event"})
            if sync_rows:
                self._sync(portal, client, sync_rows, now, record)
            # After the pass stored its statuses: a rule reads them.
            for row in robot_rows:
                self._robot_call(portal, client, row, record)
        except ReinstallRequired as exc:
            forget_facts(member_id)
            self.journal.release([r.id for r in rows],
                                 f"waiting: portal needs reinstall ({exc.code or exc})")
            log.warning("portal %s needs reinstall; %d events wait", member_id, len(rows))
        except (TaskBridgeError, ValidationError) as exc:
            self._failed(rows, f"{type(exc).__name__}: {exc}", record.detail())
        except Exception as exc:  # the event must end failed, never vanish with the worker
            log.exception("unexpected error processing %d events of portal %s",
                          len(rows), member_id)
            self._failed(rows, f"{type(exc).__name__}: {exc}", record.detail())
        finally:
            client.close()

    def _readable(self, rows: list[Claimed], record: _PassRecord) -> list[Claimed]:
        """The rows a pass can use; each other one ends dead now, with why."""
        kept = []
        for row in rows:
            why = unreadable(row)
            if why is None:
                kept.append(row)
            else:
                # Waiting cannot make it readable: no retries, and no batch fails with it.
                self._failed([row], f"UnreadableRow: {why}", record.detail(), max_attempts=1)
        return kept

    def _sync(self, portal: Portal, client: PortalClient, rows: Sequence[Claimed],
              now: datetime, record: _PassRecord) -> None:
        """Each object's rows end by its own writes: done, or failed with the reason."""
        work = Pass(now=now)
        try:
            work, outcome, _requests = self.flow.run(portal, client, rows, now, work)
        except ReinstallRequired:
            raise
        except (TaskBridgeError, ValidationError) as exc:
            # A fetch or the write batch failed as a whole: every row fails, each keeping
            # what was decided for its object before it did.
            error = f"{type(exc).__name__}: {exc}"
            for key, key_rows in rows_by_object(rows).items():
                self._failed(key_rows, error, {**work.details.get(key, {}), **record.detail()},
                             quiet=True)
            log.warning("%d events of portal %s failed: %s", len(rows), portal.member_id, error)
            return
        failed = work.settle(outcome.failed)
        deadlines = self.flow.store(portal, work)
        released = self._release_holds(portal, client, rows, work)
        for key, key_rows in rows_by_object(rows).items():
            detail = {**work.details.get(key, {"outcome": "nothing to do"}),
                      **record.detail(),
                      "writes": [w for w in outcome.summary()
                                 if work.planned_by.get(w["key"]) == key
                                 or outcome.owners.get(w["key"]) == key],
                      "coalesced": len(key_rows)}
            if released:
                detail["robots_released"] = released
            if key in failed:
                self._failed(key_rows, work.write_error(key, outcome), detail)
                continue
            for row in key_rows:
                if row.replays:
                    self.journal.finish([row.id], detail={**detail, "replays": list(row.replays)})
            self.journal.finish([row.id for row in key_rows], detail=detail, state=DONE)
        self._deadlines_stored(portal, deadlines, decided_at=now)

    def _deadlines_stored(self, portal: Portal, deadlines: dict[int, datetime], *,
                          decided_at: datetime) -> None:
        """Tell this process's scheduler the earliest deadline stored (it may wake sooner),
        and queue the tasks whose deadline passed while this pass ran: it decided them
        as not overdue yet. Called once the pass's rows are finished, so the tasks have
        no row waiting. No REST call."""
        if not deadlines:
            return
        try:
            if self._on_deadline is not None:
                self._on_deadline(portal.id, min(deadlines.values()))
            queue_passed_during_pass(self.journal, portal, deadlines, decided_at,
                                     self._clock())
        except Exception:  # the rows are done: they must not fail for this
            log.exception("portal %s: the deadlines this pass stored were not passed on; "
                          "the scheduler's re-read and sweep find them", portal.member_id)

    def _release_holds(self, portal: Portal, client: PortalClient, rows: Sequence[Claimed],
                       work: Pass) -> list[dict[str, Any]]:
        """End the automation rules' holds on the items this pass observed (no request while
        every hold still waits); a failure leaves them to the next pass."""
        try:
            return self.robots.release(portal, client, work.observed_items(rows))
        except (TaskBridgeError, ValidationError) as exc:
            log.warning("portal %s: holds not ended this pass: %s", portal.member_id, exc)
            return []

    def _robot_call(self, portal: Portal, client: PortalClient, row: Claimed,
                    record: _PassRecord) -> None:
        """One automation rule's call: done with what was returned, or failed (retried; on
        the last try the workflow is told why)."""
        calls_before = len(record.calls)
        try:
            detail = self.robots.handle(portal, client, row)
            # The requests this call cost, apart from the rest of the pass.
            detail["requests"] = len(record.calls) - calls_before
        except ReinstallRequired:
            raise
        except (TaskBridgeError, ValidationError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            # A payload that cannot be read will not read better later: no retries.
            attempts = 1 if isinstance(exc, ValidationError) else \
                self.settings.worker_max_attempts
            state = self.journal.fail([row], error, max_attempts=attempts,
                                      detail={**record.detail(), "outcome": "failed",
                                              "error": error})
            if state == "dead":
                self.robots.give_up(portal, client, row, str(exc)[:200])
            log.warning("robot call of portal %s %s: %s", portal.member_id, state, error)
            return
        self.journal.finish([row.id], detail={**detail, **record.detail()})

    def _backfill(self, portal: Portal, client: PortalClient, row: Claimed, now: datetime,
                  record: _PassRecord) -> None:
        """A backfill's request row (which journals its chunks) or one of its chunks."""
        outcome = BackfillPass(self.storage, portal, client, now=now,
                               own_writes=self.flow.own_writes,
                               between=self._live_rows_now).run(row)
        detail = {**outcome.detail, **record.detail()}
        if outcome.children is None:
            self.journal.finish([row.id], detail=detail)
        else:
            self.journal.spawn(row, outcome.children, detail=detail)

    def _live_rows_now(self) -> None:
        """The live rows due now, handled while a backfill reads the portal's lists."""
        now = self._clock()
        claimed = self.journal.claim_batch(self.worker_id, limit=self.batch_size, now=now,
                                           coalesce=self.coalesce, live_only=True)
        with self._held_lock:
            self._held |= {row.id for row in claimed}
        by_portal: dict[str, list[Claimed]] = defaultdict(list)
        for row in claimed:
            by_portal[row.member_id].append(row)
        for member_id, rows in by_portal.items():
            self._portal_pass(member_id, rows, now)

    def _app_rows(self, portal: Portal, client: PortalClient, rows: list[Claimed]) -> None:
        if not rows:
            return
        if any(row.event == "ONAPPUPDATE" for row in rows):
            forget_facts(portal.member_id)
            report = refresh_setup(self.storage, self.settings, portal, client=client)
            detail = {"outcome": "bindings checked after the app update",
                      "bound_events": report.bound_events,
                      "bound_placements": report.bound_placements,
                      "added_robots": report.added_robots,
                      "automation_rules": (report.robots or {}).get("state")}
        else:
            detail = {"outcome": "handled when received"}
        self.journal.finish([row.id for row in rows], detail=detail)

    def _failed(self, rows: Sequence[Claimed], error: str, detail: dict[str, Any], *,
                quiet: bool = False, max_attempts: int | None = None) -> None:
        state = self.journal.fail(rows, error,
                                  max_attempts=max_attempts or self.settings.worker_max_attempts,
                                  detail={**detail, "outcome": "failed", "error": error})
        if not quiet:
            log.warning("%d events of portal %s %s: %s", len(rows), rows[0].member_id, state,
                        error)


@dataclass(frozen=True)
class _PassRecord:
    """What every row of a pass keeps of it: the pass, and the REST calls it made."""

    served: ServedPass
    calls: list[dict[str, Any]]

    def detail(self) -> dict[str, Any]:
        return {"rest_calls": list(self.calls),
                "pass": {"id": self.served.id, "events": len(self.served.journal_ids),
                         "first_journal_id": self.served.journal_ids[0]}}

