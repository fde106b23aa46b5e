"""`AppAuth` and `WebhookAuth` on their own: where a call goes and with which token, one
refresh on `expired_token` and the call repeated with the new token, no request at all for
a portal that needs reinstalling or left, and a 302 adopted only if the policy allows it.
The portal and the OAuth server are `responses`."""

from __future__ import annotations

import json

import pytest
import responses

from connector.rest.auth import AppAuth, WebhookAuth, endpoint_of
from connector.rest.client import PortalClient
from connector.rest.endpoint_policy import InsecurePortal
from connector.rest.errors import AuthError, ExpiredToken, PortalGone, ReinstallRequired
from connector.rest.method_pauses import MethodPauses
from connector.rest.rate_budget import MemoryRateBudget
from connector.rest.retry_policy import RetryPolicy
from connector.rest.transport import RestTransport
from tests.connector.rest.stored_portal import (
    ACCESS,
    ENDPOINT,
    MEMBER_ID,
    TOKEN_URL,
    grant,
)

EXPIRED = {"error": "expired_token", "error_description": "The access token provided has expired."}
USER = {"result": {"ID": "1"}, "time": {}}


def client_with(auth: AppAuth | WebhookAuth) -> PortalClient:
    """The client's attempt loop around `auth`, nothing shared with other tests."""
    return PortalClient(
        auth, budget=MemoryRateBudget(1000.0, 1000), pauses=MethodPauses(auth.portal_key),
        transport=RestTransport(5), policy=RetryPolicy(max_attempts=1),
    )


def sent_tokens(url: str) -> list[str | None]:
    """The `auth` each request to `url` carried."""
    return [json.loads(call.request.body or b"{}").get("auth")
            for call in responses.calls if call.request.url == url]


def test_a_target_is_the_stored_endpoint_token_and_version(storage_with_portal,
                                                           client_settings):
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)
    target = auth.target("user.current")
    assert target.url("user.current") == f"{ENDPOINT}user.current"
    assert target.access_token == ACCESS
    assert target.version == storage_with_portal.portals.get(MEMBER_ID).token_version
    assert ACCESS not in repr(target)


@responses.activate
def test_an_expired_token_is_refreshed_once_and_the_call_repeated(storage_with_portal,
                                                                  client_settings):
    responses.post(f"{ENDPOINT}user.current", status=401, json=EXPIRED)
    responses.post(f"{ENDPOINT}user.current", json=USER)
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)

    assert client_with(auth).call("user.current").result == {"ID": "1"}

    assert sent_tokens(f"{ENDPOINT}user.current") == [ACCESS, "access-1"]
    assert auth.refresher.refreshes == 1
    assert auth.target("user.current").access_token == "access-1"


@responses.activate
def test_a_token_expired_again_after_the_refresh_is_not_refreshed_twice(
    storage_with_portal, client_settings
):
    responses.post(f"{ENDPOINT}user.current", status=401, json=EXPIRED)
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(ExpiredToken):
        client_with(auth).call("user.current")
    assert sent_tokens(f"{ENDPOINT}user.current") == [ACCESS, "access-1"]
    assert auth.refresher.refreshes == 1


@responses.activate
def test_renewing_a_target_someone_else_renewed_uses_their_pair(storage_with_portal,
                                                                client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    first = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)
    second = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)
    stale = second.target("user.current")

    first.renew(first.target("user.current"), "user.current")
    second.renew(stale, "user.current")

    assert second.target("user.current").access_token == "access-1"
    assert len(responses.calls) == 1


@responses.activate
def test_a_rejected_refresh_token_stops_every_later_call(storage_with_portal,
                                                         client_settings):
    responses.get(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(ReinstallRequired):
        auth.renew(auth.target("user.current"), "user.current")
    with pytest.raises(ReinstallRequired, match="no request sent"):
        auth.target("crm.deal.get")
    assert len(responses.calls) == 1


@pytest.mark.parametrize(("mark", "error"), [
    (lambda store: store.mark_uninstalled(MEMBER_ID), PortalGone),
    (lambda store: store.mark_needs_reinstall(MEMBER_ID, "refresh token revoked"),
     ReinstallRequired),
])
@responses.activate
def test_a_portal_that_left_or_needs_reinstalling_gets_no_request(
    storage_with_portal, client_settings, mark, error
):
    mark(storage_with_portal.portals)
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(error, match="no request sent"):
        client_with(auth).call("user.current")
    assert len(responses.calls) == 0


def test_a_move_is_stored_and_later_calls_go_there(storage_with_portal, client_settings):
    auth = AppAuth(storage_with_portal, client_settings(), MEMBER_ID)
    auth.moved("https://renamed.example.com/rest/")

    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert (stored.domain, stored.client_endpoint) == (
        "renamed.example.com", "https://renamed.example.com/rest/")
    assert auth.target("user.current").url("user.current") == (
        "https://renamed.example.com/rest/user.current")


def test_a_move_the_policy_refuses_is_not_adopted(storage_with_portal, client_settings):
    auth = AppAuth(storage_with_portal, client_settings(allow_insecure_portals=False),
                   MEMBER_ID)
    with pytest.raises(AuthError) as caught:
        auth.moved("http://renamed.example.com/rest/")
    assert caught.value.code == "moved"
    assert storage_with_portal.portals.get(MEMBER_ID).client_endpoint == ENDPOINT
    assert auth.target("user.current").url("x") == f"{ENDPOINT}x"


HOOK = "https://portal.example.com/rest/7/hook-code/"


def test_a_webhook_target_is_its_own_address_without_a_token():
    auth = WebhookAuth(HOOK, allow_insecure=False)
    target = auth.target("user.current")
    assert target.url("user.current") == f"{HOOK}user.current"
    assert target.access_token is None
    assert auth.portal_key == "portal.example.com:/rest/7"


def test_a_webhook_cannot_be_refreshed():
    auth = WebhookAuth(HOOK, allow_insecure=False)
    with pytest.raises(AuthError) as caught:
        auth.renew(auth.target("user.current"), "user.current")
    assert caught.value.code == "expired_token"


def test_a_webhook_on_plain_http_is_refused_unless_insecure_portals_are_allowed():
    with pytest.raises(InsecurePortal, match="https"):
        WebhookAuth("http://portal.example.com/rest/1/code/", allow_insecure=False)
    assert WebhookAuth("http://127.0.0.1:8000/rest/1/code", allow_insecure=True).target(
        "x").endpoint == "http://127.0.0.1:8000/rest/1/code/"


def test_a_webhook_moves_only_where_the_policy_allows():
    auth = WebhookAuth(HOOK, allow_insecure=False)
    with pytest.raises(AuthError, match="redirect"):
        auth.moved("http://10.0.0.5/rest/7/hook-code/")
    assert auth.target("x").endpoint == HOOK


@pytest.mark.parametrize(("location", "endpoint"), [
    ("https://new.example.com/rest/user.current", "https://new.example.com/rest/"),
    ("https://new.example.com/rest/user.current?a=1/b", "https://new.example.com/rest/"),
    ("https://new.example.com/rest/1/code/crm.deal.get", "https://new.example.com/rest/1/code/"),
])
def test_the_endpoint_of_a_redirect_is_everything_before_the_method(location, endpoint):
    assert endpoint_of(location) == endpoint
