"""The write log: what TaskBridge sent to a portal, one row per idempotency key.

`connector.sync.write_back` logs each write before it is sent and marks it after; the
event page lists the rows its journal entry caused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from connector.storage.schema import write_log


def for_journal(engine: Engine, journal_id: int) -> list[dict[str, Any]]:
    """The write-log rows one journal row caused, oldest first, as stored."""
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(
            write_log.select().where(write_log.c.journal_id == journal_id)
            .order_by(write_log.c.id))]
