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


class OperatingBudget:
    """Summed execution time per (app, method) over a sliding window."""

    def __init__(self, settings: LimitSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._spent: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str]) -> None:
        with self._lock:
            spent, oldest = self._window(key)
            if spent >= self.settings.operating_budget:
                raise OperationTimeLimit(oldest + self.settings.operating_window)

    def record(self, key: tuple[str, str], seconds: float) -> tuple[float, float]:
        """Add a call's time; answer (operating, operating_reset_at) for the envelope."""
        with self._lock:
            now = self.clock()
            self._spent.setdefault(key, deque()).append(
                (now, seconds + self.settings.operating_cost)
            )
            spent, oldest = self._window(key)
            return spent, oldest + self.settings.operating_window

    def reset(self) -> None:
        with self._lock:
            self._spent.clear()

    def _window(self, key: tuple[str, str]) -> tuple[float, float]:
        now = self.clock()
        entries = self._spent.get(key)
        if not entries:
            return 0.0, now
        while entries and entries[0][0] < now - self.settings.operating_window:
            entries.popleft()
        if not entries:
            return 0.0, now
        return sum(s for _, s in entries), entries[0][0]
