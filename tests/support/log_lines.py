"""A logging handler that keeps every line as TaskBridge's JSON formatter writes it."""

from __future__ import annotations

import logging

from connector.logging_setup import CorrelationFilter, JsonFormatter


class Lines(logging.Handler):
    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.lines: list[str] = []
        self.addFilter(CorrelationFilter())
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
