"""TaskBridge's own writes come back as events; they are recognised without a fetch, but
a real change by the same user (TaskBridge acts as the admin who installed it) is not
swallowed with them."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge

ADMIN = 1  # the user who installed TaskBridge: it acts as them


def test_the_admins_own_start_right_after_a_write_counts(
    installed: TaskBridge, people: People
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(f"D_{deal}", title="Prepare the contract",
                                                      responsible=ADMIN)
    portal.emulator.sender.wait_idle(timeout=10)
    installed.worker().run_once()  # one pass: CREATED, the CRM tag is written
    portal.as_user(ADMIN).start_task(task)  # arrives together with the tag's echo
    installed.drain()
    assert installed.task_status(task) == "IN_PROGRESS"


def test_an_echo_alone_costs_no_fetch(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(f"D_{deal}", title="Prepare the contract",
                                                      responsible=people.colleague)
    installed.drain()
    echoes = [r for r in installed.journal.rows(object_key=f"task:{task}")
              if r["detail"] and "own change" in r["detail"].get("outcome", "")]
    assert echoes, "the CRM tag's echo was fetched like a real change"
