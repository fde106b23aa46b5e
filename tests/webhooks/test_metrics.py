"""`/metrics`: Prometheus text computed from the database, so every worker agrees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import insert

from connector.call_log import CallRecord
from connector.metrics_source import record_scheduler_run
from connector.portal_store import Installation
from connector.rest_call_store import RestCallStore
from connector.schema import journal
from connector.settings import Settings
from connector.storage import open_storage
from tests.support.live_server import serve
from webhooks.app import create_app

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


def test_metrics_count_events_queue_latency_rest_tokens_and_scheduler(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    storage = open_storage(settings)
    portal = storage.portals.save(Installation(member_id="m", domain="m.example",
                                               client_endpoint="https://m.example/rest/"))
    rows = [("ONTASKUPDATE", "done", 0.3), ("ONTASKUPDATE", "done", 4.0),
            ("ONTASKADD", "dead", None), ("ONTASKADD", "pending", None)]
    with storage.engine.begin() as conn:
        conn.execute(insert(journal), [
            dict(portal_id=portal.id, member_id="m", received_at=T0, source="online",
                 event=event, object_key="task:1", payload={}, dedupe_key=str(n), state=state,
                 attempts=0, finished_at=T0 + timedelta(seconds=late) if late else None)
            for n, (event, state, late) in enumerate(rows)
        ])
    calls = RestCallStore(storage.engine)
    for status, code in ((200, None), (503, "QUERY_LIMIT_EXCEEDED"), (429, "OPERATION_TIME_LIMIT")):
        calls.record(CallRecord(portal="m", method="tasks.task.get", duration=0.1,
                                http_status=status, error_code=code, retries=1),
                     journal_id=None, portal_id=portal.id)
    record_scheduler_run(storage.engine, "overdue_sweep", started_at=T0, finished_at=T0,
                         outcome="ok")
    apps = [create_app(settings, storage), create_app(settings, open_storage(settings))]
    texts = []
    for app in apps:  # two "workers": same numbers from the shared database
        with serve(app) as server:
            answer = requests.get(f"{server.url}/metrics", timeout=10)
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            texts.append(answer.text)
    text = texts[0]
    for line in (
        'taskbridge_events_total{event="ONTASKUPDATE",state="done"} 2',
        'taskbridge_events_total{event="ONTASKADD",state="dead"} 1',
        'taskbridge_journal_depth{state="pending"} 1',
        'taskbridge_processing_latency_seconds_bucket{le="0.5"} 1',
        'taskbridge_processing_latency_seconds_bucket{le="5"} 2',
        "taskbridge_processing_latency_seconds_count 2",
        'taskbridge_rest_requests_total{method="tasks.task.get",result="ok"} 1',
        'taskbridge_rest_requests_total{method="tasks.task.get",result="QUERY_LIMIT_EXCEEDED"} 1',
        'taskbridge_rest_limited_total{http_status="503"} 1',
        'taskbridge_rest_limited_total{http_status="429"} 1',
        "taskbridge_rest_retries_total 3",
        'taskbridge_token_refreshes_total{member_id="m"} 0',
        'taskbridge_scheduler_runs_total{job="overdue_sweep",outcome="ok"} 1',
    ):
        assert line in text.splitlines(), line
    assert "# TYPE taskbridge_processing_latency_seconds histogram" in text
    age = next(line for line in text.splitlines()
               if line.startswith("taskbridge_journal_oldest_age_seconds "))
    assert float(age.split()[1]) > 0
    strip = [line for line in texts[1].splitlines() if "oldest_age" not in line]
    assert strip == [line for line in text.splitlines() if "oldest_age" not in line]
