"""The portal's request limits: a leaky bucket and per-method operating time."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from emulator.errors import RestError


@dataclass
class LimitSettings:
    enabled: bool = True
    drain_rate: float = 2.0  # requests per second leaving the bucket
    capacity: float = 50.0
    operating_budget: float = 480.0  # seconds of summed execution per method and window
    operating_window: float = 600.0
    operating_cost: float = 0.0  # extra seconds every call adds, so tests reach the budget


class QueryLimitExceeded(RestError):
    def __init__(self) -> None:
        super().__init__("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)


class OperationTimeLimit(RestError):
    def __init__(self, reset_at: float) -> None:
        super().__init__(
            "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429
        )
        self.reset_at = reset_at


class LeakyBucket:
    """Each request adds one; the level drains at ``drain_rate`` per second."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self._level = 0.0
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = time.monotonic()
            drained = (now - self._stamp) * self.settings.drain_rate
            self._level = max(0.0, self._level - drained)
            self._stamp = now
            if self._level + 1 > self.settings.capacity:
                raise QueryLimitExceeded()
            self._level += 1

    @property
    def level(self) -> float:
        with self._lock:
            drained = (time.monotonic() - self._stamp) * self.settings.drain_rate
            return max(0.0, self._level - drained)

    def reset(self) -> None:
        with self._lock:
            self._level, self._stamp = 0.0, time.monotonic()


class _Spent:
    """One (app, method)'s time in the window, per started second, oldest first, and
    the running sum: memory stays bounded by the window's seconds, not its calls."""

    __slots__ = ("entries", "total")

    def __init__(self) -> None:
        self.entries: deque[list[float]] = deque()
        self.total = 0.0

    def add(self, now: float, cost: float) -> None:
        second = float(int(now))
        if self.entries and self.entries[-1][0] == second:
            self.entries[-1][1] += cost
        else:
            self.entries.append([second, cost])
        self.total += cost

    def prune(self, horizon: float) -> None:
        entries = self.entries
        while entries and entries[0][0] < horizon:
            self.total -= entries.popleft()[1]
        if not entries:
            self.total = 0.0  # drop float drift whenever the window empties


class OperatingBudget:
    """Summed execution time per (app, method) over a sliding window.

    Each key keeps a running sum, so a call costs the same with a million calls in the
    window as with one.
    """

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._spent: dict[tuple[str, str], _Spent] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str]) -> None:
        with self._lock:
            spent, oldest = self._window(key)
            if spent >= self.settings.operating_budget:
                raise OperationTimeLimit(oldest + self.settings.operating_window)

    def record(self, key: tuple[str, str], seconds: float) -> tuple[float, float]:
        """Add a call's time; answer (operating, operating_reset_at) for the envelope."""
        cost = seconds + self.settings.operating_cost
        with self._lock:
            now = self.clock()
            spent = self._spent.get(key)
            if spent is None:
                spent = self._spent[key] = _Spent()
            spent.add(now, cost)
            spent.prune(now - self.settings.operating_window)
            return max(spent.total, 0.0), spent.entries[0][0] + self.settings.operating_window

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()

    def _window(self, key: tuple[str, str]) -> tuple[float, float]:
        now = self.clock()
        spent = self._spent.get(key)
        if spent is None:
            return 0.0, now
        spent.prune(now - self.settings.operating_window)
        if not spent.entries:
            return 0.0, now
        return max(spent.total, 0.0), spent.entries[0][0]
