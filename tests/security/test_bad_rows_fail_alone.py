"""A journal row the worker cannot read ends dead at once, alone, with its reason; the
genuine events claimed in the same batch are processed as if it were not there.

The rows are planted as an older receiver (one that let `"²"` or 25 digits through)
would have journaled them, next to a genuine ONTASKUPDATE the portal delivered."""

from __future__ import annotations

from typing import Any

from connector.storage.journal import Journal
from connector.storage.journal_rows import DEAD, DONE, PENDING
from tests.security.conftest import secured  # noqa: F401  (the fixture)
from tests.support.stack import TaskBridge

BAD_ROWS = [
    # (object_id, payload, what the reason names)
    ("\u00b2", {"event": "ONTASKUPDATE"}, "task id: expected an id"),
    ("9" * 25, {"event": "ONTASKUPDATE"}, "task id: expected an id"),
    ("31", ["not", "an", "object"], "the payload is a list"),
    ("32", {"event": "ONTASKUPDATE", "auth": {"user_id": "\u0663"}}, "user_id: expected an id"),
]


def _plant(bridge: TaskBridge, object_id: str, payload: Any) -> int:
    stored = bridge.stored()
    return Journal(bridge.storage.engine).enqueue(
        portal_id=stored.id, member_id=stored.member_id, event="ONTASKUPDATE",
        object_type="task", object_id=object_id, payload=payload, source="online")


def test_bad_rows_end_dead_alone_and_the_genuine_update_in_their_batch_ends_done(
    secured: TaskBridge,  # noqa: F811
) -> None:
    portal = secured.portal
    user = portal.as_user(1)
    deal = user.create_deal("ACME")
    task = user.create_task(f"D_{deal}", title="Contract", responsible=1)
    secured.drain()
    user.start_task(task)
    assert portal.sender.wait_idle(timeout=10)
    genuine = [row for row in secured.journal.rows(event="ONTASKUPDATE", state=PENDING)
               if row["object_id"] == str(task)]
    assert len(genuine) == 1
    planted = {_plant(secured, object_id, payload): why
               for object_id, payload, why in BAD_ROWS}

    handled = secured.worker().run_once()

    assert handled >= 1 + len(planted)  # one claimed batch held them all
    rows = {row["id"]: row for row in secured.journal.rows()}
    assert rows[genuine[0]["id"]]["state"] == DONE, rows[genuine[0]["id"]]["error"]
    assert secured.task_status(task) == "IN_PROGRESS"
    for row_id, why in planted.items():
        row = rows[row_id]
        assert (row["state"], row["attempts"]) == (DEAD, 1), row
        assert row["error"].startswith("UnreadableRow: ") and why in row["error"], row["error"]
        assert row["detail"]["error"] == row["error"]
