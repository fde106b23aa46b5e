"""Fixed-window attempt counters shared by every process on one database.

Callers who are not yet authenticated (a placement with a token nobody has checked yet,
a guess at the admin token) must cost the portal, and TaskBridge, only a bounded amount.
Each attempt bumps the counter of its `(scope, key)`; once a window holds `limit`
attempts, `allow` answers False until the window ends. One UPDATE decides, so two web
workers never both take the last attempt of a window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, case, insert, update
from sqlalchemy.exc import IntegrityError

from connector.storage.locks import write_lock
from connector.storage.schema import auth_throttle

KEY_MAX = 128


class AuthThrottle:
    """At most `limit` attempts per `window` seconds for each key of one scope."""

    def __init__(self, engine: Engine, scope: str, *, limit: int, window: float) -> None:
        self._engine = engine
        self._scope = scope
        self.limit = limit
        self.window = timedelta(seconds=window)

    def allow(self, key: str, now: datetime | None = None) -> bool:
        """Count one attempt for `key`; False when its window is already full."""
        now = now or datetime.now(UTC)
        key = key[:KEY_MAX]
        for _ in range(3):
            attempts = self._bump(key, now)
            if attempts is not None:
                return attempts <= self.limit
            if self._start(key, now):
                return self.limit >= 1
        return False

    def _bump(self, key: str, now: datetime) -> int | None:
        expired = auth_throttle.c.window_start <= now - self.window
        statement = (
            update(auth_throttle)
            .where(auth_throttle.c.scope == self._scope, auth_throttle.c.key == key)
            .values(
                attempts=case((expired, 1), else_=auth_throttle.c.attempts + 1),
                window_start=case((expired, now), else_=auth_throttle.c.window_start),
            )
            .returning(auth_throttle.c.attempts)
        )
        with write_lock(self._engine), self._engine.begin() as conn:
            return conn.execute(statement).scalar()

    def _start(self, key: str, now: datetime) -> bool:
        try:
            with write_lock(self._engine), self._engine.begin() as conn:
                conn.execute(insert(auth_throttle).values(
                    scope=self._scope, key=key, window_start=now, attempts=1))
        except IntegrityError:
            return False  # another process started this window first: bump it instead
        return True
