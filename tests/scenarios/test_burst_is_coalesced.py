"""Ten changes of one task arriving together are one fetch and one write pass: repeats
within the same second are recorded as duplicates, the rest are coalesced by the claim."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def test_ten_updates_of_one_task_cost_one_pass(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague,
        auditors=[people.auditor],
    )
    installed.drain()
    for n in range(10):
        portal.as_user(people.auditor).update_task(task, DESCRIPTION=f"draft {n}")
    calls = installed.drain()
    rows = [r for r in installed.journal.rows(object_key=f"task:{task}")
            if r["event"] == "ONTASKUPDATE"]
    assert len(rows) >= 11  # TaskBridge's own tag write came back as one more
    assert {r["state"] for r in rows} <= {"done", "duplicate"}
    assert installed.task_status(task) == "UPDATED"
    assert calls <= 4  # fetch, write, and the fetch of TaskBridge's own echoes
