"""Monotonic counters for `/metrics`, stored in `metric_counters`.

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
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (sample name, label text)
FLUSH_SECONDS = 5.0
_LABELS_MAX = 512

# The counters' names; `metrics_source` says what each one means.
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
