"""Where a call goes and with what credentials: an installed app's OAuth tokens from the
portal store, or an incoming webhook URL. Calls go only to the stored `client_endpoint`
(or the webhook's own address), checked by the endpoint policy."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from connector.rest.endpoint_policy import InsecurePortal, check_endpoint
from connector.rest.errors import AuthError, PortalGone, ReinstallRequired
from connector.rest.token_refresh import TokenRefresher, reinstall_error
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import NEEDS_REINSTALL, UNINSTALLED, Portal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One request's address and credentials; `version` names the token pair used."""

    endpoint: str
    access_token: str | None = field(default=None, repr=False)
    version: int = 0

    def url(self, method: str) -> str:
        return f"{self.endpoint}{method}"


def endpoint_of(location: str) -> str:
    """The REST base of a redirect target: everything before the method segment."""
    path_only = location.split("?", 1)[0]
    return path_only[: path_only.rfind("/") + 1]


def checked_move(portal_key: str, endpoint: str, allow_insecure: bool) -> str:
    """The new address a portal's 302 names, if it passes the install-time policy (its
    name resolved too); otherwise the move is refused, logged, and nothing is sent."""
    try:
        return check_endpoint(endpoint, allow_insecure=allow_insecure, resolve=True)
    except InsecurePortal as refused:
        log.warning("portal %s redirected to an address it may not move to: %s",
                    portal_key, refused)
        # Not transient: repeating the request would only be redirected there again.
        raise AuthError(f"refused to follow the portal's redirect: {refused}", method="",
                        code="moved") from None


class WebhookAuth:
    """An incoming webhook `https://{domain}/rest/{user_id}/{code}/`; the code is the secret."""

    def __init__(self, url: str, *, allow_insecure: bool, portal_key: str | None = None) -> None:
        self._endpoint = check_endpoint(url, allow_insecure=allow_insecure)
        self.allow_insecure = allow_insecure
        parts = urlsplit(self._endpoint)
        segments = [s for s in parts.path.split("/") if s]
        user = segments[1] if len(segments) >= 2 else "?"
        self.portal_key = portal_key or f"{parts.hostname}:{parts.port or ''}/rest/{user}"

    def target(self, method: str) -> Target:
        return Target(self._endpoint)

    def renew(self, stale: Target, method: str) -> None:
        raise AuthError("an incoming webhook cannot be refreshed", method=method,
                        code="expired_token")

    def moved(self, endpoint: str) -> None:
        self._endpoint = checked_move(self.portal_key, endpoint, self.allow_insecure)


class AppAuth:
    """An installed app: tokens from storage, refreshed single-flight on `expired_token`."""

    def __init__(
        self, storage: Storage, settings: Settings, member_id: str,
        session: requests.Session | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.portal_key = member_id
        self.refresher = TokenRefresher(storage, settings, member_id, session)
        self._portal: Portal = storage.portals.get(member_id)
        self._lock = threading.Lock()

    @property
    def portal(self) -> Portal:
        with self._lock:
            return self._portal

    def target(self, method: str) -> Target:
        portal = self.portal
        if portal.state == NEEDS_REINSTALL:
            raise reinstall_error(portal, method)
        if portal.state == UNINSTALLED:
            raise PortalGone(f"portal {portal.domain} uninstalled the app; no request sent",
                             method=method, code="uninstalled")
        endpoint = check_endpoint(
            portal.client_endpoint, allow_insecure=self.settings.allow_insecure_portals
        )
        return Target(endpoint, portal.access_token, portal.token_version)

    def renew(self, stale: Target, method: str) -> None:
        try:
            fresh = self.refresher.refresh(stale.version)
        except ReinstallRequired:
            self._remember(self.storage.portals.get(self.portal_key))
            raise
        self._remember(fresh)

    def _remember(self, portal: Portal) -> None:
        with self._lock:
            self._portal = portal

    def moved(self, endpoint: str) -> None:
        endpoint = checked_move(self.portal_key, endpoint, self.settings.allow_insecure_portals)
        host = urlsplit(endpoint).netloc
        self.storage.portals.update_endpoint(self.portal_key, host, endpoint)
        self._remember(self.storage.portals.get(self.portal_key))
