"""Admin-page sessions kept on the server, so that signing out or changing the admin token
ends them.

The browser's cookie names a row here (signed, so nobody can guess one). A request is let
in only while its row exists, is not revoked and has not expired; `find_valid` decides
that with one SELECT by primary key (joined to the portal by its primary key, for the
domain allowed to frame a portal admin's pages). Staff rows carry a fingerprint of the
admin token they were started with; comparing it with the current one is the caller's
job, and the token itself is never stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from connector.storage.locks import write_lock
from connector.storage.schema import admin_sessions, portals


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
