"""Fixtures for testing the REST client's modules one at a time: a database holding one
installed portal at a made-up https address, and the OAuth server's answers as `responses`
bodies (no emulator: these are the modules' own edge cases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.portals import Installation
from tests.connector.rest.stored_portal import (
    ACCESS,
    DOMAIN,
    ENDPOINT,
    MEMBER_ID,
    OAUTH_URL,
    REFRESH,
)


@pytest.fixture
def client_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings of an app registered with the OAuth server at `OAUTH_URL`."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"client_id": "local.app", "client_secret": "app-secret",
                                  "oauth_url": OAUTH_URL, "http_timeout": 5}
        return make_settings(**{**values, **overrides})

    return factory


@pytest.fixture
def storage_with_portal(client_settings: Callable[..., Settings]) -> Iterator[Storage]:
    """A fresh database with `MEMBER_ID` installed, holding the pair ACCESS / REFRESH."""
    storage = open_storage(client_settings())
    storage.portals.save(Installation(
        member_id=MEMBER_ID, domain=DOMAIN, client_endpoint=ENDPOINT,
        server_endpoint=f"{OAUTH_URL}/rest/", scope="crm,task,user",
        access_token=ACCESS, refresh_token=REFRESH, application_token="app-token",
    ))
    storage.portals.mark_installed(MEMBER_ID)
    yield storage
    storage.engine.dispose()
