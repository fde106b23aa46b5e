"""Asking the portal whether the user behind an install grant is an administrator.

Every user who opens the app receives tokens, so a refresh token that the OAuth server
accepts proves only that *some* user of the portal sent it. Before an install stores
anything, the token it was just granted calls `user.admin` at the endpoint the OAuth
server named. Nothing here touches the database: the client is built from the grant.
"""

from __future__ import annotations

from connector.rest.auth import Target
from connector.rest.client import PortalClient
from connector.rest.errors import AuthError
from connector.rest.method_pauses import MethodPauses
from connector.rest.oauth import TokenGrant
from connector.rest.rate_budget import MemoryRateBudget
from connector.rest.transport import RestTransport
from connector.settings import Settings


class GrantAuth:
    """A fresh grant's access token at an endpoint already checked by the endpoint policy.

    It is never refreshed (it is seconds old) and never follows the portal elsewhere:
    an install answers only from the address the OAuth server named.
    """

    def __init__(self, grant: TokenGrant, endpoint: str) -> None:
        self.portal_key = grant.member_id
        self._target = Target(endpoint, grant.access_token)

    def target(self, method: str) -> Target:
        return self._target

    def renew(self, stale: Target, method: str) -> None:
        raise AuthError("the install's fresh token was refused", method=method,
                        code="expired_token")

    def moved(self, endpoint: str) -> None:
        raise AuthError("the portal redirected the install's check elsewhere", method="",
                        code="moved")


def grant_client(settings: Settings, grant: TokenGrant, endpoint: str) -> PortalClient:
    """A client acting as the grant's user, with a budget of its own (nothing stored)."""
    return PortalClient(
        GrantAuth(grant, endpoint),  # type: ignore[arg-type]
        budget=MemoryRateBudget(2.0, 50),
        pauses=MethodPauses(grant.member_id),
        transport=RestTransport(settings.http_timeout),
    )


def is_portal_admin(settings: Settings, grant: TokenGrant, endpoint: str) -> bool:
    """`user.admin` as the grant's user; raises `BitrixError` if the portal cannot say."""
    client = grant_client(settings, grant, endpoint)
    try:
        answer = client.call("user.admin", {}, write=False)
    finally:
        client.close()
    # The portal answers a JSON boolean; anything else proves nothing.
    return answer.result is True
