"""The REST client tests' emulated portal: the emulator served on port 0 with the app
installed in it and its portal row stored in a fresh database, a client for it, and a
server at the portal's former address (the fixtures are in this folder's conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import Installation
from connector.storage.schema import portals
from emulator import Portal
from emulator.server import RunningServer

CLIENT_ID = "local.taskbridge.rest"
CLIENT_SECRET = "client-secret-never-logged"
WEBHOOK_CODE = "hookcode-never-logged"

# Retries without real waiting; the policy's own timing is tested on its own.
FAST_RETRIES = RetryPolicy(base_delay=0.001, max_delay=0.01, jitter=lambda delay: delay)


@dataclass
class Installed:
    """The emulator, its server, our storage and settings, and a client factory."""

    emulator: Portal
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
        return self.emulator.call_log.count(method)


def install(emulator: Portal, server: RunningServer, storage: Storage, settings: Settings,
            ) -> Installed:
    emulator.register_app(CLIENT_ID, CLIENT_SECRET, scope=["crm", "task", "user", "placement"])
    emulator.app(CLIENT_ID).installed = True
    tokens = emulator.issue_tokens(CLIENT_ID, 1)
    storage.portals.save(Installation(
        member_id=emulator.member_id, domain=emulator.domain,
        client_endpoint=emulator.client_endpoint, server_endpoint=emulator.client_endpoint,
        scope="crm,task,user,placement", access_token=tokens.access_token,
        refresh_token=tokens.refresh_token, application_token="app-token-never-logged",
    ))
    storage.portals.mark_installed(emulator.member_id)
    return Installed(emulator, server, storage, settings, emulator.member_id,
                     tokens.access_token, tokens.refresh_token)


def app_settings(make_settings: Callable[..., Settings], server: RunningServer,
                 **overrides: Any) -> Settings:
    values: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                              "oauth_url": server.url, "http_timeout": 30}
    return make_settings(**{**values, **overrides})


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


def add_tasks(emulator: Portal, count: int, user_id: int = 1) -> None:
    """Create `count` tasks directly in the emulator's state (no REST calls counted)."""
    actions = emulator.as_user(user_id)
    for number in range(count):
        actions.create_task(title=f"Task {number}")

