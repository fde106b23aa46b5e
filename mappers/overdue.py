"""Which open tasks have passed their deadline (spec §2, "deadline passed while not completed").

A task counts as *completed* for this purpose in real status 4 (the responsible
finished it and it waits for the creator), 5 (completed) and 7 (declined, a legacy
status): Bitrix24 itself stops flagging a task overdue in those. New (1), pending
(2), in progress (3) and deferred (6) tasks can be overdue. A task is overdue once
``now`` is strictly later than its deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from mappers.snapshots import COMPLETED, DECLINED, SUPPOSEDLY_COMPLETED

NOT_OVERDUE_REAL_STATUSES = frozenset({SUPPOSEDLY_COMPLETED, COMPLETED, DECLINED})


class HasDeadline(Protocol):
    @property
    def real_status(self) -> int: ...
    @property
    def deadline(self) -> datetime | None: ...


T = TypeVar("T", bound=HasDeadline)


def is_overdue(task: HasDeadline, now: datetime) -> bool:
    """Whether a task is open and ``now`` is past its deadline."""
    return (
        task.deadline is not None
        and task.real_status not in NOT_OVERDUE_REAL_STATUSES
        and now > task.deadline
    )


def overdue_tasks(tasks: Iterable[T], now: datetime) -> list[T]:
    """The open tasks past their deadline at ``now``, in the order given."""
    return [task for task in tasks if is_overdue(task, now)]
