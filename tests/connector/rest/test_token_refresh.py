"""`TokenRefresher` on its own: one OAuth round trip rotates both tokens, compare-and-swap
on the version; a caller holding a stale version adopts a pair stored by anyone else;
`invalid_grant` marks the portal for reinstall. The OAuth server is `responses`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

import connector
from connector.rest.errors import AuthError, ReinstallRequired, TransportError
from connector.rest.token_refresh import TokenRefresher
from connector.storage.portals import NEEDS_REINSTALL
from tests.connector.rest.stored_portal import ACCESS, MEMBER_ID, REFRESH, TOKEN_URL, grant

REPO = Path(connector.__file__).resolve().parent.parent

# Another process on the same database: it refreshes from the version it read before the
# parent rotated. Its OAuth server is a closed port, so only the stored pair can answer.
CHILD = """
import json, sys
from connector.settings import load_settings
from connector.storage.engines import open_storage
from connector.rest.token_refresh import TokenRefresher
args = json.loads(sys.argv[1])
settings = load_settings(**args["settings"])
storage = open_storage(settings, upgrade=False)
refresher = TokenRefresher(storage, settings, args["member_id"])
portal = refresher.refresh(args["stale_version"])
print(json.dumps({"access": portal.access_token, "refresh": portal.refresh_token,
                  "version": portal.token_version, "refreshes": refresher.refreshes}))
"""


def oauth_requests() -> list[dict[str, list[str]]]:
    """The query of each request the OAuth server received."""
    return [parse_qs(urlsplit(call.request.url).query) for call in responses.calls]


@responses.activate
def test_a_refresh_rotates_both_tokens_in_one_round_trip(storage_with_portal, client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    fresh = refresher.refresh(version)

    [sent] = oauth_requests()
    assert sent["grant_type"] == ["refresh_token"] and sent["refresh_token"] == [REFRESH]
    assert (fresh.access_token, fresh.refresh_token) == ("access-1", "refresh-1")
    assert fresh.token_version == version + 1
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert (stored.access_token, stored.refresh_token) == ("access-1", "refresh-1")
    assert stored.token_refreshed_at is not None
    assert refresher.refreshes == 1


@responses.activate
def test_a_stale_version_adopts_the_stored_pair_without_asking(storage_with_portal,
                                                               client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    first = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)
    second = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    first.refresh(version)
    adopted = second.refresh(version)  # it failed with the old pair too

    assert adopted.access_token == "access-1"
    assert second.refreshes == 0
    assert len(responses.calls) == 1


def test_a_second_process_sees_the_new_pair(storage_with_portal, client_settings):
    settings = client_settings()
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    with responses.RequestsMock() as oauth:
        oauth.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
        TokenRefresher(storage_with_portal, settings, MEMBER_ID).refresh(version)
    args = {
        "settings": {
            "database_url": settings.database_url,
            "secret_key": settings.secret_key.get_secret_value(),
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
            "oauth_url": "http://127.0.0.1:9", "http_timeout": 2,
            "allow_insecure_portals": True,
        },
        "member_id": MEMBER_ID, "stale_version": version,
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=False,
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert seen == {"access": "access-1", "refresh": "refresh-1", "version": version + 1,
                    "refreshes": 0}


@responses.activate
def test_invalid_grant_marks_the_portal_and_stops_refreshing(storage_with_portal,
                                                              client_settings):
    responses.get(TOKEN_URL, status=400,
                  json={"error": "invalid_grant", "error_description": "revoked"})
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(ReinstallRequired, match="needs the app reinstalled"):
        refresher.refresh(version)
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert stored.state == NEEDS_REINSTALL
    assert stored.access_token == ACCESS  # nothing half-rotated

    with pytest.raises(ReinstallRequired):
        refresher.refresh(version)
    assert len(responses.calls) == 1  # a dead refresh token is not tried again


@responses.activate
def test_invalid_grant_after_another_rotation_keeps_that_pair(storage_with_portal,
                                                              client_settings):
    store = storage_with_portal.portals
    version = store.get(MEMBER_ID).token_version

    def rotated_elsewhere_first(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        # A process outside our locks used the same refresh token a moment earlier.
        store.rotate_tokens(MEMBER_ID, expected_version=version, access_token="access-x",
                            refresh_token="refresh-x", expires_at=None)
        return 400, {}, json.dumps({"error": "invalid_grant"})

    responses.add_callback(responses.GET, TOKEN_URL, callback=rotated_elsewhere_first)

    fresh = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID).refresh(version)

    assert fresh.access_token == "access-x"
    assert store.get(MEMBER_ID).state != NEEDS_REINSTALL


@responses.activate
def test_an_unreachable_oauth_server_is_a_transport_error_that_never_ran(
    storage_with_portal, client_settings
):
    responses.get(TOKEN_URL, body=requests.ConnectionError("refused"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(TransportError) as caught:
        refresher.refresh(version)
    assert caught.value.maybe_delivered is False and caught.value.code == "unreachable"
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert (stored.token_version, stored.refresh_token) == (version, REFRESH)


@responses.activate
def test_a_pair_for_another_portal_is_refused_and_not_stored(storage_with_portal,
                                                             client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1", member_id="someone-else"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version

    with pytest.raises(AuthError) as caught:
        TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID).refresh(version)
    assert caught.value.code == "member_mismatch"
    assert storage_with_portal.portals.get(MEMBER_ID).access_token == ACCESS
