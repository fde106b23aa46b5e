"""What the portal shows after each step, read through its REST API as its admin sees it
(an incoming webhook of user 1), never from TaskBridge's own tables."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from mappers.closing import ClosingReason
from mappers.decisions import Rule
from mappers.reasons import reason_text
from tests.support.stack import EmulatedPortal

STATUS_FIELD = "UF_CRM_TASKBRIDGE_STATUS"
BADGE_PREFIX = "taskbridge_"
WEBHOOK_CODE = "scenario-reader"

# Spec §1: the English label of each status, as the portal's timeline shows it.
LABELS = {
    "CREATED": "Created, not viewed",
    "VIEWED": "Viewed",
    "UPDATED": "Updated",
    "IN_PROGRESS": "In progress",
    "WAITING": "On hold",
    "CONTROL_WAITING": "Pending review",
    "DEADLINE_CHANGED": "Deadline updated",
    "RESULT_ADDED": "Task summary",
    "EXPIRED": "Overdue",
    "FINISHED": "Completed",
}


def opens_taskbridge(portal: EmulatedPortal, user_id: int, task_id: int) -> int | None:
    """`user_id` opens TaskBridge in the task's card, the way their portal's card offers it:
    the classic card's tab (`TASK_VIEW_TAB`), or the new card's row in its "Applications"
    block. The portal POSTs the placement to TaskBridge; returns the answer's status."""
    actions = portal.as_user(user_id)
    if portal.task_card == "new":
        return actions.open_app_block(task_id).status
    return actions.open_task_tab(task_id).status


def says(entry: str, task: str, status: str, reason: Rule | ClosingReason) -> bool:
    """Whether a timeline entry names `task`, its new `status` (a code) and the `reason`
    (the rule of spec §2 or §5 behind it, in English words)."""
    return f"«{task}»: {LABELS[status]} ({reason_text(reason, 'en')})" in entry


@dataclass(frozen=True)
class TaskCard:
    """A task as the portal answers `tasks.task.get`: its real status and its tags."""

    real_status: int
    tags: frozenset[str]


class AdminView:
    """Reads the portal through REST; `new_entries` remembers what it has already shown."""

    def __init__(self, portal: EmulatedPortal) -> None:
        portal.add_webhook(WEBHOOK_CODE, 1)
        self._base = f"{portal.url}/rest/1/{WEBHOOK_CODE}/"
        self._kanban = f"{portal.url}/_emulator/kanban/"
        self._session = requests.Session()
        self._seen: dict[tuple[str, int], int] = {}

    def close(self) -> None:
        self._session.close()

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self._session.post(f"{self._base}{method}.json", json=params or {}, timeout=10)
        body: dict[str, Any] = answer.json()
        assert answer.ok and "result" in body, f"{method}: {answer.status_code} {body}"
        return body

    def status(self, entity: str, item_id: int) -> str:
        """The status code the item's status field shows (its option's XML_ID), "" if empty."""
        item = self.call(f"crm.{entity}.get", {"id": item_id})["result"]
        value = str(item.get(STATUS_FIELD) or "")
        if not value:
            return ""
        [field] = self.call(f"crm.{entity}.userfield.list",
                            {"filter": {"FIELD_NAME": STATUS_FIELD}})["result"]
        return next(str(option["XML_ID"]) for option in field["LIST"]
                    if str(option["ID"]) == value)

    def kanban_card(self, entity: str, item_id: int, lang: str = "en") -> dict[str, Any]:
        """What the item's card on the CRM kanban shows (the emulator's control API: the
        kanban is a page, not a REST method)."""
        answer = self._session.get(f"{self._kanban}{entity}/{item_id}", params={"lang": lang},
                                   timeout=10)
        assert answer.ok, f"kanban card of {entity} {item_id}: {answer.status_code}"
        card: dict[str, Any] = answer.json()
        return card

    def badge(self, entity: str, item_id: int) -> str:
        """The status the item's kanban card shows by its badge (a status code), "" when the
        card shows no badge of TaskBridge's."""
        badge = self.kanban_card(entity, item_id)["badge"]
        if not badge or not str(badge["code"]).startswith(BADGE_PREFIX):
            return ""
        assert badge["value"] == LABELS[str(badge["code"])[len(BADGE_PREFIX):].upper()]
        return str(badge["code"])[len(BADGE_PREFIX):].upper()

    def timeline(self, entity: str, item_id: int) -> list[tuple[int, str]]:
        """The item's timeline entries as (id, text), oldest first: comments (closings,
        review-stage moves) and log messages (status changes) alike."""
        rows: list[tuple[int, str]] = []
        start: int | None = 0
        while start is not None:
            body = self.call("crm.timeline.comment.list", {
                "filter": {"ENTITY_TYPE": entity, "ENTITY_ID": item_id}, "start": start})
            rows += [(int(row["ID"]), str(row["COMMENT"])) for row in body["result"]]
            start = body.get("next")
        type_id = {"lead": 1, "deal": 2}[entity]
        start = 0
        while start is not None:
            body = self.call("crm.timeline.logmessage.list", {
                "entityTypeId": type_id, "entityId": item_id, "start": start})
            rows += [(int(row["id"]), str(row["text"]))
                     for row in body["result"]["logMessages"]]
            start = body.get("next")
        return sorted(rows)

    def new_entries(self, entity: str, item_id: int) -> list[str]:
        """The texts of the item's timeline entries added since the last call, oldest first."""
        last = self._seen.get((entity, item_id), 0)
        entries = [(number, text) for number, text in self.timeline(entity, item_id)
                   if number > last]
        if entries:
            self._seen[(entity, item_id)] = entries[-1][0]
        return [text for _, text in entries]

    def task(self, task_id: int) -> TaskCard:
        task = self.call("tasks.task.get", {
            "taskId": task_id, "select": ["ID", "STATUS", "TAGS"]})["result"]["task"]
        tags = task.get("tags") or {}
        rows = tags.values() if isinstance(tags, dict) else tags
        return TaskCard(int(task["status"]), frozenset(str(row["title"]) for row in rows))

    def is_overdue(self, task_id: int) -> bool:
        """Whether the portal lists the task under its "overdue" filter (meta status -1)."""
        body = self.call("tasks.task.list", {"filter": {"ID": task_id, "STATUS": -1},
                                             "select": ["ID"]})
        return bool(body["result"]["tasks"])

    def wait_until_overdue(self, task_id: int, timeout: float = 10.0) -> None:
        """Wait, on the portal's own clock, until the task's deadline has passed."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while not self.is_overdue(task_id):
            assert time.monotonic() < deadline, f"task {task_id} is not overdue on the portal"
            pause.wait(0.1)
