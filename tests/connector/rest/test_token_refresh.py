"""Token refresh. `TokenRefresher` on its own: one OAuth round trip rotates both tokens,
compare-and-swap on the version; a caller holding a stale version adopts a pair stored by
anyone else; `invalid_grant` marks the portal for reinstall (the OAuth server is
`responses`). Then through the client against the emulator: one refresh for many threads
and processes, and invalid_grant stops calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

import connector
from connector.rest.client import PortalClient
from connector.rest.errors import AuthError, ReinstallRequired, TransportError
from connector.rest.token_refresh import TokenRefresher
from connector.storage.engines import open_storage
from connector.storage.portals import NEEDS_REINSTALL
from tests.connector.rest.emulated_portal import (
    CLIENT_ID,
    CLIENT_SECRET,
    app_settings,
    install,
    wait_until,
)
from tests.connector.rest.stored_portal import ACCESS, MEMBER_ID, REFRESH, TOKEN_URL, grant

REPO = Path(connector.__file__).resolve().parent.parent

# Another process on the same database: it refreshes from the version it read before the
# parent rotated. Its OAuth server is a closed port, so only the stored pair can answer.
CHILD = """
import json, sys
from connector.settings import load_settings
from connector.storage.engines import open_storage
from connector.rest.token_refresh import TokenRefresher
args = json.loads(sys.argv[1])
settings = load_settings(**args["settings"])
storage = open_storage(settings, upgrade=False)
refresher = TokenRefresher(storage, settings, args["member_id"])
portal = refresher.refresh(args["stale_version"])
print(json.dumps({"access": portal.access_token, "refresh": portal.refresh_token,
                  "version": portal.token_version, "refreshes": refresher.refreshes}))
"""


def oauth_requests() -> list[dict[str, list[str]]]:
    """The query of each request the OAuth server received."""
    return [parse_qs(urlsplit(call.request.url).query) for call in responses.calls]


@responses.activate
def test_a_refresh_rotates_both_tokens_in_one_round_trip(storage_with_portal, client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    fresh = refresher.refresh(version)

    [sent] = oauth_requests()
    assert sent["grant_type"] == ["refresh_token"] and sent["refresh_token"] == [REFRESH]
    assert (fresh.access_token, fresh.refresh_token) == ("access-1", "refresh-1")
    assert fresh.token_version == version + 1
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert (stored.access_token, stored.refresh_token) == ("access-1", "refresh-1")
    assert stored.token_refreshed_at is not None
    assert refresher.refreshes == 1


@responses.activate
def test_a_stale_version_adopts_the_stored_pair_without_asking(storage_with_portal,
                                                               client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    first = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)
    second = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    first.refresh(version)
    adopted = second.refresh(version)  # it failed with the old pair too

    assert adopted.access_token == "access-1"
    assert second.refreshes == 0
    assert len(responses.calls) == 1


def test_a_second_process_sees_the_new_pair(storage_with_portal, client_settings):
    settings = client_settings()
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    with responses.RequestsMock() as oauth:
        oauth.get(TOKEN_URL, json=grant("access-1", "refresh-1"))
        TokenRefresher(storage_with_portal, settings, MEMBER_ID).refresh(version)
    args = {
        "settings": {
            "database_url": settings.database_url,
            "secret_key": settings.secret_key.get_secret_value(),
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
            "oauth_url": "http://127.0.0.1:9", "http_timeout": 2,
            "allow_insecure_portals": True,
        },
        "member_id": MEMBER_ID, "stale_version": version,
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=False,
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert seen == {"access": "access-1", "refresh": "refresh-1", "version": version + 1,
                    "refreshes": 0}


@responses.activate
def test_invalid_grant_marks_the_portal_and_stops_refreshing(storage_with_portal,
                                                              client_settings):
    responses.get(TOKEN_URL, status=400,
                  json={"error": "invalid_grant", "error_description": "revoked"})
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(ReinstallRequired, match="needs the app reinstalled"):
        refresher.refresh(version)
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert stored.state == NEEDS_REINSTALL
    assert stored.access_token == ACCESS  # nothing half-rotated

    with pytest.raises(ReinstallRequired):
        refresher.refresh(version)
    assert len(responses.calls) == 1  # a dead refresh token is not tried again


@responses.activate
def test_invalid_grant_after_another_rotation_keeps_that_pair(storage_with_portal,
                                                              client_settings):
    store = storage_with_portal.portals
    version = store.get(MEMBER_ID).token_version

    def rotated_elsewhere_first(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        # A process outside our locks used the same refresh token a moment earlier.
        store.rotate_tokens(MEMBER_ID, expected_version=version, access_token="access-x",
                            refresh_token="refresh-x", expires_at=None)
        return 400, {}, json.dumps({"error": "invalid_grant"})

    responses.add_callback(responses.GET, TOKEN_URL, callback=rotated_elsewhere_first)

    fresh = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID).refresh(version)

    assert fresh.access_token == "access-x"
    assert store.get(MEMBER_ID).state != NEEDS_REINSTALL


@responses.activate
def test_an_unreachable_oauth_server_is_a_transport_error_that_never_ran(
    storage_with_portal, client_settings
):
    responses.get(TOKEN_URL, body=requests.ConnectionError("refused"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version
    refresher = TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID)

    with pytest.raises(TransportError) as caught:
        refresher.refresh(version)
    assert caught.value.maybe_delivered is False and caught.value.code == "unreachable"
    stored = storage_with_portal.portals.get(MEMBER_ID)
    assert (stored.token_version, stored.refresh_token) == (version, REFRESH)


@responses.activate
def test_a_pair_for_another_portal_is_refused_and_not_stored(storage_with_portal,
                                                             client_settings):
    responses.get(TOKEN_URL, json=grant("access-1", "refresh-1", member_id="someone-else"))
    version = storage_with_portal.portals.get(MEMBER_ID).token_version

    with pytest.raises(AuthError) as caught:
        TokenRefresher(storage_with_portal, client_settings(), MEMBER_ID).refresh(version)
    assert caught.value.code == "member_mismatch"
    assert storage_with_portal.portals.get(MEMBER_ID).access_token == ACCESS


# Through the client, against the emulator ---------------------------------------------

CLIENT_CHILD = """
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


