"""The rules applied to one pass's fetched tasks and deals or leads: decisions, item statuses,
closings and review holds, as writes and stored entries of the Pass (every status decision
itself is made in mappers/)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.snapshots import SnapshotStore, StoredItem, StoredTask
from connector.sync.fetch import Fetched
from connector.sync.pass_state import Pass, events_of
from mappers.actors import actor_item_kind, task_actor
from mappers.bindings import CrmRef
from mappers.bound_items import bound_responsibles
from mappers.changes import what_changed
from mappers.closing import ClosingAction, PortalRules, plan_closing
from mappers.decision_reasons import explain
from mappers.decisions import Decision, Outcome, decide_closing, decide_observation
from mappers.item_status import item_status
from mappers.item_transitions import ItemTransition, item_transition, remembered_after_closing
from mappers.kanban_card import CardShown, CardTask, plan_card
from mappers.review_stage import current_hold, release
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.task_bindings import concerns_crm, status_items, unbound_status_items
from mappers.task_status import status_kept
from mappers.views import viewed_by_responsible
from mappers.write_plan import (
    closing_summary_write,
    item_status_write,
    plan_closing_writes,
    plan_release_writes,
    plan_writes,
)


def decision_rows_of(task_id: int, decisions: Iterable[Decision],
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


class PassContext:
    """One pass on one portal: what was fetched and stored, and the portal's rules; decides
    each task and deal or lead into `work`."""

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
        if not concerns_crm(known.snapshot.crm_bindings if known else None, current.crm_bindings):
            self.work.details[key] = {"fetched": {"task": task_id, "bindings": []},
                                      "outcome": "not bound to a CRM item: nothing to do"}
            return
        events = events_of(rows)
        actor = task_actor(current.changed_by, events)
        viewed = viewed_by_responsible(events, current.responsible_id)
        changes = what_changed(known.snapshot if known else None, current, actor_id=actor,
                               viewed_by_responsible=viewed, now=self.work.now)
        held_by = bound_responsibles(current.crm_bindings, self.fetched.items,
                                     self.fetched.bound)
        responsibles = frozenset(user for _kind, user in held_by)
        actor_of = actor_item_kind(held_by, actor)
        before = known.crm_status if known else None
        decisions = decide_observation(before, changes, item_responsibles=responsibles,
                                       deadline=current.deadline, now=self.work.now)
        kept = status_kept(before, known.status_changed_at if known else None, decisions,
                           now=self.work.now)
        status = kept.status
        self.work.tasks[task_id] = StoredTask(current, status, kept.changed_at, deleted=False)
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
            "decisions": decision_rows_of(task_id, decisions, actor_of),
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
        for ref in status_items(known.snapshot.crm_bindings):
            status = self._item_status(ref, excluded={task_id})
            self.work.writes.append(item_status_write(
                ref, status, cause=f"task:{task_id}:deleted", language=self.rules.language))
        self.work.details[key] = {"outcome": "task deleted: its items fall back to their "
                                             "next most recent task"}

    def _unbound(self, task_id: int, known: StoredTask, current: TaskSnapshot) -> None:
        for ref in unbound_status_items(known.snapshot.crm_bindings, current.crm_bindings):
            status = self._item_status(ref, excluded={task_id})
            cause = f"task:{task_id}:unbound:{current.changed_date}"
            self.work.writes.append(
                item_status_write(ref, status, cause=cause, language=self.rules.language)
            )

    def _item_statuses(self, refs: Iterable[CrmRef]) -> dict[CrmRef, CrmTaskStatus | None]:
        return {ref: self._item_status(ref) for ref in status_items(refs)}

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
            if stored is None or item is None:
                continue
            hold = current_hold(item, stored.held_final_stage, self.rules)
            if hold is None:
                continue
            remaining = [t.snapshot for t in self._tasks_of(ref)]
            released = release(hold, remaining, current_stage_id=item.stage_id)
            if released.move is not None:
                self.work.writes.extend(plan_release_writes(
                    released.move, cause=f"{ref.code}:{hold.review_stage_id}"))
            if released.ends_hold:
                self.work.items[ref] = replace(stored, held_final_stage=None)

    def _tasks_of(self, ref: CrmRef) -> list[StoredTask]:
        tasks = {t.snapshot.id: t for t in self.snapshots.tasks_bound_to(self.portal.id, ref)}
        tasks.update({tid: t for tid, t in self.work.tasks.items()
                      if ref in t.snapshot.crm_bindings})
        return [t for tid, t in tasks.items() if tid not in self.work.deleted_tasks]

    # -- the kanban card ------------------------------------------------------------------

    def cards(self, refs: Iterable[CrmRef], origins: dict[CrmRef, str],
              causes: dict[CrmRef, str]) -> None:
        """Plan each deal's or lead's activity (its badge is the status on the kanban card)
        as the pass leaves the item: the status its field shows, its tasks, closed or not.
        `causes` names the change behind each item's write (its status write's key)."""
        for ref in sorted(status_items(refs), key=lambda r: (r.entity_type_id, r.id)):
            item = self.work.items.get(ref) or self.stored_items.get(ref)
            if item is None:
                continue
            tasks = [CardTask(t.snapshot.id, t.snapshot.title, t.crm_status,
                              not t.snapshot.is_completed, t.snapshot.responsible_id)
                     for t in self._tasks_of(ref)]
            write = plan_card(ref, tasks, item.status, item_closed=item.closed,
                              shown=CardShown(item.card_activity_id, item.card_digest),
                              language=self.rules.language,
                              cause=causes.get(ref) or f"closed:{item.closed}:"
                                                       f"{self.fetched.item_modified.get(ref, '')}")
            if write is not None:
                self.work.writes.append(write)
                self.work.planned_by[write.key] = origins.get(ref) or f"{ref.kind}:{ref.id}"

    # -- deals and leads ------------------------------------------------------------------

    def item(self, ref: CrmRef, rows: list[Claimed]) -> None:
        key = f"{ref.kind}:{ref.id}"
        item = self.fetched.items.get(ref)
        stored = self.stored_items.get(ref) or StoredItem(ref, None, False, None)
        transition = item_transition(item, stored.closed)
        if item is None:  # ItemTransition.GONE
            self.work.details[key] = {"outcome": transition.value}
            return
        detail: dict[str, Any] = {"fetched": {"item": ref.code, "stage": item.stage_id,
                                              "semantic": item.stage_semantic,
                                              "assigned_by": item.assigned_by_id}}
        self.work.details[key] = detail
        if transition is ItemTransition.REACHED_FINAL:
            self._close(item, stored, detail)
        elif transition is ItemTransition.REOPENED:
            self.work.items[ref] = replace(stored, closed=False)
            detail["outcome"] = transition.value
        else:
            detail["outcome"] = f"no closing: {transition.value}"
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
            decision_rows.extend(decision_rows_of(task.id, [decision]))
            closed = task.model_copy(update={"real_status": closing.real_status})
            kept = status_kept(before, known.status_changed_at if known else None, [decision],
                               now=self.work.now)
            self.work.tasks[task.id] = StoredTask(closed, kept.status, kept.changed_at,
                                                  deleted=False)
            statuses = self._item_statuses(closed.crm_bindings)
            self.work.writes.extend(plan_writes(closed, [decision], item_statuses=statuses,
                                                language=self.rules.language, timeline=False))
            if decision.status is not None:
                announced.append((task.title, decision.status, closing.reason))
        self.work.writes.extend(
            closing_summary_write(plan, announced, language=self.rules.language))
        closed_now, held = remembered_after_closing(plan)
        self.work.items[item.ref] = replace(stored, closed=closed_now, held_final_stage=held)
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
