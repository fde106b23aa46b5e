"""Creating a task from a CRM card ("prepare the contract" for a deal).

The task is bound to the item (`UF_CRM_TASK`), tagged `CRM`, created in the name of the
user who asked for it, given its checklist, and announced on the item's timeline, all in
one batch: one request against the portal's budget (`add_task`).

`create_and_show` then shows the task in the item's status at once: the first-seen
decision is made by `mappers/` from the task as the portal answered it, and its writes
(the item's status field, the timeline entry) go through `WriteBack`, which logs them
under the idempotency keys the worker plans for the same observation. When the
ONTASKADD event is processed later, those keys are already `done` and nothing is
written twice. That costs a second request; if it fails, the event's pass writes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.errors import SyncError
from connector.portals.install import AUTH_CONNECTOR
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.storage.engines import Engine
from connector.storage.portals import Portal
from connector.sync.fetch import ITEM_METHOD, portal_facts
from connector.sync.pass_state import rules_of
from connector.sync.write_back import WriteBack, WriteOutcome, entity_type
from mappers.bindings import CrmRef
from mappers.card_notes import card_task_note, rule_task_note
from mappers.changes import what_changed
from mappers.decisions import decide_observation, final_status
from mappers.errors import SnapshotError
from mappers.snapshots import TASKBRIDGE_TAG, TaskSnapshot
from mappers.write_plan import plan_writes

log = logging.getLogger(__name__)

MAX_TITLE = 255
MAX_DESCRIPTION = 10_000
MAX_CHECKLIST_ITEMS = 40  # with the item, the task and the note: one batch (50 at most)
MAX_CHECKLIST_ITEM = 255
TASK_ID = "$result[task][task][id]"


class InvalidNewTask(SyncError):
    """A value for the new task is missing or wrong: fix the one `field` names."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class NewTask:
    item: CrmRef
    title: str
    responsible_id: int
    created_by: int
    description: str = ""
    deadline: datetime | None = None
    task_control: bool = False
    result_required: bool = False
    checklist: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.item.entity_type_id not in ITEM_METHOD or self.item.id <= 0:
            raise InvalidNewTask("item", "a deal or a lead, by its ID")
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise InvalidNewTask("title", f"required, at most {MAX_TITLE} characters")
        if self.responsible_id <= 0:
            raise InvalidNewTask("responsible_id", "a user ID is required")
        if self.created_by <= 0:
            raise InvalidNewTask("created_by", "a user ID is required")
        if len(self.description) > MAX_DESCRIPTION:
            raise InvalidNewTask("description", f"at most {MAX_DESCRIPTION} characters")
        if self.deadline is not None and self.deadline.tzinfo is None:
            raise InvalidNewTask("deadline", "needs a time zone")
        if len(self.checklist) > MAX_CHECKLIST_ITEMS:
            raise InvalidNewTask("checklist", f"at most {MAX_CHECKLIST_ITEMS} items")
        if any(not item.strip() or len(item) > MAX_CHECKLIST_ITEM for item in self.checklist):
            raise InvalidNewTask("checklist",
                                 f"each item needs text, at most {MAX_CHECKLIST_ITEM} characters")


def checklist_lines(text: str) -> tuple[str, ...]:
    """Checklist items from a textarea: one per line, blank lines left out."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def parse_deadline(text: str, field_name: str = "deadline") -> datetime:
    """An ISO 8601 date and time; without a time zone it is taken as the server's."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidNewTask(field_name, "not an ISO 8601 date and time") from exc
    return moment.astimezone()


class TaskNotCreated(SyncError):
    """No task was created: the portal refused it or failed; `description` says why.

    `refused_input` tells the two apart: true when the portal refused what was asked (a
    user or item it does not know, a bad value), false when it failed or answered oddly.
    """

    def __init__(self, description: str, *, method: str, code: str = "",
                 refused_input: bool = False) -> None:
        super().__init__(f"{method}: {code}: {description}" if code else
                         f"{method}: {description}")
        self.description = description
        self.method = method
        self.code = code
        self.refused_input = refused_input

    @classmethod
    def from_error(cls, error: BitrixError, description: str) -> TaskNotCreated:
        """The batch command's own error, translated (raise it `from error`)."""
        return cls(description, method=error.method, code=error.code,
                   refused_input=error.refused_input)


class ItemUnavailable(TaskNotCreated):
    """The deal or lead could not be read (deleted, never existed, or not visible)."""


class TaskPartlyCreated(SyncError):
    """The task exists (`task_id`) but a checklist item or the timeline note failed."""

    def __init__(self, message: str, *, task_id: int, failed: Sequence[str]) -> None:
        super().__init__(message)
        self.description = message
        self.task_id = task_id
        self.failed = tuple(failed)


@dataclass(frozen=True)
class Created:
    task_id: int
    task: Mapping[str, Any] = field(default_factory=dict)  # as tasks.task.add answered


def create_from_card(client: PortalClient, task: NewTask, *, language: str = "en") -> int:
    """Create the task, its checklist and its timeline note; returns the new task's ID."""
    return add_task(client, task, language=language).task_id


