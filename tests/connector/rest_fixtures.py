"""Fixtures for the REST client tests: an emulated portal on port 0 with TaskBridge
installed in it, stored in a fresh database, and a client for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.portals import Installation
from connector.storage.schema import portals
from emulator import Portal
from emulator.server import RunningServer, serve_in_thread

CLIENT_ID = "local.taskbridge.rest"
CLIENT_SECRET = "client-secret-never-logged"
WEBHOOK_CODE = "hookcode-never-logged"

# Retries without real waiting; the policy's own timing is tested on its own.
FAST_RETRIES = RetryPolicy(base_delay=0.001, max_delay=0.01, jitter=lambda delay: delay)


@dataclass
class Installed:
    """The portal, its server, our storage and settings, and a client factory."""

    portal: Portal
    server: RunningServer
    storage: Storage
    settings: Settings
    member_id: str
    access_token: str
    refresh_token: str

    def client(self, **kw: Any) -> PortalClient:
        kw.setdefault("policy", FAST_RETRIES)
        return PortalClient.for_portal(self.storage, self.settings, self.member_id, **kw)

    def set_plan(self, drain: float, burst: int) -> None:
        """The portal's stored rate plan (what the client's budget enforces)."""
        with self.storage.engine.begin() as conn:
            conn.execute(update(portals).where(portals.c.member_id == self.member_id)
                         .values(rate_drain=drain, rate_burst=burst))

    def rest_calls(self, method: str | None = None) -> int:
        """Requests that reached the portal's REST (batch commands not counted)."""
        return self.portal.call_log.count(method)


@pytest.fixture
def portal() -> Portal:
    return Portal(limits=False, webhook_code=WEBHOOK_CODE)


@pytest.fixture
def server(portal: Portal) -> Iterator[RunningServer]:
    running = serve_in_thread(portal)
    yield running
    running.stop()


def install(portal: Portal, server: RunningServer, storage: Storage, settings: Settings,
            ) -> Installed:
    portal.register_app(CLIENT_ID, CLIENT_SECRET, scope=["crm", "task", "user", "placement"])
    portal.app(CLIENT_ID).installed = True
    tokens = portal.issue_tokens(CLIENT_ID, 1)
    storage.portals.save(Installation(
        member_id=portal.member_id, domain=portal.domain,
        client_endpoint=portal.client_endpoint, server_endpoint=portal.client_endpoint,
        scope="crm,task,user,placement", access_token=tokens.access_token,
        refresh_token=tokens.refresh_token, application_token="app-token-never-logged",
    ))
    storage.portals.mark_installed(portal.member_id)
    return Installed(portal, server, storage, settings, portal.member_id,
                     tokens.access_token, tokens.refresh_token)


def app_settings(make_settings: Callable[..., Settings], server: RunningServer,
                 **overrides: Any) -> Settings:
    values: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                              "oauth_url": server.url, "http_timeout": 30}
    return make_settings(**{**values, **overrides})


@pytest.fixture
def installed(portal: Portal, server: RunningServer,
              make_settings: Callable[..., Settings]) -> Iterator[Installed]:
    settings = app_settings(make_settings, server)
    storage = open_storage(settings)
    yield install(portal, server, storage, settings)
    storage.engine.dispose()


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait on a condition (never a fixed sleep); fail if it does not come true."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        tick.wait(0.005)


@dataclass
class Redirector:
    url: str
    stop: Callable[[], None]


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


def add_tasks(portal: Portal, count: int, user_id: int = 1) -> None:
    """Create `count` tasks directly in the portal's state (no REST calls counted)."""
    actions = portal.as_user(user_id)
    for number in range(count):
        actions.create_task(title=f"Task {number}")


# Test modules bind these to module names so pytest finds them:
#     portal, server, installed, old_address = rest_fixtures.FIXTURES
FIXTURES = (portal, server, installed, old_address)
