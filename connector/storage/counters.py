"""Monotonic counters for `/metrics`, stored in `metric_counters`; what a scrape reads;
the scheduler's runs (`scheduler_runs`).

Each counter is bumped inside the transaction that changes what it counts, so it never
runs ahead of or behind the rows, and it keeps growing when retention deletes rows.
One multi-row upsert per transaction, keys in a fixed order so concurrent writers on
PostgreSQL lock counter rows in the same order (no deadlocks between them). Call `bump`
as the transaction's last statement: counter rows are then held only until the commit.

Counts that must not cost a write per occurrence (refused events, which anyone can send)
go through `DeferredCounts`: kept in memory and flushed at most every few seconds.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select

from connector.storage.schema import journal, metric_counters, portals, scheduler_runs

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (sample name, label text)
FLUSH_SECONDS = 5.0
_LABELS_MAX = 512

# The counters' names; `connector.observability.metrics` says what each one means.
EVENTS_RECEIVED = "taskbridge_events_received_total"
EVENTS_FINISHED = "taskbridge_events_finished_total"
EVENTS_REFUSED = "taskbridge_events_refused_total"
LATENCY = "taskbridge_processing_latency_seconds"
REST_REQUESTS = "taskbridge_rest_requests_total"
REST_LIMITED = "taskbridge_rest_limited_answers_total"
REST_RETRIES = "taskbridge_rest_retries_total"
TOKEN_REFRESHES = "taskbridge_token_refreshes_total"
SCHEDULER_RUNS = "taskbridge_scheduler_runs_total"
LATENCY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def labels(**values: object) -> str:
    """The label text of one series, as the exposition format prints it."""
    return ",".join(f'{name}="{escape(str(value))}"' for name, value in values.items())[
        :_LABELS_MAX]


def number(value: float) -> str:
    """A sample value or bucket bound as Prometheus prints it (`5`, not `5.0`)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value) if isinstance(value, float) else str(int(value))


