"""Logging: one JSON object per line, each carrying the correlation id of its request or
journal row, with secrets scrubbed from the message text.

The web app binds the id per request (`webhooks.app` sets `g.correlation_id`). A worker
pass serves many journal rows at once, each with the id of the request that journaled it,
so the worker binds the pass: every line it logs meanwhile (every REST call among them)
names the pass and the correlation ids and journal ids it serves, and a request's id
leads to its journal row and to the REST calls made for it:

    with serving(ServedPass.of(pass_id, rows)):
        ...
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from connector.redaction import scrub_text
from connector.settings import Settings

current_correlation_id: ContextVar[str | None] = ContextVar(
    "taskbridge_correlation_id", default=None
)

# key=value, "key": "value" and ?key=value forms of the secrets a message might quote.
# What could end a text line early or rewrite it on a terminal: C0 and C1 controls (tab
# aside; NEL among them), DEL, and the Unicode line and paragraph separators.
_LINE_BREAKERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_HANDLER_MARK = "_taskbridge_handler"


class _Served(Protocol):
    id: int
    correlation_id: str | None


@dataclass(frozen=True)
class ServedPass:
    """One worker pass: its id, and the journal rows and request ids it works for."""

    id: str
    correlation_ids: tuple[str, ...]
    journal_ids: tuple[int, ...]

    @classmethod
    def of(cls, pass_id: str, rows: Iterable[_Served]) -> ServedPass:
        rows = list(rows)
        # A row the scheduler made has no request behind it: its journal id stands in.
        ids = dict.fromkeys(row.correlation_id or f"journal-{row.id}" for row in rows)
        return cls(pass_id, tuple(ids), tuple(row.id for row in rows))

    @property
    def correlation_id(self) -> str:
        """The one request id the pass serves, or the pass's own id when it serves several."""
        return self.correlation_ids[0] if len(self.correlation_ids) == 1 else self.id


current_pass: ContextVar[ServedPass | None] = ContextVar("taskbridge_pass", default=None)


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


@contextmanager
def serving(served: ServedPass) -> Iterator[None]:
    """Bind a worker pass (and its correlation id) for the lines logged inside."""
    token = current_pass.set(served)
    try:
        with correlation(served.correlation_id):
            yield
    finally:
        current_pass.reset(token)


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = current_correlation_id.get()
        record.served_pass = current_pass.get()
        return True


def _served(record: logging.LogRecord) -> ServedPass | None:
    return getattr(record, "served_pass", None) or current_pass.get()


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
        served = _served(record)
        if served is not None:
            body["pass_id"] = served.id
            body["correlation_ids"] = list(served.correlation_ids)
            body["journal_ids"] = list(served.journal_ids)
        if record.exc_info:
            body["exception"] = scrub_text(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False)


def one_line(text: str) -> str:
    """`text` with every character that could start a new line escaped (``\\n``, ``\\x1b``)."""
    return _LINE_BREAKERS.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return {10: "\\n", 13: "\\r"}.get(code) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class TextFormatter(logging.Formatter):
    """One line per record: whatever a message quotes (a member_id, a key, an error from
    a request) is escaped, so input never starts a line of its own. A traceback follows
    on lines indented under its record."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s%(pass_note)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = current_correlation_id.get()
        served = _served(record)
        record.pass_note = "" if served is None else (
            ("" if record.correlation_id == served.id else f" {served.id}")
            + f": journal {','.join(map(str, served.journal_ids))}"
            f" for {','.join(served.correlation_ids)}")
        record.message = one_line(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = one_line(self.formatMessage(record))
        details = []
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        for detail in details:
            text += "".join(f"\n    {one_line(line)}" for line in detail.splitlines())
        return scrub_text(text)


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
