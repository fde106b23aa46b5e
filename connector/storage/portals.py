"""The installation store: portals, their encrypted tokens and their settings; and the
tokens of the portal's users who opened TaskBridge (`UserTokenStore`).

Tokens are encrypted with `TokenCipher`; the application token is kept only as a
SHA-256 digest and compared in constant time. Token rotation is a compare-and-swap
on `token_version`, so a refresh that lost a race never overwrites a fresher pair.

Users' tokens: opening a task fires no event, and the unviewed marker answers for the
calling user only: with a user's own token TaskBridge can ask whether that user has seen
the tasks they are responsible for (`connector.scheduler.views.poll_views`). The access
token is saved only after the portal named its user (`user.current` in the placement's
batch); the refresh token came alongside, unchecked. It is checked on its first use, for
free: the OAuth server's answer to a refresh names `user_id` and `member_id`, and a token
naming anyone else is forgotten, never saved.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, RowMapping, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connector.errors import PortalNotFound
from connector.storage import counters as metric_counters
from connector.storage.schema import (
    crm_item_statuses,
    journal,
    portals,
    robot_waits,
    task_snapshots,
    user_tokens,
    write_log,
)
from connector.storage.token_cipher import TokenCipher

INSTALLED = "installed"
INSTALLING = "installing"
NEEDS_REINSTALL = "needs_reinstall"
UNINSTALLED = "uninstalled"


def _now() -> datetime:
    return datetime.now(UTC)


def token_digest(application_token: str) -> str:
    return hashlib.sha256(application_token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Installation:
    """What an install hands over; tokens in clear text, never logged (see __repr__)."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str = ""
    scope: str = ""
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: datetime | None = None
    application_token: str = field(default="", repr=False)
    language: str = "en"
    auth_mode: str = "app"
    webhook_url: str = field(default="", repr=False)


@dataclass(frozen=True)
class Portal:
    """A stored portal with its tokens decrypted."""

    id: int
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    auth_mode: str
    scope: str
    state: str
    state_reason: str | None
    language: str
    settings: dict[str, Any]
    token_version: int
    token_expires_at: datetime | None
    token_refreshed_at: datetime | None
    installed_at: datetime | None
    last_event_at: datetime | None
    rate_drain: float
    rate_burst: int
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    webhook_url: str = field(default="", repr=False)
    application_token_hash: str | None = field(default=None, repr=False)
    robots: dict[str, Any] | None = None  # the automation rules registered (`portals.robots`)

    def application_token_matches(self, candidate: str) -> bool:
        if not self.application_token_hash or not candidate:
            return False
        return hmac.compare_digest(self.application_token_hash, token_digest(candidate))


