"""The write log: what TaskBridge sent to a portal, one row per idempotency key.

`connector.sync.write_back` logs each write before it is sent and marks it after; the
event page lists the rows its journal entry caused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connector.storage.schema import write_log


class WriteLog:
    """One portal's write-log rows: their states, planning a write, marking its outcome."""

    def __init__(self, engine: Engine, portal_id: int) -> None:
        self._engine = engine
        self._portal_id = portal_id

    def states(self, keys: list[str]) -> dict[str, str]:
        """The state of each key that has a row."""
        if not keys:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(write_log.c.idempotency_key, write_log.c.state).where(
                    write_log.c.portal_id == self._portal_id,
                    write_log.c.idempotency_key.in_(keys),
                )
            ).all()
        return {row.idempotency_key: row.state for row in rows}

    def unsettled(self, prefix: str) -> dict[str, Any]:
        """The params of each write whose key starts with `prefix` and whose outcome is not
        known (`unknown`, or `planned` and never marked)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(write_log.c.idempotency_key, write_log.c.params).where(
                    write_log.c.portal_id == self._portal_id,
                    write_log.c.state.in_(("unknown", "planned")),
                    write_log.c.idempotency_key.startswith(prefix),
                )
            ).all()
        return {row.idempotency_key: row.params for row in rows}

    def log_planned(self, planned: Mapping[str, Mapping[str, Any]]) -> None:
        """A `planned` row for each key (replacing an earlier one), with its `journal_id`,
        `method` and `params`; in one transaction, before the writes are sent."""
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            for key, row in planned.items():
                values = {**row, "state": "planned", "created_at": now, "sent_at": now,
                          "error": None}
                conn.execute(
                    insert(write_log)
                    .values(portal_id=self._portal_id, idempotency_key=key, **values)
                    .on_conflict_do_update(
                        index_elements=["portal_id", "idempotency_key"], set_=values
                    )
                )

    def mark(self, keys: Iterable[str], state: str, error: str | None = None) -> None:
        """Set the state (and error) of these keys' rows."""
        keys = list(keys)
        if not keys:
            return
        with self._engine.begin() as conn:
            conn.execute(
                update(write_log)
                .where(write_log.c.portal_id == self._portal_id,
                       write_log.c.idempotency_key.in_(keys))
                .values(state=state, error=error[:2000] if error else None)
            )


def for_journal(engine: Engine, journal_id: int) -> list[dict[str, Any]]:
    """The write-log rows one journal row caused, oldest first, as stored."""
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(
            write_log.select().where(write_log.c.journal_id == journal_id)
            .order_by(write_log.c.id))]
