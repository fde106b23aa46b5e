"""Fetching fresh portal state for a group of events, in as few requests as possible.

One batch carries everything a group needs: the tasks (by ID, 50 to a list call), their
results and checklists where a comment or an edit hints at them, the deals and leads
(theirs and those the tasks are bound to), the responsibles of the contacts, companies
and smart-process items the tasks are bound to (one `crm.item.list` per type), the open
tasks of an item that may close, and, once per process, the status field's enumeration
and the acting user. A second batch is needed only when a task newly bound to an item
names a deal or lead not fetched yet.

An item's open tasks are one page of 50 in that batch (completed ones are filtered out
by the portal, so they never take a row); only an item with a full page is read on with
`list_all`, from the page's last ID.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from mappers.bindings import DEAL, LEAD, CrmRef, parse_bindings
from mappers.bound_items import BoundItem
from mappers.snapshots import CrmItemSnapshot
from mappers.statuses import CrmTaskStatus

STATUS_FIELD = "UF_CRM_TASKBRIDGE_STATUS"
TASK_SELECT = [
    "ID", "TITLE", "DESCRIPTION", "STATUS", "REAL_STATUS", "CREATED_BY", "RESPONSIBLE_ID",
    "ACCOMPLICES", "AUDITORS", "CHANGED_BY", "CHANGED_DATE", "STATUS_CHANGED_BY",
    "STATUS_CHANGED_DATE",
    "DEADLINE", "CLOSED_DATE", "TASK_CONTROL", "GROUP_ID", "UF_CRM_TASK", "TAGS",
    "SE_PARAMETER",
]
ITEM_SELECT = {
    DEAL: ["ID", "TITLE", "CATEGORY_ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "CLOSED",
           "ASSIGNED_BY_ID", "DATE_MODIFY", STATUS_FIELD],
    LEAD: ["ID", "TITLE", "STATUS_ID", "STATUS_SEMANTIC_ID", "ASSIGNED_BY_ID", "DATE_MODIFY",
           STATUS_FIELD],
}
ITEM_METHOD = {DEAL: "crm.deal", LEAD: "crm.lead"}
# Contacts, companies and smart-process items matter only for the actor rule: their
# responsible is all that is read (no status field or timeline is written to them).
BOUND_SELECT = ["id", "assignedById"]
CHECKLIST_KEYS = {"ID": "id", "PARENT_ID": "parentId", "TITLE": "title",
                  "IS_COMPLETE": "isComplete", "SORT_INDEX": "sortIndex",
                  "IS_IMPORTANT": "isImportant"}
PAGE = 50
COMPLETED = 5  # real status of a completed task: closing leaves these alone


@dataclass
class Needs:
    """What a group of events needs fetched."""

    tasks: set[int] = field(default_factory=set)
    results: set[int] = field(default_factory=set)
    checklists: set[int] = field(default_factory=set)
    items: set[CrmRef] = field(default_factory=set)
    item_tasks: set[CrmRef] = field(default_factory=set)


@dataclass
class Fetched:
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    result_counts: dict[int, int] = field(default_factory=dict)
    checklists: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    items: dict[CrmRef, CrmItemSnapshot] = field(default_factory=dict)
    bound: dict[CrmRef, BoundItem] = field(default_factory=dict)  # contacts, companies...
    item_modified: dict[CrmRef, str] = field(default_factory=dict)
    item_tasks: dict[CrmRef, list[dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0


@dataclass(frozen=True)
class PortalFacts:
    """What TaskBridge learns once per portal and process: who it acts as, field values."""

    acting_user_id: int
    status_values: Mapping[int, Mapping[CrmTaskStatus, str]]  # entity type -> status -> ID


_FACTS: dict[str, PortalFacts] = {}
_FACTS_LOCK = threading.Lock()


def known_facts(member_id: str) -> PortalFacts | None:
    """The facts this process already learned about the portal, if any."""
    with _FACTS_LOCK:
        return _FACTS.get(member_id)


def forget_facts(member_id: str) -> None:
    with _FACTS_LOCK:
        _FACTS.pop(member_id, None)


def fetch(
    client: PortalClient, member_id: str, needs: Needs, *,
    more: Callable[[Fetched, PortalFacts], Needs] | None = None,
) -> tuple[Fetched, PortalFacts]:
    """Fetch what `needs` names. A second round, only when needed, brings the items first
    named by a task and what `more` asks for once the first round is known (checklists of
    edits nothing explained, the tasks of items that just closed)."""
    fetched = Fetched()
    with _FACTS_LOCK:
        facts = _FACTS.get(member_id)
    commands = _commands(needs, with_facts=facts is None)
    answers = _run(client, commands, fetched)
    if facts is None:
        facts = _facts(answers)
        with _FACTS_LOCK:
            _FACTS[member_id] = facts
    _absorb(answers, fetched)
    missing = {
        ref for raw in fetched.tasks.values() for ref in _refs(raw)
        if ref not in fetched.items and ref not in fetched.bound
    } - needs.items
    second = more(fetched, facts) if more else Needs()
    second.items |= {ref for ref in missing if ref.entity_type_id in ITEM_METHOD}
    if second.items or second.checklists or second.item_tasks:
        # A new task's contacts, companies and smart-process items ride along when a second
        # batch runs anyway, never cause one: until the task is stored, only its first
        # sight is decided, which the actor rule leaves alone.
        second.items |= missing
        _absorb(_run(client, _commands(second, with_facts=False), fetched), fetched)
    _read_on(client, fetched)
    return fetched, facts


def portal_facts(client: PortalClient, member_id: str) -> PortalFacts:
    """The acting user and the status field's values, fetched once per process."""
    with _FACTS_LOCK:
        facts = _FACTS.get(member_id)
    if facts is None:
        _, facts = fetch(client, member_id, Needs())
    return facts


