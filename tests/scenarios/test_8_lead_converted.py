"""§7.8: a lead is converted with the lead setting off: its tasks stay open. With it on:
they are closed as in §7.7. The admin sets it the documented way,
`taskbridge portals set MEMBER_ID lead_conversion_closes_tasks=off`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connector.cli import cli
from mappers.closing import ClosingReason
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

PENDING, SUPPOSEDLY_COMPLETED, COMPLETED = 2, 4, 5


def _lead_with_tasks(installed: TaskBridge, people: People, on_portal: AdminView
                     ) -> tuple[int, int, int]:
    portal = installed.portal
    lead = portal.as_user(people.manager).create_lead("Inbound", assigned_by=people.manager)
    plain = portal.as_user(people.manager).create_task(
        f"L_{lead}", title="Call back", responsible=people.colleague
    )
    controlled = portal.as_user(people.manager).create_task(
        f"L_{lead}", title="Qualify", responsible=people.colleague, task_control=True
    )
    installed.drain()
    assert on_portal.status("lead", lead) == "CREATED"
    assert on_portal.badge("lead", lead) == "CREATED"
    assert len(on_portal.new_entries("lead", lead)) == 2
    return lead, plain, controlled


def test_setting_off_keeps_tasks_open(
    installed: TaskBridge, people: People, on_portal: AdminView,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", installed.settings.database_url)
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY",
                       installed.settings.secret_key.get_secret_value())
    answer = CliRunner().invoke(cli, ["portals", "set", installed.portal.member_id,
                                      "lead_conversion_closes_tasks=off"])
    assert answer.exit_code == 0, answer.output
    lead, plain, controlled = _lead_with_tasks(installed, people, on_portal)

    installed.portal.as_user(people.manager).convert_lead(lead)
    installed.drain()
    assert on_portal.task(plain).real_status == PENDING
    assert on_portal.task(controlled).real_status == PENDING
    assert on_portal.status("lead", lead) == "CREATED"
    # The lead is closed (converted), so its activity is closed and the badge leaves the
    # card, while its tasks stay open and the field keeps their status.
    assert on_portal.badge("lead", lead) == ""
    assert on_portal.new_entries("lead", lead) == []


def test_setting_on_closes_them(installed: TaskBridge, people: People, on_portal: AdminView
                                ) -> None:
    lead, plain, controlled = _lead_with_tasks(installed, people, on_portal)

    installed.portal.as_user(people.manager).convert_lead(lead)
    installed.drain()
    assert on_portal.task(plain).real_status == COMPLETED
    assert on_portal.task(controlled).real_status == SUPPOSEDLY_COMPLETED
    # Both changed in the same closing: either one is the last changed.
    assert on_portal.status("lead", lead) in {"FINISHED", "CONTROL_WAITING"}
    # The deal or lead is closed: its activity is closed, the badge leaves the card.
    assert on_portal.badge("lead", lead) == ""
    [entry] = on_portal.new_entries("lead", lead)
    assert says(entry, "Call back", "FINISHED", ClosingReason.ITEM_CLOSED)
    assert says(entry, "Qualify", "CONTROL_WAITING", ClosingReason.UNDER_CONTROL)
