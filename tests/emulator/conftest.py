"""Fixtures for the emulator's conformance tests: a fresh portal per test, on port 0."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from emulator import Portal
from emulator.server import RunningServer, serve_in_thread

WEBHOOK_CODE = "testhook"
CLIENT_ID = "local.taskbridge.test"
CLIENT_SECRET = "s3cret-client"


@pytest.fixture
def portal() -> Portal:
    return Portal(limits=False, webhook_code=WEBHOOK_CODE)


@pytest.fixture
def server(portal: Portal) -> Iterator[RunningServer]:
    running = serve_in_thread(portal)
    yield running
    running.stop()


@dataclass
class Received:
    path: str
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class Receiver:
    """A tiny HTTP server catching what the portal POSTs (events, install pages)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, predicate: Callable[[list[Received]], bool],
                 timeout: float = 5.0) -> list[Received]:
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.requests), timeout):
                raise AssertionError(f"receiver saw only {self.requests!r}")
            return list(self.requests)

    def events(self, name: str) -> list[Received]:
        return [r for r in self.requests if r.form.get("event") == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    @Request.application
    def app(request: Request) -> Response:
        got = holder["r"]
        item = Received(request.path, request.args.to_dict(), request.form.to_dict())
        with got.cond:
            got.requests.append(item)
            got.cond.notify_all()
        return Response("ok", status=got.status)

    http = make_server("127.0.0.1", 0, app, threaded=True)
    holder["r"] = Receiver(url=f"http://127.0.0.1:{http.server_port}")
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield holder["r"]
    http.shutdown()
    http.server_close()


class Rest:
    """Calls the portal one way: ``webhook`` (URL-embedded code) or ``oauth`` (auth=token)."""

    def __init__(self, base: str, style: str, token: str | None = None, user_id: int = 1,
                 code: str = WEBHOOK_CODE) -> None:
        self.base, self.style, self.token = base, style, token
        self.user_id, self.code = user_id, code
        self.session = requests.Session()

    def url(self, method: str) -> str:
        if self.style == "webhook":
            return f"{self.base}/rest/{self.user_id}/{self.code}/{method}.json"
        return f"{self.base}/rest/{method}.json"

    def raw(self, method: str, params: dict[str, Any] | None = None,
            form: bool = False) -> requests.Response:
        body = dict(params or {})
        if self.style == "oauth":
            body["auth"] = self.token
        if form:
            from emulator.php_form import encode

            return self.session.post(self.url(method), data=encode(body), timeout=10,
                                     headers={"Content-Type":
                                              "application/x-www-form-urlencoded"})
        return self.session.post(self.url(method), json=body, timeout=10)

    def call(self, method: str, params: dict[str, Any] | None = None,
             form: bool = False) -> Any:
        response = self.raw(method, params, form)
        assert response.status_code == 200, response.text
        return response.json()["result"]


def install_app(portal: Portal, handler_url: str = "http://127.0.0.1:9/install",
                how: str = "event", user_id: int = 1) -> str:
    """Register and install the test app; answer its admin access token."""
    portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url)
    installation = portal.install_app(CLIENT_ID, how=how, user_id=user_id)
    portal.finish_install(CLIENT_ID)
    return installation.tokens.access_token


@pytest.fixture
def webhook(server: RunningServer) -> Rest:
    return Rest(server.url, "webhook")


@pytest.fixture
def app_rest(server: RunningServer, portal: Portal) -> Rest:
    return Rest(server.url, "oauth", install_app(portal))


@pytest.fixture(params=["webhook", "oauth"])
def rest(request: pytest.FixtureRequest, server: RunningServer, portal: Portal) -> Rest:
    """Every test using this runs once per auth style."""
    if request.param == "webhook":
        return Rest(server.url, "webhook")
    return Rest(server.url, "oauth", install_app(portal))


@pytest.fixture
def rest_as(rest: Rest, portal: Portal) -> Callable[[int], Rest]:
    """``rest_as(user_id)``: the same auth style as ``rest``, acting as another user
    (their own incoming webhook, or the app's tokens issued to them)."""

    def make(user_id: int) -> Rest:
        if rest.style == "webhook":
            code = f"hook-of-{user_id}"
            portal.add_webhook(code, user_id)
            return Rest(rest.base, "webhook", user_id=user_id, code=code)
        return Rest(rest.base, "oauth", portal.issue_tokens(CLIENT_ID, user_id).access_token)

    return make


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        pause.wait(0.01)


@pytest.fixture
def install(portal: Portal) -> Callable[..., str]:
    """``install(handler_url=..., how="page"|"event")`` -> the admin's access token."""
    return lambda **kwargs: install_app(portal, **kwargs)


@pytest.fixture
def make_rest(server: RunningServer) -> Callable[..., Rest]:
    return lambda style, token=None: Rest(server.url, style, token)
