"""Logging: one JSON object per line, each carrying the correlation id of its request or
journal row, with secrets scrubbed from the message text.

The web app binds the id per request (`webhooks.app` sets `g.correlation_id`); the worker
binds a row's stored `correlation_id` while it processes it, so the HTTP request, its
journal row and every REST call it caused share one id:

    with correlation(row.correlation_id):
        ...
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from connector.settings import Settings

current_correlation_id: ContextVar[str | None] = ContextVar(
    "taskbridge_correlation_id", default=None
)

# key=value, "key": "value" and ?key=value forms of the secrets a message might quote.
_SECRET_TEXT = re.compile(
    r"(?i)((?:access_token|refresh_token|application_token|client_secret|auth_id|refresh_id"
    r"|auth|password)[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;}]+)"
)
_WEBHOOK_PATH = re.compile(r"(/rest/\d+/)([A-Za-z0-9]{6,})(/)")
_HANDLER_MARK = "_taskbridge_handler"


def bind_correlation(value: str | None) -> Token:
    return current_correlation_id.set(value)


def unbind_correlation(token: Token) -> None:
    current_correlation_id.reset(token)


@contextmanager
def correlation(value: str | None) -> Iterator[None]:
    token = bind_correlation(value)
    try:
        yield
    finally:
        unbind_correlation(token)


def scrub_text(text: str) -> str:
    text = _SECRET_TEXT.sub(r"\1[redacted]", text)
    return _WEBHOOK_PATH.sub(r"\1[redacted]\3", text)


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = current_correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", None)
            or current_correlation_id.get(),
        }
        if record.exc_info:
            body["exception"] = scrub_text(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = current_correlation_id.get()
        return scrub_text(super().format(record))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(settings: Settings, *, force: bool = False) -> logging.Handler | None:
    """Install (or replace) TaskBridge's stderr handler on the root logger; idempotent.

    Like `logging.basicConfig`, it leaves alone a root logger someone else already gave
    handlers (a test runner, an embedding host) unless `force` is set; returns None then.
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    if not force and len(ours) < len(root.handlers):
        return None
    for existing in ours:
        root.removeHandler(existing)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    level = logging.getLevelName(settings.log_level)
    handler.setLevel(level)
    root.addHandler(handler)
    # Only ever lower the root threshold: a caller (or a test) that asked for more keeps it.
    if root.level > level:
        root.setLevel(level)
    return handler
