"""REST calls made as one portal user, with the tokens a placement handed over."""

from __future__ import annotations

from connector.rest.auth import Target
from connector.rest.client import PortalClient
from connector.rest.endpoint_policy import check_endpoint
from connector.rest.errors import AuthError
from connector.rest.method_pauses import MethodPauses
from connector.rest.rate_budget import DatabaseRateBudget
from connector.rest.transport import RestTransport
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import Portal


class UserTokenAuth:
    """A portal user's own access token, used as is; an expired one raises `AuthError`."""

    def __init__(self, portal: Portal, access_token: str, settings: Settings) -> None:
        self.portal_key = portal.member_id
        self._endpoint = check_endpoint(portal.client_endpoint,
                                        allow_insecure=settings.allow_insecure_portals)
        self._token = access_token

    def target(self, method: str) -> Target:
        return Target(self._endpoint, self._token)

    def renew(self, stale: Target, method: str) -> None:
        raise AuthError("the user's token expired", method=method, code="expired_token")

    def moved(self, endpoint: str) -> None:
        raise AuthError("the portal moved; reinstall the app", method="", code="moved")


def user_client(storage: Storage, settings: Settings, portal: Portal,
                access_token: str) -> PortalClient:
    """A client acting as the token's user, inside the portal's shared REST budget."""
    return PortalClient(
        UserTokenAuth(portal, access_token, settings),  # type: ignore[arg-type]
        budget=DatabaseRateBudget(storage.engine, portal.member_id, portal.rate_drain,
                                  portal.rate_burst),
        pauses=MethodPauses(portal.member_id, storage.engine),
        transport=RestTransport(settings.http_timeout),
    )
