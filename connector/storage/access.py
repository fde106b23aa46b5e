"""Who may come in, and how often they may try.

- Admin-page sessions kept on the server, so that signing out or changing the admin
  token ends them. The browser's cookie names a row here (signed, so nobody can guess
  one). A request is let in only while its row exists, is not revoked and has not
  expired; `find_valid` decides that with one SELECT by primary key (joined to the portal
  by its primary key, for the domain allowed to frame a portal admin's pages). Staff rows
  carry a fingerprint of the admin token they were started with; comparing it with the
  current one is the caller's job, and the token itself is never stored.
- Fixed-window attempt counters shared by every process on one database (`AuthThrottle`).
  Callers who are not yet authenticated (a placement with a token nobody has checked yet,
  a guess at the admin token) must cost the portal, and TaskBridge, only a bounded
  amount. Each attempt bumps the counter of its `(scope, key)`; once a window holds
  `limit` attempts, `allow` answers False until the window ends. One UPDATE decides, so
  two web workers never both take the last attempt of a window.
- `FailureThrottle`, where only failed attempts count (guesses at the admin token). A
  right answer costs nothing, so staff who type their token correctly are never slowed
  down; but once a key's window holds `limit` failures, every attempt from it is refused
  until the window ends, the right answer included, or guessing would go on unhindered.
- Form tokens spent once (`FormTokenStore`): the create-task form of a card tab creates
  at most one task. A token's id is spent by inserting it into `used_form_tokens`; the
  primary key decides, so two web processes never both spend one id. A signed token is
  refused once older than its max age anyway, so rows older than that are deleted while
  spending (one indexed DELETE on `used_at`): the table holds at most an hour of forms.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.storage.locks import write_lock
from connector.storage.schema import admin_sessions, auth_throttle, portals, used_form_tokens


@dataclass(frozen=True)
class AdminSession:
    """One live session: staff (`portal_id` None) or one portal's admin."""

    id: str
    kind: str
    portal_id: int | None
    token_fingerprint: str | None
    portal_domain: str | None = None


class AdminSessionStore:
    """Start, find, revoke and purge admin sessions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, kind: str, *, lifetime: timedelta, portal_id: int | None = None,
              token_fingerprint: str | None = None, now: datetime | None = None) -> str:
        """A new session's id; expired rows are purged on the way."""
        now = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        with write_lock(self._engine), self._engine.begin() as conn:
            conn.execute(delete(admin_sessions).where(admin_sessions.c.expires_at <= now))
            conn.execute(insert(admin_sessions).values(
                id=session_id, kind=kind, portal_id=portal_id,
                token_fingerprint=token_fingerprint, created_at=now,
                expires_at=now + lifetime))
        return session_id

    def find_valid(self, session_id: str, now: datetime | None = None) -> AdminSession | None:
        """The session when it exists, is not revoked and has not expired; else None."""
        now = now or datetime.now(UTC)
        statement = (
            select(admin_sessions.c.id, admin_sessions.c.kind, admin_sessions.c.portal_id,
                   admin_sessions.c.token_fingerprint, portals.c.domain)
            .select_from(admin_sessions.outerjoin(
                portals, portals.c.id == admin_sessions.c.portal_id))
            .where(admin_sessions.c.id == session_id,
                   admin_sessions.c.revoked_at.is_(None),
                   admin_sessions.c.expires_at > now)
        )
        with self._engine.connect() as conn:
            row = conn.execute(statement).first()
        if row is None:
            return None
        return AdminSession(id=row.id, kind=row.kind, portal_id=row.portal_id,
                            token_fingerprint=row.token_fingerprint, portal_domain=row.domain)

    def revoke(self, session_id: str, now: datetime | None = None) -> bool:
        """End one session (sign-out); False when it was not live."""
        return self._revoke(admin_sessions.c.id == session_id, now) > 0

    def revoke_portal(self, portal_id: int, now: datetime | None = None) -> int:
        """End every session of one portal's admins (e.g. when the app is uninstalled)."""
        return self._revoke(admin_sessions.c.portal_id == portal_id, now)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete rows past their expiry; revoked rows go with them once expired."""
        now = now or datetime.now(UTC)
        with write_lock(self._engine), self._engine.begin() as conn:
            return conn.execute(
                delete(admin_sessions).where(admin_sessions.c.expires_at <= now)).rowcount

    def _revoke(self, which, now: datetime | None) -> int:  # type: ignore[no-untyped-def]
        now = now or datetime.now(UTC)
        with write_lock(self._engine), self._engine.begin() as conn:
            return conn.execute(
                update(admin_sessions)
                .where(which, admin_sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)).rowcount


# -- auth throttle -----------------------------------------------------------------------

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


# -- failure throttle --------------------------------------------------------------------

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
        return max(1, math.ceil((started + self.window - now).total_seconds()))

    def failed(self, key: str, now: datetime | None = None) -> int:
        """Count one failure; the seconds to wait when the window is now full, else 0."""
        if self.allow(key, now):
            return 0
        return max(1, math.ceil(self.window.total_seconds()))


# -- form tokens -------------------------------------------------------------------------

TOKEN_ID_MAX = 64


class FormTokenStore:
    """Spent form-token ids, kept as long as a token of theirs could still be presented."""

    def __init__(self, engine: Engine, *, max_age: float) -> None:
        self._engine = engine
        self._max_age = timedelta(seconds=max_age)

    def spend(self, token_id: str, portal_id: int, now: datetime | None = None) -> bool:
        """Mark `token_id` used; False when it already was (nothing is changed then)."""
        now = now or datetime.now(UTC)
        try:
            with write_lock(self._engine), self._engine.begin() as conn:
                conn.execute(delete(used_form_tokens)
                             .where(used_form_tokens.c.used_at < now - self._max_age))
                conn.execute(insert(used_form_tokens).values(
                    token_id=token_id[:TOKEN_ID_MAX], portal_id=portal_id, used_at=now))
        except IntegrityError:
            return False
        return True
