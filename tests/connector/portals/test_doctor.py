"""`taskbridge doctor` against the emulated portal: healthy, then one thing broken per test."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import cli
from connector.portals.doctor import diagnose
from tests.support.stack import CLIENT_ID


def _env(taskbridge: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s = taskbridge.settings
    for name, value in {
        "DATABASE_URL": s.database_url, "SECRET_KEY": s.secret_key.get_secret_value(),
        "PUBLIC_URL": s.public_url, "OAUTH_URL": s.oauth_url, "CLIENT_ID": s.client_id,
        "CLIENT_SECRET": s.client_secret.get_secret_value(), "ALLOW_INSECURE_PORTALS": "true",
    }.items():
        monkeypatch.setenv(f"TASKBRIDGE_{name}", value)


def checks(taskbridge: Any) -> dict[str, Any]:
    found = diagnose(taskbridge.storage, taskbridge.settings, taskbridge.portal.member_id)
    return {check.name: check for check in found}


def test_an_installed_portal_passes_every_check(taskbridge: Any) -> None:
    taskbridge.install()
    found = checks(taskbridge)
    assert set(found) == {"state", "reachability", "clock", "token refresh", "scopes",
                          "event bindings", "status field", "placements", "automation rules"}
    assert all(check.ok for check in found.values()), found


def test_a_missing_binding_is_named_with_a_fix(taskbridge: Any) -> None:
    taskbridge.install()
    client = taskbridge.portal.emulator
    token = taskbridge.stored().access_token
    import requests

    requests.post(f"{client.client_endpoint}event.unbind", timeout=10, json={
        "auth": token, "event": "ONTASKUPDATE",
        "handler": f"{taskbridge.url}/bitrix/events"}).raise_for_status()
    found = checks(taskbridge)["event bindings"]
    assert not found.ok
    assert found.detail == "missing: ONTASKUPDATE"
    assert "reinstall" in found.hint


def test_a_skewed_clock_is_a_problem(taskbridge: Any) -> None:
    taskbridge.install()
    taskbridge.portal.emulator.advance_time(600)
    found = checks(taskbridge)["clock"]
    assert not found.ok and found.detail.startswith("skew -")
    assert "NTP" in found.hint


def test_the_command_exits_non_zero_on_a_problem(taskbridge: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    taskbridge.install()
    _env(taskbridge, monkeypatch)
    member = taskbridge.portal.member_id
    healthy = CliRunner().invoke(cli, ["doctor", member])
    assert healthy.exit_code == 0, healthy.output
    assert "FAIL" not in healthy.output
    taskbridge.portal.emulator.advance_time(600)
    broken = CliRunner().invoke(cli, ["doctor", member])
    assert broken.exit_code == 1
    assert "FAIL clock" in broken.output
    assert broken.output.strip().splitlines()[-1] == "Error: 1 problem(s): clock"


def test_an_unreachable_portal_stops_at_reachability(taskbridge: Any) -> None:
    taskbridge.install()
    taskbridge.storage.portals.update_endpoint(taskbridge.portal.member_id, "127.0.0.1:9",
                                               "http://127.0.0.1:9/rest/")
    found = checks(taskbridge)
    assert not found["reachability"].ok
    assert "answers from this host" in found["reachability"].hint
    assert "scopes" not in found


def test_a_binding_left_at_an_old_address_is_named_and_setup_removes_it(
        taskbridge: Any) -> None:
    """After PUBLIC_URL moved, the portal would keep posting every event to the old one."""
    import requests

    from connector.portals.install import ensure_setup
    from connector.rest.client import PortalClient

    taskbridge.install()
    old = "http://127.0.0.1:9"
    token = taskbridge.stored().access_token
    endpoint = taskbridge.portal.emulator.client_endpoint
    for method, params in (
        ("event.bind", {"event": "ONTASKADD", "handler": f"{old}/bitrix/events"}),
        ("placement.bind", {"PLACEMENT": "TASK_VIEW_TAB", "HANDLER": f"{old}/bitrix/placement",
                            "TITLE": "TaskBridge"}),
    ):
        requests.post(f"{endpoint}{method}", timeout=10,
                      json={"auth": token, **params}).raise_for_status()
    found = checks(taskbridge)
    assert not found["event bindings"].ok
    assert found["event bindings"].detail == \
        f"bound to another handler: ONTASKADD → {old}/bitrix/events"
    assert "unbinds" in found["event bindings"].hint
    assert found["placements"].detail == \
        f"bound to another handler: TASK_VIEW_TAB → {old}/bitrix/placement"

    client = PortalClient.for_portal(taskbridge.storage, taskbridge.settings,
                                     taskbridge.portal.member_id)
    try:
        report = ensure_setup(client, taskbridge.settings, language="en")
    finally:
        client.close()
    assert report.unbound_events == [f"ONTASKADD → {old}/bitrix/events"]
    assert report.unbound_placements == [f"TASK_VIEW_TAB → {old}/bitrix/placement"]
    assert all(check.ok for check in checks(taskbridge).values())


def test_rules_the_portal_dropped_are_named_with_a_fix(taskbridge: Any) -> None:
    taskbridge.install()
    taskbridge.portal.emulator.automation.drop_robots(CLIENT_ID)
    rules = checks(taskbridge)["automation rules"]
    assert not rules.ok
    assert "taskbridge_create_task" in rules.detail
    assert "reinstall" in rules.hint


def test_a_portal_without_bizproc_is_told_how_to_get_the_rules(taskbridge: Any) -> None:
    app = taskbridge.portal.emulator.state.apps[CLIENT_ID]
    app.scope = [scope for scope in app.scope if scope != "bizproc"]
    taskbridge.install()
    rules = checks(taskbridge)["automation rules"]
    assert rules.ok
    assert "bizproc" in rules.detail and "bizproc" in rules.hint
