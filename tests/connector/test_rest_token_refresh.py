"""Token refresh: one refresh for many threads and processes, invalid_grant stops calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import connector
from connector.rest.client import PortalClient
from connector.rest.errors import ReinstallRequired
from connector.storage.engines import open_storage
from connector.storage.portals import NEEDS_REINSTALL
from tests.connector import rest_fixtures
from tests.connector.rest_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    app_settings,
    install,
    wait_until,
)

# The fixtures these tests use, by name.
portal, server, installed, old_address = rest_fixtures.FIXTURES

REPO = Path(connector.__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from pathlib import Path
from connector.settings import load_settings
from connector.storage.engines import open_storage
from connector.rest.client import PortalClient
args = json.loads(sys.argv[1])
storage = open_storage(load_settings(**args["settings"]), upgrade=False)
client = PortalClient.for_portal(storage, load_settings(**args["settings"]), args["member_id"])
Path(args["ready"]).touch()
while not Path(args["go"]).exists():
    time.sleep(0.001)
print(json.dumps({"id": client.call("user.current").result["ID"],
                  "refreshes": client.auth.refresher.refreshes}))
"""


def test_expiry_under_8_threads_means_one_refresh_and_no_failed_call(installed):
    installed.set_plan(1000.0, 1000)  # the budget is not what this test is about
    client = installed.client()
    version = installed.storage.portals.get(installed.member_id).token_version
    failures: list[BaseException] = []
    done = [0]
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            try:
                client.call("user.current")
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: done[0] >= 40)
    installed.portal.expire_tokens()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert done[0] == 160
    assert client.auth.refresher.refreshes == 1
    assert installed.storage.portals.get(installed.member_id).token_version == version + 1


def test_the_new_pair_is_stored_encrypted_before_it_is_used(installed):
    client = installed.client()
    installed.portal.expire_tokens()
    client.call("user.current")
    stored = installed.storage.portals.get(installed.member_id)
    assert stored.access_token != installed.access_token
    assert stored.refresh_token != installed.refresh_token
    assert client.auth.portal.access_token == stored.access_token
    with installed.storage.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT access_token_enc FROM portals").scalar()
    assert stored.access_token not in raw


def test_a_second_client_adopts_a_pair_refreshed_elsewhere(installed):
    first, second = installed.client(), installed.client()
    installed.portal.expire_tokens()
    first.call("user.current")
    second.call("user.current")  # its token is stale: re-read, no second refresh
    assert first.auth.refresher.refreshes + second.auth.refresher.refreshes == 1


def test_invalid_grant_marks_reinstall_and_stops_calling(installed):
    store = installed.storage.portals
    version = store.get(installed.member_id).token_version
    store.rotate_tokens(installed.member_id, expected_version=version,
                        access_token=installed.access_token, refresh_token="revoked",
                        expires_at=None)
    installed.portal.expire_tokens()
    client = installed.client()
    with pytest.raises(ReinstallRequired):
        client.call("user.current")
    assert store.get(installed.member_id).state == NEEDS_REINSTALL
    sent = installed.rest_calls()
    with pytest.raises(ReinstallRequired, match="reinstalled"):
        client.call("user.current")
    with pytest.raises(ReinstallRequired):
        installed.client().call("tasks.task.list")
    assert installed.rest_calls() == sent


def refresh_in_two_processes(installed, tmp_path: Path) -> list[dict]:
    settings = installed.settings
    args = {
        "settings": {
            "database_url": settings.database_url,
            "secret_key": settings.secret_key.get_secret_value(),
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "oauth_url": settings.oauth_url, "allow_insecure_portals": True,
        },
        "member_id": installed.member_id, "go": str(tmp_path / "go"),
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = []
    for number in range(2):
        ready = tmp_path / f"ready{number}"
        children.append((ready, subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps({**args, "ready": str(ready)})],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )))
    wait_until(lambda: all(ready.exists() for ready, _ in children), timeout=30)
    installed.portal.expire_tokens()
    (tmp_path / "go").touch()
    answers = []
    for _ready, child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def assert_one_valid_pair(installed) -> None:
    stored = installed.storage.portals.get(installed.member_id)
    assert stored.state != NEEDS_REINSTALL
    installed.portal.tokens.authenticate(stored.access_token)  # the stored access token works
    installed.portal.expire_tokens()  # and so does the stored refresh token
    assert installed.client().call("user.current").result["ID"] == "1"


def test_two_processes_refreshing_at_once_leave_one_valid_pair(installed, tmp_path):
    answers = refresh_in_two_processes(installed, tmp_path)
    assert [a["id"] for a in answers] == ["1", "1"]
    assert sum(a["refreshes"] for a in answers) == 1
    assert_one_valid_pair(installed)


@pytest.mark.postgres
def test_two_processes_refreshing_at_once_on_postgresql(
    portal, server, make_settings, pg_url, tmp_path
):
    settings = app_settings(make_settings, server, database_url=pg_url)
    storage = open_storage(settings)
    try:
        setup = install(portal, server, storage, settings)
        answers = refresh_in_two_processes(setup, tmp_path)
        assert sum(a["refreshes"] for a in answers) == 1
        assert_one_valid_pair(setup)
    finally:
        storage.engine.dispose()


def test_a_webhook_client_has_nothing_to_refresh(portal, server, make_settings):
    client = PortalClient.for_webhook(server.webhook_url("hookcode-never-logged"),
                                      make_settings())
    assert client.call("user.current").result["ID"] == "1"
