"""What SQL a block of code really runs: for tests about how a query is answered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement (with its parameters) the engine runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def listen(conn, cursor, sql, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)
