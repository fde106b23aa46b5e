"""Metric counters: exact under concurrent writers, one upsert per receiver batch, refused
events cost no write each, and a scrape never reads the journal or the logs in full."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import responses
from sqlalchemy import event, select, text

from connector.observability import metrics as metrics_source
from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.settings import Settings
from connector.storage import counters as metrics
from connector.storage.engines import open_storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import Arrival
from connector.storage.portals import Installation
from connector.storage.rest_state import RestCallStore
from connector.storage.schema import metric_counters
from mappers.portal_events import dedupe_key, parse_event
from tests.support.sql_statements import statements
from tests.webhooks.conftest import task_event
from webhooks.app import create_app

HOOK = "https://portal.example.com/rest/1/code/"




@contextmanager
def sqlite_trace(engine: Any) -> Iterator[list[str]]:
    """Every statement SQLite itself runs inside the block, driver-level ones included."""
    seen: list[str] = []

    def checkout(dbapi_conn, record, proxy):  # type: ignore[no-untyped-def]
        dbapi_conn.set_trace_callback(seen.append)

    def checkin(dbapi_conn, record):  # type: ignore[no-untyped-def]
        dbapi_conn.set_trace_callback(None)

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine.pool, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine.pool, "checkin", checkin)


def _counter(engine: Any, name: str, label_text: str = "") -> float:
    with engine.connect() as conn:
        return conn.execute(select(metric_counters.c.value).where(
            metric_counters.c.name == name, metric_counters.c.labels == label_text)
        ).scalar() or 0.0


def test_concurrent_writers_lose_no_increment(any_storage: Any) -> None:
    engine = any_storage.engine
    key = (metrics.EVENTS_REFUSED, metrics.labels(reason="token_mismatch"))
    other = (metrics.EVENTS_REFUSED, metrics.labels(reason="unknown_portal"))

    def writer() -> None:
        for _ in range(25):
            with engine.begin() as conn:
                metrics.bump(conn, {key: 1, other: 2})

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _counter(engine, *key) == 100
    assert _counter(engine, *other) == 200


def test_a_receiver_batch_adds_one_upsert_whatever_its_mix(any_storage: Any) -> None:
    engine = any_storage.engine
    portal_row = any_storage.portals.save(Installation(
        member_id="m", domain="portal.example.com",
        client_endpoint="https://portal.example.com/rest/"))
    now = datetime.now(UTC)
    arrivals = []
    for name, task in (("ONTASKUPDATE", "1"), ("ONTASKUPDATE", "1"), ("ONTASKADD", "2"),
                       ("ONUSERADD", "3")):
        parsed = parse_event(_nested(task_event(name, task, member_id="m")))
        arrivals.append(Arrival(event=parsed, portal_id=portal_row.id, payload={},
                                dedupe_key=dedupe_key(parsed), received_at=now))
    if engine.dialect.name != "sqlite":
        Journal(engine).record_many(arrivals)
    else:
        with sqlite_trace(engine) as seen:
            Journal(engine).record_many(arrivals)
        assert sum("INSERT INTO journal" in sql for sql in seen) == 4
        assert sum("metric_counters" in sql for sql in seen) == 1
    for labels, value in ((metrics.labels(event="ONTASKUPDATE", state="pending"), 1),
                          (metrics.labels(event="ONTASKUPDATE", state="duplicate"), 1),
                          (metrics.labels(event="ONTASKADD", state="pending"), 1),
                          (metrics.labels(event="ONUSERADD", state="ignored"), 1)):
        assert _counter(engine, metrics.EVENTS_RECEIVED, labels) == value, labels


def test_every_503_is_counted_even_when_the_retry_succeeds(
        make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    calls = RestCallStore(storage.engine)
    client = PortalClient.for_webhook(HOOK, policy=RetryPolicy(
        max_attempts=5, base_delay=0.001, jitter=lambda delay: delay),
        on_call=calls.hook(journal_id=None, portal_id=None))
    with responses.RequestsMock() as portal_answers:
        for _ in range(2):
            portal_answers.post(HOOK + "crm.deal.get", status=503, json={
                "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
        portal_answers.post(HOOK + "crm.deal.get", json={"result": {"ID": "5"}})
        client.call("crm.deal.get", {"id": 5})
    assert client.calls[-1].http_status == 200  # the call itself ended fine
    engine = storage.engine
    assert _counter(engine, metrics.REST_LIMITED, metrics.labels(http_status=503)) == 2
    assert _counter(engine, metrics.REST_RETRIES) == 2
    assert _counter(engine, metrics.REST_REQUESTS,
                    metrics.labels(method="crm.deal.get", result="ok")) == 1


def test_a_flood_of_forged_events_is_counted_without_a_write_each(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    storage = open_storage(settings)
    storage.portals.save(Installation(member_id="m", domain="portal.example.com",
                                      client_endpoint="https://portal.example.com/rest/",
                                      application_token="real-token"))
    storage.portals.mark_installed("m")
    app = create_app(settings, storage)
    client = app.test_client()
    forged = 300
    body = urlencode(task_event(member_id="m", application_token="forged"))
    started = time.monotonic()
    with statements(storage.engine) as seen:
        for _ in range(forged):
            answer = client.post("/bitrix/events", data=body,
                                 content_type="application/x-www-form-urlencoded")
            assert answer.status_code == 401
    elapsed = time.monotonic() - started
    writes = sum("metric_counters" in sql for sql, _ in seen)
    # The flush runs at most once per FLUSH_SECONDS, however many requests arrive.
    assert writes <= 1 + elapsed / metrics.FLUSH_SECONDS
    app.extensions["taskbridge.intake"].flush_counts()
    assert _counter(storage.engine, metrics.EVENTS_REFUSED,
                    metrics.labels(reason="token_mismatch")) == forged


def test_a_scrape_reads_the_journal_only_through_indexes(
        make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    portal_row = storage.portals.save(Installation(member_id="m", domain="m.example",
                                                   client_endpoint="https://m.example/rest/"))
    storage.portals.mark_installed("m")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    with storage.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO journal (portal_id, member_id, received_at, source, event, object_key,"
            " object_type, object_id, payload, dedupe_key, state, attempts)"
            " VALUES (?, 'm', ?, 'online', 'ONTASKUPDATE', 'task:1', 'task', '1', '{}', ?, ?, 1)",
            [(portal_row.id, (t0 + timedelta(seconds=n)).isoformat(sep=" "), f"k{n}",
              "pending" if n % 50 == 0 else "done") for n in range(5000)])
        conn.exec_driver_sql("ANALYZE")
    with statements(storage.engine) as seen:
        text_out = metrics_source.render(metrics_source.collect(storage.engine))
    assert 'taskbridge_journal_depth{state="pending"} 100' in text_out
    read = [(sql, params) for sql, params in seen if "journal" in sql.split("FROM", 1)[-1]]
    assert read, "the scrape reads the journal's depth"
    assert not any("rest_calls" in sql or "scheduler_runs" in sql for sql, _ in seen)
    with storage.engine.connect() as conn:
        for sql, params in read:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            on_journal = [step for step in plan if " journal" in step]
            assert on_journal, (sql, plan)
            for step in on_journal:
                assert step.startswith("SEARCH journal USING"), (sql, plan)
        assert conn.execute(text("SELECT count(*) FROM journal")).scalar() == 5000


def _nested(form: list[tuple]) -> dict:
    from mappers.php_form import parse_form

    return parse_form(form)
