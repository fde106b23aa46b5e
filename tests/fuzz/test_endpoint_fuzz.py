"""Generated requests against every route of the app under gunicorn: malformed, oversized,
deeply nested and wrongly typed input, ids that fool `str.isdigit`, control characters
and newlines in query and header values, chunked and unframed bodies, wrong content
types and methods, every kind of viewer of the admin pages.

No answer is a 5xx (or no answer at all), no gunicorn worker dies or is replaced, and
the journal gains rows only for requests allowed to write one: an event answered 200, a
placement answered 200 (a task view), a settings form answered 303, a backfill queued
(202 or 303), and the events the emulated portal itself delivered meanwhile. Every
failure is collected with a small reproduction and the traceback from gunicorn's log
before the test fails.

`FUZZ_EXAMPLES=10000 FUZZ_REPORT=/tmp/fuzz-endpoints.json \
 .venv/bin/pytest tests/fuzz/test_endpoint_fuzz.py -q` runs the full 10,000."""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from connector.settings import Settings
from tests.fuzz.admin_requests import (
    admin_requests,
    health_requests,
    login_requests,
    static_requests,
)
from tests.fuzz.conftest import Gunicorn
from tests.fuzz.fuzz_keys import FuzzKeys, gather_keys
from tests.fuzz.generated import Fuzzed
from tests.fuzz.hostile import MAX_BODY, texts
from tests.fuzz.raw_http import RawAnswer, RawRequest, send
from tests.fuzz.receiver_requests import (
    card_form_requests,
    event_requests,
    install_requests,
    placement_requests,
    robot_requests,
    task_api_requests,
)
from webhooks.app import create_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "500"))
ADMIN_ENDPOINTS = ("admin.log_list", "admin.my_settings", "admin.replay_filtered",
                   "admin.logout", "admin.entry", "admin.replay_entry", "admin.item",
                   "admin.export", "admin.settings", "admin.backfill_start",
                   "admin.backfill_status")
HEALTH = {"health.healthz": "/healthz", "health.readyz": "/readyz", "metrics.metrics": "/metrics"}
JOURNALING = ("events.receive", "placement.open_placement", "robots.receive")


def strategies(keys: FuzzKeys) -> dict[str, st.SearchStrategy[Fuzzed]]:
    """One strategy per url_map endpoint."""
    table: dict[str, st.SearchStrategy[Fuzzed]] = {
        "install.receive": install_requests(keys),
        "events.receive": event_requests(keys),
        "placement.open_placement": placement_requests(keys),
        "placement_tabs.create_task": card_form_requests(keys),
        "task_api.create_task": task_api_requests(keys),
        "robots.receive": robot_requests(keys),
        "admin.login": login_requests(keys, "admin.login"),
        "admin.login_submit": login_requests(keys, "admin.login_submit"),
        "static": static_requests(),
    }
    table.update({name: health_requests(name, path) for name, path in HEALTH.items()})
    table.update({name: admin_requests(keys, name) for name in ADMIN_ENDPOINTS})
    return table


def may_journal(endpoint: str, method: str, status: int) -> bool:
    """Whether an answer of this endpoint says a journal row was written on purpose."""
    return ((endpoint in JOURNALING and status == 200)
            or (endpoint == "admin.settings" and method == "POST" and status == 303)
            or (endpoint == "admin.backfill_start" and method == "POST"
                and status in (202, 303)))


def accepted_past_limit(fuzzed: Fuzzed, status: int) -> bool:
    """A POST whose framed body (Content-Length or chunked) is past the limit must get 413
    (or another refusal), never be read in part and acted on."""
    request = fuzzed.request
    return (request.method == "POST" and request.framing in ("length", "chunked")
            and len(request.body) > MAX_BODY and status < 400)


@pytest.fixture(scope="module")
def app_settings(gunicorn: Gunicorn) -> Settings:
    return Settings(_env_file=None, database_url=gunicorn.database_url,
                    secret_key=SecretStr(gunicorn.secret_key),
                    admin_token=SecretStr(gunicorn.admin_token),
                    allow_insecure_portals=True, log_level="WARNING")


@pytest.fixture(scope="module")
def keys(gunicorn: Gunicorn, app_settings: Settings) -> FuzzKeys:
    return gather_keys(gunicorn, app_settings)


