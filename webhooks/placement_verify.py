"""Verifying who opened the app inside Bitrix24: the `AUTH_ID` of a placement request is
checked by calling `user.current` and `user.admin` with it at the portal's STORED
`client_endpoint` (never at an address the request names). No Flask in here."""

from __future__ import annotations

from dataclasses import dataclass

from connector.endpoint_policy import check_endpoint
from connector.errors import TaskBridgeError
from connector.method_pauses import MethodPauses
from connector.portal_store import INSTALLED, Portal
from connector.rate_budget import DatabaseRateBudget
from connector.rest_auth import Target
from connector.rest_client import PortalClient
from connector.rest_errors import AuthError, BitrixError
from connector.rest_transport import RestTransport
from connector.settings import Settings
from connector.storage import Storage


class PlacementRefused(TaskBridgeError):
    """A placement request TaskBridge will not serve; `status` and `code` for the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UserTokenAuth:
    """A portal user's own access token (from a placement), used as is: never refreshed."""

    def __init__(self, portal: Portal, access_token: str, settings: Settings) -> None:
        self.portal_key = portal.member_id
        self._endpoint = check_endpoint(portal.client_endpoint,
                                        allow_insecure=settings.allow_insecure_portals)
        self._token = access_token

    def target(self, method: str) -> Target:
        return Target(self._endpoint, self._token)

    def renew(self, stale: Target, method: str) -> None:
        raise AuthError("the user's placement token expired; reopen the app", method=method,
                        code="expired_token")

    def moved(self, endpoint: str) -> None:
        raise AuthError("the portal moved; reinstall the app", method="", code="moved")


@dataclass(frozen=True)
class PortalUser:
    portal: Portal
    user_id: int
    name: str
    is_admin: bool
    client: PortalClient


def user_client(storage: Storage, settings: Settings, portal: Portal,
                auth_id: str) -> PortalClient:
    return PortalClient(
        UserTokenAuth(portal, auth_id, settings),  # type: ignore[arg-type]
        budget=DatabaseRateBudget(storage.engine, portal.member_id, portal.rate_drain,
                                  portal.rate_burst),
        pauses=MethodPauses(portal.member_id, storage.engine),
        transport=RestTransport(settings.http_timeout),
    )


def verify_user(storage: Storage, settings: Settings, member_id: str,
                auth_id: str) -> PortalUser:
    """The installed portal and the user its `AUTH_ID` belongs to, or `PlacementRefused`."""
    portal = storage.portals.find(member_id) if member_id else None
    if portal is None or portal.state != INSTALLED:
        raise PlacementRefused(403, "unknown_portal",
                               "TaskBridge is not installed on this portal.")
    if not auth_id:
        raise PlacementRefused(401, "no_auth", "The placement request carries no AUTH_ID.")
    client = user_client(storage, settings, portal, auth_id)
    try:
        answer = client.batch({"me": ("user.current", {}), "admin": ("user.admin", {})})
    except BitrixError as exc:
        raise PlacementRefused(401, "auth_refused",
                               f"The portal did not accept the placement's token ({exc.code})"
                               ) from None
    if answer.errors or not isinstance(answer.results.get("me"), dict):
        raise PlacementRefused(401, "auth_refused", "The portal did not accept the token.")
    me = answer.results["me"]
    name = " ".join(str(me.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
    return PortalUser(portal=portal, user_id=int(me.get("ID") or 0), name=name,
                      is_admin=answer.results.get("admin") in (True, "true", "Y", 1, "1"),
                      client=client)
