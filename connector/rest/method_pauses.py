"""Methods a portal has paused for us (429 OPERATION_TIME_LIMIT) until `operating_reset_at`.

Only the method concerned stops; the others keep going. A pause lives in this process's
memory (shared by every client of the portal) and in `rest_method_pauses`, which a new
client reads when it starts, so other processes learn it without asking the portal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from connector.rest.errors import OperationTimeLimit
from connector.storage.engines import Engine
from connector.storage.rest_state import load_pauses, store_pause

DEFAULT_PAUSE = 60.0  # when the portal gives no reset time


class MethodPauses:
    def __init__(
        self, portal_key: str, engine: Engine | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.portal_key = portal_key
        self.engine = engine
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        if engine is not None:
            self._load()

    def check(self, method: str) -> None:
        """Raise `OperationTimeLimit` without calling the portal if `method` is paused."""
        with self._lock:
            until = self._until.get(method.lower(), 0.0)
        if until > self.clock():
            stamp = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
            raise OperationTimeLimit(
                f"paused on this portal until {stamp} (not sent)",
                reset_at=until, method=method, code="OPERATION_TIME_LIMIT",
            )

    def pause(self, method: str, reset_at: float | None) -> float:
        """Stop calling `method` until `reset_at`; returns the time it resumes."""
        until = reset_at if reset_at and reset_at > self.clock() else self.clock() + DEFAULT_PAUSE
        key = method.lower()
        with self._lock:
            self._until[key] = max(until, self._until.get(key, 0.0))
        if self.engine is not None:
            self._store(key, until)
        return until

    def _load(self) -> None:
        assert self.engine is not None
        rows = load_pauses(self.engine, self.portal_key, self.clock())
        with self._lock:
            for method, until in rows:
                self._until[method] = max(until, self._until.get(method, 0.0))

    def _store(self, method: str, until: float) -> None:
        assert self.engine is not None
        store_pause(self.engine, self.portal_key, method, until)
