"""Retries: reads retry on anything transient, writes only where they provably did not run."""

from __future__ import annotations

import logging
import random
import socket

import pytest
import requests
import responses

from connector.rest.client import PortalClient
from connector.rest.errors import (
    AuthError,
    MethodError,
    OutcomeUnknown,
    QueryLimitExceeded,
    ServerError,
    TransportError,
)
from connector.rest.retry_policy import RetryPolicy, backoff, equal_jitter, should_retry
from tests.connector.rest.emulated_portal import FAST_RETRIES, app_settings, install, wait_until

LIMIT = QueryLimitExceeded("", http_status=503, code="QUERY_LIMIT_EXCEEDED")
REFUSED = TransportError("refused", maybe_delivered=False)
TIMEOUT = TransportError("read timeout", maybe_delivered=True)
BROKEN = ServerError("", http_status=500)


@pytest.mark.parametrize(("error", "attempt", "is_write", "retry"), [
    (LIMIT, 1, False, True),
    (LIMIT, 1, True, True),      # a 503 limit answer: the write never ran
    (REFUSED, 1, True, True),    # never connected: the write never ran
    (TIMEOUT, 1, False, True),
    (TIMEOUT, 1, True, False),   # may have run: outcome unknown
    (BROKEN, 2, False, True),
    (BROKEN, 1, True, False),
    (LIMIT, 5, False, False),    # bounded in attempts
    (AuthError("no"), 1, False, False),
    (MethodError("bad"), 1, False, False),
])
def test_should_retry(error, attempt, is_write, retry):
    assert should_retry(error, attempt, is_write).retry is retry


def test_backoff_doubles_up_to_a_cap_and_jitter_keeps_half():
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    rolls = [equal_jitter(4.0, random.Random(seed)) for seed in range(20)]
    assert all(2.0 <= roll <= 4.0 for roll in rolls)


def test_each_retry_is_logged_once_with_its_reason(caplog):
    waits: list[float] = []
    policy = RetryPolicy(jitter=lambda delay: delay, sleep=waits.append)
    attempts = iter([LIMIT, LIMIT, "ok"])

    def attempt() -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with caplog.at_level(logging.WARNING, logger="connector.rest"):
        assert policy.run(attempt, is_write=True, label="tasks.task.add on p1") == "ok"
    assert waits == [0.5, 1.0]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert all("tasks.task.add on p1" in line and "limit (503)" in line for line in lines)


def test_a_write_that_timed_out_after_running_is_not_repeated(
    emulator, server, make_settings
):
    setup = install(emulator, server, *_storage(make_settings, server, http_timeout=0.2))
    emulator.set_faults(delay=0.6, methods=["tasks.task.add"])
    client = setup.client()
    with pytest.raises(OutcomeUnknown, match="may have run"):
        client.call("tasks.task.add", {"fields": {"TITLE": "Once"}})
    wait_until(lambda: len(emulator.state.tasks) == 1)  # the portal did run it
    wait_until(lambda: emulator.call_log.count("tasks.task.add") == 1)
    assert client.calls[-1].retries == 0 and client.calls[-1].requests == 1
    assert client.calls[-1].error_code == "OUTCOME_UNKNOWN"
    setup.storage.engine.dispose()


def test_a_read_that_timed_out_is_repeated(emulator, server, make_settings):
    setup = install(emulator, server, *_storage(make_settings, server, http_timeout=0.2))
    emulator.set_faults(delay=0.6, methods=["tasks.task.list"])
    client = setup.client(policy=RetryPolicy(max_attempts=2, base_delay=0.001,
                                             jitter=lambda d: d))
    with pytest.raises(TransportError, match="read timeout"):
        client.call("tasks.task.list")
    assert client.calls[-1].retries == 1
    setup.storage.engine.dispose()


