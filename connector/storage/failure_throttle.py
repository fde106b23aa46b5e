"""An `AuthThrottle` where only failed attempts count (guesses at the admin token).

A right answer costs nothing, so staff who type their token correctly are never slowed
down; but once a key's window holds `limit` failures, every attempt from it is refused
until the window ends, the right answer included, or guessing would go on unhindered.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select

from connector.storage.auth_throttle import KEY_MAX, AuthThrottle
from connector.storage.schema import auth_throttle


class FailureThrottle(AuthThrottle):
    """`retry_after` reads (one SELECT by primary key); `failed` counts one failure."""

    def retry_after(self, key: str, now: datetime | None = None) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        now = now or datetime.now(UTC)
        statement = select(auth_throttle.c.window_start).where(
            auth_throttle.c.scope == self._scope, auth_throttle.c.key == key[:KEY_MAX],
            auth_throttle.c.attempts >= self.limit,
            auth_throttle.c.window_start > now - self.window)
        with self._engine.connect() as conn:
            started = conn.execute(statement).scalar()
        if started is None:
            return 0
        if started.tzinfo is None:  # SQLite hands back naive UTC
            started = started.replace(tzinfo=UTC)
        return max(1, math.ceil((started + self.window - now).total_seconds()))

    def failed(self, key: str, now: datetime | None = None) -> int:
        """Count one failure; the seconds to wait when the window is now full, else 0."""
        if self.allow(key, now):
            return 0
        return max(1, math.ceil(self.window.total_seconds()))