def test_every_route_of_the_app_has_a_strategy(app_settings: Settings, keys: FuzzKeys) -> None:
    endpoints = {rule.endpoint for rule in create_app(app_settings).url_map.iter_rules()}
    assert endpoints == set(strategies(keys))


class Run:
    """What the run sent and got back, by request id."""

    def __init__(self, gunicorn: Gunicorn) -> None:
        self.gunicorn = gunicorn
        # A list per id: a generated id the app accepts may be drawn twice.
        self.sent: dict[str, list[tuple[Fuzzed, RawAnswer]]] = {}
        self.outcomes: Counter[tuple[str, int]] = Counter()
        self.kinds: Counter[tuple[str, str, int]] = Counter()
        self.failures: list[tuple[str, Fuzzed, str]] = []
        self.unmapped_journaling = Counter[str]()  # allowed writes sent with no usable id

    def send(self, fuzzed: Fuzzed, request_id: str, mapped: bool) -> RawAnswer:
        host, port = urlsplit(self.gunicorn.url).hostname, urlsplit(self.gunicorn.url).port
        request = fuzzed.request
        request_id_header = (b"X-Request-ID", request_id.encode("utf-8", "surrogatepass"))
        request = RawRequest(request.method, request.target,
                             (request_id_header, *request.headers), request.body,
                             request.framing)
        try:
            answer = send(str(host), int(port or 80), request)
        except TimeoutError:
            answer = RawAnswer(-1)
        status = answer.status
        if status == 0 and answer.reset and len(request.body) > MAX_BODY:
            status = 413  # refused before the body was read: the connection is cut off
        self.outcomes[(fuzzed.endpoint, status)] += 1
        self.kinds[(fuzzed.endpoint, fuzzed.kind, status)] += 1
        # The id the app went by (it makes its own when the one sent is not usable).
        used_id = answer.header("X-Request-ID") or request_id
        if status >= 500 or status <= 0:
            self.failures.append((used_id, fuzzed, f"{status} {answer.body[:200]!r}"))
        elif accepted_past_limit(fuzzed, status):
            self.failures.append((used_id, fuzzed, "a body past the limit was not refused"))
        if mapped or answer.header("X-Request-ID"):
            self.sent.setdefault(used_id, []).append((fuzzed, answer))
        elif may_journal(fuzzed.endpoint, fuzzed.request.method, status):
            self.unmapped_journaling[fuzzed.endpoint] += 1
        return answer


def _new_rows(database_url: str, after: int) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(
                "SELECT id, correlation_id, source, event, member_id, state FROM journal "
                "WHERE id > :after ORDER BY id"), {"after": after})]
    finally:
        engine.dispose()


def test_no_request_to_any_endpoint_gets_a_5xx_or_journals_what_was_refused(
    gunicorn: Gunicorn, keys: FuzzKeys
) -> None:
    before = max([row["id"] for row in _new_rows(gunicorn.database_url, 0)], default=0)
    deliveries_before = len(gunicorn.portal.delivered_events)
    table = strategies(keys)
    run = Run(gunicorn)
    counter = iter(range(10**9))
    started = time.monotonic()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        rule = data.draw(st.sampled_from(sorted(table)))
        fuzzed = data.draw(table[rule])
        mapped = data.draw(st.integers(0, 19)) != 19
        request_id = f"fuzz-{next(counter):07d}" if mapped else data.draw(texts)
        answer = run.send(fuzzed, request_id, mapped)
        if rule == "admin.logout" and answer.status == 303:
            keys.forget("staff")  # maybe signed out: the next request signs in again
            keys.forget("portal")

    fuzz()
    elapsed = time.monotonic() - started
    gunicorn.portal.sender.wait_idle(timeout=30)
    rows = _new_rows(gunicorn.database_url, before)
    delivered = [d for d in gunicorn.portal.delivered_events[deliveries_before:]
                 if d.status == 200]
    leaks, unmapped = _journal_leaks(run, rows)
    placement_views = sum(n for (rule, kind, status), n in run.kinds.items()
                          if rule == "placement.open_placement" and status == 200)
    allowed_unmapped = len(delivered) + sum(run.unmapped_journaling.values())
    report = _report(run, rows, leaks, unmapped, len(delivered), elapsed, keys)
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "w") as out:
            json.dump(report, out, indent=1, default=str)
    assert gunicorn.process.poll() is None, "gunicorn died"
    assert report["failures"] == [], json.dumps(report["failures"], indent=1)[:20000]
    assert leaks == [], leaks[:20]
    assert unmapped["placement views"] <= placement_views
    assert unmapped["other"] <= allowed_unmapped, (unmapped, allowed_unmapped)
    assert gunicorn.worker_events_since_boot() == []
    assert gunicorn.worker_pids() == gunicorn.booted_pids
    assert sum(run.outcomes.values()) == EXAMPLES


