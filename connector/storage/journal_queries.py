"""The journal's named statements: the claim, one per dialect, and the receiver's dedupe
lookup and driver-level INSERT.

A claim takes, for up to `limit` objects (a task, a deal, a lead, the app), the oldest
waiting row of each: one whose portal is installed, that is due, and that has no
older unfinished row of the same object ahead of it (so per-object order holds). It
then takes every later due row of those objects too, so ten waiting ONTASKUPDATEs of one
task are handled by one fetch. On PostgreSQL the heads are locked with
`FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same object.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, bindparam, select, text

from connector.storage.journal_rows import PENDING
from connector.storage.schema import journal

NOW = bindparam("now", type_=DateTime(timezone=True))

_HEADS = """
SELECT j.id, j.portal_id, j.object_key
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
ORDER BY j.id
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
  AND j.id > :head_id
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
