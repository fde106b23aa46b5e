"""The OAuth server: access tokens that expire, refresh tokens that rotate."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from emulator.clock import Clock
from emulator.errors import OAuthError, RestError

REFRESH_LIFETIME = 180 * 24 * 3600


@dataclass
class Grant:
    client_id: str
    user_id: int
    expires_at: float


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires: int
    expires_in: int
    user_id: int


class TokenStore:
    """Issues, checks, refreshes and revokes the tokens of installed apps."""

    def __init__(self, clock: Clock, access_lifetime: int = 3600) -> None:
        self.clock = clock
        self.access_lifetime = access_lifetime
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, client_id: str, user_id: int) -> TokenPair:
        now = self.clock.now()
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        expires_at = now + self.access_lifetime
        with self._lock:
            self._access[access] = Grant(client_id, user_id, expires_at)
            self._refresh[refresh] = Grant(client_id, user_id, now + REFRESH_LIFETIME)
        return TokenPair(access, refresh, int(expires_at), self.access_lifetime, user_id)

    def authenticate(self, access_token: str) -> Grant:
        """The grant behind a token, or the 401 a portal answers."""
        with self._lock:
            grant = self._access.get(access_token)
        if grant is None:
            raise RestError("invalid_token", "Unable to get application by token", 401)
        if grant.expires_at <= self.clock.now():
            raise RestError("expired_token", "The access token provided has expired.", 401)
        return grant

    def refresh(self, client_id: str, refresh_token: str) -> TokenPair:
        """Trade a refresh token for a new pair; the old refresh token dies."""
        with self._lock:
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.expires_at <= self.clock.now():
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if grant.client_id != client_id:
                raise OAuthError("invalid_grant", "Refresh token belongs to another client")
            del self._refresh[refresh_token]
        return self.issue(client_id, grant.user_id)

    def expire_access_tokens(self) -> None:
        """Make every access token expired now (tests of the 401 -> refresh path)."""
        now = self.clock.now()
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, now - 1)

    def revoke(self, client_id: str) -> None:
        with self._lock:
            for store in (self._access, self._refresh):
                for token in [t for t, g in store.items() if g.client_id == client_id]:
                    del store[token]

    def clear(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh.clear()


def token_response(pair: TokenPair, identity: dict[str, Any], scope: str) -> dict[str, Any]:
    """The JSON body of ``/oauth/token/``."""
    return {
        "access_token": pair.access_token,
        "expires": pair.expires,
        "expires_in": pair.expires_in,
        "scope": scope,
        "domain": identity["oauth_domain"],
        "server_endpoint": identity["server_endpoint"],
        "status": identity["status"],
        "client_endpoint": identity["client_endpoint"],
        "member_id": identity["member_id"],
        "user_id": pair.user_id,
        "refresh_token": pair.refresh_token,
    }
