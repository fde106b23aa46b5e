"""ID range filters on tasks.task.list answer exactly what a full scan would."""

from __future__ import annotations

import pytest

from emulator.filters import Condition, id_window


@pytest.mark.parametrize(
    ("conditions", "window"),
    [
        ([Condition("ID", ">", "5")], (6, None)),
        ([Condition("ID", ">=", "5"), Condition("ID", "<", "9")], (5, 8)),
        ([Condition("ID", "<=", "3"), Condition("ID", ">", "1"), Condition("ID", ">", "2")],
         (3, 3)),
        ([Condition("ID", "=", "4"), Condition("TITLE", ">", "a")], (None, None)),
        ([Condition("ID", ">", "x")], (None, None)),
    ],
)
def test_id_window(conditions: list[Condition], window: tuple) -> None:
    assert id_window(conditions) == window


def test_windows_list_the_same_tasks_as_a_scan(rest) -> None:  # type: ignore[no-untyped-def]
    ids = [int(rest.call("tasks.task.add", {"fields": {"TITLE": f"t{i}", "RESPONSIBLE_ID": 1}})
               ["task"]["id"]) for i in range(12)]
    rest.call("tasks.task.delete", {"taskId": ids[4]})
    listed = rest.call("tasks.task.list", {"filter": {">ID": ids[2], "<=ID": ids[9]},
                                           "order": {"ID": "asc"}, "select": ["ID"]})
    assert [int(t["id"]) for t in listed["tasks"]] == [i for i in ids[3:10] if i != ids[4]]
