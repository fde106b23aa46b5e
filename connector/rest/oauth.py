"""The OAuth server's one verb TaskBridge needs: exchange a refresh token for a new pair.

Its answer is also the only trustworthy statement of *which* portal a token belongs to
(`member_id`, `domain`, `client_endpoint`), so installs are verified through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connector.errors import RestError
from connector.settings import Settings


class OAuthError(RestError):
    """The OAuth server refused or could not be reached; `code` is its error code."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"OAuth server: {code}" + (f": {description}" if description else ""))
        self.code = code
        self.description = description

    @property
    def needs_reinstall(self) -> bool:
        return self.code == "invalid_grant"


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str
    scope: str
    user_id: int | None


def exchange_refresh_token(
    settings: Settings, refresh_token: str, *, session: requests.Session | None = None
) -> TokenGrant:
    """GET {oauth_url}/oauth/token/?grant_type=refresh_token...; raises `OAuthError`."""
    params = {
        "grant_type": "refresh_token",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret.get_secret_value(),
        "refresh_token": refresh_token,
    }
    http = session or requests
    try:
        response = http.get(
            f"{settings.oauth_url}/oauth/token/", params=params, timeout=settings.http_timeout
        )
    except requests.RequestException as exc:
        raise OAuthError("unreachable", type(exc).__name__) from None
    try:
        body: Any = response.json()
    except ValueError:
        raise OAuthError("bad_answer", f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(body, dict):
        raise OAuthError("bad_answer", "not a JSON object")
    if "error" in body or response.status_code >= 400:
        raise OAuthError(str(body.get("error") or response.status_code),
                         str(body.get("error_description", "")))
    try:
        return TokenGrant(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(body.get("expires_in", 3600))),
            member_id=str(body["member_id"]),
            domain=str(body.get("domain", "")),
            client_endpoint=str(body["client_endpoint"]),
            server_endpoint=str(body.get("server_endpoint", "")),
            scope=str(body.get("scope", "")),
            user_id=int(body["user_id"]) if str(body.get("user_id", "")).isdigit() else None,
        )
    except (KeyError, ValueError) as exc:
        raise OAuthError("bad_answer", f"missing or bad field {exc}") from None