class PortalStore:
    """save / find / rotate_tokens / mark_* / delete.

    The application token is written only by `save`, which only a verified
    administrator's install calls: no event can replace it."""

    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def save(self, install: Installation) -> Portal:
        """Insert or refresh a portal from an install; a re-install keeps its settings."""
        now = _now()
        values: dict[str, Any] = {
            "domain": install.domain,
            "client_endpoint": install.client_endpoint,
            "server_endpoint": install.server_endpoint,
            "auth_mode": install.auth_mode,
            "scope": install.scope,
            "language": install.language or "en",
            "access_token_enc": self._seal(install.access_token),
            "refresh_token_enc": self._seal(install.refresh_token),
            "webhook_url_enc": self._seal(install.webhook_url),
            "token_expires_at": install.expires_at,
            "token_refreshed_at": now,
            "state": INSTALLING,
            "state_reason": None,
            "updated_at": now,
            "uninstalled_at": None,
        }
        if install.application_token:
            values["application_token_hash"] = token_digest(install.application_token)
        with self._engine.begin() as conn:
            row = conn.execute(
                select(portals.c.id, portals.c.token_version).where(
                    portals.c.member_id == install.member_id
                )
            ).first()
            if row is None:
                conn.execute(
                    portals.insert().values(
                        member_id=install.member_id,
                        token_version=1,
                        settings={},
                        rate_drain=2.0,
                        rate_burst=50,
                        installed_at=now,
                        **values,
                    )
                )
            else:
                conn.execute(
                    update(portals)
                    .where(portals.c.id == row.id)
                    .values(token_version=row.token_version + 1, **values)
                )
        return self.get(install.member_id)

    def find(self, member_id: str) -> Portal | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(portals).where(portals.c.member_id == member_id)).first()
        return self._portal(row._mapping) if row is not None else None

    def by_id(self, portal_id: int) -> Portal | None:
        """The portal stored under this row id (journal rows and snapshots name it so)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(portals).where(portals.c.id == portal_id)).first()
        return self._portal(row._mapping) if row is not None else None

    def get(self, member_id: str) -> Portal:
        portal = self.find(member_id)
        if portal is None:
            raise PortalNotFound(member_id)
        return portal

    def all(self) -> list[Portal]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(portals).order_by(portals.c.id)).all()
        return [self._portal(row._mapping) for row in rows]

    def mark_installed(self, member_id: str) -> None:
        self._set_state(member_id, INSTALLED, None)

    def mark_needs_reinstall(self, member_id: str, reason: str) -> None:
        self._set_state(member_id, NEEDS_REINSTALL, reason)

    def mark_uninstalled(self, member_id: str) -> None:
        self._set_state(member_id, UNINSTALLED, None, uninstalled_at=_now())

    def update_settings(self, member_id: str, settings: dict[str, Any]) -> None:
        self._update(member_id, settings=settings)

    def set_rate_limits(self, member_id: str, **rates: float) -> None:
        """The portal's REST budget (`rate_drain`, `rate_burst`), as set by support."""
        self._update(member_id, stamp=False, **rates)

    def save_settings(self, portal_id: int, settings: dict[str, Any], *, now: datetime,
                      change_row: dict[str, Any]) -> int:
        """Store the portal's settings and journal the change (`change_row`, a journal row)
        in one transaction; returns the journal row's id."""
        with self._engine.begin() as conn:
            conn.execute(update(portals).where(portals.c.id == portal_id)
                         .values(settings=settings, updated_at=now))
            return conn.execute(
                journal.insert().values(**change_row).returning(journal.c.id)
            ).scalar_one()

    def set_robots(self, member_id: str, record: dict[str, Any]) -> None:
        """What `connector.portals.robots` registered on the portal, or why nothing."""
        self._update(member_id, stamp=False, robots=record)

    def update_endpoint(self, member_id: str, domain: str, client_endpoint: str) -> None:
        self._update(member_id, domain=domain, client_endpoint=client_endpoint)

    def touch_event(self, member_id: str, when: datetime) -> None:
        self._update(member_id, last_event_at=when, stamp=False)

    def rotate_tokens(
        self,
        member_id: str,
        *,
        expected_version: int,
        access_token: str,
        refresh_token: str,
        expires_at: datetime | None,
    ) -> bool:
        """Store a refreshed pair only if nobody rotated since `expected_version` was read."""
        now = _now()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(portals)
                .where(
                    portals.c.member_id == member_id,
                    portals.c.token_version == expected_version,
                )
                .values(
                    access_token_enc=self._seal(access_token),
                    refresh_token_enc=self._seal(refresh_token),
                    token_expires_at=expires_at,
                    token_version=expected_version + 1,
                    token_refreshed_at=now,
                    updated_at=now,
                )
            )
            if result.rowcount == 1:
                metric_counters.bump(conn, {(metric_counters.TOKEN_REFRESHES,
                                             metric_counters.labels(member_id=member_id)): 1})
        return result.rowcount == 1

    def delete(self, member_id: str) -> None:
        """Remove the portal and every row that belongs to it."""
        with self._engine.begin() as conn:
            portal_id = conn.execute(
                select(portals.c.id).where(portals.c.member_id == member_id)
            ).scalar()
            if portal_id is None:
                return
            for table in (write_log, task_snapshots, crm_item_statuses, robot_waits, journal):
                conn.execute(delete(table).where(table.c.portal_id == portal_id))
            conn.execute(delete(journal).where(journal.c.member_id == member_id))
            conn.execute(delete(portals).where(portals.c.id == portal_id))

    def _set_state(self, member_id: str, state: str, reason: str | None, **extra: Any) -> None:
        self._update(member_id, state=state, state_reason=reason, **extra)

    def _update(self, member_id: str, *, stamp: bool = True, **values: Any) -> None:
        if stamp:
            values["updated_at"] = _now()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(portals).where(portals.c.member_id == member_id).values(**values)
            )
        if result.rowcount == 0:
            raise PortalNotFound(member_id)

    def _seal(self, secret: str) -> str | None:
        return self._cipher.encrypt(secret) if secret else None

    def _open(self, sealed: str | None) -> str:
        return self._cipher.decrypt(sealed) if sealed else ""

    def _portal(self, row: RowMapping) -> Portal:
        return Portal(
            id=row["id"],
            member_id=row["member_id"],
            domain=row["domain"],
            client_endpoint=row["client_endpoint"],
            server_endpoint=row["server_endpoint"],
            auth_mode=row["auth_mode"],
            scope=row["scope"],
            state=row["state"],
            state_reason=row["state_reason"],
            language=row["language"],
            settings=dict(row["settings"] or {}),
            token_version=row["token_version"],
            token_expires_at=row["token_expires_at"],
            token_refreshed_at=row["token_refreshed_at"],
            installed_at=row["installed_at"],
            last_event_at=row["last_event_at"],
            rate_drain=row["rate_drain"],
            rate_burst=row["rate_burst"],
            access_token=self._open(row["access_token_enc"]),
            refresh_token=self._open(row["refresh_token_enc"]),
            webhook_url=self._open(row["webhook_url_enc"]),
            application_token_hash=row["application_token_hash"],
            robots=row["robots"],
        )


class UserTokenStore:
    """Tokens of portal users who opened TaskBridge, encrypted like the portal's own."""

    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def save(self, portal_id: int, user_id: int, access_token: str, refresh_token: str) -> None:
        values = {"access_token_enc": self._cipher.encrypt(access_token),
                  "refresh_token_enc": self._cipher.encrypt(refresh_token),
                  "updated_at": datetime.now(UTC)}
        with self._engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(
                insert(user_tokens)
                .values(portal_id=portal_id, user_id=user_id, **values)
                .on_conflict_do_update(index_elements=["portal_id", "user_id"], set_=values)
            )

    def for_users(self, portal_id: int, user_ids: set[int]) -> dict[int, tuple[str, str]]:
        if not user_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(user_tokens).where(user_tokens.c.portal_id == portal_id,
                                          user_tokens.c.user_id.in_(sorted(user_ids)))
            ).all()
        return {row.user_id: (self._cipher.decrypt(row.access_token_enc),
                              self._cipher.decrypt(row.refresh_token_enc)) for row in rows}

    def forget(self, portal_id: int, user_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(user_tokens).where(user_tokens.c.portal_id == portal_id,
                                                   user_tokens.c.user_id == user_id))
