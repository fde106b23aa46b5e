"""One pass over a portal's claimed events: fetch ▸ rules ▸ write ▸ remember.

This module wires; every decision about statuses is made in `mappers/`. The events of
one task or CRM item are coalesced: whatever number of them waited, the object is
fetched once and compared with the snapshot TaskBridge last stored. What a pass holds is
in `pass_state`; the rules applied to each task and deal or lead, in `pass_context`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from connector.rest.client import PortalClient
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore, StoredItem, StoredTask
from connector.sync.fetch import Fetched, Needs, PortalFacts, fetch, portal_facts
from connector.sync.pass_context import PassContext
from connector.sync.pass_state import ITEM_TYPES, OwnWrites, Pass, events_of, rules_of
from connector.sync.row_reading import object_number
from connector.sync.write_back import WriteBack, WriteOutcome
from mappers.actors import edited_by_someone_else
from mappers.bindings import CrmRef
from mappers.changes import unexplained_edit
from mappers.item_transitions import ItemTransition, item_transition
from mappers.snapshots import TaskSnapshot
from mappers.status_writes import last_status_per_item, status_unchanged, written_status
from mappers.task_bindings import status_items
from mappers.write_plan import Write, WriteKind

log = logging.getLogger(__name__)


class SyncFlow:
    def __init__(self, snapshots: SnapshotStore, engine: Any) -> None:
        self._snapshots = snapshots
        self._engine = engine
        self._own_writes = OwnWrites()

    @property
    def own_writes(self) -> OwnWrites:
        """The echoes this worker's writes will send back (a backfill's writes too)."""
        return self._own_writes

    def run(self, portal: Portal, client: PortalClient, rows: Sequence[Claimed],
            now: datetime, work: Pass | None = None) -> tuple[Pass, WriteOutcome, int]:
        """Decide and write for `rows`; returns the pass, the writes' outcome, fetch requests.

        Pass your own `work` to keep what was decided when a fetch or the write batch
        raises half-way."""
        by_task: dict[int, list[Claimed]] = defaultdict(list)
        by_item: dict[CrmRef, list[Claimed]] = defaultdict(list)
        work = work if work is not None else Pass(now=now)
        rows = self._own_writes.drop_echoes(portal, rows, work.details)
        for row in rows:
            # Rows come read (`row_reading.unreadable`); a bad id raises here, never int("²").
            number = object_number(row) if row.object_type in ("task", *ITEM_TYPES) else None
            if number is None:
                continue
            if row.object_type == "task":
                by_task[number].append(row)
            else:
                by_item[CrmRef(ITEM_TYPES[row.object_type], number)].append(row)
        previous = self._snapshots.tasks(portal.id, by_task)
        stored_items = self._snapshots.items(
            portal.id, set(by_item) | _bound_items(previous.values())
        )
        needs = _needs(by_task, by_item, previous)

        def second_round(fetched: Fetched, facts: PortalFacts) -> Needs:
            return Needs(
                checklists=_unexplained_edits(by_task, previous, fetched, facts),
                item_tasks=_closing(by_item, fetched, stored_items),
            )

        fetched, facts = fetch(client, portal.member_id, needs,
                               more=second_round) if _any(needs) else (Fetched(), None)
        context = PassContext(self._snapshots, portal, rules_of(portal), fetched, previous,
                           stored_items, work)
        for task_id, task_rows in sorted(by_task.items()):
            with work.deciding(task_rows[0].object_key):
                context.task(task_id, task_rows)
        for ref, item_rows in sorted(by_item.items()):
            with work.deciding(item_rows[0].object_key):
                context.item(ref, item_rows)
        outcome = WriteOutcome()
        statuses = last_status_per_item(work.writes)
        # Items a new task is bound to were not read yet: what TaskBridge remembers of them
        # (their status, their card's activity) decides what is written.
        stored_items.update(self._snapshots.items(portal.id, {
            w.item for w in statuses
            if w.kind is WriteKind.ITEM_STATUS and w.item is not None
            and w.item not in stored_items}))
        status_writes = {w.item: w for w in statuses
                         if w.kind is WriteKind.ITEM_STATUS and w.item is not None}
        origins = {ref: work.planned_by.get(w.key, "") for ref, w in status_writes.items()}
        work.writes = _unchanged_statuses_dropped(statuses, stored_items, work)
        # The kanban card's activity goes in the same batch as the status field.
        context.cards(set(origins) | set(work.items), origins,
                      {ref: w.key for ref, w in status_writes.items()})
        if work.writes:
            facts = facts or portal_facts(client, portal.member_id)
            tasks = {tid: stored.snapshot for tid, stored in previous.items()}
            tasks.update({tid: stored.snapshot for tid, stored in work.tasks.items()})
            # A closing acts on the task as it was fetched, before the closing.
            tasks.update(context.closing_snapshots)
            first_row = {row.object_key: row.id for row in reversed(rows)}
            outcome = WriteBack(self._engine, client, portal.id, facts).send(
                work.writes, tasks, journal_ids={
                    w.key: first_row[o] for w in work.writes
                    if (o := work.planned_by.get(w.key)) in first_row},
            )
            self._own_writes.remember(portal, outcome)
            self._remember_cards(portal, work, stored_items, outcome)
        return work, outcome, fetched.requests

    def _remember_cards(self, portal: Portal, work: Pass, stored: dict[CrmRef, StoredItem],
                        outcome: WriteOutcome) -> None:
        """Keep each sent card's activity id and digest at once, whatever else of the pass
        fails: a forgotten id would give the item a second activity."""
        done = set(outcome.sent) | set(outcome.skipped)
        cards: dict[CrmRef, tuple[int | None, str]] = {}
        for write in work.writes:
            if write.kind is not WriteKind.ITEM_CARD or write.item is None \
                    or write.key not in done:
                continue
            ref = write.item
            known = work.items.get(ref) or stored.get(ref)
            activity_id = outcome.card_ids.get(ref) or (known.card_activity_id if known else None)
            if activity_id is None:  # an add written by an earlier try: its id is unknown
                continue
            cards[ref] = (activity_id, str(write.field("digest")))
            if ref in work.items:
                work.items[ref] = replace(work.items[ref], card_activity_id=activity_id,
                                          card_digest=cards[ref][1])
        if cards:
            self._snapshots.save_cards(portal.id, cards)

    def store(self, portal: Portal, work: Pass) -> dict[int, datetime]:
        """Keep what the pass saw; returns each saved task's deadline that the overdue
        index now watches."""
        return self._snapshots.save_pass(portal.id, work.tasks.values(), work.deleted_tasks,
                                         work.items.values())


def _unchanged_statuses_dropped(writes: list[Write], stored: dict[CrmRef, StoredItem],
                                work: Pass) -> list[Write]:
    """An item whose card already shows the status needs no write; the others remember
    what they will show."""
    kept = []
    for write in writes:
        if write.kind is WriteKind.ITEM_STATUS and write.item is not None:
            ref = write.item
            known = work.items.get(ref) or stored.get(ref) or StoredItem(ref, None, False, None)
            status = written_status(write)
            if status_unchanged(known.status, status, remembered=ref in stored):
                continue
            work.items[ref] = replace(known, status=status)
            origin = work.planned_by.get(write.key)
            if origin:
                work.touched.setdefault(("item", ref), set()).add(origin)
        kept.append(write)
    return kept


def _any(needs: Needs) -> bool:
    return bool(needs.tasks or needs.items or needs.item_tasks)


def _bound_items(stored: Iterable[StoredTask]) -> set[CrmRef]:
    """The deals and leads of these tasks: the items TaskBridge writes a status to."""
    return {ref for task in stored for ref in status_items(task.snapshot.crm_bindings)}


def _needs(by_task: dict[int, list[Claimed]], by_item: dict[CrmRef, list[Claimed]],
           previous: dict[int, StoredTask]) -> Needs:
    needs = Needs()
    for task_id, rows in by_task.items():
        events = {row.event for row in rows}
        if events == {"ONTASKDELETE"}:
            continue
        needs.tasks.add(task_id)
        known = previous.get(task_id)
        if known is None or "ONTASKCOMMENTADD" in events:
            needs.results.add(task_id)
        if known is None or "TASKBRIDGE_RECHECK" in events:
            needs.checklists.add(task_id)
        if known is not None:
            # Every bound item: contacts, companies and smart-process items are fetched
            # too, in the same batch, for their responsible (the actor rule, §3).
            needs.items |= set(known.snapshot.crm_bindings)
    needs.items |= set(by_item)
    return needs


def _closing(by_item: dict[CrmRef, list[Claimed]], fetched: Fetched,
             stored: dict[CrmRef, StoredItem]) -> set[CrmRef]:
    """Items that reached a final stage since TaskBridge last saw them: their tasks are
    listed (one command each) only then."""
    wanted = set()
    for ref in by_item:
        known = stored.get(ref)
        was_closed = known.closed if known is not None else None
        if item_transition(fetched.items.get(ref), was_closed) is ItemTransition.REACHED_FINAL:
            wanted.add(ref)
    return wanted


def _unexplained_edits(by_task: dict[int, list[Claimed]], previous: dict[int, StoredTask],
                       fetched: Fetched, facts: PortalFacts) -> set[int]:
    """Edited tasks whose fetched fields explain nothing: their checklist is fetched next.
    TaskBridge's own edits (its CRM tag) come back the same way and are left out."""
    wanted = set()
    for task_id, rows in by_task.items():
        raw, known = fetched.tasks.get(task_id), previous.get(task_id)
        if raw is None or known is None or task_id in fetched.checklists:
            continue
        if not edited_by_someone_else(events_of(rows), acting_user_id=facts.acting_user_id):
            continue
        current = TaskSnapshot.from_rest(raw, result_count=known.snapshot.result_count)
        current = current.model_copy(update={
            "checklist_digest": known.snapshot.checklist_digest,
            "checklist_count": known.snapshot.checklist_count,
        })
        if unexplained_edit(known.snapshot, current):
            wanted.add(task_id)
    return wanted
