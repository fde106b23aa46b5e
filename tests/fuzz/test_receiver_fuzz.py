"""Generated requests against /bitrix/events, /bitrix/install and /bitrix/placement under
gunicorn: malformed forms, wrong types, huge and deep keys, bad encodings, JSON of any
shape, replayed and forged tokens. No 5xx, no gunicorn worker dies or is replaced (the
same worker pids, no worker exit in gunicorn's log), and the journal holds exactly the
events that were valid.

`FUZZ_EXAMPLES=10000 .venv/bin/pytest tests/fuzz -q` runs the full 10,000."""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from emulator import php_form
from tests.fuzz.conftest import Gunicorn

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "500"))
PATHS = ("/bitrix/events", "/bitrix/install", "/bitrix/placement")
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 256 * 1024

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), words)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(words, inner, max_size=5), max_leaves=30)
bracket_keys = st.builds(lambda head, parts: head + "".join(f"[{p}]" for p in parts),
                         words, st.lists(st.one_of(words, st.just("")), max_size=12))


@st.composite
def raw_forms(draw: st.DrawFn) -> tuple[str, bytes]:
    pairs = draw(st.lists(st.tuples(bracket_keys, words), max_size=20))
    body = "&".join(f"{quote(k, safe='[]')}={quote(v)}" for k, v in pairs)
    return FORM, body.encode()


@st.composite
def huge_or_deep(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["long key", "deep key", "many keys", "big body"]))
    if kind == "long key":
        return FORM, ("k" * draw(st.integers(1000, 100_000)) + "=1").encode()
    if kind == "deep key":
        return FORM, ("a" + "[b]" * draw(st.integers(9, 5000)) + "=1").encode()
    if kind == "many keys":
        return FORM, "&".join(f"k{i}=1" for i in range(draw(st.integers(501, 5000)))).encode()
    return FORM, b"a=" + b"x" * draw(st.integers(200_000, 600_000))


@st.composite
def bad_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    content_type = draw(st.sampled_from([FORM, "application/json", "text/plain", "",
                                         "multipart/form-data; boundary=x",
                                         f"{FORM}; charset=latin-1"]))
    return content_type, draw(st.binary(max_size=300))


@st.composite
def json_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    value = draw(json_values)
    if draw(st.booleans()):
        value = {"event": draw(words), "data": value, "auth": draw(json_values)}
    return "application/json", json.dumps(value).encode()


def _event_variant(draw: st.DrawFn, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["replayed", "forged token", "foreign member", "wrong type",
                                 "dropped key", "odd event name"]))
    body = copy.deepcopy(event)
    if kind == "forged token":
        body["auth"]["application_token"] = draw(words)
    elif kind == "foreign member":
        body["auth"]["member_id"] = draw(words)
    elif kind == "wrong type":
        path = draw(st.sampled_from([("auth",), ("data",), ("data", "FIELDS"),
                                     ("data", "FIELDS", "ID"), ("event",), ("auth", "member_id")]))
        target = body
        for part in path[:-1]:
            target = target.setdefault(part, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target[path[-1]] = draw(st.one_of(words, st.lists(words, max_size=3),
                                              st.dictionaries(words, words, max_size=3)))
    elif kind == "dropped key":
        body.pop(draw(st.sampled_from(sorted(body))), None)
    elif kind == "odd event name":
        body["event"] = draw(words)
    return kind, body


@st.composite
def requests_to_send(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    path = draw(st.sampled_from(PATHS))
    shape = draw(st.sampled_from(["event", "form", "huge", "bytes", "json"]))
    kind = shape
    if shape == "event":
        kind, body = _event_variant(draw, event)
        content_type, raw = FORM, php_form.encode(body).encode()
    else:
        content_type, raw = draw({"form": raw_forms(), "huge": huge_or_deep(),
                                  "bytes": bad_bytes(), "json": json_bodies()}[shape])
    query = draw(st.one_of(st.just(""), st.builds(lambda k, v: f"?{quote(k)}={quote(v)}",
                                                  bracket_keys, words)))
    return {"path": path, "query": query, "content_type": content_type, "body": raw,
            "kind": kind}


def _journal_rows(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                text("SELECT member_id, state, event, source FROM journal"))]
    finally:
        engine.dispose()


def test_no_generated_request_gets_a_5xx_or_journals_anything_invalid(
    gunicorn: Gunicorn
) -> None:
    before = len(_journal_rows(gunicorn.database_url))
    outcomes: Counter[tuple[str, str, int]] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def send(data: st.DataObject) -> None:
        request = data.draw(requests_to_send(gunicorn.event))
        headers = {"Connection": "close"}  # a refused body is not read: no reuse after it
        if request["content_type"]:
            headers["Content-Type"] = request["content_type"]
        try:
            answer = requests.post(f"{gunicorn.url}{request['path']}{request['query']}",
                                   data=request["body"], headers=headers, timeout=30)
        except requests.ConnectionError:
            # Only a body past TASKBRIDGE_MAX_EVENT_BODY may be cut off (413 before it is read).
            assert len(request["body"]) > MAX_BODY, request["kind"]
            outcomes[(request["path"], request["kind"], 413)] += 1
            return
        outcomes[(request["path"], request["kind"], answer.status_code)] += 1
        assert answer.status_code < 500, (request["kind"], request["body"][:300], answer.text)
        if request["kind"] in ("forged token", "foreign member") and request["path"] == PATHS[0]:
            assert answer.status_code in (400, 401), answer.text

    send()
    assert gunicorn.process.poll() is None, "gunicorn died"
    assert gunicorn.worker_events_since_boot() == []
    assert gunicorn.worker_pids() == gunicorn.booted_pids
    assert requests.get(f"{gunicorn.url}/healthz", timeout=10).status_code == 200
    rows = _journal_rows(gunicorn.database_url)[before:]
    accepted = sum(n for (path, _kind, status), n in outcomes.items()
                   if path == PATHS[0] and status == 200)
    assert len(rows) == accepted
    assert {row["member_id"] for row in rows} <= {gunicorn.portal.member_id}
    assert sum(outcomes.values()) == EXAMPLES
    report = os.environ.get("FUZZ_REPORT")
    if report:
        statuses = Counter(status for (_p, _k, status) in outcomes.elements())
        with open(report, "w") as out:
            json.dump({"requests": sum(outcomes.values()), "statuses": statuses,
                       "journaled": len(rows), "states": Counter(r["state"] for r in rows),
                       "by_kind": {f"{p} {k} {s}": n for (p, k, s), n in outcomes.items()}},
                      out, indent=1, default=str)
