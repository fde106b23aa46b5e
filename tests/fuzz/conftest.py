"""TaskBridge under gunicorn (config/gunicorn.conf.py) on a free port, installed into an
emulated portal, for fuzzing the receiver.

gunicorn restarts a worker that died, so the master staying up proves little: the
fixture records the workers' pids once they have booted, and where gunicorn's log stood
then, so a test can tell that no worker exited, timed out or was booted again."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.storage.token_cipher import new_key
from emulator import Portal
from emulator.server import serve_in_thread
from tests.support.processes import free_port, wait_until_up
from tests.support.stack import CLIENT_ID, CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[2]
WEB_WORKERS = 2
# What gunicorn's master logs when a worker dies, hangs or is replaced (log level info).
WORKER_LIFECYCLE = re.compile(
    r"Booting worker|Worker \(pid:\d+\)|WORKER TIMEOUT|Worker exiting|Worker failed to boot")


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen[bytes]
    database_url: str
    portal: Portal
    event: dict[str, Any]  # a valid event the portal delivered, to replay and break
    log: Path
    booted_pids: set[int]  # the workers once they had booted
    booted_log_size: int  # gunicorn's log up to then
    secret_key: str = ""  # TASKBRIDGE_SECRET_KEY: automation tokens and signed forms
    admin_token: str = ""  # TASKBRIDGE_ADMIN_TOKEN: staff access to /admin/

    def worker_pids(self) -> set[int]:
        return children_of(self.process.pid)

    def worker_events_since_boot(self) -> list[str]:
        """Lines where gunicorn reports a worker exiting, timing out or booting anew."""
        with open(self.log, "rb") as log:
            log.seek(self.booted_log_size)
            text = log.read().decode(errors="replace")
        return [line for line in text.splitlines() if WORKER_LIFECYCLE.search(line)]


def children_of(pid: int) -> set[int]:
    """Live child processes of `pid` (from /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


def _wait_for_workers(process: subprocess.Popen[bytes], log: Path) -> set[int]:
    """The worker pids once every worker has booted (gunicorn said so, and they run)."""
    pause = threading.Event()
    for _ in range(600):
        booted = log.read_text(errors="replace").count("Booting worker")
        pids = children_of(process.pid)
        if booted >= WEB_WORKERS and len(pids) == WEB_WORKERS:
            return pids
        pause.wait(0.05)
    raise AssertionError(f"gunicorn did not boot {WEB_WORKERS} workers in 30 s")


def _work_off_the_install(database_url: str, secret_key: str, oauth_url: str,
                          public_url: str) -> None:
    """Run the worker once over what the install journaled (its backfill among it), so a
    backfill the fuzz queues from the settings page is a row of its own, named by the
    request that queued it, not a join of the install's."""
    from connector.settings import load_settings
    from connector.storage.engines import open_storage
    from connector.sync.worker import Worker

    settings = load_settings(database_url=database_url, secret_key=secret_key,
                             public_url=public_url, oauth_url=oauth_url, client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, allow_insecure_portals=True)
    storage = open_storage(settings)
    try:
        Worker(storage, settings).run(until_idle=True)
    finally:
        storage.engine.dispose()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    workdir = tmp_path_factory.mktemp("gunicorn")
    portal = Portal(limits=False)
    server = serve_in_thread(portal)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{workdir / 'taskbridge.sqlite3'}"
    secret_key, admin_token = new_key(), secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env.update(TASKBRIDGE_DATABASE_URL=database_url, TASKBRIDGE_SECRET_KEY=secret_key,
               TASKBRIDGE_ADMIN_TOKEN=admin_token,
               TASKBRIDGE_CLIENT_ID=CLIENT_ID, TASKBRIDGE_CLIENT_SECRET=CLIENT_SECRET,
               TASKBRIDGE_OAUTH_URL=server.url, TASKBRIDGE_PUBLIC_URL=url,
               TASKBRIDGE_ALLOW_INSECURE_PORTALS="true", TASKBRIDGE_BIND=f"127.0.0.1:{port}",
               TASKBRIDGE_WEB_WORKERS=str(WEB_WORKERS), TASKBRIDGE_LOG_LEVEL="WARNING")
    log_path = workdir / "gunicorn.log"
    log = open(log_path, "wb")  # noqa: SIM115
    # gunicorn's own log at info, so its master reports every worker it boots.
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config",
         str(ROOT / "config" / "gunicorn.conf.py"), "--log-level", "info",
         "webhooks.app:create_app()"],
        env=env, cwd=workdir, stdout=log, stderr=log)
    try:
        wait_until_up(url, process)
        pids = _wait_for_workers(process, log_path)
        portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url=f"{url}/bitrix/install")
        portal.install_app(CLIENT_ID, handler_url=f"{url}/bitrix/install")
        portal.finish_install(CLIENT_ID)
        portal.as_user(1).create_deal("A valid deal")
        delivered = portal.wait_for_deliveries(
            lambda done: any(d.event == "ONCRMDEALADD" for d in done), timeout=10)
        event = next(d for d in delivered if d.event == "ONCRMDEALADD")
        assert event.status == 200, log_path.read_text()[-2000:]
        _work_off_the_install(database_url, secret_key, server.url, url)
        yield Gunicorn(url, process, database_url, portal, event.payload, log_path, pids,
                       log_path.stat().st_size, secret_key, admin_token)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        server.stop()
