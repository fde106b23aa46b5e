"""The backfill's journal rows as the worker runs them: the request row reads the lists and
plans the chunks; each chunk row decides, writes and stores (see `backfill`).

What a chunk decides, it decides like a live pass would on a task's first sight
(`mappers.starting_status`): the snapshot and the status are stored as a pass stores them
(`SnapshotStore`), so later events are compared with them. Choices:

- No timeline entry at all: a starting status is not news, and a backfill of 1,000 deals
  would write 1,000 entries nobody reads (the REST floor counts none).
- Tasks TaskBridge already follows (a stored snapshot, or a live row waiting for them) are
  not decided again: their status came from events, which are newer than any list. Their
  items' statuses are still recomputed from every task's status, and written where the
  card shows something else, so running it again on demand repairs cards and picks up
  tasks created while TaskBridge was away, without undoing what events decided.
- Items closed before the backfill are remembered as closed and left as they are: no
  closing rule, no status write. Nothing here closes, starts or edits a task; the only
  task write is `TAGS` (the list as read, plus `CRM`), since the API has no "add a tag".
- A chunk stores its tasks and items *before* its writes go (a live pass stores after):
  each write's echo (the update event it fires) then finds the task and item known and
  changes nothing, whichever worker or process takes it, even after this one died.
- A chunk that runs again (its worker died) keeps the tasks it stored as it listed them,
  asks the portal about the writes the log has as sent but not confirmed (one batch: the
  tasks' tags, the items' fields), marks those it finds done, and sends only the rest.
  Whether an item needs its status written is judged from its card as read, never from
  TaskBridge's memory, which a try that died may have left ahead of the card.
- A write the portal refuses in a batch (a deal deleted since the lists were read) does
  not fail the chunk, which would hold back every chunk after it: it is listed in the
  chunk's detail and its item remembered without a status. A batch that fails as a whole
  (the portal failed or could not be reached) fails the chunk, which runs again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from connector.rest.client import PortalClient
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore, StoredItem, StoredTask
from connector.storage.write_log import WriteLog, for_journal
from connector.sync.backfill import BACKFILL_EVENT, CHUNK_EVENT, chunk_key
from connector.sync.fetch import (
    COMPLETED,
    ITEM_METHOD,
    STATUS_FIELD,
    TASK_SELECT,
    Needs,
    PortalFacts,
    fetch,
    portal_facts,
)
from connector.sync.pass_state import OwnWrites, rules_of
from connector.sync.write_back import WriteBack
from mappers.backfill_chunks import plan_chunks
from mappers.bindings import CrmRef
from mappers.errors import ValidationError
from mappers.item_status import item_status
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.starting_status import starting_status
from mappers.task_bindings import status_items
from mappers.write_plan import Write, WriteKind, item_status_write, tag_write

log = logging.getLogger(__name__)

# Open tasks bound to some CRM item; which are bound to a deal or lead is read from each.
OPEN_BOUND = {"!UF_CRM_TASK": "", "!REAL_STATUS": COMPLETED}
CONFIRM_TASK_SELECT = ["ID", "STATUS", "CREATED_BY", "RESPONSIBLE_ID", "TAGS"]
DOUBTFUL = ("planned", "unknown")  # sent by a worker that died, or with no answer
UPDATED_TYPES = {f"{method}.update": type_id for type_id, method in ITEM_METHOD.items()}


@dataclass
class RowOutcome:
    """What the worker records: the row's detail, and the rows its work goes on in."""

    detail: dict[str, Any]
    children: list[dict[str, Any]] | None = None