def test_a_500_on_a_write_is_outcome_unknown_and_not_repeated(installed_app):
    installed_app.emulator.set_faults(error_500_rate=1.0, methods=["tasks.task.add"])
    with pytest.raises(OutcomeUnknown):
        installed_app.client().call("tasks.task.add", {"fields": {"TITLE": "x"}})
    assert installed_app.emulator.call_log.count() == 0  # the fault answered before any method ran


def test_503s_are_retried_even_for_writes(installed_app):
    installed_app.emulator.set_faults(error_503_rate=0.6, seed=3, methods=["tasks.task.add"])
    client = installed_app.client(policy=RetryPolicy(max_attempts=10, base_delay=0.001,
                                                 jitter=lambda d: d))
    client.call("tasks.task.add", {"fields": {"TITLE": "Exactly once"}})
    assert len(installed_app.emulator.state.tasks) == 1
    assert client.calls[-1].retries >= 1


def test_an_idempotent_update_is_repeated_after_a_500(installed_app):
    task_id = installed_app.emulator.as_user(1).create_task(title="Before")
    installed_app.emulator.set_faults(error_500_rate=0.5, seed=1, methods=["tasks.task.update"])
    client = installed_app.client(policy=RetryPolicy(max_attempts=10, base_delay=0.001,
                                                 jitter=lambda d: d))
    client.call("tasks.task.update", {"taskId": task_id, "fields": {"TITLE": "After"}})
    assert installed_app.emulator.task(task_id)["title"] == "After"


def test_a_refused_connection_is_retried_for_writes_and_never_unknown(make_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PortalClient.for_webhook(f"http://127.0.0.1:{port}/rest/1/code/",
                                      make_settings(), policy=FAST_RETRIES)
    with pytest.raises(TransportError) as caught:
        client.call("tasks.task.add", {"fields": {"TITLE": "x"}})
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.maybe_delivered is False
    assert client.calls[-1].retries == FAST_RETRIES.max_attempts - 1


HOOK = "https://portal.example.com/rest/1/code/"


@responses.activate
def test_a_dropped_read_is_repeated():
    responses.post(HOOK + "user.current", body=requests.ConnectionError("reset by peer"))
    responses.post(HOOK + "user.current", json={"result": {"ID": "1"}, "time": {}})
    client = PortalClient.for_webhook(HOOK, policy=FAST_RETRIES)
    assert client.call("user.current").result == {"ID": "1"}
    assert client.calls[-1].retries == 1


@responses.activate
def test_a_dropped_write_is_outcome_unknown():
    responses.post(HOOK + "tasks.task.add", body=requests.ConnectionError("reset by peer"))
    client = PortalClient.for_webhook(HOOK, policy=FAST_RETRIES)
    with pytest.raises(OutcomeUnknown):
        client.call("tasks.task.add", {"fields": {"TITLE": "x"}})
    assert len(responses.calls) == 1


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", "[1, 2]", '{"no": "result"}'])
@responses.activate
def test_a_malformed_answer_is_a_transport_error_and_a_read_retries_it(body):
    responses.post(HOOK + "crm.deal.get", body=body, status=200)
    responses.post(HOOK + "crm.deal.get", json={"result": {"ID": "5"}})
    client = PortalClient.for_webhook(HOOK, policy=FAST_RETRIES)
    assert client.call("crm.deal.get", {"id": 5}).result == {"ID": "5"}
    assert client.calls[-1].retries == 1


@responses.activate
def test_a_gateway_error_without_json_is_a_server_error():
    responses.post(HOOK + "crm.deal.add", body="Bad gateway", status=502)
    client = PortalClient.for_webhook(HOOK, policy=FAST_RETRIES)
    with pytest.raises(OutcomeUnknown) as caught:
        client.call("crm.deal.add", {"fields": {"TITLE": "x"}})
    assert caught.value.http_status == 502


def _storage(make_settings, server, **overrides):
    from connector.storage.engines import open_storage

    settings = app_settings(make_settings, server, **overrides)
    return open_storage(settings), settings
