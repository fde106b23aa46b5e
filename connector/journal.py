"""The journal: every inbound event, durable before the portal gets its 200.

It is the worker's queue and the support staff's sync log. This module offers the
domain verbs; the worker and the admin pages never write SQL of their own.

States: pending ▸ processing ▸ done | failed (retried later) | dead (gave up, with why);
duplicate (a re-delivery of an event still waiting) and ignored (an event TaskBridge
does not act on) are recorded and never processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select

from connector.schema import journal
from mappers.portal_events import PortalEvent

PENDING = "pending"
PROCESSING = "processing"
DONE = "done"
FAILED = "failed"
DEAD = "dead"
DUPLICATE = "duplicate"
IGNORED = "ignored"
WAITING = (PENDING, FAILED)

DEDUPE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Recorded:
    id: int
    state: str
    duplicate_of: int | None = None


class Journal:
    """Writes and reads journal rows."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        event: PortalEvent,
        *,
        portal_id: int | None,
        payload: dict[str, Any],
        dedupe_key: str,
        source: str = "online",
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> Recorded:
        """Store one event; a repeat of an event still waiting is stored as a duplicate.

        Only a row that has not been picked up yet counts as the original: once the
        worker has fetched state for it, a later identical delivery may describe a newer
        change and is queued again.
        """
        now = now or datetime.now(UTC)
        with self._engine.begin() as conn:
            original = None
            if portal_id is not None and event.known:
                original = conn.execute(
                    select(journal.c.id)
                    .where(
                        and_(
                            journal.c.portal_id == portal_id,
                            journal.c.dedupe_key == dedupe_key,
                            journal.c.received_at >= now - DEDUPE_WINDOW,
                            journal.c.state == PENDING,
                        )
                    )
                    .limit(1)
                ).scalar()
            state = DUPLICATE if original is not None else PENDING if event.known else IGNORED
            row_id = conn.execute(
                journal.insert()
                .values(
                    portal_id=portal_id,
                    member_id=event.auth.member_id,
                    received_at=now,
                    source=source,
                    event=event.name,
                    object_type=event.object_type,
                    object_id=event.object_id,
                    object_key=event.object_key,
                    payload=payload,
                    dedupe_key=dedupe_key,
                    state=state,
                    attempts=0,
                    next_attempt_at=now if state == PENDING else None,
                    finished_at=None if state == PENDING else now,
                    detail={"duplicate_of": original} if original is not None else None,
                    correlation_id=correlation_id,
                )
                .returning(journal.c.id)
            ).scalar_one()
        return Recorded(id=row_id, state=state, duplicate_of=original)

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
