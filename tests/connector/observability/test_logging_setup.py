"""JSON log lines carry the correlation id of their request or journal row, no secrets."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests

from connector.observability.logging_setup import (
    ServedPass,
    TextFormatter,
    configure_logging,
    correlation,
    serving,
)
from connector.redaction import scrub_text
from connector.settings import Settings
from connector.storage.engines import open_storage
from tests.support.live_server import serve
from tests.support.log_lines import Lines
from webhooks.app import create_app


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def test_a_line_is_json_with_the_bound_correlation_id(lines: Lines) -> None:
    with correlation("req-12345678"):
        logging.getLogger("taskbridge.test").info("hello %s", "world")
    logging.getLogger("taskbridge.test").info("outside")
    first, second = (json.loads(line) for line in lines.lines)
    assert first["message"] == "hello world"
    assert first["correlation_id"] == "req-12345678"
    assert first["level"] == "INFO" and first["logger"] == "taskbridge.test"
    assert second["correlation_id"] is None


@pytest.mark.parametrize(("text", "shown"), [
    ("refresh_token=abc123 next", "refresh_token=[redacted] next"),
    ('{"access_token": "xyz"}', '{"access_token": "[redacted]"}'),
    ("POST https://p.example/rest/1/s3cr3tcode/user.get",
     "POST https://p.example/rest/1/[redacted]/user.get"),
])
def test_secrets_in_message_text_are_scrubbed(text: str, shown: str) -> None:
    assert scrub_text(text) == shown


def test_configure_logging_installs_one_handler_and_never_raises_the_threshold(
        make_settings: Callable[..., Settings]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    old = root.level
    try:
        root.setLevel(logging.DEBUG)
        assert configure_logging(make_settings()) is None  # pytest's handlers are there
        configure_logging(make_settings(log_level="WARNING"), force=True)
        handler = configure_logging(make_settings(log_level="INFO"), force=True)
        ours = [h for h in root.handlers if h not in before]
        assert ours == [handler]
        assert root.level == logging.DEBUG
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
        root.setLevel(old)


def test_every_line_of_a_request_carries_its_request_id(
        make_settings: Callable[..., Settings], lines: Lines) -> None:
    settings = make_settings()
    with serve(create_app(settings, open_storage(settings))) as server:
        answer = requests.post(f"{server.url}/bitrix/events", data={"event": "ONTASKADD",
                               "auth[member_id]": "unknown0member"},
                               headers={"X-Request-ID": "corr-abcdef12"}, timeout=10)
    assert answer.status_code == 401
    refused = [json.loads(line) for line in lines.lines if "refused" in line]
    assert refused and all(r["correlation_id"] == "corr-abcdef12" for r in refused)


@dataclass
class _Row:
    id: int
    correlation_id: str | None


def test_a_pass_names_every_request_and_row_it_serves(lines: Lines) -> None:
    rows = [_Row(7, "req-a"), _Row(8, "req-b"), _Row(9, "req-a"), _Row(10, None)]
    with serving(ServedPass.of("pass-1", rows)):
        logging.getLogger("connector.rest").info("rest call batch 12ms http=200 ok")
    with serving(ServedPass.of("pass-2", rows[:1])):
        logging.getLogger("connector.rest").info("rest call tasks.task.list")
    shared, alone = (json.loads(line) for line in lines.lines)
    assert shared["pass_id"] == "pass-1" and shared["correlation_id"] == "pass-1"
    assert shared["correlation_ids"] == ["req-a", "req-b", "journal-10"]
    assert shared["journal_ids"] == [7, 8, 9, 10]
    assert alone["correlation_id"] == "req-a" and alone["journal_ids"] == [7]


def test_a_text_line_names_its_pass_before_the_message() -> None:
    def line(served: ServedPass) -> str:
        record = logging.LogRecord("connector.rest", logging.INFO, __file__, 1,
                                   "rest call batch", None, None)
        with serving(served):
            return TextFormatter().format(record)

    assert line(ServedPass.of("pass-3", [_Row(4, "req-c"), _Row(5, "req-d")])).endswith(
        "[pass-3: journal 4,5 for req-c,req-d] rest call batch")
    assert line(ServedPass.of("pass-4", [_Row(6, "req-e")])).endswith(
        "[req-e pass-4: journal 6 for req-e] rest call batch")


def _text_line(message: str, *args: object, exc_info: object = None) -> str:
    record = logging.LogRecord("webhooks.task_api", logging.WARNING, __file__, 1, message,
                               args, exc_info)  # type: ignore[arg-type]
    return TextFormatter().format(record)


@pytest.mark.parametrize(
    ("quoted", "shown"),
    [("a\nb", "a\\nb"), ("a\r\nb", "a\\r\\nb"), ("a\x1b[2Jb", "a\\x1b[2Jb"),
     ("a\x85b", "a\\x85b"), ("a\u2028b", "a\\u2028b"), ("a\tb", "a\tb"), ("ü€", "ü€")],
)  # fmt: skip
def test_a_text_line_stays_one_line_whatever_its_message_quotes(quoted: str,
                                                                shown: str) -> None:
    line = _text_line("portal %s refused", quoted)
    assert line.endswith(f"] portal {shown} refused")
    assert len(line.splitlines()) == 1


def test_a_traceback_follows_indented_under_its_record() -> None:
    try:
        raise ValueError("bad\n2030-01-01 00:00:00,000 INFO forged [x] line")
    except ValueError:
        line = _text_line("failed for %s", "m\n1", exc_info=sys.exc_info())
    first, *rest = line.split("\n")
    assert first.endswith("] failed for m\\n1")
    assert rest and all(part.startswith("    ") for part in rest)
