"""§7.6: a deal with three tasks: the kanban shows the status of the one changed last;
deleting that task falls back to the next most recent."""

from __future__ import annotations

from tests.scenarios.conftest import People
from tests.support.stack import TaskBridge


def _status_field(installed: TaskBridge, deal: int) -> str:
    value = installed.portal.deal(deal)["UF_CRM_TASKBRIDGE_STATUS"]
    field = next(f for f in installed.portal.emulator.state.user_fields.values()
                 if f.entity_id == "CRM_DEAL" and f.field_name == "UF_CRM_TASKBRIDGE_STATUS")
    return next((item["XML_ID"] for item in field.items if str(item["ID"]) == str(value)), "")


def test_the_deal_shows_its_last_changed_task(installed: TaskBridge, people: People) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Fleet", assigned_by=people.manager)
    first, second, third = (
        portal.as_user(people.manager).create_task(
            f"D_{deal}", title=title, responsible=people.colleague
        )
        for title in ("Draft", "Review", "Sign")
    )
    installed.drain()
    assert _status_field(installed, deal) == "CREATED"

    portal.as_user(people.colleague).start_task(second)
    installed.drain()
    assert _status_field(installed, deal) == "IN_PROGRESS"

    portal.as_user(people.colleague).start_task(first)
    installed.drain()
    portal.as_user(people.colleague).pause_task(first)
    installed.drain()
    assert _status_field(installed, deal) == "WAITING"

    portal.as_user(people.manager).delete_task(first)
    installed.drain()
    assert _status_field(installed, deal) == "IN_PROGRESS"
    assert installed.task_status(third) == "CREATED"
