"""What every REST call did, for the sync log: one `CallRecord` per call, its params
redacted by the client (`connector.redaction`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("connector.rest")

@dataclass(frozen=True)
class CallRecord:
    """One call as the sync log shows it; `params` are already redacted."""

    portal: str
    method: str
    duration: float
    http_status: int | None
    error_code: str | None
    retries: int
    params: dict[str, Any] = field(default_factory=dict)
    requests: int = 1  # HTTP requests this call made, retries and refresh repeats included
    limited: tuple[int, ...] = ()  # every 503/429 answer it got, retried ones included

    @property
    def ok(self) -> bool:
        return self.error_code is None


OnCall = Callable[[CallRecord], None]


class CallRecorder:
    """Keeps the records of one client (thread-safe) and hands each to `on_call`."""

    def __init__(self, on_call: OnCall | None = None, keep: int = 10_000) -> None:
        self.on_call = on_call
        self._keep = keep
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)
            if len(self._records) > self._keep:
                del self._records[: len(self._records) - self._keep]
        # One line per call, never its params: the worker's pass (bound by the caller) names
        # the journal rows and request ids the call was made for.
        log.info(
            "rest call %s %.0fms http=%s %s retries=%d portal=%s", record.method,
            record.duration * 1000, record.http_status or "-",
            "ok" if record.ok else f"error={record.error_code}", record.retries, record.portal,
        )
        if self.on_call is not None:
            self.on_call(record)

    @property
    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
