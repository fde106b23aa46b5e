"""An installed TaskBridge with an admin token, a valid event to break, a stray listener."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from emulator import php_form
from tests.support.live_server import serve
from tests.support.stack import TaskBridge, taskbridge_for

ADMIN_TOKEN = "admin-token-for-security-tests-0123456789"
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@pytest.fixture
def secured(portal: Any, tmp_path: Path, secret_key: str) -> Iterator[TaskBridge]:
    url = f"sqlite:///{tmp_path / 'taskbridge.sqlite3'}"
    with taskbridge_for(portal, url, secret_key, admin_token=ADMIN_TOKEN) as bridge:
        bridge.install("page")
        bridge.drain()
        yield bridge


@pytest.fixture
def deal_event(secured: TaskBridge) -> dict[str, Any]:
    """The payload of a real ONCRMDEALADD the portal delivered: valid, to break one part of."""
    portal = secured.portal
    portal.as_user(1).create_deal("Valid deal")
    assert portal.sender.wait_idle(timeout=10)
    delivered = [d for d in portal.delivered_events if d.event == "ONCRMDEALADD"]
    return delivered[-1].payload


def post_event(bridge: TaskBridge, payload: dict[str, Any]) -> requests.Response:
    return requests.post(f"{bridge.url}/bitrix/events", data=php_form.encode(payload),
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         timeout=10)


@dataclass
class Listener:
    """A server on another port that records whatever reaches it."""

    url: str
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def stray_listener() -> Iterator[Listener]:
    lock = threading.Lock()
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with lock:
            seen.append(f"{request.method} {request.full_path}")
        return Response('{"result": []}', mimetype="application/json")(environ, start_response)

    with serve(app) as live:
        yield Listener(url=live.url, requests=seen)


def staff_session(bridge: TaskBridge) -> tuple[requests.Session, str]:
    """A signed-in staff browser session and the CSRF token its pages carry."""
    session = requests.Session()
    page = session.get(f"{bridge.url}/admin/login", timeout=10)
    token = CSRF.search(page.text)
    assert token, page.text[:500]
    signed_in = session.post(f"{bridge.url}/admin/login",
                             data={"csrf_token": token.group(1), "token": ADMIN_TOKEN,
                                   "next": "/admin/"}, timeout=10)
    assert signed_in.status_code == 200, signed_in.text[:300]
    csrf = CSRF.search(signed_in.text)
    assert csrf, "the sync log page carries no CSRF token"
    return session, csrf.group(1)
