"""The journal: every inbound event, durable before the portal gets its 200.

It is the worker's queue and the support staff's sync log. This module offers the
domain verbs; the worker and the admin pages never write SQL of their own.

States: pending ▸ processing ▸ done | failed (retried later) | dead (gave up, with why);
duplicate (a re-delivery of an event still waiting) and ignored (an event TaskBridge
does not act on) are recorded and never processed. The states and the row values are in
`journal_rows`; the named statements in `journal_queries`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from connector.storage import counters as metrics
from connector.storage.journal_queries import BACKFILL, FIND_WAITING, FOLLOWERS, HEADS, DriverInsert
from connector.storage.journal_rows import (
    DEAD,
    DEDUPE_WINDOW,
    DONE,
    DUPLICATE,
    FAILED,
    IGNORED,
    PENDING,
    PROCESSING,
    Arrival,
    Claimed,
    Recorded,
    Requeueable,
    claimed_from,
    finished_counts,
    received_key,
    retry_delay,
    row_for,
)
from connector.storage.locks import write_lock
from connector.storage.schema import journal


class Journal:
    """Writes and reads journal rows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert: DriverInsert | None = None

    def _inserter(self, dialect: Any) -> DriverInsert:
        if self._insert is None:
            self._insert = DriverInsert(dialect)
        return self._insert

    def record_many(self, arrivals: Sequence[Arrival]) -> list[Recorded]:
        """Store events in one transaction, in order; each repeat of an event still waiting
        (already journaled, or earlier in `arrivals`) is stored as its duplicate.

        Only a row that has not been picked up yet counts as the original: once the
        worker has fetched state for it, a later identical delivery may describe a newer
        change and is queued again.
        """
        if not arrivals:
            return []
        recorded: list[Recorded] = []
        with write_lock(self._engine), self._engine.begin() as conn:
            waiting = self._waiting(conn, arrivals)
            first_here: dict[tuple[int, str], int] = {}  # pending rows of this batch
            insert = self._inserter(conn.dialect)
            cursor = conn.connection.cursor()
            try:
                for arrival in arrivals:
                    key = (arrival.portal_id or 0, arrival.dedupe_key)
                    original = None
                    if arrival.portal_id is not None and arrival.event.known:
                        since = arrival.received_at - DEDUPE_WINDOW
                        original = next((row_id for received, row_id in waiting.get(key, ())
                                         if received >= since), first_here.get(key))
                    state = (DUPLICATE if original is not None
                             else PENDING if arrival.event.known else IGNORED)
                    row_id = insert.one(cursor, row_for(arrival, state, original))
                    if state == PENDING:
                        first_here[key] = row_id
                    recorded.append(Recorded(id=row_id, state=state, duplicate_of=original))
                # One upsert per batch, last, so the counter rows are held only until the
                # commit.
                metrics.bump_on_cursor(cursor, conn.dialect.paramstyle, Counter(
                    received_key(a.event.name, r.state)
                    for a, r in zip(arrivals, recorded, strict=True)))
            finally:
                cursor.close()
        return recorded

    @staticmethod
    def _waiting(conn: Any, arrivals: Sequence[Arrival]) -> dict[tuple[int, str], list]:
        """Rows still waiting with the same portal and dedupe key, oldest first."""
        lookups = [a for a in arrivals if a.portal_id is not None and a.event.known]
        if not lookups:
            return {}
        found: dict[tuple[int, str], list] = {}
        for row in conn.execute(FIND_WAITING, {
            "portal_ids": sorted({a.portal_id for a in lookups}),
            "dedupe_keys": sorted({a.dedupe_key for a in lookups}),
            "since": min(a.received_at for a in lookups) - DEDUPE_WINDOW,
        }):
            found.setdefault((row.portal_id, row.dedupe_key), []).append(
                (row.received_at, row.id))
        for matches in found.values():
            matches.sort(key=lambda match: match[1])
        return found

    def count(self, **where: Any) -> int:
        """Rows matching column == value filters (used by health and tests)."""
        query = select(func.count()).select_from(journal)
        for column, value in where.items():
            query = query.where(journal.c[column] == value)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def rows(self, **where: Any) -> list[dict[str, Any]]:
        query = select(journal).order_by(journal.c.id)
        for column, value in where.items():
            query = query.where(journal.c[column] == value)
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- the worker's verbs -------------------------------------------------------------

    def claim_batch(
        self, worker_id: str, *, limit: int = 50, now: datetime | None = None,
        coalesce: bool = True, live_only: bool = False,
    ) -> list[Claimed]:
        """Take the next waiting rows (see `journal_queries`), marked processing; without
        `coalesce`, only the oldest row of each object (one event at a time). Live rows
        first, then at most one backfill row (none with `live_only`)."""
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect == "sqlite":
                # One writer at a time: take the write lock before reading the heads.
                conn.exec_driver_sql("UPDATE journal SET id = id WHERE 0")
            heads = conn.execute(HEADS[dialect], {"now": now, "limit": limit}).all()
            # Live rows come first (the claim's order) and a backfill chunk only after them,
            # one per claim: the next claim looks for live rows again once it is done, and a
            # busy portal's events never starve its backfill.
            live = [head for head in heads if head.priority == 0]
            heads = live + [head for head in heads if head.priority != 0][:0 if live_only else 1]
            ids = [head.id for head in heads]
            for head in heads if coalesce else ():
                ids.extend(
                    conn.execute(
                        FOLLOWERS[dialect],
                        {"portal_id": head.portal_id, "object_key": head.object_key,
                         "now": now, "head_id": head.id},
                    ).scalars()
                )
            if not ids:
                return []
            conn.execute(
                update(journal)
                .where(journal.c.id.in_(ids))
                .values(state=PROCESSING, locked_by=worker_id, locked_at=now,
                        attempts=journal.c.attempts + 1)
            )
            rows = conn.execute(
                select(journal).where(journal.c.id.in_(ids)).order_by(journal.c.id)
            ).all()
        return [claimed_from(row._mapping) for row in rows]

    def finish(self, ids: Iterable[int], *, detail: dict[str, Any] | None = None,
               state: str = DONE, now: datetime | None = None) -> None:
        """Mark rows done (or ignored), with what was decided and written."""
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            finished = conn.execute(
                update(journal)
                .where(journal.c.id.in_(list(ids)), journal.c.state == PROCESSING)
                .values(state=state, finished_at=now, locked_by=None, locked_at=None,
                        error=None, detail=detail)
                .returning(journal.c.event, journal.c.received_at, journal.c.source)
            ).all()
            counts = finished_counts(finished, state)
            if state == DONE:  # an event's latency: a backfill's chunks wait by design
                counts.update(metrics.latency([(now - row.received_at).total_seconds()
                                               for row in finished if row.source != BACKFILL]))
            metrics.bump(conn, counts)

    def fail(self, claimed: Sequence[Claimed], error: str, *, max_attempts: int,
             detail: dict[str, Any] | None = None, now: datetime | None = None) -> str:
        """Schedule another try with backoff, or mark dead after `max_attempts`."""
        now = now or datetime.now(UTC)
        attempts = max((row.attempts for row in claimed), default=1)
        dead = attempts >= max_attempts
        values = {
            "state": DEAD if dead else FAILED, "error": error[:2000], "locked_by": None,
            "locked_at": None, "finished_at": now if dead else None,
            "next_attempt_at": None if dead else now + retry_delay(attempts),
        }
        # A replayed row keeps the record of who replayed it.
        updates = [([row.id], {**(detail or {}), "replays": list(row.replays)})
                   for row in claimed if row.replays]
        updates.append(([row.id for row in claimed if not row.replays], detail))
        with self._engine.begin() as conn:
            counts: Counter[metrics.Key] = Counter()
            for ids, row_detail in updates:
                counts.update(finished_counts(conn.execute(
                    update(journal)
                    .where(journal.c.id.in_(ids), journal.c.state == PROCESSING)
                    .values(detail=row_detail, **values)
                    .returning(journal.c.event)
                ).all(), values["state"]))
            metrics.bump(conn, counts)
        return DEAD if dead else FAILED

    def release(self, ids: Iterable[int], reason: str) -> None:
        """Put rows back to wait, without counting the try (their portal cannot be called)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(journal)
                .where(journal.c.id.in_(list(ids)), journal.c.state == PROCESSING)
                .values(state=PENDING, error=reason[:2000], locked_by=None, locked_at=None,
                        attempts=journal.c.attempts - 1)
            )

    def release_stale(self, *, older_than: timedelta, now: datetime | None = None) -> int:
        """Put back rows whose worker died while holding them (no heartbeat since)."""
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            result = conn.execute(
                update(journal)
                .where(journal.c.state == PROCESSING, journal.c.locked_at < now - older_than)
                .values(state=PENDING, locked_by=None, locked_at=None, next_attempt_at=now)
            )
        return result.rowcount

    def heartbeat(self, ids: Iterable[int], *, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            conn.execute(
                update(journal)
                .where(journal.c.id.in_(list(ids)), journal.c.state == PROCESSING)
                .values(locked_at=now)
            )

    def enqueue(
        self,
        *,
        portal_id: int,
        member_id: str,
        event: str,
        object_type: str,
        object_id: str,
        payload: dict[str, Any],
        source: str,
        now: datetime | None = None,
        correlation_id: str | None = None,
    ) -> int:
        """A row TaskBridge makes itself (a view, a sweep, a catch-up, a replay);
        `correlation_id` names the request that asked for it, when one did."""
        now = now or datetime.now(UTC)
        key = f"{object_type}:{object_id}" if object_id else object_type
        with self._engine.begin() as conn:
            return conn.execute(
                journal.insert()
                .values(
                    portal_id=portal_id, member_id=member_id, received_at=now, source=source,
                    event=event, object_type=object_type, object_id=object_id,
                    object_key=key, payload=payload, dedupe_key=f"{source}:{event}:{key}",
                    state=PENDING, attempts=0, next_attempt_at=now,
                    correlation_id=correlation_id,
                )
                .returning(journal.c.id)
            ).scalar_one()

    def spawn(self, parent: Claimed, children: Sequence[dict[str, Any]], *,
              detail: dict[str, Any], now: datetime | None = None) -> list[int]:
        """Journal the rows a row's work goes on in (`object_key`, `event`, `payload`,
        `detail` each; its portal and source) and finish it, in one transaction: a worker
        that dies meanwhile leaves the row to run again and no child behind."""
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            ids = [conn.execute(journal.insert().values(
                portal_id=parent.portal_id, member_id=parent.member_id, received_at=now,
                source=parent.source, event=child["event"], object_type=parent.object_type,
                object_id=str(parent.id), object_key=child["object_key"],
                payload=child["payload"], detail=child.get("detail"),
                dedupe_key=f"{parent.source}:{parent.id}:{number}", state=PENDING,
                attempts=0, next_attempt_at=now, correlation_id=parent.correlation_id,
            ).returning(journal.c.id)).scalar_one() for number, child in enumerate(children)]
            done = conn.execute(
                update(journal).where(journal.c.id == parent.id, journal.c.state == PROCESSING)
                .values(state=DONE, finished_at=now, locked_by=None, locked_at=None,
                        error=None, detail=detail).returning(journal.c.event)).all()
            metrics.bump(conn, finished_counts(done, DONE))
        return ids

    def next_due(self, *, within: timedelta, now: datetime | None = None) -> datetime | None:
        """When the next pending row becomes due, if that is within `within` from now."""
        now = now or datetime.now(UTC)
        with self._engine.connect() as conn:
            due = conn.execute(
                select(func.min(journal.c.next_attempt_at)).where(
                    journal.c.state == PENDING,
                    journal.c.next_attempt_at <= now + within,
                )
            ).scalar()
        return due

    def waiting_keys(self, portal_id: int, object_keys: Iterable[str]) -> set[str]:
        """Which of these objects already have a row waiting (to skip re-enqueueing)."""
        keys = list(object_keys)
        if not keys:
            return set()
        with self._engine.connect() as conn:
            return set(
                conn.execute(
                    select(journal.c.object_key).where(
                        journal.c.portal_id == portal_id,
                        journal.c.object_key.in_(keys),
                        journal.c.state.in_((PENDING, FAILED, PROCESSING)),
                    )
                ).scalars()
            )

    # -- support's verbs: replay, backlog, depth ------------------------------------------

    def state_of(self, entry_id: int, portal_id: int | None = None) -> str | None:
        """A row's state (held to one portal's rows when `portal_id` is given)."""
        query = select(journal.c.state).where(journal.c.id == entry_id)
        if portal_id is not None:
            query = query.where(journal.c.portal_id == portal_id)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar()

    def requeue(self, ids: Sequence[int], detail_of: Callable[[Requeueable], dict | None],
                *, now: datetime) -> tuple[list[int], list[int]]:
        """Put rows back to wait, due now, with no attempts, their detail `detail_of(row)`;
        a row it gives None for, or whose state changed since it was read (a worker took
        it), is left. One transaction; returns (requeued ids, left ids)."""
        done: list[int] = []
        left: list[int] = []
        with self._engine.begin() as conn:
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                rows = conn.execute(
                    select(journal.c.id, journal.c.state, journal.c.error, journal.c.attempts,
                           journal.c.detail).where(journal.c.id.in_(chunk))
                ).all()
                for row in map(Requeueable._make, rows):
                    detail = detail_of(row)
                    if detail is not None and requeue_row(conn, row, detail, now):
                        done.append(row.id)
                    else:
                        left.append(row.id)
        return done, left

    def has_pending(self, portal_id: int, object_key: str) -> bool:
        """Whether the object has a row not yet claimed."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(journal.c.id).where(
                    journal.c.portal_id == portal_id,
                    journal.c.object_key == object_key,
                    journal.c.state == PENDING,
                ).limit(1)
            ).first() is not None

    def depth(self, states: Iterable[str]) -> int:
        """Rows in `states`, all portals together."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(journal).where(
                    journal.c.state.in_(list(states)))
            ).scalar_one()

    def backlog(self, states: Iterable[str]) -> dict[int, int]:
        """Rows in `states`, by portal id."""
        with self._engine.connect() as conn:
            return dict(conn.execute(
                select(journal.c.portal_id, func.count())
                .where(journal.c.state.in_(list(states)))
                .group_by(journal.c.portal_id)
            ).all())


def requeue_row(conn: Any, row: Requeueable, detail: dict, now: datetime) -> bool:
    """The conditional update behind `Journal.requeue`: only while the state is unchanged."""
    result = conn.execute(
        update(journal)
        .where(journal.c.id == row.id, journal.c.state == row.state)
        .values(state=PENDING, attempts=0, next_attempt_at=now, locked_by=None,
                locked_at=None, finished_at=None, detail=detail)
    )
    return result.rowcount == 1
