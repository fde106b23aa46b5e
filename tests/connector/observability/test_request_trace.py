"""One id ties an event's HTTP request (gunicorn's access log), its journal row and every
REST call the worker made for it (the worker's log lines), with no secret on the way."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connector.settings import Settings, load_settings
from connector.storage.engines import open_storage
from connector.storage.journal import Journal
from connector.storage.token_cipher import new_key
from connector.sync.worker import Worker
from emulator import Portal
from emulator.server import serve_in_thread
from tests.support.log_lines import Lines, on_root
from tests.support.processes import free_port, wait_until_up
from tests.support.stack import CLIENT_ID, CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Served:
    url: str
    log: Path
    settings: Settings
    portal: Portal

    def access_lines(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if '"gunicorn.access"' in line]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """TaskBridge under gunicorn with config/gunicorn.conf.py, installed into a portal."""
    portal = Portal(limits=False)
    server = serve_in_thread(portal)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'taskbridge.sqlite3'}", secret_key=new_key(),
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, oauth_url=server.url,
        public_url=url, allow_insecure_portals=True, worker_coalesce_seconds=0,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
    env.update(TASKBRIDGE_DATABASE_URL=settings.database_url,
               TASKBRIDGE_SECRET_KEY=settings.secret_key.get_secret_value(),
               TASKBRIDGE_CLIENT_ID=CLIENT_ID, TASKBRIDGE_CLIENT_SECRET=CLIENT_SECRET,
               TASKBRIDGE_OAUTH_URL=server.url, TASKBRIDGE_PUBLIC_URL=url,
               TASKBRIDGE_ALLOW_INSECURE_PORTALS="true", TASKBRIDGE_BIND=f"127.0.0.1:{port}",
               TASKBRIDGE_WEB_WORKERS="1", TASKBRIDGE_WORKER_COALESCE_SECONDS="0")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "--config",
             str(ROOT / "config" / "gunicorn.conf.py"), "webhooks.app:create_app()"],
            env=env, cwd=tmp_path, stdout=out, stderr=out)
        try:
            wait_until_up(url, process)
            portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url=f"{url}/bitrix/install")
            portal.install_app(CLIENT_ID, handler_url=f"{url}/bitrix/install")
            portal.finish_install(CLIENT_ID)
            yield Served(url, log, settings, portal)
        finally:
            process.terminate()
            process.wait(timeout=30)
            server.stop()
            portal.close()


@pytest.fixture
def worker_lines() -> Iterator[Lines]:
    with on_root(Lines(logging.INFO)) as handler:
        yield handler


def test_a_request_id_leads_to_its_journal_row_and_the_rest_calls_made_for_it(
    served: Served, worker_lines: Lines,
) -> None:
    user = served.portal.as_user(1)
    deal = user.create_deal("ACME")
    task = user.create_task(f"D_{deal}", title="Contract", responsible=1)
    assert served.portal.sender.wait_idle(timeout=10)
    storage = open_storage(served.settings)
    Worker(storage, served.settings).run(until_idle=True)

    [row] = Journal(storage.engine).rows(event="ONTASKADD", object_key=f"task:{task}")
    [request] = [line for line in served.access_lines()
                 if line["path"] == "/bitrix/events" and line["journal_id"] == str(row["id"])]
    assert request["method"] == "POST" and request["status"] == "200"
    assert request["correlation_id"] == row["correlation_id"]

    logged = [json.loads(line) for line in worker_lines.lines]
    made_for_it = [line for line in logged if row["correlation_id"] in line.get(
        "correlation_ids", []) and row["id"] in line["journal_ids"]]
    calls = [line["message"] for line in made_for_it if line["logger"] == "connector.rest"]
    assert calls and all(c.startswith("rest call ") and "ms http=" in c for c in calls)
    assert any(c.startswith("rest call batch ") for c in calls)  # the writes
    [opened] = [line for line in made_for_it if line["message"].startswith("pass ")]
    assert str(row["id"]) in opened["message"] and row["correlation_id"] in opened["message"]
    assert {line["pass_id"] for line in made_for_it} == {row["detail"]["pass"]["id"]}

    stored = storage.portals.get(served.portal.member_id)
    text = served.log.read_text() + "\n".join(worker_lines.lines)
    for secret in (stored.access_token, stored.refresh_token, CLIENT_SECRET):
        assert secret not in text
    storage.engine.dispose()
