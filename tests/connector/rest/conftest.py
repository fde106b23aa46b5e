"""Fixtures for the REST client's tests, two kinds:

- `emulator`, `server`, `installed_app`, `old_address`: the portal emulator served on
  loopback with the app installed in it and its portal row stored (`emulated_portal`),
  for calls that go through the whole client;
- `client_settings`, `storage_with_portal`: a database holding one installed portal at a
  made-up https address (`stored_portal`), for one module at a time with the portal's and
  the OAuth server's answers given by `responses`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.portals import Installation
from emulator import Portal
from emulator.server import RunningServer, serve_in_thread
from tests.connector.rest.emulated_portal import (
    WEBHOOK_CODE,
    Installed,
    Redirector,
    app_settings,
    install,
)
from tests.connector.rest.stored_portal import (
    ACCESS,
    DOMAIN,
    ENDPOINT,
    MEMBER_ID,
    OAUTH_URL,
    REFRESH,
)


@pytest.fixture
def emulator() -> Portal:
    """The portal emulator's state, limits off, with an incoming webhook (not served)."""
    return Portal(limits=False, webhook_code=WEBHOOK_CODE)


@pytest.fixture
def server(emulator: Portal) -> Iterator[RunningServer]:
    """`emulator` served on a loopback port."""
    running = serve_in_thread(emulator)
    yield running
    running.stop()


@pytest.fixture
def installed_app(emulator: Portal, server: RunningServer,
                  make_settings: Callable[..., Settings]) -> Iterator[Installed]:
    """The app installed in `emulator`, its portal row stored in a fresh database."""
    settings = app_settings(make_settings, server)
    storage = open_storage(settings)
    yield install(emulator, server, storage, settings)
    storage.engine.dispose()


@pytest.fixture
def old_address(server: RunningServer) -> Iterator[Redirector]:
    """A server at the portal's former address: every request answers 302 to the new one."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = Response("", status=302,
                            headers={"Location": f"{server.url}{request.full_path.rstrip('?')}"})
        return response(environ, start_response)

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

    yield Redirector(f"http://127.0.0.1:{httpd.server_port}", stop)
    stop()


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
