"""Registering TaskBridge's automation rules: with the install's own two batches, once;
a re-install adds nothing, a changed definition is updated, rules an app update dropped
are added back, and a portal without `bizproc` installs without them."""

from __future__ import annotations

from typing import Any

from connector.portals.install import SetupReport, ensure_setup
from connector.portals.robots import NO_SCOPE, RULES, RobotSetup, definitions, has_scope
from connector.rest.client import PortalClient
from tests.support.stack import CLIENT_ID


def robots_on(taskbridge: Any) -> dict[str, dict[str, Any]]:
    return {robot["code"]: robot for robot in taskbridge.portal.robots(CLIENT_ID)}


def setup_again(taskbridge: Any, registered: dict[str, Any] | None) -> SetupReport:
    stored = taskbridge.stored()
    client = PortalClient.for_portal(taskbridge.storage, taskbridge.settings, stored.member_id)
    try:
        return ensure_setup(client, taskbridge.settings, language="en",
                            rules=RobotSetup(stored.scope, 1, registered))
    finally:
        client.close()


def test_the_install_registers_the_rules_as_the_installing_admin(taskbridge: Any) -> None:
    calls = taskbridge.rest_calls
    taskbridge.install()
    robots = robots_on(taskbridge)
    assert set(robots) == set(RULES)
    assert {robot["auth_user_id"] for robot in robots.values()} == {1}
    assert {robot["handler"] for robot in robots.values()} == {
        f"{taskbridge.url}/bitrix/robots"}
    assert robots["taskbridge_wait_for_tasks"]["name"]["it"].startswith("TaskBridge: attendi")
    record = taskbridge.stored().robots
    assert record["state"] == "registered" and record["auth_user_id"] == 1
    # user.admin, the setup's read batch and its write batch: no request for the rules.
    assert taskbridge.rest_calls - calls <= 4


def test_a_reinstall_reads_the_rules_and_changes_nothing(taskbridge: Any) -> None:
    taskbridge.install()
    report = setup_again(taskbridge, taskbridge.stored().robots)
    assert (report.added_robots, report.updated_robots) == ([], [])
    assert report.requests == 1


def test_a_changed_definition_is_updated_in_place(taskbridge: Any) -> None:
    taskbridge.install()
    older = {**taskbridge.stored().robots, "digest": "from an older TaskBridge"}
    report = setup_again(taskbridge, older)
    assert sorted(report.updated_robots) == sorted(RULES)
    assert report.added_robots == []
    assert report.requests == 2
    assert set(robots_on(taskbridge)) == set(RULES)


def test_rules_an_app_update_dropped_are_added_back(taskbridge: Any) -> None:
    taskbridge.install()
    taskbridge.portal.update_app(CLIENT_ID)
    assert robots_on(taskbridge) == {}
    taskbridge.drain()
    assert set(robots_on(taskbridge)) == set(RULES)


def test_a_portal_without_bizproc_installs_without_rules(taskbridge: Any) -> None:
    app = taskbridge.portal.emulator.state.apps[CLIENT_ID]
    app.scope = [scope for scope in app.scope if scope != "bizproc"]
    stored = taskbridge.install()
    assert stored.state == "installed"
    assert robots_on(taskbridge) == {}
    assert stored.robots["state"] == "skipped"
    assert stored.robots["reason"] == NO_SCOPE


def test_the_scope_is_read_as_the_oauth_server_lists_it() -> None:
    assert has_scope("crm,task,bizproc") and has_scope("crm bizproc")
    assert not has_scope("crm,task") and not has_scope("bizprocx")
    assert definitions("https://tb.example", 7)["taskbridge_task_status"]["AUTH_USER_ID"] == 7
