"""One pass over a portal's claimed events: fetch ▸ rules ▸ write ▸ remember.

This module wires; every decision about statuses is made in `mappers/`. The events of
one task or CRM item are coalesced: whatever number of them waited, the object is
fetched once and compared with the snapshot TaskBridge last stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from connector.portals.settings import PortalSettings
from connector.rest.client import PortalClient
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore, StoredItem, StoredTask
from connector.sync.fetch import (
    ITEM_METHOD,
    Fetched,
    Needs,
    PortalFacts,
    fetch,
    known_facts,
    portal_facts,
)
from connector.sync.row_reading import actor_of, object_number
from connector.sync.write_back import WriteBack, WriteOutcome
from mappers.bindings import CrmRef
from mappers.bound_items import bound_responsibles
from mappers.changes import unexplained_edit, what_changed
from mappers.closing import ClosingAction, Hold, PortalRules, plan_closing, plan_release
from mappers.decision_reasons import explain
from mappers.decisions import (
    Decision,
    Outcome,
    decide_closing,
    decide_observation,
    final_status,
)
from mappers.item_status import item_status
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import (
    Write,
    WriteKind,
    closing_summary_write,
    item_status_write,
    plan_closing_writes,
    plan_release_writes,
    plan_writes,
)

log = logging.getLogger(__name__)

TASK_EVENTS = {"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONTASKCOMMENTADD",
               "TASKBRIDGE_TASK_VIEWED", "TASKBRIDGE_RECHECK"}
ITEM_EVENTS = {"ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMDEALMOVETOCATEGORY",
               "ONCRMLEADADD", "ONCRMLEADUPDATE", "ONCRMLEADDELETE", "TASKBRIDGE_RECHECK_ITEM"}
ITEM_TYPES = {"deal": 2, "lead": 1}


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
                own = 0 < len(key_rows) <= left and all(
                    _actor([row]) == facts.acting_user_id for row in key_rows)
                if own:
                    self._expected[(portal.id, key)] = (left - len(key_rows), until)
                    details[key] = {"outcome": "TaskBridge's own change came back: "
                                               "nothing to fetch"}
                else:
                    kept.extend(key_rows)
        return kept


class SyncFlow:
    def __init__(self, snapshots: SnapshotStore, engine: Any) -> None:
        self._snapshots = snapshots
        self._engine = engine
        self._own_writes = OwnWrites()

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
        context = _Context(self._snapshots, portal, rules_of(portal), fetched, previous,
                           stored_items, work)
        for task_id, task_rows in sorted(by_task.items()):
            with work.deciding(task_rows[0].object_key):
                context.task(task_id, task_rows)
        for ref, item_rows in sorted(by_item.items()):
            with work.deciding(item_rows[0].object_key):
                context.item(ref, item_rows)
        outcome = WriteOutcome()
        work.writes = _unchanged_statuses_dropped(
            _last_status_per_item(work.writes), stored_items, work
        )
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
        return work, outcome, fetched.requests

    def store(self, portal: Portal, work: Pass) -> None:
        with self._engine.begin() as conn:
            for stored in work.tasks.values():
                self._snapshots.save_task(conn, portal.id, stored)
            for task_id in work.deleted_tasks:
                self._snapshots.mark_deleted(conn, portal.id, task_id)
            for stored_item in work.items.values():
                self._snapshots.save_item(conn, portal.id, stored_item)


def _last_status_per_item(writes: list[Write]) -> list[Write]:
    """One pass may compute an item's status several times (one per changed task); only
    the last, which saw every task of the pass, is written."""
    last = {w.item: i for i, w in enumerate(writes) if w.kind is WriteKind.ITEM_STATUS}
    return [w for i, w in enumerate(writes)
            if w.kind is not WriteKind.ITEM_STATUS or last[w.item] == i]


def _unchanged_statuses_dropped(writes: list[Write], stored: dict[CrmRef, StoredItem],
                                work: Pass) -> list[Write]:
    """An item whose card already shows the status needs no write; the others remember
    what they will show."""
    kept = []
    for write in writes:
        if write.kind is WriteKind.ITEM_STATUS and write.item is not None:
            ref = write.item
            known = work.items.get(ref) or stored.get(ref) or StoredItem(ref, None, False, None)
            code = str(write.field("xml_id"))
            status = CrmTaskStatus(code) if code else None
            if known.status == status and ref in stored:
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
    return {ref for task in stored for ref in task.snapshot.crm_bindings
            if ref.entity_type_id in ITEM_METHOD}


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
        item, known = fetched.items.get(ref), stored.get(ref)
        if item is not None and item.is_final and (known is None or not known.closed):
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
        if not any(row.event == "ONTASKUPDATE" for row in rows):
            continue
        if _actor(rows) == facts.acting_user_id:
            continue
        current = TaskSnapshot.from_rest(raw, result_count=known.snapshot.result_count)
        current = current.model_copy(update={
            "checklist_digest": known.snapshot.checklist_digest,
            "checklist_count": known.snapshot.checklist_count,
        })
        if unexplained_edit(known.snapshot, current):
            wanted.add(task_id)
    return wanted


def _actor(rows: Sequence[Claimed]) -> int | None:
    """Who made the change: the user of the latest event that names one."""
    for row in reversed(rows):
        user = actor_of(row.payload)
        if user is not None:
            return user
    return None


def _decision_rows(task_id: int, decisions: Iterable[Decision],
                   actor_of: str | None = None) -> list[dict[str, Any]]:
    """The decisions as the sync log keeps them, each with its reason in words (English;
    the pages say it again in their own language from `rule` and `outcome`)."""
    return [
        {"task_id": task_id, "change": d.change_id,
         "previous": d.previous.value if d.previous else None,
         "desired": d.desired.value if d.desired else None,
         "status": d.status.value if d.status else None,
         "outcome": d.outcome.value, "rule": d.rule.value,
         "reason": explain(d, "en", actor_of=actor_of),
         **({"actor_of": actor_of} if actor_of and d.outcome is Outcome.ACTOR_RULE else {})}
        for d in decisions
    ]


class _Context:
    def __init__(self, snapshots: SnapshotStore, portal: Portal, rules: PortalRules,
                 fetched: Fetched, previous: dict[int, StoredTask],
                 stored_items: dict[CrmRef, StoredItem], work: Pass) -> None:
        self.snapshots = snapshots
        self.portal = portal
        self.rules = rules
        self.fetched = fetched
        self.previous = previous
        self.stored_items = stored_items
        self.work = work
        self.closing_snapshots: dict[int, TaskSnapshot] = {}

    # -- tasks --------------------------------------------------------------------------

    def task(self, task_id: int, rows: list[Claimed]) -> None:
        key = f"task:{task_id}"
        raw = self.fetched.tasks.get(task_id)
        known = self.previous.get(task_id)
        if raw is None:
            self._task_gone(task_id, known, key)
            return
        current = self._snapshot(task_id, raw, known)
        if not current.crm_bindings and (known is None or not known.snapshot.crm_bindings):
            self.work.details[key] = {"fetched": {"task": task_id, "bindings": []},
                                      "outcome": "not bound to a CRM item: nothing to do"}
            return
        # The fetched task is newer than the events that arrived: its last editor wins.
        actor = current.changed_by or _actor(rows)
        viewed = any(
            row.event in ("TASKBRIDGE_TASK_VIEWED", "ONTASKCOMMENTADD")
            and _actor([row]) == current.responsible_id
            for row in rows
        )
        changes = what_changed(known.snapshot if known else None, current, actor_id=actor,
                               viewed_by_responsible=viewed, now=self.work.now)
        held_by = bound_responsibles(current.crm_bindings, self.fetched.items,
                                     self.fetched.bound)
        responsibles = frozenset(user for _kind, user in held_by)
        actor_of = next((kind for kind, user in held_by if user == actor), None)
        before = known.crm_status if known else None
        decisions = decide_observation(before, changes, item_responsibles=responsibles,
                                       deadline=current.deadline, now=self.work.now)
        status = final_status(before, decisions)
        applied = any(d.applied for d in decisions)
        changed_at = self.work.now if applied else (known.status_changed_at if known else None)
        self.work.tasks[task_id] = StoredTask(current, status, changed_at, deleted=False)
        statuses = self._item_statuses(current.crm_bindings)
        self.work.writes.extend(
            plan_writes(current, decisions, item_statuses=statuses, language=self.rules.language)
        )
        if known is not None:
            self._unbound(task_id, known, current)
        self._release_holds(current)
        self.work.details[key] = {
            "fetched": {"task": task_id, "real_status": current.real_status,
                        "responsible": current.responsible_id, "actor": actor,
                        "bindings": [ref.code for ref in current.crm_bindings]},
            "changes": [change.kind.value for change in changes],
            "decisions": _decision_rows(task_id, decisions, actor_of),
            "status": status.value if status else None,
        }

    def _snapshot(self, task_id: int, raw: dict[str, Any], known: StoredTask | None
                  ) -> TaskSnapshot:
        if task_id in self.fetched.checklists:
            raw = {**raw, "checklist": self.fetched.checklists[task_id]}
        current = TaskSnapshot.from_rest(raw, result_count=self.fetched.result_counts.get(task_id))
        if known is not None:
            carried: dict[str, Any] = {}
            if current.result_count is None:
                carried["result_count"] = known.snapshot.result_count
            if current.checklist_digest is None:
                carried["checklist_digest"] = known.snapshot.checklist_digest
                carried["checklist_count"] = known.snapshot.checklist_count
            if carried:
                current = current.model_copy(update=carried)
        return current

    def _task_gone(self, task_id: int, known: StoredTask | None, key: str) -> None:
        if known is None or known.deleted:
            self.work.details[key] = {"outcome": "task not found on the portal: nothing to do"}
            return
        self.work.deleted_tasks.add(task_id)
        for ref in known.snapshot.crm_bindings:
            if ref.entity_type_id in ITEM_METHOD:
                status = self._item_status(ref, excluded={task_id})
                self.work.writes.append(item_status_write(
                    ref, status, cause=f"task:{task_id}:deleted", language=self.rules.language))
        self.work.details[key] = {"outcome": "task deleted: its items fall back to their "
                                             "next most recent task"}

    def _unbound(self, task_id: int, known: StoredTask, current: TaskSnapshot) -> None:
        for ref in set(known.snapshot.crm_bindings) - set(current.crm_bindings):
            if ref.entity_type_id in ITEM_METHOD:
                status = self._item_status(ref, excluded={task_id})
                cause = f"task:{task_id}:unbound:{current.changed_date}"
                self.work.writes.append(
                    item_status_write(ref, status, cause=cause, language=self.rules.language)
                )

    def _item_statuses(self, refs: Iterable[CrmRef]) -> dict[CrmRef, CrmTaskStatus | None]:
        # Deals and leads only: the status field exists on them alone (§6). A task's
        # contacts, companies and smart-process items count for the actor rule and take
        # no field and no timeline entry (`write_plan` plans neither for them).
        return {ref: self._item_status(ref) for ref in refs if ref.entity_type_id in ITEM_METHOD}

    def _item_status(self, ref: CrmRef, excluded: set[int] | None = None) -> CrmTaskStatus | None:
        tasks = {task.snapshot.id: task for task in self.snapshots.tasks_bound_to(
            self.portal.id, ref)}
        for task_id, stored in self.work.tasks.items():
            if ref in stored.snapshot.crm_bindings:
                tasks[task_id] = stored
            else:
                tasks.pop(task_id, None)
        records = [record for task in tasks.values() if (record := task.record()) is not None]
        gone = frozenset((excluded or set()) | self.work.deleted_tasks)
        return item_status(records, excluded=gone)

    def _release_holds(self, current: TaskSnapshot) -> None:
        for ref in current.crm_bindings:
            stored = self.work.items.get(ref) or self.stored_items.get(ref)
            item = self.fetched.items.get(ref)
            if stored is None or not stored.held_final_stage or item is None:
                continue
            review = self.rules.review_stage_by_category.get(item.category_id)
            if review is None:
                continue
            hold = Hold(ref, review, stored.held_final_stage)
            remaining = [t.snapshot for t in self._tasks_of(ref)]
            move = plan_release(hold, remaining, current_stage_id=item.stage_id)
            if move is None and item.stage_id != review:
                # Someone moved the deal out of review by hand: their choice wins.
                self.work.items[ref] = replace(stored, held_final_stage=None)
            if move is not None:
                self.work.writes.extend(plan_release_writes(move, cause=f"{ref.code}:{review}"))
                self.work.items[ref] = replace(stored, held_final_stage=None)

    def _tasks_of(self, ref: CrmRef) -> list[StoredTask]:
        tasks = {t.snapshot.id: t for t in self.snapshots.tasks_bound_to(self.portal.id, ref)}
        tasks.update({tid: t for tid, t in self.work.tasks.items()
                      if ref in t.snapshot.crm_bindings})
        return [t for tid, t in tasks.items() if tid not in self.work.deleted_tasks]

    # -- deals and leads ------------------------------------------------------------------

    def item(self, ref: CrmRef, rows: list[Claimed]) -> None:
        key = f"{ref.kind}:{ref.id}"
        item = self.fetched.items.get(ref)
        stored = self.stored_items.get(ref) or StoredItem(ref, None, False, None)
        if item is None:
            self.work.details[key] = {"outcome": "item not found on the portal (deleted)"}
            return
        detail: dict[str, Any] = {"fetched": {"item": ref.code, "stage": item.stage_id,
                                              "semantic": item.stage_semantic,
                                              "assigned_by": item.assigned_by_id}}
        self.work.details[key] = detail
        if item.is_final and not stored.closed:
            self._close(item, stored, detail)
        elif not item.is_final and stored.closed:
            self.work.items[ref] = replace(stored, closed=False)
            detail["outcome"] = "reopened: its tasks stay as they are"
        else:
            detail["outcome"] = "no closing: " + ("already closed" if item.is_final
                                                 else "not in a final stage")
            if stored.held_final_stage:
                detail["outcome"] = f"held in review until its tasks are done, then " \
                                    f"{stored.held_final_stage}"

    def _close(self, item: CrmItemSnapshot, stored: StoredItem, detail: dict[str, Any]) -> None:
        raws = self.fetched.item_tasks.get(item.ref, [])
        tasks = {int(raw["id"]): TaskSnapshot.from_rest(raw) for raw in raws}
        plan = plan_closing(item, tasks.values(), self.rules,
                            occasion=self.fetched.item_modified.get(item.ref, ""))
        self.work.writes.extend(plan_closing_writes(plan, language=self.rules.language))
        decision_rows: list[dict[str, Any]] = []
        announced: list[tuple[str, CrmTaskStatus, Any]] = []
        for closing in plan.tasks:
            # A task left open may still take a CRM status (one already in review).
            if closing.crm_status is None:
                continue
            task = tasks[closing.task_id]
            self.closing_snapshots[task.id] = task
            known = self.work.tasks.get(task.id) or self.previous.get(task.id) or (
                self.snapshots.tasks(self.portal.id, [task.id]).get(task.id))
            before = known.crm_status if known else None
            decision = decide_closing(before, closing.crm_status, change_id=plan.identity)
            decision_rows.extend(_decision_rows(task.id, [decision]))
            closed = task.model_copy(update={"real_status": closing.real_status})
            status = decision.status or before
            changed_at = self.work.now if decision.applied else (
                known.status_changed_at if known else None)
            self.work.tasks[task.id] = StoredTask(closed, status, changed_at, deleted=False)
            statuses = self._item_statuses(closed.crm_bindings)
            self.work.writes.extend(plan_writes(closed, [decision], item_statuses=statuses,
                                                language=self.rules.language, timeline=False))
            if decision.status is not None:
                announced.append((task.title, decision.status, closing.reason))
        self.work.writes.extend(
            closing_summary_write(plan, announced, language=self.rules.language))
        held = plan.hold.final_stage_id if plan.hold else None
        self.work.items[item.ref] = replace(stored, closed=plan.hold is None,
                                            held_final_stage=held)
        detail["closing"] = {
            "plan": plan.identity,
            "tasks": [{"task_id": c.task_id, "action": c.action.value, "reason": c.reason.value}
                      for c in plan.tasks],
            "hold": {"review_stage": plan.hold.review_stage_id, "final_stage": held}
            if plan.hold else None,
        }
        detail["decisions"] = decision_rows
        detail["outcome"] = _closing_outcome(plan)



def _closing_outcome(plan: Any) -> str:
    if plan.hold:
        return f"held in {plan.hold.review_stage_id} for review until its tasks are done"
    counts: dict[str, int] = defaultdict(int)
    reasons = set()
    for closing in plan.tasks:
        counts[closing.action.value] += 1
        if closing.action is ClosingAction.LEAVE_OPEN:
            reasons.add(closing.reason.value)
    parts = [f"{counts[action]} {word}" for action, word in
             (("complete", "completed"), ("review", "sent to review"),
              ("leave_open", "left open")) if counts[action]]
    text = "closed: " + (", ".join(parts) if parts else "no open tasks")
    return text + (f" ({'; '.join(sorted(reasons))})" if reasons else "")