class BackfillPass:
    """One backfill row of one portal, with the worker's client."""

    def __init__(self, storage: Storage, portal: Portal, client: PortalClient, *,
                 now: datetime, own_writes: OwnWrites,
                 between: Callable[[], None] = lambda: None) -> None:
        self.storage, self.portal, self.client = storage, portal, client
        self.now, self.own_writes = now, own_writes
        # Called between the list requests: the worker handles the live rows due by then,
        # so an event waits for one list request, not for the whole reading.
        self.between = between
        self.snapshots = SnapshotStore(storage.engine)

    def run(self, row: Claimed) -> RowOutcome:
        if row.event == BACKFILL_EVENT:
            return self.read(row)
        return self.chunk(row)

    # -- the request row: read the lists, plan the chunks -------------------------------

    def read(self, row: Claimed) -> RowOutcome:
        tasks, unreadable = self._open_bound_tasks()
        refs = sorted({ref for task in tasks.values() for ref in status_items(task.crm_bindings)},
                      key=lambda ref: (ref.entity_type_id, ref.id))
        items: dict[CrmRef, CrmItemSnapshot] = {}
        self.between()
        if refs:
            items = fetch(self.client, self.portal.member_id, Needs(items=set(refs)))[0].items
        tasks_of = {ref: [task.id for task in tasks.values() if ref in task.crm_bindings]
                    for ref in refs if ref in items}
        chunks = plan_chunks(
            tasks_of, status_writes={ref for ref in tasks_of if not items[ref].is_final},
            untagged={task.id for task in tasks.values() if not task.has_taskbridge_tag})
        children = [{
            "event": CHUNK_EVENT, "object_key": chunk_key(row.id),
            "payload": {"backfill": row.id,
                        "items": [items[ref].model_dump(mode="json") for ref in chunk.items],
                        "tasks": [{"snapshot": tasks[task_id].model_dump(mode="json"),
                                   "responsibles": _responsibles(tasks[task_id], items)}
                                  for task_id in chunk.tasks]},
            "detail": {"items": len(chunk.items), "tasks": len(chunk.tasks),
                       "writes_expected": chunk.writes},
        } for chunk in chunks]
        detail = {
            "outcome": f"backfill: {len(tasks)} open tasks bound to {len(tasks_of)} deals "
                       f"and leads, in {len(chunks)} chunks",
            "items_total": len(tasks_of), "tasks_seen": len(tasks), "chunks": len(chunks),
            "unreadable_tasks": unreadable, "started_at": self.now.isoformat(),
            "requested_by": row.payload.get("requested_by"),
        }
        return RowOutcome(detail, children)

    def _open_bound_tasks(self) -> tuple[dict[int, TaskSnapshot], list[str]]:
        tasks: dict[int, TaskSnapshot] = {}
        unreadable: list[str] = []
        requests = len(self.client.calls)
        for raw in self.client.list_all("tasks.task.list",
                                        {"filter": OPEN_BOUND, "select": TASK_SELECT},
                                        page_key="tasks"):
            if len(self.client.calls) != requests:  # a list request came back
                requests = len(self.client.calls)
                self.between()
            try:
                task = TaskSnapshot.from_rest(raw)
            except ValidationError as exc:  # one bad task is left out, not the backfill
                unreadable.append(str(exc)[:200])
                continue
            if status_items(task.crm_bindings) and not task.is_completed:
                tasks[task.id] = task
        return tasks, unreadable

    # -- a chunk row: decide, write, store ----------------------------------------------

    def chunk(self, row: Claimed) -> RowOutcome:
        payload = row.payload
        backfill_id = int(payload["backfill"])
        items = [CrmItemSnapshot.model_validate(raw) for raw in payload["items"]]
        decided = self._decide({int(entry["snapshot"]["id"]): entry
                                for entry in payload["tasks"]})
        facts = portal_facts(self.client, self.portal.member_id)
        writes = [write for task in decided.values() if (write := tag_write(task.snapshot))]
        kept, statuses = self._items(items, decided, facts, backfill_id)
        writes += statuses
        # Stored before the writes go: their echoes (an update event per write) then find
        # the tasks and items known and change nothing, whichever worker takes them.
        self.snapshots.save_first_seen(self.portal.id, decided.values(), kept)
        self._confirm_sent(row.id)  # a try that died (or a replay) may have sent some
        outcome = WriteBack(self.storage.engine, self.client, self.portal.id, facts).send(
            writes, {}, journal_id=row.id)
        self.own_writes.remember(self.portal, outcome)
        self._forget_refused(writes, outcome.failed, kept)
        listed = payload["tasks"]
        return RowOutcome({
            "outcome": f"backfill chunk: {len(decided)} tasks given their starting status, "
                       f"{len(statuses)} item statuses written",
            "items": len(items), "tasks": len(listed), "decided": len(decided),
            "followed_already": len(listed) - len(decided),
            "statuses": {str(task_id): task.crm_status.value if task.crm_status else None
                         for task_id, task in decided.items()},
            "writes": outcome.summary(), "writes_refused": len(outcome.failed),
        })

    def _forget_refused(self, writes: list[Write], refused: Mapping[str, str],
                        kept: list[StoredItem]) -> None:
        """A command the portal refused in a batch (a deal deleted since the lists were
        read, a task the app may not edit) will be refused again: the chunk does not fail
        for it (a batch that failed as a whole raised already, and the chunk runs again).
        An item whose status was refused is remembered without one, so the next pass that
        decides it writes it; a task whose tag was refused gets it at its next observation,
        as any task without the tag does."""
        if not refused:
            return
        log.warning("backfill on portal %s: the portal refused %d of %d writes",
                    self.portal.member_id, len(refused), len(writes))
        unwritten = {write.item for write in writes
                     if write.key in refused and write.kind is WriteKind.ITEM_STATUS}
        self.snapshots.save_first_seen(self.portal.id, [], [
            replace(item, status=None) for item in kept if item.ref in unwritten])

    def _decide(self, listed: Mapping[int, dict[str, Any]]) -> dict[int, StoredTask]:
        """The listed tasks' starting statuses, but for tasks TaskBridge follows already (a
        live pass stored them, or a live row waits for them). A task stored as listed is
        this chunk's own, from a try that died: kept as it was decided."""
        stored = self.snapshots.tasks(self.portal.id, listed)
        waiting = Journal(self.storage.engine).waiting_keys(
            self.portal.id, [f"task:{task_id}" for task_id in listed])
        decided: dict[int, StoredTask] = {}
        for task_id, entry in listed.items():
            task = TaskSnapshot.model_validate(entry["snapshot"])
            known = stored.get(task_id)
            if known is not None:
                if known.snapshot == task:
                    decided[task_id] = known
                continue
            if f"task:{task_id}" in waiting:
                continue
            start = starting_status(task, item_responsibles=frozenset(entry["responsibles"]),
                                    now=self.now)
            decided[task_id] = StoredTask(task, start.status, start.since, deleted=False)
        return decided

    def _items(self, items: Iterable[CrmItemSnapshot], decided: Mapping[int, StoredTask],
               facts: PortalFacts, backfill_id: int) -> tuple[list[StoredItem], list[Write]]:
        """Each item's status from all its tasks' (stored and just decided): what to store,
        and the status writes for open items whose card, as read, shows something else."""
        items = list(items)
        known = self.snapshots.items(self.portal.id, [item.ref for item in items])
        language = rules_of(self.portal).language
        kept: list[StoredItem] = []
        writes: list[Write] = []
        for item in items:
            ref, stored = item.ref, known.get(item.ref)
            if item.is_final:  # closed before: remembered as closed, left as it is
                if stored is None:
                    kept.append(StoredItem(ref, None, True, None))
                continue
            tasks = {task.snapshot.id: task for task in self.snapshots.tasks_bound_to(
                self.portal.id, ref)}
            tasks.update({task_id: task for task_id, task in decided.items()
                          if ref in task.snapshot.crm_bindings})
            status = item_status([record for task in tasks.values()
                                  if (record := task.record()) is not None])
            if status is None:
                continue
            values = facts.status_values.get(ref.entity_type_id, {})
            # The card as read, not TaskBridge's memory of it: running again on demand
            # repairs a card someone cleared.
            if item.status_field is None or item.status_field != values.get(status):
                writes.append(item_status_write(ref, status, cause=f"backfill:{backfill_id}",
                                                language=language))
            kept.append(replace(stored, status=status) if stored
                        else StoredItem(ref, status, False, None))
        return kept, writes

    def _confirm_sent(self, journal_id: int) -> None:
        """The writes a dead worker of this row sent without recording the answer: those
        the portal shows done are marked done (not sent again), the others failed (this
        try plans again what is still needed)."""
        doubtful = [row for row in for_journal(self.storage.engine, journal_id)
                    if row["state"] in DOUBTFUL]
        if not doubtful:
            return
        calls = [(row["idempotency_key"], call) for row in doubtful
                 for call in row["params"].get("calls", [])]
        answers = self.client.batch(_confirm_commands([call for _key, call in calls]))
        tagged, shown = _read_confirmations(answers.results)
        confirmed = {key for key, call in calls if _shows(call, tagged, shown)}
        log.info("backfill: %d of %d writes a dead worker sent were found done on portal %s",
                 len(confirmed), len(doubtful), self.portal.member_id)
        write_log = WriteLog(self.storage.engine, self.portal.id)
        write_log.mark(confirmed, "done")
        write_log.mark({row["idempotency_key"] for row in doubtful} - confirmed, "failed",
                       "not found on the portal after its worker died: planned again")


