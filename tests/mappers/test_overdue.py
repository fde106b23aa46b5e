"""Overdue tasks: open and past their deadline."""

from datetime import UTC, datetime, timedelta

import pytest

from mappers.overdue import is_overdue, overdue_tasks
from mappers.snapshots import TaskSnapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def task(task_id: int = 1, real_status: int = 2, deadline=NOW - timedelta(minutes=1)):
    return TaskSnapshot(
        id=task_id, real_status=real_status, created_by=1, responsible_id=2, deadline=deadline
    )


# real status | deadline | overdue
TABLE = [
    (1, NOW - timedelta(minutes=1), True),
    (2, NOW - timedelta(minutes=1), True),
    (3, NOW - timedelta(days=9), True),
    (6, NOW - timedelta(minutes=1), True),
    (4, NOW - timedelta(minutes=1), False),
    (5, NOW - timedelta(minutes=1), False),
    (7, NOW - timedelta(minutes=1), False),
    (2, NOW, False),
    (2, NOW + timedelta(seconds=1), False),
    (2, None, False),
]


@pytest.mark.parametrize(("real_status", "deadline", "overdue"), TABLE)
def test_is_overdue(real_status, deadline, overdue):
    assert is_overdue(task(real_status=real_status, deadline=deadline), NOW) is overdue


def test_overdue_tasks_keeps_the_given_order():
    tasks = [task(3), task(1, real_status=5), task(2), task(4, deadline=None)]
    assert [t.id for t in overdue_tasks(tasks, NOW)] == [3, 2]
