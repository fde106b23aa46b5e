"""Persisting REST `CallRecord`s for the sync log and `/metrics`.

The worker hands each record of a client to `RestCallStore.record` (the client's
`on_call` hook), with the journal row it was working on. Params arrive redacted by the
client; they are redacted again here so nothing secret is stored even by mistake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from connector.rest.call_log import CallRecord, redact
from connector.storage import counters as metrics
from connector.storage.schema import rest_calls


@dataclass(frozen=True)
class StoredCall:
    id: int
    journal_id: int | None
    at: datetime
    method: str
    duration_ms: int
    http_status: int | None
    error_code: str | None
    retries: int
    requests: int
    params: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class RestCallStore:
    """`record(record, journal_id=, portal_id=)`; `for_journal(id)` for the detail page."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, record: CallRecord, *, journal_id: int | None, portal_id: int | None,
        at: datetime | None = None,
    ) -> int:
        with self._engine.begin() as conn:
            stored = conn.execute(
                rest_calls.insert()
                .values(
                    portal_id=portal_id,
                    journal_id=journal_id,
                    at=at or datetime.now(UTC),
                    method=record.method[:128],
                    duration_ms=round(record.duration * 1000),
                    http_status=record.http_status,
                    error_code=(record.error_code or None) and record.error_code[:96],
                    retries=record.retries,
                    requests=record.requests,
                    params=redact(dict(record.params)),
                )
                .returning(rest_calls.c.id)
            ).scalar_one()
            metrics.bump(conn, _counts(record))
        return stored

    def hook(self, *, journal_id: int | None, portal_id: int | None) -> Callable[
        [CallRecord], None
    ]:
        """An `on_call` for a `PortalClient` that stores each call against one journal row."""

        def on_call(record: CallRecord) -> None:
            self.record(record, journal_id=journal_id, portal_id=portal_id)

        return on_call

    def for_journal(self, journal_id: int) -> list[StoredCall]:
        query = (
            select(rest_calls)
            .where(rest_calls.c.journal_id == journal_id)
            .order_by(rest_calls.c.id)
        )
        with self._engine.connect() as conn:
            return [_stored(row._mapping) for row in conn.execute(query)]

    def recent(self, portal_id: int | None = None, limit: int = 100) -> list[StoredCall]:
        query = select(rest_calls).order_by(rest_calls.c.id.desc()).limit(limit)
        if portal_id is not None:
            query = query.where(rest_calls.c.portal_id == portal_id)
        with self._engine.connect() as conn:
            return [_stored(row._mapping) for row in conn.execute(query)]


def _counts(record: CallRecord) -> Counter[metrics.Key]:
    """The REST counters one call adds to: its result, its retries, each 503/429 it got."""
    result = (record.error_code or "ok")[:96]
    counts: Counter[metrics.Key] = Counter({
        (metrics.REST_REQUESTS, metrics.labels(method=record.method[:128], result=result)): 1,
        (metrics.REST_RETRIES, ""): record.retries,
    })
    counts.update((metrics.REST_LIMITED, metrics.labels(http_status=status))
                  for status in record.limited)
    return counts


def _stored(row: Any) -> StoredCall:
    at = row["at"]
    return StoredCall(
        id=row["id"], journal_id=row["journal_id"],
        at=at.replace(tzinfo=UTC) if at.tzinfo is None else at,
        method=row["method"], duration_ms=row["duration_ms"], http_status=row["http_status"],
        error_code=row["error_code"], retries=row["retries"], requests=row["requests"],
        params=row["params"],
    )
