"""Verifying who opened the app inside Bitrix24: the `AUTH_ID` of a placement request is
checked by calling `user.current` and `user.admin` with it at the portal's STORED
`client_endpoint` (never at an address the request names). No Flask in here."""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import TaskBridgeError
from connector.portal_store import INSTALLED, Portal
from connector.rest_client import PortalClient
from connector.rest_errors import BitrixError
from connector.settings import Settings
from connector.storage import Storage
from connector.user_client import user_client


class PlacementRefused(TaskBridgeError):
    """A placement request TaskBridge will not serve; `status` and `code` for the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class PortalUser:
    portal: Portal
    user_id: int
    name: str
    is_admin: bool
    client: PortalClient


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
