"""Carrying out calls of TaskBridge's automation rules, and ending the holds they keep.

Each call is answered once, through `bizproc.event.send` with the rule's return values
and a line for the workflow's log; a call TaskBridge cannot carry out is answered too,
with an `Error` value and why, never left to hang. Every call is kept in `robot_waits`
(by its workflow and event token) from the first time the worker takes it up, so a
repeated delivery finds it answered, or finds the task it already created.

- "Create a task" creates through REST 3.0 `tasks.task.add` with an `Idempotency-Key`
  made from the call: a repeat after a lost answer gets the same task back. One more
  batch tags it `CRM`, adds its checklist, announces it on the item's timeline and
  answers the workflow: 2 requests. A portal without REST 3.0 gets the classic
  `tasks.task.add` in that one batch (1 request); a retry of a call that may have run
  looks the task up first. "Without REST 3.0" is learnt once, from the portal's answer
  to `/rest/api/` (its method-not-found, or a bare 404), and remembered in
  `portals.robots`; a 5xx or a timeout there is a failed try, retried, never taken for
  it.
- "Wait for the item's tasks" answers at once when no task bound to the item is open;
  otherwise it keeps a hold and costs nothing while it waits. The sync pass that stores
  the item's task statuses ends the holds on it (`release`); the reconcile pass queues a
  re-check of every held item, so a hold whose end was missed ends then.
- "Task status" answers from the statuses TaskBridge stored: no read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.portals.install import AUTH_CONNECTOR
from connector.portals.settings import labels_language
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError, InsufficientScope, NotFound
from connector.storage.engines import Storage
from connector.storage.journal_rows import Claimed
from connector.storage.portals import Portal
from connector.storage.robot_waits import ANSWERED, WAITING, RobotWait, RobotWaitStore
from connector.storage.snapshots import SnapshotStore
from connector.sync.task_creation import (
    TASK_ID,
    InvalidNewTask,
    NewTask,
    announce_commands,
    task_fields,
)
from mappers.bindings import CrmRef
from mappers.robot_calls import (
    CREATE_TASK,
    WAIT_FOR_TASKS,
    Answer,
    RobotCall,
    RobotCallError,
    answer_created,
    answer_failed,
    answer_status,
    answer_waited,
    create_task_ask,
    from_journal,
    open_count,
    wait_ask,
)
from mappers.snapshots import TASKBRIDGE_TAG

log = logging.getLogger(__name__)

SEND = "bizproc.event.send"
LOOKUP_SLACK = timedelta(minutes=1)
Commands = dict[str, tuple[str, dict[str, Any]]]


class RobotCalls:
    """The worker's part of the automation rules: one call at a time, holds per item."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.waits = RobotWaitStore(storage.engine, storage.cipher)
        self._snapshots = SnapshotStore(storage.engine)
        # Portals learnt to have no REST 3.0 since `portal.robots` was read (same pass).
        self._without_rest_v3: set[str] = set()

    def handle(self, portal: Portal, client: PortalClient, row: Claimed) -> dict[str, Any]:
        """Carry out one journaled call; the detail its journal row keeps."""
        sealed = str(row.payload.get("sealed_event_token") or "")
        call = from_journal(portal.member_id, row.payload,
                            self._storage.cipher.decrypt(sealed) if sealed else "")
        options: dict[str, Any] = {}
        refused = ""
        try:
            if call.code == WAIT_FOR_TASKS:
                options["pending_review_done"] = wait_ask(call)
        except RobotCallError as exc:
            refused = str(exc)
        wait = self.waits.take_up(portal.id, call_key=call.call_key,
                                  workflow_id=call.workflow_id, code=call.code,
                                  item=call.item, event_token=call.event_token,
                                  options=options, journal_id=row.id)
        detail: dict[str, Any] = {"workflow_id": call.workflow_id, "robot": call.code,
                                  "item": call.item.code}
        if wait.state in (ANSWERED, WAITING):
            done = {"outcome": f"a repeated delivery: the call is {wait.state}",
                    "returned": (wait.answer or {}).get("values")}
        elif refused:
            done = self._answer(client, wait, answer_failed(call.code, refused))
        elif call.code == CREATE_TASK:
            done = self._create(portal, client, call, wait, row)
        elif call.code == WAIT_FOR_TASKS:
            done = self._wait(portal, client, wait)
        else:
            done = self._status(portal, client, wait)
        return _shown({**detail, **done})

    def give_up(self, portal: Portal, client: PortalClient, row: Claimed, why: str) -> None:
        """The call's last try failed: tell the workflow why, so it does not hang."""
        sealed = str(row.payload.get("sealed_event_token") or "")
        try:
            call = from_journal(portal.member_id, row.payload,
                                self._storage.cipher.decrypt(sealed) if sealed else "")
            answer = answer_failed(call.code, why)
            client.call(SEND, _send_params(call.event_token, answer))
            wait = self.waits.take_up(portal.id, call_key=call.call_key,
                                      workflow_id=call.workflow_id, code=call.code,
                                      item=call.item, event_token=call.event_token,
                                      options={}, journal_id=row.id)
            self.waits.answered(wait.id, {"values": dict(answer.values),
                                          "log_message": answer.log_message,
                                          "delivered": True})
        except (BitrixError, RobotCallError) as exc:
            log.warning("portal %s: workflow of journal row %s not told of its failure: %s",
                        portal.member_id, row.id, exc)

    # the three rules ----------------------------------------------------------------
    def _create(self, portal: Portal, client: PortalClient, call: RobotCall, wait: RobotWait,
                row: Claimed) -> dict[str, Any]:
        try:
            new = _new_task(call, portal, run_at=_run_at(call, row))
        except (RobotCallError, InvalidNewTask) as exc:
            return self._answer(client, wait, answer_failed(CREATE_TASK, str(exc)))
        language = labels_language(portal)
        task_id = wait.task_id
        if task_id is None and self._offers_rest_v3(portal):
            try:
                task_id = self._add_v3(client, call, new)
            except NotFound as exc:
                if not rest_v3_not_offered(exc):
                    return self._answer(client, wait, answer_failed(
                        CREATE_TASK, exc.description or str(exc)))
                self._remember_no_rest_v3(portal)  # and go classic, from this call on
            except BitrixError as exc:
                if not exc.refused_input:
                    raise
                return self._answer(client, wait, answer_failed(CREATE_TASK,
                                                                 exc.description or str(exc)))
            else:
                self.waits.task_created(wait.id, task_id)
        if task_id is None and _may_have_run(wait, row):
            task_id = _look_up(client, new, wait.created_at)
            if task_id is not None:
                self.waits.task_created(wait.id, task_id)
                # Found after a lost answer: its batch announced it already.
                return self._answer(client, wait, answer_created(task_id))
        if task_id is None:
            return self._classic(client, wait, new, language)
        commands: Commands = {"tag": ("tasks.task.update", {
            "taskId": task_id, "fields": {"TAGS": [TASKBRIDGE_TAG]},
            "auth_connector": AUTH_CONNECTOR})}
        commands.update(announce_commands(new, task_id, language, by_rule=True))
        return self._answer(client, wait, answer_created(task_id), before=commands)

    def _offers_rest_v3(self, portal: Portal) -> bool:
        return portal.member_id not in self._without_rest_v3 and \
            (portal.robots or {}).get("rest_v3") is not False

    def _remember_no_rest_v3(self, portal: Portal) -> None:
        """The portal has no REST 3.0 `tasks.task.add`: keep it in `portals.robots`."""
        self._without_rest_v3.add(portal.member_id)
        stored = self._storage.portals.find(portal.member_id)
        record = (stored.robots if stored else portal.robots) or {}
        self._storage.portals.set_robots(portal.member_id, {**record, "rest_v3": False})

    def _add_v3(self, client: PortalClient, call: RobotCall, new: NewTask) -> int:
        fields: dict[str, Any] = {
            "title": new.title, "description": new.description, "creatorId": new.created_by,
            "responsibleId": new.responsible_id, "crmItemIds": [new.item.code],
            "needsControl": new.task_control, "requireResult": new.result_required}
        if new.deadline is not None:
            fields["deadline"] = new.deadline.isoformat()
        answer = client.call_v3("tasks.task.add", {"fields": fields},
                                idempotency_key=call.idempotency_key)
        item = answer.result.get("item") if isinstance(answer.result, dict) else None
        task_id = item.get("id") if isinstance(item, dict) else None
        if not str(task_id or "").isdigit():
            raise BitrixError("tasks.task.add answered without a task id",
                              method="tasks.task.add")
        return int(str(task_id))

    def _classic(self, client: PortalClient, wait: RobotWait, new: NewTask,
                 language: str) -> dict[str, Any]:
        """One batch: the task (bound, tagged), its checklist and note, and the answer."""
        commands: Commands = {"task": ("tasks.task.add", {"fields": task_fields(new),
                                                          "auth_connector": AUTH_CONNECTOR})}
        commands.update(announce_commands(new, TASK_ID, language, by_rule=True))
        answer = Answer({"TaskId": TASK_ID, "Error": ""}, "TaskBridge: task created")
        commands["answer"] = (SEND, _send_params(wait.event_token, answer))
        outcome = client.batch(commands, halt=True)
        if "task" in outcome.errors:
            error = outcome.errors["task"]
            if not error.refused_input:
                raise error
            return self._answer(client, wait, answer_failed(CREATE_TASK,
                                                            error.description or str(error)))
        raw = (outcome.results.get("task") or {}).get("task") or {}
        task_id = int(raw["id"]) if str(raw.get("id", "")).isdigit() else None
        if task_id is not None:
            self.waits.task_created(wait.id, task_id)
        sent = answer_created(task_id or 0)
        return self._finish(wait, sent, outcome.errors.get("answer"), task_id=task_id)

    def _wait(self, portal: Portal, client: PortalClient, wait: RobotWait) -> dict[str, Any]:
        statuses = self._real_statuses(portal, wait.item)
        still_open = open_count(statuses, pending_review_done=_review_done(wait))
        if still_open == 0:
            return self._answer(client, wait, answer_waited(len(statuses)))
        self.waits.hold(wait.id)
        return {"outcome": f"waiting for {still_open} open tasks", "open_tasks": still_open}

    def _status(self, portal: Portal, client: PortalClient, wait: RobotWait) -> dict[str, Any]:
        stored = self._snapshots.items(portal.id, [wait.item]).get(wait.item)
        statuses = self._real_statuses(portal, wait.item)
        answer = answer_status(stored.status if stored else None, open_count(statuses),
                               labels_language(portal))
        return self._answer(client, wait, answer)

    # ending holds --------------------------------------------------------------------
    def release(self, portal: Portal, client: PortalClient,
                items: Iterable[CrmRef]) -> list[dict[str, Any]]:
        """End the holds on these items whose tasks are all done: one batch answers all."""
        done: list[tuple[RobotWait, Answer]] = []
        for wait in self.waits.waiting_on(portal.id, items):
            statuses = self._real_statuses(portal, wait.item)
            if open_count(statuses, pending_review_done=_review_done(wait)) == 0:
                done.append((wait, answer_waited(len(statuses))))
        if not done:
            return []
        outcome = client.batch({f"release_{wait.id}": (SEND, _send_params(wait.event_token,
                                                                           answer))
                                for wait, answer in done})
        released = []
        for wait, answer in done:
            error = outcome.errors.get(f"release_{wait.id}")
            if error is not None and not _token_spent(error):
                log.warning("portal %s: hold of workflow %s not ended: %s", portal.member_id,
                            wait.workflow_id, error)
                continue
            released.append({"workflow_id": wait.workflow_id, "item": wait.item.code,
                              **self._finish(wait, answer, error)})
        return released

    # answering ----------------------------------------------------------------------
    def _answer(self, client: PortalClient, wait: RobotWait, answer: Answer, *,
                before: Commands | None = None) -> dict[str, Any]:
        """Send the answer (after `before`, in the same batch when there is one)."""
        error: BitrixError | None = None
        if before:
            commands = {**before, "answer": (SEND, _send_params(wait.event_token, answer))}
            outcome = client.batch(commands)
            error = outcome.errors.get("answer")
            failed = sorted(key for key in outcome.errors if key != "answer")
            if failed:
                log.warning("robot call %s: not done: %s", wait.workflow_id, ", ".join(failed))
        else:
            try:
                client.call(SEND, _send_params(wait.event_token, answer))
            except BitrixError as exc:
                error = exc
        return self._finish(wait, answer, error, task_id=wait.task_id)

    def _finish(self, wait: RobotWait, answer: Answer, error: BitrixError | None, *,
                task_id: int | None = None) -> dict[str, Any]:
        if error is not None and not _token_spent(error):
            raise error
        kept = {"values": dict(answer.values), "log_message": answer.log_message,
                "delivered": error is None}
        self.waits.answered(wait.id, kept)
        outcome = ("answered with an error" if answer.failed else "answered") if error is None \
            else "the workflow no longer waits for this call"
        detail: dict[str, Any] = {"outcome": outcome, "returned": dict(answer.values),
                                  "log_message": answer.log_message}
        if task_id is not None:
            detail["task_id"] = task_id
        return detail

    def _real_statuses(self, portal: Portal, item: CrmRef) -> list[int]:
        return [task.snapshot.real_status
                for task in self._snapshots.tasks_bound_to(portal.id, item)]


