"""The journal's named statements: the claim, one per dialect, and the receiver's dedupe
lookup and driver-level INSERT.

A claim takes, for up to `limit` objects (a task, a deal, a lead, the app), the oldest
waiting row of each: one whose portal is installed, that is due, and that has no
older unfinished row of the same object ahead of it (so per-object order holds). It
then takes every later due row of those objects too, so ten waiting ONTASKUPDATEs of one
task are handled by one fetch. On PostgreSQL the heads are locked with
`FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same object.

Live rows go first: waiting rows are taken in the order `(source = 'backfill'), id` (the
partial index `ix_journal_claim_priority`, migration 0008, keeps them so), so events a
portal sends while a backfill's chunks wait are claimed before any chunk; `claim_batch`
keeps at most one chunk per claim. A chunk is never a follower: each is its object's head.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, Engine, bindparam, func, select, text

from connector.storage.journal_rows import PENDING
from connector.storage.schema import CLAIM_PRIORITY, journal, portals, rest_calls

NOW = bindparam("now", type_=DateTime(timezone=True))

BACKFILL = "backfill"  # the source of a backfill's rows

_HEADS = f"""
SELECT j.id, j.portal_id, j.object_key, {CLAIM_PRIORITY.replace("source", "j.source")} AS priority
FROM journal j
JOIN portals p ON p.id = j.portal_id AND p.state = 'installed'
WHERE j.state IN ('pending', 'failed')
  AND j.next_attempt_at <= :now
  AND NOT EXISTS (
      SELECT 1 FROM journal e
      WHERE e.portal_id = j.portal_id
        AND e.object_key = j.object_key
        AND e.id < j.id
        AND e.state IN ('pending', 'failed', 'processing')
  )
ORDER BY {CLAIM_PRIORITY.replace("source", "j.source")}, j.id
LIMIT :limit
"""

HEADS = {
    "postgresql": text(_HEADS + "FOR UPDATE OF j SKIP LOCKED").bindparams(NOW),
    "sqlite": text(_HEADS).bindparams(NOW),
}

FOLLOWERS = {
    dialect: text(
        """
SELECT j.id FROM journal j
WHERE j.portal_id = :portal_id AND j.object_key = :object_key
  AND j.state IN ('pending', 'failed') AND j.next_attempt_at <= :now
  AND j.id > :head_id AND j.source <> 'backfill'
ORDER BY j.id
"""
        + ("FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else "")
    ).bindparams(NOW)
    for dialect in ("postgresql", "sqlite")
}


# Built once: the receiver runs these for every batch of events, so their compiled form
# is reused.
FIND_WAITING = (
    select(journal.c.portal_id, journal.c.dedupe_key, journal.c.received_at, journal.c.id)
    .where(
        journal.c.portal_id.in_(bindparam("portal_ids", expanding=True)),
        journal.c.dedupe_key.in_(bindparam("dedupe_keys", expanding=True)),
        journal.c.received_at >= bindparam("since"),
        journal.c.state == PENDING,
    )
    # No ORDER BY: it would steer the planner off the dedupe index onto a scan of the
    # portal's rows. The few matches are sorted in Python.
)
INSERTED = ("portal_id", "member_id", "received_at", "source", "event", "object_type",
            "object_id", "object_key", "payload", "dedupe_key", "state", "attempts",
            "next_attempt_at", "finished_at", "detail", "correlation_id")


class DriverInsert:
    """The journal INSERT as the driver's own SQL: the receiver runs it for every event,
    and SQLAlchemy's per-statement work cost as much as the insert itself. Values go
    through the columns' own types, so rows are stored exactly as SQLAlchemy stores them."""

    def __init__(self, dialect: Any) -> None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (f"INSERT INTO journal ({', '.join(INSERTED)}) "
                    f"VALUES ({', '.join([mark] * len(INSERTED))}) RETURNING id")
        self.convert = [journal.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                        for name in INSERTED]

    def one(self, cursor: Any, row: dict[str, Any]) -> int:
        """Insert one row on the connection's own cursor; its new id."""
        cursor.execute(self.sql, tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip((row[name] for name in INSERTED), self.convert,
                                      strict=True)))
        return int(cursor.fetchone()[0])


# -- a backfill's rows, as its progress reads them ------------------------------------------

PROGRESS_COLUMNS = (journal.c.id, journal.c.state, journal.c.attempts, journal.c.received_at,
                    journal.c.locked_at, journal.c.finished_at, journal.c.error,
                    journal.c.detail, journal.c.payload)


def object_rows(engine: Engine, portal_id: int, object_key: str, *, last: bool = False,
                with_payload: bool = False) -> list[dict[str, Any]]:
    """One object's rows of a portal (through `ix_journal_object`), oldest first, or only
    its newest with `last`; without their payloads unless asked (a chunk's is large)."""
    columns = PROGRESS_COLUMNS if with_payload else PROGRESS_COLUMNS[:-1]
    query = select(*columns).where(journal.c.portal_id == portal_id,
                                   journal.c.object_key == object_key)
    query = query.order_by(journal.c.id.desc()).limit(1) if last else query.order_by(journal.c.id)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def requests_made(engine: Engine, journal_ids: list[int]) -> int:
    """The REST requests the passes of these rows made (retries included)."""
    if not journal_ids:
        return 0
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.coalesce(func.sum(rest_calls.c.requests), 0))
            .where(rest_calls.c.journal_id.in_(journal_ids))).scalar_one())


def backfill_due(engine: Engine, now: Any) -> bool:
    """Whether a backfill row waits and is due (the worker then claims again at once rather
    than waiting for live events to gather)."""
    with engine.connect() as conn:
        return conn.execute(
            select(journal.c.id)
            .join(portals, (portals.c.id == journal.c.portal_id)
                  & (portals.c.state == "installed"))
            .where(journal.c.source == BACKFILL, journal.c.state.in_(("pending", "failed")),
                   journal.c.next_attempt_at <= now).limit(1)
        ).first() is not None
