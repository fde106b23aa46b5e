"""Replay: put failed or dead journal rows back in the queue, recording who asked and when.

A replayed row is `pending` with no attempts and due now; its previous state, error and
attempts go into `detail["replays"]`, so the sync log keeps the history. The update is
conditional on the row still being failed or dead, so a row a worker picked up in the
meantime is left alone. A dry run answers the same ids without changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from connector.errors import SyncError
from connector.storage.engines import Engine
from connector.storage.journal import Journal
from connector.storage.journal_rows import DEAD, FAILED, Requeueable
from connector.storage.sync_log import LogFilter, SyncLog

REPLAYABLE = (FAILED, DEAD)
MAX_REPLAY = 10_000


class ReplayRefused(SyncError):
    """The row does not exist (for this portal) or is not failed or dead: nothing replays.

    `entry_id` names the row asked for, `state` the state that cannot replay (when known).
    """

    def __init__(self, message: str, *, entry_id: int | None = None,
                 state: str | None = None) -> None:
        super().__init__(message)
        self.entry_id = entry_id
        self.state = state


@dataclass(frozen=True)
class ReplayResult:
    ids: list[int]
    dry_run: bool
    skipped: list[int] = field(default_factory=list)  # changed state while we looked

    @property
    def count(self) -> int:
        return len(self.ids)


def replay_one(engine: Engine, entry_id: int, *, by: str, portal_id: int | None = None,
               dry_run: bool = False, now: datetime | None = None) -> ReplayResult:
    state = Journal(engine).state_of(entry_id, portal_id)
    if state is None:
        raise ReplayRefused(f"event {entry_id} does not exist", entry_id=entry_id)
    if state not in REPLAYABLE:
        raise ReplayRefused(f"event {entry_id} is {state}; only failed or dead events replay",
                            entry_id=entry_id, state=state)
    return _replay(engine, [entry_id], by=by, dry_run=dry_run, now=now)


def replay_matching(engine: Engine, where: LogFilter, *, by: str, dry_run: bool = False,
                    limit: int = MAX_REPLAY, now: datetime | None = None) -> ReplayResult:
    """Every failed or dead row the filter matches (at most `limit`, newest first)."""
    if where.state is not None and where.state not in REPLAYABLE:
        raise ReplayRefused(f"only failed or dead events replay, not {where.state}",
                            state=where.state)
    states = [where.state] if where.state else list(REPLAYABLE)
    log = SyncLog(engine)
    ids: list[int] = []
    for state in states:
        ids.extend(row.id for row in log.iterate(replace(where, state=state), limit=limit))
    return _replay(engine, sorted(ids)[:limit], by=by, dry_run=dry_run, now=now)


def _replay(engine: Engine, ids: list[int], *, by: str, dry_run: bool,
            now: datetime | None) -> ReplayResult:
    if dry_run or not ids:
        return ReplayResult(ids=ids, dry_run=dry_run)
    now = now or datetime.now(UTC)
    done, skipped = Journal(engine).requeue(
        ids, lambda row: _replayed_detail(row, by=by, now=now), now=now)
    return ReplayResult(ids=sorted(done), dry_run=False, skipped=sorted(skipped))


def _replayed_detail(row: Requeueable, *, by: str, now: datetime) -> dict | None:
    """The row's detail with this replay added to its history; None unless it replays."""
    if row.state not in REPLAYABLE:
        return None
    detail = dict(row.detail) if isinstance(row.detail, dict) else {}
    history = list(detail.get("replays") or [])
    history.append({
        "by": by, "at": now.isoformat(timespec="seconds"), "previous_state": row.state,
        "previous_error": row.error, "previous_attempts": row.attempts,
    })
    detail["replays"] = history
    return detail
