"""Fault injection: a share of 500/503 answers, delays, dropped connections, a moved portal."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class FaultSettings:
    error_500_rate: float = 0.0
    error_503_rate: float = 0.0
    drop_rate: float = 0.0
    delay: float = 0.0
    moved_to: str | None = None  # base URL of the portal's new address -> 302
    methods: frozenset[str] = field(default_factory=frozenset)  # empty: every method
    seed: int | None = None


@dataclass(frozen=True)
class Fault:
    kind: str  # "error500", "error503", "drop", "moved"
    location: str | None = None


class FaultInjector:
    def __init__(self) -> None:
        self.settings = FaultSettings()
        self._random = random.Random()
        self._lock = threading.Lock()

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._random = random.Random(settings.seed)

    def pick(self, method: str, path_and_query: str) -> Fault | None:
        """The fault this call suffers, if any (delays are applied by the caller)."""
        settings = self.settings
        if settings.methods and method.lower() not in settings.methods:
            return None
        if settings.moved_to:
            return Fault("moved", settings.moved_to.rstrip("/") + path_and_query)
        with self._lock:
            roll = self._random.random()
        for kind, rate in (("drop", settings.drop_rate), ("error500", settings.error_500_rate),
                           ("error503", settings.error_503_rate)):
            if roll < rate:
                return Fault(kind)
            roll -= rate
        return None
