"""What one sync pass holds while it decides: the events it handles, the plan it builds (Pass),
the portal's closing rules, and the echoes of TaskBridge's own writes it expects back."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.portals.settings import PortalSettings
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.snapshots import StoredItem, StoredTask
from connector.sync.fetch import known_facts
from connector.sync.write_back import WriteOutcome
from mappers.actors import EventActor, event_actor, own_echoes
from mappers.bindings import CrmRef
from mappers.closing import PortalRules
from mappers.write_plan import Write

TASK_EVENTS = {"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONTASKCOMMENTADD",
               "TASKBRIDGE_TASK_VIEWED", "TASKBRIDGE_RECHECK"}
ITEM_EVENTS = {"ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMDEALMOVETOCATEGORY",
               "ONCRMLEADADD", "ONCRMLEADUPDATE", "ONCRMLEADDELETE", "TASKBRIDGE_RECHECK_ITEM"}
ITEM_TYPES = {"deal": 2, "lead": 1}


def rows_by_object(rows: Sequence[Claimed]) -> dict[str, list[Claimed]]:
    """A pass's rows by the object (task, deal, lead) they are about, in order."""
    by_key: dict[str, list[Claimed]] = defaultdict(list)
    for row in rows:
        by_key[row.object_key].append(row)
    return by_key


@dataclass
class Pass:
    """Everything one pass decides, before it is written and stored."""

    now: datetime
    writes: list[Write] = field(default_factory=list)
    tasks: dict[int, StoredTask] = field(default_factory=dict)
    items: dict[CrmRef, StoredItem] = field(default_factory=dict)
    deleted_tasks: set[int] = field(default_factory=set)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # by object key
    # Which object's events planned each write, and which objects' decisions each stored
    # entry holds: a write that fails fails those objects, and only those.
    planned_by: dict[str, str] = field(default_factory=dict)
    touched: dict[tuple[str, Any], set[str]] = field(default_factory=dict)

    @contextmanager
    def deciding(self, origin: str) -> Iterator[None]:
        """Attribute what is planned and kept inside the block to the object `origin`."""
        writes = len(self.writes)
        before = {**_entries(self)}
        yield
        for write in self.writes[writes:]:
            self.planned_by.setdefault(write.key, origin)
        for entry, value in _entries(self).items():
            if before.get(entry) is not value:
                self.touched.setdefault(entry, set()).add(origin)

    def observed_items(self, rows: Sequence[Claimed]) -> set[CrmRef]:
        """The deals and leads this pass saw: its tasks' bindings, its items, its rows'."""
        items = {ref for task in self.tasks.values() for ref in task.snapshot.crm_bindings}
        items |= set(self.items)
        items |= {CrmRef(ITEM_TYPES[row.object_type], int(row.object_id)) for row in rows
                  if row.object_type in ITEM_TYPES and row.object_id.isdigit()}
        return items

    def write_error(self, key: str, outcome: WriteOutcome) -> str:
        """Why the object `key` failed: its own failed writes, or those it shares."""
        own = [f"{write}: {error}" for write, error in outcome.failed.items()
               if self.planned_by.get(write) == key]
        if own:
            return f"WriteFailed: {len(own)} portal writes failed: " + "; ".join(own[:3])
        return ("WriteFailed: it shares a decision with an object whose write failed: "
                + "; ".join(f"{write}: {error}"
                            for write, error in list(outcome.failed.items())[:3]))

    def settle(self, failed_writes: Iterable[str]) -> set[str]:
        """The objects that fail with `failed_writes`, their stored entries dropped.

        An object fails when a write its events planned failed, or when it shares a
        stored entry with such an object (a closing that decided a task another event
        also decided). What a failed object would have stored is dropped, so its retry
        decides it again from the last stored state.
        """
        failed = {self.planned_by.get(key, "") for key in failed_writes}
        if "" in failed:  # a write nobody planned: trust nothing of the pass
            failed = {origin for origins in self.touched.values() for origin in origins}
            failed |= set(self.planned_by.values()) | set(self.details)
        grown = True
        while grown:
            grown = False
            for origins in self.touched.values():
                if origins & failed and not origins <= failed:
                    failed |= origins
                    grown = True
        for (kind, key), origins in self.touched.items():
            if origins & failed:
                if kind == "task":
                    self.tasks.pop(key, None)
                elif kind == "item":
                    self.items.pop(key, None)
                else:
                    self.deleted_tasks.discard(key)
        return failed


def _entries(work: Pass) -> dict[tuple[str, Any], Any]:
    entries: dict[tuple[str, Any], Any] = {("task", k): v for k, v in work.tasks.items()}
    entries.update({("item", k): v for k, v in work.items.items()})
    entries.update({("deleted", k): True for k in work.deleted_tasks})
    return entries


def rules_of(portal: Portal) -> PortalRules:
    settings = PortalSettings.model_validate(portal.settings)
    return PortalRules(
        close_tasks_on_lead_convert=settings.close_tasks_on_lead_convert,
        close_tasks_on_deal_close=settings.close_tasks_on_deal_close,
        review_stage_by_category={int(k): v for k, v in settings.review_stage.items()},
        language=settings.language or portal.language,
    )


class OwnWrites:
    """TaskBridge's own writes come back as online events (every task update fires one).

    Each write TaskBridge sends is expected to come back as one event on its object, sent
    by the user it acts as. Events matching an expectation are its own change: nothing to
    fetch. More events than expected, or from anyone else, are fetched. (The offline
    queue keeps them out by `auth_connector`.) Expectations live per process for a
    minute, so an echo another worker claims is fetched, which costs a request and nothing
    else.
    """

    TTL = 60.0

    def __init__(self) -> None:
        self._expected: dict[tuple[int, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def remember(self, portal: Portal, outcome: WriteOutcome) -> None:
        until = time.monotonic() + self.TTL
        with self._lock:
            for owner, count in outcome.echoes.items():
                left, _ = self._expected.get((portal.id, owner), (0, until))
                self._expected[(portal.id, owner)] = (left + count, until)

    def drop_echoes(self, portal: Portal, rows: Sequence[Claimed],
                    details: dict[str, dict[str, Any]]) -> list[Claimed]:
        facts = known_facts(portal.member_id)
        if facts is None:
            return list(rows)
        now = time.monotonic()
        by_key: dict[str, list[Claimed]] = defaultdict(list)
        for row in rows:
            by_key[row.object_key].append(row)
        kept = []
        with self._lock:
            self._expected = {k: v for k, v in self._expected.items() if v[1] > now}
            for key, key_rows in by_key.items():
                left, until = self._expected.get((portal.id, key), (0, now))
                if own_echoes(events_of(key_rows), expected=left,
                              acting_user_id=facts.acting_user_id):
                    self._expected[(portal.id, key)] = (left - len(key_rows), until)
                    details[key] = {"outcome": "TaskBridge's own change came back: "
                                               "nothing to fetch"}
                else:
                    kept.extend(key_rows)
        return kept


def events_of(rows: Sequence[Claimed]) -> list[EventActor]:
    """The rows as the rules read them: each event's name and the user it names."""
    return [EventActor(row.event, event_actor(row.payload)) for row in rows]
