"""Requests a hostile sender sends, and what must come back.

Ids that `str.isdigit` and `int` would let through, a body of keys nested past any use,
JSON nested 50,000 deep, a chunked body ten times the limit, and input that tries to
write a log line of its own. Each is refused with a short answer, and nothing reaches
the journal."""

from __future__ import annotations

import copy
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select

from connector.observability.logging_setup import TextFormatter
from connector.storage.schema import journal
from emulator import php_form
from tests.fuzz.conftest import Gunicorn, gunicorn  # noqa: F401  (the fixture)
from tests.security.conftest import deal_event, post_event, secured  # noqa: F401
from tests.support.log_lines import Lines, on_root
from tests.support.stack import TaskBridge

LIMIT = 256 * 1024
FORGED = "2030-01-01 00:00:00,000 INFO webhooks.events [x] forged"


def _task_update(signed: dict[str, Any], task_id: str) -> dict[str, Any]:
    """A genuine ONTASKUPDATE's shape, signed like the deal event the portal sent."""
    return {**copy.deepcopy(signed), "event": "ONTASKUPDATE",
            "data": {"FIELDS_BEFORE": {"ID": task_id}, "FIELDS_AFTER": {"ID": task_id},
                     "IS_ACCESSIBLE_BEFORE": "N", "IS_ACCESSIBLE_AFTER": "undefined"}}


def _deal_with_id(signed: dict[str, Any], deal_id: str) -> dict[str, Any]:
    event = copy.deepcopy(signed)
    event["data"]["FIELDS"]["ID"] = deal_id
    return event


@pytest.mark.parametrize("bad_id", ["\u00b2", "9" * 25, "\u0663", "12\u00b2"])
@pytest.mark.parametrize("build", [_task_update, _deal_with_id])
def test_an_id_that_is_not_ascii_digits_is_refused_and_nothing_is_journaled(
    secured: TaskBridge, deal_event: dict[str, Any], bad_id: str, build: Any,  # noqa: F811
) -> None:
    rows_before = secured.journal.count()

    answer = post_event(secured, build(deal_event, bad_id))

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_event"
    assert "expected an id (1 to 18 ASCII digits)" in answer.json()["error_description"]
    assert secured.journal.count() == rows_before


def test_a_body_of_one_deep_key_is_refused_at_once_without_echoing_it(
    secured: TaskBridge,  # noqa: F811
) -> None:
    body = "a" + "[]" * ((LIMIT - 16) // 2) + "=1"
    started = time.perf_counter()

    answer = requests.post(f"{secured.url}/bitrix/events", data=body, timeout=10,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    elapsed = time.perf_counter() - started
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"] == "bad_form"
    assert "limit of 256 characters" in answer.json()["error_description"]
    assert len(answer.content) < 400 and "[]" * 16 not in answer.text  # 32 chars at most
    assert elapsed < 0.5, f"{elapsed:.2f} s"


@pytest.mark.parametrize("path", ["/bitrix/tasks", "/bitrix/events", "/bitrix/install"])
def test_json_nested_fifty_thousand_deep_is_a_400(secured: TaskBridge, path: str,  # noqa: F811
                                                  ) -> None:
    rows_before = secured.journal.count()

    answer = requests.post(f"{secured.url}{path}", data=b"[" * 50_000, timeout=10,
                           headers={"Content-Type": "application/json"})

    assert answer.status_code == 400, answer.text[:300]
    assert "nested deeper than 8 levels" in answer.json()["error_description"]
    assert len(answer.content) < 400
    assert secured.journal.count() == rows_before


def _journal_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(journal)).scalar_one()
    finally:
        engine.dispose()


def test_a_chunked_body_past_the_limit_is_a_413_not_a_truncated_event(
    gunicorn: Gunicorn,  # noqa: F811
) -> None:
    # A valid event first, then 3 MB: cut at the limit, the event alone would be accepted.
    event = php_form.encode(gunicorn.event).encode()
    padding = b"&" + b"p" * 3 * 1024 * 1024 + b"=1"
    rows_before = _journal_count(gunicorn.database_url)

    def chunks() -> Iterator[bytes]:  # a generator body: requests sends it chunked
        body = event + padding
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    answer = requests.post(f"{gunicorn.url}/bitrix/events", data=chunks(), timeout=30,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["error"] == "content_too_large"
    assert _journal_count(gunicorn.database_url) == rows_before
    # The same event, chunked and within the limit, is accepted: only size is refused.
    within = requests.post(f"{gunicorn.url}/bitrix/events", data=iter([event]), timeout=30,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert within.status_code == 200, within.text[:300]


@pytest.mark.parametrize("path", ["/bitrix/events", "/admin/login", "/bitrix/placement"])
def test_a_badly_framed_chunked_body_is_a_400(gunicorn: Gunicorn, path: str) -> None:  # noqa: F811
    host, port = gunicorn.url.removeprefix("http://").split(":")
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "zz\r\nevent=x\r\n0\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:300]
    assert not gunicorn.worker_events_since_boot()


@pytest.fixture
def text_log() -> Iterator[Lines]:
    """What TaskBridge's text formatter (TASKBRIDGE_LOG_FORMAT=text) writes."""
    with on_root(Lines(logging.INFO, TextFormatter())) as handler:
        yield handler


def test_a_newline_in_a_member_id_does_not_forge_a_log_line(
    secured: TaskBridge, text_log: Lines,  # noqa: F811
) -> None:
    answer = requests.post(f"{secured.url}/bitrix/tasks", timeout=10,
                           json={"member_id": f"m\n{FORGED}", "entity": "deal"})

    assert answer.status_code in (400, 401)
    assert not [line for line in text_log.text.splitlines() if line.startswith("2030-")]


def test_a_newline_in_a_logged_domain_does_not_forge_a_log_line(
    secured: TaskBridge, deal_event: dict[str, Any], text_log: Lines,  # noqa: F811
) -> None:
    event = copy.deepcopy(deal_event)
    event["auth"]["domain"] = f"elsewhere.example\n{FORGED}\r\x1b[2K"

    answer = post_event(secured, event)

    assert answer.status_code == 200, answer.text  # verified by its token; the domain is logged
    assert "names domain elsewhere.example\\n2030-" in text_log.text
    assert not [line for line in text_log.text.splitlines() if line.startswith("2030-")]
    assert "\x1b" not in text_log.text and "\r" not in text_log.text
