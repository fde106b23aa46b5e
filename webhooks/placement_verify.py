"""Verifying who opened the app inside Bitrix24: the `AUTH_ID` of a placement request is
checked by calling `user.current` and `user.admin` with it at the portal's STORED
`client_endpoint` (never at an address the request names). The tab's own reads, made
with the same token, ride in the same batch: a placement open is one REST request.
No Flask in here.

What an unauthenticated caller may cost the portal: each token the portal refuses
counts against the portal's window of `ATTEMPTS_PER_WINDOW` refusals per
`WINDOW_SECONDS` (`FailureThrottle`, scope "placement_auth", keyed by member_id, shared
by every process); once it is full, a token TaskBridge has not seen verified gets 429
with `Retry-After` and no REST call. Tokens the portal accepts never count, so a busy
portal's many users opening the app cost the window nothing. A token the portal
accepted is remembered (its SHA-256, in this process, for the token's lifetime), so while
an attacker fills the window with made-up tokens, everyone who opened the app in the
last hour keeps working; only a user with a brand-new token waits at most one window.
Every open still asks the portal with the token itself (remembering only spares the
throttle, never the check), and a refused token is forgotten at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.rest.batch import BatchResult
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.rest.user_client import user_client
from connector.settings import Settings
from connector.storage.access import FailureThrottle
from connector.storage.engines import Storage
from connector.storage.portals import INSTALLED, Portal
from webhooks.errors import PlacementRefused

THROTTLE_SCOPE = "placement_auth"
ATTEMPTS_PER_WINDOW = 20
WINDOW_SECONDS = 60
TOKEN_LIFETIME = 3600  # a portal's access token lives an hour
RESERVED_KEYS = ("me", "admin")

Commands = Mapping[str, tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class PortalUser:
    portal: Portal
    user_id: int
    name: str
    is_admin: bool
    client: PortalClient
    checks: BatchResult  # the tab's reads, made with the user's own token


class VerifiedTokens:
    """Hashes of tokens the portal accepted, until they expire; bounded, oldest out first."""

    def __init__(self, size: int = 4096) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def key(member_id: str, auth_id: str) -> str:
        return hashlib.sha256(f"{member_id}\0{auth_id}".encode()).hexdigest()

    def knows(self, key: str) -> bool:
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= time.monotonic():
                del self._until[key]
                until = None
            return until is not None

    def remember(self, key: str, lifetime: float) -> None:
        with self._lock:
            self._until[key] = time.monotonic() + lifetime
            self._until.move_to_end(key)
            while len(self._until) > self._size:
                self._until.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._until.pop(key, None)


def find_portal(storage: Storage, member_id: str) -> Portal:
    """The installed portal a placement names, or `PlacementRefused` (no REST call)."""
    portal = storage.portals.find(member_id) if member_id else None
    if portal is None or portal.state != INSTALLED:
        raise PlacementRefused(403, "unknown_portal",
                               "TaskBridge is not installed on this portal.")
    return portal


def verify_user(storage: Storage, settings: Settings, portal: Portal, auth_id: str,
                checks: Commands | None = None, *, seen: VerifiedTokens | None = None,
                lifetime: float = TOKEN_LIFETIME) -> PortalUser:
    """The user `auth_id` belongs to, with `checks` run as them, or `PlacementRefused`."""
    if not auth_id:
        raise PlacementRefused(401, "no_auth", "The placement request carries no AUTH_ID.")
    seen = seen if seen is not None else VerifiedTokens()
    key = seen.key(portal.member_id, auth_id)
    throttle = FailureThrottle(storage.engine, THROTTLE_SCOPE, limit=ATTEMPTS_PER_WINDOW,
                               window=WINDOW_SECONDS)
    if not seen.knows(key) and (wait := throttle.retry_after(portal.member_id)):
        raise PlacementRefused(
            429, "too_many_attempts",
            "Too many refused placement tokens for this portal: try again shortly.",
            retry_after=wait)
    try:
        user = _ask_portal(storage, settings, portal, auth_id, checks or {})
    except PlacementRefused:
        seen.forget(key)
        throttle.failed(portal.member_id)
        raise
    seen.remember(key, max(0.0, min(lifetime, TOKEN_LIFETIME)))
    return user


def _ask_portal(storage: Storage, settings: Settings, portal: Portal, auth_id: str,
                checks: Commands) -> PortalUser:
    client = user_client(storage, settings, portal, auth_id)
    commands = {key: command for key, command in checks.items() if key not in RESERVED_KEYS}
    try:
        answer = client.batch({"me": ("user.current", {}), "admin": ("user.admin", {}),
                               **commands})
    except BitrixError as exc:
        raise PlacementRefused(401, "auth_refused",
                               f"The portal did not accept the placement's token ({exc.code})"
                               ) from exc
    me = answer.results.get("me")
    if "me" in answer.errors or "admin" in answer.errors or not isinstance(me, dict):
        raise PlacementRefused(401, "auth_refused", "The portal did not accept the token.")
    name = " ".join(str(me.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
    return PortalUser(portal=portal, user_id=int(me.get("ID") or 0), name=name,
                      is_admin=answer.results.get("admin") in (True, "true", "Y", 1, "1"),
                      client=client, checks=answer)