def latency(seconds: list[float]) -> Counter[Key]:
    """The processing-latency histogram's increments for these observations."""
    counts: Counter[Key] = Counter()
    for value in seconds:
        value = max(0.0, value)
        for bound in LATENCY_BUCKETS:
            if value <= bound:
                counts[(LATENCY + "_bucket", labels(le=number(bound)))] += 1
        counts[(LATENCY + "_bucket", labels(le="+Inf"))] += 1
        counts[(LATENCY + "_sum", "")] += value
        counts[(LATENCY + "_count", "")] += 1
    return counts


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@functools.lru_cache(maxsize=256)
def upsert_sql(paramstyle: str, rows: int) -> str:
    """INSERT ... ON CONFLICT DO UPDATE, adding to the stored value (SQLite and PostgreSQL)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    values = ", ".join([f"({mark}, {mark}, {mark})"] * rows)
    return ("INSERT INTO metric_counters (name, labels, value) VALUES " + values
            + " ON CONFLICT (name, labels) DO UPDATE"
            " SET value = metric_counters.value + excluded.value")


def bump(conn: Any, counts: Mapping[Key, float]) -> None:
    """Add `counts` to their counters in the connection's open transaction."""
    params = _params(counts)
    if params:
        conn.exec_driver_sql(upsert_sql(conn.dialect.paramstyle, len(params) // 3),
                             tuple(params))


def bump_on_cursor(cursor: Any, paramstyle: str, counts: Mapping[Key, float]) -> None:
    """`bump` on a driver cursor (the receiver's hot path writes through one)."""
    params = _params(counts)
    if params:
        cursor.execute(upsert_sql(paramstyle, len(params) // 3), tuple(params))


def _params(counts: Mapping[Key, float]) -> list[Any]:
    params: list[Any] = []
    for (name, label_text), value in sorted(counts.items()):
        if value:
            params.extend((name, label_text, float(value)))
    return params


class DeferredCounts:
    """Per-process counts written to `metric_counters` at most every `interval` seconds."""

    def __init__(self, engine: Engine, interval: float = FLUSH_SECONDS) -> None:
        self._engine = engine
        self._interval = interval
        self._pending: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        atexit.register(self.flush)

    def add(self, name: str, label_text: str = "", value: float = 1) -> None:
        with self._lock:
            self._pending[(name, label_text)] += value
            if self._timer is None:
                self._timer = threading.Timer(self._interval, self._scheduled)
                self._timer.daemon = True
                self._timer.start()

    def _scheduled(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    def flush(self) -> None:
        """Write what is pending now; on a database error keep it for the next flush."""
        with self._lock:
            counts, self._pending = self._pending, Counter()
        if not counts:
            return
        try:
            with self._engine.begin() as conn:
                bump(conn, counts)
        except Exception:
            log.warning("metric counters not flushed; kept for the next try", exc_info=True)
            with self._lock:
                self._pending.update(counts)
                if self._timer is None:
                    self._timer = threading.Timer(self._interval, self._scheduled)
                    self._timer.daemon = True
                    self._timer.start()


@dataclass(frozen=True)
class StoredMetrics:
    """What one `/metrics` scrape reads, each from an index (no table is read in full)."""

    counters: list[tuple[str, str, float]]  # (name, label text, value), ordered
    queue: list[tuple[str, int]]  # (state, rows in it)
    oldest_received: datetime | None  # when the oldest row waiting or running arrived
    portals: list[tuple[str, datetime | None, str]]  # (member_id, token stored at, state)


def read_metrics(engine: Engine, queued: Sequence[str]) -> StoredMetrics:
    """The stored counters, the journal's depth in each `queued` state with the oldest
    such row's arrival, and each portal's token time and state; one connection."""
    with engine.connect() as conn:
        counters = [(name, label_text, value) for name, label_text, value in conn.execute(
            select(metric_counters.c.name, metric_counters.c.labels, metric_counters.c.value)
            .order_by(metric_counters.c.name, metric_counters.c.labels)
        )]
        rows = [(member_id, refreshed, state) for member_id, refreshed, state in conn.execute(
            select(portals.c.member_id, portals.c.token_refreshed_at, portals.c.state)
            .order_by(portals.c.member_id)
        )]
        queue, oldest_ids = [], []
        for state in queued:
            count, oldest = conn.execute(
                select(func.count(), func.min(journal.c.id)).where(journal.c.state == state)
            ).one()
            queue.append((state, count))
            if oldest is not None:
                oldest_ids.append(oldest)
        received = conn.execute(
            select(journal.c.received_at).where(journal.c.id == min(oldest_ids))
        ).scalar() if oldest_ids else None
    return StoredMetrics(counters, queue, received, rows)


def record_scheduler_run(
    engine: Engine, job: str, *, started_at: datetime, finished_at: datetime | None,
    outcome: str, detail: dict | None = None,
) -> int:
    """One scheduler job run (the worker calls this after each run; `outcome` ok/error)."""
    with engine.begin() as conn:
        run_id = conn.execute(
            scheduler_runs.insert().values(
                job=job[:64], started_at=started_at, finished_at=finished_at,
                outcome=outcome[:32], detail=detail,
            ).returning(scheduler_runs.c.id)
        ).scalar_one()
        bump(conn, {(SCHEDULER_RUNS, labels(job=job[:64], outcome=outcome[:32])): 1})
    return run_id


def last_reconcile_run_query() -> Select[Any]:
    """The last reconcile run that ended ok or partial: its marks are where the next pass
    starts (retention keeps it whatever its age)."""
    return (select(scheduler_runs.c.id, scheduler_runs.c.started_at, scheduler_runs.c.detail)
            .where(scheduler_runs.c.job == "reconcile",
                   scheduler_runs.c.outcome.in_(("ok", "partial")))
            .order_by(scheduler_runs.c.started_at.desc())
            .limit(1))


def last_reconcile_run(engine: Engine) -> tuple[datetime, dict[str, Any] | None] | None:
    """(started_at, detail) of the last reconcile run that ended ok or partial."""
    with engine.connect() as conn:
        last = conn.execute(last_reconcile_run_query()).first()
    return None if last is None else (last.started_at, last.detail)