def _shown(detail: dict[str, Any]) -> dict[str, Any]:
    """The sync log's one line for a call: what became of it, its workflow, what it got."""
    returned = detail.get("returned") or {}
    values = ", ".join(f"{key}={value}" for key, value in returned.items() if value != "")
    line = f"{detail['outcome']} · workflow {detail['workflow_id']}"
    return {**detail, "outcome": f"{line} · returned {values}" if values else line}


def _send_params(event_token: str, answer: Answer) -> dict[str, Any]:
    return {"EVENT_TOKEN": event_token, "RETURN_VALUES": dict(answer.values),
            "LOG_MESSAGE": answer.log_message}


def _token_spent(error: BitrixError) -> bool:
    """The portal refused the event token: used already, or its workflow ended."""
    return isinstance(error, InsufficientScope) and error.code == "ACCESS_DENIED"


def _review_done(wait: RobotWait) -> bool:
    return bool(wait.options.get("pending_review_done"))


def rest_v3_not_offered(error: NotFound) -> bool:
    """Whether a `/rest/api/` answer says the portal has no REST 3.0 method there: its
    method-not-found (the classic answer of a portal without REST 3.0), or a 404 without
    a REST 3.0 error code (a front end that does not route `/rest/api/`)."""
    code = error.code.upper()
    return code == "ERROR_METHOD_NOT_FOUND" or (
        error.http_status == 404 and not code.startswith("BITRIX_REST_V3_"))


