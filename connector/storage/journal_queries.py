"""The journal's claim statements, one per dialect.

A claim takes, for up to `limit` objects (a task, a deal, a lead, the app), the oldest
waiting row of each: one whose portal is installed, that is due, and that has no
older unfinished row of the same object ahead of it (so per-object order holds). It
then takes every later due row of those objects too, so ten waiting ONTASKUPDATEs of one
task are handled by one fetch. On PostgreSQL the heads are locked with
`FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same object.
"""

from __future__ import annotations

from sqlalchemy import DateTime, bindparam, text

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
