"""Exports of a filtered sync log: CSV and JSON, streamed a keyset page at a time.

Cells of the CSV can hold what a portal sent (a deal's title in an error, an event name),
and spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: such cells are written with a leading `'`, which
spreadsheets show as text (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from connector.storage.sync_log import LogRow

CSV_FIELDS = (
    "id", "member_id", "received_at", "source", "event", "object", "state", "attempts",
    "finished_at", "outcome", "error", "correlation_id",
)
MAX_EXPORT_ROWS = 100_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(rows: Iterable[LogRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: as_text_cell(value) for name, value in row.as_dict().items()})
        if buffer.tell() > 32_768:
            yield _drain(buffer)
    yield _drain(buffer)


def as_text_cell(value: object) -> object:
    """A string a spreadsheet would run as a formula, made text; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