def _refs(raw: Mapping[str, Any]) -> Iterable[CrmRef]:
    return parse_bindings(raw.get("ufCrmTask"))


def _run(client: PortalClient, commands: dict[str, tuple[str, dict[str, Any]]],
         fetched: Fetched) -> dict[str, Any]:
    if not commands:
        return {}
    outcome = client.batch(commands)
    fetched.requests += outcome.requests
    for key, error in outcome.errors.items():
        # A smart process deleted from the portal answers NOT_FOUND for good: its items
        # then hold nobody back, rather than every event of its tasks failing.
        if not key.startswith(("results_", "checklist_", "bound_")):
            raise error
    return outcome.results


def _commands(needs: Needs, *, with_facts: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    ids = sorted(needs.tasks)
    for start in range(0, len(ids), PAGE):
        commands[f"tasks_{start}"] = (
            "tasks.task.list",
            {"filter": {"ID": ids[start:start + PAGE]}, "select": TASK_SELECT, "start": -1},
        )
    for task_id in sorted(needs.results):
        commands[f"results_{task_id}"] = ("tasks.task.result.list", {"taskId": task_id})
    for task_id in sorted(needs.checklists):
        commands[f"checklist_{task_id}"] = ("task.checklistitem.getlist", {"taskId": task_id})
    for type_id, method in ITEM_METHOD.items():
        item_ids = sorted(ref.id for ref in needs.items if ref.entity_type_id == type_id)
        for start in range(0, len(item_ids), PAGE):
            commands[f"items_{type_id}_{start}"] = (
                f"{method}.list",
                {"filter": {"ID": item_ids[start:start + PAGE]},
                 "select": ITEM_SELECT[type_id], "start": -1},
            )
    others = sorted({ref.entity_type_id for ref in needs.items} - set(ITEM_METHOD))
    for type_id in others:
        item_ids = sorted(ref.id for ref in needs.items if ref.entity_type_id == type_id)
        for start in range(0, len(item_ids), PAGE):
            commands[f"bound_{type_id}_{start}"] = (
                "crm.item.list",
                {"entityTypeId": type_id, "filter": {"@id": item_ids[start:start + PAGE]},
                 "select": BOUND_SELECT, "start": -1},
            )
    for ref in sorted(needs.item_tasks):
        commands[f"itemtasks_{ref.entity_type_id}_{ref.id}"] = (
            "tasks.task.list",
            {"filter": _open_tasks_of(ref), "select": TASK_SELECT,
             "order": {"ID": "ASC"}, "start": -1},
        )
    if with_facts:
        commands["me"] = ("user.current", {})
        for type_id, method in ITEM_METHOD.items():
            commands[f"field_{type_id}"] = (
                f"{method}.userfield.list", {"filter": {"FIELD_NAME": STATUS_FIELD}}
            )
    return commands


def _open_tasks_of(ref: CrmRef) -> dict[str, Any]:
    return {"UF_CRM_TASK": ref.code, "!REAL_STATUS": COMPLETED}


def _read_on(client: PortalClient, fetched: Fetched) -> None:
    """An item whose first page of open tasks was full has more: read on past its last ID."""
    for ref, tasks in fetched.item_tasks.items():
        if len(tasks) < PAGE:
            continue
        before = len(client.calls)
        tasks.extend(client.list_all(
            "tasks.task.list",
            {"filter": {**_open_tasks_of(ref), ">ID": tasks[-1]["id"]}, "select": TASK_SELECT},
            page_key="tasks",
        ))
        fetched.requests += len(client.calls) - before


def _absorb(answers: Mapping[str, Any], fetched: Fetched) -> None:
    for key, value in answers.items():
        kind, _, rest = key.partition("_")
        if kind == "tasks":
            for raw in _task_list(value):
                fetched.tasks[int(raw["id"])] = raw
        elif kind == "results":
            fetched.result_counts[int(rest)] = len(_listed(value))
        elif kind == "checklist":
            fetched.checklists[int(rest)] = [
                {camel: row.get(upper) for upper, camel in CHECKLIST_KEYS.items()}
                for row in _listed(value)
            ]
        elif kind == "items":
            type_id = int(rest.split("_")[0])
            for raw in _listed(value):
                item = CrmItemSnapshot.from_rest(type_id, raw)
                fetched.items[item.ref] = item
                fetched.item_modified[item.ref] = str(raw.get("DATE_MODIFY", ""))
        elif kind == "bound":
            type_id = int(rest.split("_")[0])
            rows = value.get("items", []) if isinstance(value, Mapping) else value
            for raw in _listed(rows):
                bound = BoundItem.from_item(type_id, raw)
                fetched.bound[bound.ref] = bound
        elif kind == "itemtasks":
            type_id, item_id = (int(part) for part in rest.split("_"))
            fetched.item_tasks[CrmRef(type_id, item_id)] = _task_list(value)


def _facts(answers: Mapping[str, Any]) -> PortalFacts:
    me = answers.get("me") or {}
    try:
        acting = int(me.get("ID"))
    except (TypeError, ValueError):
        raise BitrixError("user.current answered without an ID", method="user.current") from None
    values: dict[int, dict[CrmTaskStatus, str]] = {}
    for type_id in ITEM_METHOD:
        fields = _listed(answers.get(f"field_{type_id}"))
        entries = fields[0].get("LIST", []) if fields else []
        known = {status.value: status for status in CrmTaskStatus}
        values[type_id] = {
            known[str(entry.get("XML_ID"))]: str(entry.get("ID"))
            for entry in entries if str(entry.get("XML_ID")) in known
        }
    return PortalFacts(acting_user_id=acting, status_values=values)


def _task_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Mapping):
        value = value.get("tasks", [])
    return [task for task in _listed(value) if isinstance(task, Mapping)]


def _listed(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    return list(value) if isinstance(value, list) else []
