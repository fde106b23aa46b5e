"""TaskBridge under gunicorn (config/gunicorn.conf.py) on a free port, installed into an
emulated portal, for fuzzing the receiver."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.token_cipher import new_key
from emulator import Portal
from emulator.server import serve_in_thread
from tests.support.stack import CLIENT_ID, CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen[bytes]
    database_url: str
    portal: Portal
    event: dict[str, Any]  # a valid event the portal delivered, to replay and break


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    ready = threading.Event()
    for _ in range(600):
        assert process.poll() is None, "gunicorn exited at start-up"
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        ready.wait(0.05)
    raise AssertionError("gunicorn did not answer /healthz in 30 s")


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    workdir = tmp_path_factory.mktemp("gunicorn")
    portal = Portal(limits=False)
    server = serve_in_thread(portal)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{workdir / 'taskbridge.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env.update(TASKBRIDGE_DATABASE_URL=database_url, TASKBRIDGE_SECRET_KEY=new_key(),
               TASKBRIDGE_CLIENT_ID=CLIENT_ID, TASKBRIDGE_CLIENT_SECRET=CLIENT_SECRET,
               TASKBRIDGE_OAUTH_URL=server.url, TASKBRIDGE_PUBLIC_URL=url,
               TASKBRIDGE_ALLOW_INSECURE_PORTALS="true", TASKBRIDGE_BIND=f"127.0.0.1:{port}",
               TASKBRIDGE_WEB_WORKERS="2", TASKBRIDGE_LOG_LEVEL="WARNING")
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config",
         str(ROOT / "config" / "gunicorn.conf.py"), "webhooks.app:create_app()"],
        env=env, cwd=workdir, stdout=log, stderr=log)
    try:
        _wait_until_up(url, process)
        portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url=f"{url}/bitrix/install")
        portal.install_app(CLIENT_ID, handler_url=f"{url}/bitrix/install")
        portal.finish_install(CLIENT_ID)
        portal.as_user(1).create_deal("A valid deal")
        delivered = portal.wait_for_deliveries(
            lambda done: any(d.event == "ONCRMDEALADD" for d in done), timeout=10)
        event = next(d for d in delivered if d.event == "ONCRMDEALADD")
        assert event.status == 200, (workdir / "gunicorn.log").read_text()[-2000:]
        yield Gunicorn(url, process, database_url, portal, event.payload)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        server.stop()
