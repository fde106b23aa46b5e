"""Each portal's request budget: a leaky bucket checked before every request is sent.

The portal drains `drain` requests a second from a bucket of `burst` (2/s and 50 on most
plans). A caller *reserves* a slot: the level rises by one at once and the caller sleeps
until the bucket has drained enough for that slot, so waiting callers queue in order and
no request is sent that the portal would answer with 503.

`DatabaseRateBudget` keeps the level in `rest_rate_budgets` (`connector.storage.rest_state`),
so every thread and process on the same database shares it; the read-modify-write holds
the row lock (`SELECT ... FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite).
`MemoryRateBudget` is the same bucket for one process (incoming-webhook mode).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from connector.storage.engines import Engine
from connector.storage.rest_state import BudgetRow, StoreBudget

Clock = Callable[[], float]
Sleep = Callable[[float], None]
# Slots kept free below the portal's bucket size: requests reserved in order may still
# reach the portal slightly out of order.
HEADROOM = 1.0


def reserve(
    level: float, stamp: float, now: float, drain: float, burst: float
) -> tuple[float, float]:
    """Pure bucket step: (level after taking one slot, seconds to wait before sending)."""
    current = max(0.0, level - max(0.0, now - stamp) * drain)
    taken = current + 1.0
    capacity = max(1.0, burst - HEADROOM)
    return taken, max(0.0, (taken - capacity) / drain)


class RateBudget:
    """Blocks in `acquire()` until this portal may receive one more request."""

    def __init__(
        self, drain: float, burst: float, *, clock: Clock = time.time, sleep: Sleep = time.sleep
    ) -> None:
        if drain <= 0 or burst < 1:
            raise ValueError("rate budget needs drain > 0 and burst >= 1")
        self.drain = drain
        self.burst = burst
        self.clock = clock
        self.sleep = sleep

    def acquire(self) -> float:
        """Take one slot; returns the seconds slept for it."""
        wait = self._reserve()
        if wait > 0:
            self.sleep(wait)
        return wait

    def saturate(self) -> None:
        """The portal said 503: treat its bucket as full so callers back off together."""
        self._fill()

    def _reserve(self) -> float:
        raise NotImplementedError

    def _fill(self) -> None:
        raise NotImplementedError


class MemoryRateBudget(RateBudget):
    """A bucket shared by the threads of one process."""

    def __init__(self, drain: float, burst: float, **kw: object) -> None:
        super().__init__(drain, burst, **kw)  # type: ignore[arg-type]
        self._level = 0.0
        self._stamp = self.clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        with self._lock:
            now = self.clock()
            self._level, wait = reserve(self._level, self._stamp, now, self.drain, self.burst)
            self._stamp = now
            return wait

    def _fill(self) -> None:
        with self._lock:
            self._level, self._stamp = max(self._level, self.burst), self.clock()


class DatabaseRateBudget(RateBudget):
    """A bucket in the database, shared by every process that uses it."""

    def __init__(self, engine: Engine, portal_key: str, drain: float, burst: float,
                 **kw: object) -> None:
        super().__init__(drain, burst, **kw)  # type: ignore[arg-type]
        self.engine = engine
        self.portal_key = portal_key
        self._row = BudgetRow(engine, portal_key)
        self._row_ready = False

    def _reserve(self) -> float:
        with self._locked_row() as (store, level, stamp):
            now = self.clock()
            taken, wait = reserve(level, stamp, now, self.drain, self.burst)
            store(taken, now)
        return wait

    def _fill(self) -> None:
        with self._locked_row() as (store, level, _stamp):
            store(max(level, self.burst), self.clock())

    def level(self) -> float:
        """The bucket's level now (for tests and the doctor command)."""
        row = self._row.read()
        if row is None:
            return 0.0
        level, stamp = row
        return max(0.0, level - max(0.0, self.clock() - stamp) * self.drain)

    @contextmanager
    def _locked_row(self) -> Iterator[tuple[StoreBudget, float, float]]:
        self._ensure_row()
        with self._row.locked() as (level, stamp, store):
            yield store, level, stamp

    def _ensure_row(self) -> None:
        if self._row_ready:
            return
        self._row.create(level=0.0, stamp=self.clock())
        self._row_ready = True