def create_and_show(engine: Engine, client: PortalClient, portal: Portal, task: NewTask,
                    *, now: datetime | None = None) -> int:
    """Create the task, then show it in its item's status at once; returns its ID."""
    created = add_task(client, task, language=rules_of(portal).language)
    try:
        show_first_status(engine, client, portal, created, now=now)
    except (BitrixError, SnapshotError) as exc:
        # The ONTASKADD event's pass plans the same writes and sends what is not done.
        log.warning("portal %s: task %s created, its first status left to the worker: %s",
                    portal.member_id, created.task_id, exc)
    return created.task_id


def add_task(client: PortalClient, task: NewTask, *, language: str = "en") -> Created:
    """The one batch: the item read first (so a missing item stops it), tasks.task.add,
    task.checklistitem.add per checklist item, the timeline note in `language`."""
    outcome = client.batch(_commands(task, language), halt=True)
    if "item" in outcome.errors:
        error = outcome.errors["item"]
        raise ItemUnavailable.from_error(
            error, f"{task.item.code}: {error.description or error}") from error
    if "task" in outcome.errors:
        error = outcome.errors["task"]
        raise TaskNotCreated(error.description or str(error),
                             method="tasks.task.add", code=error.code,
                             refused_input=error.refused_input) from error
    answer = outcome.results.get("task") or {}
    raw = answer.get("task") if isinstance(answer, dict) else None
    task_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not str(task_id or "").isdigit():
        raise TaskNotCreated("tasks.task.add answered without a task id", method="tasks.task.add")
    failed = sorted(set(outcome.errors) | set(outcome.skipped))
    if failed:
        raise TaskPartlyCreated(f"task {task_id} created, but not: {', '.join(failed)}",
                                task_id=int(task_id), failed=failed)
    # tasks.task.add answers without user fields and tags: they are what was just sent.
    return Created(int(task_id), {"ufCrmTask": [task.item.code], "tags": [TASKBRIDGE_TAG], **raw})


def _commands(task: NewTask, language: str) -> dict[str, tuple[str, dict[str, Any]]]:
    commands: dict[str, tuple[str, dict[str, Any]]] = {
        "item": (f"{ITEM_METHOD[task.item.entity_type_id]}.get", {"id": task.item.id}),
        "task": ("tasks.task.add", {"fields": task_fields(task),
                                    "auth_connector": AUTH_CONNECTOR}),
    }
    commands.update(announce_commands(task, TASK_ID, language))
    return commands


def task_fields(task: NewTask) -> dict[str, object]:
    """The new task's fields for `tasks.task.add`: bound to its item, tagged CRM."""
    fields: dict[str, object] = {
        "TITLE": task.title,
        "DESCRIPTION": task.description,
        "RESPONSIBLE_ID": task.responsible_id,
        "CREATED_BY": task.created_by,
        "UF_CRM_TASK": [task.item.code],
        "TAGS": [TASKBRIDGE_TAG],
        "TASK_CONTROL": "Y" if task.task_control else "N",
    }
    if task.deadline is not None:
        fields["DEADLINE"] = task.deadline.isoformat()
    if task.result_required:
        fields["SE_PARAMETER"] = [{"VALUE": "Y", "CODE": 3}]
    return fields


def announce_commands(task: NewTask, task_id: int | str, language: str, *,
                      by_rule: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
    """The new task's checklist items and its timeline note on the item; `task_id` is its
    ID, or a batch reference to the command that creates it. `by_rule`: an automation
    rule made it, not a card."""
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, title in enumerate(task.checklist):
        commands[f"check_{index}"] = (
            "task.checklistitem.add",
            {"TASKID": task_id, "FIELDS": {"TITLE": title, "SORT_INDEX": (index + 1) * 10},
             "auth_connector": AUTH_CONNECTOR},
        )
    note = (rule_task_note if by_rule else card_task_note)(
        task.title, task.responsible_id, str(task_id), language)
    commands["note"] = (
        "crm.timeline.comment.add",
        {"fields": {"ENTITY_ID": task.item.id, "ENTITY_TYPE": entity_type(task.item),
                    "COMMENT": note}, "auth_connector": AUTH_CONNECTOR},
    )
    return commands


def show_first_status(engine: Engine, client: PortalClient, portal: Portal, created: Created,
                      *, now: datetime | None = None) -> WriteOutcome:
    """Write what the worker will decide when it first sees the task, under its keys."""
    moment = now or datetime.now(UTC)
    snapshot = TaskSnapshot.from_rest(created.task)
    changes = what_changed(None, snapshot, actor_id=snapshot.created_by, now=moment)
    decisions = decide_observation(None, changes, item_responsibles=frozenset(),
                                   deadline=snapshot.deadline, now=moment)
    status = final_status(None, decisions)
    # The new task is the item's most recently changed one, so the item shows its status.
    statuses = {ref: status for ref in snapshot.crm_bindings if ref.entity_type_id in ITEM_METHOD}
    plan = plan_writes(snapshot, decisions, item_statuses=statuses,
                       language=rules_of(portal).language)
    facts = portal_facts(client, portal.member_id)
    return WriteBack(engine, client, portal.id, facts).send(
        plan, {snapshot.id: snapshot}, None
    )