def _journal_leaks(run: Run, rows: list[dict[str, Any]]) -> tuple[list[dict], Counter[str]]:
    """Rows written for requests whose answer said nothing was kept; and rows no request
    of the run can be named for (task views carry no request id; deliveries, their own)."""
    leaks, unmapped = [], Counter({"placement views": 0, "other": 0})
    for row in rows:
        found = run.sent.get(row["correlation_id"] or "")
        if found is None:
            is_view = row["source"] == "placement" and row["correlation_id"] is None
            unmapped["placement views" if is_view else "other"] += 1
            continue
        # With one id sent more than once, a row is a leak only if none of them may write.
        if not any(may_journal(fuzzed.endpoint, fuzzed.request.method, answer.status)
                   for fuzzed, answer in found):
            fuzzed, answer = found[-1]
            leaks.append({"journal_id": row["id"], "event": row["event"],
                          "request": describe(fuzzed), "status": answer.status})
    return leaks, unmapped


def describe(fuzzed: Fuzzed) -> dict[str, Any]:
    """A request as a reproduction: method, target, headers, framing, body excerpt."""
    request = fuzzed.request
    return {"rule": fuzzed.endpoint, "kind": fuzzed.kind, "method": request.method,
            "target": request.target[:300].decode("latin-1"),
            "headers": [(k.decode("latin-1"), v[:200].decode("latin-1"))
                        for k, v in request.headers],
            "framing": request.framing, "body_bytes": len(request.body),
            "body": request.body[:300].decode("latin-1")}


def _tracebacks(log_path: os.PathLike[str]) -> dict[str, str]:
    """The last exception the app logged per correlation id (gunicorn's log)."""
    found = {}
    with open(log_path, errors="replace") as log:
        for line in log:
            if '"exception"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            found[str(record.get("correlation_id"))] = record["exception"]
    return found


def _report(run: Run, rows: list[dict], leaks: list[dict], unmapped: Counter[str],
            delivered: int, elapsed: float, keys: FuzzKeys) -> dict[str, Any]:
    tracebacks = _tracebacks(run.gunicorn.log)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for request_id, fuzzed, answer in run.failures:
        trace = tracebacks.get(request_id, "")
        last = trace.strip().splitlines()[-1] if trace else answer
        groups[(fuzzed.endpoint, last)].append({**describe(fuzzed), "answer": answer,
                                            "traceback": trace[-3000:]})
    failures = [{"rule": rule, "error": last, "count": len(found),
                 "smallest": min(found, key=lambda f: (f["body_bytes"], len(f["target"])))}
                for (rule, last), found in sorted(groups.items())]
    per_rule: dict[str, dict[str, int]] = defaultdict(dict)
    for (rule, status), n in sorted(run.outcomes.items()):
        per_rule[rule][str(status)] = n
    return {
        "requests": sum(run.outcomes.values()), "elapsed_s": round(elapsed, 1),
        "requests_per_rule": {rule: sum(s.values()) for rule, s in per_rule.items()},
        "statuses_per_rule": per_rule,
        "statuses": Counter(str(s) for (_r, s) in run.outcomes.elements()),
        "5xx": sum(n for (_r, s), n in run.outcomes.items() if s >= 500 or s <= 0),
        "failures": failures,
        "worker_events": run.gunicorn.worker_events_since_boot(),
        "workers_same": run.gunicorn.worker_pids() == run.gunicorn.booted_pids,
        "journal": {"new_rows": len(rows), "leaks": leaks, "unmapped": unmapped,
                    "portal_deliveries_200": delivered,
                    "by_source": Counter(r["source"] for r in rows)},
        "sessions_signed_in_again": keys.refreshed,
        "by_kind": {f"{r} | {k} | {s}": n for (r, k, s), n in sorted(run.kinds.items())},
    }


