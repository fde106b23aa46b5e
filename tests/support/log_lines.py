"""A logging handler that keeps every line as one of TaskBridge's formatters writes it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from connector.observability.logging_setup import CorrelationFilter, JsonFormatter


class Lines(logging.Handler):
    """Keeps the formatted lines (JSON unless another formatter is given)."""

    def __init__(self, level: int = logging.NOTSET,
                 formatter: logging.Formatter | None = None) -> None:
        super().__init__(level)
        self.lines: list[str] = []
        self.addFilter(CorrelationFilter())
        self.setFormatter(formatter or JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "".join(f"{line}\n" for line in self.lines)


@contextmanager
def on_root(handler: Lines, level: int = logging.INFO) -> Iterator[Lines]:
    """`handler` on the root logger at `level` while in the `with`."""
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