def _shows(call: Mapping[str, Any], tagged: set[int], shown: Mapping[CrmRef, str]) -> bool:
    """Whether the portal shows what a logged call (a tag or a status field) set."""
    params = call.get("params") or {}
    if call.get("method") == "tasks.task.update":
        return int(params.get("taskId", 0)) in tagged
    ref = CrmRef(UPDATED_TYPES.get(str(call.get("method")), 0), int(params.get("id", 0)))
    return ref in shown and shown[ref] == str((params.get("fields") or {}).get(STATUS_FIELD))


def _responsibles(task: TaskSnapshot, items: Mapping[CrmRef, CrmItemSnapshot]) -> list[int]:
    """The responsibles of the task's deals and leads (the actor rule, §3)."""
    return sorted({item.assigned_by_id for ref in task.crm_bindings
                   if (item := items.get(ref)) is not None and item.assigned_by_id})


def _confirm_commands(calls: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """One batch reading back the tasks and items these logged calls wrote."""
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    task_ids = sorted({int(call["params"]["taskId"]) for call in calls
                       if call["method"] == "tasks.task.update"})
    for start in range(0, len(task_ids), 50):
        commands[f"tasks_{start}"] = ("tasks.task.list", {
            "filter": {"ID": task_ids[start:start + 50]}, "select": CONFIRM_TASK_SELECT,
            "start": -1})
    for type_id, method in ITEM_METHOD.items():
        ids = sorted({int(call["params"]["id"]) for call in calls
                      if call["method"] == f"{method}.update"})
        for start in range(0, len(ids), 50):
            commands[f"items_{type_id}_{start}"] = (f"{method}.list", {
                "filter": {"ID": ids[start:start + 50]}, "select": ["ID", STATUS_FIELD],
                "start": -1})
    return commands


def _read_confirmations(results: Mapping[str, Any]) -> tuple[set[int], dict[CrmRef, str]]:
    """(tasks that carry the CRM tag, each item's status field value) from the answers."""
    tagged: set[int] = set()
    shown: dict[CrmRef, str] = {}
    for key, value in results.items():
        kind, _, rest = key.partition("_")
        if kind == "tasks":
            rows = value.get("tasks", []) if isinstance(value, Mapping) else value
            for raw in rows or []:
                if TaskSnapshot.from_rest(raw).has_taskbridge_tag:
                    tagged.add(int(raw["id"]))
        else:
            type_id = int(rest.split("_")[0])
            for raw in value or []:
                shown[CrmRef(type_id, int(raw["ID"]))] = str(raw.get(STATUS_FIELD) or "")
    return tagged, shown
