"""Every REST call the portal answered, with secrets removed."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

SECRET_KEYS = frozenset({
    "auth", "access_token", "refresh_token", "client_secret", "auth_id", "refresh_id",
    "application_token", "password", "code", "event_token",
})
REDACTED = "***"


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_KEYS else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class CallRecord:
    method: str
    params: dict[str, Any]
    status: int
    auth_type: str | None
    user_id: int | None
    client_id: str | None
    error: str | None
    started: float
    duration: float
    in_batch: bool = False
    api: str = "v1"  # "v3" for REST 3.0 calls under /rest/api/


class CallLog:
    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self._lock = threading.Lock()

    def add(self, record: CallRecord) -> None:
        # list.append is atomic under the GIL; every call passes here, so no lock
        self._records.append(record)

    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, method: str | None = None, include_batched: bool = False) -> int:
        """How many requests reached the portal (batched commands not counted by default)."""
        return sum(
            1 for r in self.records()
            if (include_batched or not r.in_batch)
            and (method is None or r.method.lower() == method.lower())
        )
