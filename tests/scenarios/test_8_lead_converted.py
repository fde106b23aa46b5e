"""§7.8: a lead is converted with the lead setting off: its tasks stay open. With it on:
they are closed as in §7.7."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _lead_with_tasks(installed: TaskBridge, people: People) -> tuple[int, int, int]:
    portal = installed.portal
    lead = portal.as_user(people.manager).create_lead("Inbound", assigned_by=people.manager)
    plain = portal.as_user(people.manager).create_task(
        f"L_{lead}", title="Call back", responsible=people.colleague
    )
    controlled = portal.as_user(people.manager).create_task(
        f"L_{lead}", title="Qualify", responsible=people.colleague, task_control=True
    )
    installed.drain()
    return lead, plain, controlled


def test_setting_off_keeps_tasks_open(installed: TaskBridge, people: People) -> None:
    installed.storage.portals.update_settings(
        installed.portal.member_id, {"close_tasks_on_lead_convert": False}
    )
    lead, plain, controlled = _lead_with_tasks(installed, people)
    installed.portal.as_user(people.manager).convert_lead(lead)
    installed.drain()
    assert installed.portal.task(plain)["status"] == "2"
    assert installed.portal.task(controlled)["status"] == "2"
    assert installed.task_status(plain) == "CREATED"


def test_setting_on_closes_them(installed: TaskBridge, people: People) -> None:
    lead, plain, controlled = _lead_with_tasks(installed, people)
    installed.portal.as_user(people.manager).convert_lead(lead)
    installed.drain()
    assert installed.task_status(plain) == "FINISHED"
    assert installed.task_status(controlled) == "CONTROL_WAITING"
    assert installed.portal.task(controlled)["status"] == "4"
