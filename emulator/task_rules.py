"""The task state machine: which action is allowed from which real status, and its target.

Real statuses: 1 new, 2 pending, 3 in progress, 4 supposedly completed, 5 completed,
6 deferred, 7 declined. Meta statuses for filters: -1 overdue, -2 unviewed,
-3 almost overdue.
"""

from __future__ import annotations

from emulator.errors import AccessDenied, RestError
from emulator.state import Task

NEW, PENDING, IN_PROGRESS, SUPPOSEDLY_COMPLETED, COMPLETED, DEFERRED, DECLINED = range(1, 8)
OVERDUE, UNVIEWED, ALMOST_OVERDUE = -1, -2, -3
RESULT_REQUIRED = 3

_ALLOWED_FROM: dict[str, frozenset[int]] = {
    "start": frozenset({NEW, PENDING}),
    "pause": frozenset({IN_PROGRESS}),
    "defer": frozenset({NEW, PENDING, IN_PROGRESS}),
    "renew": frozenset({SUPPOSEDLY_COMPLETED, COMPLETED, DEFERRED, DECLINED}),
    "complete": frozenset({NEW, PENDING, IN_PROGRESS, DEFERRED}),
    "approve": frozenset({SUPPOSEDLY_COMPLETED}),
    "disapprove": frozenset({SUPPOSEDLY_COMPLETED}),
    "delegate": frozenset({NEW, PENDING, IN_PROGRESS, DEFERRED}),
}
_FIXED_TARGET = {
    "start": IN_PROGRESS,
    "pause": PENDING,
    "defer": DEFERRED,
    "renew": PENDING,
    "approve": COMPLETED,
    "disapprove": PENDING,
    "delegate": PENDING,
}
_CREATOR_ONLY = frozenset({"approve", "disapprove"})


class ActionNotAllowed(RestError):
    """The action is not available from the task's current status."""

    def __init__(self, action: str, status: int) -> None:
        super().__init__(
            "ERROR_CORE", f"Action '{action}' is not allowed for a task in status {status}"
        )


def complete_target(task: Task, actor_id: int) -> int:
    """4 when the creator must review it, else 5."""
    if task.task_control and actor_id != task.created_by and (
        task.created_by != task.responsible_id
    ):
        return SUPPOSEDLY_COMPLETED
    return COMPLETED


def target_status(task: Task, action: str, actor_id: int, actor_is_admin: bool) -> int:
    """Where ``action`` by ``actor_id`` takes the task, or the error a portal answers."""
    if action not in _ALLOWED_FROM:
        raise RestError("ERROR_METHOD_NOT_FOUND", f"Unknown task action {action}", 404)
    if action in _CREATOR_ONLY and actor_id != task.created_by and not actor_is_admin:
        raise AccessDenied("Only the creator can accept or return the task")
    if actor_id not in task.members() and not actor_is_admin:
        raise AccessDenied("Access denied")
    if task.status not in _ALLOWED_FROM[action]:
        raise ActionNotAllowed(action, task.status)
    if action == "complete":
        return complete_target(task, actor_id)
    return _FIXED_TARGET[action]


def sub_status(task: Task, viewer_id: int, now: float) -> int:
    """The meta status the list shows to ``viewer_id``: overdue beats unviewed."""
    if task.status in (SUPPOSEDLY_COMPLETED, COMPLETED, DEFERRED, DECLINED):
        return task.status
    if task.deadline is not None and task.deadline < now:
        return OVERDUE
    if is_unviewed(task, viewer_id) and task.status in (NEW, PENDING):
        return UNVIEWED
    return task.status


def is_unviewed(task: Task, viewer_id: int) -> bool:
    return viewer_id in task.members() and viewer_id not in task.views


def matches_meta(task: Task, wanted: int, viewer_id: int, now: float) -> bool:
    """The ``STATUS`` filter: meta statuses or the real one."""
    if wanted == OVERDUE:
        return task.deadline is not None and task.deadline < now and task.status not in (
            SUPPOSEDLY_COMPLETED, COMPLETED, DEFERRED, DECLINED
        )
    if wanted == UNVIEWED:
        return is_unviewed(task, viewer_id) and task.status in (NEW, PENDING)
    if wanted == ALMOST_OVERDUE:
        return (
            task.deadline is not None
            and now <= task.deadline < now + 24 * 3600
            and task.status not in (SUPPOSEDLY_COMPLETED, COMPLETED)
        )
    return task.status == wanted
