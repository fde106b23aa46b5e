"""Which task methods bring a task to the real status a closing asks for (spec §5).

Who acts decides what `tasks.task.complete` does: by the creator it gives 5 even with
"check on completion" on; by anyone else on a controlled task whose responsible is not
its creator it gives 4. TaskBridge acts as the user who installed it, so it picks the
calls that reach the wanted status whoever that user is.
"""

from __future__ import annotations

from typing import Any

from mappers.snapshots import COMPLETED, SUPPOSEDLY_COMPLETED, TaskSnapshot

Call = tuple[str, dict[str, Any]]


def complete_gives(task: TaskSnapshot, acting_user_id: int) -> int:
    """The real status `tasks.task.complete` by `acting_user_id` leads to."""
    controlled = task.task_control and task.created_by != task.responsible_id
    return SUPPOSEDLY_COMPLETED if controlled and acting_user_id != task.created_by else COMPLETED


def closing_calls(task: TaskSnapshot, target: int, acting_user_id: int) -> tuple[Call, ...]:
    """The calls, in order, that take `task` to real status `target` (4 or 5)."""
    if target not in (SUPPOSEDLY_COMPLETED, COMPLETED):
        raise ValueError(f"closing targets real status 4 or 5, not {target}")
    task_id = {"taskId": task.id}
    if task.real_status == target:
        return ()
    if task.real_status == SUPPOSEDLY_COMPLETED:
        # Waiting for review already; only accepting moves it on.
        return (("tasks.task.approve", task_id),)
    blocked = task.result_required and acting_user_id != task.created_by and not task.result_count
    if blocked or complete_gives(task, acting_user_id) > target:
        # Completing would skip the review (acting as the creator) or is refused for lack
        # of a result: set the status directly.
        return (("tasks.task.update", {"taskId": task.id, "fields": {"STATUS": target}}),)
    calls: tuple[Call, ...] = (("tasks.task.complete", task_id),)
    if complete_gives(task, acting_user_id) < target:
        calls += (("tasks.task.approve", task_id),)
    return calls
