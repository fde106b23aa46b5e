"""PortalClient against the emulator: calls, batches, typed errors, a moved portal."""

from __future__ import annotations

import pytest

from connector.rest.client import PortalClient
from connector.rest.errors import (
    InsufficientScope,
    NotFound,
    PortalGone,
    ReinstallRequired,
    error_for,
)
from connector.rest.method_kinds import is_idempotent, is_write
from connector.storage.portals import NEEDS_REINSTALL
from tests.connector.rest.emulated_portal import WEBHOOK_CODE, add_tasks


def test_call_answers_result_total_next_and_time(installed_app):
    add_tasks(installed_app.emulator, 60)
    answer = installed_app.client().call("tasks.task.list", {"select": ["ID"]})
    assert len(answer.result["tasks"]) == 50
    assert (answer.total, answer.next) == (60, 50)
    assert "duration" in answer.time


def test_webhook_mode_calls_the_webhook_address(emulator, server, make_settings):
    client = PortalClient.for_webhook(server.webhook_url(WEBHOOK_CODE),
                                      make_settings())
    assert client.call("user.current").result["ID"] == "1"
    assert emulator.call_log.records()[-1].auth_type == "webhook"
    assert WEBHOOK_CODE not in client.portal_key


def test_unknown_method_is_not_found(installed_app):
    with pytest.raises(NotFound, match="ERROR_METHOD_NOT_FOUND"):
        installed_app.client().call("no.such.method", write=False)


def test_missing_scope_is_insufficient_scope(installed_app):
    installed_app.emulator.app("local.taskbridge.rest").scope = ["task"]
    with pytest.raises(InsufficientScope) as caught:
        installed_app.client().call("crm.deal.list")
    assert (caught.value.code, caught.value.http_status) == ("insufficient_scope", 403)


@pytest.mark.parametrize(("status", "code", "expected"), [
    (401, "expired_token", "ExpiredToken"),
    (401, "NO_AUTH_FOUND", "AuthError"),
    (403, "ACCESS_DENIED", "InsufficientScope"),
    (429, "OPERATION_TIME_LIMIT", "OperationTimeLimit"),
    (503, "QUERY_LIMIT_EXCEEDED", "QueryLimitExceeded"),
    (503, "OVERLOAD_LIMIT", "QueryLimitExceeded"),
    (500, "INTERNAL_SERVER_ERROR", "ServerError"),
    (502, "", "ServerError"),
    (400, "ERROR_CORE", "MethodError"),
    (400, "NOT_FOUND", "NotFound"),
    (None, "PORTAL_DELETED", "PortalGone"),
])
def test_one_function_maps_status_and_code_to_a_class(status, code, expected):
    assert error_for(status, code).__name__ == expected


@pytest.mark.parametrize(("method", "write", "idempotent"), [
    ("tasks.task.list", False, True),
    ("crm.deal.get", False, True),
    ("crm.deal.fields", False, True),
    ("user.current", False, True),
    ("event.get", False, True),
    ("tasks.task.add", True, False),
    ("tasks.task.complete", True, False),
    ("tasks.task.start", True, False),
    ("crm.deal.update", True, True),
    ("tasks.task.delete", True, False),
    ("event.offline.get", True, False),
    ("something.unknown", True, False),
])
def test_writes_are_inferred_from_the_method_name(method, write, idempotent):
    assert (is_write(method), is_idempotent(method)) == (write, idempotent)


def test_batch_maps_results_and_errors_to_the_callers_keys(installed_app):
    add_tasks(installed_app.emulator, 2)
    outcome = installed_app.client().batch({
        "me": ("user.current", {}),
        "first": ("tasks.task.get", {"taskId": 1}),
        "broken": ("no.such.method", {}),
    })
    assert outcome.results["me"]["ID"] == "1"
    assert outcome.results["first"]["task"]["id"] == "1"
    assert isinstance(outcome.errors["broken"], NotFound)
    assert outcome.errors["broken"].method == "no.such.method"
    assert outcome.requests == 1


def test_batch_sends_fifty_commands_per_request(installed_app):
    add_tasks(installed_app.emulator, 3)
    commands = {f"t{i}": ("tasks.task.get", {"taskId": 1 + i % 3}) for i in range(120)}
    outcome = installed_app.client().batch(commands)
    assert len(outcome.results) == 120 and not outcome.errors
    assert installed_app.rest_calls("batch") == 3


def test_batch_halt_stops_at_the_first_error(installed_app):
    commands = {f"c{i}": ("user.current", {}) for i in range(60)}
    commands["c10"] = ("no.such.method", {})
    outcome = installed_app.client().batch(commands, halt=True)
    assert list(outcome.errors) == ["c10"]
    assert len(outcome.results) == 10
    assert "c59" in outcome.skipped
    assert installed_app.rest_calls("batch") == 1


def test_batch_results_can_refer_to_earlier_commands(installed_app):
    add_tasks(installed_app.emulator, 1)
    outcome = installed_app.client().batch({
        "list": ("tasks.task.list", {"select": ["ID"]}),
        "get": ("tasks.task.get", {"taskId": "$result[list][tasks][0][id]"}),
    })
    assert outcome.results["get"]["task"]["id"] == "1"


def test_a_moved_portal_is_called_at_its_new_address_and_recorded(installed_app, old_address):
    store = installed_app.storage.portals
    store.update_endpoint(installed_app.member_id, "old.example", f"{old_address.url}/rest/")
    client = installed_app.client()
    assert client.call("tasks.task.add", {"fields": {"TITLE": "After the move"}}).result
    assert len(installed_app.emulator.state.tasks) == 1
    moved = store.get(installed_app.member_id)
    assert moved.client_endpoint == installed_app.emulator.client_endpoint
    assert moved.domain == installed_app.emulator.domain


def test_a_portal_needing_reinstall_is_not_contacted(installed_app):
    installed_app.storage.portals.mark_needs_reinstall(installed_app.member_id, "invalid_grant")
    with pytest.raises(ReinstallRequired, match="needs the app reinstalled"):
        installed_app.client().call("user.current")
    assert installed_app.rest_calls() == 0
    assert installed_app.storage.portals.get(installed_app.member_id).state == NEEDS_REINSTALL


def test_an_uninstalled_portal_is_not_contacted(installed_app):
    installed_app.storage.portals.mark_uninstalled(installed_app.member_id)
    with pytest.raises(PortalGone):
        installed_app.client().call("user.current")
    assert installed_app.rest_calls() == 0
