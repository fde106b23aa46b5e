"""Changes to tasks, made through REST or the control API alike; each fires its events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import task_card, task_rules
from emulator.context import Change
from emulator.errors import AccessDenied, InvalidArgument, RestError
from emulator.events import UNDEFINED
from emulator.state import ChecklistItem, HistoryEntry, Task, TaskComment

if TYPE_CHECKING:
    from emulator.portal import Portal

_TRACKED = ("title", "description", "responsible_id", "deadline", "accomplices", "auditors",
            "tags", "uf_crm_task", "task_control", "group_id", "priority")
_HISTORY_NAME = {"responsible_id": "RESPONSIBLE_ID", "uf_crm_task": "UF_CRM_TASK",
                 "task_control": "TASK_CONTROL", "group_id": "GROUP_ID"}


class TaskNotFound(RestError):
    def __init__(self, task_id: int) -> None:
        super().__init__("ERROR_CORE", f"Task {task_id} not found or not accessible")


class TaskService:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.state = portal.state

    # reads ------------------------------------------------------------------
    def find(self, task_id: int, viewer_id: int) -> Task | None:
        task = self.state.tasks.get(int(task_id))
        if task is None or not self.can_read(task, viewer_id):
            return None
        return task

    def require(self, task_id: Any, viewer_id: int) -> Task:
        try:
            number = int(task_id)
        except (TypeError, ValueError) as exc:
            raise RestError("ERROR_CORE", "wrong task id") from exc
        task = self.find(number, viewer_id)
        if task is None:
            raise TaskNotFound(number)
        return task

    def can_read(self, task: Task, user_id: int) -> bool:
        return user_id in task.members() or self.portal.is_admin(user_id)

    # writes -----------------------------------------------------------------
    def add(self, change: Change, fields: dict[str, Any]) -> Task:
        if not fields.get("title"):
            raise RestError("ERROR_CORE", "Title is not specified")
        now = self.portal.clock.now()
        with self.state.lock:
            created_by = fields.pop("created_by", change.actor_id)
            responsible = fields.pop("responsible_id", created_by)
            for user_id in (created_by, responsible):
                self.portal.require_user(user_id)
            status = fields.pop("status", task_rules.PENDING)
            task = Task(
                id=self.state.next_id("task"), title=fields.pop("title"),
                created_by=created_by, responsible_id=responsible, created_date=now,
                changed_by=change.actor_id, changed_date=now,
                status_changed_by=change.actor_id, status_changed_date=now,
                status=status if status in (task_rules.NEW, task_rules.PENDING) else 2,
            )
            for attribute, value in fields.items():
                setattr(task, attribute, value)
            task.views[created_by] = now
            self.state.tasks[task.id] = task
            self._history(task, change.actor_id, "NEW", None, None)
        self._emit("ONTASKADD", task.id, change, before=False)
        return task

    def update(self, change: Change, task_id: Any, fields: dict[str, Any]) -> Task:
        with self.state.lock:
            task = self.require(task_id, change.actor_id)
            fields.pop("created_by", None)
            if "status" in fields:
                self._set_status(task, fields.pop("status"), change.actor_id)
            for attribute, value in fields.items():
                old = getattr(task, attribute)
                if old != value:
                    setattr(task, attribute, value)
                    if attribute in _TRACKED:
                        name = _HISTORY_NAME.get(attribute, attribute.upper())
                        self._history(task, change.actor_id, name, old, value)
            self._touch(task, change.actor_id)
        self._emit("ONTASKUPDATE", task.id, change)
        return task

    def delete(self, change: Change, task_id: Any) -> None:
        with self.state.lock:
            task = self.require(task_id, change.actor_id)
            if change.actor_id != task.created_by and not self.portal.is_admin(change.actor_id):
                raise AccessDenied("Only the creator can delete the task")
            del self.state.tasks[task.id]
        self._emit("ONTASKDELETE", task.id, change, after=False)

    def act(self, change: Change, task_id: Any, action: str, user_id: int | None = None) -> Task:
        """start, pause, defer, renew, complete, approve, disapprove, delegate."""
        with self.state.lock:
            task = self.require(task_id, change.actor_id)
            target = task_rules.target_status(
                task, action, change.actor_id, self.portal.is_admin(change.actor_id)
            )
            if action == "complete":
                self._check_result(task, change.actor_id)
            if action == "delegate":
                self._delegate(task, change.actor_id, user_id)
            self._set_status(task, target, change.actor_id)
            self._touch(task, change.actor_id)
        self._emit("ONTASKUPDATE", task.id, change)
        return task

    def view(self, user_id: int, task_id: Any) -> Task:
        """A user opens the task: records the view, fires nothing."""
        with self.state.lock:
            task = self.require(task_id, user_id)
            task.views[user_id] = self.portal.clock.now()
            return task

    def add_checklist_item(
        self, change: Change, task_id: Any, title: str, is_complete: bool = False,
        sort_index: int | None = None, parent_id: int = 0,
    ) -> ChecklistItem:
        with self.state.lock:
            task = self.require(task_id, change.actor_id)
            if not title:
                raise InvalidArgument("TITLE is required")
            siblings = [i for i in self.state.checklist.values() if i.task_id == task.id]
            item = ChecklistItem(
                id=self.state.next_id("checklist"), task_id=task.id, title=title,
                created_by=change.actor_id, is_complete=is_complete, parent_id=parent_id,
                sort_index=len(siblings) if sort_index is None else sort_index,
            )
            self.state.checklist[item.id] = item
            self._history(task, change.actor_id, "CHECKLIST_ITEM_CREATE", "", title)
            self._touch(task, change.actor_id)
        self._emit("ONTASKUPDATE", task.id, change)
        return item

    def tick_checklist_item(self, change: Change, item_id: Any, done: bool = True) -> None:
        """Ticking inline: changes the item, fires nothing."""
        with self.state.lock:
            item = self.state.checklist.get(int(item_id))
            if item is None:
                raise RestError("ERROR_CORE", f"Checklist item {item_id} not found")
            self.require(item.task_id, change.actor_id)
            item.is_complete = done

    def add_comment(
        self, change: Change, task_id: Any, text: str, is_result: bool = False
    ) -> TaskComment:
        """A comment (optionally marked as the result): fires ONTASKCOMMENTADD only."""
        with self.state.lock:
            task = self.require(task_id, change.actor_id)
            if not text:
                raise InvalidArgument("POST_MESSAGE is required")
            comment = TaskComment(
                id=self.state.next_id("comment"), task_id=task.id,
                author_id=change.actor_id, text=text, created=self.portal.clock.now(),
                is_result=is_result,
                message_id=(self.state.next_id("chat_message")
                            if task_card.is_new(self.portal) else 0),
            )
            self.state.comments[comment.id] = comment
            task.comments_count += 1
        data = {"FIELDS_BEFORE": UNDEFINED,
                "FIELDS_AFTER": task_card.comment_event_fields(self.portal, comment),
                "IS_ACCESSIBLE_BEFORE": UNDEFINED, "IS_ACCESSIBLE_AFTER": UNDEFINED}
        self.portal.events.emit("ONTASKCOMMENTADD", data, change, f"task:{task.id}")
        return comment

    def mark_result(self, change: Change, comment_id: Any) -> TaskComment:
        with self.state.lock:
            comment = self.state.comments.get(int(comment_id))
            if comment is None:
                raise RestError("ERROR_CORE", f"Comment {comment_id} not found")
            self.require(comment.task_id, change.actor_id)
            comment.is_result = True
            return comment

    # internals --------------------------------------------------------------
    def _set_status(self, task: Task, status: int, actor_id: int) -> None:
        if status == task.status:
            return
        self._history(task, actor_id, "STATUS", task.status, status)
        task.status = status
        now = self.portal.clock.now()
        task.status_changed_by, task.status_changed_date = actor_id, now
        if status == task_rules.IN_PROGRESS and task.date_start is None:
            task.date_start = now
        if status in (task_rules.SUPPOSEDLY_COMPLETED, task_rules.COMPLETED):
            task.closed_by, task.closed_date = actor_id, now
        else:
            task.closed_by, task.closed_date = None, None

    def _delegate(self, task: Task, actor_id: int, user_id: int | None) -> None:
        if user_id is None:
            raise InvalidArgument("userId is required")
        self.portal.require_user(user_id)
        old = task.responsible_id
        self._history(task, actor_id, "RESPONSIBLE_ID", old, user_id)
        task.responsible_id = user_id
        if old not in task.auditors and old != task.created_by:
            task.auditors.append(old)

    def _check_result(self, task: Task, actor_id: int) -> None:
        required = task.se_parameters.get(task_rules.RESULT_REQUIRED) == "Y"
        if not required or actor_id == task.created_by:
            return
        if not any(c.is_result and c.task_id == task.id for c in self.state.comments.values()):
            raise RestError("ERROR_CORE", "The task result is required to complete the task")

    def _touch(self, task: Task, actor_id: int) -> None:
        task.changed_by, task.changed_date = actor_id, self.portal.clock.now()

    def _history(self, task: Task, user_id: int, field: str, old: Any, new: Any) -> None:
        self.state.history.append(
            HistoryEntry(self.state.next_id("history"), task.id, self.portal.clock.now(),
                         user_id, field, old, new)
        )

    def _emit(self, event: str, task_id: int, change: Change, before: bool = True,
              after: bool = True) -> None:
        ident = {"ID": str(task_id)}
        data = {"FIELDS_BEFORE": ident if before else UNDEFINED,
                "FIELDS_AFTER": ident if after else UNDEFINED,
                "IS_ACCESSIBLE_BEFORE": UNDEFINED, "IS_ACCESSIBLE_AFTER": UNDEFINED}
        self.portal.events.emit(event, data, change, f"task:{task_id}")
