"""A portal's 302 moves TaskBridge only to an address the install-time policy accepts.

The portal's answers come from `responses` (a production deployment: https only, no
insecure portals) and DNS from a table, so no test reaches past loopback.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from connector.rest.client import PortalClient
from connector.rest.endpoint_policy import InsecurePortal, check_endpoint
from connector.rest.errors import AuthError
from connector.rest.retry_policy import RetryPolicy
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.portals import Installation

OLD = "https://old.portal.example.com/rest/"
DNS = {
    "old.portal.example.com": "93.184.216.34",
    "new.portal.example.com": "93.184.216.35",
    "inward.example.net": "127.0.0.1",
    "intranet.example.net": "10.1.2.3",
    "mapped.example.net": "::ffff:169.254.169.254",
}


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def lookup(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        address = DNS[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


@pytest.fixture
def stored(make_settings: Callable[..., Settings]) -> Iterator[tuple[Storage, Settings]]:
    settings = make_settings(allow_insecure_portals=False)
    storage = open_storage(settings)
    storage.portals.save(Installation(
        member_id="m-1", domain="old.portal.example.com", client_endpoint=OLD,
        server_endpoint=OLD, scope="task", access_token="at-1", refresh_token="rt-1",
        application_token="apt-1",
    ))
    storage.portals.mark_installed("m-1")
    yield storage, settings
    storage.engine.dispose()


def _client(storage: Storage, settings: Settings) -> PortalClient:
    return PortalClient.for_portal(storage, settings, "m-1",
                                   policy=RetryPolicy(base_delay=0.001, max_delay=0.01))


@pytest.mark.parametrize("location", [
    "https://inward.example.net/rest/user.current",     # a public name resolving inward
    "https://intranet.example.net/rest/user.current",   # ... or to a private network
    "https://mapped.example.net/rest/user.current",     # ... as an IPv4-mapped IPv6 address
    "http://new.portal.example.com/rest/user.current",  # a downgrade to plain http
    "https://127.0.0.1/rest/user.current",
    "https://2130706433/rest/user.current",             # 127.0.0.1, spelled as one number
    "https://0.0.0.0/rest/user.current",
    "https://nowhere.example.invalid/rest/user.current",
    "/rest/user.current",
])
@responses.activate
def test_a_redirect_to_a_refused_address_is_not_followed(
    dns: None, stored: tuple[Storage, Settings], caplog: pytest.LogCaptureFixture,
    location: str,
) -> None:
    storage, settings = stored
    responses.post(f"{OLD}user.current", status=302, headers={"Location": location})
    with caplog.at_level(logging.WARNING, logger="connector.rest.auth"), \
            pytest.raises(AuthError, match="refused to follow") as refused:
        _client(storage, settings).call("user.current")
    assert refused.value.code == "moved"
    assert len(responses.calls) == 1  # nothing sent to the new address, nothing repeated
    portal_row = storage.portals.get("m-1")
    assert (portal_row.client_endpoint, portal_row.domain) == (OLD, "old.portal.example.com")
    assert "m-1" in caplog.text and "redirected" in caplog.text
    assert "at-1" not in caplog.text


@responses.activate
def test_a_redirect_to_a_public_https_address_is_followed_and_stored(
    dns: None, stored: tuple[Storage, Settings],
) -> None:
    storage, settings = stored
    new = "https://new.portal.example.com/rest/"
    responses.post(f"{OLD}user.current", status=302, headers={"Location": f"{new}user.current"})
    responses.post(f"{new}user.current", json={"result": {"ID": "1"}})
    assert _client(storage, settings).call("user.current").result == {"ID": "1"}
    portal_row = storage.portals.get("m-1")
    assert (portal_row.client_endpoint, portal_row.domain) == (new, "new.portal.example.com")


def test_insecure_portals_allowed_skip_the_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_lookup(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("looked up a name although insecure portals are allowed")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    assert check_endpoint("http://127.0.0.1:5000/rest", allow_insecure=True,
                          resolve=True) == "http://127.0.0.1:5000/rest/"


@pytest.mark.parametrize("url", ["https://127.1/rest/", "https://0x7f.0.0.1/rest/",
                                 "https://[::1]/rest/", "https://LOCALHOST./rest/"])
def test_loopback_spellings_are_refused_without_a_lookup(url: str) -> None:
    with pytest.raises(InsecurePortal, match="loopback and private"):
        check_endpoint(url, allow_insecure=False)