def test_expiry_under_8_threads_means_one_refresh_and_no_failed_call(installed_app):
    installed_app.set_plan(1000.0, 1000)  # the budget is not what this test is about
    client = installed_app.client()
    version = installed_app.storage.portals.get(installed_app.member_id).token_version
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
    installed_app.emulator.expire_tokens()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert done[0] == 160
    assert client.auth.refresher.refreshes == 1
    assert installed_app.storage.portals.get(installed_app.member_id).token_version == version + 1


def test_the_new_pair_is_stored_encrypted_before_it_is_used(installed_app):
    client = installed_app.client()
    installed_app.emulator.expire_tokens()
    client.call("user.current")
    stored = installed_app.storage.portals.get(installed_app.member_id)
    assert stored.access_token != installed_app.access_token
    assert stored.refresh_token != installed_app.refresh_token
    assert client.auth.portal.access_token == stored.access_token
    with installed_app.storage.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT access_token_enc FROM portals").scalar()
    assert stored.access_token not in raw


def test_a_second_client_adopts_a_pair_refreshed_elsewhere(installed_app):
    first, second = installed_app.client(), installed_app.client()
    installed_app.emulator.expire_tokens()
    first.call("user.current")
    second.call("user.current")  # its token is stale: re-read, no second refresh
    assert first.auth.refresher.refreshes + second.auth.refresher.refreshes == 1


def test_invalid_grant_marks_reinstall_and_stops_calling(installed_app):
    store = installed_app.storage.portals
    version = store.get(installed_app.member_id).token_version
    store.rotate_tokens(installed_app.member_id, expected_version=version,
                        access_token=installed_app.access_token, refresh_token="revoked",
                        expires_at=None)
    installed_app.emulator.expire_tokens()
    client = installed_app.client()
    with pytest.raises(ReinstallRequired):
        client.call("user.current")
    assert store.get(installed_app.member_id).state == NEEDS_REINSTALL
    sent = installed_app.rest_calls()
    with pytest.raises(ReinstallRequired, match="reinstalled"):
        client.call("user.current")
    with pytest.raises(ReinstallRequired):
        installed_app.client().call("tasks.task.list")
    assert installed_app.rest_calls() == sent


def refresh_in_two_processes(installed_app, tmp_path: Path) -> list[dict]:
    settings = installed_app.settings
    args = {
        "settings": {
            "database_url": settings.database_url,
            "secret_key": settings.secret_key.get_secret_value(),
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "oauth_url": settings.oauth_url, "allow_insecure_portals": True,
        },
        "member_id": installed_app.member_id, "go": str(tmp_path / "go"),
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = []
    for number in range(2):
        ready = tmp_path / f"ready{number}"
        children.append((ready, subprocess.Popen(
            [sys.executable, "-c", CLIENT_CHILD, json.dumps({**args, "ready": str(ready)})],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )))
    wait_until(lambda: all(ready.exists() for ready, _ in children), timeout=30)
    installed_app.emulator.expire_tokens()
    (tmp_path / "go").touch()
    answers = []
    for _ready, child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def assert_one_valid_pair(installed_app) -> None:
    stored = installed_app.storage.portals.get(installed_app.member_id)
    assert stored.state != NEEDS_REINSTALL
    installed_app.emulator.tokens.authenticate(stored.access_token)  # the stored access token works
    installed_app.emulator.expire_tokens()  # and so does the stored refresh token
    assert installed_app.client().call("user.current").result["ID"] == "1"


def test_two_processes_refreshing_at_once_leave_one_valid_pair(installed_app, tmp_path):
    answers = refresh_in_two_processes(installed_app, tmp_path)
    assert [a["id"] for a in answers] == ["1", "1"]
    assert sum(a["refreshes"] for a in answers) == 1
    assert_one_valid_pair(installed_app)


@pytest.mark.postgres
def test_two_processes_refreshing_at_once_on_postgresql(
    emulator, server, make_settings, pg_url, tmp_path
):
    settings = app_settings(make_settings, server, database_url=pg_url)
    storage = open_storage(settings)
    try:
        setup = install(emulator, server, storage, settings)
        answers = refresh_in_two_processes(setup, tmp_path)
        assert sum(a["refreshes"] for a in answers) == 1
        assert_one_valid_pair(setup)
    finally:
        storage.engine.dispose()


def test_a_webhook_client_has_nothing_to_refresh(emulator, server, make_settings):
    client = PortalClient.for_webhook(server.webhook_url("hookcode-never-logged"),
                                      make_settings())
    assert client.call("user.current").result["ID"] == "1"
