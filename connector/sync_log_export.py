"""Exports of a filtered sync log: CSV and JSON, streamed a keyset page at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from connector.sync_log import LogRow

CSV_FIELDS = (
    "id", "member_id", "received_at", "source", "event", "object", "state", "attempts",
    "finished_at", "outcome", "error", "correlation_id",
)
MAX_EXPORT_ROWS = 100_000


def csv_lines(rows: Iterable[LogRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.as_dict())
        if buffer.tell() > 32_768:
            yield _drain(buffer)
    yield _drain(buffer)


def json_array(rows: Iterable[LogRow]) -> Iterator[str]:
    """A JSON array written element by element, so a large export never sits in memory."""
    yield "["
    first = True
    for row in rows:
        yield ("" if first else ",\n") + json.dumps(row.as_dict(), ensure_ascii=False)
        first = False
    yield "]\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
