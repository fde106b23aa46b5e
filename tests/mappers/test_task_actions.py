"""Closing calls reach the status §5 asks for whoever TaskBridge acts as."""

from __future__ import annotations

import pytest

from mappers.snapshots import TaskSnapshot
from mappers.task_actions import closing_calls, complete_gives

CREATOR, RESPONSIBLE, ADMIN = 1, 2, 9


def task(**fields: object) -> TaskSnapshot:
    values: dict[str, object] = {
        "id": 7, "real_status": 2, "created_by": CREATOR, "responsible_id": RESPONSIBLE,
    }
    values.update(fields)
    return TaskSnapshot.model_validate(values)


COMPLETE = ("tasks.task.complete", {"taskId": 7})
APPROVE = ("tasks.task.approve", {"taskId": 7})


def update(status: int) -> tuple[str, dict[str, object]]:
    return ("tasks.task.update", {"taskId": 7, "fields": {"STATUS": status}})


@pytest.mark.parametrize(
    ("fields", "target", "actor", "calls"),
    [
        ({}, 5, ADMIN, (COMPLETE,)),
        ({"task_control": True}, 5, ADMIN, (COMPLETE, APPROVE)),
        ({"task_control": True}, 5, CREATOR, (COMPLETE,)),
        ({"task_control": True}, 4, ADMIN, (COMPLETE,)),
        ({"task_control": True}, 4, CREATOR, (update(4),)),
        ({"task_control": True, "real_status": 4}, 5, ADMIN, (APPROVE,)),
        ({"task_control": True, "real_status": 4}, 4, ADMIN, ()),
        ({"real_status": 5}, 5, ADMIN, ()),
        ({"result_required": True}, 5, ADMIN, (update(5),)),
        ({"result_required": True, "result_count": 1}, 5, ADMIN, (COMPLETE,)),
        ({"result_required": True}, 5, CREATOR, (COMPLETE,)),
    ],
)
def test_closing_calls(fields: dict[str, object], target: int, actor: int, calls: tuple) -> None:
    assert closing_calls(task(**fields), target, actor) == calls


def test_complete_gives_four_only_under_control_by_someone_else() -> None:
    assert complete_gives(task(task_control=True), ADMIN) == 4
    assert complete_gives(task(task_control=True), CREATOR) == 5
    assert complete_gives(task(task_control=True, responsible_id=CREATOR), ADMIN) == 5
    assert complete_gives(task(), ADMIN) == 5


def test_only_four_or_five_are_closing_targets() -> None:
    with pytest.raises(ValueError, match="4 or 5"):
        closing_calls(task(), 3, ADMIN)
