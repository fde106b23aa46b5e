"""`/metrics`: Prometheus text from counters kept by the transactions that change what
they count, and gauges read from indexes, so every worker agrees and nothing goes down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests
import responses

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.scheduler.retention import retention
from connector.settings import Settings
from connector.storage.counters import record_scheduler_run
from connector.storage.engines import open_storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation
from connector.storage.rest_state import RestCallStore
from connector.sync.replay import replay_one
from tests.support.live_server import serve
from tests.webhooks.conftest import APP_TOKEN, MEMBER, task_event
from webhooks.app import create_app

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
HOOK = "https://portal.example.com/rest/1/code/"


def _scrape(app) -> str:  # type: ignore[no-untyped-def]
    with serve(app) as server:
        answer = requests.get(f"{server.url}/metrics", timeout=10)
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.text


def _value(text: str, series: str) -> float:
    [line] = [line for line in text.splitlines() if line.rsplit(" ", 1)[0] == series]
    return float(line.rsplit(" ", 1)[1])


def test_a_day_of_events_calls_refreshes_and_runs_shows_in_every_workers_metrics(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(journal_retention_days=1)
    storage = open_storage(settings)
    storage.portals.save(Installation(
        member_id=MEMBER, domain="portal.example.com",
        client_endpoint="https://portal.example.com/rest/", access_token="at",
        refresh_token="rt", application_token=APP_TOKEN))
    storage.portals.mark_installed(MEMBER)
    app = create_app(settings, storage)
    with serve(app) as server:
        url = f"{server.url}/bitrix/events"
        for body in (task_event(task_id="1"), task_event(task_id="2"), task_event(task_id="2"),
                     task_event("ONUSERADD")):
            assert requests.post(url, data=body, timeout=10).status_code == 200
        assert requests.post(url, data=task_event(application_token="forged"),
                             timeout=10).status_code == 401
        assert requests.post(url, data=task_event(member_id="ffff"),
                             timeout=10).status_code == 401
    app.extensions["taskbridge.intake"].flush_counts()

    # The worker: task 1 is done, task 2 dies on its only try, is replayed and then done.
    journal = Journal(storage.engine)
    later = datetime.now(UTC) + timedelta(minutes=1)  # past the worker's coalescing delay
    one, two = journal.claim_batch("w", now=later)
    journal.finish([one.id])
    journal.fail([two], "tasks.task.get: QUERY_LIMIT_EXCEEDED", max_attempts=1)
    replay_one(storage.engine, two.id, by="support")
    [again] = journal.claim_batch("w", now=later)
    journal.finish([again.id])

    # A read that met a 503, was retried and then answered.
    calls = RestCallStore(storage.engine)
    client = PortalClient.for_webhook(HOOK, policy=RetryPolicy(
        max_attempts=3, base_delay=0.001, jitter=lambda delay: delay),
        on_call=calls.hook(journal_id=again.id, portal_id=again.portal_id))
    with responses.RequestsMock() as portal_answers:
        portal_answers.post(HOOK + "tasks.task.get", status=503, json={
            "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
        portal_answers.post(HOOK + "tasks.task.get", json={"result": {"task": {"id": "2"}}})
        client.call("tasks.task.get", {"taskId": 2})
    portal = storage.portals.get(MEMBER)
    assert storage.portals.rotate_tokens(MEMBER, expected_version=portal.token_version,
                                         access_token="at2", refresh_token="rt2",
                                         expires_at=None)
    record_scheduler_run(storage.engine, "overdue_sweep", started_at=T0, finished_at=T0,
                         outcome="ok")

    before = _scrape(app)
    # Retention forgets every finished row and REST call: no counter goes down.
    assert retention(storage, settings, now=datetime.now(UTC) + timedelta(days=3)) == 4
    assert journal.count() == 0
    texts = [_scrape(app), _scrape(create_app(settings, open_storage(settings)))]
    text = texts[0]
    for series, value in (
        ('taskbridge_events_received_total{event="ONTASKUPDATE",state="pending"}', 2),
        ('taskbridge_events_received_total{event="ONTASKUPDATE",state="duplicate"}', 1),
        ('taskbridge_events_received_total{event="ONUSERADD",state="ignored"}', 1),
        ('taskbridge_events_refused_total{reason="token_mismatch"}', 1),
        ('taskbridge_events_refused_total{reason="unknown_portal"}', 1),
        ('taskbridge_events_finished_total{event="ONTASKUPDATE",outcome="done"}', 2),
        ('taskbridge_events_finished_total{event="ONTASKUPDATE",outcome="dead"}', 1),
        ('taskbridge_processing_latency_seconds_bucket{le="+Inf"}', 2),
        ("taskbridge_processing_latency_seconds_count", 2),
        ('taskbridge_rest_requests_total{method="tasks.task.get",result="ok"}', 1),
        ('taskbridge_rest_limited_answers_total{http_status="503"}', 1),
        ('taskbridge_rest_limited_answers_total{http_status="429"}', 0),
        ("taskbridge_rest_retries_total", 1),
        (f'taskbridge_token_refreshes_total{{member_id="{MEMBER}"}}', 1),
        ('taskbridge_scheduler_runs_total{job="overdue_sweep",outcome="ok"}', 1),
        ('taskbridge_journal_depth{state="pending"}', 0),
        ("taskbridge_journal_oldest_age_seconds", 0),
        ('taskbridge_portals{state="installed"}', 1),
    ):
        assert _value(text, series) == value, series
        if "journal_" not in series:
            assert _value(before, series) == value, series
    assert _value(before, "taskbridge_processing_latency_seconds_sum") == _value(
        text, "taskbridge_processing_latency_seconds_sum") > 0
    assert "# TYPE taskbridge_processing_latency_seconds histogram" in text
    assert "# TYPE taskbridge_events_finished_total counter" in text
    assert texts[1] == text  # a second worker reads the same numbers
    for secret in ("at2", "rt2", APP_TOKEN, "forged"):
        assert f'"{secret}"' not in text and f" {secret}\n" not in text


def test_the_oldest_waiting_event_sets_the_age_and_depth(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    storage = open_storage(settings)
    portal = storage.portals.save(Installation(member_id="m", domain="m.example",
                                               client_endpoint="https://m.example/rest/"))
    storage.portals.mark_installed("m")
    journal = Journal(storage.engine)
    for minutes, task in ((30, "1"), (10, "2")):
        journal.enqueue(portal_id=portal.id, member_id="m", event="ONTASKUPDATE",
                        object_type="task", object_id=task, payload={}, source="sweep",
                        now=T0 - timedelta(minutes=minutes))
    [oldest, _newer] = journal.claim_batch("w", now=T0, limit=2)
    journal.fail([oldest], "later", max_attempts=5, now=T0)
    text = _scrape(create_app(settings, storage))
    assert _value(text, 'taskbridge_journal_depth{state="failed"}') == 1
    assert _value(text, 'taskbridge_journal_depth{state="processing"}') == 1
    assert _value(text, 'taskbridge_journal_depth{state="pending"}') == 0
    age = _value(text, "taskbridge_journal_oldest_age_seconds")
    assert age >= (datetime.now(UTC) - (T0 - timedelta(minutes=30))).total_seconds() - 60


def _installed(make_settings: Callable[..., Settings], **overrides: object):  # type: ignore[no-untyped-def]
    settings = make_settings(**overrides)
    storage = open_storage(settings)
    storage.portals.save(Installation(member_id=MEMBER, domain="portal.example.com",
                                      client_endpoint="https://portal.example.com/rest/"))
    storage.portals.mark_installed(MEMBER)
    return create_app(settings, storage)


def _get(app, address: str, **headers: str):  # type: ignore[no-untyped-def]
    return app.test_client().get("/metrics", headers=headers,
                                 environ_base={"REMOTE_ADDR": address})


def test_without_a_token_only_loopback_callers_read_the_metrics(
        make_settings: Callable[..., Settings]) -> None:
    app = _installed(make_settings)
    for address in ("127.0.0.1", "127.8.9.10", "::1"):
        assert _get(app, address).status_code == 200, address
    for address in ("203.0.113.5", "10.0.0.7", "::ffff:203.0.113.5", "2001:db8::1"):
        refused = _get(app, address)
        assert refused.status_code == 403, address
        assert refused.json["error"] == "metrics_loopback_only"
        assert "TASKBRIDGE_METRICS_TOKEN" in refused.json["error_description"]
        assert MEMBER not in refused.get_data(as_text=True)


def test_with_a_token_every_caller_must_send_it(make_settings: Callable[..., Settings]) -> None:
    app = _installed(make_settings, metrics_token="scrape-token-0123456789")
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic scrape-token-0123456789"}):
        for address in ("127.0.0.1", "203.0.113.5"):
            refused = _get(app, address, **headers)
            assert refused.status_code == 401, (address, headers)
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert MEMBER not in refused.get_data(as_text=True)
    scraped = _get(app, "203.0.113.5", Authorization="Bearer scrape-token-0123456789")
    assert scraped.status_code == 200
    assert scraped.headers["Content-Type"].startswith("text/plain; version=0.0.4")
