"""A journal row's states and the values that go in and come out: an arrival to record, a
claimed row, what was recorded; and the counter keys a row's end adds to."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from connector.storage import counters as metrics
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


@dataclass(frozen=True)
class Claimed:
    """A journal row the worker now holds."""

    id: int
    portal_id: int
    member_id: str
    event: str
    object_type: str
    object_id: str
    object_key: str
    payload: dict[str, Any]
    source: str
    attempts: int
    received_at: datetime
    correlation_id: str | None
    replays: tuple[dict[str, Any], ...] = ()  # who replayed it, kept across processing


@dataclass(frozen=True)
class Arrival:
    """One event as it reached TaskBridge, ready to be journaled."""

    event: PortalEvent
    portal_id: int | None
    payload: dict[str, Any]
    dedupe_key: str
    received_at: datetime
    source: str = "online"
    correlation_id: str | None = None
    due_in: timedelta = timedelta(0)


class Requeueable(NamedTuple):
    """A row as replay reads it before putting it back to wait."""

    id: int
    state: str
    error: str | None
    attempts: int
    detail: Any


def row_for(arrival: Arrival, state: str, original: int | None) -> dict[str, Any]:
    event = arrival.event
    return {
        "portal_id": arrival.portal_id,
        "member_id": event.auth.member_id,
        "received_at": arrival.received_at,
        "source": arrival.source,
        "event": event.name,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_key": event.object_key,
        "payload": arrival.payload,
        "dedupe_key": arrival.dedupe_key,
        "state": state,
        "attempts": 0,
        "next_attempt_at": arrival.received_at + arrival.due_in if state == PENDING else None,
        "finished_at": None if state == PENDING else arrival.received_at,
        "detail": {"duplicate_of": original} if original is not None else None,
        "correlation_id": arrival.correlation_id,
    }


def retry_delay(attempts: int) -> timedelta:
    """Backoff before the next try: 5 s, 10 s, 20 s ... capped at one hour."""
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


@functools.lru_cache(maxsize=1024)
def received_key(event: str, state: str) -> metrics.Key:
    return metrics.EVENTS_RECEIVED, metrics.labels(event=event, state=state)


def finished_counts(rows: Sequence[Any], outcome: str) -> Counter[metrics.Key]:
    """Counter increments for rows that just ended a try as `outcome`."""
    return Counter((metrics.EVENTS_FINISHED, metrics.labels(event=row.event, outcome=outcome))
                   for row in rows)


def claimed_from(row: Any) -> Claimed:
    return Claimed(
        id=row["id"], portal_id=row["portal_id"], member_id=row["member_id"],
        event=row["event"], object_type=row["object_type"], object_id=row["object_id"],
        object_key=row["object_key"], payload=row["payload"], source=row["source"],
        attempts=row["attempts"], received_at=row["received_at"],
        correlation_id=row["correlation_id"],
        replays=tuple((row["detail"] or {}).get("replays") or ()),
    )
