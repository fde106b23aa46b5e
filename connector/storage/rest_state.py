"""What the REST client keeps in the database: each portal's rate-budget row, the methods a
portal paused, the refresh leases (SQLite), and the REST call log.

The arithmetic is the client's (`connector.rest.rate_budget`, `method_pauses`,
`refresh_lock`); here are only the rows and their statements.

The worker hands each record of a client to `RestCallStore.record` (the client's
`on_call` hook), with the journal row it was working on. Params arrive redacted by the
client; they are redacted again here so nothing secret is stored even by mistake.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connector.redaction import redact
from connector.storage import counters as metrics
from connector.storage.locks import locked_transaction
from connector.storage.schema import (
    rest_calls,
    rest_method_pauses,
    rest_rate_budgets,
    rest_refresh_leases,
)

# Stores the bucket's new (level, stamp) inside the transaction that holds its row.
StoreBudget = Callable[[float, float], None]


def insert_ignoring_duplicates(conn: Connection, table: Table):  # type: ignore[no-untyped-def]
    """`INSERT ... ON CONFLICT DO NOTHING` in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


class BudgetRow:
    """One portal's row in `rest_rate_budgets`: the bucket's level and when it was set."""

    def __init__(self, engine: Engine, portal_key: str) -> None:
        self._engine = engine
        self._portal_key = portal_key

    def create(self, level: float, stamp: float) -> None:
        """Insert the row unless a process already has."""
        with self._engine.begin() as conn:
            conn.execute(
                insert_ignoring_duplicates(conn, rest_rate_budgets).values(
                    portal_key=self._portal_key, level=level, stamp=stamp
                )
            )

    def read(self) -> tuple[float, float] | None:
        """(level, stamp), or None before the row exists."""
        with self._engine.connect() as conn:
            row = conn.execute(self._select()).first()
        return None if row is None else (row.level, row.stamp)

    @contextmanager
    def locked(self) -> Iterator[tuple[float, float, StoreBudget]]:
        """Hold the row (`FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) while
        the block runs; yields its level, its stamp and a function that stores new ones."""
        with locked_transaction(self._engine) as conn:
            query = self._select()
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).one()

            def store(level: float, stamp: float) -> None:
                conn.execute(
                    update(rest_rate_budgets)
                    .where(rest_rate_budgets.c.portal_key == self._portal_key)
                    .values(level=level, stamp=stamp)
                )

            yield row.level, row.stamp, store

    def _select(self):  # type: ignore[no-untyped-def]
        return select(rest_rate_budgets.c.level, rest_rate_budgets.c.stamp).where(
            rest_rate_budgets.c.portal_key == self._portal_key
        )


def load_pauses(engine: Engine, portal_key: str, now: float) -> list[tuple[str, float]]:
    """(method, until) of the portal's pauses that have not ended by `now`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(rest_method_pauses.c.method, rest_method_pauses.c.until).where(
                rest_method_pauses.c.portal_key == portal_key,
                rest_method_pauses.c.until > now,
            )
        ).all()
    return [(row.method, row.until) for row in rows]


def store_pause(engine: Engine, portal_key: str, method: str, until: float) -> None:
    """Replace the portal's pause of `method` with one until `until`."""
    table = rest_method_pauses
    with engine.begin() as conn:
        conn.execute(
            delete(table).where(table.c.portal_key == portal_key, table.c.method == method)
        )
        conn.execute(
            insert_ignoring_duplicates(conn, table).values(
                portal_key=portal_key, method=method, until=until
            )
        )


def create_refresh_lease(engine: Engine, member_id: str) -> None:
    """The portal's lease row, free, unless it exists."""
    with engine.begin() as conn:
        conn.execute(
            insert_ignoring_duplicates(conn, rest_refresh_leases).values(
                member_id=member_id, holder=None, expires_at=0.0
            )
        )


def take_refresh_lease(engine: Engine, member_id: str, holder: str, now: float,
                       ttl: float) -> bool:
    """Take the lease if it is free or its holder's time ran out (one conditional write)."""
    table = rest_refresh_leases
    with locked_transaction(engine) as conn:
        taken = conn.execute(
            update(table)
            .where(table.c.member_id == member_id,
                   or_(table.c.holder.is_(None), table.c.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
    return taken == 1


def release_refresh_lease(engine: Engine, member_id: str, holder: str) -> None:
    """Give the lease up, if `holder` still has it."""
    with engine.begin() as conn:
        conn.execute(
            update(rest_refresh_leases)
            .where(rest_refresh_leases.c.member_id == member_id,
                   rest_refresh_leases.c.holder == holder)
            .values(holder=None, expires_at=0.0)
        )


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


class CallRecord(Protocol):
    """What the call log stores of one REST call (the client's `CallRecord` has it);
    a protocol, so storage does not depend on the REST layer above it."""

    method: str
    duration: float
    http_status: int | None
    error_code: str | None
    retries: int
    params: dict[str, Any]
    requests: int
    limited: tuple[int, ...]


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
    return StoredCall(
        id=row["id"], journal_id=row["journal_id"],
        at=row["at"],
        method=row["method"], duration_ms=row["duration_ms"], http_status=row["http_status"],
        error_code=row["error_code"], retries=row["retries"], requests=row["requests"],
        params=row["params"],
    )