def _may_have_run(wait: RobotWait, row: Claimed) -> bool:
    """Whether an earlier try of this call may have created its task already."""
    return wait.journal_id != row.id or row.attempts > 1


def _look_up(client: PortalClient, new: NewTask, since: datetime) -> int | None:
    """The task an earlier try made: bound to the item, same title, created since then."""
    found = client.call("tasks.task.list", {
        "filter": {"UF_CRM_TASK": new.item.code, "TITLE": new.title,
                   ">=CREATED_DATE": (since - LOOKUP_SLACK).isoformat()},
        "select": ["ID"], "order": {"ID": "asc"}}).result
    tasks = found.get("tasks") if isinstance(found, dict) else None
    first = tasks[0] if isinstance(tasks, list) and tasks else {}
    task_id = first.get("id") if isinstance(first, dict) else None
    return int(task_id) if str(task_id or "").isdigit() else None


def _run_at(call: RobotCall, row: Claimed) -> datetime:
    """When the rule ran: the call's `ts`, else when TaskBridge received it."""
    if call.ts:
        return datetime.fromtimestamp(call.ts, UTC)
    return row.received_at


def _new_task(call: RobotCall, portal: Portal, *, run_at: datetime) -> NewTask:
    ask = create_task_ask(call, run_at=run_at, zone=datetime.now().astimezone().tzinfo or UTC)
    creator = call.user_id or int((portal.robots or {}).get("auth_user_id") or 0) \
        or ask.responsible_id
    return NewTask(item=call.item, title=ask.title, responsible_id=ask.responsible_id,
                   created_by=creator, description=ask.description, deadline=ask.deadline,
                   task_control=ask.task_control, result_required=ask.result_required,
                   checklist=ask.checklist)

