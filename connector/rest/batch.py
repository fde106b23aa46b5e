"""`batch` commands: encoding `method?query` strings, chunking by 50, reading results back.

A batch always answers HTTP 200; each command's outcome sits in `result`,
`result_error`, `result_total`, `result_next` and `result_time`, keyed like the commands
(PHP turns an empty section into `[]`, and numeric keys into a list).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from connector.rest.errors import BitrixError, make_error

MAX_COMMANDS = 50
Command = tuple[str, Mapping[str, Any]]


@dataclass
class BatchResult:
    """Outcomes by the caller's keys; a key is in `results` or `errors`, or neither when a
    halted batch never ran it (see `skipped`)."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BitrixError] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    nexts: dict[str, int] = field(default_factory=dict)
    times: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.skipped


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """PHP `http_build_query` pairs: nested keys in brackets, booleans as 1/0, None left out."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    elif value is None:
        return
    elif isinstance(value, bool):
        yield prefix, "1" if value else "0"
    else:
        yield prefix, str(value)


def encode_command(method: str, params: Mapping[str, Any] | None) -> str:
    """`method?query` as a batch `cmd` entry (`$result[...]` references pass through)."""
    query = urlencode(list(flatten(params or {})))
    return f"{method}?{query}" if query else method


def chunks(keys: Iterable[str], size: int = MAX_COMMANDS) -> Iterator[list[str]]:
    chunk: list[str] = []
    for key in keys:
        chunk.append(key)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _section(body: Mapping[str, Any], name: str, keys: list[str]) -> dict[str, Any]:
    value = body.get(name)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):  # PHP list: numeric keys in order
        return {keys[i] if i < len(keys) else str(i): v for i, v in enumerate(value)}
    return {}


def merge_chunk(
    into: BatchResult, body: Any, keys: list[str], methods: Mapping[str, str]
) -> None:
    """Fold one chunk's `result` block into `into`, errors typed by their code."""
    block = body if isinstance(body, Mapping) else {}
    results = _section(block, "result", keys)
    errors = _section(block, "result_error", keys)
    for key in keys:
        if key in errors:
            detail = errors[key] if isinstance(errors[key], Mapping) else {}
            into.errors[key] = make_error(
                methods[key], None, str(detail.get("error") or ""),
                str(detail.get("error_description") or ""),
            )
        elif key in results:
            into.results[key] = results[key]
        else:
            into.skipped.append(key)
    for name, target in (("result_total", into.totals), ("result_next", into.nexts)):
        for key, value in _section(block, name, keys).items():
            if str(value).lstrip("-").isdigit():
                target[key] = int(value)
    into.times.update(_section(block, "result_time", keys))
