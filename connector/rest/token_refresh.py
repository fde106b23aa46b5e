"""Refreshing a portal's OAuth tokens after a 401 `expired_token`, once for everyone.

Callers pass the `token_version` their failed call used. Under the per-portal locks
(threads, then processes) the portal is read again: if its version moved on, somebody
already refreshed and the caller just uses the stored pair. Otherwise this caller asks
the OAuth server, and the new pair is stored (encrypted, compare-and-swap on the version)
before anybody uses it. `invalid_grant` marks the portal `needs_reinstall`.
"""

from __future__ import annotations

import logging

import requests

from connector.rest.errors import AuthError, ReinstallRequired, TransportError
from connector.rest.oauth import OAuthError, exchange_refresh_token
from connector.rest.refresh_lock import process_lock, thread_lock
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import NEEDS_REINSTALL, Portal

log = logging.getLogger("connector.rest")


def reinstall_error(portal: Portal, method: str = "") -> ReinstallRequired:
    reason = portal.state_reason or "the refresh token was rejected"
    return ReinstallRequired(
        f"portal {portal.domain} needs the app reinstalled ({reason}); no request sent",
        method=method, code="invalid_grant",
    )


class TokenRefresher:
    """Single-flight refresh of one portal's token pair."""

    def __init__(
        self, storage: Storage, settings: Settings, member_id: str,
        session: requests.Session | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.member_id = member_id
        self.session = session
        self.refreshes = 0  # OAuth round trips this refresher made

    def refresh(self, stale_version: int) -> Portal:
        """A portal whose tokens are newer than `stale_version`; refreshes only if needed."""
        store = self.storage.portals
        with thread_lock(self.storage.engine, self.member_id):
            portal = self._fresh_or_none(stale_version)
            if portal is not None:
                return portal
            with process_lock(self.storage.engine, self.member_id, self.settings.http_timeout):
                portal = self._fresh_or_none(stale_version)
                if portal is not None:
                    return portal
                self._exchange(store.get(self.member_id))
                return store.get(self.member_id)

    def _fresh_or_none(self, stale_version: int) -> Portal | None:
        portal = self.storage.portals.get(self.member_id)
        if portal.state == NEEDS_REINSTALL:
            raise reinstall_error(portal)
        return portal if portal.token_version != stale_version else None

    def _exchange(self, portal: Portal) -> None:
        store = self.storage.portals
        self.refreshes += 1
        try:
            grant = exchange_refresh_token(
                self.settings, portal.refresh_token, session=self.session
            )
        except OAuthError as exc:
            if exc.needs_reinstall:
                if store.get(self.member_id).token_version != portal.token_version:
                    return  # a process outside our locks rotated first; its pair stands
                store.mark_needs_reinstall(self.member_id, "refresh token rejected (invalid_grant)")
                log.error("portal %s: refresh token rejected; needs reinstall", self.member_id)
                raise reinstall_error(store.get(self.member_id)) from None
            if exc.code in ("unreachable", "bad_answer"):
                raise TransportError(
                    f"OAuth server: {exc.code}", code=exc.code, maybe_delivered=False
                ) from None
            raise AuthError(f"OAuth server refused the refresh: {exc.description}",
                            code=exc.code) from None
        if grant.member_id != self.member_id:
            raise AuthError("OAuth server answered for another portal", code="member_mismatch")
        stored = store.rotate_tokens(
            self.member_id, expected_version=portal.token_version,
            access_token=grant.access_token, refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
        )
        log.info("portal %s: tokens refreshed (stored=%s)", self.member_id, stored)
