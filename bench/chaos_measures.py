"""What the chaos suite and the fleet measure once a run has settled, each by matching
one record to another rather than by comparing totals.

- *lost*: an event answered 200 is matched to a journal row by its identity (event,
  data, `ts`, `auth[member_id]`, `auth[user_id]`), as many rows as answers; an answer
  without its row is lost, and so is a row of an answered event that never finished.
  An extra row cannot hide a missing one. Rows TaskBridge queued itself (offline
  catch-up, reconcile, sweep) and left unfinished are counted apart.
- *duplicate writes*: timeline entries carrying the same `[ref]` marker (a timeline
  entry is the one write that is not safe to repeat).
- *writes sent twice*: the write log's writes (one idempotency key each) matched to the
  commands the portal ran: a key whose calls the portal ran more often than the write
  log holds it is a write sent twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from connector.storage.schema import write_log
from emulator import Portal
from emulator.php_form import flatten

UNFINISHED = ("pending", "failed", "processing")
MARKER = re.compile(r"\[([0-9a-f]{12})\]")
# Of an event's `auth` block only who sent it says which event it is; the rest are tokens.
IDENTITY_AUTH = ("auth[member_id]", "auth[user_id]")


def event_identity(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An event as its form pairs, tokens left out: equal for a delivery and its row."""
    pairs = flatten(payload)
    return tuple(sorted((key, value) for key, value in pairs
                        if not key.startswith("auth[") or key in IDENTITY_AUTH))


def unmatched(answered: Iterable[Mapping[str, Any]], journaled: Iterable[Mapping[str, Any]]
              ) -> int:
    """Answered events with no journal row of the same identity (counted as a multiset)."""
    rows = Counter(event_identity(payload) for payload in journaled)
    missing = 0
    for identity, count in Counter(event_identity(payload) for payload in answered).items():
        missing += max(0, count - rows[identity])
    return missing


def duplicate_timeline_entries(portal: Portal) -> tuple[int, int]:
    """(timeline entries, entries whose `[ref]` marker an earlier entry already carries)."""
    entries = list(portal.state.timeline.values())
    markers = Counter(marker for entry in entries for marker in MARKER.findall(entry.text))
    return len(entries), sum(count - 1 for count in markers.values() if count > 1)


def _command(method: str, params: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    shown = {k: v for k, v in params.items() if k != "auth_connector"}
    return method.lower(), tuple(sorted(flatten(shown)))


@dataclass(frozen=True)
class WriteCheck:
    logged: int  # calls the write log holds (one or more per idempotency key)
    ran: int  # of those, calls the portal ran at least once
    sent_twice: int  # runs beyond what the write log holds


def check_writes(engine: Engine, portal_id: int, portal: Portal) -> WriteCheck:
    """Match the write log's calls to the commands the portal ran (answered 200)."""
    with engine.connect() as conn:
        logged = conn.execute(
            select(write_log.c.params).where(write_log.c.portal_id == portal_id)).scalars()
        expected = Counter(_command(call["method"], call.get("params") or {})
                           for params in logged for call in (params or {}).get("calls", []))
    ran: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for record in portal.call_log.records():
        command = _command(record.method, record.params)
        if record.status == 200 and command in expected:
            ran[command] += 1
    return WriteCheck(
        logged=sum(expected.values()),
        ran=sum(min(count, expected[command]) for command, count in ran.items()),
        sent_twice=sum(max(0, count - expected[command]) for command, count in ran.items()),
    )


@dataclass
class Measures:
    answered_200: int = 0
    refused: int = 0
    never_delivered: int = 0
    journaled_online: int = 0
    journaled_offline: int = 0
    processed: int = 0
    duplicates: int = 0
    dead: int = 0
    dead_reasons: dict[str, int] = field(default_factory=dict)
    answered_not_journaled: int = 0
    never_finished: int = 0
    queued_unfinished: int = 0
    lost: int = 0
    duplicate_writes: int = 0
    writes_logged: int = 0
    writes_ran: int = 0
    writes_sent_twice: int = 0
    timeline_entries: int = 0
    rest_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure(engine: Engine, portal: Portal, portal_id: int, events_url: str,
            rows: list[dict[str, Any]]) -> Measures:
    """Deliveries, journal rows and portal writes of one portal, after the run settled."""
    deliveries = [d for d in portal.delivered_events if d.handler == events_url]
    result = Measures()
    answered = [d.payload for d in deliveries if d.status == 200]
    result.answered_200 = len(answered)
    result.refused = sum(1 for d in deliveries if d.status is not None and d.status != 200)
    result.never_delivered = sum(1 for d in deliveries if d.status is None)
    states = Counter(row["state"] for row in rows)
    online = [row["payload"] for row in rows if row["source"] == "online"]
    result.journaled_online = len(online)
    result.journaled_offline = sum(1 for row in rows if row["source"] == "offline")
    result.processed = states["done"] + states["ignored"]
    result.duplicates = states["duplicate"]
    result.dead = states["dead"]
    result.dead_reasons = dict(Counter(
        str(row["error"] or "")[:120] for row in rows if row["state"] == "dead"))
    result.answered_not_journaled = unmatched(answered, online)
    result.never_finished = sum(1 for row in rows
                                if row["source"] == "online" and row["state"] in UNFINISHED)
    result.queued_unfinished = sum(1 for row in rows
                                   if row["source"] != "online" and row["state"] in UNFINISHED)
    result.lost = result.answered_not_journaled + result.never_finished
    result.timeline_entries, result.duplicate_writes = duplicate_timeline_entries(portal)
    writes = check_writes(engine, portal_id, portal)
    result.writes_logged, result.writes_ran = writes.logged, writes.ran
    result.writes_sent_twice = writes.sent_twice
    result.rest_calls = portal.call_log.count()
    return result
